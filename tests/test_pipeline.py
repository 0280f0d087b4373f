"""Polling feeds served over real HTTP on 127.0.0.1: fetch → parse → extract → dedup → store."""

from __future__ import annotations

import asyncio
import email.utils
import html
import json
import os
import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from digests.extract import Extractor
from digests.fetch import Fetcher
from digests.leaders import Registry
from digests.models import Source
from digests.pipeline import Pipeline
from digests.storage import Storage
from tests.feedserver import FeedServer

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "tests" / "fixtures" / "articles" / "seed-putin-astana.txt"
NOW = datetime(2022, 10, 14, 18, 0, tzinfo=UTC)


def page(text: str, title: str) -> str:
    """A news page: navigation and boilerplate around the article's paragraphs."""
    paras = "\n".join(f"<p>{html.escape(p.strip())}</p>" for p in text.split("\n\n") if p.strip())
    return (
        f"<html><head><title>{html.escape(title)}</title></head><body>"
        "<nav><a href='/'>Home</a> <a href='/world'>World</a> <a href='/sport'>Sport</a></nav>"
        f"<article><h1>{html.escape(title)}</h1>{paras}</article>"
        "<footer>© 2022 Example Media. All rights reserved. Subscribe to our newsletter.</footer>"
        "</body></html>"
    )


def rss(items: list[dict[str, str]], title: str = "Wire") -> str:
    body = "".join(
        "<item>"
        f"<title>{html.escape(i['title'])}</title>"
        + (f"<link>{html.escape(i['link'])}</link>" if i.get("link") else "")
        + (f"<guid>{html.escape(i['guid'])}</guid>" if i.get("guid") else "")
        + f"<pubDate>{i['date']}</pubDate>"
        f"<description>{html.escape(i.get('summary', ''))}</description>"
        "</item>"
        for i in items
    )
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>{body}</channel></rss>'


def http_date(dt: datetime) -> str:
    return email.utils.format_datetime(dt, usegmt=True)


def make_pipeline(storage: Storage, registry: Registry, fetcher: Fetcher) -> Pipeline:
    return Pipeline(storage, Extractor(registry), fetcher)


async def test_poll_ingests_pages_then_304_parses_nothing(registry: Registry) -> None:
    seed = SEED.read_text("utf-8")
    async with FeedServer() as server:
        page_url = server.add(
            "/world/putin-astana", page(seed, "Putin on peace talks"), content_type="text/html"
        )
        feed_url = server.add(
            "/feed.xml",
            rss(
                [
                    {
                        "title": "Putin on peace talks",
                        "link": page_url,
                        "date": http_date(NOW - timedelta(hours=2)),
                    }
                ]
            ),
            etag='"v1"',
        )
        source = Source("wire", "Example Wire", feed_url)
        storage = Storage(":memory:")
        storage.sync_sources([source])
        async with Fetcher() as fetcher:
            pipeline = make_pipeline(storage, registry, fetcher)
            first = await pipeline.poll_source(source, NOW)
            assert first.status == "ok", first.error
            assert first.new_articles == 1 and first.new_statements >= 13
            second = await pipeline.poll_source(source, NOW + timedelta(minutes=15))
        assert second.status == "not_modified"
        assert second.entries == 0 and second.new_statements == 0
        assert server.requests["/world/putin-astana"] == 1  # the page is not fetched again
        latest = storage.latest("putin", 20)
        texts = " ".join(s.text for s in latest)
        assert "formal decision that prohibits them" in texts
        assert all(s.outlet == "Example Wire" and s.url == page_url for s in latest)
        assert "Content is protected" not in texts


async def test_same_statement_from_three_outlets_is_one_statement(registry: Registry) -> None:
    quote = (
        "“I hope that they are sober enough to avoid those steps,” the Russian leader said on Friday "
        "at a press conference in Astana."
    )
    cuts = [
        quote,
        "Vladimir Putin spoke to reporters in Astana. " + quote,
        "“I hope that they are sober enough to avoid those steps,” Putin said.",
    ]
    async with FeedServer() as server:
        sources = []
        for i, text in enumerate(cuts):
            page_url = server.add(f"/o{i}/story", page(text * 1, f"Story {i}"), content_type="text/html")
            feed = server.add(
                f"/o{i}/feed.xml",
                rss([{"title": f"Story {i}", "link": page_url, "summary": text, "date": http_date(NOW)}]),
            )
            sources.append(Source(f"outlet{i}", f"Outlet {i}", feed))
        storage = Storage(":memory:")
        storage.sync_sources(sources)
        async with Fetcher() as fetcher:
            results = await make_pipeline(storage, registry, fetcher).poll_all(sources, NOW)
        assert [r.status for r in results] == ["ok", "ok", "ok"]
        statements = storage.latest("putin", 20)
        sober = [s for s in statements if "sober enough" in s.text]
        assert len(sober) == 1
        assert sorted(src.outlet for src in sober[0].sources) == ["Outlet 0", "Outlet 1", "Outlet 2"]


