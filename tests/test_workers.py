"""Parsing and extraction in worker processes: the same results as inline, and a dead worker costs
one source at most, never the poll."""

from __future__ import annotations

import asyncio
import os
import select
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path

import pytest

from digests import parse
from digests import workers as workers_module
from digests.config import load_config
from digests.extract import Extractor
from digests.fetch import Fetcher
from digests.leaders import Registry
from digests.models import Source
from digests.pipeline import Pipeline
from digests.storage import Storage
from digests.workers import CpuWork, WorkerCrashed, WorkerError, default_workers
from tests.feedserver import FeedServer
from tests.test_pipeline import http_date, page, rss

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
SEED = FIXTURES / "articles" / "seed-putin-astana.txt"
NOW = datetime(2022, 10, 14, 18, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor(Registry(load_config(ROOT / "config").leaders))


@pytest.fixture
async def work(extractor: Extractor) -> CpuWork:
    work = CpuWork(extractor, workers=1)
    pids = await work.start()
    assert len(pids) == 1 and pids[0] != os.getpid()
    yield work  # type: ignore[misc]
    work.close()


async def test_workers_give_what_inline_gives(work: CpuWork, extractor: Extractor) -> None:
    inline = CpuWork(extractor, workers=0)
    feed = (FIXTURES / "feeds" / "rss2.xml").read_bytes()
    kwargs = {"url": "https://example.org/feed", "content_type": "application/rss+xml", "max_entries": 50}
    assert await work.parse_feed(feed, **kwargs) == await inline.parse_feed(feed, **kwargs)  # type: ignore[arg-type]

    seed = SEED.read_text("utf-8")
    jobs = [(seed, date(2022, 10, 14), "Putin on peace talks"), ("No one said anything.", None, None)]
    found = await work.extract(jobs)
    assert found == await inline.extract(jobs)
    assert len(found[0]) >= 13 and found[1] == []

    html = page(seed, "Putin on peace talks").encode()
    entry = parse.FeedEntry("id", "https://example.org/a", "Putin on peace talks", None, "short")
    assert await work.page_text(html, entry) == await inline.page_text(html, entry)


async def test_a_feed_error_raised_in_a_worker_arrives_with_its_reason(work: CpuWork) -> None:
    with pytest.raises(parse.FeedError) as caught:
        await work.parse_feed(
            b"<html><body>hello</body></html>", url="", content_type="text/html", max_entries=5
        )
    assert "HTML page" in caught.value.reason


async def test_a_dead_worker_is_replaced_and_the_job_fails_alone(work: CpuWork) -> None:
    before = work.pids()
    with pytest.raises(WorkerCrashed, match="worker process died"):
        await work._call(partial(os._exit, 3))  # the worker dies; so does its replacement
    # The next job gets a fresh pool and runs as if nothing happened.
    assert await work.extract([("“We will win,” Putin said.", None, None)])
    assert work.pids() and work.pids() != before


class CrashOnFeed(CpuWork):
    """Workers that die whenever they parse one particular feed (a crash in a C parser)."""

    def __init__(self, extractor: Extractor, poison: str) -> None:
        super().__init__(extractor, workers=1)
        self.poison = poison

    async def parse_feed(
        self, body: bytes, *, url: str, content_type: str | None, max_entries: int
    ) -> parse.ParsedFeed:
        if url.endswith(self.poison):
            await self._call(partial(os._exit, 1))
        return await super().parse_feed(body, url=url, content_type=content_type, max_entries=max_entries)


async def test_a_worker_crash_marks_one_source_failing_and_the_others_ingest(extractor: Extractor) -> None:
    seed = SEED.read_text("utf-8")
    async with FeedServer() as server:
        sources = []
        for i in range(4):
            page_url = server.add(f"/o{i}/story", page(seed, f"Story {i}"), content_type="text/html")
            feed = server.add(
                f"/o{i}/feed.xml",
                rss([{"title": f"Story {i}", "link": page_url, "summary": "s", "date": http_date(NOW)}]),
            )
            sources.append(Source(f"outlet{i}", f"Outlet {i}", feed))
        storage = Storage(":memory:")
        storage.sync_sources(sources)
        work = CrashOnFeed(extractor, poison="/o2/feed.xml")
        try:
            await work.start()
            async with Fetcher() as fetcher:
                pipeline = Pipeline(storage, extractor, fetcher, work=work)
                results = await pipeline.poll_all(sources, NOW)
        finally:
            work.close()
    by_source = {r.source: r for r in results}
    assert by_source["outlet2"].status == "failed"
    assert "worker process died" in (by_source["outlet2"].error or "")
    assert storage.source_state("outlet2").failures == 1  # type: ignore[union-attr]
    # The other sources' jobs may have been lost with the pool once; each was retried, so all ingest.
    assert [by_source[f"outlet{i}"].status for i in (0, 1, 3)] == ["ok", "ok", "ok"]
    assert storage.latest("putin", 50)


async def test_the_pipeline_stores_the_same_with_and_without_workers(extractor: Extractor) -> None:
    seed = SEED.read_text("utf-8")
    stored = []
    for workers in (0, 1):
        async with FeedServer() as server:
            page_url = server.add("/story", page(seed, "Putin on peace talks"), content_type="text/html")
            feed = server.add(
                "/feed.xml",
                rss(
                    [
                        {
                            "title": "Putin on peace talks",
                            "link": page_url,
                            "summary": "s",
                            "date": http_date(NOW),
                        }
                    ]
                ),
            )
            source = Source("wire", "Wire", feed)
            storage = Storage(":memory:")
            storage.sync_sources([source])
            work = CpuWork(extractor, workers=workers)
            try:
                async with Fetcher() as fetcher:
                    pipeline = Pipeline(storage, extractor, fetcher, work=work)
                    result = await pipeline.poll_source(source, NOW)
                    assert result.status == "ok", result.error
                    assert pipeline.counts == {"feeds_parsed": 1, "articles_extracted": 1}
            finally:
                work.close()
            stored.append(sorted((s.kind, s.text) for s in storage.latest("putin", 100)))
    assert stored[0] == stored[1] and len(stored[0]) >= 13


async def test_closed_work_refuses_jobs(extractor: Extractor) -> None:
    work = CpuWork(extractor, workers=1)
    await work.start()
    work.close()
    assert work.pids() == []
    with pytest.raises(RuntimeError, match="closed"):
        await work.extract([("text", None, None)])
    with pytest.raises(ValueError):
        CpuWork(extractor, workers=-1)


def test_default_is_one_worker_with_a_spare_cpu() -> None:
    cpus = len(os.sched_getaffinity(0))
    assert default_workers() == (1 if cpus >= 2 else 0)


async def test_many_jobs_in_flight_finish(work: CpuWork) -> None:
    jobs = [(f"“We will talk about item {i},” Putin said.", None, None) for i in range(40)]
    results = await asyncio.gather(*(work.extract([job]) for job in jobs))
    assert all(len(r) == 1 and r[0][0].leader == "putin" for r in results)


def test_workers_leave_when_their_parent_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(
        "import asyncio, sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from digests.config import load_config\n"
        "from digests.extract import Extractor\n"
        "from digests.leaders import Registry\n"
        "from digests.workers import CpuWork\n"
        "async def main():\n"
        f"    work = CpuWork(Extractor(Registry(load_config(__import__('pathlib').Path({str(ROOT / 'config')!r})).leaders)), 1)\n"
        "    print(*(await work.start()), flush=True)\n"
        "    await asyncio.sleep(60)\n"
        "if __name__ == '__main__':\n"
        "    asyncio.run(main())\n",
        "utf-8",
    )
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([parent.stdout], [], [], 60)
        assert ready, "the parent script did not start its worker within 60 s"
        worker = int(parent.stdout.readline())  # type: ignore[union-attr]
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _alive(worker):
            time.sleep(0.1)
        assert not _alive(worker), "the worker outlived its parent"
    finally:
        parent.kill()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


async def test_workers_ignore_ctrl_c_sent_to_the_process_group(work: CpuWork) -> None:
    before = work.pids()
    for pid in before:
        os.kill(pid, signal.SIGINT)  # what a terminal's Ctrl-C sends to every process of the group
        os.kill(pid, signal.SIGTERM)
    await asyncio.sleep(0.3)
    assert await work.extract([("“We will win,” Putin said.", None, None)])
    assert work.pids() == before  # the same workers, still there


async def test_an_unpicklable_exception_in_a_worker_arrives_as_a_worker_error(work: CpuWork) -> None:
    from lxml import etree

    with pytest.raises(WorkerError, match="XMLSyntaxError"):
        await work._call(partial(etree.fromstring, b"<unclosed"))
    # Nothing broke: the same pool answers the next job.
    pids = work.pids()
    assert await work.extract([("“We will win,” Putin said.", None, None)])
    assert work.pids() == pids


async def test_work_runs_inline_when_no_worker_can_be_started(
    extractor: Extractor, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def no_processes(*args: object, **kwargs: object) -> None:
        raise OSError("[Errno 38] Function not implemented: sem_open")  # a sandbox without /dev/shm

    monkeypatch.setattr(workers_module, "ProcessPoolExecutor", no_processes)
    work = CpuWork(extractor, workers=2)
    assert await work.start() == []
    assert work.inline and work.workers == 0
    assert "run inline" in caplog.text and "sem_open" in caplog.text
    found = await work.extract([("“We will win,” Putin said.", None, None)])
    assert found[0][0].leader == "putin"
    work.close()


async def test_cancelled_jobs_leave_the_counts_balanced(work: CpuWork) -> None:
    jobs = [asyncio.ensure_future(work.extract([(f"“Item {i},” Putin said.", None, None)])) for i in range(8)]
    await asyncio.sleep(0)
    for job in jobs[::2]:
        job.cancel()
    await asyncio.gather(*jobs, return_exceptions=True)
    assert (work._running, work._retries) == (0, 0)
    # A crash after the cancellations still retries and recovers (a leaked count would hang here).
    with pytest.raises(WorkerCrashed):
        await asyncio.wait_for(work._call(partial(os._exit, 1)), 60)
    assert await asyncio.wait_for(work.extract([("“We will win,” Putin said.", None, None)]), 60)
