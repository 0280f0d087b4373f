"""Fan-out under faults: every digest arrives, and a duplicate only ever comes from an ambiguous send.

SPEC §12: "fake platforms injecting 429s, 5xx, timeouts, connection resets and ambiguous
deliveries on 10% of calls: every digest still arrives, once". The test fans out 1,000 digests on
Telegram and 1,000 on Slack in one ``Delivery`` (real senders, real pacers, real SQLite outbox)
against ``FakeTelegram`` and ``FakeSlack`` with ``enforce_limits`` on and 10% of sends failing with
every fault kind the fakes know: 429, 500/502/503 (HTML or JSON bodies), ``reset`` (dropped before
delivery), ``reset_after`` (delivered, then dropped) and ``slow`` (delivered, answered after the
client gave up). The last two are the documented ambiguous case (README, "Delivery").

What a user would notice, asserted exactly:

* every subscribed chat got its digest: each part once *confirmed*, plus one extra copy for each
  delivery the fake recorded as ambiguous (``slow`` / ``reset_after``) and no other copy;
* nothing is left in the outbox after a few rounds, and every item is marked sent;
* the fakes' enforced limits answered no 429: every 429 seen was an injected one.

To keep CI fast (well under a minute) the platform limits are scaled, not switched off:

* the per-chat limits hold as on the real platforms (Telegram 1 message a second per private
  chat and 20 a minute per group, Slack 1 a second per channel); the digests go to 1,000
  distinct chats per platform (900 private chats and 100 groups on Telegram), so a chat's
  limit only bites on its retries, which is exactly where pacing can go wrong;
* Telegram's global limit is raised from 30/s to ``TELEGRAM_FAKE_RATE`` in the fake and the
  pacer's from 25/s to ``TELEGRAM_PACER_RATE`` (the same ratio of headroom as 25 to 30);
* ``Delivery(sleep=short)`` waits at most ``SHORT_SLEEP`` seconds on a 429's Retry-After and on
  backoff (the pacer still spaces every retry by the real per-chat window), and the clients'
  read timeouts are ``CLIENT_TIMEOUT`` seconds, below the fakes' ``SLOW_DELAY``, so a "slow"
  fault turns into a client timeout: an ambiguous send.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.delivery import Delivery, DeliveryReport, Pacer, slack_pacer, telegram_pacer
from bot.slack_chat import SlackSender
from bot.telegram_chat import TelegramSender, Timeouts, html_parts, make_bot
from digests import render
from digests.digest import build_digest
from digests.extract import Extractor
from digests.leaders import Registry
from digests.outbox import slack_plain
from digests.pipeline import article_from_document, ingest_article
from digests.storage import Storage
from tests.fakes.slack import FakeSlack, FaultKind
from tests.fakes.telegram import FakeTelegram, RateLimits

# PTB reads the deprecated int form of RetryAfter.retry_after itself when it builds the exception.
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "tests" / "fixtures" / "articles" / "seed-putin-astana.txt"
TOKEN = "123456789:TEST-fake-token"
NOW = datetime(2022, 10, 15, 8, 0, tzinfo=UTC)
DAY = "2022-10-15"

PRIVATE_CHATS = 900
GROUPS = 100
SLACK_CHANNELS = 1_000
FAULT_RATE = 0.10
TELEGRAM_FAULTS = ("429", "500", "502", "reset", "reset_after", "slow")
SLACK_FAULTS: tuple[FaultKind, ...] = ("429", "500", "503", "reset", "reset_after", "slow")
AMBIGUOUS = frozenset({"slow", "reset_after"})
TELEGRAM_FAKE_RATE = 240  # messages a second in all (Telegram: 30)
TELEGRAM_PACER_RATE = 200  # what the bot allows itself (Telegram: 25)
SLOW_DELAY = 2.5  # the fakes answer a "slow" call after this many seconds …
CLIENT_TIMEOUT = 1.5  # … and the clients give up after this many
SHORT_SLEEP = 0.05
MAX_ROUNDS = 6


async def short(seconds: float) -> None:
    """Delivery's sleep: Retry-After and backoff waits cut short (the pacer still paces)."""
    await asyncio.sleep(min(seconds, SHORT_SLEEP))