async def test_broken_source_fails_with_reason_and_others_still_ingest(registry: Registry) -> None:
    async with FeedServer() as server:
        good = server.add(
            "/good.xml",
            rss(
                [
                    {
                        "title": "Zelensky",
                        "guid": "z1",
                        "date": http_date(NOW),
                        "summary": "“We will not retreat, not one step,” Zelensky said in his nightly address.",
                    }
                ]
            ),
        )
        broken = server.add("/broken.xml", "<rss><channel><item><title>oops</channel>")
        binary = server.add("/binary.xml", bytes(range(256)) * 50, content_type="image/png")
        missing = server.url("/missing.xml")
        sources = [
            Source("good", "Good", good),
            Source("broken", "Broken", broken),
            Source("binary", "Binary", binary),
            Source("missing", "Missing", missing),
        ]
        storage = Storage(":memory:")
        storage.sync_sources(sources)
        async with Fetcher() as fetcher:
            pipeline = make_pipeline(storage, registry, fetcher)
            results = {r.source: r for r in await pipeline.poll_all(sources, NOW)}
    assert results["good"].status == "ok" and results["good"].new_statements == 1
    for key in ("broken", "binary", "missing"):
        assert results[key].status == "failed"
        state = storage.source_state(key)
        assert state is not None and state.status == "failing" and state.last_error
        assert state.next_poll is not None and state.next_poll > NOW
    assert "404" in (storage.source_state("missing").last_error or "")  # type: ignore[union-attr]
    assert [s.text for s in storage.latest("zelensky")] == ["We will not retreat, not one step"]


async def test_failing_source_backs_off_exponentially(registry: Registry) -> None:
    async with FeedServer() as server:
        url = server.add("/down.xml", "nope", status=503)
        source = Source("down", "Down", url, interval=timedelta(minutes=15))
        storage = Storage(":memory:")
        storage.sync_sources([source])
        delays = []
        async with Fetcher() as fetcher:
            pipeline = make_pipeline(storage, registry, fetcher)
            for i in range(4):
                now = NOW + timedelta(hours=i)
                await pipeline.poll_source(source, now)
                state = storage.source_state("down")
                assert state is not None and state.next_poll is not None
                delays.append(state.next_poll - now)
    assert delays == [timedelta(minutes=15), timedelta(minutes=30), timedelta(hours=1), timedelta(hours=2)]
    assert "503" in (state.last_error or "")


async def test_first_poll_skips_old_entries_and_later_polls_take_new_ones(registry: Registry) -> None:
    old = {
        "title": "Old",
        "guid": "old",
        "date": http_date(NOW - timedelta(days=5)),
        "summary": "Putin said that Russia would never give up its claims on the region.",
    }
    new = {
        "title": "New",
        "guid": "new",
        "date": http_date(NOW - timedelta(hours=1)),
        "summary": "Putin said that the partial mobilisation would end within two weeks.",
    }
    async with FeedServer() as server:
        url = server.add("/feed.xml", rss([old, new]))
        source = Source("wire", "Wire", url)
        storage = Storage(":memory:")
        storage.sync_sources([source])
        async with Fetcher() as fetcher:
            pipeline = make_pipeline(storage, registry, fetcher)
            await pipeline.poll_source(source, NOW)
            texts = [s.text for s in storage.latest("putin")]
            assert texts == ["the partial mobilisation would end within two weeks"]
            newer = {
                "title": "Newer",
                "guid": "newer",
                "date": http_date(NOW + timedelta(hours=1)),
                "summary": "Putin said that the talks with Kazakhstan had been constructive.",
            }
            server.add("/feed.xml", rss([old, new, newer]))
            result = await pipeline.poll_source(source, NOW + timedelta(hours=2))
    assert result.new_articles == 1  # the old entry stays known, not news
    assert len(storage.latest("putin")) == 2


async def test_official_feed_items_are_the_leaders_own_words(registry: Registry) -> None:
    item = {
        "title": "Meeting with Government members",
        "guid": "k1",
        "date": http_date(NOW),
        "summary": "We must support the families of those mobilised, and we will do it in full. "
        "Regional authorities must act without delay.",
    }
    async with FeedServer() as server:
        url = server.add("/kremlin.xml", rss([item]))
        source = Source("kremlin", "President of Russia", url, kind="official", leader="putin")
        storage = Storage(":memory:")
        storage.sync_sources([source])
        async with Fetcher() as fetcher:
            await make_pipeline(storage, registry, fetcher).poll_source(source, NOW)
    [statement] = storage.latest("putin")
    assert "support the families of those mobilised" in statement.text
    assert statement.outlet == "President of Russia"


