"""The performance benchmark of SPEC section 11: ``python -m bench.perf`` or ``digestbot bench``.

Builds its own data (``bench.corpus``: synthetic wire articles, pages, feeds and statements, all
from a seed), runs each benchmark and prints one table: what was measured, at which size, the
target, the median of the runs, the ratio to the target and a note. The ratio always reads the
same way — 1.0 or more means the target is met: measured / target for a throughput,
target / measured for a time, a latency or a memory size, and for a count whose target is zero
(429s, lost and duplicated digests) 1.0 when the count is zero and 0.0 otherwise.

Benchmarks (``--only`` takes these names):

* ``extract`` — statements from article text, articles/s, pinned to one core.
* ``pages`` — article page HTML → text (``digests.parse.html_to_text``) → statements, pages/s.
* ``poll`` — one poll of N feeds served over loopback with 50 ms latency by ``tests.feedserver``
  through ``digests.pipeline.Pipeline`` with a real SQLite file; then a second poll where every
  feed answers 304, counting feed parses and extractions (both must be zero).
* ``fanout`` — N Telegram digests from the outbox through ``bot.delivery.Delivery`` and the real
  Telegram sender and pacer to ``tests.fakes.telegram.FakeTelegram`` enforcing Telegram's limits.
* ``latest`` — ``/latest`` answered (command parsing, SQLite, Telegram rendering) with N
  statements stored; the database is built once and cached, keyed by size.
* ``memory`` — peak resident memory of ``python -m bot run`` with N sources on a loopback feed
  server and the cached statements database, over its first poll round and the time after it.

``--quick`` runs everything at a small size in well under two minutes (CI runs it to keep the
benchmark working; the figures of a quick run say nothing about the targets). This module is
developer tooling: it imports the test fakes and is not part of the installed package.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import math
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median_low
from typing import Any, Literal

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/perf.py` and the installed `digestbot bench`
    sys.path.insert(0, str(ROOT))

from bench import corpus  # noqa: E402
from digests import parse  # noqa: E402
from digests.config import load_leaders  # noqa: E402
from digests.extract import Extractor  # noqa: E402
from digests.leaders import Registry  # noqa: E402
from digests.models import Source  # noqa: E402

log = logging.getLogger("bench.perf")

SEED = 20251124
CACHE_VERSION = 1  # bump when corpus.statements changes what it generates
POLL_LATENCY = 0.05
PER_HOST_LIMIT = 32
TELEGRAM_RATE = 25.0
BENCHMARKS = ("extract", "pages", "poll", "fanout", "latest", "memory")

Better = Literal["higher", "lower", "zero", "none"]


# ------------------------------------------------------------------------------------------------
# Sizes and rows


@dataclass(frozen=True)
class Sizes:
    """How big each benchmark is and how often it runs (the figure is the median of the runs)."""

    name: str
    runs: int = 5
    articles: int = 500  # per run
    pages: int = 200  # per run
    feeds: int = 500
    entries: int = 10  # per feed
    digests: int = 10_000  # fan-out: one run
    statements: int = 1_000_000  # stored, for /latest and the memory run
    queries: int = 400  # /latest queries per run
    memory_sources: int = 500
    memory_runs: int = 5
    memory_window: float = 30.0  # seconds sampled after the first poll round
    memory_timeout: float = 600.0


FULL = Sizes("full")
QUICK = Sizes(
    "quick",
    articles=40,
    pages=10,
    feeds=50,
    digests=300,
    statements=20_000,
    queries=200,
    memory_sources=50,
    memory_runs=3,
    memory_window=3.0,
    memory_timeout=120.0,
)
TINY = Sizes(
    "tiny",
    runs=2,
    articles=3,
    pages=2,
    feeds=4,
    entries=3,
    digests=6,
    statements=500,
    queries=20,
    memory_sources=4,
    memory_runs=1,
    memory_window=0.5,
    memory_timeout=90.0,
)
PRESETS = {s.name: s for s in (FULL, QUICK, TINY)}


@dataclass(frozen=True)
class Row:
    """One line of the table. ``measured`` is None only when the benchmark failed (see note)."""

    what: str
    size: str
    target: str
    measured: float | None
    unit: str
    runs: int
    better: Better
    goal: float | None = None  # the target as a number, in ``unit``
    note: str = ""
    extra_ok: bool = True  # conditions besides the ratio (e.g. 304s parsed nothing)

    @property
    def ratio(self) -> float | None:
        if self.measured is None or self.goal is None or self.better == "none":
            return None
        if self.better == "zero":
            return 1.0 if self.measured == 0 else 0.0
        if self.better == "higher":
            return self.measured / self.goal
        return self.goal / self.measured if self.measured > 0 else float("inf")

    @property
    def met(self) -> bool | None:
        ratio = self.ratio
        if ratio is None:
            return None if self.measured is not None else False
        return ratio >= 1.0 and self.extra_ok

    def measured_text(self) -> str:
        if self.measured is None:
            return "failed"
        value = self.measured
        if self.better == "zero" or value == int(value) and abs(value) >= 100:
            text = f"{int(value):,}"
        elif abs(value) >= 1000:
            text = f"{value:,.0f}"
        elif abs(value) >= 100:
            text = f"{value:.1f}"
        elif abs(value) >= 10:
            text = f"{value:.1f}"
        elif abs(value) >= 1:
            text = f"{value:.2f}"
        else:
            text = f"{value:.3f}"
        return f"{text} {self.unit}".strip()

    def ratio_text(self) -> str:
        ratio = self.ratio
        if ratio is None:
            return "—"
        # Rounded down, so that a ratio shown as 1.00 is a target met.
        return "inf" if ratio == float("inf") else f"{math.floor(ratio * 100) / 100:.2f}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(ratio=self.ratio, met=self.met)
        return data


def failed_row(what: str, size: str, target: str, exc: BaseException) -> Row:
    return Row(what, size, target, None, "", 0, "none", note=f"failed: {type(exc).__name__}: {exc}"[:300])


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) by linear interpolation between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def one_core() -> Iterator[str]:
    """Pin this process to one CPU for the duration (where the OS allows it)."""
    getter = getattr(os, "sched_getaffinity", None)
    setter = getattr(os, "sched_setaffinity", None)
    if getter is None or setter is None:
        yield "not pinned"
        return
    before = getter(0)
    cpu = max(before)
    try:
        setter(0, {cpu})
    except OSError:
        yield "not pinned"
        return
    try:
        yield f"pinned to CPU {cpu}"
    finally:
        setter(0, before)


@contextlib.contextmanager
def quiet_logs(level: int = logging.WARNING) -> Iterator[None]:
    """The product logs a line per poll and per delivery: keep the table readable."""
    root = logging.getLogger()
    before = root.level
    root.setLevel(level)
    try:
        yield
    finally:
        root.setLevel(before)


# ------------------------------------------------------------------------------------------------
# Context shared by the benchmarks


@dataclass
class Bench:
    sizes: Sizes
    registry: Registry
    config_dir: Path
    cache_dir: Path
    work_dir: Path
    seed: int = SEED


def default_cache_dir() -> Path:
    env = os.environ.get("DIGESTBOT_BENCH_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "digestbot-bench"


# ------------------------------------------------------------------------------------------------
# 1. extraction from text


def bench_extract(b: Bench) -> list[Row]:
    s = b.sizes
    what, size, target = (
        "statement extraction from article text",
        f"{s.articles:,} articles × ~1,000 words",
        "≥ 200 articles/s",
    )
    items = corpus.articles(b.seed, s.articles, b.registry)
    words = statistics.mean(a.words for a in items)
    extractor = Extractor(b.registry)
    rates: list[float] = []
    found = 0
    with one_core() as pinned:
        extractor.extract(items[0].text, items[0].published, items[0].title)  # warm the regex caches
        for _ in range(s.runs):
            found = 0
            started = time.perf_counter()
            for item in items:
                found += len(extractor.extract(item.text, item.published, item.title))
            rates.append(len(items) / (time.perf_counter() - started))
    rate = median(rates)
    note = (
        f"{words:.0f} words/article, {found / len(items):.1f} statements/article; "
        f"{rate * words:,.0f} words/s; {pinned}"
    )
    return [Row(what, size, target, rate, "articles/s", s.runs, "higher", 200.0, note)]


# ------------------------------------------------------------------------------------------------
# 2. whole article: HTML → text → statements


def bench_pages(b: Bench) -> list[Row]:
    s = b.sizes
    what, target = "whole article: HTML → text → statements", "≥ 20 pages/s"
    items = corpus.articles(b.seed + 1, s.pages, b.registry)
    rng = random.Random(b.seed + 2)
    urls = [f"https://news.example/world/{i}/story.html" for i in range(len(items))]
    pages = [corpus.page_html(item, rng, url=url) for item, url in zip(items, urls, strict=True)]
    kb = statistics.mean(len(p.encode()) for p in pages) / 1024
    extractor = Extractor(b.registry)
    rates: list[float] = []
    html_seconds: list[float] = []
    found = empty = 0
    with one_core() as pinned:
        parse.html_to_text(pages[0], url=urls[0])  # import-time and cache warm-up
        for _ in range(s.runs):
            found = empty = 0
            in_html = 0.0
            started = time.perf_counter()
            for page, url, item in zip(pages, urls, items, strict=True):
                t0 = time.perf_counter()
                text = parse.html_to_text(page.encode(), url=url)
                in_html += time.perf_counter() - t0
                if not text:
                    empty += 1
                    continue
                found += len(extractor.extract(text, item.published, item.title))
            elapsed = time.perf_counter() - started
            rates.append(len(pages) / elapsed)
            html_seconds.append(in_html / elapsed)
    rate = median(rates)
    note = (
        f"{kb:.0f} KB pages with nav, scripts, related links, footer; trafilatura takes "
        f"{median(html_seconds) * 100:.0f}% of the time; {found / len(pages):.1f} statements/page"
        f"{f'; {empty} pages gave no text' if empty else ''}; {pinned}"
    )
    return [Row(what, f"{s.pages:,} pages", target, rate, "pages/s", s.runs, "higher", 20.0, note)]


# ------------------------------------------------------------------------------------------------
# 3. one poll of N feeds, then all 304


def build_feeds(
    b: Bench, *, feeds: int, entries: int, base_url: str, now: datetime, seed: int
) -> list[tuple[str, bytes, list[corpus.FeedEntry]]]:
    """(path, RSS body, entries) for each feed; entries carry ~200-word stories in their text."""
    rng = random.Random(seed)
    pool_size = max(4, int(feeds * entries * 0.7))  # about 30 % of entries are stories another outlet ran
    pool = [corpus.article(rng, b.registry, words=200, day=now.date()) for _ in range(pool_size)]
    out = []
    for f in range(feeds):
        items = corpus.feed_entries(
            rng, b.registry, feed=f, entries=entries, now=now, base_url=base_url, story_pool=pool
        )
        path = f"/feeds/{f:04d}.xml"
        out.append((path, corpus.rss(f"Wire {f}", f"{base_url}/", items), items))
    return out


def bench_poll(b: Bench) -> list[Row]:
    return asyncio.run(_bench_poll(b))


async def _bench_poll(b: Bench) -> list[Row]:
    from digests.fetch import Fetcher
    from digests.pipeline import Pipeline
    from digests.storage import Storage
    from digests.workers import CpuWork, default_workers
    from tests.feedserver import FeedServer

    s = b.sizes
    size = f"{s.feeds:,} feeds × {s.entries} entries"
    # As `digestbot run` has it: parsing and extraction in worker processes, started beforehand
    # (DIGESTBOT_POLL_WORKERS, as for `run`, else the default: one with a spare CPU).
    wanted = os.environ.get("DIGESTBOT_POLL_WORKERS", "").strip()
    work = CpuWork(
        Extractor(b.registry),
        workers=int(wanted) if wanted.isascii() and wanted.isdigit() else default_workers(),
    )
    with contextlib.closing(work):
        await work.start()
        first_times: list[float] = []
        second_times: list[float] = []
        parses_second: list[int] = []
        extracts_second: list[int] = []
        not_modified: list[int] = []
        new_statements: list[int] = []
        failures: list[str] = []
        kb = 0.0
        now = datetime.now(UTC).replace(microsecond=0)
        async with FeedServer(latency=POLL_LATENCY) as server:
            feeds = build_feeds(
                b, feeds=s.feeds, entries=s.entries, base_url=server.base_url, now=now, seed=b.seed + 3
            )
            stamp = "Mon, 24 Nov 2025 00:00:00 GMT"
            for path, body, _ in feeds:
                server.add(path, body, etag=f'"{path}-v1"', last_modified=stamp)
            kb = statistics.mean(len(body) for _, body, _ in feeds) / 1024
            sources = [
                Source(
                    key=f"wire-{i:04d}",
                    name=f"Wire {i}",
                    url=server.url(path),
                    interval=timedelta(minutes=15),
                )
                for i, (path, _, _) in enumerate(feeds)
            ]
            for run in range(s.runs):
                db = b.work_dir / f"poll-{run}.db"
                storage = Storage(db)
                storage.sync_sources(sources)
                try:
                    async with Fetcher(per_host_limit=PER_HOST_LIMIT) as fetcher:
                        # The entries carry their stories: no page is fetched (see the note).
                        pipeline = Pipeline(storage, work.extractor, fetcher, fetch_pages=False, work=work)
                        started = time.perf_counter()
                        results = await pipeline.poll_all(sources, now)
                        first_times.append(time.perf_counter() - started)
                        failures += [f"{r.source}: {r.error}" for r in results if r.status != "ok"]
                        new_statements.append(sum(r.new_statements for r in results))
                        server.reset_counters()
                        pipeline.counts.clear()
                        started = time.perf_counter()
                        again = await pipeline.poll_all(sources, now + timedelta(minutes=15))
                        second_times.append(time.perf_counter() - started)
                        parses_second.append(pipeline.counts["feeds_parsed"])
                        extracts_second.append(pipeline.counts["articles_extracted"])
                        not_modified.append(sum(server.not_modified.values()))
                        failures += [
                            f"{r.source}: {r.status} {r.error or ''}"
                            for r in again
                            if r.status != "not_modified"
                        ]
                finally:
                    storage.close()
                    for suffix in ("", "-wal", "-shm"):
                        Path(f"{db}{suffix}").unlink(missing_ok=True)
                progress(
                    f"poll run {run + 1}/{s.runs}: {first_times[-1]:.2f} s, then 304s {second_times[-1]:.2f} s"
                )
    workers = (
        f"{work.workers} worker process" + ("" if work.workers == 1 else "es")
        if work.workers
        else "inline, on the event loop (DIGESTBOT_POLL_WORKERS=0)"
    )
    failure_note = f"; {len(failures)} failures, e.g. {failures[0]}" if failures else ""
    lower_bound = s.feeds / PER_HOST_LIMIT * POLL_LATENCY
    first = Row(
        f"one poll of {s.feeds:,} feeds, 50 ms latency",
        size,
        "≤ 10 s",
        median(first_times),
        "s",
        s.runs,
        "lower",
        10.0,
        (
            f"{kb:.0f} KB RSS feeds whose entries carry ~200-word stories (no page fetch: fetch_pages=False); "
            f"parsing and extraction: {workers}, started before the timed poll as `run` does; "
            f"{median(new_statements):,.0f} statements stored per poll; fresh SQLite file per run; "
            f"Fetcher(per_host_limit={PER_HOST_LIMIT}) — every feed is on one loopback host here "
            f"(real feeds spread over many hosts), so latency alone costs ≥ {lower_bound:.2f} s; "
            f"the feed server shares the process and event loop{failure_note}"
        ),
        extra_ok=not failures,
    )
    zero_work = max(parses_second) == 0 and max(extracts_second) == 0
    second = Row(
        "second poll, every feed 304 (nothing parsed)",
        size,
        "≤ 10 s; 0 parses",
        median(second_times),
        "s",
        s.runs,
        "lower",
        10.0,
        (
            f"304s {min(not_modified)}/{s.feeds}; feed parses {max(parses_second)}, extractions "
            f"{max(extracts_second)} (max over runs){'' if zero_work else ' — MISSED: 304s were parsed'}"
        ),
        extra_ok=zero_work and not failures,
    )
    return [first, second]


# ------------------------------------------------------------------------------------------------
# 4. fan-out of N Telegram digests


def bench_fanout(b: Bench) -> list[Row]:
    return asyncio.run(_bench_fanout(b))


def digest_payloads(b: Bench, count: int) -> list[str]:
    """``count`` different outbox payloads: real digests rendered for Telegram."""
    from digests.digest import build_digest
    from digests.outbox import digest_title, render_parts

    now = datetime.now(UTC)
    payloads = []
    pool = list(corpus.statements(b.seed + 4, 200, b.registry, end=now, days=1))
    rng = random.Random(b.seed + 5)
    for _ in range(count):
        picked = rng.sample(pool, 6)
        stamped = [replace(st, id=i + 1) for i, st in enumerate(picked)]
        digest = build_digest(stamped, b.registry, since=now - timedelta(days=1), until=now)
        parts = render_parts("telegram", digest, tz="Europe/Berlin", title=digest_title(now.date()))
        payloads.append(json.dumps({"parts": parts}, ensure_ascii=False))
    return payloads


def arrival_profile(times: Sequence[float], window: float = 1.0) -> tuple[int, float]:
    """(most arrivals in any ``window`` seconds, when that window starts, in seconds after the first)."""
    ordered = sorted(times)
    busiest, at, start = 0, 0.0, 0
    for end, t in enumerate(ordered):
        while t - ordered[start] >= window:
            start += 1
        if end - start + 1 > busiest:
            busiest, at = end - start + 1, ordered[start] - ordered[0]
    return busiest, at


async def _bench_fanout(b: Bench) -> list[Row]:
    from bot.delivery import Delivery, telegram_pacer  # noqa: TID251 (bench is tooling, like tests)
    from bot.telegram_chat import TelegramSender, make_bot  # noqa: TID251
    from digests.storage import Storage
    from tests.fakes.telegram import FakeTelegram

    s = b.sizes
    n = s.digests
    size = f"{n:,} digests to {n:,} private chats"
    payloads = digest_payloads(b, min(n, 50))
    parts_of = [len(json.loads(p)["parts"]) for p in payloads]
    db = b.work_dir / "fanout.db"
    storage = Storage(db)
    now = datetime.now(UTC)
    chat_ids = [100_000 + i for i in range(n)]
    expected: dict[int, int] = {}
    with storage.transaction():
        for i, chat in enumerate(chat_ids):
            sub = storage.upsert_subscription(
                "telegram",
                str(chat),
                leaders=None,
                time=None,
                timezone=None,
                now=now,
                default_time="08:00",
                default_timezone="UTC",
            )
            assert sub.id is not None
            storage.enqueue_digest(
                sub.id,
                day=now.date().isoformat(),
                window_start=now - timedelta(days=1),
                window_end=now,
                payload=payloads[i % len(payloads)],
                now=now,
            )
            expected[chat] = parts_of[i % len(payloads)]
    total_messages = sum(expected.values())
    try:
        async with FakeTelegram(enforce_limits=True) as fake:
            for chat in chat_ids:
                fake.add_chat(chat)
            bot = make_bot(fake.token, fake.api_root)
            async with bot:
                delivery = Delivery(
                    storage,
                    {"telegram": TelegramSender(bot)},
                    {"telegram": telegram_pacer(TELEGRAM_RATE)},
                    clock=lambda: datetime.now(UTC),
                )
                progress(
                    f"fan-out of {n:,} digests at {TELEGRAM_RATE:g}/s: about {total_messages / TELEGRAM_RATE:.0f} s"
                )
                started = time.perf_counter()
                report = await delivery.deliver_pending()
                elapsed = time.perf_counter() - started
            delivered = {chat: len(fake.messages_to(chat)) for chat in chat_ids}
            limit_429s = fake.limit_429s
            statuses = dict(fake.status_counts)
            busiest, busiest_at = arrival_profile([m.time for m in fake.sent])
            first = min((m.time for m in fake.sent), default=0.0)
            when_429 = [c.time - first for c in fake.calls if c.status == 429]
        pending = storage.outbox_backlog()
    finally:
        storage.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    lost = sum(max(0, expected[c] - delivered[c]) for c in chat_ids)
    duplicated = sum(max(0, delivered[c] - expected[c]) for c in chat_ids)
    rate = total_messages / elapsed if elapsed > 0 else 0.0
    share = rate / TELEGRAM_RATE
    common = "one run (10,000 at 25/s take ~7 min)" if n >= 10_000 else "one run"
    rows = [
        Row(
            "fan-out of Telegram digests: share of the configured rate",
            size,
            "≥ 0.90 of 25 msg/s",
            share,
            "",
            1,
            "higher",
            0.9,
            (
                f"{rate:.1f} msg/s = {total_messages:,} messages in {elapsed:.0f} s; FakeTelegram(enforce_limits=True), "
                f"bot.delivery.telegram_pacer({TELEGRAM_RATE:g}) whose 5 % safety margin caps it at "
                f"{int(TELEGRAM_RATE) / 1.05:.1f}/s; Delivery sent {report.sent}, pending {report.pending}, "
                f"failed {report.failed}; {common}"
            ),
        ),
        Row(
            "fan-out: 429s from the fake Bot API",
            size,
            "0",
            float(limit_429s),
            "",
            1,
            "zero",
            0.0,
            (
                f"HTTP statuses {statuses}; Delivery saw {report.rate_limited} rate limits; most messages "
                f"the fake received in any 1 s: {busiest}, {busiest_at:.1f} s after the first (it allows "
                f"30 per 0.95 s)"
                + (f"; 429s at {', '.join(f'{t:.1f}' for t in when_429[:6])} s" if when_429 else "")
                + f"; {common}"
            ),
        ),
        Row(
            "fan-out: digests lost",
            size,
            "0",
            float(lost),
            "",
            1,
            "zero",
            0.0,
            f"messages expected per chat vs delivered; {pending} outbox rows still pending; {common}",
        ),
        Row(
            "fan-out: digests duplicated",
            size,
            "0",
            float(duplicated),
            "",
            1,
            "zero",
            0.0,
            f"chats that got a message more than once; {common}",
        ),
    ]
    return rows


# ------------------------------------------------------------------------------------------------
# 5. /latest with N statements stored


def statements_db(b: Bench, count: int) -> tuple[Path, str]:
    """The cached database with ``count`` statements (built once); returns (path, how it was had)."""
    from digests.storage import MIGRATIONS, Storage

    b.cache_dir.mkdir(parents=True, exist_ok=True)
    path = b.cache_dir / f"statements-{count}-v{CACHE_VERSION}-schema{len(MIGRATIONS)}-seed{b.seed}.db"
    if path.exists():
        built = "cached"
        with contextlib.closing(Storage(path)) as storage:
            stamp = storage.meta_get("bench_built")
        if stamp:
            age = datetime.now(UTC) - datetime.fromisoformat(stamp)
            built = f"cached, built {age.days} days ago" if age.days else "cached, built today"
        return path, built
    progress(f"building a database of {count:,} statements in {b.cache_dir} (once; ~70 s per million)")
    partial = path.with_suffix(".partial")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    started = time.perf_counter()
    end = datetime.now(UTC) - timedelta(days=1)
    with contextlib.closing(Storage(partial)) as storage:
        storage.bulk_insert_statements(corpus.statements(b.seed + 6, count, b.registry, end=end))
        storage.meta_set("bench_built", datetime.now(UTC).isoformat())
        storage.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # one self-contained file to copy
    for suffix in ("-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    partial.rename(path)
    seconds = time.perf_counter() - started
    mb = path.stat().st_size / 1024**2
    progress(f"built {path.name}: {mb:,.0f} MB in {seconds:.0f} s")
    return path, f"built now in {seconds:.0f} s ({mb:,.0f} MB)"


def bench_latest(b: Bench) -> list[Row]:
    return asyncio.run(_bench_latest(b))


async def _bench_latest(b: Bench) -> list[Row]:
    from bot.commands import ChatContext, Commands  # noqa: TID251
    from digests import render
    from digests.storage import Storage

    s = b.sizes
    path, built = statements_db(b, s.statements)
    size = f"{s.statements:,} statements stored"
    keys, weights = corpus.leader_weights(b.registry, b.seed + 7)
    rng = random.Random(b.seed + 8)
    ctx = ChatContext(platform="telegram", chat_id="42", chat_type="private")
    p50s: list[float] = []
    p95s: list[float] = []
    worst = 0.0
    with contextlib.closing(Storage(path)) as storage:
        stored = storage.count_statements()
        commands = Commands(storage, b.registry, clock=lambda: datetime.now(UTC))

        async def one(args: str) -> float:
            started = time.perf_counter()
            reply = await commands.handle(ctx, "latest", args)
            if reply.statements is not None:
                leader, found = reply.statements
                render.telegram_statements(leader, found, tz="Europe/Kyiv")
            return (time.perf_counter() - started) * 1000

        def query() -> str:
            key = rng.choices(keys, weights)[0]
            leader = b.registry.leaders[key]
            name = rng.choice((key, key, leader.name, rng.choice(leader.aliases) if leader.aliases else key))
            n = rng.choice((None, None, None, 3, 10, 20))
            quoted = f'"{name}"' if " " in name else name
            return quoted if n is None else f"{quoted} {n}"

        for _ in range(20):  # warm-up: the first queries read the index pages from disk
            await one(query())
        for _ in range(s.runs):
            times = [await one(query()) for _ in range(s.queries)]
            p50s.append(percentile(times, 50))
            p95s.append(percentile(times, 95))
            worst = max(worst, max(times))
    note = (
        f"{s.queries} queries per run (leaders weighted to the prominent ones, by key, name or alias, "
        f"n of 5, 3, 10 or 20): command parsing, SQLite and Telegram rendering; "
        f"{stored:,} statements in the file ({built}); 20 warm-up queries; slowest {worst:.1f} ms"
    )
    return [
        Row("/latest p95", size, "≤ 20 ms", median(p95s), "ms", s.runs, "lower", 20.0, note),
        Row(
            "/latest p50",
            size,
            "— (p95 is the target)",
            median(p50s),
            "ms",
            s.runs,
            "none",
            None,
            "same queries as p95",
        ),
    ]


# ------------------------------------------------------------------------------------------------
# 6. resident memory of `digestbot run`


def _status_kb(pid: int) -> tuple[int, int] | None:
    """(VmRSS, VmHWM) of a process in kB, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    values: dict[str, str] = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", text, re.M))
    rss = values.get("VmRSS")
    if rss is None:
        return None
    return int(rss), int(values.get("VmHWM", rss))


