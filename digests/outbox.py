"""Planning digests into the outbox: which subscriptions are due, and what each one receives.

``plan_due`` looks at every active subscription, asks ``digest.due`` whether its digest for a
local day is due at ``now``, builds that digest from the statements first seen in its window,
renders it for the subscription's platform and records it in the outbox — before anything is
sent, so that a crash between planning and sending loses nothing. An empty digest is recorded
too, with no parts (it moves the window and is never sent) unless the subscription asked for a
"nothing new" note. Sending is ``bot.delivery``'s job.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from digests import render
from digests.digest import GRACE, build_digest_async, due
from digests.leaders import Registry
from digests.models import Digest, Leader, Statement
from digests.storage import Storage
from digests.summarise import extractive_summary

log = logging.getLogger("digests.outbox")

AsyncSummarise = Callable[[Leader, Sequence[Statement]], Awaitable[str]]


async def _extractive(leader: Leader, statements: Sequence[Statement]) -> str:
    return extractive_summary(leader, statements)


def html_to_plain(fragment: str) -> str:
    """Telegram HTML → the same text without markup (the fallback when markup is rejected)."""
    text = re.sub(
        r"<a\s+href=\"([^\"]*)\"\s*>(.*?)</a>", lambda m: f"{m.group(2)} ({m.group(1)})", fragment, flags=re.S
    )
    text = re.sub(r"<[^>]+>", "", text)
    return html.unescape(text)


def render_parts(platform: str, digest: Digest, *, tz: str, title: str | None = None) -> list[dict[str, Any]]:
    if platform == "telegram":
        return [
            {"html": chunk, "plain": html_to_plain(chunk)}
            for chunk in render.telegram_html(digest, title=title, tz=tz)
        ]
    if platform == "slack":
        return [
            {**message, "plain": slack_plain(message)}
            for message in render.slack_messages(digest, title=title, tz=tz)
        ]
    return [{"text": render.plain_text(digest, title=title, tz=tz)}]


def slack_plain(message: dict[str, Any]) -> str:
    """A Slack message's blocks as one mrkdwn text (already escaped by the renderer): the
    fallback when Slack rejects the blocks."""
    lines: list[str] = []
    for block in message.get("blocks", []):
        text = block.get("text")
        if isinstance(text, dict) and text.get("text"):
            lines.append(str(text["text"]))
        for element in block.get("elements", []) or []:
            if isinstance(element, dict) and element.get("text"):
                lines.append(str(element["text"]))
    return "\n".join(lines)[:39_000] or str(message.get("text", ""))


def digest_title(day: date) -> str:
    return f"Leaders' statements — {day.strftime('%a %d %b %Y')}"


async def plan_due(
    storage: Storage,
    registry: Registry,
    now: datetime,
    *,
    summarise: AsyncSummarise = _extractive,
    force: bool = False,
    grace: timedelta = GRACE,
    platforms: Sequence[str] | None = None,
) -> list[int]:
    """Record every digest due at ``now`` in the outbox; returns the new outbox ids."""
    last_days = storage.last_digest_days()
    created: list[int] = []
    for sub in storage.subscriptions():
        if platforms is not None and sub.platform not in platforms:
            continue
        assert sub.id is not None
        last = last_days.get(sub.id)
        plan = due(sub, now, last_day=date.fromisoformat(last) if last else None, grace=grace, force=force)
        if plan is None:
            continue
        statements = storage.statements_seen(sub.leaders or None, plan.since, plan.until)
        digest = await build_digest_async(
            statements,
            registry,
            since=plan.since,
            until=plan.until,
            leaders=sub.leaders or None,
            summarise=summarise,
        )
        if digest.empty and not sub.notify_empty:
            parts: list[dict[str, Any]] = []
        else:
            parts = render_parts(sub.platform, digest, tz=sub.timezone, title=digest_title(plan.day))
        outbox_id = storage.enqueue_digest(
            sub.id,
            day=plan.day.isoformat(),
            window_start=plan.since,
            window_end=plan.until,
            payload=json.dumps({"parts": parts}, ensure_ascii=False),
            now=now,
        )
        if outbox_id is not None:
            created.append(outbox_id)
            log.info(
                "planned digest %d for %s %s (%s): %d statements, %d parts",
                outbox_id,
                sub.platform,
                sub.chat_id,
                plan.day,
                sum(len(s.statements) for s in digest.sections),
                len(parts),
            )
    return created
