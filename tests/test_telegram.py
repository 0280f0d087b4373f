"""The Telegram adapter end to end: the real bot (python-telegram-bot, SQLite file, shipped config)
polling the fake Bot API on loopback, and digest delivery through TelegramSender.

Updates reach the bot through getUpdates and replies leave through sendMessage, exactly as with
Telegram; the fake enforces Telegram's rate limits and HTML rules, so a reply or digest it would
refuse shows up as a failed assertion on its error counters.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.commands import Commands
from bot.delivery import (
    ChatGone,
    ChatMoved,
    Delivery,
    MarkupRejected,
    RateLimited,
    Rejected,
    Transient,
    telegram_pacer,
)
from bot.telegram_chat import (
    TelegramChat,
    TelegramSender,
    Timeouts,
    html_parts,
    make_bot,
    plain_from_html,
)
from digests import render
from digests.config import Config, load_config
from digests.digest import build_digest
from digests.extract import Extractor
from digests.leaders import Registry
from digests.models import Statement, StatementSource
from digests.pipeline import article_from_document, ingest_article
from digests.storage import Storage
from tests.fakes.telegram import FakeTelegram, SentMessage, utf16_len

# PTB reads the deprecated int form of RetryAfter.retry_after itself when it builds the exception.
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")

TOKEN = "123456789:TEST-fake-token"
BOT_NAME = "digest_test_bot"
ALICE = 1001  # a private chat's id is its user's id
BOB = 1002
CAROL = 1003
GROUP = -4001
SUPERGROUP = -1001234567890
CHANNEL = -1009876543210
SEED = Path("tests/fixtures/articles/seed-putin-astana.txt")
SEED_URL = "https://news.example.org/2022/10/14/putin-astana-press-conference"
SEED_OUTLET = "Example Wire"
FAST = Timeouts(connect=2.0, read=3.0, write=3.0, pool=2.0)
REPLY_WAIT = 10.0
EVERY_COMMAND = {
    "start",
    "help",
    "subscribe",
    "unsubscribe",
    "subscriptions",
    "latest",
    "leaders",
    "digest",
    "sources",
}
ADMINS_ONLY = "Only chat admins can change this chat's subscription."


# ------------------------------------------------------------------------------------------------
# Fixtures and helpers


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(Path("config"))


@pytest.fixture(scope="module")
def registry(config: Config) -> Registry:
    return Registry(config.leaders)


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    db = Storage(tmp_path / "digestbot.db")
    yield db
    db.close()


def now() -> datetime:
    return datetime.now(UTC)


def ingest_seed(storage: Storage, registry: Registry) -> int:
    """The seed article (published 2022-10-14), first seen five minutes ago."""
    article = article_from_document(
        SEED.read_text(encoding="utf-8"),
        url=SEED_URL,
        outlet=SEED_OUTLET,
        published=datetime(2022, 10, 14, 12, 0, tzinfo=UTC),
    )
    new, _merged = ingest_article(storage, Extractor(registry), article, now() - timedelta(minutes=5))
    assert new > 0
    return new


def add_chats(fake: FakeTelegram) -> None:
    fake.add_chat(ALICE)
    fake.add_chat(BOB)
    fake.add_chat(CAROL)
    fake.add_chat(GROUP, "group", title="Leaders watch", members={ALICE: "creator", BOB: "member"})
    fake.add_chat(SUPERGROUP, title="Big group", members={ALICE: "administrator"})
    fake.add_chat(CHANNEL, "channel", title="Digest channel", username="digestchan")


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN, bot_username=BOT_NAME, enforce_limits=True) as server:
        add_chats(server)
        yield server


def make_commands(storage: Storage, registry: Registry) -> Commands:
    return Commands(storage, registry, default_time="08:00", default_timezone="UTC", clock=now)


@asynccontextmanager
async def running_chat(
    fake: FakeTelegram, storage: Storage, registry: Registry, commands: Commands | None = None
) -> AsyncIterator[TelegramChat]:
    """A TelegramChat polling ``fake`` (fast timeouts), stopped on the way out."""
    chat = TelegramChat(
        fake.token,
        fake.api_root,
        commands or make_commands(storage, registry),
        storage,
        registry,
        pacer=telegram_pacer(),
        timeouts=FAST,
        poll_timeout=1.0,
    )
    await chat.start()
    try:
        await fake.wait_for_poller()
        yield chat
    finally:
        await chat.stop()


@pytest.fixture
async def tg(fake: FakeTelegram, storage: Storage, registry: Registry) -> AsyncIterator[TelegramChat]:
    async with running_chat(fake, storage, registry) as chat:
        yield chat


async def ask(fake: FakeTelegram, chat_id: int, text: str, *, user: int | None = None) -> SentMessage:
    """Write a command in a chat and return the bot's (first) answer."""
    before = len(fake.messages_to(chat_id))
    fake.send_command(chat_id, text, from_user_id=user)
    return (await fake.wait_for_messages(chat_id, before + 1, timeout=REPLY_WAIT))[before]


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def send_calls(fake: FakeTelegram, chat_id: int) -> list[Any]:
    return [c for c in fake.calls_to("sendMessage") if str(c.params.get("chat_id")) == str(chat_id)]