async def test_edited_article_creates_no_duplicates(registry: Registry) -> None:
    text = "Putin said that the partial mobilisation would end within the next two weeks."
    async with FeedServer() as server:
        url = server.add(
            "/feed.xml", rss([{"title": "T", "guid": "g", "date": http_date(NOW), "summary": text}])
        )
        source = Source("wire", "Wire", url)
        storage = Storage(":memory:")
        storage.sync_sources([source])
        async with Fetcher() as fetcher:
            pipeline = make_pipeline(storage, registry, fetcher)
            await pipeline.poll_source(source, NOW)
            edited = text + " He said he had no plans to mobilise more."
            server.add(
                "/feed.xml",
                rss([{"title": "T (updated)", "guid": "g", "date": http_date(NOW), "summary": edited}]),
            )
            await pipeline.poll_source(source, NOW + timedelta(minutes=20))
            await pipeline.poll_source(source, NOW + timedelta(minutes=40))
    texts = sorted(s.text for s in storage.latest("putin", 20))
    assert texts == [
        "he had no plans to mobilise more",
        "the partial mobilisation would end within the next two weeks",
    ]


def _env(tmp_path: Path, sources_toml: str) -> dict[str, str]:
    config = tmp_path / "config"
    config.mkdir()
    shutil.copy(ROOT / "config" / "leaders.toml", config / "leaders.toml")
    (config / "sources.toml").write_text(sources_toml, "utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SLACK_", "LLM_"))}
    env.update(DIGESTBOT_CONFIG_DIR=str(config), DIGESTBOT_DB=str(tmp_path / "bot.db"))
    return env


async def _cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=str(ROOT),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_cli_poll_then_latest(tmp_path: Path) -> None:
    seed = SEED.read_text("utf-8")
    now = datetime.now(UTC)
    async with FeedServer() as server:
        page_url = server.add("/story", page(seed, "Putin on peace talks"), content_type="text/html")
        feed_url = server.add(
            "/feed.xml", rss([{"title": "Putin", "link": page_url, "date": http_date(now)}]), etag='"e1"'
        )
        broken = server.add("/broken.xml", "<html><body>Not a feed</body></html>", content_type="text/html")
        env = _env(
            tmp_path,
            f"""
[[source]]
key = "wire"
name = "Example Wire"
url = "{feed_url}"

[[source]]
key = "broken"
name = "Broken"
url = "{broken}"
""",
        )
        code, out, err = await _cli(env, "poll")
        assert code == 0, err
        assert "wire" in out and "broken" in out and "failing" in out
        code, out, err = await _cli(env, "poll")
        assert "not_modified" in out
        code, out, _ = await _cli(env, "latest", "putin", "-n", "3")
        assert code == 0
        assert "Example Wire" in out and page_url in out
        code, out, _ = await _cli(env, "latest", "putin", "--json")
        rows = [json.loads(line) for line in out.splitlines()]
        assert len(rows) == 5 and all(r["leader"] == "putin" and r["sources"] for r in rows)
        code, out, _ = await _cli(env, "sources", "--json")
        states = {json.loads(line)["key"]: json.loads(line) for line in out.splitlines()}
        assert states["broken"]["status"] == "failing" and states["broken"]["last_error"]
        assert states["wire"]["status"] == "ok"
        code, _, err = await _cli(env, "latest", "puttin")
        assert code == 2 and "Did you mean putin?" in err
        code, out, _ = await _cli(env, "digest", "putin")
        assert code == 0 and "Vladimir Putin" in out and "Example Wire" in out and page_url in out
        code, out, _ = await _cli(env, "digest", "putin", "--json")
        digest = json.loads(out)
        [section] = digest["leaders"]
        assert section["leader"] == "putin" and "NATO" in section["summary"]
        assert section["statements"] and section["statements"][0]["sources"][0]["outlet"] == "Example Wire"


async def test_cli_extract_seed_json() -> None:
    code, out, err = await _cli(dict(os.environ), "extract", str(SEED), "--published", "2022-10-14", "--json")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert {
        "leader",
        "kind",
        "text",
        "sentence",
        "url",
        "title",
        "outlet",
        "published",
        "first_seen",
        "sources",
    } <= set(rows[0])
    assert {r["leader"] for r in rows} == {"putin", "biden", "zelensky"}
