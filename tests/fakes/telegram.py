"""A fake Telegram Bot API server on loopback, for tests and benchmarks.

`FakeTelegram` is an aiohttp application on ``127.0.0.1`` (port 0) that speaks the Bot API wire
format: ``GET``/``POST /bot<token>/<method>`` with parameters in the query string, a JSON body,
a form-urlencoded body or a multipart body (python-telegram-bot sends form fields whose complex
values are JSON strings), answering ``{"ok": true, "result": ...}`` or ``{"ok": false,
"error_code": N, "description": ..., "parameters": ...}`` with HTTP status N. It knows a set of
chats (private, group, supergroup, channel) with member statuses, queues updates for
``getUpdates`` long polling, validates ``sendMessage`` like Telegram does (HTML parse mode,
4096 UTF-16 code units of visible text), enforces Telegram's send rate limits on request, and
injects faults (floods, 429/5xx, dropped connections, replies slower than the client's timeout
that were nevertheless delivered). Every call and every delivered message is recorded.

Limits, on purpose: only the methods a text bot needs are implemented (others answer 404 "Not
Found", which python-telegram-bot reports as ``InvalidToken``, or ``EndPointNotFound`` from
``do_api_request``); Markdown parse modes are not
validated (the text is taken as is); HTML validation follows tdlib's parser and, with
``strict_html=True`` (the default), is stricter than Telegram in two documented ways: a bare
``&`` that does not start ``&lt;``, ``&gt;``, ``&amp;``, ``&quot;`` or a numeric reference
ending in ``;`` is rejected, and so is an attribute Telegram would silently ignore. A bare ``>``
is accepted, as Telegram does. Files, inline mode, payments and webhooks delivering updates are
not faked. Error texts for the strict-only checks are the fake's own wording.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import re
import socket
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self, TypeVar

from aiohttp import web

Params = dict[str, Any]
JsonDict = dict[str, Any]
_T = TypeVar("_T")

CHAT_TYPES = ("private", "group", "supergroup", "channel")
MEMBER_STATUSES = ("creator", "administrator", "member", "restricted", "left", "kicked")
FAULT_KINDS = ("429", "500", "502", "reset", "reset_after", "slow")
# Update types Telegram delivers when allowed_updates is unset or empty.
_NOT_DELIVERED_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_TOKEN_SHAPE = re.compile(r"\d+:[A-Za-z0-9_-]+")
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_BOT_COMMAND_AT_START = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")
_TRIMMED = " \t\r\n"
_NGINX_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


# --------------------------------------------------------------------------------------------
# Telegram's HTML subset
# --------------------------------------------------------------------------------------------


class HtmlParseError(ValueError):
    """The text is not valid Telegram HTML; ``str(exc)`` is the part after "can't parse entities: "."""


_ALLOWED_TAGS = frozenset(
    "a b strong i em u ins s strike del span tg-spoiler tg-emoji code pre blockquote".split()
)
_SIMPLE_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
}
_NAMED_ENTITIES = {b"lt": "<", b"gt": ">", b"amp": "&", b"quot": '"'}
_END = -1  # what the parser reads past the end of the text (where tdlib reads its NUL terminator)


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of Telegram's limits and offsets."""
    return len(text.encode("utf-16-le")) // 2


def _is_space(c: int) -> bool:
    return c in (_END, 0x20, 0x09, 0x0A, 0x0D, 0x0B, 0x0C)


def _is_name_char(c: int) -> bool:
    return c != _END and (chr(c).isascii() and (chr(c).isalnum() or c in (0x2E, 0x2D)))


@dataclass
class _OpenTag:
    name: str
    argument: str
    utf16_start: int
    byte_offset: int


def _decode_entity(data: bytes, pos: int, strict: bool) -> tuple[str, int] | None:
    """Decode the character reference at ``data[pos] == '&'``: (character, next position) or None.

    tdlib accepts a reference without its closing ``;``; strict mode wants the ``;``.
    """
    n = len(data)
    end = pos + 1
    code = 0
    if end < n and data[end] == 0x23:  # '#'
        end += 1
        digits = 0
        if end < n and data[end] in (0x78, 0x58):  # 'x' / 'X'
            end += 1
            while end < n and chr(data[end]) in "0123456789abcdefABCDEF":
                code = code * 16 + int(chr(data[end]), 16)
                end += 1
                digits += 1
                if code >= 0x10FFFF:
                    return None
        else:
            while end < n and 0x30 <= data[end] <= 0x39:
                code = code * 10 + data[end] - 0x30
                end += 1
                digits += 1
                if code >= 0x10FFFF:
                    return None
        if digits == 0 or code == 0 or end - pos >= 10 or 0xD800 <= code <= 0xDFFF:
            return None
        char = chr(code)
    else:
        while end < n and chr(data[end]).isascii() and chr(data[end]).isalpha():
            end += 1
        named = _NAMED_ENTITIES.get(data[pos + 1 : end])
        if named is None:
            return None
        char = named
    if end < n and data[end] == 0x3B:  # ';'
        return char, end + 1
    if strict:
        return None
    return char, end