def assert_clean(fake: FakeTelegram) -> None:
    """The fake refused nothing: no bad request, no rate-limit breach, no 5xx."""
    assert fake.status_counts[400] == 0, [c.description for c in fake.calls if c.status == 400]
    assert fake.limit_429s == 0
    assert fake.errors == fake.rate_limited - fake.limit_429s == fake.injected["flood"]


def assert_reply_style(message: SentMessage) -> None:
    assert message.parse_mode == "HTML"
    assert message.link_preview_disabled


# ------------------------------------------------------------------------------------------------
# Commands


async def test_set_my_commands_registers_every_command(fake: FakeTelegram, tg: TelegramChat) -> None:
    registered = {c["command"]: c["description"] for c in fake.my_commands}
    assert set(registered) == EVERY_COMMAND
    assert all(description.strip() for description in registered.values())
    assert tg.bot_username == BOT_NAME


async def test_private_subscribe_show_and_unsubscribe(
    fake: FakeTelegram, tg: TelegramChat, storage: Storage
) -> None:
    reply = await ask(fake, ALICE, "/subscribe putin zelensky at 07:30 Europe/Kyiv")
    assert_reply_style(reply)
    for expected in ("Subscribed", "Vladimir Putin", "Volodymyr Zelensky", "07:30", "Europe/Kyiv"):
        assert expected in reply.text
    sub = storage.subscription("telegram", str(ALICE))
    assert sub is not None and sub.active
    assert (sub.leaders, sub.time, sub.timezone) == (("putin", "zelensky"), "07:30", "Europe/Kyiv")

    shown = await ask(fake, ALICE, "/subscriptions")
    assert "07:30 Europe/Kyiv" in shown.text and "Last digest: none yet" in shown.text

    removed = await ask(fake, ALICE, "/unsubscribe putin")
    assert "Removed" in removed.text and "Volodymyr Zelensky" in removed.text
    sub = storage.subscription("telegram", str(ALICE))
    assert sub is not None and sub.leaders == ("zelensky",)

    gone = await ask(fake, ALICE, "/unsubscribe")
    assert "Unsubscribed" in gone.text
    assert storage.subscription("telegram", str(ALICE)) is None
    assert_clean(fake)


async def test_group_subscription_needs_an_admin(
    fake: FakeTelegram, tg: TelegramChat, storage: Storage
) -> None:
    refused = await ask(fake, GROUP, "/subscribe putin", user=BOB)
    assert refused.text == ADMINS_ONLY
    assert storage.subscription("telegram", str(GROUP)) is None

    accepted = await ask(fake, GROUP, "/subscribe putin at 06:00", user=ALICE)
    assert (
        "Subscribed" in accepted.text and "Vladimir Putin" in accepted.text and "06:00 UTC" in accepted.text
    )
    sub = storage.subscription("telegram", str(GROUP))
    assert sub is not None and sub.leaders == ("putin",)
    assert len(fake.calls_to("getChatMember")) == 2
    assert_clean(fake)


