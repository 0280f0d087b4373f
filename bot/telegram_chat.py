"""The Telegram adapter: Bot API updates → ``Commands`` → paced replies; and the outbox sender.

:class:`TelegramChat` runs python-telegram-bot's ``Application`` inside the caller's event loop
(explicit ``initialize``/``start``/``updater.start_polling``, never ``run_polling``), turns each
command — in private chats, groups, supergroups and channel posts, ``/latest@botname`` included —
into one ``Commands.handle`` call and sends the ``Reply`` back as Telegram HTML, paced by the same
:class:`~bot.delivery.Pacer` as the digests. It also follows the bot's own membership
(``my_chat_member``: blocked or removed → the subscription is deactivated, added back → it is
reactivated) and group → supergroup migrations. :class:`TelegramSender` sends outbox parts for
:class:`~bot.delivery.Delivery` and translates Bot API errors into delivery's exceptions.

This module must not decide what to answer (``bot.commands`` does), render digests
(``digests.render`` does) or retry outbox sends (``bot.delivery`` does: the sender tries once, and
python-telegram-bot's HTTPX request layer retries nothing either — its transport is built with
httpx's default ``retries=0`` and its request wrapper re-raises every failure). Message texts and
the bot token are never logged.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import time
import warnings
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from types import TracebackType
from typing import Any, Final, Self, cast

import httpx
from telegram import Bot as PTBBot
from telegram import BotCommand, ChatMember, LinkPreviewOptions, Message, MessageEntity, Update
from telegram.constants import ParseMode
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
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    ChatMemberHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.commands import COMMAND_HELP, ChatContext, ChatType, Commands, Reply
from bot.delivery import (
    ChatGone,
    ChatMoved,
    MarkupRejected,
    Pacer,
    RateLimited,
    Rejected,
    SendError,
    Transient,
    telegram_pacer,
)
from digests import render
from digests.leaders import Registry
from digests.storage import Storage

log = logging.getLogger("bot.telegram")

PLATFORM: Final = "telegram"
DEFAULT_API_URL: Final = "https://api.telegram.org"
ALLOWED_UPDATES: Final = ("message", "channel_post", "my_chat_member")
"""What the bot asks getUpdates for: commands, channel posts, migrations and its own membership."""

START_DESCRIPTION: Final = "what the bot does, with examples"
GONE_STATUSES: Final = frozenset({ChatMember.LEFT, ChatMember.BANNED})
PRESENT_STATUSES: Final = frozenset({ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER})
ADMIN_STATUSES: Final = frozenset({ChatMember.ADMINISTRATOR, ChatMember.OWNER})
NO_PREVIEW: Final = LinkPreviewOptions(is_disabled=True)
SORRY: Final = "Sorry, something went wrong while answering. Please try again in a minute."

# BadRequest descriptions that mean the bot can no longer post in the chat.
_GONE_MARKERS: Final = (
    "chat not found",
    "group chat was deactivated",
    "bot was kicked",
    "bot was blocked",
    "user is deactivated",
    "peer_id_invalid",
    "channel_private",
    "chat_write_forbidden",
    "not enough rights to send",
    "have no rights to send",
    "need administrator rights",
)
_MARKUP_MARKERS: Final = ("can't parse entities", "can't find end of the entity", "unsupported start tag")

ChatCallbackContext = ContextTypes.DEFAULT_TYPE


@dataclass(frozen=True)
class Timeouts:
    """Bot API request timeouts in seconds (connect, read, write, connection-pool wait).

    A long poll's read timeout is ``read`` plus the poll's own timeout (python-telegram-bot adds
    them). Tests lower ``read`` below the fake's "slow" delay to provoke ``TimedOut``.
    """

    connect: float = 5.0
    read: float = 15.0
    write: float = 15.0
    pool: float = 5.0


def telegram_request(timeouts: Timeouts = Timeouts(), *, pool_size: int = 64) -> HTTPXRequest:
    """python-telegram-bot's HTTPX request layer with explicit timeouts and no retries."""
    return HTTPXRequest(
        connection_pool_size=pool_size,
        connect_timeout=timeouts.connect,
        read_timeout=timeouts.read,
        write_timeout=timeouts.write,
        pool_timeout=timeouts.pool,
    )


def bot_base_url(api_url: str) -> str:
    """``TELEGRAM_API_URL`` (a server root such as ``https://api.telegram.org``) → PTB's ``base_url``."""
    return api_url.rstrip("/") + "/bot"


