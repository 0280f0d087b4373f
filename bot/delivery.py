"""Outbox → platform → marked sent: pacing, retries, gone chats, migrations.

Delivery guarantee (see README, "Delivery"): a digest is written to the outbox for (subscription,
local day) before anything is sent, and marked sent only after the platform confirmed every part
of it. A part the platform confirmed is recorded at once, so after a crash the digest resumes at
the next part. A send whose outcome is unknown — a timeout or a dropped connection after the
request left — is retried: delivery is at-least-once, and a duplicate message can only come from
such an ambiguous send.

Rate limits (429) are waited out and retried without limit; 5xx, timeouts and resets are retried
with exponential backoff and, if they persist, left pending for the next round; a chat that is
gone (blocked, kicked, archived …) has its subscription deactivated; a Telegram group upgraded to a
supergroup is rewritten to its new id and the part resent; markup the platform rejects is resent as
plain text. Senders (one per platform) translate platform errors into the exceptions below.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from digests.storage import OutboxItem, Storage

log = logging.getLogger("bot.delivery")


# ------------------------------------------------------------------------------------------------
# What a sender may raise


class SendError(Exception):
    """Base of the outcomes a sender reports instead of a message id."""


class ChatGone(SendError):
    """The chat can't receive messages any more (blocked, kicked, archived, deleted)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ChatMoved(SendError):
    """The chat has a new id (Telegram group → supergroup)."""

    def __init__(self, new_chat_id: str) -> None:
        super().__init__(f"chat moved to {new_chat_id}")
        self.new_chat_id = new_chat_id


class RateLimited(SendError):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited, retry after {retry_after:g} s")
        self.retry_after = retry_after


