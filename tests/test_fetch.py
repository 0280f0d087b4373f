"""digests.fetch against real HTTP servers on loopback (tests/feedserver.py) and real files."""

from __future__ import annotations

import asyncio
import email.utils
import os
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from digests.fetch import DEFAULT_USER_AGENT, Fetcher, FetchError, FetchResult, backoff_delay
from tests.feedserver import FeedServer, closed_port

ROOT = Path(__file__).resolve().parent.parent
FEEDS = ROOT / "tests" / "fixtures" / "feeds"
MB = 1024 * 1024
RSS = (FEEDS / "rss2.xml").read_bytes()


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as s:
        yield s


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(total_timeout=5, connect_timeout=2) as f:
        yield f


async def failure(fetcher: Fetcher, url: str, **kwargs: str) -> FetchError:
    with pytest.raises(FetchError) as caught:
        await fetcher.get(url, **kwargs)
    return caught.value


# -- conditional GET -------------------------------------------------------------------------


async def test_etag_then_304_on_conditional_get(server: FeedServer, fetcher: Fetcher) -> None:
    url = server.add("/feed.xml", RSS, etag='"v1"')

    first = await fetcher.get(url)
    assert (first.status, first.body, first.etag, first.not_modified) == (200, RSS, '"v1"', False)

    second = await fetcher.get(url, etag=first.etag)
    assert second.status == 304 and second.not_modified
    assert second.body == b""
    assert second.etag == '"v1"'
    assert server.last_headers("/feed.xml")["If-None-Match"] == '"v1"'
    assert server.not_modified["/feed.xml"] == 1

    # The feed changes: the old ETag no longer matches and the new body comes back.
    server.add("/feed.xml", RSS + b"<!-- v2 -->", etag='"v2"')
    third = await fetcher.get(url, etag=first.etag)
    assert third.status == 200 and third.etag == '"v2"' and third.body.endswith(b"v2 -->")


async def test_last_modified_conditional_get(server: FeedServer, fetcher: Fetcher) -> None:
    stamp = "Thu, 04 Jul 2024 10:00:00 GMT"
    url = server.add("/lm.xml", RSS, last_modified=stamp)

    first = await fetcher.get(url)
    assert first.status == 200 and first.last_modified == stamp

    second = await fetcher.get(url, last_modified=first.last_modified)
    assert second.not_modified and second.body == b"" and second.last_modified == stamp
    assert server.last_headers("/lm.xml")["If-Modified-Since"] == stamp

    server.add("/lm.xml", RSS, last_modified="Fri, 05 Jul 2024 10:00:00 GMT")
    assert (await fetcher.get(url, last_modified=stamp)).status == 200


async def test_user_agent_and_content_type_with_charset(server: FeedServer, fetcher: Fetcher) -> None:
    url = server.add(
        "/cp1251.xml",
        (FEEDS / "cp1251-declared.xml").read_bytes(),
        content_type="text/xml; charset=windows-1251",
    )
    result = await fetcher.get(url)
    assert result.content_type == "text/xml; charset=windows-1251"
    assert server.last_headers("/cp1251.xml")["User-Agent"] == DEFAULT_USER_AGENT
    assert "digestbot" in DEFAULT_USER_AGENT

    async with Fetcher(user_agent="custom-agent/2") as custom:
        await custom.get(url)
    assert server.last_headers("/cp1251.xml")["User-Agent"] == "custom-agent/2"


async def test_gzip_and_deflate_bodies_are_decompressed(server: FeedServer, fetcher: Fetcher) -> None:
    gz = await fetcher.get(server.add("/gz.xml", RSS, gzip=True))
    assert gz.body == RSS

    wrapped = server.add("/zlib.xml", zlib.compress(RSS), headers={"Content-Encoding": "deflate"})
    assert (await fetcher.get(wrapped)).body == RSS

    raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    raw_body = raw.compress(RSS) + raw.flush()
    assert (
        await fetcher.get(server.add("/raw.xml", raw_body, headers={"Content-Encoding": "deflate"}))
    ).body == RSS


