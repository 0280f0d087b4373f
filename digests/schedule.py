"""APScheduler jobs that call the pipeline and delivery; no business logic here.

APScheduler 3.x keeps jobs in memory and forgets runs missed while the process was down, and its
default misfire grace is one second. So the jobs are not one per source or per subscription:
there are two short periodic ticks, and each tick reads the database to see what is due (sources
whose ``next_poll`` has passed, subscriptions whose local digest time has passed). That makes the
schedule survive restarts, honour each subscription's IANA time zone across DST changes, catch up
at start-up, and pick up a subscription changed in chat at the next tick (``wake`` runs it now).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger("digests.schedule")

Tick = Callable[[], Awaitable[None]]


class Scheduler:
    """Two ticks: ``poll`` (sources due) and ``digests`` (plan and deliver digests due)."""

    def __init__(
        self,
        *,
        poll: Tick,
        digests: Tick,
        poll_every: timedelta = timedelta(seconds=20),
        digests_every: timedelta = timedelta(seconds=20),
    ) -> None:
        self._ticks = {"poll": poll, "digests": digests}
        self._every = {"poll": poll_every, "digests": digests_every}
        self._scheduler: AsyncIOScheduler | None = None
        self._running: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Start inside the running event loop; both ticks run at once, then periodically."""
        scheduler = AsyncIOScheduler(timezone=UTC)
        now = datetime.now(UTC)
        for name, every in self._every.items():
            scheduler.add_job(
                self._run,
                IntervalTrigger(seconds=every.total_seconds(), timezone=UTC),
                args=[name],
                id=name,
                next_run_time=now,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
        scheduler.start()
        self._scheduler = scheduler

    def wake(self, name: str) -> None:
        """Run a tick now (e.g. "digests" after a subscription changed)."""
        if self._scheduler is not None and self._scheduler.running:
            job = self._scheduler.get_job(name)
            if job is not None:
                job.modify(next_run_time=datetime.now(UTC))

    async def _run(self, name: str) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            await self._ticks[name]()
        except Exception:  # a tick's failure is logged; the next tick runs as usual
            log.exception("%s tick failed", name)
        finally:
            if task is not None:
                self._running.discard(task)

    async def shutdown(self, timeout: float = 30.0) -> None:
        """Stop scheduling; let running ticks finish (up to ``timeout``), then cancel them."""
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        if self._running:
            done, pending = await asyncio.wait(set(self._running), timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
