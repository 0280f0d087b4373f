"""A fake Slack on 127.0.0.1: Web API, response URLs and Socket Mode, for tests and benchmarks.

`FakeSlack` is an aiohttp server on a free loopback port that speaks Slack's wire format, so the
real `slack_sdk.web.async_client.AsyncWebClient(token, base_url=fake.api_url)` and slack_bolt's
`AsyncApp` / `AsyncSocketModeHandler` talk to it unchanged:

* Web API: ``POST``/``GET /api/<method>`` with a query string, a form-urlencoded or a JSON body;
  the token comes from ``Authorization: Bearer`` or a ``token`` query/form field (as on Slack, a
  token inside a JSON body is not read). API errors are HTTP 200 ``{"ok": false, "error": ...}``,
  rate limits HTTP 429 with ``Retry-After``, server faults HTTP 5xx with an HTML (non-JSON) body.
  Methods: ``auth.test``, ``chat.postMessage``, ``chat.postEphemeral``, ``conversations.open``,
  ``conversations.info``, ``apps.connections.open``; anything else answers ``unknown_method``.
* Block Kit checks for the limits the bot must respect (50 blocks; header 150 characters; section
  text 3000, at most 10 fields of 2000; context at most 10 elements; block_id 255; known block
  types), answered like Slack with ``invalid_blocks`` and an ``errors`` list.
* Channel states a test can set (archived, bot removed, deleted, account deactivated) with the
  error Slack gives for each; unknown channels are ``channel_not_found``.
* Rate limit per channel for ``chat.postMessage`` (1 message a second, configurable), forced 429
  floods, and random or scripted faults: 429, 500/503 with an HTML body, a reset connection
  before or after delivery, and a reply slower than the client's timeout that still delivers.
* ``response_url`` endpoints for slash commands (``POST /response/<id>``, JSON).
* Socket Mode at ``/socket``: ``hello`` on connect, envelopes pushed by the test (slash commands,
  app mentions, DMs) with realistic payloads, acks recorded with their latency, disconnects.
* Helpers for HTTP mode: Slack request signing and the bodies Slack would POST to a bot.

Every call, message, ephemeral message, response and ack is recorded, with ``wait_*`` helpers
driven by events rather than polling.

Limits (what it does not fake): one workspace, one bot, one app; no users directory (any user id
is accepted), no threads (``thread_ts`` is recorded, not checked), no message updates or
deletes, no files, no OAuth, no Events API retries of unacked envelopes, no per-method tiers
except the chat.postMessage channel limit. Error strings for response URLs and for some block
errors are close to, not byte-equal with, Slack's. Nothing happens at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import math
import random
import socket
import struct
import time
import uuid
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast
from urllib.parse import urlencode

import aiohttp
from aiohttp import WSCloseCode, WSMsgType, web

__all__ = [
    "FORM_CONTENT_TYPE",
    "JSON_CONTENT_TYPE",
    "Ack",
    "Call",
    "Channel",
    "Ephemeral",
    "ErrorBody",
    "FakeSlack",
    "FaultKind",
    "Message",
    "Push",
    "Response",
    "event_body",
    "post_signed",
    "sign_request",
    "slash_command_body",
    "validate_blocks",
]

FaultKind = Literal["429", "500", "503", "reset", "reset_after", "slow"]
"""Fault kinds: ``429`` (Retry-After), ``500``/``503`` (non-JSON body), ``reset`` (connection
dropped before the call is processed: nothing delivered), ``reset_after`` (processed and
delivered, then the connection is dropped: ambiguous), ``slow`` (processed and delivered, the
answer comes after ``slow_delay`` seconds: ambiguous when the client times out first)."""

ErrorBody = Literal["html", "text", "bad_json"]
"""Body of a 5xx fault: ``html`` (text/html, like Slack's error pages), ``text`` (text/plain) or
``bad_json`` (HTML labelled application/json)."""

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"

# Slack's documented limits.
MAX_TEXT_CHARS = 40_000
MAX_BLOCKS = 50
MAX_BLOCK_ID = 255
MAX_HEADER_TEXT = 150
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_RESPONSE_URL_USES = 5

_KNOWN_BLOCK_TYPES = frozenset({"header", "section", "context", "divider", "actions", "image", "rich_text"})
_TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})
_ALL_FAULTS: tuple[FaultKind, ...] = ("429", "500", "503", "reset", "reset_after", "slow")
_PRE_FAULTS = frozenset({"429", "500", "503", "reset"})
_SCOPES = "chat:write,commands,app_mentions:read,im:history,im:read,im:write,channels:read,groups:read"

_ERROR_PAGES = {
    500: "<!DOCTYPE html><html><head><title>Server Error | Slack</title></head><body>"
    "<h1>Server Error</h1><p>It seems like there's a problem on our end.</p></body></html>",
    503: "<!DOCTYPE html><html><head><title>Service Unavailable | Slack</title></head><body>"
    "<h1>Service Unavailable</h1><p>Slack is temporarily unavailable.</p></body></html>",
}


# --------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class Message:
    """A message accepted by chat.postMessage. ``time`` is ``time.monotonic()`` at acceptance."""

    channel: str
    text: str | None
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None
    ts: str
    time: float
    params: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class Ephemeral:
    """A message accepted by chat.postEphemeral."""

    channel: str
    user: str
    text: str | None
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None
    message_ts: str
    time: float


@dataclass(frozen=True)
class Response:
    """A POST to a response URL (``respond()`` in Bolt)."""

    response_id: str
    text: str | None
    blocks: list[dict[str, Any]] | None
    response_type: str | None
    replace_original: bool | None
    delete_original: bool | None
    body: dict[str, Any] = field(repr=False)
    time: float = 0.0


@dataclass(frozen=True)
class Call:
    """One Web API call as answered: HTTP status, ``error`` string if any, fault injected if any."""

    method: str
    params: dict[str, Any]
    status: int
    ok: bool
    error: str | None
    fault: str | None
    time: float


@dataclass(frozen=True)
class Push:
    """An envelope pushed over Socket Mode. ``pushed_at`` is ``time.monotonic()``."""

    envelope_id: str
    type: str
    payload: dict[str, Any]
    envelope: dict[str, Any] = field(repr=False)
    pushed_at: float = 0.0


@dataclass(frozen=True)
class Ack:
    """An acknowledgement received over Socket Mode; ``latency`` is seconds since the push."""

    envelope_id: str
    payload: dict[str, Any] | None
    latency: float | None
    acked_at: float


@dataclass
class Channel:
    """A conversation the fake knows, and the state that decides what posting to it answers."""

    id: str
    name: str
    is_member: bool = True
    is_archived: bool = False
    is_deleted: bool = False
    account_inactive: bool = False
    is_im: bool = False
    user: str | None = None

    def as_api(self) -> dict[str, Any]:
        """The shape conversations.info returns (the fields the bot may read)."""
        info: dict[str, Any] = {
            "id": self.id,
            "is_channel": not self.is_im and self.id.startswith("C"),
            "is_group": self.id.startswith("G"),
            "is_im": self.is_im,
            "is_private": self.is_im or self.id.startswith("G"),
            "is_archived": self.is_archived,
            "is_member": self.is_member,
        }
        if self.is_im:
            info["user"] = self.user
        else:
            info["name"] = self.name
            info["name_normalized"] = self.name
        return info


class _ApiError(Exception):
    """An answer other than ok: Slack's ``error`` string, the HTTP status and extra fields."""

    def __init__(
        self,
        error: str,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


@dataclass
class _Conn:
    ws: web.WebSocketResponse
    number: int
    opened_at: float
    transport: asyncio.BaseTransport | None
    closed: asyncio.Event = field(default_factory=asyncio.Event)


# --------------------------------------------------------------------------------------------
# HTTP-mode helpers (module level: they need no server)


def sign_request(body: bytes, signing_secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers Slack adds to a request for the bot's own endpoint (``POST /slack/events``).

    ``X-Slack-Signature`` is ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}`` keyed by the
    signing secret; ``timestamp`` defaults to now (pass an old one to test the 5-minute window).
    """
    ts = int(time.time()) if timestamp is None else int(timestamp)
    base = b"v0:" + str(ts).encode() + b":" + body
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}


def slash_command_body(payload: Mapping[str, str]) -> bytes:
    """The form-urlencoded body Slack POSTs for a slash command in HTTP mode."""
    return urlencode(dict(payload)).encode()


def event_body(payload: Mapping[str, Any]) -> bytes:
    """The JSON body Slack POSTs for an Events API callback in HTTP mode."""
    return json.dumps(payload, separators=(",", ":")).encode()


async def post_signed(
    url: str,
    body: bytes,
    signing_secret: str,
    *,
    content_type: str,
    timestamp: int | None = None,
    retry_num: int | None = None,
) -> tuple[int, str]:
    """POST a signed request to a bot like Slack does; returns (HTTP status, body text)."""
    headers = sign_request(body, signing_secret, timestamp)
    headers["Content-Type"] = content_type
    headers["User-Agent"] = "Slackbot 1.0 (+https://api.slack.com/robots)"
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
        session.post(url, data=body, headers=headers) as resp,
    ):
        return resp.status, await resp.text()


# --------------------------------------------------------------------------------------------
# Block Kit validation


def _check_text_object(
    obj: Any, pointer: str, errors: list[str], *, types: frozenset[str], max_len: int
) -> None:
    if not isinstance(obj, dict):
        errors.append(f"expected an object [json-pointer:{pointer}]")
        return
    if obj.get("type") not in types:
        errors.append(f"must be a valid enum value [json-pointer:{pointer}/type]")
    text = obj.get("text")
    if not isinstance(text, str):
        errors.append(f"expected a string [json-pointer:{pointer}/text]")
    elif len(text) == 0:
        errors.append(f"must be more than 0 characters [json-pointer:{pointer}/text]")
    elif len(text) > max_len:
        errors.append(f"must be less than {max_len + 1} characters [json-pointer:{pointer}/text]")


def _check_elements(
    elements: Any, pointer: str, errors: list[str], *, max_items: int
) -> list[tuple[int, Any]]:
    if not isinstance(elements, list):
        errors.append(f"expected an array [json-pointer:{pointer}]")
        return []
    if len(elements) == 0:
        errors.append(f"must provide at least 1 item [json-pointer:{pointer}]")
    if len(elements) > max_items:
        errors.append(f"must be less than {max_items + 1} items [json-pointer:{pointer}]")
    return list(enumerate(elements))


def validate_blocks(blocks: list[Any]) -> list[str]:
    """Slack-style error strings for ``blocks`` (empty when valid)."""
    errors: list[str] = []
    if len(blocks) > MAX_BLOCKS:
        errors.append(f"must be less than {MAX_BLOCKS + 1} items [json-pointer:/blocks]")
    for i, block in enumerate(blocks):
        p = f"/blocks/{i}"
        if not isinstance(block, dict):
            errors.append(f"expected an object [json-pointer:{p}]")
            continue
        kind = block.get("type")
        if kind not in _KNOWN_BLOCK_TYPES:
            errors.append(f"unsupported type: {kind} [json-pointer:{p}/type]")
            continue
        block_id = block.get("block_id")
        if block_id is not None and (not isinstance(block_id, str) or len(block_id) > MAX_BLOCK_ID):
            errors.append(f"must be less than {MAX_BLOCK_ID + 1} characters [json-pointer:{p}/block_id]")
        if kind == "header":
            _check_text_object(
                block.get("text"),
                f"{p}/text",
                errors,
                types=frozenset({"plain_text"}),
                max_len=MAX_HEADER_TEXT,
            )
        elif kind == "section":
            if "text" not in block and "fields" not in block:
                errors.append(f"must provide either text or fields [json-pointer:{p}]")
            if "text" in block:
                _check_text_object(
                    block["text"], f"{p}/text", errors, types=_TEXT_TYPES, max_len=MAX_SECTION_TEXT
                )
            if "fields" in block:
                for j, f in _check_elements(
                    block["fields"], f"{p}/fields", errors, max_items=MAX_SECTION_FIELDS
                ):
                    _check_text_object(
                        f, f"{p}/fields/{j}", errors, types=_TEXT_TYPES, max_len=MAX_FIELD_TEXT
                    )
        elif kind == "context":
            elements = block.get("elements")
            for j, el in _check_elements(elements, f"{p}/elements", errors, max_items=MAX_CONTEXT_ELEMENTS):
                ep = f"{p}/elements/{j}"
                if isinstance(el, dict) and el.get("type") == "image":
                    if not el.get("image_url") or not el.get("alt_text"):
                        errors.append(f"must provide image_url and alt_text [json-pointer:{ep}]")
                else:
                    _check_text_object(el, ep, errors, types=_TEXT_TYPES, max_len=MAX_SECTION_TEXT)
        elif kind == "actions":
            _check_elements(block.get("elements"), f"{p}/elements", errors, max_items=MAX_ACTIONS_ELEMENTS)
        elif kind == "image":
            if not block.get("image_url") or not block.get("alt_text"):
                errors.append(f"must provide image_url and alt_text [json-pointer:{p}]")
        elif kind == "rich_text" and not isinstance(block.get("elements"), list):
            errors.append(f"expected an array [json-pointer:{p}/elements]")
        # divider: nothing to check
    return errors


def _parse_blocks(raw: Any) -> list[Any] | None:
    """``blocks`` as a list (JSON bodies carry a list, form bodies a JSON string)."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise _ApiError("invalid_blocks_format") from exc
    if not isinstance(raw, list):
        raise _ApiError("invalid_blocks_format")
    return raw


def _block_errors(blocks: list[Any]) -> _ApiError | None:
    errors = validate_blocks(blocks)
    if not errors:
        return None
    return _ApiError(
        "invalid_blocks",
        extra={"errors": errors, "response_metadata": {"messages": [f"[ERROR] {e}" for e in errors]}},
    )


def _as_bool(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true")


# --------------------------------------------------------------------------------------------
# The server


class FakeSlack:
    """A fake Slack workspace with one bot. See the module docstring for what it fakes.

    Start it with ``async with FakeSlack() as fake`` (or ``await fake.start()`` / ``stop()``),
    then point clients at ``fake.api_url``. Close Socket Mode clients before stopping the fake,
    or they keep reconnecting to a closed port.

    Rate limit (``enforce_limits``): chat.postMessage accepts at most ``channel_burst`` messages
    per channel within a sliding ``channel_window`` seconds, with ``limit_tolerance`` seconds of
    slack for clients pacing at exactly the limit; beyond that, HTTP 429 with ``Retry-After``.
    """

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-fake-bot-token",
        app_token: str = "xapp-1-A0FAKEAPP1-fake-app-token",
        team_id: str = "T0FAKETEAM",
        team_name: str = "Fake Workspace",
        team_domain: str = "fake-workspace",
        bot_user_id: str = "UBOT",
        bot_user_name: str = "digestbot",
        bot_id: str = "B0FAKEBOT1",
        api_app_id: str = "A0FAKEAPP1",
        verification_token: str = "fake-verification-token",
        default_channel: str = "C0GENERAL",
        default_user: str = "U0ALICE",
        enforce_limits: bool = True,
        channel_burst: int = 1,
        channel_window: float = 1.0,
        limit_tolerance: float = 0.05,
        slow_delay: float = 2.0,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.team_id = team_id
        self.team_name = team_name
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_user_name = bot_user_name
        self.bot_id = bot_id
        self.api_app_id = api_app_id
        self.verification_token = verification_token
        self.default_channel = default_channel
        self.default_user = default_user
        self.enforce_limits = enforce_limits
        self.channel_burst = channel_burst
        self.channel_window = channel_window
        self.limit_tolerance = limit_tolerance
        self.slow_delay = slow_delay

        # Recordings (public, append-only while running).
        self.messages: list[Message] = []
        self.ephemeral: list[Ephemeral] = []
        self.responses: list[Response] = []
        self.calls: list[Call] = []
        self.pushes: list[Push] = []
        self.acks: list[Ack] = []
        self.socket_messages: list[Any] = []
        self.rate_limited = 0
        self.rate_limited_by_channel: Counter[str] = Counter()
        self.faults_injected: Counter[str] = Counter()
        self.connections_total = 0

        self.channels: dict[str, Channel] = {}
        self.revoked_tokens: set[str] = set()
        self.add_channel(default_channel, "general")

        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._last_ts_us = 0
        self._sent_at: dict[str, deque[float]] = {}
        self._forced: dict[str, deque[tuple[FaultKind, int]]] = {}
        self._fault_rate = 0.0
        self._fault_kinds: tuple[FaultKind, ...] = ()
        self._fault_methods: frozenset[str] = frozenset()
        self._fault_rng = random.Random()
        self._error_body: ErrorBody = "html"
        self._response_urls: dict[str, int] = {}
        self._tickets: set[str] = set()
        self._live: list[_Conn] = []
        self._pushed_at: dict[str, float] = {}
        self._dm_by_user: dict[str, str] = {}
        self._changed = asyncio.Event()
        self._handlers: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "conversations.open": self._conversations_open,
            "conversations.info": self._conversations_info,
            "apps.connections.open": self._apps_connections_open,
        }

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Listen on 127.0.0.1, a free port."""
        if self._runner is not None:
            return
        self._changed = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{rid}", self._response)
        app.router.add_get("/socket", self._socket)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        """Close Socket Mode connections and the server."""
        if self._runner is None:
            return
        for conn in list(self._live):
            with contextlib.suppress(Exception):
                await conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeSlack is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """``http://127.0.0.1:PORT/api/``: the ``base_url`` for AsyncWebClient."""
        return f"{self.base_url}/api/"

    # ---------------------------------------------------------------- channels

    def add_channel(
        self, channel_id: str, name: str, *, is_member: bool = True, archived: bool = False
    ) -> Channel:
        """Register a channel (``C...`` public, ``G...`` private, ``D...`` a DM)."""
        ch = Channel(
            id=channel_id,
            name=name,
            is_member=is_member,
            is_archived=archived,
            is_im=channel_id.startswith("D"),
        )
        self.channels[channel_id] = ch
        return ch

    def archive(self, channel: str) -> None:
        """Posting answers ``is_archived``."""
        self._channel(channel).is_archived = True

    def remove_bot(self, channel: str) -> None:
        """Posting answers ``not_in_channel``."""
        self._channel(channel).is_member = False

    def delete(self, channel: str) -> None:
        """Posting answers ``channel_not_found``."""
        self._channel(channel).is_deleted = True

    def deactivate_account(self, channel: str) -> None:
        """Posting answers ``account_inactive`` (the DM's user, or the workspace, is deactivated)."""
        self._channel(channel).account_inactive = True

    def restore(self, channel: str) -> None:
        """Back to a normal channel the bot is in."""
        ch = self._channel(channel)
        ch.is_archived = ch.is_deleted = ch.account_inactive = False
        ch.is_member = True

    def dm_channel_for(self, user: str) -> str:
        """The DM channel id between the bot and ``user`` (created on first use)."""
        existing = self._dm_by_user.get(user)
        if existing is not None:
            return existing
        dm = "D" + hashlib.sha1(user.encode()).hexdigest()[:9].upper()
        self._dm_by_user[user] = dm
        ch = self.add_channel(dm, user)
        ch.user = user
        return dm

    def _channel(self, channel: str) -> Channel:
        try:
            return self.channels[channel]
        except KeyError:
            raise KeyError(f"unknown channel {channel!r}; add_channel() it first") from None

    # ---------------------------------------------------------------- fault knobs

    def flood(self, n: int, retry_after: int = 1, *, method: str = "chat.postMessage") -> None:
        """Answer the next ``n`` calls of ``method`` (``"*"``: any method) with HTTP 429."""
        self._forced.setdefault(method, deque()).extend([("429", retry_after)] * n)

    def fail_next(
        self, n: int, kind: FaultKind, *, method: str = "chat.postMessage", retry_after: int = 1
    ) -> None:
        """Answer the next ``n`` calls of ``method`` with the fault ``kind`` (deterministic faults)."""
        if kind not in _ALL_FAULTS:
            raise ValueError(f"unknown fault kind {kind!r}")
        self._forced.setdefault(method, deque()).extend([(kind, retry_after)] * n)

    def faults(
        self,
        rate: float = 0.1,
        kinds: Iterable[FaultKind] = ("429", "500", "reset", "slow"),
        *,
        seed: int | None = None,
        slow_delay: float | None = None,
        error_body: ErrorBody | None = None,
        methods: Iterable[str] = ("chat.postMessage",),
    ) -> None:
        """Answer a share ``rate`` of ``methods`` calls with a fault drawn from ``kinds``.

        ``slow`` replies wait ``slow_delay`` seconds (use a client timeout below it); ``slow`` and
        ``reset_after`` deliver the message, ``reset`` does not. ``rate=0`` turns faults off.
        """
        kinds = tuple(kinds)
        for kind in kinds:
            if kind not in _ALL_FAULTS:
                raise ValueError(f"unknown fault kind {kind!r}")
        self._fault_rate = rate
        self._fault_kinds = kinds
        self._fault_methods = frozenset(methods)
        self._fault_rng = random.Random(seed)
        if slow_delay is not None:
            self.slow_delay = slow_delay
        if error_body is not None:
            self._error_body = error_body

    def no_faults(self) -> None:
        """Stop random faults and forget forced ones."""
        self._fault_rate = 0.0
        self._forced.clear()

    @property
    def error_body(self) -> ErrorBody:
        return self._error_body

    @error_body.setter
    def error_body(self, value: ErrorBody) -> None:
        self._error_body = value

    # ---------------------------------------------------------------- queries and waits

    def messages_to(self, channel: str) -> list[Message]:
        return [m for m in self.messages if m.channel == channel]

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    @property
    def live_connections(self) -> int:
        """Open Socket Mode connections."""
        return len(self._live)

    async def wait_until(
        self, predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition"
    ) -> None:
        """Wait, without polling, until ``predicate()`` holds after some recorded change."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"FakeSlack: timed out after {timeout}s waiting for {what}")
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    async def wait_for_messages(self, channel: str, count: int = 1, timeout: float = 5.0) -> list[Message]:
        """The first ``count`` messages to ``channel``, waiting for them to arrive."""
        await self.wait_until(
            lambda: len(self.messages_to(channel)) >= count,
            timeout,
            f"{count} message(s) to {channel} (have {len(self.messages_to(channel))})",
        )
        return self.messages_to(channel)[:count]

    async def wait_for_responses(self, count: int = 1, timeout: float = 5.0) -> list[Response]:
        await self.wait_until(lambda: len(self.responses) >= count, timeout, f"{count} response_url post(s)")
        return self.responses[:count]

    async def wait_for_ephemeral(self, count: int = 1, timeout: float = 5.0) -> list[Ephemeral]:
        await self.wait_until(lambda: len(self.ephemeral) >= count, timeout, f"{count} ephemeral message(s)")
        return self.ephemeral[:count]

    async def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> Ack:
        """The ack of one pushed envelope."""
        await self.wait_until(
            lambda: any(a.envelope_id == envelope_id for a in self.acks), timeout, f"ack of {envelope_id}"
        )
        return next(a for a in self.acks if a.envelope_id == envelope_id)

    async def wait_connected(self, timeout: float = 5.0, count: int = 1) -> None:
        """Wait until at least ``count`` Socket Mode connections are open (``hello`` sent)."""
        await self.wait_until(lambda: len(self._live) >= count, timeout, f"{count} socket mode connection(s)")

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    # ---------------------------------------------------------------- Web API

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], str | None]:
        params: dict[str, Any] = dict(request.query)
        token: str | None = params.pop("token", None)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError as exc:
                    raise _ApiError("invalid_json") from exc
                if not isinstance(body, dict):
                    raise _ApiError("invalid_json")
                body.pop("token", None)  # Slack does not read tokens from JSON bodies
                params.update(body)
            else:
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, str):
                        params[key] = value
                token = cast(str | None, params.pop("token", token))
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            token = auth.removeprefix("Bearer ").strip()
        return params, token

    def _check_token(self, method: str, token: str | None) -> None:
        if not token:
            raise _ApiError("not_authed")
        if token in self.revoked_tokens:
            raise _ApiError("token_revoked")
        if token not in (self.bot_token, self.app_token):
            raise _ApiError("invalid_auth")
        wants_app_token = method == "apps.connections.open"
        if (token == self.app_token) != wants_app_token:
            raise _ApiError("not_allowed_token_type")

    def _draw_fault(self, method: str) -> tuple[FaultKind, int] | None:
        for key in (method, "*"):
            queue = self._forced.get(key)
            if queue:
                return queue.popleft()
        if self._fault_rate > 0 and self._fault_kinds and method in self._fault_methods:
            if self._fault_rng.random() < self._fault_rate:
                return self._fault_rng.choice(self._fault_kinds), 1
        return None

    def _record_call(
        self, method: str, params: dict[str, Any], status: int, error: str | None, fault: str | None
    ) -> None:
        ok = status == 200 and error is None
        self.calls.append(Call(method, params, status, ok, error, fault, time.monotonic()))
        if status == 429:
            self.rate_limited += 1
            channel = params.get("channel")
            if isinstance(channel, str):
                self.rate_limited_by_channel[channel] += 1
        self._notify()

    def _error_response(self, status: int) -> web.Response:
        page = _ERROR_PAGES.get(status, _ERROR_PAGES[500])
        content_type = {"html": "text/html", "text": "text/plain", "bad_json": "application/json"}[
            self._error_body
        ]
        return web.Response(status=status, text=page, content_type=content_type)

    @staticmethod
    def _drop_connection(request: web.Request) -> web.Response:
        """Reset the TCP connection (RST, as "connection reset by peer") without an answer."""
        transport = request.transport
        if transport is not None:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        # Nothing can be written any more; aiohttp discards this.
        return web.Response(status=500)

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params: dict[str, Any] = {}
        fault: tuple[FaultKind, int] | None = None
        try:
            params, token = await self._read_params(request)
            self._check_token(method, token)
            handler = self._handlers.get(method)
            if handler is None:
                raise _ApiError("unknown_method")
            fault = self._draw_fault(method)
            if fault is not None and fault[0] in _PRE_FAULTS:
                kind, retry_after = fault
                self.faults_injected[kind] += 1
                if kind == "429":
                    raise _ApiError("ratelimited", status=429, headers={"Retry-After": str(retry_after)})
                if kind in ("500", "503"):
                    status = int(kind)
                    self._record_call(method, params, status, None, kind)
                    return self._error_response(status)
                self._record_call(method, params, 0, "connection reset", kind)
                return self._drop_connection(request)
            payload = await handler(params)
        except _ApiError as exc:
            self._record_call(method, params, exc.status, exc.error, fault[0] if fault else None)
            body = {"ok": False, "error": exc.error, **exc.extra}
            return web.json_response(body, status=exc.status, headers=exc.headers)
        post_fault = fault[0] if fault is not None else None
        if post_fault is not None:
            self.faults_injected[post_fault] += 1
        self._record_call(method, params, 200, None, post_fault)
        if post_fault == "reset_after":
            return self._drop_connection(request)
        if post_fault == "slow":
            await asyncio.sleep(self.slow_delay)
        return web.json_response({"ok": True, **payload}, headers={"X-OAuth-Scopes": _SCOPES})

    def _next_ts(self) -> str:
        now_us = max(int(time.time() * 1_000_000), self._last_ts_us + 1)
        self._last_ts_us = now_us
        return f"{now_us // 1_000_000}.{now_us % 1_000_000:06d}"

    def _resolve(self, channel: Any) -> Channel:
        if not isinstance(channel, str) or not channel:
            raise _ApiError("channel_not_found")
        if channel[0] in "UW" and channel not in self.channels:
            channel = self.dm_channel_for(channel)  # posting to a user id goes to the DM
        ch = self.channels.get(channel)
        if ch is None:
            name = channel.removeprefix("#")
            ch = next((c for c in self.channels.values() if c.name == name and not c.is_im), None)
        if ch is None or ch.is_deleted:
            raise _ApiError("channel_not_found")
        return ch

    @staticmethod
    def _check_writable(ch: Channel) -> None:
        if ch.account_inactive:
            raise _ApiError("account_inactive")
        if ch.is_archived:
            raise _ApiError("is_archived")
        if not ch.is_member:
            raise _ApiError("not_in_channel")

    def _check_rate(self, channel_id: str) -> None:
        if not self.enforce_limits:
            return
        now = time.monotonic()
        sent = self._sent_at.setdefault(channel_id, deque())
        while sent and sent[0] <= now - self.channel_window:
            sent.popleft()
        recent = [t for t in sent if t > now - (self.channel_window - self.limit_tolerance)]
        if len(recent) >= self.channel_burst:
            wait = recent[0] + self.channel_window - now
            retry_after = max(1, math.ceil(wait))
            raise _ApiError("ratelimited", status=429, headers={"Retry-After": str(retry_after)})

    def _message_content(self, params: dict[str, Any]) -> tuple[str | None, list[dict[str, Any]] | None]:
        text = params.get("text")
        if text is not None and not isinstance(text, str):
            text = str(text)
        blocks = _parse_blocks(params.get("blocks"))
        if blocks is not None:
            error = _block_errors(blocks)
            if error is not None:
                raise error
        if not text and not blocks and not params.get("attachments"):
            raise _ApiError("no_text")
        if text is not None and len(text) > MAX_TEXT_CHARS:
            raise _ApiError("msg_too_long")
        return text, cast(list[dict[str, Any]] | None, blocks)

    async def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_name,
            "user": self.bot_user_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    async def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        ch = self._resolve(params.get("channel"))
        self._check_writable(ch)
        self._check_rate(ch.id)
        text, blocks = self._message_content(params)
        ts = self._next_ts()
        now = time.monotonic()
        if self.enforce_limits:
            self._sent_at.setdefault(ch.id, deque()).append(now)
        thread_ts = params.get("thread_ts")
        self.messages.append(
            Message(ch.id, text, blocks, str(thread_ts) if thread_ts else None, ts, now, dict(params))
        )
        message: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.api_app_id,
            "text": text or "",
            "ts": ts,
            "team": self.team_id,
        }
        if blocks:
            message["blocks"] = blocks
        if thread_ts:
            message["thread_ts"] = thread_ts
        return {"channel": ch.id, "ts": ts, "message": message}

    async def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        ch = self._resolve(params.get("channel"))
        self._check_writable(ch)
        user = params.get("user")
        if not isinstance(user, str) or not user:
            raise _ApiError("user_not_found")
        text, blocks = self._message_content(params)
        ts = self._next_ts()
        thread_ts = params.get("thread_ts")
        self.ephemeral.append(
            Ephemeral(ch.id, user, text, blocks, str(thread_ts) if thread_ts else None, ts, time.monotonic())
        )
        return {"message_ts": ts}

    async def _conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        users = params.get("users")
        if isinstance(users, list):
            user_ids = [str(u) for u in users]
        elif isinstance(users, str):
            user_ids = [u.strip() for u in users.split(",") if u.strip()]
        else:
            user_ids = []
        if not user_ids:
            if params.get("channel"):
                return {"channel": {"id": self._resolve(params["channel"]).id}, "already_open": True}
            raise _ApiError("users_list_not_supplied")
        if len(user_ids) == 1:
            already = user_ids[0] in self._dm_by_user
            dm = self.dm_channel_for(user_ids[0])
            return {"no_op": already, "already_open": already, "channel": {"id": dm}}
        group = "G" + hashlib.sha1(",".join(sorted(user_ids)).encode()).hexdigest()[:9].upper()
        if group not in self.channels:
            self.add_channel(group, "mpdm-" + "--".join(user_ids))
        return {"channel": {"id": group}}

    async def _conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        ch = self._resolve(params.get("channel"))
        return {"channel": ch.as_api()}

    async def _apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        return {"url": f"ws://127.0.0.1:{self.port}/socket?ticket={ticket}&app_id={self.api_app_id}"}

    # ---------------------------------------------------------------- response URLs

    def response_url(self, response_id: str | None = None) -> str:
        """Mint a response URL on this fake (usable ``MAX_RESPONSE_URL_USES`` times)."""
        rid = response_id or uuid.uuid4().hex[:16]
        self._response_urls.setdefault(rid, 0)
        return f"{self.base_url}/response/{rid}"

    async def _response(self, request: web.Request) -> web.Response:
        rid = request.match_info["rid"]
        if rid not in self._response_urls:
            return web.Response(status=404, text="expired_url")
        if self._response_urls[rid] >= MAX_RESPONSE_URL_USES:
            return web.Response(status=404, text="used_url")
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        if not isinstance(body, dict):
            return web.Response(status=400, text="invalid_payload")
        try:
            blocks = _parse_blocks(body.get("blocks"))
        except _ApiError:
            return web.Response(status=400, text="invalid_blocks_format")
        if blocks is not None and validate_blocks(blocks):
            return web.Response(status=400, text="invalid_blocks")
        text = body.get("text")
        if not text and not blocks and not body.get("delete_original") and not body.get("attachments"):
            return web.Response(status=400, text="no_text")
        self._response_urls[rid] += 1
        self.responses.append(
            Response(
                response_id=rid,
                text=text,
                blocks=cast(list[dict[str, Any]] | None, blocks),
                response_type=body.get("response_type"),
                replace_original=_as_bool(body.get("replace_original")),
                delete_original=_as_bool(body.get("delete_original")),
                body=body,
                time=time.monotonic(),
            )
        )
        self._notify()
        return web.Response(text="ok")

    # ---------------------------------------------------------------- Socket Mode

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            return web.Response(status=401, text="invalid ticket")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.connections_total += 1
        conn = _Conn(
            ws=ws, number=self.connections_total, opened_at=time.monotonic(), transport=request.transport
        )
        self._live.append(conn)
        try:
            await ws.send_json(
                {
                    "type": "hello",
                    "num_connections": len(self._live),
                    "debug_info": {
                        "host": f"applink-fake-{conn.number}",
                        "build_number": 1,
                        "approximate_connection_time": 18060,
                    },
                    "connection_info": {"app_id": self.api_app_id},
                }
            )
            self._notify()
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                self._on_socket_text(msg.data)
        finally:
            with contextlib.suppress(ValueError):
                self._live.remove(conn)
            conn.closed.set()
            self._notify()
        return ws

    def _on_socket_text(self, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            self.socket_messages.append(data)
            return
        self.socket_messages.append(message)
        if isinstance(message, dict) and isinstance(message.get("envelope_id"), str):
            envelope_id = message["envelope_id"]
            now = time.monotonic()
            pushed = self._pushed_at.get(envelope_id)
            payload = message.get("payload")
            self.acks.append(
                Ack(
                    envelope_id=envelope_id,
                    payload=payload if isinstance(payload, dict) else None,
                    latency=None if pushed is None else now - pushed,
                    acked_at=now,
                )
            )
        self._notify()

    async def push(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool,
        timeout: float = 5.0,
        retry_attempt: int | None = None,
    ) -> Push:
        """Send one envelope on the newest open connection (waiting up to ``timeout`` for one)."""
        await self.wait_connected(timeout)
        conn = self._live[-1]
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": envelope_type,
            "accepts_response_payload": accepts_response_payload,
        }
        if envelope_type == "events_api":
            envelope["retry_attempt"] = retry_attempt or 0
            envelope["retry_reason"] = "" if not retry_attempt else "timeout"
        pushed_at = time.monotonic()
        self._pushed_at[envelope_id] = pushed_at
        record = Push(envelope_id, envelope_type, payload, envelope, pushed_at)
        self.pushes.append(record)
        await conn.ws.send_str(json.dumps(envelope))
        return record

    async def disconnect_all(
        self, mode: Literal["close", "disconnect", "drop"] = "close", timeout: float = 5.0
    ) -> None:
        """End every Socket Mode connection and wait until they are gone.

        ``close``: a WebSocket close frame (the client reconnects at once); ``disconnect``:
        Slack's ``{"type": "disconnect", "reason": "refresh_requested"}`` message, after which the
        client opens a new connection and closes the old one; ``drop``: the TCP connection is
        cut without a close frame (the client notices at its next ping, ``ping_interval``).
        """
        conns = list(self._live)
        for conn in conns:
            if mode == "close":
                with contextlib.suppress(Exception):
                    await conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"refresh")
            elif mode == "disconnect":
                with contextlib.suppress(Exception):
                    await conn.ws.send_json(
                        {
                            "type": "disconnect",
                            "reason": "refresh_requested",
                            "debug_info": {"host": f"applink-fake-{conn.number}"},
                        }
                    )
            else:
                if isinstance(conn.transport, asyncio.Transport):
                    conn.transport.abort()
        try:
            await self.wait_until(
                lambda: all(c.closed.is_set() for c in conns), timeout, "socket mode connections to close"
            )
        except TimeoutError:
            for conn in conns:
                with contextlib.suppress(Exception):
                    await conn.ws.close(code=WSCloseCode.GOING_AWAY)

    # ---------------------------------------------------------------- payload builders

    def slash_command_payload(
        self,
        command: str = "/latest",
        text: str = "",
        *,
        channel_id: str | None = None,
        channel_name: str | None = None,
        user_id: str | None = None,
        user_name: str = "alice",
        response_id: str | None = None,
    ) -> dict[str, str]:
        """The fields Slack sends for a slash command, with a response_url on this fake."""
        channel_id = channel_id or self.default_channel
        known = self.channels.get(channel_id)
        if channel_name is None:
            channel_name = "directmessage" if known is None or known.is_im else known.name
        return {
            "token": self.verification_token,
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id or self.default_user,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": self.response_url(response_id),
            "trigger_id": f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}",
        }

    def app_mention_event(
        self, text: str, *, channel: str | None = None, user: str | None = None, thread_ts: str | None = None
    ) -> dict[str, Any]:
        ts = self._next_ts()
        event: dict[str, Any] = {
            "type": "app_mention",
            "client_msg_id": str(uuid.uuid4()),
            "text": text,
            "user": user or self.default_user,
            "ts": ts,
            "team": self.team_id,
            "channel": channel or self.default_channel,
            "event_ts": ts,
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        return event

    def dm_event(self, text: str, *, user: str | None = None, channel: str | None = None) -> dict[str, Any]:
        user = user or self.default_user
        ts = self._next_ts()
        return {
            "type": "message",
            "client_msg_id": str(uuid.uuid4()),
            "text": text,
            "user": user,
            "ts": ts,
            "team": self.team_id,
            "channel": channel or self.dm_channel_for(user),
            "event_ts": ts,
            "channel_type": "im",
        }

    def event_callback(self, event: dict[str, Any]) -> dict[str, Any]:
        """The Events API ``event_callback`` wrapper Slack puts around an event."""
        return {
            "token": self.verification_token,
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": None,
            "api_app_id": self.api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": "Ev" + uuid.uuid4().hex[:10].upper(),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-" + uuid.uuid4().hex,
        }

    # ---------------------------------------------------------------- pushes

    async def send_slash_command(
        self,
        command: str = "/latest",
        text: str = "",
        *,
        channel_id: str | None = None,
        user_id: str | None = None,
        user_name: str = "alice",
        timeout: float = 5.0,
    ) -> Push:
        """Push a slash command; ``push.payload["response_url"]`` points at this fake."""
        payload = self.slash_command_payload(
            command, text, channel_id=channel_id, user_id=user_id, user_name=user_name
        )
        return await self.push("slash_commands", payload, accepts_response_payload=True, timeout=timeout)

    async def send_app_mention(
        self,
        text: str | None = None,
        *,
        channel: str | None = None,
        user: str | None = None,
        thread_ts: str | None = None,
        timeout: float = 5.0,
    ) -> Push:
        """Push an ``app_mention`` event (text defaults to ``<@BOT> latest putin``)."""
        text = text if text is not None else f"<@{self.bot_user_id}> latest putin"
        event = self.app_mention_event(text, channel=channel, user=user, thread_ts=thread_ts)
        return await self.push(
            "events_api", self.event_callback(event), accepts_response_payload=False, timeout=timeout
        )

    async def send_dm(
        self, text: str, user: str | None = None, channel: str | None = None, *, timeout: float = 5.0
    ) -> Push:
        """Push a ``message.im`` event: ``user`` writing to the bot in their DM channel."""
        event = self.dm_event(text, user=user, channel=channel)
        return await self.push(
            "events_api", self.event_callback(event), accepts_response_payload=False, timeout=timeout
        )
