"""The platform-neutral command set: the same words on Telegram and Slack.

An adapter turns one platform event into ``Commands.handle(ChatContext, text)`` and one
``Reply`` back into a platform message. This module parses the words, checks rights, calls the
core (storage, registry, digest building) and says what to answer; it never talks to a platform
and never renders platform markup (``digests.render`` does that from the reply's data).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from digests.digest import build_digest, build_digest_async, next_scheduled, window_start
from digests.leaders import Registry
from digests.models import Digest, Leader, Statement, Subscription
from digests.storage import Storage

Platform = Literal["telegram", "slack", "terminal"]
ChatType = Literal["private", "group", "supergroup", "channel", "im", "slack_channel"]
TIME_RE = re.compile(r"^([01]?\d|2[0-3])[:.h]([0-5]\d)$")
AMPM_RE = re.compile(r"^(1[0-2]|0?[1-9])(?:[:.]([0-5]\d))?\s*([ap])\.?m\.?$", re.I)


def parse_time(word: str) -> str | None:
    """ "07:30", "7:30", "19.05", "7pm", "7:30am" → "HH:MM"; None if it is not a time of day."""
    m = TIME_RE.match(word)
    if m:
        return f"{int(m.group(1)):02d}:{m.group(2)}"
    m = AMPM_RE.match(word)
    if m:
        hour = int(m.group(1)) % 12 + (12 if m.group(3).lower() == "p" else 0)
        return f"{hour:02d}:{m.group(2) or '00'}"
    return None


MAX_LATEST = 20
DEFAULT_LATEST = 5

COMMAND_HELP: tuple[tuple[str, str, str], ...] = (
    ("subscribe", "[leader ...] [at HH:MM] [Area/City]", "daily digest of what leaders said"),
    ("unsubscribe", "[leader ...]", "drop leaders, or the whole subscription"),
    ("subscriptions", "", "this chat's leaders, time and time zone"),
    ("latest", "<leader> [n]", "a leader's latest statements (n up to 20)"),
    ("leaders", "", "the leaders the bot follows, with their keys"),
    ("digest", "[leader ...]", "preview the next digest now"),
    ("sources", "", "the news sources and their health"),
    ("help", "", "what the bot does and how to use it"),
)


@dataclass(frozen=True)
class ChatContext:
    platform: Platform
    chat_id: str
    chat_type: ChatType
    user_id: str | None = None
    # Asked only when a command changes the subscription of a group or channel.
    is_admin: Callable[[], Awaitable[bool]] | None = None


@dataclass(frozen=True)
class Reply:
    """What to answer. ``text`` is plain text (the adapter escapes it); ``digest`` or
    ``statements`` carry data for the platform renderer. ``error`` replies are one line;
    Slack shows errors and help to the asker only."""

    text: str
    error: bool = False
    ephemeral: bool = False
    digest: Digest | None = None
    statements: tuple[Leader, tuple[Statement, ...]] | None = None
    changed: bool = False  # a subscription changed: the scheduler should re-plan
    extra: dict[str, str] = field(default_factory=dict)


def _hint(text: str) -> Reply:
    return Reply(text, error=True, ephemeral=True)


class Commands:
    def __init__(
        self,
        storage: Storage,
        registry: Registry,
        *,
        default_time: str = "08:00",
        default_timezone: str = "UTC",
        clock: Callable[[], datetime],
        summarise: Callable[[Leader, Sequence[Statement]], Awaitable[str]] | None = None,
        on_change: Callable[[Subscription | None, str, str], None] | None = None,
    ) -> None:
        self.storage = storage
        self.registry = registry
        self.default_time = default_time
        self.default_timezone = default_timezone
        self.clock = clock
        self.summarise = summarise
        self.on_change = on_change
        self._zones_folded: dict[str, str] | None = None

    # -- entry point -------------------------------------------------------------------------

    async def handle(self, ctx: ChatContext, name: str, args: str) -> Reply:
        """``name`` without the slash (and without a Slack prefix or @botname)."""
        name = name.lower().lstrip("/")
        handlers: dict[str, Callable[[ChatContext, str], Awaitable[Reply]]] = {
            "start": self.help,
            "help": self.help,
            "subscribe": self.subscribe,
            "unsubscribe": self.unsubscribe,
            "subscriptions": self.subscriptions,
            "latest": self.latest,
            "leaders": self.leaders,
            "digest": self.digest,
            "sources": self.sources,
        }
        handler = handlers.get(name)
        if handler is None:
            return _hint(f"Unknown command /{name}. Send /help for the list of commands.")
        return await handler(ctx, args.strip())

    async def handle_text(self, ctx: ChatContext, text: str) -> Reply:
        """Free text (a Slack mention or DM): "latest putin", "/subscribe xi at 07:00"."""
        words = text.strip().split(maxsplit=1)
        if not words:
            return await self.help(ctx, "")
        return await self.handle(ctx, words[0], words[1] if len(words) > 1 else "")

    # -- commands ----------------------------------------------------------------------------

    async def help(self, ctx: ChatContext, args: str) -> Reply:
        lines = [
            "I follow what world leaders say: I read news and official sources, find each leader's "
            "statements (quotes and reported speech), merge the same statement from several outlets "
            "and post a daily digest here.",
            "",
            "Commands:",
        ]
        for name, usage, what in COMMAND_HELP:
            lines.append(f"/{name} {usage}".rstrip() + f" — {what}")
        lines += [
            "",
            "Examples:",
            "/subscribe — every leader, daily at " + f"{self.default_time} {self.default_timezone}",
            "/subscribe putin zelensky at 07:30 Europe/Kyiv",
            "/subscribe nothing-new — also post a short note on days with nothing new (quiet: no note)",
            "/latest putin 10",
            "/unsubscribe putin",
        ]
        return Reply("\n".join(lines), ephemeral=True)

    async def _may_change(self, ctx: ChatContext) -> bool:
        if ctx.chat_type in ("private", "im"):
            return True
        if ctx.is_admin is None:
            return True
        return await ctx.is_admin()

    async def subscribe(self, ctx: ChatContext, args: str) -> Reply:
        parsed = self._parse_subscribe(args)
        if isinstance(parsed, Reply):
            return parsed
        leaders, time, zone, notify_empty = parsed
        if not await self._may_change(ctx):
            return _hint("Only chat admins can change this chat's subscription.")
        existing = self.storage.subscription(ctx.platform, ctx.chat_id)
        sub = self.storage.upsert_subscription(
            ctx.platform,
            ctx.chat_id,
            leaders=leaders if (leaders or existing is None or not args) else None,
            time=time,
            timezone=zone,
            now=self.clock(),
            default_time=self.default_time,
            default_timezone=self.default_timezone,
            notify_empty=notify_empty,
        )
        if self.on_change:
            self.on_change(sub, ctx.platform, ctx.chat_id)
        verb = "Subscribed" if existing is None or not existing.active else "Updated"
        return Reply(f"{verb}: {self._describe(sub)}", changed=True)

    async def unsubscribe(self, ctx: ChatContext, args: str) -> Reply:
        current = self.storage.subscription(ctx.platform, ctx.chat_id)
        if current is None:
            return _hint("This chat has no subscription. Start one with /subscribe.")
        keys = self._resolve_leaders(self._split(args))
        if isinstance(keys, Reply):
            return keys
        if not await self._may_change(ctx):
            return _hint("Only chat admins can change this chat's subscription.")
        if not keys:
            self.storage.delete_subscription(ctx.platform, ctx.chat_id)
            if self.on_change:
                self.on_change(None, ctx.platform, ctx.chat_id)
            return Reply("Unsubscribed: this chat will get no more digests.", changed=True)
        if not current.leaders:
            return _hint(
                "This chat follows every leader. Subscribe to the ones you want instead, "
                "e.g. /subscribe " + " ".join(k for k in list(self.registry.leaders)[:2] if k not in keys)
            )
        not_followed = [k for k in keys if k not in current.leaders]
        sub = self.storage.remove_leaders(ctx.platform, ctx.chat_id, keys)
        if self.on_change:
            self.on_change(sub, ctx.platform, ctx.chat_id)
        if sub is None:
            return Reply(
                "Unsubscribed: that was the last leader, so this chat will get no more digests.", changed=True
            )
        note = ""
        if not_followed:
            note = " (" + ", ".join(self._name(k) for k in not_followed) + " was not followed)"
        return Reply(f"Removed{note}. Now: {self._describe(sub)}", changed=True)

    async def subscriptions(self, ctx: ChatContext, args: str) -> Reply:
        sub = self.storage.subscription(ctx.platform, ctx.chat_id)
        if sub is None:
            return Reply("This chat has no subscription. Start one with /subscribe (see /help).")
        last = (
            sub.last_digest_at.astimezone(ZoneInfo(sub.timezone)).strftime("%Y-%m-%d %H:%M")
            if sub.last_digest_at
            else "none yet"
        )
        state = "" if sub.active else " (paused: the bot could not post here)"
        return Reply(f"{self._describe(sub)}{state}\nLast digest: {last}")

    async def latest(self, ctx: ChatContext, args: str) -> Reply:
        words = self._split(args)
        if not words:
            return _hint("Which leader? For example: /latest putin 5 (see /leaders)")
        n = DEFAULT_LATEST
        if len(words) > 1 and re.fullmatch(r"-?\d+", words[-1]):
            n = int(words.pop())
            if not 1 <= n <= MAX_LATEST:
                return _hint(f"n must be between 1 and {MAX_LATEST}, e.g. /latest {words[0]} 10")
        leader = self._resolve_one(" ".join(words))
        if isinstance(leader, Reply):
            return leader
        statements = tuple(self.storage.latest(leader.key, n))
        if not statements:
            return Reply(f"No statements by {leader.name} yet.", statements=(leader, ()))
        return Reply(f"Latest statements by {leader.name}", statements=(leader, statements))

    async def leaders(self, ctx: ChatContext, args: str) -> Reply:
        lines = [f"{len(self.registry.leaders)} leaders (use the key in commands):"]
        for leader in sorted(self.registry.leaders.values(), key=lambda x: x.key):
            lines.append(f"{leader.key} — {leader.name}")
        return Reply("\n".join(lines))

    async def digest(self, ctx: ChatContext, args: str) -> Reply:
        keys = self._resolve_leaders(self._split(args))
        if isinstance(keys, Reply):
            return keys
        now = self.clock()
        sub = self.storage.subscription(ctx.platform, ctx.chat_id)
        since = window_start(sub, now) if sub is not None else now - timedelta(hours=24)
        if not keys and sub is not None:
            keys = list(sub.leaders)
        statements = self.storage.statements_seen(keys or None, since, now)
        if self.summarise is not None:
            digest = await build_digest_async(
                statements,
                self.registry,
                since=since,
                until=now,
                leaders=keys or None,
                summarise=self.summarise,
            )
        else:
            digest = build_digest(statements, self.registry, since=since, until=now, leaders=keys or None)
        if digest.empty:
            return Reply(f"Nothing new since {since:%Y-%m-%d %H:%M} UTC.")
        return Reply("Digest preview", digest=digest)

    async def sources(self, ctx: ChatContext, args: str) -> Reply:
        states = self.storage.source_states()
        if not states:
            return Reply("No sources are configured.")
        lines = []
        for st in states:
            if st.status == "failing" and st.failing_since is not None:
                status = (
                    f"failing since {st.failing_since:%Y-%m-%d %H:%M} UTC: {st.last_error or 'unknown error'}"
                )
            elif st.status == "new":
                status = "ok (not polled yet)"
            else:
                status = st.status
            lines.append(f"{st.key} — {st.name}: {status}")
        return Reply("\n".join(lines))

    # -- parsing -----------------------------------------------------------------------------

    @staticmethod
    def _split(args: str) -> list[str]:
        args = args.replace("“", '"').replace("”", '"').replace("«", '"').replace("»", '"')
        try:
            return shlex.split(args)
        except ValueError:
            return args.replace('"', " ").split()

    def _zone(self, word: str) -> str | None:
        if word.upper() in ("UTC", "GMT", "Z"):
            return "UTC"
        try:
            ZoneInfo(word)
            return word
        except (ZoneInfoNotFoundError, ValueError):
            pass
        if self._zones_folded is None:
            self._zones_folded = {z.lower(): z for z in available_timezones()}
        return self._zones_folded.get(word.lower())

    def _parse_subscribe(self, args: str) -> tuple[list[str], str | None, str | None, bool | None] | Reply:
        words = self._split(args)
        time: str | None = None
        zone: str | None = None
        notify_empty: bool | None = None
        names: list[str] = []
        i = 0
        while i < len(words):
            word = words[i]
            if word.lower() in ("nothing-new", "+nothing-new", "notify-empty"):
                notify_empty = True
            elif word.lower() in ("quiet", "-nothing-new"):
                notify_empty = False
            elif word.lower() == "at" and i + 1 < len(words):
                i += 1
                word = words[i]
                if i + 1 < len(words) and words[i + 1].lower() in ("am", "pm"):
                    i += 1
                    word += words[i]
                time = parse_time(word)
                if time is None:
                    return _hint(f"Bad time {word!r}: use HH:MM, e.g. /subscribe at 07:30 Europe/Kyiv")
            elif parse_time(word) is not None:
                time = parse_time(word)
            elif re.fullmatch(r"\d{1,2}:\d{2}", word) or re.fullmatch(r"\d{3,}", word):
                return _hint(f"Bad time {word!r}: use HH:MM between 00:00 and 23:59, e.g. at 07:30")
            elif "/" in word or word.upper() in ("UTC", "GMT"):
                zone = self._zone(word)
                if zone is None:
                    return _hint(
                        f"Unknown time zone {word!r}: use an Area/City name such as Europe/Kyiv "
                        "or America/New_York"
                    )
            else:
                names.append(word)
            i += 1
        if names and names[0].lower() == "all" and len(names) == 1:
            names = []
        resolved = self._resolve_leaders(names) if names else []
        if isinstance(resolved, Reply):
            return resolved
        return resolved, time, zone, notify_empty

    def _resolve_leaders(self, words: Sequence[str]) -> list[str] | Reply:
        """Names, possibly several words each ("vladimir putin"): longest match first."""
        keys: list[str] = []
        i = 0
        while i < len(words):
            for width in (3, 2):
                found = (
                    self.registry.exact(" ".join(words[i : i + width])) if i + width <= len(words) else None
                )
                if found is not None:
                    keys.append(found.key)
                    i += width
                    break
            else:
                one = self._resolve_one(words[i])
                if isinstance(one, Reply):
                    return one
                keys.append(one.key)
                i += 1
        return list(dict.fromkeys(keys))

    def _resolve_one(self, name: str) -> Leader | Reply:
        res = self.registry.resolve(name)
        if res.leader is not None:
            return res.leader
        if res.suggestion is not None:
            return _hint(f"Unknown leader {name!r}. Did you mean {res.suggestion.key}?")
        return _hint(f"Unknown leader {name!r}. Send /leaders for the list.")

    def _name(self, key: str) -> str:
        leader = self.registry.leaders.get(key)
        return leader.name if leader else key

    def _describe(self, sub: Subscription) -> str:
        who = ", ".join(self._name(k) for k in sub.leaders) if sub.leaders else "all leaders"
        nxt = next_scheduled(self.clock(), sub.time, sub.timezone)
        local = nxt.astimezone(ZoneInfo(sub.timezone))
        note = "; a note on days with nothing new" if sub.notify_empty else ""
        return f"{who} — daily digest at {sub.time} {sub.timezone}{note} (next: {local:%a %d %b %H:%M})"