@dataclass(frozen=True)
class Expected:
    """The parts each platform's chats must receive."""

    telegram: list[dict[str, str]]
    slack: list[dict[str, Any]]


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    db = Storage(tmp_path / "faults.db")
    yield db
    db.close()


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    limits = RateLimits(per_bot=TELEGRAM_FAKE_RATE)  # per-chat and per-group limits as on Telegram
    async with FakeTelegram(TOKEN, enforce_limits=True, limits=limits, slow_delay=SLOW_DELAY) as fake:
        yield fake


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(enforce_limits=True, slow_delay=SLOW_DELAY) as fake:
        yield fake


def telegram_chats() -> list[int]:
    return [20_000 + i for i in range(PRIVATE_CHATS)] + [-50_000 - i for i in range(GROUPS)]


def slack_channels() -> list[str]:
    return [f"C{i:08d}" for i in range(SLACK_CHANNELS)]


def digest_parts(storage: Storage, registry: Registry) -> Expected:
    """Today's digest of the seed article, rendered for each platform as the planner does."""
    article = article_from_document(
        SEED.read_text(encoding="utf-8"),
        url="https://news.example.org/putin-astana",
        outlet="Example Wire",
        published=NOW - timedelta(hours=20),
    )
    new, _ = ingest_article(storage, Extractor(registry), article, NOW - timedelta(hours=2))
    assert new > 0
    since = NOW - timedelta(days=1)
    digest = build_digest(storage.statements_seen(None, since, NOW), registry, since=since, until=NOW)
    title = "Leaders' statements — Sat 15 Oct 2022"
    telegram = html_parts(render.telegram_html(digest, title=title, tz="UTC"))
    slack = [{**m, "plain": slack_plain(m)} for m in render.slack_messages(digest, title=title, tz="UTC")]
    return Expected(telegram, slack)


def enqueue(storage: Storage, platform: str, chats: list[str], parts: list[dict[str, Any]]) -> list[int]:
    """Subscribe each chat and record its digest in the outbox (what planning does when due)."""
    payload = json.dumps({"parts": parts}, ensure_ascii=False)
    ids = []
    with storage.transaction():
        for chat in chats:
            sub = storage.upsert_subscription(
                platform,
                chat,
                leaders=None,
                time="08:00",
                timezone="UTC",
                now=NOW - timedelta(days=2),
                default_time="08:00",
                default_timezone="UTC",
            )
            assert sub.id is not None
            item = storage.enqueue_digest(
                sub.id,
                day=DAY,
                window_start=NOW - timedelta(days=1),
                window_end=NOW,
                payload=payload,
                now=NOW,
            )
            assert item is not None
            ids.append(item)
    return ids


