"""The Slack adapter: slash commands, app mentions and DMs → ``Commands``; digests → chat.postMessage.

``SlackChat`` is a slack_bolt ``AsyncApp`` that turns one Slack event into one call of the
platform-neutral command set and one Slack reply. Slash commands are acknowledged first (Slack
gives 3 seconds) and answered afterwards through their ``response_url``: ephemerally for errors
and help, in the channel otherwise. Mentions (``@bot latest putin``) and DMs are answered with
chat.postMessage, errors in mentions with chat.postEphemeral to the asker. It runs in Socket Mode
when an app token is given (it wins), else in HTTP mode: ``attach(web_app)`` adds
``POST /slack/events`` to the composition root's aiohttp application, and Bolt checks each request's
signature and 5-minute timestamp (401 otherwise). ``SlackSender`` is delivery's Slack sender: one
chat.postMessage per outbox part, with Slack's errors translated into ``bot.delivery``'s outcomes.

It renders nothing itself: Block Kit comes from ``digests.render`` and every other outside text is
escaped with ``render.escape_slack``, so no reply can carry ``<!channel>`` or ``<@U…>``. It holds no
business logic, reads no environment and never logs a token.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands import ChatContext, ChatType, Commands, Reply
from bot.delivery import ChatGone, MarkupRejected, Pacer, RateLimited, Rejected, Transient, slack_pacer
from digests import render
from digests.leaders import Registry

log = logging.getLogger("bot.slack")

DEFAULT_API_URL = "https://slack.com/api/"
EVENTS_PATH = "/slack/events"
COMMAND_NAMES: tuple[str, ...] = (
    "latest",
    "subscribe",
    "unsubscribe",
    "subscriptions",
    "leaders",
    "digest",
    "sources",
    "help",
)
# A response_url accepts 5 posts within 30 minutes.
MAX_RESPONSE_URL_USES = 5
# Plain-text replies are cut at line ends, within the limit render keeps for ``text`` fallbacks.
MAX_TEXT_CHARS = render.SLACK_TEXT_LIMIT

# Errors meaning "this conversation can't receive the bot's messages any more". Token-wide
# failures (invalid_auth, token_revoked …) are not here: they say nothing about the chat, and
# deactivating every subscription because of a revoked token would lose them all.
GONE_ERRORS = frozenset(
    {
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "account_inactive",
        "user_not_found",  # a DM addressed by user id whose user no longer exists
        "user_disabled",  # a DM whose user was deactivated
        "team_access_not_granted",  # the channel's workspace no longer grants the app access
    }
)
MARKUP_ERRORS = frozenset({"invalid_blocks", "invalid_blocks_format"})

# "/latest" in a reply, but not the "/Kyiv" of "Europe/Kyiv" nor a URL's path.
_COMMAND_WORD = re.compile(r"(?<![\w/:.])/(" + "|".join(COMMAND_NAMES) + r")\b")

_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # X-Slack-Request-Timestamp: Unix seconds

Mode = Literal["socket", "http"]
Part = dict[str, Any]


# ------------------------------------------------------------------------------------------------
# Text helpers


def unescape_slack(text: str) -> str:
    """Slack sends ``&``, ``<`` and ``>`` in user text as entities; undo that (``&amp;`` last)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


_ANY_LEADING_MENTION = re.compile(r"^\s*<@[UW][A-Z0-9]+(?:\|[^>]*)?>")