async def test_channel_post_subscribes_the_channel(
    fake: FakeTelegram, tg: TelegramChat, storage: Storage
) -> None:
    reply = await ask(fake, CHANNEL, "/subscribe xi at 09:00 Asia/Shanghai")
    assert "Subscribed" in reply.text and "Xi Jinping" in reply.text and "09:00 Asia/Shanghai" in reply.text
    sub = storage.subscription("telegram", str(CHANNEL))
    assert sub is not None and sub.leaders == ("xi",) and sub.timezone == "Asia/Shanghai"
    assert_clean(fake)


async def test_latest_lists_statements_with_outlet_and_link(
    fake: FakeTelegram, tg: TelegramChat, storage: Storage, registry: Registry
) -> None:
    ingest_seed(storage, registry)
    reply = await ask(fake, BOB, "/latest putin")
    assert_reply_style(reply)
    assert "Vladimir Putin" in reply.text and "latest 5 statements" in reply.text
    assert SEED_OUTLET in reply.text and "• 14 Oct — " in reply.text
    links = [e["url"] for e in reply.entities if e["type"] == "text_link"]
    assert links and all(url == SEED_URL for url in links)
    newest = storage.latest("putin", 5)
    assert " ".join(newest[0].text.split())[:40] in reply.text

    suggestion = await ask(fake, BOB, "/latest puttin")
    assert "Did you mean putin?" in suggestion.text
    assert "\n" not in suggestion.text
    assert_clean(fake)


async def test_commands_addressed_to_bots_in_a_group(
    fake: FakeTelegram, tg: TelegramChat, storage: Storage, registry: Registry
) -> None:
    ingest_seed(storage, registry)
    fake.send_command(SUPERGROUP, "/latest@other_bot putin")
    fake.send_command(SUPERGROUP, "/foo@other_bot")
    reply = await ask(fake, SUPERGROUP, f"/latest@{BOT_NAME} putin")
    assert "Vladimir Putin" in reply.text and SEED_OUTLET in reply.text
    hint = await ask(fake, SUPERGROUP, f"/foo@{BOT_NAME}")
    assert "Unknown command /foo" in hint.text and "/help" in hint.text
    # The same chat's updates are handled in order, so the other bot's commands were seen first.
    assert len(fake.messages_to(SUPERGROUP)) == 2
    assert_clean(fake)


async def test_every_other_command_answers(
    fake: FakeTelegram, tg: TelegramChat, storage: Storage, registry: Registry, config: Config
) -> None:
    ingest_seed(storage, registry)
    storage.sync_sources(config.sources)
    asked = {
        "/help": 2001,
        "/start": 2002,
        "/leaders": 2003,
        "/digest": 2004,
        "/sources": 2005,
        "/foo": 2006,
        "/subscribe at 25:00": 2007,
        "/subscribe at 07:00 Mars/Olympus": 2008,
        "/latest": 2009,
    }
    for text, user in asked.items():  # one chat each: the answers come in parallel
        fake.add_chat(user)
        fake.send_command(user, text)
    answers = {
        text: (await fake.wait_for_messages(user, 1, timeout=REPLY_WAIT))[0].text
        for text, user in asked.items()
    }

    for command in (
        "/subscribe",
        "/unsubscribe",
        "/subscriptions",
        "/latest",
        "/leaders",
        "/digest",
        "/sources",
    ):
        assert command in answers["/help"]
    assert "Examples" in answers["/help"] and answers["/start"] == answers["/help"]
    assert "putin — Vladimir Putin" in answers["/leaders"]
    assert len(answers["/leaders"].splitlines()) > 40
    assert answers["/digest"].startswith("Digest preview") and "Vladimir Putin" in answers["/digest"]
    assert "kremlin — President of Russia" in answers["/sources"] and "not polled yet" in answers["/sources"]
    assert "Unknown command /foo" in answers["/foo"] and "/help" in answers["/foo"]
    assert "Bad time" in answers["/subscribe at 25:00"] and "HH:MM" in answers["/subscribe at 25:00"]
    zone = answers["/subscribe at 07:00 Mars/Olympus"]
    assert "Unknown time zone" in zone and "Mars/Olympus" in zone and "Europe/Kyiv" in zone
    assert "Which leader?" in answers["/latest"]
    for hint in ("/foo", "/subscribe at 25:00", "/subscribe at 07:00 Mars/Olympus", "/latest"):
        assert "\n" not in answers[hint], hint
    assert (
        storage.subscription("telegram", "2007") is None and storage.subscription("telegram", "2008") is None
    )
    assert_clean(fake)