def parse_html(text: str, *, strict: bool = True) -> tuple[str, list[JsonDict]]:
    """Parse Telegram HTML into (visible text, MessageEntity dicts), like tdlib does.

    Offsets in error messages are byte offsets in the UTF-8 text, entity offsets and lengths are
    UTF-16 code units. Raises `HtmlParseError` with Telegram's wording (tdlib's ``parse_html``);
    see the module docstring for what ``strict`` adds.
    """
    data = text.encode("utf-8")
    n = len(data)

    def at(k: int) -> int:
        return data[k] if k < n else _END

    out = bytearray()
    utf16 = 0
    stack: list[_OpenTag] = []
    entities: list[JsonDict] = []
    i = 0
    while i < n:
        c = data[i]
        if c == 0x26:  # '&'
            decoded = _decode_entity(data, i, strict)
            if decoded is not None:
                char, i = decoded
                out += char.encode("utf-8")
                utf16 += utf16_len(char)
                continue
            if strict:
                raise HtmlParseError(f'Character "&" must be escaped as "&amp;" at byte offset {i}')
        if c != 0x3C:  # not '<'
            out.append(c)
            if c < 0x80 or c >= 0xC0:  # first byte of a UTF-8 sequence
                utf16 += 2 if c >= 0xF0 else 1
            i += 1
            continue

        begin = i
        i += 1
        if at(i) != 0x2F:  # start tag
            while not _is_space(at(i)) and at(i) != 0x3E:
                i += 1
            if at(i) == _END:
                raise HtmlParseError(f"Unclosed start tag at byte offset {begin}")
            tag = data[begin + 1 : i].decode("utf-8", "replace").lower()
            if tag not in _ALLOWED_TAGS:
                raise HtmlParseError(f'Unsupported start tag "{tag}" at byte offset {begin}')
            argument = ""
            while at(i) != 0x3E:
                while at(i) != _END and _is_space(at(i)):
                    i += 1
                if at(i) == 0x3E:
                    break
                if at(i) == _END:
                    raise HtmlParseError(f"Unclosed start tag at byte offset {begin}")
                name_begin = i
                while not _is_space(at(i)) and at(i) not in (0x3D, 0x3E):
                    i += 1
                attribute = data[name_begin:i].decode("utf-8", "replace").lower()
                if not attribute:
                    raise HtmlParseError(f'Empty attribute name in the tag "{tag}" at byte offset {begin}')
                while at(i) != _END and _is_space(at(i)):
                    i += 1
                if at(i) == _END:
                    raise HtmlParseError(f"Unclosed start tag at byte offset {begin}")
                if at(i) != 0x3D:  # no '=': only <blockquote expandable> may do that
                    if tag == "blockquote" and attribute == "expandable":
                        argument = "1"
                        continue
                    raise HtmlParseError(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag}" at byte offset {begin}'
                    )
                i += 1
                while at(i) != _END and _is_space(at(i)):
                    i += 1
                if at(i) == _END:
                    raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                if at(i) not in (0x22, 0x27):  # an unquoted value: a name token
                    token_begin = i
                    while _is_name_char(at(i)):
                        i += 1
                    value = data[token_begin:i].decode("utf-8", "replace").lower()
                    if not _is_space(at(i)) and at(i) != 0x3E:
                        raise HtmlParseError(f"Unexpected end of name token at byte offset {token_begin}")
                else:
                    quote = at(i)
                    i += 1
                    raw = bytearray()
                    while at(i) != quote and at(i) != _END:
                        if at(i) == 0x26:
                            decoded = _decode_entity(data, i, strict)
                            if decoded is not None:
                                char, i = decoded
                                raw += char.encode("utf-8")
                                continue
                            if strict:
                                raise HtmlParseError(
                                    f'Character "&" must be escaped as "&amp;" at byte offset {i}'
                                )
                        raw.append(at(i))
                        i += 1
                    if at(i) == quote:
                        i += 1
                    value = raw.decode("utf-8", "replace")
                if at(i) == _END:
                    raise HtmlParseError(f"Unclosed start tag at byte offset {begin}")
                if tag == "a" and attribute == "href":
                    argument = value
                elif tag == "code" and attribute == "class" and value.startswith("language-"):
                    argument = value[len("language-") :]
                elif tag == "span" and attribute == "class":
                    argument = value[len("tg-") :] if value.startswith("tg-") else ""
                elif tag == "tg-emoji" and attribute == "emoji-id":
                    argument = value
                elif tag == "blockquote" and attribute == "expandable":
                    argument = "1"
                elif strict:
                    raise HtmlParseError(
                        f'Unsupported attribute {attribute}="{value}" in the tag "{tag}" '
                        f"at byte offset {begin}"
                    )
            if tag == "span" and argument != "spoiler":
                raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
            stack.append(_OpenTag(tag, argument, utf16, begin))
            i += 1  # past '>'
            continue

        # end tag
        if not stack:
            raise HtmlParseError(f"Unexpected end tag at byte offset {begin}")
        i += 1  # past '/'
        name_begin = i
        while not _is_space(at(i)) and at(i) != 0x3E:
            i += 1
        end_name = data[name_begin:i].decode("utf-8", "replace").lower()
        while at(i) != _END and _is_space(at(i)):
            i += 1
        if at(i) != 0x3E:
            raise HtmlParseError(f"Unclosed end tag at byte offset {begin}")
        i += 1
        opened = stack.pop()
        if end_name and end_name != opened.name:
            raise HtmlParseError(
                f'Unmatched end tag at byte offset {begin}, expected "</{opened.name}>", '
                f'found "</{end_name}>"'
            )
        _close_entity(opened, utf16, entities)

    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return out.decode("utf-8"), entities


def _close_entity(opened: _OpenTag, utf16_end: int, entities: list[JsonDict]) -> None:
    length = utf16_end - opened.utf16_start
    if opened.name == "tg-emoji":
        if not opened.argument.isdigit() or int(opened.argument) == 0:
            raise HtmlParseError("Invalid custom emoji identifier specified")
    if length <= 0:
        return  # Telegram drops empty entities
    entity: JsonDict = {"offset": opened.utf16_start, "length": length}
    if opened.name in _SIMPLE_ENTITY:
        entity["type"] = _SIMPLE_ENTITY[opened.name]
        if opened.name == "code" and opened.argument:
            entity["language"] = opened.argument  # merged into an enclosing <pre> below
    elif opened.name == "a":
        if not opened.argument:
            return  # an <a> without href is plain text
        entity["type"] = "text_link"
        entity["url"] = opened.argument
    elif opened.name == "pre":
        entity["type"] = "pre"
        inner = entities[-1] if entities else None
        if (
            inner is not None
            and inner["type"] == "code"
            and inner["offset"] == entity["offset"]
            and inner["length"] == length
        ):
            entities.pop()
            if "language" in inner:
                entity["language"] = inner["language"]
    elif opened.name == "blockquote":
        entity["type"] = "expandable_blockquote" if opened.argument else "blockquote"
    elif opened.name == "tg-emoji":
        entity["type"] = "custom_emoji"
        entity["custom_emoji_id"] = opened.argument
    entities.append(entity)


