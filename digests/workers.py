"""The CPU work of a poll (feed parsing, page text, statement extraction) off the event loop.

A poll is mostly waiting on the network, but between the waits it parses feeds, turns pages into
text and extracts statements: pure CPU that, on the event loop, delays every other source's
download and every chat command answered meanwhile. ``CpuWork`` runs that work in worker
processes (``workers`` > 0), so the loop keeps fetching and storing while a second core parses
and extracts; with ``workers=0`` it runs the same functions inline, as a plain call.

Workers are spawned processes (not forked: the bot has threads by then), each holding its own
copy of the ``Extractor``; only bytes, texts and small frozen values cross the process boundary.
Spawning re-imports the main module, so a script that builds a ``CpuWork`` with workers must keep
its top level under ``if __name__ == "__main__":`` (``digestbot`` and ``python -m bot`` do).

A worker that dies (a crash in a C parser on hostile bytes, the OOM killer) breaks the pool and
every job in flight with it. The pool is rebuilt and each lost job is tried once more, alone on
the new pool; the job that kills its worker a second time fails as ``WorkerCrashed``, which the
pipeline records on that one source like any broken feed, and the others carry on.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import date
from functools import partial
from typing import Any, TypeVar

from digests import parse
from digests.extract import Extractor
from digests.models import Extracted

__all__ = ["CpuWork", "ExtractJob", "WorkerCrashed", "WorkerError", "default_workers"]

log = logging.getLogger("digests.workers")

ExtractJob = tuple[str, date | None, str | None]  # text, published day, title
T = TypeVar("T")


class WorkerCrashed(Exception):
    """A worker process died twice while doing one job; ``reason`` is one human line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def default_workers() -> int:
    """One worker when the machine has a second CPU for it, else none (inline work)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cpus = os.cpu_count() or 1
    return 1 if cpus >= 2 else 0


# -- what runs in a worker ---------------------------------------------------------------------

_extractor: Extractor | None = None


class WorkerError(Exception):
    """An unexpected exception raised in a worker, carried back as its type name and message
    (many exceptions, lxml's among them, cannot be pickled; one that fails to unpickle would
    break the whole pool)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _init_worker(extractor: Extractor, parent: int) -> None:
    global _extractor
    _extractor = extractor
    logging.getLogger().setLevel(logging.WARNING)  # workers' own logs: warnings only
    # Ctrl-C and a stop signal sent to the whole process group are the parent's to handle: it
    # finishes the poll and then closes the pool. A worker that died of them would hand the
    # parent a KeyboardInterrupt as a job's result, or a broken pool in the middle of a drain.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent,), name="parent-watch", daemon=True).start()


def _exit_with_parent(parent: int, every: float = 0.5) -> None:
    """A worker outlives a parent killed with SIGKILL (it holds its own end of the job queue, so
    it never reads end-of-file): it would wait forever and keep the parent's stdout open. When
    the parent is gone, the worker is re-parented: leave then. ``parent`` is the pid the parent
    gave, so a parent that died while the worker was still starting is noticed too."""
    while os.getppid() == parent:
        time.sleep(every)
    os._exit(0)


def _guarded(job: Callable[[], T]) -> T:
    """Run ``job`` in the worker; what it raises reaches the parent intact (``FeedError``) or as
    a ``WorkerError`` that always pickles."""
    try:
        return job()
    except parse.FeedError:
        raise
    except Exception as exc:
        raise WorkerError(f"{type(exc).__name__}: {exc}") from None


def _extract_many(jobs: Sequence[ExtractJob]) -> list[list[Extracted]]:
    assert _extractor is not None, "worker used before its initialiser ran"
    return [_extractor.extract(text, day, title) for text, day, title in jobs]


def _ready() -> int:
    return os.getpid()


# -- the parent's side -------------------------------------------------------------------------


