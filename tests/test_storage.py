"""Storage against real SQLite (memory and files): what users would see stored, merged and sent."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from digests.models import Article, Extracted, Source, Statement, StatementSource, Subscription
from digests.storage import MIGRATIONS, SaveResult, SchemaTooNew, Storage

T0 = datetime(2024, 10, 14, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)

QUOTE = (
    "The Kiev government had been saying that they wanted talks and ostensibly asked for them, "
    "but now they issued a formal decision that prohibits them"
)
OTHER = "There is no need for large-scale raids right now. We have other missions."


@pytest.fixture(params=["memory", "file"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    store = Storage(None) if request.param == "memory" else Storage(tmp_path / "db" / "bot.db")
    yield store
    store.close()


def article(
    url: str,
    outlet: str = "Wire",
    *,
    source_key: str | None = "wire",
    published: datetime | None = T0,
    title: str = "Putin in Astana",
) -> Article:
    return Article(
        url=url, title=title, outlet=outlet, text="...", published=published, source_key=source_key
    )


def said(text: str, leader: str = "putin", kind: str = "direct") -> Extracted:
    assert kind in ("direct", "indirect")
    return Extracted(
        leader=leader, kind="direct" if kind == "direct" else "indirect", text=text, sentence=text
    )


def save(
    store: Storage,
    art: Article,
    *statements: Extracted,
    entry_id: str | None = None,
    content_hash: str = "h1",
    now: datetime = T0,
) -> SaveResult:
    return store.save_article(
        art, entry_id=entry_id or art.url, content_hash=content_hash, statements=statements, now=now
    )


# --------------------------------------------------------------------------- dedup and merging


def test_same_statement_from_three_outlets_is_one_statement_with_three_sources(storage: Storage) -> None:
    first = save(storage, article("https://reuters.example/a", "Reuters", source_key="reuters"), said(QUOTE))
    second = save(
        storage,
        article("https://tass.example/b", "TASS", source_key="tass", published=T0 + HOUR),
        said("“" + QUOTE.replace(",", "") + ",”"),  # only punctuation and quote marks differ
        now=T0 + HOUR,
    )
    third = save(
        storage,
        article("https://rt.example/c", "RT", source_key="rt", published=T0 + 2 * HOUR),
        said("they issued a formal decision that prohibits them"),  # a cut
        now=T0 + 2 * HOUR,
    )

    assert (first.new_statements, second.merged_statements, third.merged_statements) == (1, 1, 1)
    [statement] = storage.latest("putin")
    assert [s.outlet for s in statement.sources] == ["Reuters", "TASS", "RT"]
    assert statement.outlet_count == 3
    assert statement.text == QUOTE
    assert statement.first_seen == T0
    assert storage.count_statements() == 1


def test_re_polled_article_creates_nothing(storage: Storage) -> None:
    art = article("https://reuters.example/a")
    save(storage, art, said(QUOTE), said(OTHER))

    again = save(storage, art, said(QUOTE), said(OTHER), now=T0 + HOUR)

    assert (again.new_statements, again.merged_statements) == (0, 0)
    assert storage.count_statements() == 2
    assert all(len(s.sources) == 1 for s in storage.latest("putin"))
    assert storage.known_entries("wire", [art.url, "unknown"]) == {art.url: "h1"}


def test_edited_article_updates_the_article_without_duplicating_statements(storage: Storage) -> None:
    art = article("https://reuters.example/a", title="Putin speaks")
    first = save(storage, art, said(QUOTE))
    edited = article("https://reuters.example/a", title="Putin: no talks with Kiev")

    result = save(
        storage,
        edited,
        said(QUOTE + "."),  # re-punctuated by the editor
        said(OTHER),  # added in the update
        content_hash="h2",
        now=T0 + HOUR,
    )

    assert result.article_id == first.article_id
    assert (result.new_statements, result.merged_statements) == (1, 0)
    statements = storage.latest("putin")
    assert sorted(s.text for s in statements) == sorted([QUOTE, OTHER])
    assert all(len(s.sources) == 1 for s in statements)
    assert storage.known_entries("wire", [art.url]) == {art.url: "h2"}


def test_same_page_from_a_second_feed_is_not_a_second_source(storage: Storage) -> None:
    save(
        storage, article("https://www.reuters.example/a/", "Reuters", source_key="reuters-world"), said(QUOTE)
    )

    result = save(
        storage,
        article("http://reuters.example/a?utm_source=rss", "Reuters", source_key="reuters-europe"),
        said(QUOTE),
        now=T0 + HOUR,
    )

    assert (result.new_statements, result.merged_statements) == (0, 0)
    [statement] = storage.latest("putin")
    assert len(statement.sources) == 1
    # The second feed remembers the entry, so its next poll skips it.
    assert storage.known_entries("reuters-europe", ["http://reuters.example/a?utm_source=rss"])


def test_two_different_statements_of_a_leader_stay_two(storage: Storage) -> None:
    save(
        storage,
        article("https://a.example/1"),
        said("Russia has no intention of destroying Ukraine", kind="indirect"),
        said("Russia has no intention of attacking NATO countries", kind="indirect"),
    )

    assert storage.count_statements() == 2


def test_the_same_words_of_two_leaders_stay_two(storage: Storage) -> None:
    save(storage, article("https://a.example/1"), said(QUOTE, "putin"), said(QUOTE, "lukashenko"))

    assert len(storage.latest("putin")) == 1
    assert len(storage.latest("lukashenko")) == 1


def test_a_longer_cut_replaces_the_stored_text(storage: Storage) -> None:
    short = "they issued a formal decision that prohibits them"
    save(storage, article("https://a.example/1", "A"), said(short))
    save(storage, article("https://b.example/2", "B"), said(QUOTE), now=T0 + HOUR)

    [statement] = storage.latest("putin")
    assert statement.text == QUOTE
    assert statement.first_seen == T0
    assert [s.outlet for s in statement.sources] == ["A", "B"]


def test_reported_speech_does_not_replace_a_quote(storage: Storage) -> None:
    quote = "a very dangerous step that could lead to global catastrophe"
    reported = "NATO troops in Ukraine would be a very dangerous step that could lead to global catastrophe"
    save(storage, article("https://a.example/1", "A"), said(quote))
    save(storage, article("https://b.example/2", "B"), said(reported, kind="indirect"), now=T0 + HOUR)

    [statement] = storage.latest("putin")
    assert (statement.kind, statement.text) == ("direct", quote)
    assert len(statement.sources) == 2


def test_near_duplicates_merge_only_within_four_days(storage: Storage) -> None:
    save(storage, article("https://a.example/1", "A", published=T0), said(QUOTE))
    later = T0 + timedelta(days=5)
    cut = "they issued a formal decision that prohibits them"

    save(storage, article("https://b.example/2", "B", published=later), said(cut), now=later)

    assert storage.count_statements() == 2


def test_exact_repeat_merges_even_after_the_window(storage: Storage) -> None:
    # Articles re-quote old statements; the same words are the same statement.
    save(storage, article("https://a.example/1", "A", published=T0), said(QUOTE))
    later = T0 + timedelta(days=30)

    result = save(
        storage, article("https://b.example/2", "B", published=later), said("«" + QUOTE + "»"), now=later
    )

    assert result.merged_statements == 1
    assert storage.count_statements() == 1
    assert storage.statements_seen(None, later - HOUR, later + HOUR) == []


def test_one_statement_twice_in_one_article_is_stored_once(storage: Storage) -> None:
    result = save(storage, article("https://a.example/1"), said(QUOTE), said("“" + QUOTE + "”"))

    assert (result.new_statements, result.merged_statements) == (1, 0)
    [statement] = storage.latest("putin")
    assert len(statement.sources) == 1


def test_earliest_report_dates_the_statement(storage: Storage) -> None:
    save(storage, article("https://a.example/1", "A", published=T0 + HOUR), said(QUOTE))
    save(storage, article("https://b.example/2", "B", published=T0), said(QUOTE), now=T0 + 2 * HOUR)

    [statement] = storage.latest("putin")
    assert statement.published == T0


def test_hand_ingested_article_without_source(storage: Storage) -> None:
    save(storage, article("", "Pasted", source_key=None, published=None), said(QUOTE), entry_id="manual-1")

    [statement] = storage.latest("putin")
    assert statement.published is None
    assert statement.sources[0].source_key is None
    assert statement.sources[0].outlet == "Pasted"


def test_known_entries_handles_more_ids_than_sqlite_parameters(storage: Storage) -> None:
    ids = [f"entry-{i}" for i in range(1200)]
    with storage.transaction():
        for i in range(0, 1200, 2):
            save(storage, article(f"https://a.example/{i}"), entry_id=ids[i], content_hash=f"h{i}")

    known = storage.known_entries("wire", ids)

    assert len(known) == 600
    assert known["entry-1198"] == "h1198"


# --------------------------------------------------------------------------- reading statements


def test_latest_is_newest_first_and_honours_n(storage: Storage) -> None:
    for i in range(8):
        save(
            storage,
            article(f"https://a.example/{i}", published=T0 + i * HOUR),
            said(f"statement number {i} about the war in europe"),
            now=T0 + 10 * HOUR,
        )
    # No published time: its first_seen (latest of all) places it.
    save(
        storage,
        article("https://a.example/undated", published=None),
        said("an undated statement about the talks"),
        now=T0 + 20 * HOUR,
    )

    latest = storage.latest("putin", 3)

    assert [s.text for s in latest] == [
        "an undated statement about the talks",
        "statement number 7 about the war in europe",
        "statement number 6 about the war in europe",
    ]
    assert len(storage.latest("putin")) == 5
    assert len(storage.latest("putin", 20)) == 9
    assert storage.latest("nobody") == []
    assert storage.latest("putin", 0) == []


def test_latest_uses_the_leader_time_index(storage: Storage) -> None:
    plan = storage.db.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM statements WHERE leader = ? ORDER BY sort_time DESC, id DESC LIMIT 5",
        ["putin"],
    ).fetchall()

    assert "statements_leader_sort" in str(plan)
    assert "TEMP B-TREE" not in str(plan)


def test_statements_seen_is_a_half_open_window_on_first_seen(storage: Storage) -> None:
    for i in range(4):
        save(
            storage,
            article(f"https://a.example/{i}", published=T0 - timedelta(days=3)),
            said(f"statement number {i} about the war in europe", "putin" if i % 2 else "biden"),
            now=T0 + i * HOUR,
        )

    window = storage.statements_seen(None, T0 + HOUR, T0 + 3 * HOUR)
    assert [s.first_seen for s in window] == [T0 + HOUR, T0 + 2 * HOUR]
    assert [s.leader for s in storage.statements_seen(["putin"], T0, T0 + 4 * HOUR)] == ["putin", "putin"]
    assert len(storage.statements_seen([], T0, T0 + 4 * HOUR)) == 4
    assert storage.statements_seen(["nobody"], T0, T0 + 4 * HOUR) == []
    assert all(s.sources for s in window)


def test_times_come_back_aware_utc_and_naive_times_are_utc(storage: Storage) -> None:
    naive = datetime(2024, 10, 14, 9, 0)
    kyiv_noon = datetime(2024, 10, 14, 12, 0, tzinfo=ZoneInfo("Europe/Kyiv"))  # 09:00 UTC
    save(storage, article("https://a.example/1", published=naive), said(QUOTE), now=kyiv_noon)

    [statement] = storage.latest("putin")
    assert statement.published == T0
    assert statement.first_seen == T0
    assert statement.first_seen.utcoffset() == timedelta(0)
    assert statement.published is not None and statement.published.utcoffset() == timedelta(0)


def test_bulk_insert_makes_statements_readable(storage: Storage) -> None:
    rows = [
        Statement(
            id=None,
            leader="putin",
            kind="direct",
            text=f"bulk statement {i}",
            sentence=f"bulk statement {i}",
            url=f"https://a.example/{i}",
            title="t",
            outlet="Bulk",
            published=T0 + i * HOUR,
            first_seen=T0 + i * HOUR,
            sources=(StatementSource("Bulk", f"https://a.example/{i}", "t", T0 + i * HOUR, "bulk"),),
        )
        for i in range(25)
    ]

    assert storage.bulk_insert_statements(rows, batch=10) == 25
    latest = storage.latest("putin", 2)
    assert [s.text for s in latest] == ["bulk statement 24", "bulk statement 23"]
    assert latest[0].sources[0].outlet == "Bulk"


# --------------------------------------------------------------------------- sources


SOURCES = [
    Source(
        key="kremlin",
        name="President of Russia",
        url="http://kremlin.example/feed",
        kind="official",
        leader="putin",
    ),
    Source(key="wire", name="Wire", url="http://wire.example/feed"),
]


def test_source_goes_new_ok_failing_ok(storage: Storage) -> None:
    storage.sync_sources(SOURCES)
    assert storage.source_state("kremlin").status == "new"  # type: ignore[union-attr]

    storage.record_poll_ok("kremlin", now=T0, etag='"v1"', last_modified="Mon", next_poll=T0 + HOUR)
    state = storage.source_state("kremlin")
    assert state is not None and state.status == "ok" and state.etag == '"v1"' and state.last_ok == T0

    assert (
        storage.record_poll_failure("kremlin", now=T0 + HOUR, reason="timeout", next_poll=T0 + 2 * HOUR) == 1
    )
    assert (
        storage.record_poll_failure("kremlin", now=T0 + 2 * HOUR, reason="HTTP 503", next_poll=T0 + 4 * HOUR)
        == 2
    )
    state = storage.source_state("kremlin")
    assert state is not None
    assert (state.status, state.last_error, state.failing_since) == ("failing", "HTTP 503", T0 + HOUR)
    assert state.etag == '"v1"'  # kept for the next conditional GET

    storage.record_poll_ok(
        "kremlin", now=T0 + 4 * HOUR, etag=None, last_modified=None, next_poll=T0 + 5 * HOUR
    )
    state = storage.source_state("kremlin")
    assert state is not None
    assert (state.status, state.failures, state.last_error, state.failing_since) == ("ok", 0, None, None)
    assert (state.etag, state.last_modified) == ('"v1"', "Mon")  # a 304 need not repeat them


def test_sync_sources_disables_removed_and_keeps_fetch_state(storage: Storage) -> None:
    storage.sync_sources(SOURCES)
    storage.record_poll_ok("wire", now=T0, etag="e", last_modified=None, next_poll=T0 + HOUR)

    storage.sync_sources([Source(key="wire", name="Wire (renamed)", url="http://wire.example/feed")])

    states = {s.key: s for s in storage.source_states()}
    assert states["kremlin"].status == "disabled"
    assert (states["wire"].name, states["wire"].etag, states["wire"].status) == ("Wire (renamed)", "e", "ok")

    storage.sync_sources(SOURCES)
    assert storage.source_state("kremlin").status == "new"  # type: ignore[union-attr]


def test_a_changed_feed_url_starts_afresh(storage: Storage) -> None:
    storage.sync_sources(SOURCES)
    storage.record_poll_failure("wire", now=T0, reason="404", next_poll=T0 + 24 * HOUR)

    storage.sync_sources([SOURCES[0], Source(key="wire", name="Wire", url="http://wire.example/new-feed")])

    state = storage.source_state("wire")
    assert state is not None
    assert (state.url, state.status, state.next_poll, state.etag) == (
        "http://wire.example/new-feed",
        "new",
        None,
        None,
    )


def test_sources_due_skips_disabled_and_future(storage: Storage) -> None:
    storage.sync_sources(SOURCES + [Source(key="later", name="Later", url="http://later.example/feed")])
    storage.record_poll_ok("later", now=T0, etag=None, last_modified=None, next_poll=T0 + HOUR)
    storage.sync_sources(SOURCES + [Source(key="later", name="Later", url="http://later.example/feed")])
    storage.sync_sources(SOURCES[1:] + [Source(key="later", name="Later", url="http://later.example/feed")])

    assert [s.key for s in storage.sources_due(T0)] == ["wire"]
    assert [s.key for s in storage.sources_due(T0 + HOUR)] == ["wire", "later"]


def test_polling_an_unknown_source_is_an_error(storage: Storage) -> None:
    with pytest.raises(KeyError):
        storage.record_poll_ok("ghost", now=T0, etag=None, last_modified=None, next_poll=T0)


# --------------------------------------------------------------------------- subscriptions


def subscribe(
    store: Storage,
    chat: str = "42",
    leaders: list[str] | None = None,
    *,
    time: str | None = None,
    timezone: str | None = None,
    now: datetime = T0,
) -> Subscription:
    return store.upsert_subscription(
        "telegram",
        chat,
        leaders=leaders,
        time=time,
        timezone=timezone,
        now=now,
        default_time="08:00",
        default_timezone="UTC",
    )


def test_new_subscription_gets_defaults_and_every_leader(storage: Storage) -> None:
    subscribe(storage)

    sub = storage.subscription("telegram", "42")
    assert sub is not None
    assert (sub.leaders, sub.time, sub.timezone, sub.created, sub.active) == ((), "08:00", "UTC", T0, True)


def test_subscribing_again_adds_leaders_and_keeps_the_rest(storage: Storage) -> None:
    subscribe(storage, leaders=["putin"], time="07:30", timezone="Europe/Kyiv")

    sub = subscribe(storage, leaders=["zelensky", "putin"], now=T0 + HOUR)

    assert sub.leaders == ("putin", "zelensky")
    assert (sub.time, sub.timezone, sub.created) == ("07:30", "Europe/Kyiv", T0)
    assert len(storage.subscriptions()) == 1


def test_naming_leaders_narrows_an_all_leaders_subscription(storage: Storage) -> None:
    subscribe(storage)
    subscribe(storage, leaders=["putin"])
    assert storage.subscription("telegram", "42").leaders == ("putin",)  # type: ignore[union-attr]

    subscribe(storage, leaders=[])
    assert storage.subscription("telegram", "42").leaders == ()  # type: ignore[union-attr]


def test_unsubscribing_leaders(storage: Storage) -> None:
    subscribe(storage, leaders=["putin", "biden", "zelensky"])

    sub = storage.remove_leaders("telegram", "42", ["biden"])
    assert sub is not None and sub.leaders == ("putin", "zelensky")

    assert storage.remove_leaders("telegram", "42", ["putin", "zelensky"]) is None
    assert storage.subscription("telegram", "42") is None


def test_removing_a_leader_from_an_all_leaders_subscription_changes_nothing(storage: Storage) -> None:
    subscribe(storage)

    sub = storage.remove_leaders("telegram", "42", ["putin"])

    assert sub is not None and sub.leaders == ()
    assert storage.remove_leaders("telegram", "nope", ["putin"]) is None


def test_delete_subscription(storage: Storage) -> None:
    subscribe(storage)

    assert storage.delete_subscription("telegram", "42") is True
    assert storage.delete_subscription("telegram", "42") is False
    assert storage.subscriptions(active_only=False) == []


def test_gone_chat_is_deactivated_and_its_queue_stops(storage: Storage) -> None:
    subscribe(storage, "42")
    subscribe(storage, "43")
    sub = storage.subscription("telegram", "42")
    assert sub is not None and sub.id is not None
    storage.enqueue_digest(
        sub.id, day="2024-10-14", window_start=T0 - 24 * HOUR, window_end=T0, payload="{}", now=T0
    )

    storage.deactivate_chat("telegram", "42", "Forbidden: bot was kicked")

    assert [s.chat_id for s in storage.subscriptions()] == ["43"]
    assert storage.subscription("telegram", "42").active is False  # type: ignore[union-attr]
    assert storage.pending_outbox() == []
    [item] = storage.outbox_for(sub.id)
    assert (item.status, item.last_error) == ("failed", "Forbidden: bot was kicked")

    subscribe(storage, "42")  # /subscribe again in that chat
    assert storage.subscription("telegram", "42").active is True  # type: ignore[union-attr]


def test_migrated_chat_keeps_its_subscription_and_pending_digest(storage: Storage) -> None:
    subscribe(storage, "-100", leaders=["putin"])
    sub = storage.subscription("telegram", "-100")
    assert sub is not None and sub.id is not None
    storage.enqueue_digest(
        sub.id, day="2024-10-14", window_start=T0 - 24 * HOUR, window_end=T0, payload="{}", now=T0
    )

    storage.migrate_chat("telegram", "-100", "-1001234")

    assert storage.subscription("telegram", "-100") is None
    moved = storage.subscription("telegram", "-1001234")
    assert moved is not None and (moved.id, moved.leaders) == (sub.id, ("putin",))
    assert [item.chat_id for item in storage.pending_outbox()] == ["-1001234"]


def test_unknown_platform_is_refused(storage: Storage) -> None:
    with pytest.raises(ValueError):
        storage.upsert_subscription(
            "irc",
            "1",
            leaders=None,
            time=None,
            timezone=None,
            now=T0,
            default_time="08:00",
            default_timezone="UTC",
        )


# --------------------------------------------------------------------------- outbox


def test_one_digest_per_subscription_and_day(storage: Storage) -> None:
    subscribe(storage)
    sub = storage.subscription("telegram", "42")
    assert sub is not None and sub.id is not None
    window = {"window_start": T0 - 24 * HOUR, "window_end": T0}

    first = storage.enqueue_digest(sub.id, day="2024-10-14", payload="a", now=T0, **window)
    again = storage.enqueue_digest(sub.id, day="2024-10-14", payload="b", now=T0 + HOUR, **window)
    next_day = storage.enqueue_digest(
        sub.id, day="2024-10-15", window_start=T0, window_end=T0 + 24 * HOUR, payload="c", now=T0 + 24 * HOUR
    )

    assert first is not None and next_day is not None and again is None
    assert [(i.day, i.payload) for i in storage.pending_outbox()] == [
        ("2024-10-14", "a"),
        ("2024-10-15", "c"),
    ]
    assert storage.outbox_backlog() == 2
    assert storage.pending_outbox("slack") == []
    assert len(storage.pending_outbox(limit=1)) == 1


def test_mark_sent_moves_the_window_and_the_digest_never_goes_again(storage: Storage) -> None:
    subscribe(storage)
    sub = storage.subscription("telegram", "42")
    assert sub is not None and sub.id is not None and sub.last_digest_at is None
    item_id = storage.enqueue_digest(
        sub.id, day="2024-10-14", window_start=T0 - 24 * HOUR, window_end=T0, payload="p", now=T0
    )
    assert item_id is not None

    storage.mark_sent(item_id, message_ids=["100", "101"], now=T0 + HOUR)

    assert storage.subscription("telegram", "42").last_digest_at == T0  # type: ignore[union-attr]
    assert storage.pending_outbox() == [] and storage.outbox_backlog() == 0
    item = storage.outbox_item(item_id)
    assert item is not None and (item.status, item.message_ids, item.sent_at) == (
        "sent",
        ("100", "101"),
        T0 + HOUR,
    )
    assert (
        storage.enqueue_digest(sub.id, day="2024-10-14", window_start=T0, window_end=T0, payload="x", now=T0)
        is None
    )


def test_a_late_older_digest_does_not_move_the_window_back(storage: Storage) -> None:
    subscribe(storage)
    sub = storage.subscription("telegram", "42")
    assert sub is not None and sub.id is not None
    old = storage.enqueue_digest(
        sub.id, day="d1", window_start=T0 - 48 * HOUR, window_end=T0 - 24 * HOUR, payload="", now=T0
    )
    new = storage.enqueue_digest(
        sub.id, day="d2", window_start=T0 - 24 * HOUR, window_end=T0, payload="", now=T0
    )
    assert old is not None and new is not None

    storage.mark_sent(new, message_ids=["1"], now=T0)
    storage.mark_sent(old, message_ids=["2"], now=T0 + HOUR)

    assert storage.subscription("telegram", "42").last_digest_at == T0  # type: ignore[union-attr]


def test_attempts_are_counted_and_failed_digests_leave_the_queue(storage: Storage) -> None:
    subscribe(storage)
    sub = storage.subscription("telegram", "42")
    assert sub is not None and sub.id is not None
    item_id = storage.enqueue_digest(sub.id, day="d", window_start=T0, window_end=T0, payload="", now=T0)
    assert item_id is not None

    assert storage.record_attempt(item_id, error="timeout") == 1
    assert storage.record_attempt(item_id, error="HTTP 502") == 2
    assert storage.pending_outbox()[0].attempts == 2
    storage.mark_failed(item_id, error="HTTP 400: can't parse entities")

    assert storage.outbox_backlog() == 0
    item = storage.outbox_item(item_id)
    assert item is not None and (item.status, item.last_error) == ("failed", "HTTP 400: can't parse entities")


def test_enqueue_for_unknown_subscription_is_an_error(storage: Storage) -> None:
    with pytest.raises(KeyError):
        storage.enqueue_digest(999, day="d", window_start=T0, window_end=T0, payload="", now=T0)


def test_deleted_subscription_takes_its_queue_and_its_id_is_not_reused(storage: Storage) -> None:
    subscribe(storage)
    sub = storage.subscription("telegram", "42")
    assert sub is not None and sub.id is not None
    storage.enqueue_digest(sub.id, day="d", window_start=T0, window_end=T0, payload="", now=T0)

    storage.delete_subscription("telegram", "42")
    subscribe(storage)

    again = storage.subscription("telegram", "42")
    assert again is not None and again.id != sub.id
    assert storage.outbox_backlog() == 0
    assert again.id is not None
    assert (
        storage.enqueue_digest(again.id, day="d", window_start=T0, window_end=T0, payload="", now=T0)
        is not None
    )


# --------------------------------------------------------------------------- meta, transactions, files


def test_meta_values(storage: Storage) -> None:
    assert storage.meta_get("last_poll") is None
    storage.meta_set("last_poll", "2024-10-14T09:00:00+00:00")
    storage.meta_set("last_poll", "2024-10-14T10:00:00+00:00")
    assert storage.meta_get("last_poll") == "2024-10-14T10:00:00+00:00"


def test_a_failed_transaction_stores_nothing(storage: Storage) -> None:
    with pytest.raises(RuntimeError), storage.transaction():
        save(storage, article("https://a.example/1"), said(QUOTE))
        raise RuntimeError("parser exploded")

    assert storage.count_statements() == 0
    assert storage.known_entries("wire", ["https://a.example/1"]) == {}


def test_a_failure_caught_inside_a_transaction_undoes_only_its_own_writes(storage: Storage) -> None:
    with storage.transaction():
        save(storage, article("https://a.example/1"), said(QUOTE))
        try:
            with storage.transaction():
                save(storage, article("https://a.example/2"), said(OTHER))
                raise RuntimeError("second article broken")
        except RuntimeError:
            pass

    assert [s.text for s in storage.latest("putin")] == [QUOTE]


def test_one_poll_saved_in_one_transaction_merges_like_separate_saves(storage: Storage) -> None:
    with storage.transaction():
        save(
            storage,
            article("https://a.example/1", "A", source_key="a"),
            said("they issued a formal decision"),
        )
        save(storage, article("https://b.example/2", "B", source_key="b"), said(QUOTE))
        save(storage, article("https://c.example/3", "C", source_key="c"), said(QUOTE.upper()))
        save(storage, article("https://d.example/4", "D", source_key="d"), said(OTHER))

    statements = storage.latest("putin")
    assert sorted((s.text, len(s.sources)) for s in statements) == sorted([(QUOTE, 3), (OTHER, 1)])


def test_statements_undone_by_a_failed_inner_block_are_not_merged_into(storage: Storage) -> None:
    with storage.transaction():
        try:
            with storage.transaction():
                save(storage, article("https://a.example/1", "A"), said(QUOTE))
                raise RuntimeError("broken")
        except RuntimeError:
            pass
        result = save(
            storage,
            article("https://b.example/2", "B"),
            said("they issued a formal decision that prohibits them"),
        )

    assert result.new_statements == 1
    [statement] = storage.latest("putin")
    assert [s.outlet for s in statement.sources] == ["B"]


def test_data_survives_reopening_a_file_database(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "folder" / "bot.db"
    with Storage(path) as store:
        store.sync_sources(SOURCES)
        save(store, article("https://a.example/1"), said(QUOTE))
        subscribe(store, leaders=["putin"])

    with Storage(path) as store:
        assert [s.text for s in store.latest("putin")] == [QUOTE]
        assert store.subscription("telegram", "42").leaders == ("putin",)  # type: ignore[union-attr]
        assert {s.key for s in store.source_states()} == {"kremlin", "wire"}
        assert save(store, article("https://a.example/1"), said(QUOTE)).new_statements == 0


def test_migrations_apply_once_and_reopening_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    for _ in range(3):
        with Storage(path) as store:
            assert store.schema_version() == len(MIGRATIONS)

    conn = sqlite3.connect(path)
    try:
        versions = conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
        journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        conn.close()
    assert versions == [(v,) for v in range(1, len(MIGRATIONS) + 1)]
    assert journal == "wal"


def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    Storage(path).close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "INSERT INTO schema_version (version, name) VALUES (?, ?)", (len(MIGRATIONS) + 1, "future")
        )
    conn.close()

    with pytest.raises(SchemaTooNew):
        Storage(path)


def test_memory_databases_are_separate() -> None:
    with Storage(":memory:") as a, Storage() as b:
        save(a, article("https://a.example/1"), said(QUOTE))
        assert a.count_statements() == 1
        assert b.count_statements() == 0
