"""The Slack adapter end to end: real slack_bolt and slack_sdk against FakeSlack, real SQLite.

Socket Mode and HTTP mode each answer the whole command set, mentions and DMs; HTTP mode turns
away forged and stale requests; SlackSender with bot.delivery brings a due digest to every
subscribed channel once, waits out rate limits, and deactivates subscriptions of gone channels.
No mocks: every reply is read back from what the fake Slack recorded.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.commands import Commands
from bot.delivery import (
    ChatGone,
    Delivery,
    MarkupRejected,
    RateLimited,
    Rejected,
    SendError,
    Transient,
    slack_pacer,
)
from bot.slack_chat import SlackChat, SlackSender, strip_mention
from digests import render
from digests.config import Config, load_config
from digests.digest import build_digest
from digests.extract import Extractor
from digests.leaders import Registry
from digests.models import Leader, Statement
from digests.pipeline import article_from_document, ingest_article
from digests.storage import Storage
from tests.fakes.slack import (
    FORM_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    FakeSlack,
    Response,
    event_body,
    post_signed,
    slash_command_body,
)

SEED = Path(__file__).parent / "fixtures" / "articles" / "seed-putin-astana.txt"
SEED_URL = "https://www.rt.com/russia/564700-putin-ukraine-peace-talks/"
PUBLISHED = datetime(2022, 10, 14, 12, 0, tzinfo=UTC)
INGESTED = datetime(2022, 10, 14, 18, 0, tzinfo=UTC)
NOW = datetime(2022, 10, 15, 9, 0, tzinfo=UTC)
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
GENERAL = "C0GENERAL"
NEWS = "C0NEWS"


# ------------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(Path("config"))


@pytest.fixture(scope="module")
def registry(config: Config) -> Registry:
    return Registry(config.leaders)


@pytest.fixture
def storage(tmp_path: Path, config: Config, registry: Registry) -> Storage:
    db = Storage(tmp_path / "bot.db")
    db.sync_sources(config.sources)
    article = article_from_document(
        SEED.read_text(encoding="utf-8"), url=SEED_URL, outlet="RT", published=PUBLISHED
    )
    new, _ = ingest_article(db, Extractor(registry), article, INGESTED)
    assert new > 0
    return db


def make_commands(storage: Storage, registry: Registry, **kwargs: Any) -> Commands:
    return Commands(storage, registry, clock=lambda: NOW, **kwargs)


@pytest.fixture
def commands(storage: Storage, registry: Registry) -> Commands:
    return make_commands(storage, registry)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as server:
        server.add_channel(NEWS, "news")
        server.add_channel("C0SPORT", "sport")
        yield server
        # Whatever a test did, the bot never sent Slack markup it rejected.
        rejected = [c for c in server.calls if c.error in ("invalid_blocks", "invalid_blocks_format")]
        assert rejected == [], rejected


async def started(bot: SlackChat, fake: FakeSlack) -> SlackChat:
    await bot.start()
    await fake.wait_connected()
    return bot


@pytest.fixture
async def socket_bot(fake: FakeSlack, commands: Commands) -> AsyncIterator[SlackChat]:
    bot = SlackChat(fake.bot_token, commands, app_token=fake.app_token, api_url=fake.api_url, ping_interval=1)
    await started(bot, fake)
    yield bot
    await bot.stop()
    await fake.wait_until(lambda: fake.live_connections == 0, 5, "the socket to close")


async def slash(
    fake: FakeSlack, command: str, text: str = "", *, channel: str = GENERAL, user: str | None = None
) -> Response:
    """Push a slash command; check it was acked within 3 s; return its response_url answer."""
    push = await fake.send_slash_command(command, text, channel_id=channel, user_id=user)
    ack = await fake.wait_for_ack(push.envelope_id, timeout=3)
    assert ack.latency is not None and ack.latency < 3.0
    return await response_to(fake, push.payload["response_url"])


async def response_to(fake: FakeSlack, response_url: str) -> Response:
    rid = response_url.rsplit("/", 1)[1]
    await fake.wait_until(
        lambda: any(r.response_id == rid for r in fake.responses), 5, f"a response to {rid}"
    )
    return next(r for r in fake.responses if r.response_id == rid)


def block_texts(blocks: Sequence[dict[str, Any]] | None) -> str:
    """Every text in a message's blocks, joined (sections, headers, context elements)."""
    out: list[str] = []
    for block in blocks or ():
        if isinstance(block.get("text"), dict):
            out.append(block["text"]["text"])
        for element in block.get("elements", ()):
            if isinstance(element, dict) and "text" in element:
                out.append(element["text"])
    return "\n".join(out)