def make_bot(
    token: str, api_url: str = DEFAULT_API_URL, *, timeouts: Timeouts = Timeouts(), pool_size: int = 64
) -> PTBBot:
    """A plain ``telegram.Bot`` for sending only (``await bot.initialize()`` or ``async with`` it)."""
    root = api_url.rstrip("/")
    return PTBBot(
        token,
        base_url=bot_base_url(root),
        base_file_url=root + "/file/bot",
        request=telegram_request(timeouts, pool_size=pool_size),
    )


def bot_commands() -> list[BotCommand]:
    """Every command of the command set, with a short description, for ``setMyCommands``."""
    commands = [BotCommand("start", START_DESCRIPTION)]
    for name, usage, what in COMMAND_HELP:
        description = f"{usage} — {what}" if usage else what
        commands.append(BotCommand(name, description[:256]))
    return commands


_LINK = re.compile(r'<a\s+href="([^"]*)"\s*>(.*?)</a>', re.S)
_TAG = re.compile(r"<[^<>]*>")


def plain_from_html(chunk: str) -> str:
    """One Telegram HTML chunk as plain text: tags dropped, links as "label (url)", entities decoded.

    Never longer than the chunk itself (a link's markup is longer than its parentheses), so a
    chunk within Telegram's limit stays within it as plain text.
    """

    def link(match: re.Match[str]) -> str:
        url, label = match.group(1), match.group(2)
        return (
            f"{label} ({url})" if url and html.unescape(url) != html.unescape(_TAG.sub("", label)) else label
        )

    return html.unescape(_TAG.sub("", _LINK.sub(link, chunk)))


def html_parts(chunks: Sequence[str]) -> list[dict[str, str]]:
    """Outbox/reply parts for Telegram HTML chunks: ``{"html": chunk, "plain": its plain twin}``."""
    return [{"html": chunk, "plain": plain_from_html(chunk)} for chunk in chunks]