def _trim(text: str, entities: list[JsonDict]) -> tuple[str, list[JsonDict]]:
    """Strip surrounding whitespace like Telegram, moving and clipping the entities."""
    left = text.lstrip(_TRIMMED)
    shift = utf16_len(text) - utf16_len(left)
    result = left.rstrip(_TRIMMED)
    total = utf16_len(result)
    kept: list[JsonDict] = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return result, kept


# --------------------------------------------------------------------------------------------
# Records and configuration
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateLimits:
    """Telegram's send limits, as sliding windows over delivered messages.

    ``tolerance`` shortens every window a little, for the jitter between a client pacing at
    exactly the limit and the arrival of its requests.
    """

    per_bot: int = 30
    per_bot_window: float = 1.0
    per_private_chat: int = 1
    private_window: float = 1.0
    per_group: int = 20
    group_window: float = 60.0
    tolerance: float = 0.05


@dataclass(frozen=True)
class Call:
    """One request: ``status`` is None when the connection was dropped without an answer."""

    method: str
    params: Params
    status: int | None
    fault: str | None
    time: float
    description: str | None = None


@dataclass(frozen=True)
class SentMessage:
    """A delivered message. ``fault`` is "slow" or "reset_after" when the client never saw the answer."""

    chat_id: int
    message_id: int
    text: str
    raw_text: str
    parse_mode: str | None
    entities: tuple[JsonDict, ...]
    link_preview_options: JsonDict | None
    disable_web_page_preview: bool | None
    reply_markup: JsonDict | None
    time: float
    monotonic: float
    fault: str | None = None

    @property
    def link_preview_disabled(self) -> bool:
        """Whether the sender asked for no link preview, by either parameter."""
        if self.link_preview_options is not None and self.link_preview_options.get("is_disabled"):
            return True
        return bool(self.disable_web_page_preview)


@dataclass
class FakeChat:
    """A chat the fake knows; ``state`` is None, "blocked", "kicked", "deactivated" or "migrated"."""

    id: int
    type: str
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    members: dict[int, str] = field(default_factory=dict)
    default_status: str = "member"
    state: str | None = None
    migrated_to: int | None = None
    next_message_id: int = 1

    def to_api(self) -> JsonDict:
        """The Bot API ``Chat`` object."""
        chat: JsonDict = {"id": self.id, "type": self.type}
        if self.title is not None:
            chat["title"] = self.title
        if self.username is not None:
            chat["username"] = self.username
        if self.first_name is not None:
            chat["first_name"] = self.first_name
        return chat

    def status_of(self, user_id: int) -> str:
        """The member status of ``user_id`` in this chat."""
        return self.members.get(user_id, self.default_status)


class _ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: JsonDict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


class _SlidingWindow:
    """Timestamps of delivered messages inside one limit's window."""

    def __init__(self) -> None:
        self.stamps: deque[float] = deque()

    def wait_needed(self, now: float, limit: int, window: float) -> float:
        while self.stamps and self.stamps[0] <= now - window:
            self.stamps.popleft()
        if len(self.stamps) < limit:
            return 0.0
        return self.stamps[0] + window - now


# --------------------------------------------------------------------------------------------
# Parameter coercion: JSON bodies give native values, form bodies give strings
# --------------------------------------------------------------------------------------------


def _param_str(params: Params, name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)


def _param_int(params: Params, name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise _ApiError(400, f'Bad Request: invalid parameter "{name}"')


def _param_float(params: Params, name: str) -> float | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise _ApiError(400, f'Bad Request: invalid parameter "{name}"')


def _param_bool(params: Params, name: str) -> bool | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str) and value.lower() in ("true", "1", "false", "0"):
        return value.lower() in ("true", "1")
    raise _ApiError(400, f'Bad Request: invalid parameter "{name}"')


def _param_json(params: Params, name: str) -> Any:
    value = params.get(name)
    if isinstance(value, str):
        if value == "":
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise _ApiError(400, f"Bad Request: can't parse {name} JSON object") from None
    return value


def _is_entity(value: object) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("type"), str)
        and isinstance(value.get("offset"), int)
        and isinstance(value.get("length"), int)
    )


def _chat_member(user: JsonDict, status: str) -> JsonDict:
    """A ``ChatMember`` object with every field python-telegram-bot requires for ``status``."""
    member: JsonDict = {"user": user, "status": status}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        rights = "manage_chat delete_messages manage_video_chats restrict_members change_info invite_users"
        rights += " post_stories edit_stories delete_stories post_messages edit_messages pin_messages"
        member.update({f"can_{right}": True for right in rights.split()})
        member.update(can_be_edited=False, is_anonymous=False, can_promote_members=False)
    elif status == "restricted":
        rights = "change_info invite_users pin_messages send_messages send_polls send_other_messages"
        rights += " add_web_page_previews manage_topics send_audios send_documents send_photos"
        rights += " send_videos send_video_notes send_voice_notes edit_tag react_to_messages"
        member.update({f"can_{right}": False for right in rights.split()})
        member.update(is_member=True, until_date=0)
    elif status == "kicked":
        member["until_date"] = 0
    return member


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------

_Handler = Callable[[Params, str | None], Awaitable[Any]]


