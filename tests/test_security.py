"""Letting no one in (SPEC §12): forged Slack requests, non-admins, injected markup, SQL, tokens in logs.

Already proven elsewhere, and not repeated here:

* ``test_slack.py::test_http_rejects_forged_or_stale_requests``: a request signed with another
  secret, and one whose timestamp is 5½ minutes old, get 401 and change nothing;
  ``test_socket_mode_bot_serves_no_unsigned_http_endpoint``: with Socket Mode on, the HTTP
  endpoint answers 404 rather than trust unsigned requests.
* ``test_telegram.py::test_group_subscription_needs_an_admin``: a group member's ``/subscribe``
  is refused, an admin's works.
* ``test_render.py``: the renderers escape any outside text (property tests).

Added here: the other ways a Slack request can be forged (no signature, a tampered body, a
timestamp from the future, a malformed timestamp header, a replay); non-admins (member,
restricted, left, a user posting as another channel) trying to change or drop an admin's group
subscription, and the anonymous admin who may; an article carrying Telegram HTML, Slack mentions
and broadcast words, ingested and then sent as a digest and as ``/latest`` on both fake platforms;
SQL built only with parameters (an ast check of ``digests/`` and ``bot/``, and a round trip of
quote-laden values); and the whole bot run with real-looking tokens at DEBUG, with error paths,
leaving no token in its log.
"""

from __future__ import annotations

import ast
import asyncio
import io
import logging
import re
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.app import App
from bot.commands import Commands
from bot.delivery import Delivery
from bot.logs import setup_logging
from bot.settings import Settings
from bot.slack_chat import SlackChat, SlackSender
from bot.telegram_chat import TelegramChat, Timeouts
from digests.extract import Extractor
from digests.leaders import Registry
from digests.models import Article, Extracted, Source
from digests.outbox import plan_due
from digests.pipeline import article_from_document, ingest_article
from digests.storage import Storage
from tests.fakes.slack import (
    FORM_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    FakeSlack,
    event_body,
    post_signed,
    sign_request,
    slash_command_body,
)
from tests.fakes.telegram import FakeTelegram, SentMessage
from tests.feedserver import FeedServer, closed_port
from tests.test_telegram import running_chat

# PTB reads the deprecated int form of RetryAfter.retry_after itself when it builds the exception.
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime.now(UTC).replace(microsecond=0)
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "123456789:TEST-fake-token"
FAST = Timeouts(connect=2.0, read=3.0, write=3.0, pool=2.0)
ADMINS_ONLY = "Only chat admins can change this chat's subscription."
ALICE, BOB, CAROL, DAVE = 1001, 1002, 1003, 1004
SUPERGROUP = -1001234567890
CHANNEL_BOT = 136817688  # the "from" Telegram puts on messages sent on behalf of a channel
ANONYMOUS_ADMIN = 1087968824  # the "from" of an anonymous group admin


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    db = Storage(tmp_path / "security.db")
    yield db
    db.close()


def commands(storage: Storage, registry: Registry) -> Commands:
    return Commands(storage, registry, clock=lambda: datetime.now(UTC))


# ------------------------------------------------------------------------------------------------
# Slack HTTP mode: forged requests


@pytest.fixture
async def slack_http(storage: Storage, registry: Registry) -> AsyncIterator[tuple[FakeSlack, str]]:
    """The bot's ``POST /slack/events`` (HTTP mode) on loopback, against a fake Slack."""
    async with FakeSlack() as fake:
        bot = SlackChat(
            fake.bot_token, commands(storage, registry), signing_secret=SECRET, api_url=fake.api_url
        )
        app = web.Application()
        bot.attach(app)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        try:
            yield fake, f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
        finally:
            await runner.cleanup()


async def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as resp:
        return resp.status