class CpuWork:
    """Parse, page-text and extract, in ``workers`` processes or inline (``workers=0``).

    Build it once per process that polls; ``start`` spawns the workers ahead of the first poll,
    ``close`` stops them. Safe to share between the concurrent polls of one event loop.
    """

    def __init__(self, extractor: Extractor, workers: int = 0) -> None:
        if workers < 0:
            raise ValueError("workers must be 0 or more")
        self.extractor = extractor
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._closed = False
        # Counts change on the event loop's thread only, with no await in between, so they need
        # no lock; the events tell waiters that a count reached zero.
        self._running = 0  # first attempts in flight
        self._retries = 0  # retries waiting or running (new jobs wait for them)
        self._idle = asyncio.Event()  # set while _running == 0
        self._idle.set()
        self._no_retries = asyncio.Event()  # set while _retries == 0
        self._no_retries.set()
        self._retry_lock = asyncio.Lock()

    @property
    def inline(self) -> bool:
        return self.workers == 0

    def _executor(self) -> ProcessPoolExecutor:
        if self._closed:
            raise RuntimeError("CpuWork is closed")
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(self.extractor, os.getpid()),
            )
        return self._pool

    async def start(self) -> list[int]:
        """Spawn the workers now (each imports the parsers and loads the extractor, ~1 s) rather
        than inside the first poll. Returns the workers' process ids (empty when inline).

        Where processes cannot be spawned (no ``/dev/shm`` for the pool's semaphores, a sandbox
        that forbids it, a worker that dies while starting), the work runs inline instead, with
        a warning: slower polls, nothing lost.
        """
        if self.inline:
            return []
        try:
            return list(await asyncio.gather(*(self._call(_ready) for _ in range(self.workers))))
        except Exception as exc:
            log.warning(
                "could not start %d worker process(es) (%s: %s); parsing and extraction run inline",
                self.workers,
                type(exc).__name__,
                exc,
            )
            pool, self._pool = self._pool, None
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
            self.workers = 0
            return []

    def pids(self) -> list[int]:
        """Process ids of the running workers (for memory accounting)."""
        pool = self._pool
        processes: dict[int, Any] = getattr(pool, "_processes", None) or {}
        return sorted(processes)

    async def parse_feed(
        self, body: bytes, *, url: str, content_type: str | None, max_entries: int
    ) -> parse.ParsedFeed:
        if self.inline:
            return parse.parse_feed(body, url=url, content_type=content_type, max_entries=max_entries)
        job = partial(parse.parse_feed, body, url=url, content_type=content_type, max_entries=max_entries)
        return await self._call(job)

    async def page_text(self, html: bytes | None, entry: parse.FeedEntry) -> str:
        if self.inline or not html:
            return parse.page_text_or_fallback(html, entry)
        return await self._call(partial(parse.page_text_or_fallback, html, entry))

    async def extract(self, jobs: Sequence[ExtractJob]) -> list[list[Extracted]]:
        if not jobs:
            return []
        if self.inline:
            return [self.extractor.extract(text, day, title) for text, day, title in jobs]
        return await self._call(partial(_extract_many, list(jobs)))

    async def _call(self, job: Callable[[], T]) -> T:
        """Run ``job()`` (a picklable callable) in a worker.

        When the pool breaks, every job in flight is lost with it, the culprit's and the
        innocents'. Each is retried once on a new pool, *alone*: a retry waits until nothing else
        runs, and new jobs wait while retries are pending, so the culprit's retry kills only
        itself and it alone fails with ``WorkerCrashed``.
        """
        loop = asyncio.get_running_loop()
        guarded = partial(_guarded, job)
        while self._retries:
            await self._no_retries.wait()
        self._running += 1
        self._idle.clear()
        try:
            pool = self._executor()
            try:
                return await loop.run_in_executor(pool, guarded)
            except BrokenProcessPool:
                self._replace(pool)
                log.warning("a worker process died; restarting the pool, retrying its jobs one at a time")
        finally:
            self._running -= 1
            if not self._running:
                self._idle.set()
        self._retries += 1
        self._no_retries.clear()
        try:
            async with self._retry_lock:  # one retry at a time...
                while self._running:  # ...once every first attempt has finished
                    await self._idle.wait()
                pool = self._executor()
                try:
                    return await loop.run_in_executor(pool, guarded)
                except BrokenProcessPool:
                    self._replace(pool)
                    name = getattr(getattr(job, "func", job), "__name__", "a job")
                    raise WorkerCrashed(f"a worker process died while running {name}") from None
        finally:
            self._retries -= 1
            if not self._retries:
                self._no_retries.set()

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """Drop a broken pool (once, however many jobs noticed it); the next call builds anew."""
        if self._pool is broken:
            self._pool = None
            broken.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the workers (waits for the job each is running). Call it once the polls are
        done: a job still queued is cancelled, and later calls raise ``RuntimeError``."""
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