class FakeTelegram:
    """A Bot API server for one bot token; see the module docstring.

    Use ``async with FakeTelegram() as fake:`` and point python-telegram-bot at it with
    ``Bot(fake.token, base_url=fake.base_url)``; everything else (chats, updates, faults,
    records) is set and read from the test, on the same event loop.
    """

    def __init__(
        self,
        token: str = "123456789:TEST-fake-token",
        *,
        bot_username: str = "digest_test_bot",
        bot_name: str = "Digest Test Bot",
        enforce_limits: bool = False,
        limits: RateLimits | None = None,
        strict_html: bool = True,
        max_message_length: int = 4096,
        max_poll_timeout: float = 50.0,
        slow_delay: float = 15.0,
        host: str = "127.0.0.1",
    ) -> None:
        if not _TOKEN_SHAPE.fullmatch(token):
            raise ValueError("a bot token looks like '123456:ABC-def'")
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.bot_name = bot_name
        self.enforce_limits = enforce_limits
        self.limits = limits or RateLimits()
        self.strict_html = strict_html
        self.max_message_length = max_message_length
        self.max_poll_timeout = max_poll_timeout
        self.slow_delay = slow_delay
        self.host = host

        self.chats: dict[int, FakeChat] = {}
        self.users: dict[int, JsonDict] = {}
        self.commands: dict[tuple[str, str], list[JsonDict]] = {}
        self.webhook_url = ""
        self.allowed_updates: list[str] | None = None
        self.default_user_id = 1001  # who writes in groups when a test names nobody

        self.sent: list[SentMessage] = []
        self.edits: list[SentMessage] = []
        self.calls: list[Call] = []
        self.status_counts: Counter[int] = Counter()
        self.injected: Counter[str] = Counter()
        self.limit_429s = 0
        self.dropped_connections = 0

        self._updates: list[JsonDict] = []
        self._next_update_id = 1
        self._current: dict[tuple[int, int], SentMessage] = {}
        self._sent_by_chat: dict[int, list[SentMessage]] = {}
        self._windows: dict[object, _SlidingWindow] = {}
        self._flood_left = 0
        self._flood_retry_after = 1
        self._flood_methods: frozenset[str] | None = None
        self._fault_rate = 0.0
        self._fault_kinds: tuple[str, ...] = ()
        self._fault_methods: frozenset[str] = frozenset({"sendmessage"})
        self._fault_retry_after = 1
        self._rng = random.Random()
        self._poll_generation = 0
        self._pollers = 0
        self._bump: asyncio.Event | None = None
        self._closing: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._methods: dict[str, _Handler] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "deletemessage": self._delete_message,
            "sendchataction": self._send_chat_action,
            "getchat": self._get_chat,
            "getchatmember": self._get_chat_member,
            "getchatadministrators": self._get_chat_administrators,
            "answercallbackquery": self._true,
            "close": self._true,
            "logout": self._true,
        }

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on ``host``, a free port."""
        if self._runner is not None:
            return
        self._bump = asyncio.Event()
        self._closing = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((self.host, 0))
        self._port = int(sock.getsockname()[1])
        site = web.SockSite(runner, sock)
        await site.start()
        self._runner = runner

    async def stop(self) -> None:
        """Answer pending long polls (empty) and slow replies at once, then close the server."""
        if self._runner is None:
            return
        assert self._closing is not None
        self._closing.set()
        self._notify()
        runner, self._runner = self._runner, None
        await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeTelegram is not started")
        return self._port

    @property
    def api_root(self) -> str:
        """The server root, like ``https://api.telegram.org`` (a TELEGRAM_API_URL value)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """python-telegram-bot's ``base_url``: it appends the token, then ``/<method>``."""
        return f"{self.api_root}/bot"

    # ---- chats and users -------------------------------------------------------------------

    def add_chat(
        self,
        chat_id: int,
        type: str | None = None,
        *,
        title: str | None = None,
        username: str | None = None,
        first_name: str | None = None,
        members: Mapping[int, str] | None = None,
        default_status: str = "member",
    ) -> FakeChat:
        """Make a chat known; the type defaults from the id (>0 private, -100… supergroup, else group)."""
        if type is None:
            type = "private" if chat_id > 0 else "supergroup" if chat_id <= -1_000_000_000_000 else "group"
        if type not in CHAT_TYPES:
            raise ValueError(f"chat type must be one of {CHAT_TYPES}")
        if type == "private":
            if chat_id <= 0:
                raise ValueError("a private chat's id is the user's id, a positive number")
            first_name = first_name or self.user(chat_id)["first_name"]
            username = username or self.user(chat_id).get("username")
        else:
            title = title or f"Chat {chat_id}"
        statuses = dict(members or {})
        for status in statuses.values():
            self._check_status(status)
        if type == "channel":
            statuses.setdefault(self.bot_id, "administrator")  # bots post in channels as admins
        chat = FakeChat(chat_id, type, title, username, first_name, statuses, default_status)
        self.chats[chat_id] = chat
        return chat

    def chat(self, chat_id: int) -> FakeChat:
        """A known chat (KeyError otherwise)."""
        return self.chats[chat_id]

    def add_user(
        self, user_id: int, first_name: str | None = None, *, username: str | None = None
    ) -> JsonDict:
        """Register a user's name; unknown users get "User<id>" / "user<id>"."""
        user: JsonDict = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name or f"User{user_id}",
            "username": username or f"user{user_id}",
            "language_code": "en",
        }
        self.users[user_id] = user
        return user

    def user(self, user_id: int) -> JsonDict:
        """The ``User`` object of ``user_id`` (or of the bot)."""
        if user_id == self.bot_id:
            return self._bot_user()
        return self.users.get(user_id) or self.add_user(user_id)

    def set_member(self, chat_id: int, user_id: int, status: str) -> None:
        """Set what getChatMember answers for (chat, user)."""
        self._check_status(status)
        self.chats[chat_id].members[user_id] = status

    def block(self, chat_id: int) -> None:
        """The user blocked the bot: sends answer 403 "Forbidden: bot was blocked by the user"."""
        self.chats[chat_id].state = "blocked"

    def kick(self, chat_id: int) -> None:
        """The bot was removed from the group, supergroup or channel: sends answer 403."""
        chat = self.chats[chat_id]
        chat.state = "kicked" if chat.type != "private" else "blocked"
        chat.members[self.bot_id] = "kicked" if chat.type != "private" else "left"

    def deactivate(self, chat_id: int) -> None:
        """The user deleted their account: sends answer 403 "Forbidden: user is deactivated"."""
        self.chats[chat_id].state = "deactivated"

    def restore(self, chat_id: int) -> None:
        """Undo block/kick/deactivate."""
        chat = self.chats[chat_id]
        chat.state = None
        chat.members.pop(self.bot_id, None)

    def migrate(self, chat_id: int, new_id: int | None = None) -> FakeChat:
        """Upgrade a group to a supergroup; sends to the old id answer 400 with migrate_to_chat_id."""
        old = self.chats[chat_id]
        new_id = new_id if new_id is not None else -1_000_000_000_000 - abs(chat_id)
        new = self.add_chat(new_id, "supergroup", title=old.title, members=old.members)
        old.state = "migrated"
        old.migrated_to = new_id
        return new

    # ---- faults ----------------------------------------------------------------------------

    def flood(self, n: int, retry_after: int = 1, methods: Iterable[str] | None = None) -> None:
        """The next ``n`` calls answer 429 "Too Many Requests: retry after X".

        ``methods`` limits which calls count (default: every method but getUpdates).
        """
        self._flood_left = n
        self._flood_retry_after = retry_after
        self._flood_methods = None if methods is None else frozenset(m.lower() for m in methods)

    def faults(
        self,
        rate: float = 0.1,
        kinds: Iterable[str] = ("429", "500", "reset", "slow"),
        seed: int | None = None,
        *,
        methods: Iterable[str] = ("sendMessage",),
        retry_after: int = 1,
        slow_delay: float | None = None,
    ) -> None:
        """Answer a share ``rate`` of ``methods`` calls with a fault drawn from ``kinds``.

        Kinds: "429" (retry_after), "500" (500 JSON or 502 nginx HTML, at random), "502" (only
        the latter), "reset" (connection dropped, message not delivered), "reset_after"
        (delivered, then the connection dropped), "slow" (delivered, answered after
        ``slow_delay`` seconds: set the client's read timeout below it). ``rate=0`` turns off.
        """
        kinds = tuple(kinds)
        unknown = set(kinds) - set(FAULT_KINDS)
        if unknown or (rate > 0 and not kinds):
            raise ValueError(f"fault kinds must be among {FAULT_KINDS}")
        self._fault_rate = rate
        self._fault_kinds = kinds
        self._fault_methods = frozenset(m.lower() for m in methods)
        self._fault_retry_after = retry_after
        self._rng = random.Random(seed)
        if slow_delay is not None:
            self.slow_delay = slow_delay

    # ---- updates ---------------------------------------------------------------------------

    def push_update(self, update: Mapping[str, Any]) -> int:
        """Queue an update for getUpdates; returns its update_id (assigned when missing)."""
        data = dict(update)
        if "update_id" not in data:
            data["update_id"] = self._next_update_id
        self._next_update_id = max(self._next_update_id, int(data["update_id"])) + 1
        self._updates.append(data)
        self._notify()
        return int(data["update_id"])

    def send_text(
        self,
        chat_id: int,
        text: str,
        *,
        from_user_id: int | None = None,
        chat_type: str | None = None,
    ) -> int:
        """A user writes ``text`` in a chat (created if unknown); returns the update_id.

        A leading ``/command[@bot]`` gets the ``bot_command`` entity Telegram adds.
        """
        chat = self.chats.get(chat_id) or self.add_chat(chat_id, chat_type)
        if chat.type == "channel":
            return self.channel_post(chat_id, text)
        user_id = from_user_id if from_user_id is not None else self._default_sender(chat)
        message = self._incoming_message(chat, text)
        message["from"] = self.user(user_id)
        return self.push_update({"message": message})

    def send_command(
        self,
        chat_id: int,
        text: str,
        *,
        from_user_id: int | None = None,
        chat_type: str | None = None,
    ) -> int:
        """Like `send_text`, for a text that starts with a command ("/latest putin")."""
        if not _BOT_COMMAND_AT_START.match(text):
            raise ValueError("a command starts with /name")
        return self.send_text(chat_id, text, from_user_id=from_user_id, chat_type=chat_type)

    def channel_post(self, chat_id: int, text: str) -> int:
        """A post in a channel (created if unknown): no ``from``, ``sender_chat`` is the channel."""
        chat = self.chats.get(chat_id) or self.add_chat(chat_id, "channel")
        message = self._incoming_message(chat, text)
        message["sender_chat"] = chat.to_api()
        return self.push_update({"channel_post": message})

    def my_chat_member(
        self,
        chat_id: int,
        old_status: str,
        new_status: str,
        *,
        from_user_id: int | None = None,
        chat_type: str | None = None,
    ) -> int:
        """The bot's own membership changed (added, promoted, removed); also updates the chat."""
        self._check_status(old_status)
        self._check_status(new_status)
        chat = self.chats.get(chat_id) or self.add_chat(chat_id, chat_type)
        actor = from_user_id if from_user_id is not None else self._default_sender(chat)
        if new_status in ("left", "kicked"):
            chat.state = "blocked" if chat.type == "private" else "kicked"
        elif chat.state in ("blocked", "kicked"):
            chat.state = None
        chat.members[self.bot_id] = new_status
        bot = self._bot_user()
        return self.push_update(
            {
                "my_chat_member": {
                    "chat": chat.to_api(),
                    "from": self.user(actor),
                    "date": int(time.time()),
                    "old_chat_member": _chat_member(bot, old_status),
                    "new_chat_member": _chat_member(bot, new_status),
                }
            }
        )

    @property
    def pending_updates(self) -> list[JsonDict]:
        """Updates not yet confirmed by a getUpdates offset."""
        return list(self._updates)

    # ---- records ---------------------------------------------------------------------------

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """Messages delivered to a chat, in order."""
        return list(self._sent_by_chat.get(chat_id, ()))

    def calls_to(self, method: str) -> list[Call]:
        """Every call of ``method`` (any case), in order."""
        return [c for c in self.calls if c.method.lower() == method.lower()]

    @property
    def rate_limited(self) -> int:
        """429 answers of any origin (enforced limits, flood, injected faults)."""
        return self.status_counts[429]

    @property
    def errors(self) -> int:
        """Answers with status ≥ 400 plus dropped connections."""
        return sum(n for status, n in self.status_counts.items() if status >= 400) + self.dropped_connections

    def clear_records(self) -> None:
        """Forget calls, deliveries and counters (chats, updates and commands stay)."""
        self.sent.clear()
        self._sent_by_chat.clear()
        self.edits.clear()
        self.calls.clear()
        self.status_counts.clear()
        self.injected.clear()
        self.limit_429s = 0
        self.dropped_connections = 0

    async def wait_for_messages(
        self, chat_id: int | None, count: int, timeout: float = 5.0
    ) -> list[SentMessage]:
        """Wait until ``count`` messages were delivered to ``chat_id`` (None: to any chat)."""

        def ready() -> list[SentMessage] | None:
            found = self.sent if chat_id is None else self._sent_by_chat.get(chat_id, [])
            return list(found) if len(found) >= count else None

        try:
            return await self._wait_for(ready, timeout)
        except TimeoutError:
            found = self.sent if chat_id is None else self.messages_to(chat_id)
            raise TimeoutError(
                f"expected {count} message(s) to chat {chat_id} within {timeout} s, "
                f"got {len(found)}: {[m.text[:60] for m in found]}"
            ) from None

    async def wait_for_calls(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until ``method`` was called ``count`` times (answered or dropped)."""

        def ready() -> list[Call] | None:
            found = self.calls_to(method)
            return found if len(found) >= count else None

        return await self._wait_for(ready, timeout)

    async def wait_for_poller(self, timeout: float = 5.0) -> None:
        """Wait until a getUpdates request is waiting (the bot is polling)."""
        await self._wait_for(lambda: True if self._pollers > 0 else None, timeout)

    # ---- internals: plumbing ---------------------------------------------------------------

    def _notify(self) -> None:
        if self._bump is None:
            return
        event, self._bump = self._bump, asyncio.Event()
        event.set()

    async def _wait_change(self, timeout: float) -> None:
        if self._bump is None:
            self._bump = asyncio.Event()
        try:
            await asyncio.wait_for(self._bump.wait(), timeout)
        except TimeoutError:
            pass

    async def _wait_for(self, ready: Callable[[], _T | None], timeout: float) -> _T:
        deadline = time.monotonic() + timeout
        while True:
            result = ready()
            if result is not None:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout} s")
            await self._wait_change(remaining)

    @staticmethod
    def _check_status(status: str) -> None:
        if status not in MEMBER_STATUSES:
            raise ValueError(f"member status must be one of {MEMBER_STATUSES}")

    def _bot_user(self) -> JsonDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_name,
            "username": self.bot_username,
        }

    def _default_sender(self, chat: FakeChat) -> int:
        return chat.id if chat.type == "private" else self.default_user_id

    def _incoming_message(self, chat: FakeChat, text: str) -> JsonDict:
        message: JsonDict = {
            "message_id": chat.next_message_id,
            "date": int(time.time()),
            "chat": chat.to_api(),
            "text": text,
        }
        chat.next_message_id += 1
        command = _BOT_COMMAND_AT_START.match(text)
        if command:
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command.group())}]
        return message

    @staticmethod
    def _response(status: int, body: JsonDict) -> web.Response:
        return web.json_response(body, status=status)

    def _record(
        self,
        method: str,
        params: Params,
        status: int | None,
        fault: str | None = None,
        description: str | None = None,
    ) -> None:
        if status is None:
            self.dropped_connections += 1
        else:
            self.status_counts[status] += 1
        self.calls.append(Call(method, params, status, fault, time.time(), description))
        self._notify()

    def _error(self, method: str, params: Params, error: _ApiError, fault: str | None = None) -> web.Response:
        body: JsonDict = {"ok": False, "error_code": error.status, "description": error.description}
        if error.parameters:
            body["parameters"] = error.parameters
        self._record(method, params, error.status, fault, error.description)
        return self._response(error.status, body)

    async def _read_params(self, request: web.Request) -> Params:
        params: Params = dict(request.query)
        if not request.can_read_body:
            return params
        content_type = request.content_type
        if content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise _ApiError(400, "Bad Request: can't parse JSON request body") from None
            if not isinstance(body, dict):
                raise _ApiError(400, "Bad Request: the JSON request body must be an object")
            params.update(body)
        elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, str):
                    params[key] = value
                elif isinstance(value, web.FileField):  # an upload: remember what, not the bytes
                    params[key] = {"filename": value.filename, "content_type": value.content_type}
                else:
                    params[key] = bytes(value).decode("utf-8", "replace")
        else:
            await request.read()
        return params

    def _draw_fault(self, method: str) -> str | None:
        if self._fault_rate <= 0 or method not in self._fault_methods:
            return None
        if self._rng.random() >= self._fault_rate:
            return None
        kind = self._rng.choice(self._fault_kinds)
        if kind == "500":
            kind = self._rng.choice(("500", "502"))
        return kind

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        method = request.match_info["method"]
        try:
            params = await self._read_params(request)
        except _ApiError as error:
            return self._error(method, {}, error)
        if not _TOKEN_SHAPE.fullmatch(token):
            return self._error(method, params, _ApiError(404, "Not Found"))
        if token != self.token:
            return self._error(method, params, _ApiError(401, "Unauthorized"))
        key = method.lower()
        handler = self._methods.get(key)
        if handler is None:
            return self._error(method, params, _ApiError(404, "Not Found"))

        if self._flood_left > 0 and (
            key in self._flood_methods if self._flood_methods is not None else key != "getupdates"
        ):
            self._flood_left -= 1
            self.injected["flood"] += 1
            seconds = self._flood_retry_after
            flood = _ApiError(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})
            return self._error(method, params, flood, "flood")

        fault = self._draw_fault(key)
        if fault is not None:
            self.injected[fault] += 1
        if fault == "429":
            seconds = self._fault_retry_after
            too_many = _ApiError(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})
            return self._error(method, params, too_many, fault)
        if fault == "500":
            return self._error(method, params, _ApiError(500, "Internal Server Error"), fault)
        if fault == "502":
            self._record(method, params, 502, fault, "Bad Gateway")
            return web.Response(status=502, text=_NGINX_502, content_type="text/html")
        if fault == "reset":
            return self._drop(request, method, params, fault)

        try:
            result = await handler(params, fault)
        except _ApiError as error:
            return self._error(method, params, error)

        if fault == "reset_after":
            return self._drop(request, method, params, fault)
        if fault == "slow":
            assert self._closing is not None
            try:
                await asyncio.wait_for(self._closing.wait(), self.slow_delay)
            except TimeoutError:
                pass
        self._record(method, params, 200, fault)
        return self._response(200, {"ok": True, "result": result})

    def _drop(self, request: web.Request, method: str, params: Params, fault: str) -> web.Response:
        """Close the connection without an answer (aiohttp then writes nothing)."""
        if request.transport is not None:
            request.transport.abort()
        self._record(method, params, None, fault)
        return web.Response(status=500)

    # ---- internals: chats, text, limits ----------------------------------------------------

    def _resolve_chat(self, params: Params) -> FakeChat:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise _ApiError(400, "Bad Request: chat_id is empty")
        chat: FakeChat | None = None
        if isinstance(raw, str) and raw.startswith("@"):
            wanted = raw[1:].lower()
            chat = next((c for c in self.chats.values() if c.username and c.username.lower() == wanted), None)
        else:
            try:
                chat = self.chats.get(int(raw))
            except (TypeError, ValueError):
                chat = None
        if chat is None:
            raise _ApiError(400, "Bad Request: chat not found")
        return chat

    def _check_can_send(self, chat: FakeChat) -> None:
        if chat.state == "migrated":
            raise _ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        if chat.state == "blocked":
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        if chat.state == "deactivated":
            raise _ApiError(403, "Forbidden: user is deactivated")
        if chat.state == "kicked":
            raise _ApiError(403, f"Forbidden: bot was kicked from the {chat.type} chat")

    def _parse_text(self, params: Params) -> tuple[str, str, str | None, list[JsonDict]]:
        raw = _param_str(params, "text")
        if raw is None or raw == "":
            raise _ApiError(400, "Bad Request: message text is empty")
        parse_mode = _param_str(params, "parse_mode") or None
        entities: list[JsonDict] = []
        visible = raw
        if parse_mode is not None:
            mode = parse_mode.lower()
            if mode == "html":
                try:
                    visible, entities = parse_html(raw, strict=self.strict_html)
                except HtmlParseError as exc:
                    raise _ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
            elif mode not in ("markdown", "markdownv2"):
                raise _ApiError(400, "Bad Request: unsupported parse_mode")
        else:
            given = _param_json(params, "entities")
            if given is not None:
                if not isinstance(given, list) or not all(_is_entity(e) for e in given):
                    raise _ApiError(400, "Bad Request: can't parse entities JSON object")
                entities = [dict(e) for e in given]
        visible, entities = _trim(visible, entities)
        if not visible:
            raise _ApiError(400, "Bad Request: message text is empty")
        if utf16_len(visible) > self.max_message_length:
            raise _ApiError(400, "Bad Request: message is too long")
        return raw, visible, parse_mode, entities

    def _window(self, key: object) -> _SlidingWindow:
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _SlidingWindow()
        return window

    def _check_limits(self, chat: FakeChat, now: float) -> None:
        """Raise 429 when one more message would break a limit; else count it."""
        limits = self.limits
        if chat.type == "private":
            chat_limit, chat_window = limits.per_private_chat, limits.private_window
        else:
            chat_limit, chat_window = limits.per_group, limits.group_window
        checks = (
            (self._window("bot"), limits.per_bot, limits.per_bot_window),
            (self._window(chat.id), chat_limit, chat_window),
        )
        wait = max(
            window.wait_needed(now, limit, max(span - limits.tolerance, 0.0))
            for window, limit, span in checks
        )
        if wait > 0:
            self.limit_429s += 1
            seconds = max(1, math.ceil(wait))
            raise _ApiError(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})
        for window, _limit, _span in checks:
            window.stamps.append(now)

    def _message_object(
        self, chat: FakeChat, message_id: int, text: str, entities: list[JsonDict]
    ) -> JsonDict:
        message: JsonDict = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat.to_api(),
            "text": text,
        }
        if chat.type == "channel":
            message["sender_chat"] = chat.to_api()
        else:
            message["from"] = self._bot_user()
        if entities:
            message["entities"] = entities
        return message

    # ---- internals: methods ----------------------------------------------------------------

    async def _true(self, params: Params, fault: str | None) -> bool:
        return True

    async def _get_me(self, params: Params, fault: str | None) -> JsonDict:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: Params, fault: str | None) -> list[JsonDict]:
        offset = _param_int(params, "offset")
        limit = min(max(_param_int(params, "limit") or 100, 1), 100)
        timeout = min(max(_param_float(params, "timeout") or 0.0, 0.0), self.max_poll_timeout)
        allowed = _param_json(params, "allowed_updates")
        if allowed is not None:
            if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
                raise _ApiError(400, "Bad Request: can't parse allowed_updates JSON object")
            self.allowed_updates = list(allowed) or None
        if self.webhook_url:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        self._poll_generation += 1
        generation = self._poll_generation
        if offset is not None:
            if offset < 0:
                self._updates = self._updates[offset:]
            else:
                self._updates = [u for u in self._updates if int(u["update_id"]) >= offset]
        deadline = time.monotonic() + timeout
        assert self._closing is not None
        self._pollers += 1
        self._notify()  # wakes an older poll, which then answers 409
        try:
            while True:
                if generation != self._poll_generation:
                    raise _ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; "
                        "make sure that only one bot instance is running",
                    )
                batch = [u for u in self._updates if self._is_allowed(u)][:limit]
                remaining = deadline - time.monotonic()
                if batch or remaining <= 0 or self._closing.is_set():
                    return batch
                await self._wait_change(remaining)
        finally:
            self._pollers -= 1

    def _is_allowed(self, update: JsonDict) -> bool:
        kind = next((k for k in update if k != "update_id"), "")
        if self.allowed_updates is None:
            return kind not in _NOT_DELIVERED_BY_DEFAULT
        return kind in self.allowed_updates

    async def _set_webhook(self, params: Params, fault: str | None) -> bool:
        self.webhook_url = _param_str(params, "url") or ""
        if _param_bool(params, "drop_pending_updates"):
            self._updates.clear()
        return True

    async def _delete_webhook(self, params: Params, fault: str | None) -> bool:
        self.webhook_url = ""
        if _param_bool(params, "drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, params: Params, fault: str | None) -> JsonDict:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    @staticmethod
    def _commands_key(params: Params) -> tuple[str, str]:
        scope = _param_json(params, "scope") or {"type": "default"}
        language = _param_str(params, "language_code") or ""
        return json.dumps(scope, sort_keys=True), language

    async def _set_my_commands(self, params: Params, fault: str | None) -> bool:
        commands = _param_json(params, "commands")
        if commands is None:
            raise _ApiError(400, 'Bad Request: parameter "commands" is required')
        if not isinstance(commands, list):
            raise _ApiError(400, "Bad Request: can't parse commands JSON object")
        if len(commands) > 100:
            raise _ApiError(400, "Bad Request: BOT_COMMANDS_TOO_MUCH")
        stored: list[JsonDict] = []
        for item in commands:
            if not isinstance(item, dict):
                raise _ApiError(400, "Bad Request: can't parse BotCommand JSON object")
            if "command" not in item:
                raise _ApiError(400, "Bad Request: can't parse BotCommand: Can't find field \"command\"")
            if "description" not in item:
                raise _ApiError(400, "Bad Request: can't parse BotCommand: Can't find field \"description\"")
            command, description = str(item["command"]), str(item["description"])
            if not _COMMAND_NAME.fullmatch(command):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not description.strip():
                raise _ApiError(400, "Bad Request: command description must be non-empty")
            if len(description) > 256:
                raise _ApiError(400, "Bad Request: command description is too long")
            stored.append({"command": command, "description": description})
        self.commands[self._commands_key(params)] = stored
        return True

    async def _get_my_commands(self, params: Params, fault: str | None) -> list[JsonDict]:
        return list(self.commands.get(self._commands_key(params), []))

    async def _delete_my_commands(self, params: Params, fault: str | None) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    @property
    def my_commands(self) -> list[JsonDict]:
        """The commands set for the default scope and no language."""
        return list(self.commands.get((json.dumps({"type": "default"}), ""), []))

    async def _send_message(self, params: Params, fault: str | None) -> JsonDict:
        chat = self._resolve_chat(params)
        raw, visible, parse_mode, entities = self._parse_text(params)
        link_preview = _param_json(params, "link_preview_options")
        if link_preview is not None and not isinstance(link_preview, dict):
            raise _ApiError(400, "Bad Request: can't parse link_preview_options JSON object")
        no_preview = _param_bool(params, "disable_web_page_preview")
        reply_markup = _param_json(params, "reply_markup")
        self._check_can_send(chat)
        now = time.monotonic()
        if self.enforce_limits:
            self._check_limits(chat, now)
        message_id = chat.next_message_id
        chat.next_message_id += 1
        record = SentMessage(
            chat_id=chat.id,
            message_id=message_id,
            text=visible,
            raw_text=raw,
            parse_mode=parse_mode,
            entities=tuple(entities),
            link_preview_options=link_preview,
            disable_web_page_preview=no_preview,
            reply_markup=reply_markup if isinstance(reply_markup, dict) else None,
            time=time.time(),
            monotonic=now,
            fault=fault if fault in ("slow", "reset_after") else None,
        )
        self.sent.append(record)
        self._sent_by_chat.setdefault(chat.id, []).append(record)
        self._current[(chat.id, message_id)] = record
        self._notify()
        message = self._message_object(chat, message_id, visible, entities)
        if link_preview is not None:
            message["link_preview_options"] = link_preview
        return message

    async def _edit_message_text(self, params: Params, fault: str | None) -> JsonDict:
        if params.get("inline_message_id"):
            raise _ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        chat = self._resolve_chat(params)
        message_id = _param_int(params, "message_id")
        if message_id is None:
            raise _ApiError(400, "Bad Request: message identifier is not specified")
        raw, visible, parse_mode, entities = self._parse_text(params)
        current = self._current.get((chat.id, message_id))
        if current is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        self._check_can_send(chat)
        if current.text == visible and list(current.entities) == entities:
            raise _ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        record = SentMessage(
            chat_id=chat.id,
            message_id=message_id,
            text=visible,
            raw_text=raw,
            parse_mode=parse_mode,
            entities=tuple(entities),
            link_preview_options=_param_json(params, "link_preview_options"),
            disable_web_page_preview=_param_bool(params, "disable_web_page_preview"),
            reply_markup=None,
            time=time.time(),
            monotonic=time.monotonic(),
        )
        self.edits.append(record)
        self._current[(chat.id, message_id)] = record
        message = self._message_object(chat, message_id, visible, entities)
        message["edit_date"] = int(time.time())
        return message

    async def _delete_message(self, params: Params, fault: str | None) -> bool:
        chat = self._resolve_chat(params)
        message_id = _param_int(params, "message_id")
        if self._current.pop((chat.id, message_id or 0), None) is None:
            raise _ApiError(400, "Bad Request: message to delete not found")
        return True

    async def _send_chat_action(self, params: Params, fault: str | None) -> bool:
        chat = self._resolve_chat(params)
        self._check_can_send(chat)
        return True

    def _check_member_access(self, chat: FakeChat) -> None:
        if chat.state == "kicked":
            raise _ApiError(403, f"Forbidden: bot was kicked from the {chat.type} chat")
        if chat.state == "migrated":
            self._check_can_send(chat)

    async def _get_chat(self, params: Params, fault: str | None) -> JsonDict:
        chat = self._resolve_chat(params)
        self._check_member_access(chat)
        return {
            **chat.to_api(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def _get_chat_member(self, params: Params, fault: str | None) -> JsonDict:
        chat = self._resolve_chat(params)
        self._check_member_access(chat)
        user_id = _param_int(params, "user_id")
        if user_id is None:
            raise _ApiError(400, "Bad Request: user_id is empty")
        return _chat_member(self.user(user_id), chat.status_of(user_id))

    async def _get_chat_administrators(self, params: Params, fault: str | None) -> list[JsonDict]:
        chat = self._resolve_chat(params)
        self._check_member_access(chat)
        return [
            _chat_member(self.user(user_id), status)
            for user_id, status in chat.members.items()
            if status in ("creator", "administrator")
        ]