# ------------------------------------------------------------------------------------------------
# Socket Mode: slash commands


async def test_subscribe_confirms_leaders_time_and_zone_in_channel(
    fake: FakeSlack, socket_bot: SlackChat, storage: Storage
) -> None:
    resp = await slash(fake, "/subscribe", "putin at 07:30 Europe/Kyiv")
    assert resp.response_type == "in_channel"
    assert resp.text is not None
    assert "Vladimir Putin" in resp.text and "07:30" in resp.text and "Europe/Kyiv" in resp.text
    sub = storage.subscription("slack", GENERAL)
    assert sub is not None and sub.active
    assert (sub.leaders, sub.time, sub.timezone) == (("putin",), "07:30", "Europe/Kyiv")


async def test_ack_comes_before_the_work(fake: FakeSlack, storage: Storage, registry: Registry) -> None:
    # The summary waits until the test has seen the ack: the ack can't depend on the work.
    release = asyncio.Event()

    async def summarise(leader: Leader, statements: Sequence[Statement]) -> str:
        await release.wait()
        return f"{leader.name} spoke about peace talks."

    commands = make_commands(storage, registry, summarise=summarise)
    bot = await started(
        SlackChat(fake.bot_token, commands, app_token=fake.app_token, api_url=fake.api_url, ping_interval=1),
        fake,
    )
    try:
        push = await fake.send_slash_command("/digest", "putin", channel_id=GENERAL)
        ack = await fake.wait_for_ack(push.envelope_id, timeout=3)
        assert ack.latency is not None and ack.latency < 3.0
        assert fake.responses == []  # the work is still blocked: the ack did not wait for it
        release.set()
        resp = await response_to(fake, push.payload["response_url"])
        assert resp.response_type == "in_channel"
        assert "Vladimir Putin spoke about peace talks." in block_texts(resp.blocks)
    finally:
        await bot.stop()


async def test_latest_lists_statements_with_outlet_and_link(fake: FakeSlack, socket_bot: SlackChat) -> None:
    resp = await slash(fake, "/latest", "putin")
    assert resp.response_type == "in_channel"
    assert resp.blocks is not None  # the fake accepted them: it answers invalid_blocks otherwise
    assert resp.blocks[0]["type"] == "header"
    assert resp.blocks[0]["text"]["text"] == "Vladimir Putin: latest 5 statements"
    sections = [b for b in resp.blocks if b["type"] == "section"]
    contexts = [b for b in resp.blocks if b["type"] == "context"]
    assert len(sections) == len(contexts) == 5
    for context in contexts:
        texts = [e["text"] for e in context["elements"]]
        assert "14 Oct" in texts and f"<{SEED_URL}|RT>" in texts
    assert "Putin" in (resp.text or "")


async def test_latest_with_a_typo_suggests_the_key_to_the_asker_only(
    fake: FakeSlack, socket_bot: SlackChat
) -> None:
    resp = await slash(fake, "/latest", "puttin")
    assert resp.response_type == "ephemeral"
    assert "Did you mean putin?" in (resp.text or "")
    assert fake.messages == []


