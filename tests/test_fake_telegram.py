"""The fake Telegram Bot API, driven by the real python-telegram-bot client over loopback."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import time
import warnings
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from telegram import (
    Bot,
    BotCommand,
    ChatFullInfo,
    ChatMemberAdministrator,
    ChatMemberBanned,
    ChatMemberMember,
    ChatMemberOwner,
    LinkPreviewOptions,
    MessageEntity,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from tests.fakes.telegram import FakeTelegram, HtmlParseError, RateLimits, parse_html

# PTB itself reads the deprecated int form of RetryAfter.retry_after when it builds the exception.
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")

TOKEN = "123456789:TEST-fake-token"
ALICE = 1001  # a private chat is the user's id
BOB = 1002
GROUP = -4001
SUPERGROUP = -1001234567890
CHANNEL = -1009876543210


def _seconds(error: RetryAfter) -> float:
    """RetryAfter.retry_after: an int (deprecated, warns) or, under PTB_TIMEDELTA=1, a timedelta."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def _add_chats(fake: FakeTelegram) -> None:
    fake.add_chat(ALICE)
    fake.add_chat(BOB)
    fake.add_chat(GROUP, "group", title="Leaders watch", members={ALICE: "creator", BOB: "administrator"})
    fake.add_chat(SUPERGROUP, title="Big group")
    fake.add_chat(CHANNEL, "channel", title="Digest channel", username="digestchan")


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN) as server:
        _add_chats(server)
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=fake.base_url) as client:
        yield client


# --- basics ----------------------------------------------------------------------------------