async def test_corrupt_gzip_gives_a_reason(server: FeedServer, fetcher: Fetcher) -> None:
    url = server.add("/bad.gz", b"\x1f\x8b\x08\x00garbage-not-deflate", headers={"Content-Encoding": "gzip"})
    assert (await failure(fetcher, url)).reason == "could not decompress the body"


# -- timeouts and caps -----------------------------------------------------------------------


async def test_total_timeout_when_the_server_is_slow_to_answer(server: FeedServer) -> None:
    url = server.add("/slow.xml", RSS, latency=5)
    async with Fetcher(total_timeout=0.5) as fetcher:
        started = time.monotonic()
        error = await failure(fetcher, url)
    assert error.reason == "timed out after 0.5 s"
    assert time.monotonic() - started < 2


async def test_total_timeout_covers_a_trickling_body(server: FeedServer) -> None:
    # Each chunk comes well within the read timeout; only a total deadline stops this.
    url = server.add_stream("/trickle.xml", chunks=40, chunk=b"<!-- x -->", delay=0.1)
    async with Fetcher(total_timeout=0.5) as fetcher:
        started = time.monotonic()
        error = await failure(fetcher, url)
    assert "timed out" in error.reason
    assert time.monotonic() - started < 2


async def test_50_mb_streamed_body_is_cut_at_the_cap(server: FeedServer) -> None:
    url = server.add_stream("/huge.xml", chunks=800)  # 800 x 64 KB = 50 MB, generated as sent
    async with Fetcher(max_bytes=1 * MB) as fetcher:
        started = time.monotonic()
        error = await failure(fetcher, url)
    assert error.reason == "body larger than 1 MB"
    assert time.monotonic() - started < 3


async def test_announced_content_length_over_the_cap_fails_before_reading(server: FeedServer) -> None:
    url = server.add_stream("/announced.xml", chunks=800, content_length=True)
    async with Fetcher(max_bytes=1 * MB) as fetcher:
        assert (await failure(fetcher, url)).reason == "body larger than 1 MB"


async def test_gzip_bomb_is_cut_off_with_bounded_memory(server: FeedServer) -> None:
    url = server.add_gzip_bomb("/bomb.xml", size=1024 * MB)  # ~1 MB on the wire, 1 GB inflated
    async with Fetcher(max_bytes=1 * MB) as fetcher:
        tracemalloc.start()
        try:
            started = time.monotonic()
            error = await failure(fetcher, url)
            elapsed = time.monotonic() - started
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert error.reason == "decompressed body larger than 1 MB"
    assert elapsed < 3
    # The cap plus one decompressed piece plus the server's own 1 MB block of zeros.
    assert peak < 8 * MB, f"peak {peak / MB:.1f} MB"


async def test_file_over_the_cap(tmp_path: Path) -> None:
    big = tmp_path / "big.xml"
    big.write_bytes(b"x" * (64 * 1024 + 1))
    async with Fetcher(max_bytes=64 * 1024) as fetcher:
        assert (await failure(fetcher, str(big))).reason == "body larger than 64 KB"


# -- redirects -------------------------------------------------------------------------------


async def test_redirect_chain_of_three_is_followed(server: FeedServer, fetcher: Fetcher) -> None:
    final = server.add("/final.xml", RSS)
    server.add_redirect("/r1", "/r2", status=301)
    server.add_redirect("/r2", server.url("/r3"), status=307)  # absolute
    server.add_redirect("/r3", "final.xml", status=302)  # relative to /r3
    result = await fetcher.get(server.url("/r1"))
    assert result.url == final
    assert result.body == RSS


async def test_redirect_loop_gives_a_clear_reason(server: FeedServer, fetcher: Fetcher) -> None:
    server.add_redirect("/a", "/b")
    server.add_redirect("/b", "/a")
    error = await failure(fetcher, server.url("/a"))
    assert error.reason == "too many redirects (more than 5)"
    assert server.requests["/a"] + server.requests["/b"] == 6