class Transient(SendError):
    """A 5xx, a timeout or a dropped connection. ``ambiguous``: the message may have arrived."""

    def __init__(self, reason: str, *, ambiguous: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.ambiguous = ambiguous


class MarkupRejected(SendError):
    """The platform could not parse the message's markup."""


class Rejected(SendError):
    """A permanent error for this message that is not about the chat (e.g. a bad request)."""


class Sender(Protocol):
    platform: str

    async def send(self, chat_id: str, part: dict[str, Any]) -> str:
        """Send one part; returns the platform's message id (or raises a SendError)."""
        ...

    def is_group(self, chat_id: str) -> bool:
        """Whether the chat is a group or channel (Telegram's 20/min limit)."""
        ...


# ------------------------------------------------------------------------------------------------
# Pacing


@dataclass
class _Window:
    limit: int
    period: float
    stamps: deque[float] = field(default_factory=deque)

    def wait_time(self, now: float) -> float:
        # Stamps move forward when a send is settled, so they need not be in order.
        if any(now - stamp >= self.period for stamp in self.stamps):
            self.stamps = deque(stamp for stamp in self.stamps if now - stamp < self.period)
        if len(self.stamps) < self.limit:
            return 0.0
        return self.period - (now - min(self.stamps))


class Pacer:
    """Sliding-window limits: a global rate and per-chat rates (with a stricter group rate).

    ``acquire`` waits until one more message fits every window, then books it. The limits are
    Telegram's (25 messages/s in all, 1/s per chat, 20/min per group or channel) or Slack's
    (1/s per channel); ``margin`` keeps a little under them, since the platform's clock and
    ours differ by network jitter.
    """

    def __init__(
        self,
        *,
        global_per_second: float | None,
        per_chat_per_second: float,
        group_per_minute: int | None = None,
        margin: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.margin = margin
        self._global = _Window(int(global_per_second), 1.0 + margin) if global_per_second else None
        self._chat_period = (1.0 / per_chat_per_second) + margin
        self._group_per_minute = group_per_minute
        self._chats: dict[str, _Window] = {}
        self._groups: dict[str, _Window] = {}
        self._lock = asyncio.Lock()

    def _windows(self, chat: str, group: bool) -> list[_Window]:
        windows = [self._chats.setdefault(chat, _Window(1, self._chat_period))]
        if group and self._group_per_minute:
            windows.append(
                self._groups.setdefault(chat, _Window(self._group_per_minute, 60.0 + self.margin * 20))
            )
        if self._global is not None:
            windows.append(self._global)
        return windows

    async def acquire(self, chat: str, *, group: bool = False) -> float:
        """Wait for room in every window, book the send; returns the booking's time stamp."""
        while True:
            async with self._lock:
                now = self.clock()
                windows = self._windows(chat, group)
                wait = max(w.wait_time(now) for w in windows)
                if wait <= 0:
                    for w in windows:
                        w.stamps.append(now)
                    return now
            await asyncio.sleep(wait)

    def settle(self, chat: str, *, group: bool = False, booked: float | None = None) -> None:
        """The send last booked for ``chat`` is over (answered, failed or timed out): count it
        from now.

        The platform counts a message when it arrives, somewhere between ``acquire`` and the
        answer; a request that waited for a connection or a busy loop arrives late, and the next
        one, booked a period after the first ``acquire``, could arrive less than a period after
        it (a 429). Counting the chat's windows from the answer keeps consecutive messages to one
        chat at least a period apart as the platform sees them, whatever the jitter.
        """
        now = self.clock()
        tables = (self._chats, self._groups) if group else (self._chats,)
        for table in tables:
            window = table.get(chat)
            if window is not None and window.stamps and window.stamps[-1] < now:
                window.stamps[-1] = now
        # The global window too: a burst that arrives late must not share a second with the
        # sends booked after it (the platform counts arrivals, not bookings).
        if booked is not None and self._global is not None:
            try:
                index = self._global.stamps.index(booked)
            except ValueError:
                return
            self._global.stamps[index] = max(booked, now)

    def forget_idle(self) -> None:
        """Drop windows of chats not written to recently (keeps memory flat over months)."""
        now = self.clock()
        for table in (self._chats, self._groups):
            for chat in [c for c, w in table.items() if not w.stamps or now - w.stamps[-1] > w.period]:
                del table[chat]


def telegram_pacer(rate: float = 25.0) -> Pacer:
    return Pacer(global_per_second=rate, per_chat_per_second=1.0, group_per_minute=20)


def slack_pacer() -> Pacer:
    return Pacer(global_per_second=None, per_chat_per_second=1.0)


# ------------------------------------------------------------------------------------------------
# Delivery


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    gone: int = 0
    pending: int = 0  # left for the next round (persisting transient errors)
    failed: int = 0
    rate_limited: int = 0
    ambiguous: int = 0


@dataclass
class _Counters:
    sent: int = 0
    gone: int = 0
    pending: int = 0
    failed: int = 0
    rate_limited: int = 0
    ambiguous: int = 0


class Delivery:
    """Sends pending outbox items through the platform senders."""

    def __init__(
        self,
        storage: Storage,
        senders: dict[str, Sender],
        pacers: dict[str, Pacer],
        *,
        clock: Callable[[], datetime],
        max_attempts: int = 6,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        concurrency: int = 64,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        owner: str | None = None,
        lease: timedelta = timedelta(minutes=5),
    ) -> None:
        self.owner = owner or f"delivery:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease = lease
        self.storage = storage
        self.senders = senders
        self.pacers = pacers
        self.clock = clock
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.concurrency = concurrency
        self.sleep = sleep
        self._lock = asyncio.Lock()
        self._busy: set[int] = set()

    async def deliver_pending(self) -> DeliveryReport:
        """Send every pending item whose platform has a sender; one chat's items in order."""
        counters = _Counters()
        async with self._lock:
            items = self.storage.pending_outbox(limit=1_000_000)
            for item in items:
                if item.platform not in self.senders and item.payload == '{"parts": []}':
                    self.storage.mark_sent(item.id, message_ids=[], now=self.clock())  # nothing to send
            items = [i for i in items if i.platform in self.senders]
            by_chat: dict[tuple[str, str], list[OutboxItem]] = {}
            for item in items:
                by_chat.setdefault((item.platform, item.chat_id), []).append(item)
            semaphore = asyncio.Semaphore(self.concurrency)

            async def chat_queue(queue: list[OutboxItem]) -> None:
                async with semaphore:
                    for item in queue:
                        gone = await self._deliver(item, counters)
                        if gone:
                            break

            await asyncio.gather(*(chat_queue(q) for q in by_chat.values()))
        return DeliveryReport(**counters.__dict__)

    async def _deliver(self, item: OutboxItem, c: _Counters) -> bool:
        """Deliver one outbox item; returns True if its chat is gone."""
        sender = self.senders[item.platform]
        pacer = self.pacers[item.platform]
        if not self.storage.claim_outbox(item.id, owner=self.owner, now=self.clock(), lease=self.lease):
            return False  # another process is sending it
        payload = json.loads(item.payload)
        parts: list[dict[str, Any]] = payload["parts"]
        done = list(item.message_ids)
        chat_id = item.chat_id
        attempts = 0
        index = len(done)
        while index < len(parts):
            part = parts[index]
            try:
                message_id = await _paced_send(sender, pacer, chat_id, part)
            except RateLimited as exc:
                c.rate_limited += 1
                log.info(
                    "delivery %s: %s %s rate limited, waiting %.1f s",
                    item.id,
                    item.platform,
                    chat_id,
                    exc.retry_after,
                )
                await self.sleep(exc.retry_after)
                continue
            except ChatMoved as exc:
                log.info(
                    "delivery %s: %s chat %s moved to %s", item.id, item.platform, chat_id, exc.new_chat_id
                )
                self.storage.migrate_chat(item.platform, chat_id, exc.new_chat_id)
                chat_id = exc.new_chat_id
                continue
            except ChatGone as exc:
                log.info(
                    "delivery %s: %s chat %s is gone (%s): subscription deactivated",
                    item.id,
                    item.platform,
                    chat_id,
                    exc.reason,
                )
                self.storage.deactivate_chat(item.platform, chat_id, exc.reason)
                c.gone += 1
                return True
            except MarkupRejected as exc:
                plain = part.get("plain")
                if plain is None or part.get("_plain"):
                    self.storage.mark_failed(item.id, error=f"markup rejected: {exc}")
                    c.failed += 1
                    return False
                log.warning("delivery %s: markup rejected (%s), resending as plain text", item.id, exc)
                parts[index] = {"text": plain, "plain": plain, "_plain": True}
                continue
            except Rejected as exc:
                log.error("delivery %s: rejected by %s: %s", item.id, item.platform, exc)
                self.storage.mark_failed(item.id, error=str(exc))
                c.failed += 1
                return False
            except Transient as exc:
                attempts += 1
                if exc.ambiguous:
                    c.ambiguous += 1
                total = self.storage.record_attempt(item.id, error=exc.reason)
                if attempts >= self.max_attempts:
                    log.warning(
                        "delivery %s: %s after %d attempts (total %d); left pending",
                        item.id,
                        exc.reason,
                        attempts,
                        total,
                    )
                    c.pending += 1
                    return False
                delay = min(self.backoff_cap, self.backoff_base * 2 ** (attempts - 1))
                log.info("delivery %s: %s; retry %d in %.1f s", item.id, exc.reason, attempts, delay)
                await self.sleep(delay)
                continue
            done.append(message_id)
            index += 1
            if index < len(parts):
                self.storage.record_part_sent(item.id, message_ids=done)
                self.storage.claim_outbox(item.id, owner=self.owner, now=self.clock(), lease=self.lease)
        self.storage.mark_sent(item.id, message_ids=done, now=self.clock())
        log.info(
            "delivery %s: sent to %s %s (%d part%s)",
            item.id,
            item.platform,
            chat_id,
            len(parts),
            "" if len(parts) == 1 else "s",
        )
        c.sent += 1
        return False


async def _paced_send(sender: Sender, pacer: Pacer, chat_id: str, part: dict[str, Any]) -> str:
    """One send within the chat's limits, its window counted from when the outcome is known."""
    group = sender.is_group(chat_id)
    booked = await pacer.acquire(chat_id, group=group)
    try:
        return await sender.send(chat_id, part)
    finally:
        pacer.settle(chat_id, group=group, booked=booked)