async def test_bot_removed_deactivates_and_added_back_reactivates(
    fake: FakeTelegram, tg: TelegramChat, storage: Storage
) -> None:
    await ask(fake, GROUP, "/subscribe putin zelensky", user=ALICE)
    await ask(fake, CAROL, "/subscribe")

    fake.my_chat_member(GROUP, "member", "kicked", from_user_id=ALICE)
    fake.my_chat_member(CAROL, "member", "kicked")

    def active(chat_id: int) -> bool | None:
        sub = storage.subscription("telegram", str(chat_id))
        return None if sub is None else sub.active

    await eventually(lambda: active(GROUP) is False and active(CAROL) is False)

    fake.my_chat_member(GROUP, "kicked", "administrator", from_user_id=ALICE)
    await eventually(lambda: active(GROUP) is True)
    sub = storage.subscription("telegram", str(GROUP))
    assert sub is not None and sub.leaders == ("putin", "zelensky")
    assert active(CAROL) is False
    assert_clean(fake)


async def test_group_migration_moves_the_subscription(
    fake: FakeTelegram, tg: TelegramChat, storage: Storage
) -> None:
    await ask(fake, GROUP, "/subscribe putin at 07:15", user=ALICE)
    new = fake.migrate(GROUP).id
    fake.push_update(
        {
            "message": {
                "message_id": 500,
                "date": int(time.time()),
                "chat": fake.chat(GROUP).to_api(),
                "from": fake.user(ALICE),
                "migrate_to_chat_id": new,
            }
        }
    )
    await eventually(lambda: storage.subscription("telegram", str(new)) is not None)
    assert storage.subscription("telegram", str(GROUP)) is None
    shown = await ask(fake, new, "/subscriptions", user=ALICE)
    assert "Vladimir Putin" in shown.text and "07:15 UTC" in shown.text
    assert_clean(fake)


async def test_rate_limited_reply_is_waited_and_retried(fake: FakeTelegram, tg: TelegramChat) -> None:
    fake.flood(1, retry_after=1, methods=["sendMessage"])
    started = time.monotonic()
    reply = await ask(fake, BOB, "/help")
    assert "Commands:" in reply.text
    assert time.monotonic() - started >= 0.9
    assert [c.status for c in send_calls(fake, BOB)] == [429, 200]
    assert len(fake.messages_to(BOB)) == 1


async def test_rejected_markup_is_resent_as_plain_text(fake: FakeTelegram, tg: TelegramChat) -> None:
    ids = await tg.post(str(ALICE), [{"html": "<b>Nothing new & quiet", "plain": "Nothing new & quiet"}])
    assert len(ids) == 1
    [message] = fake.messages_to(ALICE)
    assert message.text == "Nothing new & quiet" and message.parse_mode is None
    assert message.link_preview_disabled
    assert [c.status for c in send_calls(fake, ALICE)] == [400, 200]