async def test_every_other_command_answers(fake: FakeSlack, socket_bot: SlackChat, storage: Storage) -> None:
    none_yet = await slash(fake, "/subscriptions")
    assert "no subscription" in (none_yet.text or "")

    await slash(fake, "/subscribe", "putin zelensky at 07:30 Europe/Kyiv")
    subs = await slash(fake, "/subscriptions")
    assert subs.response_type == "in_channel"
    assert "Vladimir Putin" in (subs.text or "") and "Europe/Kyiv" in (subs.text or "")

    dropped = await slash(fake, "/unsubscribe", "putin")
    assert dropped.response_type == "in_channel" and "Removed" in (dropped.text or "")
    sub = storage.subscription("slack", GENERAL)
    assert sub is not None and sub.leaders == ("zelensky",)

    leaders = await slash(fake, "/leaders")
    assert "putin — Vladimir Putin" in (leaders.text or "") and leaders.response_type == "in_channel"

    digest = await slash(fake, "/digest", "putin")
    assert digest.response_type == "in_channel"
    assert digest.blocks is not None and digest.blocks[0]["text"]["text"] == "Digest preview"
    assert "*Vladimir Putin*" in block_texts(digest.blocks)

    sources = await slash(fake, "/sources")
    assert "kremlin" in (sources.text or "") and sources.response_type == "in_channel"

    help_ = await slash(fake, "/help")
    assert help_.response_type == "ephemeral"
    assert "/subscribe putin zelensky at 07:30 Europe/Kyiv" in (help_.text or "")

    gone = await slash(fake, "/unsubscribe")
    assert "Unsubscribed" in (gone.text or "") and storage.subscription("slack", GENERAL) is None
    assert fake.messages == []  # every answer went through the response_url


async def test_outside_text_cannot_ping_anyone(fake: FakeSlack, socket_bot: SlackChat) -> None:
    resp = await slash(fake, "/latest", "<!channel> <@U0BOB> @here")
    text = resp.text or ""
    assert resp.response_type == "ephemeral"
    assert "<!channel>" not in text and "<@U0BOB>" not in text and "@here" not in text
    assert "&lt;!channel&gt;" in text


async def test_command_prefix(fake: FakeSlack, commands: Commands) -> None:
    bot = await started(
        SlackChat(
            fake.bot_token,
            commands,
            app_token=fake.app_token,
            api_url=fake.api_url,
            command_prefix="sd-",
            ping_interval=1,
        ),
        fake,
    )
    try:
        assert bot.command_names[0] == "/sd-latest"
        latest = await slash(fake, "/sd-latest", "putin 2")
        assert latest.blocks is not None
        assert latest.blocks[0]["text"]["text"] == "Vladimir Putin: latest 2 statements"
        help_ = await slash(fake, "/sd-help")
        assert "/sd-subscribe putin zelensky at 07:30 Europe/Kyiv" in (help_.text or "")
        assert "/sd-latest" in (help_.text or "")
    finally:
        await bot.stop()


async def test_slash_command_in_a_dm_subscribes_the_dm(
    fake: FakeSlack, socket_bot: SlackChat, storage: Storage
) -> None:
    dm = fake.dm_channel_for("U0BOB")
    resp = await slash(fake, "/subscribe", "xi", channel=dm, user="U0BOB")
    assert "Xi Jinping" in (resp.text or "")
    sub = storage.subscription("slack", dm)
    assert sub is not None and sub.leaders == ("xi",)


# ------------------------------------------------------------------------------------------------
# Socket Mode: mentions and DMs


async def test_app_mention_is_answered_in_the_channel(fake: FakeSlack, socket_bot: SlackChat) -> None:
    push = await fake.send_app_mention("<@UBOT> latest putin", channel=NEWS)
    [message] = await fake.wait_for_messages(NEWS, 1)
    assert message.blocks is not None
    assert message.blocks[0]["text"]["text"] == "Vladimir Putin: latest 5 statements"
    assert f"<{SEED_URL}|RT>" in block_texts(message.blocks)
    assert message.params.get("unfurl_links") is False
    assert (await fake.wait_for_ack(push.envelope_id)).latency is not None


async def test_mention_errors_go_to_the_asker_only(fake: FakeSlack, socket_bot: SlackChat) -> None:
    await fake.send_app_mention("<@UBOT> latest puttin", channel=NEWS, user="U0BOB")
    [note] = await fake.wait_for_ephemeral(1)
    assert (note.channel, note.user) == (NEWS, "U0BOB")
    assert "Did you mean putin?" in (note.text or "")
    assert fake.messages_to(NEWS) == []


