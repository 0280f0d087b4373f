"""What a digest holds, and when each subscription's digest is due.

``build_digest`` takes the statements first seen in a window, keeps the subscription's leaders,
groups each leader's statements by subject, ranks them (outlets that carried them, then recency),
caps them per leader (the rest are counted so the message can point to ``/latest``) and adds a
summary. ``due`` decides, from a subscription's local time and time zone, whether its digest for a
local day is due at ``now``: right across daylight-saving changes, with a grace window for a bot
that was down, and never twice for one day (the outbox's (subscription, day) key enforces that).
Pure: no I/O; the caller passes statements and ``now``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from digests.leaders import Registry
from digests.models import Digest, Leader, LeaderDigest, Statement, Subscription
from digests.summarise import extractive_summary, group_by_subject

PER_LEADER_CAP = 8
GRACE = timedelta(hours=12)

Summarise = Callable[[Leader, Sequence[Statement]], str]
AsyncSummarise = Callable[[Leader, Sequence[Statement]], Awaitable[str]]


def when(s: Statement) -> datetime:
    return s.published or s.first_seen


def rank(statements: Sequence[Statement]) -> list[Statement]:
    """Most outlets first, then newest."""
    return sorted(statements, key=lambda s: (-s.outlet_count, -when(s).timestamp(), -(s.id or 0)))


def order_by_subject(statements: Sequence[Statement]) -> list[Statement]:
    """Ranked, with statements on the same subject kept together (subjects by their best one)."""
    ranked = rank(statements)
    position = {id(s): i for i, s in enumerate(ranked)}
    topics = group_by_subject(ranked)
    groups = [sorted(t.statements, key=lambda s: position[id(s)]) for t in topics]
    groups.sort(key=lambda g: position[id(g[0])])
    return [s for g in groups for s in g]


def _sections(
    statements: Sequence[Statement], registry: Registry, leaders: Sequence[str] | None
) -> list[tuple[Leader, list[Statement]]]:
    by_leader: dict[str, list[Statement]] = {}
    for s in statements:
        if leaders and s.leader not in leaders:
            continue
        if s.leader in registry.leaders:
            by_leader.setdefault(s.leader, []).append(s)
    # Leaders with the most-carried news first.
    order = sorted(
        by_leader, key=lambda k: (-sum(s.outlet_count for s in by_leader[k]), registry.leaders[k].name)
    )
    return [(registry.leaders[k], order_by_subject(by_leader[k])) for k in order]


def build_digest(
    statements: Sequence[Statement],
    registry: Registry,
    *,
    since: datetime,
    until: datetime,
    leaders: Sequence[str] | None = None,
    cap: int = PER_LEADER_CAP,
    summarise: Summarise = extractive_summary,
) -> Digest:
    sections = []
    for leader, ordered in _sections(statements, registry, leaders):
        summary = summarise(leader, ordered)
        sections.append(LeaderDigest(leader, summary, tuple(ordered[:cap]), max(0, len(ordered) - cap)))
    return Digest(since, until, tuple(sections))


async def build_digest_async(
    statements: Sequence[Statement],
    registry: Registry,
    *,
    since: datetime,
    until: datetime,
    summarise: AsyncSummarise,
    leaders: Sequence[str] | None = None,
    cap: int = PER_LEADER_CAP,
) -> Digest:
    sections = []
    for leader, ordered in _sections(statements, registry, leaders):
        summary = await summarise(leader, ordered)
        sections.append(LeaderDigest(leader, summary, tuple(ordered[:cap]), max(0, len(ordered) - cap)))
    return Digest(since, until, tuple(sections))


# ------------------------------------------------------------------------------------------------
# When digests are due


@dataclass(frozen=True)
class Due:
    subscription: Subscription
    day: date  # the subscription's local date of this digest
    scheduled: datetime  # the UTC instant it was due
    since: datetime
    until: datetime


def scheduled_instant(day: date, hhmm: str, zone: str) -> datetime:
    """The UTC instant of ``hhmm`` local time on ``day``; a time skipped by a DST change moves
    forward with the clock, a repeated one takes its first occurrence."""
    hour, minute = (int(x) for x in hhmm.split(":"))
    tz = ZoneInfo(zone)
    local = datetime.combine(day, time(hour, minute), tzinfo=tz)
    # Round-trip through UTC normalises a non-existent local time (spring forward).
    utc = local.astimezone(ZoneInfo("UTC"))
    return utc


def latest_scheduled(now: datetime, hhmm: str, zone: str) -> tuple[date, datetime]:
    """The most recent scheduled instant at or before ``now``, and its local day."""
    local_today = now.astimezone(ZoneInfo(zone)).date()
    for day in (local_today, local_today - timedelta(days=1), local_today - timedelta(days=2)):
        instant = scheduled_instant(day, hhmm, zone)
        if instant <= now:
            return day, instant
    raise AssertionError("unreachable: a scheduled instant lies within two days")


def next_scheduled(now: datetime, hhmm: str, zone: str) -> datetime:
    local_today = now.astimezone(ZoneInfo(zone)).date()
    for offset in range(0, 3):
        instant = scheduled_instant(local_today + timedelta(days=offset), hhmm, zone)
        if instant > now:
            return instant
    raise AssertionError("unreachable")


def window_start(sub: Subscription, now: datetime) -> datetime:
    """Since the previous digest; for the first one, since 24 hours before subscribing."""
    if sub.last_digest_at is not None:
        return sub.last_digest_at
    created = sub.created or now
    return created - timedelta(hours=24)


def due(
    sub: Subscription,
    now: datetime,
    *,
    last_day: date | None,
    grace: timedelta = GRACE,
    force: bool = False,
) -> Due | None:
    """The digest ``sub`` should get at ``now``, or None.

    ``last_day`` is the local day of the subscription's newest digest in the outbox. A digest is
    due once the local time has passed, at most ``grace`` late (a bot down for longer skips that
    day rather than sending a stale digest), and never twice for one day. ``force`` (the
    ``send-due --now`` case) takes today's digest now, even before its time.
    """
    if not sub.active:
        return None
    if force:
        day = now.astimezone(ZoneInfo(sub.timezone)).date()
        scheduled = now
    else:
        day, scheduled = latest_scheduled(now, sub.time, sub.timezone)
        if now - scheduled > grace:
            return None
        if sub.created is not None and scheduled < sub.created:
            return None  # subscribed after today's time: the first digest comes tomorrow
    if last_day is not None and day <= last_day:
        return None
    return Due(sub, day, scheduled, window_start(sub, now), now)