async def test_slack_http_turns_away_every_other_forgery_and_changes_nothing(
    slack_http: tuple[FakeSlack, str], storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    fake, url = slack_http
    payload = fake.slash_command_payload("/subscribe", "putin at 07:30 Europe/Kyiv")
    body = slash_command_body(payload)
    form = {"Content-Type": FORM_CONTENT_TYPE}
    now = int(time.time())
    forged: dict[str, tuple[bytes, dict[str, str]]] = {
        "no signature headers": (body, form),
        "signature without timestamp": (
            body,
            {**form, "X-Slack-Signature": sign_request(body, SECRET)["X-Slack-Signature"]},
        ),
        "tampered body": (body.replace(b"putin", b"xi"), {**form, **sign_request(body, SECRET)}),
        "timestamp 6 minutes ahead": (body, {**form, **sign_request(body, SECRET, now + 360)}),
        "timestamp not a number": (
            body,
            {**form, "X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=0"},
        ),
        "timestamp in exponent form": (
            body,
            {**form, "X-Slack-Request-Timestamp": "1.7e9", "X-Slack-Signature": "v0=0"},
        ),
        "timestamp too large": (
            body,
            {**form, "X-Slack-Request-Timestamp": "9" * 400, "X-Slack-Signature": "v0=0"},
        ),
        "signature not v0": (
            body,
            {**form, "X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": "v1=00"},
        ),
    }
    caplog.set_level(logging.ERROR)
    for name, (data, headers) in forged.items():
        assert await post(url, data, headers) == 401, name
    # A request captured in flight and replayed once its 5 minutes are over.
    captured = sign_request(body, SECRET, now - 301)
    assert await post(url, body, {**form, **captured}) == 401
    mention = event_body(fake.event_callback(fake.app_mention_event("<@UBOT> subscribe putin")))
    assert (
        await post(
            url, mention, {"Content-Type": JSON_CONTENT_TYPE, **sign_request(mention, SECRET, now - 301)}
        )
        == 401
    )

    await asyncio.sleep(0.3)  # anything started in the background would have answered by now
    assert storage.subscription("slack", fake.default_channel) is None
    assert fake.responses == [] and fake.messages == [] and fake.ephemeral == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "a forged request logged an error"

    # The genuine request still works: the checks above refused forgeries, not everything.
    status, _ = await post_signed(url, body, SECRET, content_type=FORM_CONTENT_TYPE)
    assert status == 200
    await fake.wait_for_responses(1)
    assert storage.subscription("slack", fake.default_channel) is not None


# ------------------------------------------------------------------------------------------------
# Telegram: only admins change a group's subscription


def telegram_bot(
    fake: FakeTelegram, storage: Storage, registry: Registry
) -> AbstractAsyncContextManager[TelegramChat]:
    return running_chat(fake, storage, registry, commands(storage, registry))


async def answer(
    fake: FakeTelegram, chat_id: int, update: dict[str, Any] | None = None, **command: Any
) -> str:
    """Send a command (or push an update) in a chat; the bot's reply text."""
    before = len(fake.messages_to(chat_id))
    if update is not None:
        fake.push_update(update)
    else:
        fake.send_command(chat_id, command["text"], from_user_id=command.get("user"))
    return (await fake.wait_for_messages(chat_id, before + 1, timeout=10))[before].text


def as_message(
    fake: FakeTelegram, chat_id: int, text: str, *, user: int, sender_chat: dict[str, Any]
) -> dict[str, Any]:
    chat = fake.chat(chat_id)
    message_id = chat.next_message_id
    chat.next_message_id += 1
    return {
        "message": {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat.to_api(),
            "from": fake.user(user),
            "sender_chat": sender_chat,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
        }
    }


async def test_only_admins_change_or_drop_a_group_subscription(storage: Storage, registry: Registry) -> None:
    """One supergroup per kind of intruder, so the chats are answered side by side (1 message/s each)."""
    other_channel = {"id": -1005550000001, "type": "channel", "title": "Someone's channel"}
    intruders = {
        SUPERGROUP - 1: BOB,  # a member
        SUPERGROUP - 2: CAROL,  # restricted
        SUPERGROUP - 3: DAVE,  # left the group
        SUPERGROUP - 4: CHANNEL_BOT,  # somebody posting on behalf of their own channel
    }
    attempts = ("/unsubscribe", "/unsubscribe putin", "/subscribe xi at 05:00 Asia/Shanghai")

    async def intrude(fake: FakeTelegram, group: int, user: int) -> None:
        assert "Subscribed" in await answer(fake, group, text="/subscribe putin at 06:00", user=ALICE)
        before = storage.subscription("telegram", str(group))
        assert before is not None and before.leaders == ("putin",)
        for text in attempts:
            if user == CHANNEL_BOT:
                reply = await answer(
                    fake, group, as_message(fake, group, text, user=user, sender_chat=other_channel)
                )
            else:
                reply = await answer(fake, group, text=text, user=user)
            assert reply == ADMINS_ONLY, (user, text)
        assert storage.subscription("telegram", str(group)) == before
        assert "Vladimir Putin" in await answer(
            fake, group, text="/subscriptions", user=BOB
        )  # reading is fine

    async with FakeTelegram(TOKEN, enforce_limits=True) as fake:
        for group in intruders:
            fake.add_chat(
                group,
                "supergroup",
                members={ALICE: "administrator", BOB: "member", CAROL: "restricted", DAVE: "left"},
            )
        async with telegram_bot(fake, storage, registry):
            await asyncio.gather(*(intrude(fake, group, user) for group, user in intruders.items()))
            # The anonymous admin (writing as the group itself) may change it.
            group = SUPERGROUP - 1
            anonymous = as_message(
                fake, group, "/unsubscribe", user=ANONYMOUS_ADMIN, sender_chat=fake.chat(group).to_api()
            )
            assert "Unsubscribed" in await answer(fake, group, anonymous)
            assert storage.subscription("telegram", str(group)) is None
        assert fake.status_counts[400] == 0 and fake.limit_429s == 0


# ------------------------------------------------------------------------------------------------
# Outside text cannot inject markup or mentions

INJECTED = (
    'Nobody <b>shouts</b> here </a> <a href="javascript:alert(document.cookie)">click me</a> '
    "<!channel> <!here> <@U123> @everyone @here &amp; <i>x</i>"
)
HOSTILE_ARTICLE = (
    "Vladimir Putin spoke to reporters in Moscow on Tuesday.\n\n"
    f"“{INJECTED} — we will defend our country,” Putin said.\n\n"
    f"Putin added that {INJECTED} was a provocation by the West."
)
ARTICLE_URL = "https://news.example.org/2026/putin-markup"
OUTLET = "<b>Wire</b> <!here> @everyone"
SLACK_CHANNEL = "C0NEWS"
_OUR_SLACK_LINK = re.compile(r"<https?://[^|<>\s]+\|[^<>]*>")
_SLACK_MARKUP = re.compile(r"<[!@#]")
_LIVE_BROADCAST = re.compile(r"@(?:everyone|here|channel)\b", re.IGNORECASE)


def check_telegram_message(message: SentMessage) -> None:
    """The injected text is shown as written, and no entity comes from it."""
    assert message.parse_mode == "HTML"
    for marker in ("<b>shouts</b>", "</a>", 'href="javascript:', "<!channel>", "<@U123>", "@everyone"):
        assert marker in message.text, (marker, message.text[:300])
    units = message.text.encode("utf-16-le")
    for entity in message.entities:
        assert entity["type"] in ("bold", "italic", "text_link"), entity
        covered = units[2 * entity["offset"] : 2 * (entity["offset"] + entity["length"])].decode("utf-16-le")
        # What the injected <b>, <i> and <a> would have marked up, had they been obeyed.
        assert covered not in ("shouts", "x", "click me"), entity
        if entity["type"] == "text_link":
            assert entity["url"] == ARTICLE_URL, entity


def slack_texts(text: str | None, blocks: list[dict[str, Any]] | None) -> list[str]:
    texts = [text or ""]
    for block in blocks or ():
        if isinstance(block.get("text"), dict):
            texts.append(block["text"]["text"])
        texts.extend(str(e.get("text", "")) for e in block.get("elements", ()) if isinstance(e, dict))
        texts.extend(f["text"] for f in block.get("fields", ()) if isinstance(f, dict))
    return texts


def check_slack_message(text: str | None, blocks: list[dict[str, Any]] | None) -> None:
    """No ``<!channel>``/``<!here>``/``<@U…>`` in any text field, no live @everyone/@here."""
    everything = slack_texts(text, blocks)
    assert any("&lt;!channel&gt;" in t for t in everything), everything[:3]
    for field in everything:
        outside = _OUR_SLACK_LINK.sub("", field)
        assert not _SLACK_MARKUP.search(outside), field
        assert not _LIVE_BROADCAST.search(outside), field
        for url in re.findall(r"<(https?://[^|<>\s]+)\|", field):
            assert url == ARTICLE_URL, url


async def test_markup_and_mentions_in_an_article_reach_nobody_as_markup(
    tmp_path: Path, storage: Storage, registry: Registry
) -> None:
    article = article_from_document(
        HOSTILE_ARTICLE, url=ARTICLE_URL, outlet=OUTLET, published=NOW - timedelta(hours=1)
    )
    new, _ = ingest_article(storage, Extractor(registry), article, NOW - timedelta(minutes=30))
    assert new >= 1
    assert all(INJECTED in s.text for s in storage.latest("putin"))

    async with FakeTelegram(TOKEN, enforce_limits=True) as telegram, FakeSlack() as slack:
        telegram.add_chat(ALICE)
        slack.add_channel(SLACK_CHANNEL, "news")
        for platform, chat in (("telegram", str(ALICE)), ("slack", SLACK_CHANNEL)):
            storage.upsert_subscription(
                platform,
                chat,
                leaders=["putin"],
                time="08:00",
                timezone="UTC",
                now=NOW - timedelta(hours=2),
                default_time="08:00",
                default_timezone="UTC",
            )
        async with telegram_bot(telegram, storage, registry) as tg:
            slack_bot = SlackChat(
                slack.bot_token,
                commands(storage, registry),
                app_token=slack.app_token,
                api_url=slack.api_url,
                ping_interval=1,
            )
            await slack_bot.start()
            try:
                await slack.wait_connected()
                # The digest, planned and delivered as the scheduler would.
                assert len(await plan_due(storage, registry, datetime.now(UTC), force=True)) == 2
                delivery = Delivery(
                    storage,
                    {"telegram": tg.sender, "slack": SlackSender(slack.bot_token, api_url=slack.api_url)},
                    {"telegram": tg.pacer, "slack": slack_bot.pacer},
                    clock=lambda: datetime.now(UTC),
                )
                report = await delivery.deliver_pending()
                assert report.sent == 2 and report.failed == 0
                # /latest on each platform: a Telegram command, a Slack slash command and a mention.
                telegram.send_command(ALICE, "/latest putin")
                push = await slack.send_slash_command("/latest", "putin", channel_id=SLACK_CHANNEL)
                await slack.send_app_mention(f"<@{slack.bot_user_id}> latest putin", channel=SLACK_CHANNEL)
                await telegram.wait_for_messages(ALICE, 2, timeout=10)
                await slack.wait_for_responses(1, timeout=10)
                await slack.wait_for_messages(SLACK_CHANNEL, 2, timeout=10)
            finally:
                await slack_bot.stop()

    digest, latest = telegram.messages_to(ALICE)
    assert "Vladimir Putin" in digest.text and "latest" in latest.text
    for message in (digest, latest):
        check_telegram_message(message)
    assert len(slack.messages_to(SLACK_CHANNEL)) == 2  # the digest and the mention's answer
    for posted in slack.messages_to(SLACK_CHANNEL):
        check_slack_message(posted.text, posted.blocks)
    [response] = [
        r for r in slack.responses if r.response_id == push.payload["response_url"].rsplit("/", 1)[1]
    ]
    check_slack_message(response.text, response.blocks)
    assert telegram.status_counts[400] == 0
    assert not [c for c in slack.calls if c.error in ("invalid_blocks", "invalid_blocks_format")]


# ------------------------------------------------------------------------------------------------
# SQL only with parameters

SQL_CALLS = frozenset(
    {"execute", "executemany", "executescript", "_execute", "_rows", "_row", "_column", "query"}
)
# What may appear inside {…} of an SQL f-string: nothing from outside the code itself.
SAFE_SQL_PIECES = {
    "_placeholders(len(chunk))": "a run of ?, one per value of an IN list",
    "self._STATEMENT_COLUMNS": "a class constant: the column list",
    "int(BUSY_TIMEOUT_MS)": "an int constant",
    "name": "a savepoint name, f'sp{self._depth}' (an int counter)",
}
SAFE_LOCAL_STRINGS = {"sp{self._depth}"}


class _SqlCheck(ast.NodeVisitor):
    """Finds SQL calls whose statement is built from anything but literals and the safe pieces."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[str] = []
        self._functions: list[ast.FunctionDef | ast.AsyncFunctionDef] = []

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._in_function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._in_function(node)

    def _in_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._functions.append(node)
        self.generic_visit(node)
        self._functions.pop()

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name in SQL_CALLS and node.args and not self._safe(node.args[0]):
            self.problems.append(f"{self.path}:{node.lineno}: {name}({ast.unparse(node.args[0])[:80]}…)")
        self.generic_visit(node)

    def _safe(self, expr: ast.expr) -> bool:
        if isinstance(expr, ast.Constant):
            return isinstance(expr.value, str)
        if isinstance(expr, ast.JoinedStr):
            return all(
                isinstance(v, ast.Constant)
                or (isinstance(v, ast.FormattedValue) and ast.unparse(v.value) in SAFE_SQL_PIECES)
                for v in expr.values
            )
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            return self._safe(expr.left) and self._safe(expr.right)
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mod):
            return self._safe(expr.left) and self._placeholder_args([expr.right])
        if isinstance(expr, ast.IfExp):
            return self._safe(expr.body) and self._safe(expr.orelse)
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "format":
            return self._safe(expr.func.value) and self._placeholder_args(expr.args)
        if isinstance(expr, ast.Name):
            return self._safe_name(expr.id)
        return False

    def _placeholder_args(self, args: list[ast.expr]) -> bool:
        items = [e for a in args for e in (a.elts if isinstance(a, ast.Tuple) else [a])]
        return all(ast.unparse(e).startswith("_placeholders(") for e in items)

    def _safe_name(self, name: str) -> bool:
        """A local name: the ``sql`` parameter of a pass-through helper, or only ever given safe values."""
        if not self._functions:
            return False
        function = self._functions[-1]
        if function.name in SQL_CALLS and name in {a.arg for a in function.args.args}:
            return True  # the helper's own argument, checked at each of its call sites
        values: list[ast.expr] = []
        for node in ast.walk(function):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in node.targets
            ):
                values.append(node.value)
            elif isinstance(node, ast.For) and isinstance(node.target, ast.Name) and node.target.id == name:
                if not isinstance(node.iter, ast.Tuple | ast.List):
                    return False
                values.extend(node.iter.elts)
        if not values:
            return False
        return all(
            self._safe(v) or (isinstance(v, ast.JoinedStr) and _f_string_source(v) in SAFE_LOCAL_STRINGS)
            for v in values
        )


def _f_string_source(node: ast.JoinedStr) -> str:
    return ast.unparse(node)[2:-1]  # f'…' → …


def sql_problems(source: str, path: str = "<test>") -> list[str]:
    check = _SqlCheck(path)
    check.visit(ast.parse(source))
    return check.problems


def test_sql_is_only_ever_built_with_parameters() -> None:
    files = sorted((ROOT / "digests").glob("*.py")) + sorted((ROOT / "bot").glob("*.py"))
    assert len(files) > 10
    problems = [p for f in files for p in sql_problems(f.read_text("utf-8"), str(f.relative_to(ROOT)))]
    assert problems == [], "SQL built from values instead of parameters:\n" + "\n".join(problems)


def test_the_sql_check_catches_statements_built_from_values() -> None:
    bad = """
def f(db, leader, ids):
    db.execute(f"SELECT * FROM statements WHERE leader = '{leader}'")
    db._rows("SELECT * FROM statements WHERE leader = '%s'" % leader)
    db._row("SELECT * FROM statements WHERE leader = '{}'".format(leader))
    db.execute("SELECT * FROM statements WHERE leader = '" + leader + "'")
    sql = f"DELETE FROM statements WHERE id IN ({','.join(ids)})"
    db._execute(sql)
"""
    assert len(sql_problems(bad)) == 5
    good = """
def f(db, leader, chunk):
    db.execute("SELECT * FROM statements WHERE leader = ?", (leader,))
    db._rows(f"SELECT id FROM statements WHERE id IN ({_placeholders(len(chunk))})", chunk)
    sql = "SELECT 1" + (" WHERE 1" if leader else "")
    db._rows(sql)
"""
    assert sql_problems(good) == []


DROP = "'; DROP TABLE statements; --"


def test_quotes_and_sql_in_values_round_trip_through_storage_unchanged(storage: Storage) -> None:
    leader = f"o'brien{DROP}"
    source = Source(key=f"src{DROP}", name=f'The "Times"{DROP}', url=f"https://x.example/?q={DROP}")
    storage.sync_sources([source])
    storage.record_poll_failure(
        source.key, now=NOW, reason=f"HTTP 500 {DROP}", next_poll=NOW + timedelta(hours=1)
    )
    text = f"We said \"no\" and 'no' again{DROP} /* */ ; SELECT * FROM subscriptions"
    article = Article(
        url=f"https://x.example/a?b='{DROP}",
        title=f"Title{DROP}",
        outlet=f"Outlet{DROP}",
        text=text,
        source_key=source.key,
    )
    entry_id = f"guid{DROP}"
    result = storage.save_article(
        article,
        entry_id=entry_id,
        content_hash="h",
        statements=[Extracted(leader, "direct", text, f"“{text},” he said{DROP}")],
        now=NOW,
    )
    assert result.new_statements == 1
    sub = storage.upsert_subscription(
        "slack",
        f"C{DROP}",
        leaders=[leader, "putin"],
        time="08:00",
        timezone="UTC",
        now=NOW,
        default_time="08:00",
        default_timezone="UTC",
    )

    [stored] = storage.latest(leader)
    assert (stored.leader, stored.text, stored.url, stored.title, stored.outlet) == (
        leader,
        text,
        article.url,
        article.title,
        article.outlet,
    )
    assert [
        s.text
        for s in storage.statements_seen([leader, DROP], NOW - timedelta(hours=1), NOW + timedelta(hours=1))
    ] == [text]
    assert storage.known_entries(source.key, [entry_id, f"other{DROP}"]) == {entry_id: "h"}
    again = storage.subscription("slack", f"C{DROP}")
    assert again is not None and again.id == sub.id and again.leaders == (leader, "putin")
    [state] = [s for s in storage.source_states() if s.key == source.key]
    assert (state.name, state.url, state.last_error) == (source.name, source.url, f"HTTP 500 {DROP}")
    assert storage.count_statements() == 1  # the table is still there, with its one row


# ------------------------------------------------------------------------------------------------
# Tokens never logged

REAL_LOOKING = Settings(
    telegram_token="7294036158:AAHk3mZq9vX2bN8cR5tY1uW4eP7sL0jDfGa",
    slack_bot_token="xoxb-2047113695876-5839201746352-Qm8ZtR4vK9sXw2LpN7yB3cHd",
    slack_app_token="xapp-1-A05QZ7N8KLM-5839201746777-9f3c2a7b1e4d8f6a0c5b2e9d7a1f4c8b3e6d0a9f2c7b5e1d4a8f3c6b9e2d7a0f",
    slack_signing_secret="d41f8e6b2a9c7e3f5b1d8a4c6e2f9b7d",
    llm_api_key="sk-proj-Xq7Lm2Nv9Rt4Kz8Wb3Yc6Hd1Jf5Gs0Pa",
)


async def llm_that_echoes_the_key(request: web.Request) -> web.Response:
    """A hostile LLM endpoint: answers 500 with the caller's Authorization header in the body."""
    return web.Response(status=500, text=f"bad request from {request.headers.get('Authorization')}")


async def test_the_running_bot_logs_no_token_at_debug_even_on_error_paths(
    tmp_path: Path, registry: Registry
) -> None:
    s = REAL_LOOKING
    assert s.telegram_token and s.slack_bot_token and s.slack_app_token and s.llm_api_key
    secrets = s.secrets()
    root = logging.getLogger()
    saved = (
        list(root.handlers),
        root.level,
        {n: logging.getLogger(n).level for n in logging.root.manager.loggerDict},
    )
    log = io.StringIO()
    async with (
        FakeTelegram(s.telegram_token, enforce_limits=True) as telegram,
        FakeSlack(bot_token=s.slack_bot_token, app_token=s.slack_app_token) as slack,
        FeedServer() as feeds,
    ):
        llm = web.Application()
        llm.router.add_post("/v1/chat/completions", llm_that_echoes_the_key)
        llm_runner = web.AppRunner(llm, access_log=None)
        await llm_runner.setup()
        await web.TCPSite(llm_runner, "127.0.0.1", 0).start()
        telegram.add_chat(ALICE)
        seed = (ROOT / "tests" / "fixtures" / "articles" / "seed-putin-astana.txt").read_text("utf-8")
        good = feeds.add(
            "/feed.xml",
            '<?xml version="1.0"?><rss version="2.0"><channel><title>W</title><item><title>Putin</title>'
            f"<guid>seed</guid><pubDate>{NOW.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate><description>"
            + seed.replace("&", "&amp;").replace("<", "&lt;")
            + "</description></item></channel></rss>",
        )
        # A source whose URL carries a secret-looking query, failing: its reason is logged.
        failing = f"http://127.0.0.1:{closed_port()}/feed.xml?token={s.telegram_token}"
        config = tmp_path / "config"
        config.mkdir()
        shutil.copy(ROOT / "config" / "leaders.toml", config / "leaders.toml")
        (config / "sources.toml").write_text(
            f'[[source]]\nkey = "wire"\nname = "Wire"\nurl = "{good}"\n\n'
            f'[[source]]\nkey = "down"\nname = "Down"\nurl = "{failing}"\n',
            "utf-8",
        )
        settings = Settings(
            db_path=str(tmp_path / "bot.db"),
            config_dir=config,
            telegram_token=s.telegram_token,
            telegram_api_url=telegram.api_root,
            slack_bot_token=s.slack_bot_token,
            slack_app_token=s.slack_app_token,
            slack_signing_secret=s.slack_signing_secret,
            slack_api_url=slack.api_url,
            llm_base_url=f"http://127.0.0.1:{llm_runner.addresses[0][1]}/v1",
            llm_api_key=s.llm_api_key,
            llm_model="gpt-test",
        )
        try:
            setup_logging(settings, verbose=True)
            for handler in root.handlers:
                assert isinstance(handler, logging.StreamHandler)
                handler.setStream(log)
            app = App(settings)
            running = asyncio.create_task(app.run())
            try:
                await telegram.wait_for_poller(timeout=20)
                await slack.wait_connected(timeout=20)
                # Error paths: 5xx and dropped connections on replies and on long polling, a
                # Slack post failing with a non-JSON 500, the LLM failing, a feed refusing.
                telegram.faults(
                    rate=0.5, kinds=("500", "reset"), seed=1, methods=("sendMessage", "getUpdates")
                )
                slack.fail_next(1, "500")
                for text in ("/start", "/latest putin", "/digest", "/sources", "/subscribe putin"):
                    telegram.send_command(ALICE, text)
                await slack.send_slash_command("/digest", "putin")
                await slack.send_app_mention(f"<@{slack.bot_user_id}> latest putin")
                await slack.send_app_mention(f"<@{slack.bot_user_id}> sources")
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline and not (
                    "LLM summary for putin failed" in log.getvalue()
                    and "poll down: failed" in log.getvalue()
                    and "slack: mention latest" in log.getvalue()
                    and len(telegram.messages_to(ALICE)) >= 3
                ):
                    await asyncio.sleep(0.2)
                # httpx is held at WARNING (its request lines hold the Bot API URL, token included);
                # if someone turns it up, the filter still redacts the token.
                telegram.faults(rate=0)
                logging.getLogger("httpx").setLevel(logging.DEBUG)
                before = len(telegram.messages_to(ALICE))
                telegram.send_command(ALICE, "/help")
                await telegram.wait_for_messages(ALICE, before + 1, timeout=15)
                await asyncio.sleep(0.5)
            finally:
                app.request_stop()
                await asyncio.wait_for(running, 30)
        finally:
            root.handlers[:] = saved[0]
            root.setLevel(saved[1])
            for name, level in saved[2].items():
                logging.getLogger(name).setLevel(level)
            await llm_runner.cleanup()

    text = log.getvalue()
    # The log is real: one line per poll and per command, the failures with their causes.
    for expected in (
        "poll wire: ok",
        "poll down: failed",
        "connection refused",
        "LLM summary for putin failed",
        "telegram: chat 1001 (private) /latest",
        "slack: mention latest",
        "HTTP Request: POST",  # httpx, once turned up
    ):
        assert expected in text, expected
    assert " DEBUG " in text and "Traceback" in text  # debug level, and at least one logged exception
    assert "[redacted]" in text
    for secret in secrets:
        assert secret not in text, "a secret reached the log"
        for piece in re.split(r"[:\-]", secret):
            if len(piece) >= 12:
                assert piece not in text, f"part of a secret reached the log: {piece[:4]}…"
