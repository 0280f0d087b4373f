"""Digests: what each subscription receives (window, ranking, cap, summary) and when (time zones, DST)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from digests.digest import build_digest, due, rank, scheduled_instant
from digests.extract import Extractor
from digests.leaders import Registry
from digests.models import Statement, StatementSource, Subscription
from digests.outbox import plan_due
from digests.pipeline import article_from_document, ingest_article
from digests.storage import Storage
from digests.summarise import LLMConfig, LLMSummariser, extractive_summary, quotes_are_faithful

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "tests" / "fixtures" / "articles" / "seed-putin-astana.txt"
UTC_ = UTC


def sub(**kw: object) -> Subscription:
    base: dict[str, object] = dict(
        id=1,
        platform="telegram",
        chat_id="1",
        leaders=(),
        time="08:00",
        timezone="Europe/Berlin",
        created=datetime(2026, 1, 1, tzinfo=UTC),
    )
    base.update(kw)
    return Subscription(**base)  # type: ignore[arg-type]


def fire_times(s: Subscription, start: datetime, days: int, last_day: date | None = None) -> list[datetime]:
    """Step a clock minute by minute and record when a digest becomes due (once a day)."""
    fired: list[datetime] = []
    t = start
    while t < start + timedelta(days=days):
        plan = due(s, t, last_day=last_day)
        if plan is not None:
            fired.append(t)
            last_day = plan.day
        t += timedelta(minutes=1)
    return fired


@pytest.mark.parametrize(
    ("start", "expected_utc"),
    [
        # Spring forward in Berlin: 29 March 2026 (CET+1 → CEST+2).
        (
            datetime(2026, 3, 27, 0, 0, tzinfo=UTC),
            ["2026-03-27 07:00", "2026-03-28 07:00", "2026-03-29 06:00", "2026-03-30 06:00"],
        ),
        # Fall back: 25 October 2026 (CEST+2 → CET+1).
        (
            datetime(2026, 10, 23, 0, 0, tzinfo=UTC),
            ["2026-10-23 06:00", "2026-10-24 06:00", "2026-10-25 07:00", "2026-10-26 07:00"],
        ),
    ],
)
def test_daily_digest_fires_once_a_day_at_local_time_across_dst(
    start: datetime, expected_utc: list[str]
) -> None:
    fired = fire_times(sub(), start, 4)
    assert [f.strftime("%Y-%m-%d %H:%M") for f in fired] == expected_utc


def test_a_time_skipped_by_dst_fires_once_after_the_jump() -> None:
    s = sub(time="02:30")
    fired = fire_times(s, datetime(2026, 3, 28, 12, 0, tzinfo=UTC), 2, last_day=date(2026, 3, 28))
    # 29 March: 02:30 does not exist; the digest goes at 03:30 CEST (01:30 UTC). 30 March: 00:30 UTC.
    assert [f.strftime("%Y-%m-%d %H:%M") for f in fired] == ["2026-03-29 01:30", "2026-03-30 00:30"]
    assert scheduled_instant(date(2026, 10, 25), "02:30", "Europe/Berlin").strftime("%H:%M") == "00:30"


def test_outage_covering_digest_time_sends_at_startup_once() -> None:
    s = sub()
    # Down from 04:00 to 10:00 UTC on 2 June (digest due 06:00 UTC); back at 10:00.
    back = datetime(2026, 6, 2, 10, 0, tzinfo=UTC)
    plan = due(s, back, last_day=date(2026, 6, 1))
    assert plan is not None and plan.day == date(2026, 6, 2)
    assert due(s, back + timedelta(minutes=1), last_day=plan.day) is None
    # Down past the 12 h grace window: that day is skipped, not sent stale.
    assert due(s, datetime(2026, 6, 2, 18, 30, tzinfo=UTC), last_day=date(2026, 6, 1)) is None


def test_first_digest_window_starts_24h_before_subscribing() -> None:
    created = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    s = sub(created=created, timezone="UTC")
    plan = due(s, datetime(2026, 6, 2, 8, 0, tzinfo=UTC), last_day=None)
    assert plan is not None and plan.since == created - timedelta(hours=24)
    # Subscribed after today's time: nothing until tomorrow.
    assert (
        due(
            sub(created=datetime(2026, 6, 2, 9, 0, tzinfo=UTC), timezone="UTC"),
            datetime(2026, 6, 2, 9, 5, tzinfo=UTC),
            last_day=None,
        )
        is None
    )


def statement(i: int, text: str, outlets: int, hours_ago: float, leader: str = "putin") -> Statement:
    now = datetime(2026, 6, 2, 8, 0, tzinfo=UTC)
    when = now - timedelta(hours=hours_ago)
    sources = tuple(
        StatementSource(f"Outlet {k}", f"https://o{k}.example/{i}", "t", when) for k in range(outlets)
    )
    return Statement(i, leader, "indirect", text, text, sources[0].url, "t", "Outlet 0", when, when, sources)


def test_ranking_by_outlets_then_recency_and_cap_points_to_latest(registry: Registry) -> None:
    items = [
        statement(1, "Russia will respond to any attack on its territory", 1, 1),
        statement(2, "The West wants to destroy Russia and its economy", 3, 10),
        statement(3, "Mobilisation will end within two weeks at the latest", 1, 5),
    ]
    assert [s.id for s in rank(items)] == [2, 1, 3]
    many = [
        statement(i, f"Statement number {i} about subject {i} of many different topics", 1, i)
        for i in range(12)
    ]
    digest = build_digest(
        many, registry, since=datetime(2026, 6, 1, tzinfo=UTC), until=datetime(2026, 6, 2, tzinfo=UTC), cap=8
    )
    [section] = digest.sections
    assert len(section.statements) == 8 and section.more == 4


def test_digest_keeps_only_the_subscriptions_leaders(registry: Registry) -> None:
    items = [
        statement(1, "Russia will respond to any attack", 1, 1),
        statement(2, "Ukraine will not give up any territory", 1, 1, leader="zelensky"),
    ]
    digest = build_digest(
        items,
        registry,
        since=datetime(2026, 6, 1, tzinfo=UTC),
        until=datetime(2026, 6, 2, tzinfo=UTC),
        leaders=["zelensky"],
    )
    assert [s.leader.key for s in digest.sections] == ["zelensky"]


def seed_statements(registry: Registry) -> list[Statement]:
    storage = Storage(":memory:")
    article = article_from_document(
        SEED.read_text("utf-8"),
        url="https://example.com/astana",
        outlet="Example",
        published=datetime(2022, 10, 14, tzinfo=UTC),
    )
    ingest_article(storage, Extractor(registry), article, datetime(2022, 10, 14, 12, tzinfo=UTC))
    return storage.latest("putin", 50)


def test_seed_summary_speaks_of_peace_talks_nato_and_mobilisation(registry: Registry) -> None:
    statements = seed_statements(registry)
    summary = extractive_summary(registry.leaders["putin"], statements)
    lowered = summary.lower()
    assert "peace talks" in lowered or "negotiat" in lowered
    assert "nato" in lowered
    assert "mobiliz" in lowered or "mobilis" in lowered
    assert 1 <= summary.count(". ") + 1 <= 4
    assert quotes_are_faithful(summary, statements)


def test_quotes_are_faithful_rejects_invented_quotes(registry: Registry) -> None:
    statements = seed_statements(registry)
    assert quotes_are_faithful(
        "Putin said he hoped they were “sober enough to avoid those steps”.", statements
    )
    assert not quotes_are_faithful("Putin said NATO was “an existential threat to Russia”.", statements)


async def test_llm_summary_used_and_invented_quotes_or_failures_fall_back(registry: Registry) -> None:
    import httpx

    statements = seed_statements(registry)
    putin = registry.leaders["putin"]
    answers = [
        {
            "status": 200,
            "content": "Putin said Ukraine refuses talks and warned NATO of a global catastrophe.",
        },
        {"status": 200, "content": "Putin called NATO “a gang of criminals”."},
        {"status": 500, "content": ""},
    ]
    seen: list[dict[str, object]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append({"auth": request.headers.get("Authorization"), "body": await request.json()})
        answer = answers[min(len(seen) - 1, len(answers) - 1)]
        if answer["status"] != 200:
            return web.Response(status=int(answer["status"]), text="upstream error")
        body = {"choices": [{"message": {"role": "assistant", "content": answer["content"]}}]}
        return web.Response(text=json.dumps(body), content_type="application/json")

    app = web.Application()
    app.router.add_post("/v1/chat/completions", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with httpx.AsyncClient() as client:
            llm = LLMSummariser(LLMConfig(f"http://127.0.0.1:{port}/v1", "sk-test", "m", retries=0), client)
            first = await llm.summarise(putin, statements)
            assert first.startswith("Putin said Ukraine refuses talks")
            second = await llm.summarise(putin, statements)  # invented quote → extractive
            assert "gang of criminals" not in second and second == extractive_summary(putin, statements)
            third = await llm.summarise(putin, statements)  # 500 → extractive
            assert third == extractive_summary(putin, statements)
            dead = LLMSummariser(LLMConfig("http://127.0.0.1:9/v1", None, "m", timeout=1, retries=0), client)
            assert await dead.summarise(putin, statements) == extractive_summary(putin, statements)
    finally:
        await runner.cleanup()
    assert seen[0]["auth"] == "Bearer sk-test"
    assert seen[0]["body"]["model"] == "m"  # type: ignore[index]


async def test_plan_due_records_digest_before_sending_and_once_per_day(registry: Registry) -> None:
    storage = Storage(":memory:")
    created = datetime(2022, 10, 14, 6, 0, tzinfo=UTC)
    s1 = storage.upsert_subscription(
        "telegram",
        "100",
        leaders=["putin"],
        time="08:00",
        timezone="UTC",
        now=created,
        default_time="08:00",
        default_timezone="UTC",
    )
    storage.upsert_subscription(
        "slack",
        "C1",
        leaders=["xi"],
        time="08:00",
        timezone="UTC",
        now=created,
        default_time="08:00",
        default_timezone="UTC",
    )
    article = article_from_document(
        SEED.read_text("utf-8"),
        url="https://example.com/a",
        outlet="Example",
        published=datetime(2022, 10, 14, tzinfo=UTC),
    )
    ingest_article(storage, Extractor(registry), article, datetime(2022, 10, 14, 7, 0, tzinfo=UTC))
    at = datetime(2022, 10, 14, 8, 0, 30, tzinfo=UTC)
    ids = await plan_due(storage, registry, at)
    assert len(ids) == 2
    assert await plan_due(storage, registry, at + timedelta(minutes=5)) == []
    items = {i.chat_id: i for i in storage.pending_outbox()}
    telegram = json.loads(items["100"].payload)["parts"]
    assert telegram and "Vladimir Putin" in telegram[0]["html"] and telegram[0]["plain"]
    assert json.loads(items["C1"].payload)["parts"] == []  # nothing new for Xi: no message
    assert s1.id is not None