async def test_get_me_and_urls(fake: FakeTelegram, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot and me.username == "digest_test_bot" and me.id == 123456789
    assert fake.base_url == fake.api_root + "/bot"
    assert fake.api_root.startswith("http://127.0.0.1:")
    assert fake.calls_to("getMe")[-1].status == 200


async def test_wrong_token_and_unknown_method(fake: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(InvalidToken, match="rejected"):  # PTB rewords the 401 at initialize()
        await Bot("999:WRONG", base_url=fake.base_url).initialize()
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": ALICE})
    assert [c.status for c in fake.calls[-2:]] == [401, 404]


async def test_wire_formats_and_error_shape(fake: FakeTelegram) -> None:
    url = f"{fake.base_url}{TOKEN}/sendMessage"
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json={"chat_id": ALICE, "text": "json body"}) as resp:
            assert resp.status == 200 and (await resp.json())["result"]["text"] == "json body"
        async with http.post(url, data={"chat_id": str(ALICE), "text": "form body"}) as resp:
            assert resp.status == 200
        form = aiohttp.FormData()
        form.add_field("chat_id", str(ALICE))
        form.add_field("text", "multipart body")
        form.add_field("document", b"bytes", filename="a.txt")  # forces multipart
        async with http.post(url, data=form) as resp:
            assert resp.status == 200
        async with http.get(url, params={"chat_id": "@digestchan", "text": "query string"}) as resp:
            assert resp.status == 200
        async with http.post(url, json={"chat_id": 777, "text": "x"}) as resp:
            assert resp.status == 400
            assert await resp.json() == {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: chat not found",
            }
        async with http.post(f"{fake.api_root}/botnotatoken/getMe") as resp:
            assert resp.status == 404 and (await resp.json())["description"] == "Not Found"
    assert [m.text for m in fake.sent] == ["json body", "form body", "multipart body", "query string"]
    assert fake.sent[-1].chat_id == CHANNEL


# --- sendMessage -----------------------------------------------------------------------------


async def test_valid_html_is_delivered_and_recorded(fake: FakeTelegram, bot: Bot) -> None:
    html = (
        "<b>Putin</b> said &quot;no&quot; &amp; more &#8212; "
        '<a href="https://example.org/a?x=1&amp;y=2">source</a> <i>(TASS)</i>'
    )
    message = await bot.send_message(
        ALICE, html, parse_mode="HTML", link_preview_options=LinkPreviewOptions(is_disabled=True)
    )
    assert message.text == 'Putin said "no" & more \u2014 source (TASS)'
    assert message.message_id == 1 and message.chat.id == ALICE
    kinds = [(e.type, message.parse_entity(e)) for e in message.entities]
    assert kinds == [
        (MessageEntity.BOLD, "Putin"),
        (MessageEntity.TEXT_LINK, "source"),
        (MessageEntity.ITALIC, "(TASS)"),
    ]
    assert message.entities[1].url == "https://example.org/a?x=1&y=2"

    [sent] = fake.messages_to(ALICE)
    assert sent.raw_text == html and sent.parse_mode == "HTML" and sent.message_id == 1
    assert sent.link_preview_options == {"is_disabled": True} and sent.link_preview_disabled
    second = await bot.send_message(ALICE, "plain", disable_web_page_preview=True)
    assert second.message_id == 2 and fake.sent[-1].link_preview_disabled


async def test_invalid_html_is_rejected(fake: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(BadRequest) as caught:
        await bot.send_message(ALICE, "line one<br>line two", parse_mode="HTML")
    assert str(caught.value).lower() == 'can\'t parse entities: unsupported start tag "br" at byte offset 8'
    with pytest.raises(BadRequest, match="(?i)can't parse entities"):
        await bot.send_message(ALICE, "Q&A <b>bold", parse_mode="HTML")
    assert fake.sent == []
    # Without a parse mode the same text is just text.
    message = await bot.send_message(ALICE, "line one<br>line two")
    assert message.text == "line one<br>line two"


async def test_length_counts_visible_utf16_units(fake: FakeTelegram, bot: Bot) -> None:
    await bot.send_message(ALICE, "a" * 4096)
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(ALICE, "a" * 4097)
    await bot.send_message(ALICE, "\U0001f600" * 2048)  # 2 UTF-16 units each: 4096
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(ALICE, "\U0001f600" * 2049)
    # Tags do not count, an entity counts as its character.
    await bot.send_message(ALICE, "<b>" + "&amp;" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(ALICE, "<b>" + "&amp;" * 4097 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await bot.send_message(ALICE, "<b> </b>", parse_mode="HTML")
    assert len(fake.sent) == 3


async def test_chat_not_found(fake: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(424242, "hello")
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.get_chat("@nobody_here")


# --- commands and updates --------------------------------------------------------------------


async def test_set_my_commands_is_stored_and_validated(fake: FakeTelegram, bot: Bot) -> None:
    commands = [BotCommand("latest", "Latest statements of a leader"), BotCommand("help", "How to use")]
    assert await bot.set_my_commands(commands)
    assert fake.my_commands == [
        {"command": "latest", "description": "Latest statements of a leader"},
        {"command": "help", "description": "How to use"},
    ]
    assert [c.command for c in await bot.get_my_commands()] == ["latest", "help"]
    # PTB drops "Bad Request: " and capitalizes: "Bot_command_invalid".
    with pytest.raises(BadRequest, match="(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Latest", "capital letter")])
    with pytest.raises(BadRequest, match="(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("x" * 33, "too long")])
    with pytest.raises(BadRequest, match="(?i)description"):
        await bot.set_my_commands([BotCommand("ok", "")])
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand("ok", "d" * 257)])
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand(f"c{i}", "d") for i in range(101)])
    assert len(fake.my_commands) == 2


async def test_pushed_command_is_parsed_by_ptb(fake: FakeTelegram, bot: Bot) -> None:
    update_id = fake.send_command(GROUP, "/latest@digest_test_bot putin 3", from_user_id=BOB)
    [update] = await bot.get_updates(timeout=0)
    assert isinstance(update, Update) and update.update_id == update_id
    message = update.message
    assert message is not None and message.text == "/latest@digest_test_bot putin 3"
    assert message.chat.type == "group" and message.from_user is not None
    assert message.from_user.id == BOB
    [entity] = message.entities
    assert entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0
    assert entity.length == len("/latest@digest_test_bot")

    # PTB's own CommandHandler accepts it, with the arguments split off.
    async def callback(update: object, context: object) -> None:
        return None

    handler: CommandHandler[Any, None] = CommandHandler("latest", callback)
    check = handler.check_update(update)
    assert isinstance(check, tuple) and check[0] == ["putin", "3"]
    # The offset confirms it: it is not served again.
    assert await bot.get_updates(offset=update_id + 1, timeout=0) == ()
    assert fake.pending_updates == []


