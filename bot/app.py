"""The composition root: one event loop for Telegram, Slack, the scheduler and /healthz.

``App.run`` builds every part from ``Settings``, takes the single-instance lock on the database,
starts what is configured (Telegram long polling when its token is set; Slack in Socket Mode or
HTTP mode; the HTTP server when ``PORT`` is set; with no chat platform, digests print to the
terminal), then waits for SIGTERM/SIGINT and shuts down cleanly: no new ticks, in-flight sends
finish or stay in the outbox for the next start.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import signal
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import IO, Any

from aiohttp import web

from bot.commands import Commands
from bot.delivery import Delivery, Pacer, Sender, slack_pacer, telegram_pacer
from bot.settings import Settings
from digests.config import load_config
from digests.extract import Extractor
from digests.fetch import Fetcher
from digests.leaders import Registry
from digests.models import Leader, Statement
from digests.outbox import plan_due
from digests.pipeline import Pipeline
from digests.schedule import Scheduler
from digests.storage import Storage
from digests.summarise import LLMConfig, LLMSummariser, extractive_summary
from digests.workers import CpuWork

log = logging.getLogger("bot.app")

TERMINAL_CHAT = "stdout"


class AlreadyRunning(Exception):
    """Another ``digestbot run`` holds the database."""


class InstanceLock:
    """An exclusive ``flock`` on ``<db>.lock``; released when the process exits, even on kill -9."""

    def __init__(self, db_path: str) -> None:
        self.path = None if db_path in (":memory:", "") else Path(db_path + ".lock")
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise AlreadyRunning(
                f"another `digestbot run` is already using {self.path.with_suffix('')}; "
                "stop it first (or set DIGESTBOT_DB to another file)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


class TerminalSender:
    """With no chat platform configured, digests are printed."""

    platform = "terminal"

    def __init__(self, out: Callable[[str], None] | None = None) -> None:
        self.out = out or (lambda text: print(text, flush=True))
        self._count = 0

    async def send(self, chat_id: str, part: dict[str, Any]) -> str:
        self.out(str(part.get("text") or part.get("plain") or ""))
        self._count += 1
        return str(self._count)

    def is_group(self, chat_id: str) -> bool:
        return False


def terminal_output(storage: Storage, settings: Settings, now: datetime) -> tuple[TerminalSender, Pacer]:
    """With no chat platform: the terminal's own subscription (every leader, the default time,
    with a "nothing new" note so a quiet day still says so), its sender and an open pacer."""
    storage.upsert_subscription(
        "terminal",
        TERMINAL_CHAT,
        leaders=None,
        time=None,
        timezone=None,
        now=now,
        default_time=settings.digest_time,
        default_timezone=settings.digest_timezone,
        notify_empty=True,
    )
    return TerminalSender(), Pacer(global_per_second=None, per_chat_per_second=1000.0, margin=0.0)


def utcnow() -> datetime:
    return datetime.now(UTC)


class App:
    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        self.clock = clock
        self.config = load_config(settings.config_dir)
        self.registry = Registry(self.config.leaders)
        self.extractor = Extractor(self.registry)
        self.lock = InstanceLock(settings.db_path)
        self.storage: Storage | None = None
        self.scheduler: Scheduler | None = None
        self.last_poll: datetime | None = None
        self._polling: set[str] = set()
        self._stop = asyncio.Event()

    # -- parts -------------------------------------------------------------------------------

    def summariser(self, client: Any) -> Callable[[Leader, Any], Any]:
        s = self.settings
        if s.llm_base_url and s.llm_model:
            llm = LLMSummariser(LLMConfig(s.llm_base_url, s.llm_api_key, s.llm_model), client)
            return llm.summarise

        async def extractive(leader: Leader, statements: Any) -> str:
            return extractive_summary(leader, statements)

        return extractive

    # -- ticks -------------------------------------------------------------------------------

    async def poll_tick(self, pipeline: Pipeline) -> None:
        assert self.storage is not None
        now = self.clock()
        due_keys = {st.key for st in self.storage.sources_due(now)} - self._polling
        sources = [s for s in self.config.sources if s.key in due_keys]
        if not sources:
            return
        self._polling |= {s.key for s in sources}
        try:
            await pipeline.poll_all(sources, now)
            self.last_poll = self.clock()
        finally:
            self._polling -= {s.key for s in sources}

    async def digest_tick(self, delivery: Delivery, summarise: Any, platforms: list[str]) -> None:
        assert self.storage is not None
        await plan_due(self.storage, self.registry, self.clock(), summarise=summarise, platforms=platforms)
        report = await delivery.deliver_pending()
        if report.sent or report.gone or report.pending or report.failed:
            log.info(
                "delivery round: sent=%d gone=%d pending=%d failed=%d rate_limited=%d",
                report.sent,
                report.gone,
                report.pending,
                report.failed,
                report.rate_limited,
            )

    # -- health ------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        assert self.storage is not None
        failing = [
            {
                "key": st.key,
                "error": st.last_error,
                "since": st.failing_since.isoformat() if st.failing_since else None,
            }
            for st in self.storage.source_states()
            if st.status == "failing"
        ]
        return {
            "status": "ok",
            "last_poll": self.last_poll.isoformat() if self.last_poll else None,
            "failing_sources": failing,
            "outbox_backlog": self.storage.outbox_backlog(),
        }

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text=json.dumps(self.health()), content_type="application/json")

    # -- run ---------------------------------------------------------------------------------

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        self.lock.acquire()
        try:
            await self._run()
        finally:
            self.lock.release()

    async def _run(self) -> None:
        s = self.settings
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, self.request_stop)
            except (NotImplementedError, RuntimeError):
                pass
        storage = Storage(s.db_path)
        self.storage = storage
        storage.sync_sources(self.config.sources)
        senders: dict[str, Sender] = {}
        pacers: dict[str, Pacer] = {}
        stoppers: list[Callable[[], Any]] = []
        runner: web.AppRunner | None = None
        async with Fetcher() as fetcher:
            summarise = self.summariser(fetcher.client)
            commands = Commands(
                storage,
                self.registry,
                default_time=s.digest_time,
                default_timezone=s.digest_timezone,
                clock=self.clock,
                summarise=summarise,
                on_change=lambda sub, platform, chat: (
                    self.scheduler.wake("digests") if self.scheduler else None
                ),
            )
            web_app = web.Application()
            web_app.router.add_get("/healthz", self._healthz)
            if s.telegram_enabled:
                from bot.telegram_chat import TelegramChat

                pacers["telegram"] = telegram_pacer()
                assert s.telegram_token is not None
                telegram = TelegramChat(
                    s.telegram_token,
                    s.telegram_api_url,
                    commands,
                    storage,
                    self.registry,
                    pacer=pacers["telegram"],
                )
                await telegram.start()
                stoppers.append(telegram.stop)
                senders["telegram"] = telegram.sender
            if s.slack_enabled:
                from bot.slack_chat import SlackChat, SlackSender

                assert s.slack_bot_token is not None
                pacers["slack"] = slack_pacer()
                slack = SlackChat(
                    s.slack_bot_token,
                    commands,
                    app_token=s.slack_app_token,
                    signing_secret=None if s.slack_app_token else s.slack_signing_secret,
                    command_prefix=s.slack_command_prefix,
                    api_url=s.slack_api_url,
                    registry=self.registry,
                    pacer=pacers["slack"],
                    default_timezone=s.digest_timezone,
                )
                if s.slack_mode == "http":
                    slack.attach(web_app)
                    if s.port is None:
                        log.warning("Slack HTTP mode needs PORT for POST /slack/events")
                await slack.start()
                stoppers.append(slack.stop)
                senders["slack"] = SlackSender(s.slack_bot_token, api_url=s.slack_api_url)
            if not senders:
                senders["terminal"], pacers["terminal"] = terminal_output(storage, s, self.clock())
                log.info("no chat platform configured: digests print to the terminal")
            if s.port is not None:
                runner = web.AppRunner(web_app, access_log=None)
                await runner.setup()
                await web.TCPSite(runner, "0.0.0.0", s.port).start()
                log.info("HTTP server on port %d (GET /healthz)", s.port)
            run_owner = "run:"
            storage.release_claims(run_owner)  # leases of an earlier `run` that was killed
            delivery = Delivery(storage, senders, pacers, clock=self.clock, owner=f"{run_owner}{os.getpid()}")
            work = CpuWork(self.extractor, workers=s.poll_workers)
            stoppers.append(partial(asyncio.to_thread, work.close))
            await work.start()
            pipeline = Pipeline(storage, self.extractor, fetcher, work=work)
            platforms = list(senders)
            terminal_only = "terminal" in senders

            async def poll() -> None:
                await self.poll_tick(pipeline)
                if terminal_only and self.scheduler is not None:
                    self.scheduler.wake("digests")

            async def digests() -> None:
                if terminal_only:
                    # The terminal has no clock of its own to wait for: show today's digest once
                    # the first poll has been made, then daily at the default time.
                    if self.last_poll is not None:
                        await plan_due(
                            storage,
                            self.registry,
                            self.clock(),
                            summarise=summarise,
                            platforms=["terminal"],
                            force=_no_digest_today(storage, self.clock()),
                        )
                await self.digest_tick(delivery, summarise, platforms)

            self.scheduler = Scheduler(poll=poll, digests=digests)
            self.scheduler.start()
            log.info(
                "digestbot running: %d sources, %d leaders, platforms: %s",
                len(self.config.sources),
                len(self.registry.leaders),
                ", ".join(platforms),
            )
            try:
                await self._stop.wait()
            finally:
                log.info("shutting down")
                await self.scheduler.shutdown()
                for stop in reversed(stoppers):
                    try:
                        await stop()
                    except Exception:
                        log.exception("error while stopping")
                if runner is not None:
                    await runner.cleanup()
                storage.close()


def _no_digest_today(storage: Storage, now: datetime) -> bool:
    sub = storage.subscription("terminal", TERMINAL_CHAT)
    if sub is None or sub.id is None:
        return False
    day = now.astimezone(_zone(sub.timezone)).date().isoformat()
    return storage.last_digest_days().get(sub.id) != day


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def run(settings: Settings) -> int:
    app = App(settings)
    try:
        asyncio.run(app.run())
    except AlreadyRunning as exc:
        print(f"digestbot: {exc}", file=sys.stderr)
        return 2
    return 0


_ = Statement  # re-exported type used in annotations of adapters