async def test_dm_help_is_answered_and_bot_messages_are_ignored(
    fake: FakeSlack, socket_bot: SlackChat
) -> None:
    dm = fake.dm_channel_for("U0BOB")
    # The bot's own message and an edit arrive as message events too: no answer to them.
    own = fake.dm_event("latest putin", user="UBOT", channel=dm)
    edited = {**fake.dm_event("latest putin", user="U0BOB"), "subtype": "message_changed"}
    bot_message = {**fake.dm_event("help", user="U0OTHERBOT"), "bot_id": "B0OTHER", "subtype": "bot_message"}
    for event in (own, edited, bot_message):
        await fake.push("events_api", fake.event_callback(event), accepts_response_payload=False)
    await fake.send_dm("help", user="U0BOB")
    [reply] = await fake.wait_for_messages(dm, 1)
    assert "/subscribe" in (reply.text or "") and "/latest" in (reply.text or "")
    await asyncio.sleep(0.3)
    assert len(fake.messages_to(dm)) == 1


def test_strip_mention() -> None:
    assert strip_mention("<@UBOT> latest putin", "UBOT") == "latest putin"
    assert strip_mention("hey <@UBOT|digestbot>: latest  putin", "UBOT").endswith("latest  putin")
    assert strip_mention("<@UBOT> latest &lt;x&gt; &amp;", None) == "latest <x> &"