async def test_channel_post_and_my_chat_member_updates(fake: FakeTelegram, bot: Bot) -> None:
    fake.channel_post(CHANNEL, "/subscribe putin")
    fake.my_chat_member(BOB, "member", "kicked")
    fake.my_chat_member(SUPERGROUP, "left", "administrator", from_user_id=ALICE)
    post, blocked, promoted = await bot.get_updates(timeout=0)
    assert post.channel_post is not None and post.channel_post.from_user is None
    assert post.channel_post.sender_chat is not None and post.channel_post.sender_chat.id == CHANNEL
    assert post.channel_post.entities[0].type == MessageEntity.BOT_COMMAND
    assert blocked.my_chat_member is not None
    assert isinstance(blocked.my_chat_member.new_chat_member, ChatMemberBanned)
    assert promoted.my_chat_member is not None
    assert isinstance(promoted.my_chat_member.new_chat_member, ChatMemberAdministrator)
    assert update_ids_increase(post, blocked, promoted)
    # The user who blocked the bot can no longer be written to.
    with pytest.raises(Forbidden):
        await bot.send_message(BOB, "still there?")


def update_ids_increase(*updates: Update) -> bool:
    ids = [u.update_id for u in updates]
    return ids == sorted(ids) and len(set(ids)) == len(ids)


async def test_allowed_updates_filter(fake: FakeTelegram, bot: Bot) -> None:
    fake.channel_post(CHANNEL, "post")
    fake.send_text(ALICE, "hello")
    updates = await bot.get_updates(timeout=0, allowed_updates=["message"])
    assert [u.message.text for u in updates if u.message] == ["hello"] and len(updates) == 1