async def test_max_redirects_is_exact(server: FeedServer) -> None:
    server.add("/end", RSS)
    for i in range(3):
        server.add_redirect(f"/hop{i}", f"/hop{i + 1}" if i < 2 else "/end")
    async with Fetcher(max_redirects=3) as fetcher:
        assert (await fetcher.get(server.url("/hop0"))).status == 200
    async with Fetcher(max_redirects=2) as fetcher:
        assert (await failure(fetcher, server.url("/hop0"))).reason == "too many redirects (more than 2)"


async def test_redirect_to_a_local_file_is_refused(server: FeedServer, fetcher: Fetcher) -> None:
    server.add_redirect("/sneaky", (FEEDS / "rss2.xml").as_uri())
    assert (
        await failure(fetcher, server.url("/sneaky"))
    ).reason == "redirected to an unsupported or invalid URL"


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (404, "HTTP 404 Not Found"),
        (500, "HTTP 500 Internal Server Error"),
        (503, "HTTP 503 Service Unavailable"),
    ],
)
async def test_non_2xx_status_gives_its_reason(
    server: FeedServer, fetcher: Fetcher, status: int, reason: str
) -> None:
    url = server.add(f"/status{status}", b"oops", status=status, etag='"secret-etag"')
    error = await failure(fetcher, url)
    assert error.reason == reason and error.status == status
    assert str(error) == f"{url}: {reason}"  # the URL and the reason, never headers


async def test_unknown_path_is_404(server: FeedServer, fetcher: Fetcher) -> None:
    assert (await failure(fetcher, server.url("/missing"))).reason == "HTTP 404 Not Found"


async def test_connection_refused(fetcher: Fetcher) -> None:
    error = await failure(fetcher, f"http://127.0.0.1:{closed_port()}/feed.xml")
    assert error.reason == "connection refused"
    assert error.status is None


async def test_server_closing_the_connection(fetcher: Fetcher) -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    raw = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = raw.sockets[0].getsockname()[1]
    async with raw:
        error = await failure(fetcher, f"http://127.0.0.1:{port}/feed.xml")
    assert error.reason == "connection closed by the server"


@pytest.mark.parametrize(
    "url", ["ftp://example.com/feed.xml", "http://", "https:///nohost", "mailto:x@example.com"]
)
async def test_unsupported_or_invalid_url(fetcher: Fetcher, url: str) -> None:
    assert (await failure(fetcher, url)).reason == "unsupported or invalid URL"


async def test_get_outside_the_context_manager_is_a_programming_error(server: FeedServer) -> None:
    url = server.add("/x.xml", RSS)
    with pytest.raises(RuntimeError):
        await Fetcher().get(url)


# -- local files -----------------------------------------------------------------------------