def retry_after_seconds(error: RetryAfter) -> float:
    """``RetryAfter.retry_after`` in seconds: PTB 22 gives an int (deprecated) or a timedelta."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: int | float | timedelta = error.retry_after
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    return max(seconds, 0.0)


def _httpx_cause(error: BaseException) -> BaseException | None:
    cause = error.__cause__
    return cause if isinstance(cause, httpx.HTTPError) else None


def classify_error(error: TelegramError) -> SendError:
    """A Bot API error → what delivery should do about it (see ``bot.delivery``)."""
    text = str(error)
    lowered = text.lower()
    if isinstance(error, RetryAfter):
        return RateLimited(retry_after_seconds(error))
    if isinstance(error, ChatMigrated):
        return ChatMoved(str(error.new_chat_id))
    if isinstance(error, Forbidden):
        return ChatGone(text)
    if isinstance(error, TimedOut):
        cause = _httpx_cause(error)
        # Waiting for a pooled connection or for the connect: the request never left.
        sent = not isinstance(cause, httpx.PoolTimeout | httpx.ConnectTimeout)
        return Transient(f"timed out ({type(cause).__name__ if cause else 'TimedOut'})", ambiguous=sent)
    if isinstance(error, BadRequest):  # before NetworkError: BadRequest is one
        if any(marker in lowered for marker in _MARKUP_MARKERS):
            return MarkupRejected(text)
        if any(marker in lowered for marker in _GONE_MARKERS):
            return ChatGone(text)
        return Rejected(text)
    if isinstance(error, InvalidToken | Conflict):
        # A configuration problem, not this message's: keep the digest for when it is fixed.
        return Transient(f"{type(error).__name__}: {text}")
    if isinstance(error, EndPointNotFound):
        return Rejected(text)
    if isinstance(error, NetworkError):
        cause = _httpx_cause(error)
        if cause is None:
            if error.__cause__ is not None and not isinstance(error.__cause__, TelegramError):
                return Transient(text[:300], ambiguous=True)  # a failure inside the HTTP client
            # The server answered with an error status (a 5xx, its body JSON or not): not sent.
            return Transient(f"server error: {text[:200]}")
        # A refused or failed connect never carried the request; anything later might have.
        return Transient(
            f"{type(cause).__name__}: {cause}"[:300], ambiguous=not isinstance(cause, httpx.ConnectError)
        )
    return Transient(f"{type(error).__name__}: {text}"[:300])


class TelegramSender:
    """``bot.delivery.Sender`` for Telegram: one ``sendMessage`` per part, never retried here.

    A part ``{"html": ..., "plain": ...}`` is sent in HTML parse mode; a part without ``html`` is
    sent as plain text from ``text`` (else ``plain``). Link previews are always off. Errors are
    raised as ``bot.delivery`` exceptions (see :func:`classify_error`).
    """

    platform = PLATFORM

    def __init__(self, bot: PTBBot) -> None:
        self.bot = bot

    async def send(self, chat_id: str, part: Mapping[str, Any], *, thread_id: int | None = None) -> str:
        text = part.get("html")
        parse_mode: str | None = ParseMode.HTML
        if not text:
            text = part.get("text") or part.get("plain")
            parse_mode = None
        if not isinstance(text, str) or not text.strip():
            raise Rejected("empty message part")
        try:
            message = await self.bot.send_message(
                chat_id=_api_chat_id(chat_id),
                text=text,
                parse_mode=parse_mode,
                link_preview_options=NO_PREVIEW,
                message_thread_id=thread_id,
            )
        except TelegramError as exc:
            raise classify_error(exc) from exc
        return str(message.message_id)

    def is_group(self, chat_id: str) -> bool:
        """Groups, supergroups and channels have negative ids (and ``@channelname`` is a channel)."""
        try:
            return int(chat_id) < 0
        except ValueError:
            return True


def _api_chat_id(chat_id: str) -> int | str:
    try:
        return int(chat_id)
    except ValueError:
        return chat_id


def parse_command(message: Message) -> tuple[str, str | None, str] | None:
    """``/name@target args`` at the start of a message → (name, target or None, args)."""
    if message.text is None:
        return None
    entity = next(
        (e for e in message.entities if e.type == MessageEntity.BOT_COMMAND and e.offset == 0), None
    )
    if entity is None:
        return None
    command = message.parse_entity(entity)
    args = message.text[len(command) :].strip()
    name, _, target = command[1:].partition("@")
    return name.lower(), target or None, args


class _PerChatProcessor(BaseUpdateProcessor):
    """One chat's updates in order, one at a time; different chats concurrently.

    A reply paced at one message a second in one chat must not hold up the other chats.
    """

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int | None, asyncio.Lock] = {}
        self._users: dict[int | None, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        key = chat.id if chat is not None else None
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


def _quiet_http_loggers() -> None:
    # httpx logs every request URL at INFO, and Bot API URLs contain the token. bot.logs holds
    # these loggers at WARNING; when nobody configured them (an embedding, a test) do the same.
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


class TelegramChat:
    """The Telegram side of the bot: long polling, command handling, paced replies.

    ``api_url`` is the Bot API server root (``TELEGRAM_API_URL``). ``pacer`` should be the one
    delivery uses for Telegram, so that replies and digests share the 25 messages/s budget.
    ``poll_timeout`` is the getUpdates long-poll timeout in seconds. Use ``await start()`` /
    ``await stop()`` (or ``async with``) inside a running event loop.
    """

    def __init__(
        self,
        token: str,
        api_url: str,
        commands: Commands,
        storage: Storage,
        registry: Registry,
        *,
        pacer: Pacer | None = None,
        timeouts: Timeouts = Timeouts(),
        poll_timeout: float = 10.0,
        pool_size: int = 64,
        max_concurrent_updates: int = 256,
        reply_attempts: int = 4,
        retry_backoff: float = 0.5,
    ) -> None:
        self.commands = commands
        self.storage = storage
        self.registry = registry
        self.pacer = pacer or telegram_pacer()
        self.poll_timeout = poll_timeout
        self.reply_attempts = reply_attempts
        self.retry_backoff = retry_backoff
        self.bot_username: str | None = None
        root = api_url.rstrip("/")
        self.app = (
            ApplicationBuilder()
            .token(token)
            .base_url(bot_base_url(root))
            .base_file_url(root + "/file/bot")
            .request(telegram_request(timeouts, pool_size=pool_size))
            .get_updates_request(telegram_request(timeouts, pool_size=1))
            .concurrent_updates(_PerChatProcessor(max_concurrent_updates))
            .job_queue(None)
            .build()
        )
        self.sender = TelegramSender(self.app.bot)
        self._add_handlers(self.app)
        self._started = False

    def _add_handlers(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        posted = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST
        app.add_handler(MessageHandler(filters.COMMAND & posted, self._on_command))
        app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, self._on_migrate))
        app.add_handler(ChatMemberHandler(self._on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
        app.add_error_handler(self._on_error)

    @property
    def bot(self) -> PTBBot:
        """The application's bot (for a :class:`TelegramSender`; ``self.sender`` is one already)."""
        return self.app.bot

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Resolve the bot (getMe), register the commands, start handling and long polling."""
        _quiet_http_loggers()
        await self.app.initialize()
        self.bot_username = self.app.bot.username
        await self.register_commands()
        await self.app.start()
        assert self.app.updater is not None
        await self.app.updater.start_polling(
            timeout=timedelta(seconds=self.poll_timeout),
            allowed_updates=list(ALLOWED_UPDATES),
            drop_pending_updates=False,
            error_callback=self._on_polling_error,
        )
        self._started = True
        log.info("telegram: polling as @%s", self.bot_username)

    async def stop(self) -> None:
        """Stop polling, finish the updates in hand, close the HTTP clients. Safe to call twice."""
        updater = self.app.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()
        if self._started:
            log.info("telegram: stopped")
        self._started = False

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def register_commands(self) -> None:
        """``setMyCommands`` with every command; a failure is logged, not fatal."""
        try:
            await self.app.bot.set_my_commands(bot_commands())
        except TelegramError as exc:
            log.warning("telegram: setMyCommands failed: %s", exc)

    # -- handlers --------------------------------------------------------------------------

    async def _on_command(self, update: Update, context: ChatCallbackContext) -> None:
        message = update.effective_message
        chat = update.effective_chat
        if message is None or chat is None:
            return
        parsed = parse_command(message)
        if parsed is None:
            return
        name, target, args = parsed
        private = chat.type == chat.PRIVATE
        me = (self.bot_username or "").lower()
        if target is not None and target.lower() != me and not private:
            return  # addressed to another bot in this group
        chat_type = cast(
            ChatType, chat.type if chat.type in ("private", "group", "supergroup", "channel") else "group"
        )
        ctx = ChatContext(
            platform=PLATFORM,
            chat_id=str(chat.id),
            chat_type=chat_type,
            user_id=str(message.from_user.id) if message.from_user else None,
            is_admin=lambda: self._is_admin(message),
        )
        started = time.monotonic()
        try:
            reply = await self.commands.handle(ctx, name, args)
        except Exception:
            log.exception("telegram: chat %s /%s failed", chat.id, name[:32])
            reply = Reply(SORRY, error=True)
        log.info(
            "telegram: chat %s (%s) /%s%s in %.0f ms",
            chat.id,
            chat.type,
            name[:32],
            " (hint)" if reply.error else "",
            (time.monotonic() - started) * 1000,
        )
        thread = message.message_thread_id if message.is_topic_message else None
        await self.post(str(chat.id), self.render(reply, str(chat.id)), group=not private, thread_id=thread)

    async def _is_admin(self, message: Message) -> bool:
        """Whether the sender may change this chat's subscription (getChatMember)."""
        chat = message.chat
        if chat.type == chat.CHANNEL:
            return True  # only admins can post in a channel
        if message.sender_chat is not None and message.sender_chat.id == chat.id:
            return True  # an anonymous group admin writes as the group itself
        if message.from_user is None:
            return False
        member = await self.app.bot.get_chat_member(chat.id, message.from_user.id)
        return member.status in ADMIN_STATUSES

    async def _on_migrate(self, update: Update, context: ChatCallbackContext) -> None:
        message = update.effective_message
        if message is None:
            return
        if message.migrate_to_chat_id:
            old, new = message.chat.id, message.migrate_to_chat_id
        elif message.migrate_from_chat_id:
            old, new = message.migrate_from_chat_id, message.chat.id
        else:
            return
        if self.storage.subscription(PLATFORM, str(old)) is None:
            return
        self.storage.migrate_chat(PLATFORM, str(old), str(new))
        log.info("telegram: chat %s migrated to %s: subscription moved", old, new)
        self._changed(str(new))

    async def _on_my_chat_member(self, update: Update, context: ChatCallbackContext) -> None:
        change = update.my_chat_member
        if change is None:
            return
        chat_id = str(change.chat.id)
        status = change.new_chat_member.status
        sub = self.storage.subscription(PLATFORM, chat_id)
        if status in GONE_STATUSES:
            reason = (
                "bot was blocked by the user"
                if change.chat.type == change.chat.PRIVATE
                else f"bot was removed from the {change.chat.type} ({status})"
            )
            log.info("telegram: chat %s: %s", chat_id, reason)
            if sub is not None and sub.active:
                self.storage.deactivate_chat(PLATFORM, chat_id, reason)
                self._changed(chat_id)
        elif status in PRESENT_STATUSES:
            log.info("telegram: chat %s: bot is %s", chat_id, status)
            if sub is not None and not sub.active:
                # leaders/time/timezone None: keep every setting, just reactivate.
                self.storage.upsert_subscription(
                    PLATFORM,
                    chat_id,
                    leaders=None,
                    time=None,
                    timezone=None,
                    now=self.commands.clock(),
                    default_time=self.commands.default_time,
                    default_timezone=self.commands.default_timezone,
                )
                log.info("telegram: chat %s: subscription reactivated", chat_id)
                self._changed(chat_id)

    async def _on_error(self, update: object, context: ChatCallbackContext) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        log.error("telegram: update in chat %s failed: %r", chat.id if chat else "-", context.error)

    def _on_polling_error(self, error: TelegramError) -> None:
        log.warning("telegram: getUpdates failed: %s", error)

    def _changed(self, chat_id: str) -> None:
        if self.commands.on_change is not None:
            self.commands.on_change(self.storage.subscription(PLATFORM, chat_id), PLATFORM, chat_id)

    # -- replies ---------------------------------------------------------------------------

    def _timezone(self, chat_id: str) -> str:
        sub = self.storage.subscription(PLATFORM, chat_id)
        return sub.timezone if sub is not None else self.commands.default_timezone

    def render(self, reply: Reply, chat_id: str) -> list[dict[str, str]]:
        """A reply as Telegram message parts (HTML with its plain-text twin), in the chat's zone."""
        if reply.statements is not None:
            leader, statements = reply.statements
            chunks = render.telegram_statements(leader, statements, tz=self._timezone(chat_id))
        elif reply.digest is not None:
            chunks = render.telegram_html(reply.digest, title=reply.text or None, tz=self._timezone(chat_id))
        else:
            chunks = render.chunk_html([render.escape_html(reply.text)])
        return html_parts(chunks)

    async def post(
        self,
        chat_id: str,
        parts: Sequence[Mapping[str, Any]],
        *,
        group: bool | None = None,
        thread_id: int | None = None,
    ) -> list[str]:
        """Send parts to a chat now, paced; returns the message ids sent.

        A rate limit is waited out and retried (never dropped); rejected markup is resent as
        plain text; a migrated chat is rewritten and the part resent; a gone chat has its
        subscription deactivated; a transient failure is retried ``reply_attempts`` times.
        """
        ids: list[str] = []
        if group is None:
            group = self.sender.is_group(chat_id)
        for original in parts:
            part: Mapping[str, Any] = original
            attempts = 0
            while True:
                await self.pacer.acquire(chat_id, group=group)
                try:
                    ids.append(await self.sender.send(chat_id, part, thread_id=thread_id))
                    break
                except RateLimited as exc:
                    log.info("telegram: reply to %s rate limited, waiting %.1f s", chat_id, exc.retry_after)
                    await asyncio.sleep(exc.retry_after)
                except MarkupRejected as exc:
                    plain = part.get("plain")
                    if not plain or "html" not in part:
                        log.warning("telegram: reply to %s rejected: %s", chat_id, exc)
                        break
                    log.warning(
                        "telegram: reply to %s: markup rejected (%s), resending as plain text", chat_id, exc
                    )
                    part = {"text": plain}
                except ChatMoved as exc:
                    log.info("telegram: chat %s moved to %s", chat_id, exc.new_chat_id)
                    self.storage.migrate_chat(PLATFORM, chat_id, exc.new_chat_id)
                    chat_id = exc.new_chat_id
                    self._changed(chat_id)
                except ChatGone as exc:
                    log.info("telegram: chat %s is gone (%s)", chat_id, exc.reason)
                    if self.storage.subscription(PLATFORM, chat_id) is not None:
                        self.storage.deactivate_chat(PLATFORM, chat_id, exc.reason)
                        self._changed(chat_id)
                    return ids
                except Rejected as exc:
                    log.warning("telegram: reply to %s rejected: %s", chat_id, exc)
                    break
                except Transient as exc:
                    attempts += 1
                    if attempts >= self.reply_attempts:
                        log.warning(
                            "telegram: reply to %s not sent after %d attempts: %s",
                            chat_id,
                            attempts,
                            exc.reason,
                        )
                        return ids
                    await asyncio.sleep(self.retry_backoff * 2 ** (attempts - 1))
        return ids