async def test_one_log_line_per_command_and_no_tokens(
    fake: FakeSlack, socket_bot: SlackChat, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await slash(fake, "/leaders", channel=NEWS)
    await fake.wait_until(
        lambda: any("/leaders" in r.getMessage() for r in caplog.records), 2, "the log line"
    )
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.slack" and "/leaders" in r.getMessage()]
    assert len(lines) == 1 and NEWS in lines[0]
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert fake.bot_token not in everything and fake.app_token not in everything


# ------------------------------------------------------------------------------------------------
# HTTP mode


@pytest.fixture
async def http_bot(fake: FakeSlack, commands: Commands) -> AsyncIterator[str]:
    """The bot's POST /slack/events on a loopback aiohttp server (beside a /healthz); yields its URL."""
    bot = SlackChat(fake.bot_token, commands, signing_secret=SECRET, api_url=fake.api_url)
    assert bot.mode == "http"
    app = web.Application()

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.router.add_get("/healthz", healthz)
    bot.attach(app)
    await bot.start()
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/slack/events"
    finally:
        await bot.stop()
        await runner.cleanup()


async def test_http_signed_slash_command_works(fake: FakeSlack, http_bot: str, storage: Storage) -> None:
    payload = fake.slash_command_payload("/subscribe", "putin at 07:30 Europe/Kyiv")
    status, _ = await post_signed(
        http_bot, slash_command_body(payload), SECRET, content_type=FORM_CONTENT_TYPE
    )
    assert status == 200
    resp = await response_to(fake, payload["response_url"])
    assert resp.response_type == "in_channel" and "Europe/Kyiv" in (resp.text or "")
    sub = storage.subscription("slack", GENERAL)
    assert sub is not None and sub.leaders == ("putin",)


async def test_http_latest_and_mention(fake: FakeSlack, http_bot: str) -> None:
    payload = fake.slash_command_payload("/latest", "putin")
    status, _ = await post_signed(
        http_bot, slash_command_body(payload), SECRET, content_type=FORM_CONTENT_TYPE
    )
    assert status == 200
    resp = await response_to(fake, payload["response_url"])
    assert f"<{SEED_URL}|RT>" in block_texts(resp.blocks)

    mention = fake.event_callback(fake.app_mention_event("<@UBOT> latest putin 1", channel=NEWS))
    status, _ = await post_signed(http_bot, event_body(mention), SECRET, content_type=JSON_CONTENT_TYPE)
    assert status == 200
    [message] = await fake.wait_for_messages(NEWS, 1)
    assert (
        message.blocks is not None
        and message.blocks[0]["text"]["text"] == "Vladimir Putin: latest 1 statement"
    )


async def test_http_url_verification(http_bot: str) -> None:
    body = event_body(
        {
            "token": "x",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification",
        }
    )
    status, text = await post_signed(http_bot, body, SECRET, content_type=JSON_CONTENT_TYPE)
    assert status == 200 and "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in text


@pytest.mark.parametrize(
    ("secret", "age"),
    [("a-different-signing-secret", 0), (SECRET, 5 * 60 + 30)],
    ids=["bad-signature", "timestamp-older-than-5-minutes"],
)
async def test_http_rejects_forged_or_stale_requests(
    fake: FakeSlack, http_bot: str, storage: Storage, secret: str, age: int
) -> None:
    payload = fake.slash_command_payload("/subscribe", "putin at 07:30 Europe/Kyiv")
    status, _ = await post_signed(
        http_bot,
        slash_command_body(payload),
        secret,
        content_type=FORM_CONTENT_TYPE,
        timestamp=int(time.time()) - age,
    )
    assert status == 401
    mention = fake.event_callback(fake.app_mention_event("<@UBOT> latest putin", channel=NEWS))
    status, _ = await post_signed(
        http_bot,
        event_body(mention),
        secret,
        content_type=JSON_CONTENT_TYPE,
        timestamp=int(time.time()) - age,
    )
    assert status == 401
    await asyncio.sleep(0.3)  # anything started in the background would have posted by now
    assert storage.subscription("slack", GENERAL) is None
    assert fake.responses == [] and fake.messages == []


async def test_socket_mode_bot_serves_no_unsigned_http_endpoint(fake: FakeSlack, commands: Commands) -> None:
    # Both configured: Socket Mode wins, and Bolt's signature check is off, so HTTP must be closed.
    bot = SlackChat(
        fake.bot_token, commands, app_token=fake.app_token, signing_secret=SECRET, api_url=fake.api_url
    )
    assert bot.mode == "socket"
    app = web.Application()
    bot.attach(app)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
        payload = fake.slash_command_payload("/subscribe", "putin")
        status, _ = await post_signed(
            url, slash_command_body(payload), SECRET, content_type=FORM_CONTENT_TYPE
        )
        assert status == 404 and fake.responses == []
    finally:
        await runner.cleanup()


# ------------------------------------------------------------------------------------------------
# Delivery through SlackSender


class Sleeps:
    """Delivery's injectable sleep: records each wait and yields without waiting that long."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


def enqueue_digests(storage: Storage, registry: Registry, chats: Sequence[str]) -> list[dict[str, Any]]:
    """Subscribe each chat and queue today's digest for it (what the scheduler does when due)."""
    since, until = NOW - timedelta(hours=24), NOW
    digest = build_digest(storage.statements_seen(None, since, until), registry, since=since, until=until)
    parts = render.slack_messages(digest, tz="UTC")
    for chat in chats:
        sub = storage.upsert_subscription(
            "slack",
            chat,
            leaders=None,
            time="09:00",
            timezone="UTC",
            now=since,
            default_time="08:00",
            default_timezone="UTC",
        )
        assert sub.id is not None
        storage.enqueue_digest(
            sub.id,
            day="2022-10-15",
            window_start=since,
            window_end=until,
            payload=json.dumps({"parts": parts}),
            now=NOW,
        )
    return parts


def make_delivery(
    storage: Storage, fake: FakeSlack, sleeps: Callable[[float], Any], **kwargs: Any
) -> Delivery:
    sender = SlackSender(fake.bot_token, api_url=fake.api_url, timeout=kwargs.pop("timeout", 5.0))
    return Delivery(
        storage, {"slack": sender}, {"slack": slack_pacer()}, clock=lambda: NOW, sleep=sleeps, **kwargs
    )


def posts_to(fake: FakeSlack, channel: str) -> list[Any]:
    return [c for c in fake.calls_to("chat.postMessage") if c.params.get("channel") == channel]


async def test_due_digest_reaches_every_subscribed_channel_once(
    fake: FakeSlack, storage: Storage, registry: Registry
) -> None:
    dm = fake.dm_channel_for("U0BOB")
    chats = [GENERAL, NEWS, "C0SPORT", dm]
    parts = enqueue_digests(storage, registry, chats)
    assert len(parts) == 1
    delivery = make_delivery(storage, fake, Sleeps())

    report = await delivery.deliver_pending()
    again = await delivery.deliver_pending()

    assert (report.sent, again.sent) == (len(chats), 0)
    for chat in chats:
        [message] = fake.messages_to(chat)
        assert message.blocks == parts[0]["blocks"] and message.text == parts[0]["text"]
        assert message.params.get("unfurl_links") is False and message.params.get("unfurl_media") is False
        sub = storage.subscription("slack", chat)
        assert sub is not None and sub.id is not None and sub.last_digest_at == NOW
        [item] = storage.outbox_for(sub.id)
        assert item.status == "sent" and item.message_ids == (message.ts,)
    assert "Vladimir Putin" in block_texts(parts[0]["blocks"])


async def test_rate_limit_is_waited_out_and_the_digest_sent_once(
    fake: FakeSlack, storage: Storage, registry: Registry
) -> None:
    enqueue_digests(storage, registry, [NEWS])
    fake.flood(2, retry_after=3)
    sleeps = Sleeps()
    report = await make_delivery(storage, fake, sleeps).deliver_pending()
    assert report.sent == 1 and report.rate_limited == 2
    assert sleeps.waits == [3.0, 3.0]  # Slack's Retry-After, not a guess
    assert len(fake.messages_to(NEWS)) == 1
    assert [c.status for c in posts_to(fake, NEWS)] == [429, 429, 200]


async def test_server_errors_are_retried_until_delivered_once(
    fake: FakeSlack, storage: Storage, registry: Registry
) -> None:
    enqueue_digests(storage, registry, [NEWS])
    fake.fail_next(1, "500")
    fake.fail_next(1, "503")
    sleeps = Sleeps()
    report = await make_delivery(storage, fake, sleeps).deliver_pending()
    assert (report.sent, report.ambiguous) == (1, 0)
    assert len(sleeps.waits) == 2 and len(fake.messages_to(NEWS)) == 1


@pytest.mark.parametrize(
    ("make_gone", "error"),
    [
        (FakeSlack.delete, "channel_not_found"),
        (FakeSlack.archive, "is_archived"),
        (FakeSlack.remove_bot, "not_in_channel"),
        (FakeSlack.deactivate_account, "account_inactive"),
    ],
)
async def test_gone_channel_deactivates_its_subscription_without_retrying(
    fake: FakeSlack,
    storage: Storage,
    registry: Registry,
    make_gone: Callable[[FakeSlack, str], None],
    error: str,
) -> None:
    enqueue_digests(storage, registry, [GENERAL, NEWS])
    make_gone(fake, NEWS)
    delivery = make_delivery(storage, fake, Sleeps())

    report = await delivery.deliver_pending()
    await delivery.deliver_pending()

    assert (report.sent, report.gone) == (1, 1)
    [call] = posts_to(fake, NEWS)
    assert call.error == error
    sub = storage.subscription("slack", NEWS)
    assert sub is not None and sub.id is not None and not sub.active
    assert [i.status for i in storage.outbox_for(sub.id)] == ["failed"]
    assert len(fake.messages_to(GENERAL)) == 1  # the other channel is unaffected
    healthy = storage.subscription("slack", GENERAL)
    assert healthy is not None and healthy.active


# ------------------------------------------------------------------------------------------------
# SlackSender's error mapping, call by call


def sender(fake: FakeSlack, *, timeout: float = 5.0, api_url: str | None = None) -> SlackSender:
    return SlackSender(fake.bot_token, api_url=api_url or fake.api_url, timeout=timeout)


TEXT_PART: dict[str, Any] = {
    "text": "hello",
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
}


async def send_error(send: SlackSender, chat: str, part: dict[str, Any]) -> SendError:
    with pytest.raises(SendError) as info:
        await send.send(chat, part)
    return info.value


async def test_sender_returns_the_message_ts(fake: FakeSlack) -> None:
    ts = await sender(fake).send(NEWS, TEXT_PART)
    [message] = fake.messages_to(NEWS)
    assert ts == message.ts and message.blocks == TEXT_PART["blocks"]


@pytest.mark.parametrize("error", ["channel_not_found", "is_archived", "not_in_channel", "account_inactive"])
async def test_sender_gone_errors(fake: FakeSlack, error: str) -> None:
    {
        "channel_not_found": fake.delete,
        "is_archived": fake.archive,
        "not_in_channel": fake.remove_bot,
        "account_inactive": fake.deactivate_account,
    }[error](NEWS)
    exc = await send_error(sender(fake), NEWS, TEXT_PART)
    assert isinstance(exc, ChatGone) and exc.reason == error


@pytest.mark.parametrize(
    ("kind", "error_body", "ambiguous", "delivered"),
    [
        ("500", "html", False, 0),
        ("503", "text", False, 0),
        ("500", "bad_json", False, 0),
        ("reset", "html", True, 0),
        ("reset_after", "html", True, 1),
        ("slow", "html", True, 1),
    ],
)
async def test_sender_transient_errors(
    fake: FakeSlack, kind: Any, error_body: Any, ambiguous: bool, delivered: int
) -> None:
    fake.error_body = error_body
    fake.slow_delay = 1.0
    fake.fail_next(1, kind)
    exc = await send_error(sender(fake, timeout=0.3), NEWS, TEXT_PART)
    assert isinstance(exc, Transient) and exc.ambiguous is ambiguous
    await asyncio.sleep(0.05)
    assert len(fake.messages_to(NEWS)) == delivered


async def test_sender_rate_limit(fake: FakeSlack) -> None:
    fake.flood(1, retry_after=7)
    exc = await send_error(sender(fake), NEWS, TEXT_PART)
    assert isinstance(exc, RateLimited) and exc.retry_after == 7.0


async def test_sender_connection_refused_is_not_ambiguous(fake: FakeSlack) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    exc = await send_error(sender(fake, api_url=f"http://127.0.0.1:{port}/api/"), NEWS, TEXT_PART)
    assert isinstance(exc, Transient) and exc.ambiguous is False


async def test_sender_markup_and_other_rejections(fake: FakeSlack) -> None:
    send = sender(fake)
    bad = {
        "text": "fallback",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
    }
    exc = await send_error(send, NEWS, bad)
    assert isinstance(exc, MarkupRejected)
    # What delivery resends after MarkupRejected: the text alone, no blocks.
    ts = await send.send(NEWS, {"text": "fallback", "plain": "fallback", "_plain": True})
    [message] = fake.messages_to(NEWS)
    assert (message.ts, message.text, message.blocks) == (ts, "fallback", None)
    too_long = await send_error(send, "C0SPORT", {"text": "x" * 40_001})  # NEWS just had its 1/s
    assert isinstance(too_long, Rejected) and "msg_too_long" in str(too_long)
    # The fake's own record of rejected blocks is expected here; keep the fixture's check for the rest.
    fake.calls[:] = [c for c in fake.calls if c.error != "invalid_blocks"]


async def test_delivery_resends_rejected_markup_as_plain_text(fake: FakeSlack, storage: Storage) -> None:
    # A part that carries a plain twin, as bot.delivery expects for its markup fallback.
    sub = storage.upsert_subscription(
        "slack",
        NEWS,
        leaders=None,
        time="09:00",
        timezone="UTC",
        now=NOW,
        default_time="08:00",
        default_timezone="UTC",
    )
    assert sub.id is not None
    part = {
        "text": "Daily digest",
        "plain": "Daily digest: Vladimir Putin said Ukraine refuses to engage in peace talks.",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
    }
    storage.enqueue_digest(
        sub.id,
        day="2022-10-15",
        window_start=NOW - timedelta(hours=24),
        window_end=NOW,
        payload=json.dumps({"parts": [part]}),
        now=NOW,
    )
    report = await make_delivery(storage, fake, Sleeps()).deliver_pending()
    assert report.sent == 1
    [message] = fake.messages_to(NEWS)
    assert message.blocks is None and message.text == part["plain"]
    assert [c.error for c in posts_to(fake, NEWS)] == ["invalid_blocks", None]
    fake.calls[:] = [c for c in fake.calls if c.error != "invalid_blocks"]  # expected here