def strip_mention(text: str, bot_user_id: str | None) -> str:
    """``<@UBOT> latest putin`` → ``latest putin`` (the bot's mention anywhere, or a leading one)."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text)
    else:
        text = _ANY_LEADING_MENTION.sub(" ", text)
    return unescape_slack(text).strip().lstrip(":,").strip()


def text_parts(text: str, limit: int = MAX_TEXT_CHARS) -> list[Part]:
    """Already-escaped mrkdwn text → message parts of at most ``limit`` characters, cut at lines."""
    parts: list[Part] = []
    chunk = ""
    for line in text.split("\n"):
        while len(line) > limit:  # a single overlong line: cut it hard
            if chunk:
                parts.append({"text": chunk})
                chunk = ""
            cut = line.rfind(" ", 0, limit)
            cut = cut if cut > limit // 2 else limit
            # Never cut inside an entity such as &lt;
            amp = line.rfind("&", cut - 5, cut)
            if amp != -1 and ";" not in line[amp:cut]:
                cut = amp
            parts.append({"text": line[:cut]})
            line = line[cut:].lstrip(" ")
        candidate = f"{chunk}\n{line}" if chunk else line
        if len(candidate) > limit:
            parts.append({"text": chunk})
            chunk = line
        else:
            chunk = candidate
    if chunk.strip() or not parts:
        parts.append({"text": chunk or " "})
    return parts


# ------------------------------------------------------------------------------------------------
# The chat adapter


class SlackChat:
    """Slack ↔ ``Commands``. Build it, ``await start()``; in HTTP mode also ``attach(web_app)``.

    ``pacer``: shared with delivery so that replies posted with chat.postMessage (mentions, DMs)
    and digests together keep to Slack's 1 message a second per channel.
    """

    def __init__(
        self,
        bot_token: str,
        commands: Commands,
        *,
        app_token: str | None = None,
        signing_secret: str | None = None,
        command_prefix: str = "",
        api_url: str = DEFAULT_API_URL,
        registry: Registry | None = None,
        pacer: Pacer | None = None,
        ping_interval: float = 10.0,
        default_timezone: str = "UTC",
    ) -> None:
        if not app_token and not signing_secret:
            raise ValueError("Slack needs an app token (Socket Mode) or a signing secret (HTTP mode)")
        self.mode: Mode = "socket" if app_token else "http"
        self.commands = commands
        self.registry = registry if registry is not None else commands.registry
        self.command_prefix = command_prefix
        self.pacer = pacer if pacer is not None else slack_pacer()
        self.default_timezone = default_timezone
        self._app_token = app_token
        self._ping_interval = ping_interval
        # Replies are interactive: ride out a dropped connection and a rate limit once or twice.
        self.client = AsyncWebClient(
            token=bot_token,
            base_url=api_url,
            retry_handlers=[
                AsyncConnectionErrorRetryHandler(),
                AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            ],
        )
        http = self.mode == "http"
        self.app = AsyncApp(
            name="digestbot",
            client=self.client,
            # Socket Mode envelopes are not signed; pass "" so Bolt doesn't read the environment.
            signing_secret=signing_secret if http and signing_secret else "",
            request_verification_enabled=http,
            url_verification_enabled=http,
            ssl_check_enabled=http,
            process_before_response=False,
            logger=logging.getLogger("bot.slack.bolt"),
        )
        self._handler: AsyncSocketModeHandler | None = None
        self._register()

    # -- set-up ------------------------------------------------------------------------------

    @property
    def command_names(self) -> list[str]:
        """The slash commands to create in the Slack app's settings, e.g. ``/sd-latest``."""
        return [f"/{self.command_prefix}{name}" for name in COMMAND_NAMES]

    @property
    def latest_command(self) -> str:
        return f"/{self.command_prefix}latest"

    def _register(self) -> None:
        for command in self.command_names:
            self.app.command(command)(self._on_command)
        self.app.event("app_mention")(self._on_mention)
        self.app.event("message")(self._on_message)

    async def start(self) -> None:
        """Socket Mode: open the connection. HTTP mode: nothing (serve ``routes()`` on PORT)."""
        if self.mode == "socket":
            assert self._app_token is not None
            self._handler = AsyncSocketModeHandler(
                self.app, self._app_token, ping_interval=self._ping_interval
            )
            await self._handler.connect_async()  # type: ignore[no-untyped-call]  # Bolt leaves it unannotated
            log.info("slack: connected in Socket Mode; commands %s", " ".join(self.command_names))
        else:
            log.info("slack: HTTP mode, POST %s; commands %s", EVENTS_PATH, " ".join(self.command_names))

    async def stop(self) -> None:
        if self._handler is not None:
            handler, self._handler = self._handler, None
            await handler.close_async()  # type: ignore[no-untyped-call]
            log.info("slack: Socket Mode connection closed")

    def routes(self) -> list[web.RouteDef]:
        """``POST /slack/events`` for HTTP mode (Events API and slash commands)."""
        return [web.post(EVENTS_PATH, self.handle_request)]

    def attach(self, web_app: web.Application) -> None:
        web_app.add_routes(self.routes())

    async def handle_request(self, request: web.Request) -> web.Response:
        """One HTTP request from Slack → Bolt (which verifies it and answers 401 if forged).

        In Socket Mode Bolt verifies nothing (envelopes arrive over the app-token socket), so this
        endpoint answers 404 there rather than trust an unsigned request.
        """
        if self.mode != "http":
            raise web.HTTPNotFound(text="Slack runs in Socket Mode")
        if not _TIMESTAMP.fullmatch(request.headers.get("X-Slack-Request-Timestamp", "0")):
            # slack_sdk's verifier raises on a timestamp that is not a small integer, and Bolt
            # answers 500 with a traceback in the log: refuse it as the forgery it is.
            return web.json_response({"error": "invalid request"}, status=401)
        bolt_request = await to_bolt_request(request)
        bolt_response = await self.app.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    # -- listeners ---------------------------------------------------------------------------

    def _command_name(self, command: str) -> str:
        name = command.lstrip("/")
        return name.removeprefix(self.command_prefix) if self.command_prefix else name

    async def _on_command(self, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()  # first: Slack shows an error if the ack takes over 3 s
        started = time.monotonic()
        channel = str(command.get("channel_id", ""))
        typed = str(command.get("command", ""))
        name = self._command_name(typed)
        ctx = ChatContext(
            platform="slack",
            chat_id=channel,
            chat_type=self._chat_type(channel, command.get("channel_name")),
            user_id=command.get("user_id"),
        )
        outcome = "ok"
        try:
            reply = await self.commands.handle(ctx, name, unescape_slack(str(command.get("text", ""))))
            outcome = "error" if reply.error else "ok"
            await self._respond(respond, reply, channel)
        except Exception:
            outcome = "failed"
            log.exception("slack: %s in %s failed", typed, channel)
            await self._respond_quietly(respond, "Sorry, something went wrong. Please try again.")
        log.info(
            "slack: %s in %s: %s (%.0f ms)", typed, channel, outcome, (time.monotonic() - started) * 1000
        )

    async def _on_mention(self, event: dict[str, Any], context: AsyncBoltContext) -> None:
        channel = str(event.get("channel", ""))
        text = strip_mention(str(event.get("text", "")), context.bot_user_id)
        ctx = ChatContext(
            platform="slack",
            chat_id=channel,
            chat_type=self._chat_type(channel, event.get("channel_type")),
            user_id=event.get("user"),
        )
        await self._answer_text(ctx, text, event, kind="mention")

    async def _on_message(self, event: dict[str, Any], context: AsyncBoltContext) -> None:
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        user = event.get("user")
        if not user or user == context.bot_user_id:
            return
        channel = str(event.get("channel", ""))
        ctx = ChatContext(platform="slack", chat_id=channel, chat_type="im", user_id=str(user))
        text = strip_mention(str(event.get("text", "")), context.bot_user_id)
        await self._answer_text(ctx, text, event, kind="dm")

    async def _answer_text(self, ctx: ChatContext, text: str, event: Mapping[str, Any], *, kind: str) -> None:
        started = time.monotonic()
        words = text.split(maxsplit=1)
        name = words[0].lstrip("/").lower() if words else "help"
        thread_ts = event.get("thread_ts")
        outcome = "ok"
        try:
            reply = await self.commands.handle_text(ctx, text)
            outcome = "error" if reply.error else "ok"
            if (reply.error or reply.ephemeral) and ctx.chat_type != "im" and ctx.user_id:
                await self._post_ephemeral(ctx.chat_id, ctx.user_id, reply, thread_ts)
            else:
                await self._post(ctx.chat_id, self._render(reply, ctx.chat_id), thread_ts)
        except Exception:
            outcome = "failed"
            log.exception("slack: %s %r in %s failed", kind, name, ctx.chat_id)
        log.info(
            "slack: %s %s in %s: %s (%.0f ms)",
            kind,
            name,
            ctx.chat_id,
            outcome,
            (time.monotonic() - started) * 1000,
        )

    # -- replies -----------------------------------------------------------------------------

    @staticmethod
    def _chat_type(channel: str, hint: object) -> ChatType:
        if hint in ("im", "directmessage") or channel.startswith("D"):
            return "im"
        return "slack_channel"

    def _timezone(self, chat_id: str) -> str:
        sub = self.commands.storage.subscription("slack", chat_id)
        return sub.timezone if sub is not None else self.default_timezone

    def _render(self, reply: Reply, chat_id: str) -> list[Part]:
        """Block Kit for digests and statements (from ``digests.render``), escaped text otherwise."""
        if reply.digest is not None and not reply.digest.empty:
            return render.slack_messages(
                reply.digest, title=reply.text, tz=self._timezone(chat_id), latest_command=self.latest_command
            )
        if reply.statements is not None and reply.statements[1]:
            leader, statements = reply.statements
            return render.slack_statements(leader, statements, tz=self._timezone(chat_id))
        return text_parts(render.escape_slack(self._prefixed(reply.text)))

    def _prefixed(self, text: str) -> str:
        """Command names in help and hints as this workspace knows them (``/latest`` → ``/sd-latest``)."""
        if not self.command_prefix:
            return text
        return _COMMAND_WORD.sub(lambda m: f"/{self.command_prefix}{m.group(1)}", text)

    async def _respond(self, respond: AsyncRespond, reply: Reply, channel: str) -> None:
        ephemeral = reply.error or reply.ephemeral
        parts = self._render(reply, channel)
        for index, part in enumerate(parts):
            if index >= MAX_RESPONSE_URL_USES:
                # The response_url is used up; the rest can only go to the channel itself.
                if ephemeral:
                    log.warning("slack: reply in %s cut at %d parts", channel, index)
                    return
                await self._post(channel, parts[index:], None)
                return
            answer = await respond(
                text=part.get("text", ""),
                blocks=part.get("blocks"),
                response_type="ephemeral" if ephemeral else "in_channel",
                replace_original=False,
                unfurl_links=False,
                unfurl_media=False,
            )
            if answer.status_code != 200:
                log.warning(
                    "slack: response_url for %s answered %s: %s",
                    channel,
                    answer.status_code,
                    str(answer.body)[:200],
                )
                return

    @staticmethod
    async def _respond_quietly(respond: AsyncRespond, text: str) -> None:
        try:
            await respond(text=render.escape_slack(text), response_type="ephemeral", replace_original=False)
        except Exception as exc:  # the answer to a failure must not fail again
            log.warning("slack: could not answer through response_url: %s", type(exc).__name__)

    async def _post(self, channel: str, parts: Sequence[Part], thread_ts: object) -> None:
        for part in parts:
            await self.pacer.acquire(channel)
            kwargs: dict[str, Any] = {}
            if isinstance(thread_ts, str) and thread_ts:
                kwargs["thread_ts"] = thread_ts
            if part.get("blocks"):
                kwargs["blocks"] = part["blocks"]
            await self.client.chat_postMessage(
                channel=channel, text=part.get("text", ""), unfurl_links=False, unfurl_media=False, **kwargs
            )

    async def _post_ephemeral(self, channel: str, user: str, reply: Reply, thread_ts: object) -> None:
        for part in self._render(reply, channel):
            kwargs: dict[str, Any] = {}
            if isinstance(thread_ts, str) and thread_ts:
                kwargs["thread_ts"] = thread_ts
            if part.get("blocks"):
                kwargs["blocks"] = part["blocks"]
            await self.client.chat_postEphemeral(
                channel=channel, user=user, text=part.get("text", ""), **kwargs
            )


# ------------------------------------------------------------------------------------------------
# Delivery's sender


def _status(exc: SlackApiError) -> int | None:
    response = exc.response
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    return status if isinstance(status, int) else None


def _api_error(exc: SlackApiError) -> str:
    data = getattr(exc.response, "data", None)
    if isinstance(data, dict):
        return str(data.get("error") or "unknown_error")
    return "unknown_error"


def _retry_after(exc: SlackApiError, default: float = 1.0) -> float:
    headers = getattr(exc.response, "headers", None) or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else default
    except (TypeError, ValueError):
        return default


class SlackSender:
    """Sends outbox parts with chat.postMessage (implements ``bot.delivery.Sender``).

    A part is ``{"text": fallback, "blocks": [...]}``; a part with ``"_plain": True`` (delivery's
    resend after Slack rejected the blocks) goes out as its ``plain`` (else ``text``) alone. Every
    text in a part is Slack mrkdwn, already escaped (as ``digests.render`` makes it): Slack reads
    ``<!channel>`` in ``text`` as markup, so a plain twin must be escaped by whoever builds it. Link and media unfurls are
    off. ``timeout`` (seconds) bounds one call; its own client never retries by itself, because a
    silent retry of a call whose answer was lost would post the digest twice — delivery decides.
    """

    platform = "slack"

    def __init__(
        self,
        bot_token: str,
        *,
        api_url: str = DEFAULT_API_URL,
        timeout: float = 15.0,
        client: AsyncWebClient | None = None,
    ) -> None:
        self.timeout = timeout
        self.client = (
            client
            if client is not None
            else AsyncWebClient(
                token=bot_token, base_url=api_url, timeout=max(1, int(timeout) + 5), retry_handlers=[]
            )
        )

    def is_group(self, chat_id: str) -> bool:
        return False  # Slack has no per-group minute limit; 1/s per channel applies to all

    async def send(self, chat_id: str, part: Part) -> str:
        plain = bool(part.get("_plain")) or not part.get("blocks")
        text = str(part.get("plain") if part.get("_plain") and part.get("plain") else part.get("text") or "")
        kwargs: dict[str, Any] = {} if plain else {"blocks": part["blocks"]}
        try:
            async with asyncio.timeout(self.timeout):
                response = await self.client.chat_postMessage(
                    channel=chat_id, text=text, unfurl_links=False, unfurl_media=False, **kwargs
                )
        except SlackApiError as exc:
            raise self._translate(exc) from exc
        except TimeoutError as exc:  # asyncio.TimeoutError is TimeoutError since 3.11
            raise Transient(f"timed out after {self.timeout:g} s", ambiguous=True) from exc
        except aiohttp.ClientConnectorError as exc:  # refused, DNS: the request never left
            raise Transient(f"cannot connect: {type(exc).__name__}", ambiguous=False) from exc
        except (aiohttp.ClientError, ConnectionError) as exc:  # reset, server disconnected mid-call
            if isinstance(exc, ConnectionRefusedError):
                raise Transient("connection refused", ambiguous=False) from exc
            raise Transient(f"connection lost: {type(exc).__name__}", ambiguous=True) from exc
        ts = response.get("ts")
        if not isinstance(ts, str) or not ts:
            raise Transient("chat.postMessage answered without a ts", ambiguous=True)
        return ts

    @staticmethod
    def _translate(exc: SlackApiError) -> Exception:
        status = _status(exc)
        if status == 429:
            return RateLimited(_retry_after(exc))
        if status is not None and status >= 500:
            return Transient(f"HTTP {status}", ambiguous=False)
        error = _api_error(exc)
        if error == "ratelimited":
            return RateLimited(_retry_after(exc))
        if error in GONE_ERRORS:
            return ChatGone(error)
        if error in MARKUP_ERRORS:
            return MarkupRejected(error)
        if error in ("internal_error", "fatal_error", "service_unavailable", "request_timeout"):
            return Transient(error, ambiguous=error == "request_timeout")
        return Rejected(f"{error} (HTTP {status})" if status not in (None, 200) else error)