async def test_long_poll_returns_when_an_update_arrives(fake: FakeTelegram, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await fake.wait_for_poller()
    started = time.monotonic()
    fake.send_command(ALICE, "/help")
    [update] = await asyncio.wait_for(poll, 2)
    assert time.monotonic() - started < 0.5
    assert update.message is not None and update.message.text == "/help"


async def test_long_poll_times_out_empty(bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=dtm.timedelta(seconds=0.3)) == ()
    assert 0.25 <= time.monotonic() - started < 1.5


async def test_second_instance_terminates_the_first_poll(fake: FakeTelegram, bot: Bot) -> None:
    # One Bot cannot overlap its own polls (getUpdates has a one-connection pool): two bots can.
    first = asyncio.create_task(bot.get_updates(timeout=10))
    await fake.wait_for_poller()
    async with Bot(TOKEN, base_url=fake.base_url) as other:
        second = asyncio.create_task(other.get_updates(timeout=dtm.timedelta(seconds=0.2)))
        with pytest.raises(Conflict, match="terminated by other getUpdates"):
            await asyncio.wait_for(first, 2)
        assert await second == ()


async def test_stop_ends_long_polls_promptly() -> None:
    fake = FakeTelegram(TOKEN)
    await fake.start()
    async with Bot(TOKEN, base_url=fake.base_url) as client:
        poll = asyncio.create_task(client.get_updates(timeout=30))
        await fake.wait_for_poller()
        started = time.monotonic()
        await fake.stop()
        assert await asyncio.wait_for(poll, 3) == ()
        assert time.monotonic() - started < 1.5


# --- chats and members -----------------------------------------------------------------------


async def test_get_chat_and_member_statuses(fake: FakeTelegram, bot: Bot) -> None:
    chat = await bot.get_chat(GROUP)
    assert isinstance(chat, ChatFullInfo) and chat.type == "group" and chat.title == "Leaders watch"
    assert isinstance(await bot.get_chat_member(GROUP, ALICE), ChatMemberOwner)
    assert isinstance(await bot.get_chat_member(GROUP, BOB), ChatMemberAdministrator)
    assert isinstance(await bot.get_chat_member(GROUP, 5555), ChatMemberMember)
    fake.set_member(GROUP, 5555, "administrator")
    assert (await bot.get_chat_member(GROUP, 5555)).status == "administrator"
    admins = await bot.get_chat_administrators(GROUP)
    assert {a.user.id for a in admins} == {ALICE, BOB, 5555}
    assert (await bot.get_chat_member(CHANNEL, fake.bot_id)).status == "administrator"


# --- gone chats, migration, floods, limits ---------------------------------------------------


async def test_forbidden_states(fake: FakeTelegram, bot: Bot) -> None:
    fake.block(ALICE)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(ALICE, "hi")
    fake.kick(GROUP)
    with pytest.raises(Forbidden, match="bot was kicked from the group chat"):
        await bot.send_message(GROUP, "hi")
    fake.deactivate(BOB)
    with pytest.raises(Forbidden, match="user is deactivated"):
        await bot.send_message(BOB, "hi")
    fake.restore(ALICE)
    await bot.send_message(ALICE, "welcome back")
    assert [m.chat_id for m in fake.sent] == [ALICE]
    assert fake.status_counts[403] == 3


async def test_migrated_group(fake: FakeTelegram, bot: Bot) -> None:
    new = fake.migrate(GROUP, SUPERGROUP - 1)
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(GROUP, "digest")
    assert caught.value.new_chat_id == new.id == SUPERGROUP - 1
    message = await bot.send_message(caught.value.new_chat_id, "digest")
    assert message.chat.type == "supergroup" and message.chat.title == "Leaders watch"
    assert fake.chat(new.id).status_of(ALICE) == "creator"


async def test_flood(fake: FakeTelegram, bot: Bot) -> None:
    fake.flood(2, retry_after=3)
    for _ in range(2):
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(ALICE, "hi")
        assert _seconds(caught.value) == 3
    await bot.send_message(ALICE, "hi")
    assert len(fake.sent) == 1 and fake.rate_limited == 2 and fake.injected["flood"] == 2


async def test_rate_limit_per_private_chat() -> None:
    limits = RateLimits(private_window=0.3, tolerance=0.0)
    async with FakeTelegram(TOKEN, enforce_limits=True, limits=limits) as fake:
        _add_chats(fake)
        async with Bot(TOKEN, base_url=fake.base_url) as bot:
            await bot.send_message(ALICE, "one")
            for text in ("two", "three"):
                with pytest.raises(RetryAfter) as caught:
                    await bot.send_message(ALICE, text)
                assert _seconds(caught.value) == 1
            await bot.send_message(BOB, "another chat is fine")
            await asyncio.sleep(0.35)
            await bot.send_message(ALICE, "later")
            assert [m.text for m in fake.messages_to(ALICE)] == ["one", "later"]
            assert fake.limit_429s == 2 and fake.rate_limited == 2


async def test_rate_limit_default_private_is_one_per_second(fake: FakeTelegram) -> None:
    fake.enforce_limits = True
    async with Bot(TOKEN, base_url=fake.base_url) as bot:
        await bot.send_message(ALICE, "one")
        with pytest.raises(RetryAfter):
            await bot.send_message(ALICE, "two")
        with pytest.raises(RetryAfter):
            await bot.send_message(ALICE, "three")
    assert len(fake.sent) == 1


async def test_rate_limit_per_group_and_per_bot() -> None:
    limits = RateLimits(per_bot=4, per_group=2, group_window=60.0)
    async with FakeTelegram(TOKEN, enforce_limits=True, limits=limits) as fake:
        _add_chats(fake)
        async with Bot(TOKEN, base_url=fake.base_url) as bot:
            await bot.send_message(GROUP, "1")
            await bot.send_message(GROUP, "2")
            with pytest.raises(RetryAfter) as caught:
                await bot.send_message(GROUP, "3")
            assert 58 <= _seconds(caught.value) <= 60
            await bot.send_message(ALICE, "a")
            await bot.send_message(BOB, "b")
            with pytest.raises(RetryAfter):  # the fifth message within a second, to a fresh chat
                await bot.send_message(CHANNEL, "c")
    assert fake.limit_429s == 2


# --- injected faults -------------------------------------------------------------------------


async def test_fault_429(fake: FakeTelegram, bot: Bot) -> None:
    fake.faults(rate=1.0, kinds=("429",), seed=1, retry_after=2)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(ALICE, "x")
    assert _seconds(caught.value) == 2 and fake.sent == []
    await bot.get_me()  # other methods are untouched


async def test_fault_500_and_502(fake: FakeTelegram, bot: Bot) -> None:
    fake.faults(rate=1.0, kinds=("500",), seed=3)
    statuses = set()
    for _ in range(12):
        with pytest.raises(NetworkError) as caught:
            await bot.send_message(ALICE, "x")
        assert type(caught.value) is NetworkError  # not BadRequest/TimedOut subclasses
        statuses.add(fake.calls[-1].status)
    assert statuses == {500, 502}
    fake.faults(rate=1.0, kinds=("502",))
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(ALICE, "x")
    assert fake.sent == []


async def test_fault_reset(fake: FakeTelegram, bot: Bot) -> None:
    fake.faults(rate=1.0, kinds=("reset",))
    with pytest.raises(NetworkError) as caught:
        await bot.send_message(ALICE, "x")
    assert not isinstance(caught.value, TimedOut)
    assert fake.sent == [] and fake.calls[-1].status is None and fake.dropped_connections == 1
    fake.faults(rate=1.0, kinds=("reset_after",))
    with pytest.raises(NetworkError):
        await bot.send_message(ALICE, "y")
    [sent] = fake.sent
    assert sent.text == "y" and sent.fault == "reset_after"


async def test_fault_slow_is_delivered_but_times_out(fake: FakeTelegram, bot: Bot) -> None:
    fake.faults(rate=1.0, kinds=("slow",), slow_delay=0.5)
    started = time.monotonic()
    with pytest.raises(TimedOut):
        await bot.send_message(ALICE, "ambiguous", read_timeout=0.15)
    assert time.monotonic() - started < 0.45
    [sent] = await fake.wait_for_messages(ALICE, 1, timeout=1)
    assert sent.text == "ambiguous" and sent.fault == "slow"
    fake.faults(rate=0)
    await bot.send_message(ALICE, "normal")
    assert len(fake.messages_to(ALICE)) == 2


async def test_fault_mix_with_retries_delivers_everything(fake: FakeTelegram) -> None:
    """A client retrying each send until confirmed loses nothing; duplicates only when ambiguous."""
    fake.faults(rate=0.3, kinds=("429", "500", "reset", "reset_after", "slow"), seed=7, slow_delay=0.3)
    request = HTTPXRequest(read_timeout=0.1, connection_pool_size=8)
    async with Bot(TOKEN, base_url=fake.base_url, request=request) as bot:
        for n in range(40):
            while True:
                try:
                    await bot.send_message(ALICE, f"digest {n}")
                    break
                except (RetryAfter, NetworkError):
                    continue
    counts = Counter(m.text for m in fake.messages_to(ALICE))
    assert set(counts) == {f"digest {n}" for n in range(40)}
    ambiguous = {m.text for m in fake.sent if m.fault is not None}
    assert all(text in ambiguous for text, n in counts.items() if n > 1)
    assert sum(fake.injected.values()) >= 5


async def test_wait_for_messages_times_out_with_a_clear_error(fake: FakeTelegram) -> None:
    with pytest.raises(TimeoutError, match="expected 1 message"):
        await fake.wait_for_messages(ALICE, 1, timeout=0.1)


async def test_edit_message_text(fake: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(ALICE, "<b>draft</b>", parse_mode="HTML")
    edited = await bot.edit_message_text("<b>final</b>", ALICE, sent.message_id, parse_mode="HTML")
    assert not isinstance(edited, bool) and edited.text == "final" and edited.edit_date is not None
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("<b>final</b>", ALICE, sent.message_id, parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("x", ALICE, 999)
    assert [e.text for e in fake.edits] == ["final"]


async def test_json_params_are_recorded(fake: FakeTelegram, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand("help", "Help")])
    [call] = fake.calls_to("setMyCommands")
    # PTB sends form fields; complex values are JSON strings.
    assert json.loads(call.params["commands"]) == [{"command": "help", "description": "Help"}]


async def test_errors_are_telegram_errors(fake: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(TelegramError):
        await bot.send_message(ALICE, "")
    assert fake.errors == 1


# --- the HTML validator ----------------------------------------------------------------------

GOOD_HTML = [
    ("plain text", "plain text", []),
    ("<b>bold</b> <strong>strong</strong>", "bold strong", ["bold", "bold"]),
    ("<i>a</i><em>b</em><u>c</u><ins>d</ins><s>e</s><strike>f</strike><del>g</del>", "abcdefg", None),
    ("<b>bold <i>both</i></b>", "bold both", ["bold", "italic"]),
    ('<a href="https://x.org/?a=1&amp;b=2">x</a>', "x", ["text_link"]),
    ("<a href='https://x.org/'>single quotes</a>", "single quotes", ["text_link"]),
    ("<a href=x.org>token</a>", "token", ["text_link"]),
    ('<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>', "st", ["spoiler", "spoiler"]),
    ("<code>x = 1</code>", "x = 1", ["code"]),
    ('<pre><code class="language-python">print(1)</code></pre>', "print(1)", ["pre"]),
    ("<pre>pre</pre>", "pre", ["pre"]),
    ("<blockquote>q</blockquote>", "q", ["blockquote"]),
    ("<blockquote expandable>q</blockquote>", "q", ["expandable_blockquote"]),
    ('<tg-emoji emoji-id="5368324170671202286">\U0001f44d</tg-emoji>', "\U0001f44d", ["custom_emoji"]),
    ("&lt;tag&gt; &amp; &quot;q&quot; &#39; &#x1F600;", '<tag> & "q" \' \U0001f600', []),
    ("a > b", "a > b", []),
    ("<B>upper</B>", "upper", ["bold"]),
    ("<b>closed by an empty end tag</>", "closed by an empty end tag", ["bold"]),
    ("<b></b>empty", "empty", []),
]

BAD_HTML = [
    ("line<br>next", 'Unsupported start tag "br" at byte offset 4'),
    ("<p>para</p>", 'Unsupported start tag "p" at byte offset 0'),
    ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
    ("é<foo>", 'Unsupported start tag "foo" at byte offset 2'),
    ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
    ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
    ("x</b>", "Unexpected end tag at byte offset 1"),
    ("<b", "Unclosed start tag at byte offset 0"),
    ("<b>x</b", "Unclosed end tag at byte offset 4"),
    ("AT&T", 'Character "&" must be escaped as "&amp;" at byte offset 2'),
    ("&nbsp;", 'Character "&" must be escaped as "&amp;" at byte offset 0'),
    ("&lt no semicolon", 'Character "&" must be escaped as "&amp;" at byte offset 0'),
    ('<a href="https://x.org/?a=1&b=2">x</a>', 'Character "&" must be escaped as "&amp;" at byte offset 27'),
    ('<b class="x">y</b>', 'Unsupported attribute class="x" in the tag "b" at byte offset 0'),
    ('<a href="u" target="_blank">y</a>', 'Unsupported attribute target="_blank" in the tag "a"'),
    ('<span class="bold">y</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ("<a href=https://x>y</a>", "Unexpected end of name token at byte offset 8"),
    ("<b title>y</b>", 'Expected equal sign in declaration of an attribute of the tag "b"'),
    ("<tg-emoji>x</tg-emoji>", "Invalid custom emoji identifier specified"),
]


@pytest.mark.parametrize(("html", "text", "types"), GOOD_HTML)
def test_html_validator_accepts(html: str, text: str, types: list[str] | None) -> None:
    visible, entities = parse_html(html)
    assert visible == text
    if types is not None:
        assert [e["type"] for e in entities] == types


@pytest.mark.parametrize(("html", "message"), BAD_HTML)
def test_html_validator_rejects(html: str, message: str) -> None:
    with pytest.raises(HtmlParseError) as caught:
        parse_html(html)
    assert str(caught.value).startswith(message)


def test_html_validator_lenient_mode_is_tdlib() -> None:
    assert parse_html("AT&T &lt b", strict=False)[0] == "AT&T < b"
    assert parse_html('<b class="x">y</b>', strict=False) == (
        "y",
        [{"offset": 0, "length": 1, "type": "bold"}],
    )


def test_html_entities_use_utf16_offsets() -> None:
    text, entities = parse_html('\U0001f600 <b>b</b> <pre><code class="language-go">x</code></pre>')
    assert text == "\U0001f600 b x"
    assert entities == [
        {"offset": 3, "length": 1, "type": "bold"},
        {"offset": 5, "length": 1, "type": "pre", "language": "go"},
    ]


async def test_ptb_application_polls_and_replies(fake: FakeTelegram) -> None:
    async def latest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_html(f"<b>latest</b> for {' '.join(context.args or [])}")

    app = Application.builder().token(TOKEN).base_url(fake.base_url).build()
    app.add_handler(CommandHandler("latest", latest))
    await app.initialize()
    assert app.updater is not None
    await app.updater.start_polling(timeout=dtm.timedelta(seconds=0.5), poll_interval=0)
    await app.start()
    try:
        fake.send_command(GROUP, "/latest@digest_test_bot putin", from_user_id=BOB)
        [reply] = await fake.wait_for_messages(GROUP, 1, timeout=5)
        assert reply.text == "latest for putin" and reply.parse_mode == "HTML"
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert fake.calls_to("deleteWebhook")