async def test_logs_name_the_command_never_the_token(
    fake: FakeTelegram, storage: Storage, registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    # At INFO, the level the bot runs at (python-telegram-bot's own DEBUG lines show its base URL,
    # token included; bot.logs redacts those when debugging is on).
    levels = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    caplog.set_level(logging.INFO)
    for name in levels:  # as if nobody had configured logging: the adapter must still quiet httpx
        logging.getLogger(name).setLevel(logging.NOTSET)
    try:
        async with running_chat(fake, storage, registry):
            await ask(fake, ALICE, "/leaders")
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
    assert any("chat 1001 (private) /leaders" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN.split(":")[1] not in record.getMessage()


# ------------------------------------------------------------------------------------------------
# Delivery through TelegramSender


@pytest.fixture
async def sender(fake: FakeTelegram) -> AsyncIterator[TelegramSender]:
    async with make_bot(TOKEN, fake.api_root, timeouts=FAST) as bot:
        yield TelegramSender(bot)


def make_delivery(storage: Storage, sender: TelegramSender) -> Delivery:
    return Delivery(
        storage,
        {"telegram": sender},
        {"telegram": telegram_pacer()},
        clock=now,
        backoff_base=0.01,
        backoff_cap=0.1,
    )


def subscribe(storage: Storage, *chats: int) -> dict[int, int]:
    ids = {}
    for chat in chats:
        sub = storage.upsert_subscription(
            "telegram",
            str(chat),
            leaders=[],
            time="08:00",
            timezone="UTC",
            now=now(),
            default_time="08:00",
            default_timezone="UTC",
        )
        assert sub.id is not None
        ids[chat] = sub.id
    return ids


def enqueue(storage: Storage, subscription_ids: dict[int, int], parts: list[dict[str, str]]) -> list[int]:
    until = now()
    outbox = []
    for sub_id in subscription_ids.values():
        item = storage.enqueue_digest(
            sub_id,
            day="2022-10-15",
            window_start=until - timedelta(days=1),
            window_end=until,
            payload=json.dumps({"parts": parts}),
            now=until,
        )
        assert item is not None
        outbox.append(item)
    return outbox


def seed_parts(storage: Storage, registry: Registry) -> list[dict[str, str]]:
    ingest_seed(storage, registry)
    until = now()
    since = until - timedelta(days=1)
    digest = build_digest(storage.statements_seen(None, since, until), registry, since=since, until=until)
    assert not digest.empty
    return html_parts(render.telegram_html(digest, title="Leaders' statements — Sat 15 Oct 2022", tz="UTC"))


async def test_due_digest_reaches_every_subscribed_chat_once(
    fake: FakeTelegram, sender: TelegramSender, storage: Storage, registry: Registry
) -> None:
    parts = seed_parts(storage, registry)
    chats = (ALICE, BOB, GROUP, SUPERGROUP, CHANNEL)
    outbox = enqueue(storage, subscribe(storage, *chats), parts)
    delivery = make_delivery(storage, sender)

    report = await delivery.deliver_pending()
    assert report.sent == len(chats) and report.failed == report.gone == report.pending == 0
    for chat in chats:
        messages = fake.messages_to(chat)
        assert [m.raw_text for m in messages] == [p["html"] for p in parts]
        assert all(m.parse_mode == "HTML" and m.link_preview_disabled for m in messages)
        assert "Vladimir Putin" in messages[0].text and SEED_OUTLET in messages[0].text
    for outbox_id in outbox:
        item = storage.outbox_item(outbox_id)
        assert item is not None and item.status == "sent" and len(item.message_ids) == len(parts)

    calls = len(fake.calls_to("sendMessage"))
    again = await delivery.deliver_pending()
    assert again.sent == 0 and len(fake.calls_to("sendMessage")) == calls
    assert_clean(fake)


async def test_flood_is_waited_out_and_delivered_once(
    fake: FakeTelegram, sender: TelegramSender, storage: Storage, registry: Registry
) -> None:
    parts = seed_parts(storage, registry)
    enqueue(storage, subscribe(storage, ALICE), parts)
    fake.flood(1, retry_after=1, methods=["sendMessage"])
    report = await make_delivery(storage, sender).deliver_pending()
    assert report.sent == 1 and report.rate_limited == 1
    assert len(fake.messages_to(ALICE)) == len(parts)
    assert [c.status for c in send_calls(fake, ALICE)] == [429] + [200] * len(parts)
    assert fake.limit_429s == 0 and fake.status_counts[400] == 0


async def test_blocked_chat_is_deactivated_not_retried(
    fake: FakeTelegram, sender: TelegramSender, storage: Storage, registry: Registry
) -> None:
    parts = seed_parts(storage, registry)
    [outbox_id] = enqueue(storage, subscribe(storage, BOB), parts)
    fake.block(BOB)
    delivery = make_delivery(storage, sender)
    report = await delivery.deliver_pending()
    assert report.gone == 1 and report.sent == 0
    sub = storage.subscription("telegram", str(BOB))
    assert sub is not None and not sub.active
    item = storage.outbox_item(outbox_id)
    assert item is not None and item.status == "failed"
    await delivery.deliver_pending()
    assert [c.status for c in send_calls(fake, BOB)] == [403]
    assert fake.messages_to(BOB) == []


async def test_migrated_group_gets_the_digest_at_its_new_id(
    fake: FakeTelegram, sender: TelegramSender, storage: Storage, registry: Registry
) -> None:
    parts = seed_parts(storage, registry)
    enqueue(storage, subscribe(storage, GROUP), parts)
    new = fake.migrate(GROUP).id
    report = await make_delivery(storage, sender).deliver_pending()
    assert report.sent == 1
    assert [m.raw_text for m in fake.messages_to(new)] == [p["html"] for p in parts]
    assert storage.subscription("telegram", str(GROUP)) is None
    moved = storage.subscription("telegram", str(new))
    assert moved is not None and moved.active


def long_statements(count: int) -> list[Statement]:
    seen = now() - timedelta(minutes=30)
    statements = []
    for i in range(count):
        leader = ("putin", "zelensky", "macron")[i % 3]
        text = (
            f"Statement {i} <about> the talks & the front: " + "we will keep working on this plan " * 12
        ).strip()
        url = f"https://news.example.org/{leader}/{i}?a=1&b=2"
        statements.append(
            Statement(
                id=i + 1,
                leader=leader,
                kind="direct" if i % 2 else "indirect",
                text=text,
                sentence=text,
                url=url,
                title=f"Report {i}",
                outlet="Example Wire",
                published=seen - timedelta(minutes=i),
                first_seen=seen,
                sources=(
                    StatementSource("Example Wire", url, f"Report {i}", seen),
                    StatementSource("Other Daily", url + "&o", f"Report {i}", seen),
                ),
            )
        )
    return statements


async def test_long_digest_is_split_into_valid_messages(
    fake: FakeTelegram, sender: TelegramSender, storage: Storage, registry: Registry
) -> None:
    until = now()
    digest = build_digest(long_statements(24), registry, since=until - timedelta(days=1), until=until, cap=10)
    parts = html_parts(render.telegram_html(digest, title="A long day", tz="Europe/Kyiv"))
    assert len(parts) >= 3
    assert sum(utf16_len(p["html"]) for p in parts) > 3 * 4096 - 4096
    [outbox_id] = enqueue(storage, subscribe(storage, SUPERGROUP), parts)

    report = await make_delivery(storage, sender).deliver_pending()
    assert report.sent == 1
    messages = fake.messages_to(SUPERGROUP)
    assert len(messages) == len(parts)
    assert all(utf16_len(m.text) <= 4096 for m in messages)
    assert "<about>" in messages[0].text or "<about>" in messages[1].text  # escaped, shown as written
    item = storage.outbox_item(outbox_id)
    assert item is not None and item.status == "sent" and len(item.message_ids) == len(parts)
    assert_clean(fake)


async def test_rejected_digest_markup_is_resent_as_plain(
    fake: FakeTelegram, sender: TelegramSender, storage: Storage
) -> None:
    parts = [{"html": "<b>Daily digest</b>\n<i>broken", "plain": "Daily digest\nbroken"}]
    [outbox_id] = enqueue(storage, subscribe(storage, CAROL), parts)
    report = await make_delivery(storage, sender).deliver_pending()
    assert report.sent == 1
    [message] = fake.messages_to(CAROL)
    assert message.text == "Daily digest\nbroken" and message.parse_mode is None
    assert [c.status for c in send_calls(fake, CAROL)] == [400, 200]
    item = storage.outbox_item(outbox_id)
    assert item is not None and item.status == "sent"


async def test_faults_on_a_third_of_sends_still_deliver_every_digest_once(
    fake: FakeTelegram, sender: TelegramSender, storage: Storage, registry: Registry
) -> None:
    parts = seed_parts(storage, registry)
    chats = (ALICE, BOB, CAROL, GROUP, SUPERGROUP, CHANNEL)
    enqueue(storage, subscribe(storage, *chats), parts)
    fake.faults(rate=0.3, kinds=("429", "500", "502", "reset"), seed=7, retry_after=1)
    delivery = make_delivery(storage, sender)
    for _ in range(5):
        await delivery.deliver_pending()
        if storage.outbox_backlog() == 0:
            break
    assert storage.outbox_backlog() == 0
    for chat in chats:
        assert [m.raw_text for m in fake.messages_to(chat)] == [p["html"] for p in parts]
    assert sum(fake.injected.values()) > 0
    assert fake.limit_429s == 0 and fake.status_counts[400] == 0


# ------------------------------------------------------------------------------------------------
# TelegramSender's error mapping, call by call


async def test_sender_maps_bot_api_errors(fake: FakeTelegram, sender: TelegramSender) -> None:
    part = {"html": "<b>hello</b>", "plain": "hello"}
    assert await sender.send(str(ALICE), part) == "1"
    assert sender.is_group(str(GROUP)) and sender.is_group(str(CHANNEL)) and not sender.is_group(str(ALICE))

    fake.flood(1, retry_after=2)
    with pytest.raises(RateLimited) as limited:
        await sender.send(str(BOB), part)
    assert limited.value.retry_after == 2.0

    with pytest.raises(ChatGone, match="(?i)chat not found"):
        await sender.send("424242", part)
    fake.kick(GROUP)
    with pytest.raises(ChatGone, match="kicked"):
        await sender.send(str(GROUP), part)
    fake.add_chat(-4002, "group")
    moved_to = fake.migrate(-4002).id
    with pytest.raises(ChatMoved) as moved:
        await sender.send("-4002", part)
    assert moved.value.new_chat_id == str(moved_to)

    with pytest.raises(MarkupRejected):
        await sender.send(str(CAROL), {"html": "<b>open", "plain": "open"})
    with pytest.raises(Rejected):
        await sender.send(str(CAROL), {"html": "x" * 5000})

    for kind, ambiguous in (("500", False), ("502", False), ("reset", True)):
        fake.faults(rate=1.0, kinds=(kind,))
        before = len(send_calls(fake, CHANNEL))
        with pytest.raises(Transient) as failed:
            await sender.send(str(CHANNEL), part)
        assert failed.value.ambiguous is ambiguous, kind
        # One request per send: python-telegram-bot retried nothing behind delivery's back.
        assert len(send_calls(fake, CHANNEL)) == before + 1, kind
    fake.faults(rate=0)
    assert fake.messages_to(CHANNEL) == []


async def test_sender_timeouts_and_refused_connections(fake: FakeTelegram) -> None:
    fake.faults(rate=1.0, kinds=("slow",), slow_delay=1.0)
    async with make_bot(
        TOKEN, fake.api_root, timeouts=Timeouts(connect=1.0, read=0.3, write=1.0, pool=1.0)
    ) as bot:
        with pytest.raises(Transient) as slow:
            await TelegramSender(bot).send(str(ALICE), {"html": "late"})
    assert slow.value.ambiguous  # the fake delivered it: a retry may duplicate (documented)
    await fake.wait_for_messages(ALICE, 1)

    async with FakeTelegram(TOKEN) as other:
        other.add_chat(ALICE)
        bot = make_bot(TOKEN, other.api_root, timeouts=FAST)
        await bot.initialize()
    try:
        with pytest.raises(Transient) as refused:
            await TelegramSender(bot).send(str(ALICE), {"text": "nobody listens"})
        assert not refused.value.ambiguous
    finally:
        await bot.shutdown()


def test_plain_twin_of_html_is_never_longer() -> None:
    chunk = (
        '<b>Putin</b> — “a &amp; b &lt;c&gt;”\n    <a href="https://x.example/?a=1&amp;b=2">Example Wire</a>'
    )
    plain = plain_from_html(chunk)
    assert plain == "Putin — “a & b <c>”\n    Example Wire (https://x.example/?a=1&b=2)"
    assert utf16_len(plain) <= utf16_len(chunk)