async def test_relative_path_and_file_url(fetcher: Fetcher, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    relative = await fetcher.get("tests/fixtures/feeds/rss2.xml")
    assert relative.status == 200 and relative.body == RSS
    assert relative.url == "tests/fixtures/feeds/rss2.xml"
    assert relative.content_type == "application/xml"
    # Last-Modified is the file's mtime as an HTTP date.
    mtime = (FEEDS / "rss2.xml").stat().st_mtime
    assert relative.last_modified == email.utils.formatdate(mtime, usegmt=True)

    by_url = await fetcher.get((FEEDS / "atom.xml").as_uri())
    assert by_url.body == (FEEDS / "atom.xml").read_bytes()


async def test_unchanged_file_is_304_and_a_touched_one_is_read_again(
    tmp_path: Path, fetcher: Fetcher
) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_bytes(RSS)
    os.utime(feed, (1_700_000_000, 1_700_000_000))

    first = await fetcher.get(str(feed))
    assert first.status == 200 and first.last_modified == "Tue, 14 Nov 2023 22:13:20 GMT"
    again = await fetcher.get(feed.as_uri(), last_modified=first.last_modified)
    assert again.not_modified and again.body == b""
    assert (await fetcher.get(str(feed), etag=first.etag)).not_modified

    feed.write_bytes(RSS + b"\n")
    os.utime(feed, (1_700_000_100, 1_700_000_100))
    changed = await fetcher.get(str(feed), last_modified=first.last_modified)
    assert changed.status == 200 and changed.body == RSS + b"\n"
    assert changed.last_modified == "Tue, 14 Nov 2023 22:15:00 GMT"


async def test_missing_file_and_directory(tmp_path: Path, fetcher: Fetcher) -> None:
    missing = tmp_path / "nope.xml"
    assert (await failure(fetcher, str(missing))).reason == f"file not found: {missing}"
    assert (await failure(fetcher, missing.as_uri())).reason == f"file not found: {missing}"
    assert (await failure(fetcher, str(tmp_path))).reason == f"not a regular file: {tmp_path}"


# -- concurrency -----------------------------------------------------------------------------


async def test_per_host_cap_limits_concurrent_requests(server: FeedServer) -> None:
    urls = [server.add(f"/feed{i}.xml", RSS, latency=0.15) for i in range(8)]
    async with Fetcher(per_host_limit=2) as fetcher:
        started = time.monotonic()
        results = await asyncio.gather(*(fetcher.get(u) for u in urls))
        elapsed = time.monotonic() - started
    assert all(r.status == 200 for r in results)
    assert server.max_in_flight == 2
    assert elapsed >= 4 * 0.15 * 0.9  # four rounds of two


async def test_global_cap_limits_concurrent_requests(server: FeedServer) -> None:
    urls = [server.add(f"/g{i}.xml", RSS, latency=0.1) for i in range(9)]
    async with Fetcher(global_limit=3, per_host_limit=10) as fetcher:
        await asyncio.gather(*(fetcher.get(u) for u in urls))
    assert server.max_in_flight == 3


async def test_a_busy_host_does_not_hold_up_another_host(server: FeedServer) -> None:
    try:
        closed_port("127.0.0.2")  # a second loopback address: Linux has all of 127/8
    except OSError:
        pytest.skip("127.0.0.2 is not a loopback address here")
    async with FeedServer(host="127.0.0.2") as other:
        slow = [server.add(f"/busy{i}.xml", RSS, latency=0.4) for i in range(3)]
        fast = other.add("/quick.xml", RSS)
        async with Fetcher(per_host_limit=1) as fetcher:
            busy = asyncio.gather(*(fetcher.get(u) for u in slow))
            await asyncio.sleep(0.05)
            started = time.monotonic()
            quick = await fetcher.get(fast)
            quick_elapsed = time.monotonic() - started
            await busy
    assert quick.status == 200
    assert quick_elapsed < 0.3


async def test_one_failing_url_does_not_affect_the_others(server: FeedServer) -> None:
    good = [server.add(f"/ok{i}.xml", RSS, latency=0.05) for i in range(5)]
    bad = {
        f"http://127.0.0.1:{closed_port()}/x": "connection refused",
        server.add("/boom", b"", status=500): "HTTP 500 Internal Server Error",
        server.add("/stuck", RSS, latency=5): "timed out after 0.5 s",
        server.add_gzip_bomb("/bomb"): "decompressed body larger than 1 MB",
        server.add_stream("/huge", chunks=800): "body larger than 1 MB",
    }
    async with Fetcher(total_timeout=0.5, max_bytes=1 * MB, per_host_limit=16) as fetcher:
        outcomes = await asyncio.gather(*(fetcher.get(u) for u in [*good, *bad]), return_exceptions=True)
    for url, outcome in zip(good, outcomes[: len(good)], strict=True):
        assert isinstance(outcome, FetchResult) and outcome.body == RSS, url
    for (url, reason), outcome in zip(bad.items(), outcomes[len(good) :], strict=True):
        assert isinstance(outcome, FetchError) and outcome.reason == reason, url


# -- back-off --------------------------------------------------------------------------------


def test_backoff_doubles_and_is_capped() -> None:
    interval = timedelta(minutes=15)
    assert backoff_delay(1, interval) == timedelta(minutes=15)
    assert backoff_delay(2, interval) == timedelta(minutes=30)
    assert backoff_delay(3, interval) == timedelta(hours=1)
    assert backoff_delay(7, interval) == timedelta(hours=16)
    assert backoff_delay(8, interval) == timedelta(hours=24)
    assert backoff_delay(10_000, interval) == timedelta(hours=24)
    assert backoff_delay(5, interval, cap=timedelta(hours=2)) == timedelta(hours=2)
    assert backoff_delay(0, interval) == interval