async def test_fan_out_under_faults_delivers_every_digest_once_outside_the_ambiguous_case(
    telegram: FakeTelegram, slack: FakeSlack, storage: Storage, registry: Registry
) -> None:
    expected = digest_parts(storage, registry)
    tg_chats = telegram_chats()
    for chat in tg_chats:
        telegram.add_chat(chat)
    for channel in slack_channels():
        slack.add_channel(channel, channel.lower())
    outbox = enqueue(storage, "telegram", [str(c) for c in tg_chats], expected.telegram)
    outbox += enqueue(storage, "slack", slack_channels(), expected.slack)
    assert len(outbox) == len(tg_chats) + SLACK_CHANNELS >= 2_000

    telegram.faults(rate=FAULT_RATE, kinds=TELEGRAM_FAULTS, seed=8, retry_after=1)
    slack.faults(rate=FAULT_RATE, kinds=SLACK_FAULTS, seed=8)
    timeouts = Timeouts(connect=2.0, read=CLIENT_TIMEOUT, write=2.0, pool=5.0)
    pacers: dict[str, Pacer] = {"telegram": telegram_pacer(TELEGRAM_PACER_RATE), "slack": slack_pacer()}
    async with make_bot(TOKEN, telegram.api_root, timeouts=timeouts) as bot:
        senders: dict[str, Any] = {
            "telegram": TelegramSender(bot),
            "slack": SlackSender(slack.bot_token, api_url=slack.api_url, timeout=CLIENT_TIMEOUT),
        }
        delivery = Delivery(
            storage,
            senders,
            pacers,
            clock=lambda: NOW,
            sleep=short,
            backoff_base=SHORT_SLEEP,
            backoff_cap=SHORT_SLEEP,
        )
        reports: list[DeliveryReport] = []
        for _ in range(MAX_ROUNDS):
            reports.append(await delivery.deliver_pending())
            if storage.outbox_backlog() == 0:
                break

    # Nothing left pending; every item marked sent with one message id per part.
    assert storage.outbox_backlog() == 0, f"still pending after {len(reports)} rounds: {reports}"
    for outbox_id in outbox:
        item = storage.outbox_item(outbox_id)
        assert item is not None and item.status == "sent", item
        wanted = expected.telegram if item.platform == "telegram" else expected.slack
        assert len(item.message_ids) == len(wanted)
    assert sum(r.sent for r in reports) == len(outbox)
    assert sum(r.gone + r.failed for r in reports) == 0

    # Every fault kind happened, on both platforms; the bot saw the ambiguous ones as such.
    assert set(telegram.injected) == set(TELEGRAM_FAULTS), telegram.injected
    assert set(slack.faults_injected) == set(SLACK_FAULTS), slack.faults_injected
    assert sum(r.ambiguous for r in reports) >= sum(
        n for kind, n in telegram.injected.items() if kind in AMBIGUOUS
    ) + sum(n for kind, n in slack.faults_injected.items() if kind in AMBIGUOUS)

    # Telegram: per chat, each part exactly once confirmed; any other copy was ambiguous.
    parts = Counter(p["html"] for p in expected.telegram)
    duplicates = 0
    for chat in tg_chats:
        messages = telegram.messages_to(chat)
        confirmed = Counter(m.raw_text for m in messages if m.fault is None)
        copies = [m for m in messages if m.fault is not None]
        assert confirmed == parts, f"chat {chat}: {len(messages)} messages, {confirmed.total()} confirmed"
        assert all(m.fault in AMBIGUOUS and m.raw_text in parts for m in copies), chat
        duplicates += len(copies)
    assert duplicates == sum(1 for m in telegram.sent if m.fault in AMBIGUOUS)
    assert duplicates > 0  # the ambiguous case did happen, and was retried

    # Slack: per channel, messages = each part once + one per call the fake answered ambiguously.
    slack_parts = Counter(p["text"] for p in expected.slack)
    ambiguous_calls = Counter(
        (c.params.get("channel"), c.params.get("text"))
        for c in slack.calls_to("chat.postMessage")
        if c.fault in AMBIGUOUS and c.status == 200
    )
    for channel in slack_channels():
        delivered = Counter(m.text for m in slack.messages_to(channel))
        extra = Counter({text: n for (ch, text), n in ambiguous_calls.items() if ch == channel})
        assert delivered - extra == slack_parts, channel
        assert delivered == slack_parts + extra, channel
    assert ambiguous_calls.total() > 0

    # No 429 came from the enforced limits: each one was injected.
    assert telegram.limit_429s == 0
    assert telegram.rate_limited == telegram.injected["429"]
    assert slack.rate_limited == slack.faults_injected["429"]
    # Nothing was refused as malformed on the way.
    assert telegram.status_counts[400] == 0
    assert not [c for c in slack.calls if c.status == 200 and c.error is not None]