def _descendants(pid: int) -> list[int]:
    """Every living process below ``pid`` (the poll workers and multiprocessing's helper)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(children.get(child, []))
    return found


def bench_memory(b: Bench) -> list[Row]:
    if not Path("/proc/self/status").exists():
        raise RuntimeError("needs /proc (Linux) to read a process's resident memory")
    return asyncio.run(_bench_memory(b))


async def _bench_memory(b: Bench) -> list[Row]:
    from tests.feedserver import FeedServer

    s = b.sizes
    db_path, built = statements_db(b, s.statements)
    size = f"{s.memory_sources:,} sources, {s.statements:,} statements"
    peaks: list[float] = []
    splits: list[str] = []
    steady: list[float] = []
    poll_seconds: list[float] = []
    problems: list[str] = []
    async with FeedServer(latency=POLL_LATENCY) as server:
        for run in range(s.memory_runs):
            run_dir = b.work_dir / f"memory-{run}"
            run_dir.mkdir(parents=True, exist_ok=True)
            try:
                peak, rss, seconds, problem, parts = await _memory_run(b, server, run, run_dir, db_path)
            finally:
                shutil.rmtree(run_dir, ignore_errors=True)
            if problem:
                problems.append(problem)
            peaks.append(peak)
            splits.append(parts)
            steady.append(rss)
            poll_seconds.append(seconds)
            progress(
                f"memory run {run + 1}/{s.memory_runs}: peak {peak:.0f} MB, after the poll {rss:.0f} MB, "
                f"first poll {seconds:.1f} s"
            )
    typical = splits[peaks.index(median_low(peaks))]
    note = (
        f"peak VmHWM of `python -m bot run` and its child processes, added up ({typical}; the poll "
        f"workers of DIGESTBOT_POLL_WORKERS at its default), terminal mode, no chat tokens, over its "
        f"first poll round (~{median(poll_seconds):.0f} s) and {s.memory_window:g} s after it; median "
        f"VmRSS of the tree after the poll "
        f"{median(steady):.0f} MB; feeds on a loopback FeedServer (50 ms), one entry per feed with an "
        f"HTML page to fetch and extract, the others carry their text; statements DB {built}"
        + (f"; problems: {problems[0]}" if problems else "")
    )
    return [
        Row(
            "resident memory of `digestbot run`",
            size,
            "≤ 200 MB",
            median(peaks),
            "MB",
            s.memory_runs,
            "lower",
            200.0,
            note,
            extra_ok=not problems,
        )
    ]


async def _memory_run(
    b: Bench, server: Any, run: int, run_dir: Path, cached_db: Path
) -> tuple[float, float, float, str, str]:
    """One `digestbot run`: (peak MB, median RSS MB after the first poll, first-poll seconds, problem,
    how the peak splits between the bot and its child processes)."""
    s = b.sizes
    now = datetime.now(UTC).replace(microsecond=0)
    feeds = build_feeds(
        b,
        feeds=s.memory_sources,
        entries=s.entries,
        base_url=server.base_url,
        now=now,
        seed=b.seed + 100 + run,
    )
    rng = random.Random(b.seed + 200 + run)
    server.routes.clear()
    lines = []
    for i, (path, body, items) in enumerate(feeds):
        server.add(path, body, etag=f'"{path}-run{run}"')
        page_item = corpus.article(rng, b.registry, words=600, day=now.date())
        # The first entry's page is served: it is fetched and run through trafilatura.
        server.add(
            items[0].link.removeprefix(server.base_url),
            corpus.page_html(page_item, rng, url=items[0].link),
            content_type="text/html; charset=utf-8",
        )
        lines.append(
            f'[[source]]\nkey = "wire-{i:04d}"\nname = "Wire {i}"\nurl = "{server.url(path)}"\n'
            f'kind = "news"\ninterval = "20s"\n'
        )
    config = run_dir / "config"
    config.mkdir()
    shutil.copyfile(b.config_dir / "leaders.toml", config / "leaders.toml")
    (config / "sources.toml").write_text("\n".join(lines), encoding="utf-8")
    db = run_dir / "digestbot.db"
    shutil.copyfile(cached_db, db)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "SLACK_", "LLM_", "DIGESTBOT_")) and k != "PORT"
    }
    env.update(
        DIGESTBOT_DB=str(db),
        DIGESTBOT_CONFIG_DIR=str(config),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")])),
        PYTHONUNBUFFERED="1",
    )
    stdout = (run_dir / "stdout.txt").open("wb")
    stderr_path = run_dir / "stderr.txt"
    stderr = stderr_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], cwd=run_dir, env=env, stdout=stdout, stderr=stderr
    )
    samples: list[tuple[float, int, int]] = []  # elapsed, tree VmRSS, bot's own VmHWM (kB)
    peaks: dict[int, int] = {}  # pid → VmHWM (kB), every process of the tree ever seen
    started = time.monotonic()
    polled_at: float | None = None
    problem = ""
    try:
        while True:
            await asyncio.sleep(0.2)
            status = _status_kb(proc.pid)
            if status is None or proc.poll() is not None:
                tail = stderr_path.read_text(errors="replace")[-400:]
                problem = f"`digestbot run` exited early with {proc.returncode}: {tail}"
                break
            elapsed = time.monotonic() - started
            tree_rss = status[0]
            peaks[proc.pid] = status[1]
            for child in _descendants(proc.pid):
                child_status = _status_kb(child)
                if child_status is not None:
                    tree_rss += child_status[0]
                    peaks[child] = max(peaks.get(child, 0), child_status[1])
            samples.append((elapsed, tree_rss, status[1]))
            if polled_at is None:
                polls = stderr_path.read_text(errors="replace").count("digests.pipeline: poll ")
                if polls >= s.memory_sources:
                    polled_at = elapsed
            elif elapsed - polled_at >= s.memory_window:
                break
            if elapsed > s.memory_timeout:
                problem = f"the first poll round did not finish in {s.memory_timeout:.0f} s"
                break
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(proc.wait, 60)
            except subprocess.TimeoutExpired:
                proc.kill()
                await asyncio.to_thread(proc.wait)
                problem = problem or "did not stop within 60 s of SIGTERM"
        stdout.close()
        stderr.close()
    if proc.returncode not in (0, -signal.SIGTERM) and not problem:
        problem = f"exit status {proc.returncode} after SIGTERM"
    text = stderr_path.read_text(errors="replace")
    failed_polls = len(re.findall(r"digests\.pipeline: poll \S+: failed", text))
    if failed_polls and not problem:
        problem = f"{failed_polls} sources failed their poll"
    if not samples:
        return 0.0, 0.0, 0.0, problem or "no memory samples", ""
    # Peak: each process's own high-water mark, added up (an upper bound: their peaks need not
    # coincide, and shared library pages count once per process).
    peak = sum(peaks.values()) / 1024
    after = [rss for t, rss, _ in samples if polled_at is not None and t >= polled_at] or [samples[-1][1]]
    parts = f"bot {peaks[proc.pid] / 1024:.0f} MB + {len(peaks) - 1} child processes {(sum(peaks.values()) - peaks[proc.pid]) / 1024:.0f} MB"
    return peak, median(after) / 1024, polled_at or 0.0, problem, parts


# ------------------------------------------------------------------------------------------------
# Running and printing


RUNNERS: dict[str, tuple[Callable[[Bench], list[Row]], str, str]] = {
    "extract": (bench_extract, "statement extraction from article text", "≥ 200 articles/s"),
    "pages": (bench_pages, "whole article: HTML → text → statements", "≥ 20 pages/s"),
    "poll": (bench_poll, "one poll of feeds, 50 ms latency", "≤ 10 s"),
    "fanout": (bench_fanout, "fan-out of Telegram digests", "≥ 0.90 of 25 msg/s, 0 429s/lost/dup"),
    "latest": (bench_latest, "/latest p95", "≤ 20 ms"),
    "memory": (bench_memory, "resident memory of `digestbot run`", "≤ 200 MB"),
}


def run_benchmarks(
    sizes: Sizes,
    *,
    only: Sequence[str] = BENCHMARKS,
    config_dir: Path | None = None,
    cache_dir: Path | None = None,
    seed: int = SEED,
) -> list[Row]:
    """Run the chosen benchmarks; a benchmark that fails gives a row saying why, not a crash."""
    config_dir = config_dir or ROOT / "config"
    registry = Registry(load_leaders(config_dir / "leaders.toml"))
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="digestbot-bench-") as work, quiet_logs():
        b = Bench(sizes, registry, config_dir, cache_dir or default_cache_dir(), Path(work), seed)
        for name in only:
            runner, what, target = RUNNERS[name]
            progress(f"{name}: {what} ({sizes.name})")
            gc.collect()  # every benchmark starts without the previous one's garbage
            started = time.perf_counter()
            try:
                found = runner(b)
            except Exception as exc:  # one broken benchmark must not hide the others
                log.exception("benchmark %s failed", name)
                found = [failed_row(what, sizes.name, target, exc)]
            progress(f"{name}: done in {time.perf_counter() - started:.0f} s")
            rows.extend(found)
    return rows


HEADER = ("what", "size", "target", "measured", "runs", "ratio", "note")


def table_cells(rows: Sequence[Row]) -> list[list[str]]:
    cells = []
    for row in rows:
        note = row.note
        if row.met is False and not note.startswith("failed") and "MISSED" not in note:
            note = "MISSED — " + note
        cells.append(
            [row.what, row.size, row.target, row.measured_text(), str(row.runs), row.ratio_text(), note]
        )
    return cells


def format_table(rows: Sequence[Row], *, note_width: int = 0) -> str:
    cells = table_cells(rows)
    if note_width:
        cells = [
            [*c[:-1], c[-1] if len(c[-1]) <= note_width else c[-1][: note_width - 1] + "…"] for c in cells
        ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(HEADER)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(HEADER, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for c in cells:
        lines.append("  ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)).rstrip())
    return "\n".join(lines)


def format_markdown(rows: Sequence[Row]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for c in table_cells(rows):
        lines.append("| " + " | ".join(cell(v) for v in c) + " |")
    return "\n".join(lines)


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The benchmark's options (shared by ``python -m bench.perf`` and ``digestbot bench``)."""
    parser = parser or argparse.ArgumentParser(
        prog="python -m bench.perf", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, under two minutes (for CI)")
    parser.add_argument(
        "--only", nargs="+", choices=BENCHMARKS, metavar="NAME", help=f"only these: {', '.join(BENCHMARKS)}"
    )
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON to FILE")
    parser.add_argument(
        "--cache-dir",
        metavar="DIR",
        help=f"where the statements database is cached (default {default_cache_dir()})",
    )
    parser.add_argument(
        "--config-dir", metavar="DIR", help="folder with leaders.toml (default: the checkout's config/)"
    )
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the generated data")
    return parser


def main_with_args(args: argparse.Namespace) -> int:
    sizes = QUICK if args.quick else FULL
    started = time.perf_counter()
    rows = run_benchmarks(
        sizes,
        only=args.only or BENCHMARKS,
        config_dir=Path(args.config_dir) if args.config_dir else None,
        cache_dir=Path(args.cache_dir) if args.cache_dir else None,
        seed=args.seed,
    )
    print(format_markdown(rows) if args.markdown else format_table(rows))
    missed = [r for r in rows if r.met is False]
    print(
        f"\n{sizes.name} run in {time.perf_counter() - started:.0f} s; ratio ≥ 1.00 means met; "
        f"{len(missed)} of {sum(r.met is not None for r in rows)} targets missed"
        + (" (a quick run's figures say nothing about the targets)" if args.quick else "")
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps([r.to_json() for r in rows], indent=1, ensure_ascii=False) + "\n"
        )
    failed = [r for r in rows if r.measured is None]
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    raise SystemExit(main_with_args(args))


if __name__ == "__main__":
    main()
