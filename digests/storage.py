"""The only SQLite module: every table, every query and the schema's migrations live here.

:class:`Storage` wraps a sqlite-utils ``Database`` and offers intent-named methods (record a
poll, save an article and merge its statements, queue a digest, ...); nothing else in the
project writes SQL. Every value reaches SQLite as a bound parameter; the only text ever
formatted into SQL is a list of ``?`` placeholders. Times are stored as ISO-8601 UTC strings of
fixed width (so that string order is time order) and come back as aware ``datetime`` objects;
a naive ``datetime`` passed in is taken to be UTC. The clock is never read here: every method
that stamps a time takes ``now``. This module must not fetch, parse, extract or render: it
stores what the pipeline decided and answers what the bot asks.

Migrations: sqlite-utils 3.39 has no ``Migrations`` (that lives in the separate
``sqlite-migrate`` package), so :data:`MIGRATIONS` is an ordered tuple of functions, each applied
once, in its own transaction, and recorded in the ``schema_version`` table. Add a migration by
appending a function; never edit one that has shipped.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

from sqlite_utils import Database

from digests import dedup
from digests.models import (
    Article,
    Extracted,
    Source,
    SourceKind,
    Statement,
    StatementKind,
    StatementSource,
    Subscription,
)

Platform = Literal["telegram", "slack", "terminal"]
OutboxStatus = Literal["pending", "sent", "failed"]
SourceStatus = Literal["disabled", "failing", "ok", "new"]

DEDUP_WINDOW = timedelta(days=4)
"""Near-duplicates are looked for among a leader's statements within this much of an article's time."""

DEDUP_CANDIDATES = 3000
"""At most this many of a leader's statements (the newest in the window) are compared."""

DEDUP_CACHE_LIMIT = 12_000
"""Most statements' shingles kept while one transaction lasts (about 2 KB each)."""

BUSY_TIMEOUT_MS = 10_000
# SQLite allows 32766 bound parameters; stay far below for IN lists.
_CHUNK = 500

T = TypeVar("T")


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer version of the bot than the one opening it."""


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class SourceState:
    """A configured source and its fetch state, as stored."""

    key: str
    name: str
    url: str
    kind: SourceKind
    leader: str | None
    etag: str | None
    last_modified: str | None
    last_poll: datetime | None
    last_ok: datetime | None
    failures: int
    last_error: str | None
    failing_since: datetime | None
    next_poll: datetime | None
    disabled: bool
    polled_once: bool

    @property
    def status(self) -> SourceStatus:
        """``disabled`` (no longer configured), ``failing``, ``ok`` or ``new`` (never polled)."""
        if self.disabled:
            return "disabled"
        if self.failures > 0:
            return "failing"
        if self.polled_once:
            return "ok"
        return "new"


@dataclass(frozen=True)
class SaveResult:
    """What saving one article changed.

    ``new_statements``: statements stored for the first time. ``merged_statements``: extracted
    statements found to be an already stored statement and added to it as a new source.
    A re-polled, unchanged article gives ``(id, 0, 0)``.
    """

    article_id: int
    new_statements: int
    merged_statements: int


@dataclass(frozen=True)
class OutboxItem:
    """One digest for one subscription's day, queued before it is sent."""

    id: int
    subscription_id: int
    platform: Platform
    chat_id: str
    day: str
    window_start: datetime
    window_end: datetime
    payload: str
    status: OutboxStatus
    attempts: int
    last_error: str | None
    created: datetime
    sent_at: datetime | None
    message_ids: tuple[str, ...]


# --------------------------------------------------------------------------- conversions


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _iso_opt(value: datetime | None) -> str | None:
    return None if value is None else _iso(value)


def _dt(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def _dt_opt(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def _str_opt(value: Any) -> str | None:
    return None if value is None else str(value)


def _literal(value: Any, allowed: Any) -> Any:
    if value not in get_args(allowed):
        raise ValueError(f"{value!r} is not one of {get_args(allowed)}")
    return value


def _chunks(items: Sequence[T], size: int = _CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _placeholders(count: int) -> str:
    return ", ".join("?" * count)


def _leaders_json(leaders: Sequence[str]) -> str:
    return json.dumps(list(leaders), ensure_ascii=False)


def _unique(leaders: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(leader.strip() for leader in leaders if leader.strip()))


# --------------------------------------------------------------------------- migrations


def _schema_1(db: Database) -> None:
    """The first schema: sources, articles, statements and their sources, chats, outbox, meta."""
    for sql in (
        """CREATE TABLE sources (
            key TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            url TEXT NOT NULL,
            kind TEXT NOT NULL,
            leader TEXT,
            etag TEXT,
            last_modified TEXT,
            last_poll TEXT,
            last_ok TEXT,
            failures INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            failing_since TEXT,
            next_poll TEXT,
            disabled INTEGER NOT NULL DEFAULT 0,
            polled_once INTEGER NOT NULL DEFAULT 0
        )""",
        # source_key is '' for articles ingested by hand (NULLs would defeat the UNIQUE).
        """CREATE TABLE articles (
            id INTEGER PRIMARY KEY,
            source_key TEXT NOT NULL,
            entry_id TEXT NOT NULL,
            url TEXT NOT NULL,
            norm_url TEXT,
            title TEXT NOT NULL,
            outlet TEXT NOT NULL,
            published TEXT,
            first_seen TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            UNIQUE (source_key, entry_id)
        )""",
        "CREATE INDEX articles_norm_url ON articles (norm_url)",
        # sort_time = coalesce(published, first_seen), kept by this module on every write.
        """CREATE TABLE statements (
            id INTEGER PRIMARY KEY,
            leader TEXT NOT NULL,
            kind TEXT NOT NULL,
            text TEXT NOT NULL,
            norm_text TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            sentence TEXT NOT NULL,
            url TEXT NOT NULL,
            title TEXT NOT NULL,
            outlet TEXT NOT NULL,
            published TEXT,
            first_seen TEXT NOT NULL,
            sort_time TEXT NOT NULL
        )""",
        "CREATE INDEX statements_leader_sort ON statements (leader, sort_time DESC, id DESC)",
        "CREATE INDEX statements_first_seen ON statements (first_seen)",
        "CREATE INDEX statements_leader_first_seen ON statements (leader, first_seen)",
        "CREATE INDEX statements_leader_fingerprint ON statements (leader, fingerprint)",
        # article_id is NULL only for rows written by bulk_insert_statements.
        """CREATE TABLE statement_sources (
            id INTEGER PRIMARY KEY,
            statement_id INTEGER NOT NULL REFERENCES statements (id) ON DELETE CASCADE,
            article_id INTEGER REFERENCES articles (id) ON DELETE SET NULL,
            outlet TEXT NOT NULL,
            url TEXT NOT NULL,
            title TEXT NOT NULL,
            published TEXT,
            source_key TEXT,
            UNIQUE (statement_id, article_id)
        )""",
        # AUTOINCREMENT: a deleted subscription's id is never given to a new one.
        """CREATE TABLE subscriptions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            platform TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            leaders TEXT NOT NULL DEFAULT '[]',
            time TEXT NOT NULL,
            timezone TEXT NOT NULL,
            created TEXT NOT NULL,
            last_digest_at TEXT,
            active INTEGER NOT NULL DEFAULT 1,
            notify_empty INTEGER NOT NULL DEFAULT 0,
            deactivated_reason TEXT,
            UNIQUE (platform, chat_id)
        )""",
        """CREATE TABLE outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            subscription_id INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
            platform TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            day TEXT NOT NULL,
            window_start TEXT NOT NULL,
            window_end TEXT NOT NULL,
            payload TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            created TEXT NOT NULL,
            sent_at TEXT,
            message_ids TEXT NOT NULL DEFAULT '[]',
            UNIQUE (subscription_id, day)
        )""",
        "CREATE INDEX outbox_status ON outbox (status, id)",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ):
        db.execute(sql)


def _schema_2(db: Database) -> None:
    """Outbox claims: a sender leases an item before sending it, so that two processes
    (``digestbot run`` and ``digestbot send-due``) never send the same digest."""
    db.execute("ALTER TABLE outbox ADD COLUMN claimed_by TEXT")
    db.execute("ALTER TABLE outbox ADD COLUMN claimed_until TEXT")


MIGRATIONS: tuple[Callable[[Database], None], ...] = (_schema_1, _schema_2)
"""Applied in order; version n is ``MIGRATIONS[n - 1]``. Append only."""


# --------------------------------------------------------------------------- storage


class Storage:
    """The bot's database. ``Storage(None)`` or ``Storage(":memory:")`` keeps it in memory.

    A file database is opened in WAL mode with a busy timeout, and its parent folder is created.
    One ``Storage`` may be shared by threads: calls are serialised by a lock.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        memory = path is None or str(path) == ":memory:"
        if not memory:
            assert path is not None
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: this module issues BEGIN/COMMIT itself (see transaction()).
        conn = sqlite3.connect(
            ":memory:" if memory else str(path),
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        self._conn = conn
        self.db = Database(conn, execute_plugins=False)
        self._lock = threading.RLock()
        self._depth = 0
        # Shingles of stored statements, per leader, kept while one transaction lasts (it holds
        # the write lock, so nothing else can change them): the articles of one poll compare
        # against the same recent statements without shingling them again.
        self._shingle_cache: dict[str, dict[int, frozenset[dedup.Shingle]]] = {}
        self._shingle_version: object = None
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_MS)}")
        conn.execute("PRAGMA foreign_keys = ON")
        if not memory:
            conn.execute("PRAGMA journal_mode = WAL")
            # In WAL mode NORMAL survives a crash of the process; only a power cut can lose
            # the last commits.
            conn.execute("PRAGMA synchronous = NORMAL")
        try:
            self._migrate()
        except BaseException:
            conn.close()
            raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- plumbing

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all.

        The outermost block takes the write lock (``BEGIN IMMEDIATE``) and commits; a nested
        block is a savepoint, so an exception that is caught inside the outer block undoes only
        the inner block's writes. Every write method opens one, so a single call is atomic.
        """
        with self._lock:
            if self._depth:
                name = f"sp{self._depth}"
                self._depth += 1
                self._conn.execute(f"SAVEPOINT {name}")
                try:
                    yield
                except BaseException:
                    self._conn.execute(f"ROLLBACK TO {name}")
                    self._conn.execute(f"RELEASE {name}")
                    self._shingle_cache.clear()
                    raise
                else:
                    self._conn.execute(f"RELEASE {name}")
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                # The dedup cache may hold statements that were just rolled back.
                self._shingle_cache.clear()
                raise
            finally:
                self._depth = 0

    @contextmanager
    def _snapshot(self) -> Iterator[None]:
        """A read of several queries sees one state of the database."""
        with self._lock:
            if self._depth:
                yield
                return
            self._conn.execute("BEGIN")
            try:
                yield
            finally:
                if self._conn.in_transaction:
                    self._conn.execute("COMMIT")

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.db.query(sql, params))

    def _column(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """The first column of every row, without building a dict per row (hot paths)."""
        with self._lock:
            return [row[0] for row in self.db.execute(sql, params).fetchall()]

    def _row(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._conn.execute(sql, params)

    def _migrate(self) -> None:
        self._execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL)"
        )
        if self.schema_version() > len(MIGRATIONS):
            raise SchemaTooNew(
                f"the database has schema version {self.schema_version()}, this code knows {len(MIGRATIONS)}"
            )
        for version, migration in enumerate(MIGRATIONS, start=1):
            # Checked inside the transaction: two processes opening one file apply it once.
            with self.transaction():
                if self._row("SELECT 1 FROM schema_version WHERE version = ?", (version,)):
                    continue
                migration(self.db)
                self._execute(
                    "INSERT INTO schema_version (version, name) VALUES (?, ?)", (version, migration.__name__)
                )

    def schema_version(self) -> int:
        row = self._row("SELECT max(version) AS v FROM schema_version")
        return int(row["v"]) if row and row["v"] is not None else 0

    # ----------------------------------------------------------------- sources

    def sync_sources(self, sources: Sequence[Source]) -> None:
        """Make the stored sources match the configuration.

        New sources are inserted; existing ones get the configured name, url, kind and leader and
        keep their fetch state, except that a changed URL starts afresh (no validators, no
        failures, a first poll); sources no longer configured are marked disabled (their
        history stays) and a configured one that was disabled is enabled again.
        """
        with self.transaction():
            stored = {str(r["key"]): str(r["url"]) for r in self._rows("SELECT key, url FROM sources")}
            for source in sources:
                if source.key not in stored:
                    self._execute(
                        "INSERT INTO sources (key, name, url, kind, leader) VALUES (?, ?, ?, ?, ?)",
                        (source.key, source.name, source.url, source.kind, source.leader),
                    )
                    continue
                self._execute(
                    "UPDATE sources SET name = ?, url = ?, kind = ?, leader = ?, disabled = 0 WHERE key = ?",
                    (source.name, source.url, source.kind, source.leader, source.key),
                )
                if stored[source.key] != source.url:
                    self._execute(
                        """UPDATE sources SET etag = NULL, last_modified = NULL, failures = 0,
                           last_error = NULL, failing_since = NULL, next_poll = NULL, polled_once = 0
                           WHERE key = ?""",
                        (source.key,),
                    )
            configured = {source.key for source in sources}
            for key in stored.keys() - configured:
                self._execute("UPDATE sources SET disabled = 1 WHERE key = ?", (key,))

    @staticmethod
    def _source_state(row: dict[str, Any]) -> SourceState:
        return SourceState(
            key=str(row["key"]),
            name=str(row["name"]),
            url=str(row["url"]),
            kind=_literal(row["kind"], SourceKind),
            leader=_str_opt(row["leader"]),
            etag=_str_opt(row["etag"]),
            last_modified=_str_opt(row["last_modified"]),
            last_poll=_dt_opt(row["last_poll"]),
            last_ok=_dt_opt(row["last_ok"]),
            failures=int(row["failures"]),
            last_error=_str_opt(row["last_error"]),
            failing_since=_dt_opt(row["failing_since"]),
            next_poll=_dt_opt(row["next_poll"]),
            disabled=bool(row["disabled"]),
            polled_once=bool(row["polled_once"]),
        )

    def source_state(self, key: str) -> SourceState | None:
        row = self._row("SELECT * FROM sources WHERE key = ?", (key,))
        return None if row is None else self._source_state(row)

    def source_states(self) -> list[SourceState]:
        """Every stored source, disabled ones included, by key."""
        return [self._source_state(row) for row in self._rows("SELECT * FROM sources ORDER BY key")]

    def sources_due(self, now: datetime) -> list[SourceState]:
        """Enabled sources never scheduled or whose ``next_poll`` is not after ``now``."""
        rows = self._rows(
            """SELECT * FROM sources WHERE disabled = 0 AND (next_poll IS NULL OR next_poll <= ?)
               ORDER BY next_poll IS NOT NULL, next_poll, key""",
            (_iso(now),),
        )
        return [self._source_state(row) for row in rows]

    def _require_source(self, key: str) -> None:
        if self._row("SELECT 1 FROM sources WHERE key = ?", (key,)) is None:
            raise KeyError(f"unknown source {key!r}: call sync_sources first")

    def record_poll_ok(
        self,
        key: str,
        *,
        now: datetime,
        etag: str | None,
        last_modified: str | None,
        next_poll: datetime,
    ) -> None:
        """A poll succeeded (200 or 304): failures cleared, validators kept for the next poll.

        ``etag`` / ``last_modified`` of ``None`` keep the stored value (a 304 need not repeat
        them). Raises ``KeyError`` for a source that was never synced.
        """
        with self.transaction():
            self._require_source(key)
            self._execute(
                """UPDATE sources SET last_poll = ?, last_ok = ?, failures = 0, last_error = NULL,
                   failing_since = NULL, next_poll = ?, polled_once = 1,
                   etag = coalesce(?, etag), last_modified = coalesce(?, last_modified)
                   WHERE key = ?""",
                (_iso(now), _iso(now), _iso(next_poll), etag, last_modified, key),
            )

    def record_poll_failure(self, key: str, *, now: datetime, reason: str, next_poll: datetime) -> int:
        """A poll failed: returns the consecutive failure count (1 on the first failure).

        ``failing_since`` is set by the first failure of a run and kept by the following ones.
        Raises ``KeyError`` for a source that was never synced.
        """
        with self.transaction():
            self._require_source(key)
            self._execute(
                """UPDATE sources SET last_poll = ?, failures = failures + 1, last_error = ?,
                   failing_since = coalesce(failing_since, ?), next_poll = ? WHERE key = ?""",
                (_iso(now), reason, _iso(now), _iso(next_poll), key),
            )
            row = self._row("SELECT failures FROM sources WHERE key = ?", (key,))
            assert row is not None
            return int(row["failures"])

    # ----------------------------------------------------------------- articles and statements

    def known_entries(self, source_key: str, entry_ids: Sequence[str]) -> dict[str, str]:
        """``entry_id -> content_hash`` for the given entries of a source that are already stored."""
        found: dict[str, str] = {}
        unique_ids = list(dict.fromkeys(entry_ids))
        with self._snapshot():
            for chunk in _chunks(unique_ids):
                rows = self._rows(
                    f"SELECT entry_id, content_hash FROM articles WHERE source_key = ? "
                    f"AND entry_id IN ({_placeholders(len(chunk))})",
                    (source_key, *chunk),
                )
                found.update((str(r["entry_id"]), str(r["content_hash"])) for r in rows)
        return found

    def save_article(
        self,
        article: Article,
        *,
        entry_id: str,
        content_hash: str,
        statements: Sequence[Extracted],
        now: datetime,
    ) -> SaveResult:
        """Store an article and merge its statements into the stored ones (SPEC section 6).

        * The same entry of the same source with the same ``content_hash`` changes nothing.
        * An edited entry (new ``content_hash``) updates the article and merges its statements:
          the ones already stored gain nothing, changed ones merge or are added.
        * An article whose normalised URL is already stored (the same page from another feed)
          is recorded for this source, and its statements are credited to the first copy, so
          the page is never counted twice as a source.
        * Each statement is merged into a stored statement of the same leader that has the same
          fingerprint, else into one whose ``sort_time`` lies within :data:`DEDUP_WINDOW` of this
          article's time (``published``, else ``now``) and that :func:`dedup` calls the same
          statement (among the newest :data:`DEDUP_CANDIDATES`). Merging adds this article as a
          source; when the new text is the longer cut (more words) it replaces the stored text
          and sentence. ``first_seen`` never changes; ``published`` becomes the earliest known.

        Statements of an edited article that disappeared from it are kept: they may already
        have been delivered.
        """
        source_key = article.source_key or ""
        norm_url = dedup.normalise_url(article.url) or None
        with self.transaction():
            existing = self._row(
                "SELECT id, content_hash FROM articles WHERE source_key = ? AND entry_id = ?",
                (source_key, entry_id),
            )
            if existing is not None:
                article_id = int(existing["id"])
                if existing["content_hash"] == content_hash:
                    return SaveResult(article_id, 0, 0)
                self._execute(
                    """UPDATE articles SET url = ?, norm_url = ?, title = ?, outlet = ?, published = ?,
                       content_hash = ? WHERE id = ?""",
                    (
                        article.url,
                        norm_url,
                        article.title,
                        article.outlet,
                        _iso_opt(article.published),
                        content_hash,
                        article_id,
                    ),
                )
            else:
                cursor = self._execute(
                    """INSERT INTO articles (source_key, entry_id, url, norm_url, title, outlet, published,
                       first_seen, content_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                    (
                        source_key,
                        entry_id,
                        article.url,
                        norm_url,
                        article.title,
                        article.outlet,
                        _iso_opt(article.published),
                        _iso(now),
                        content_hash,
                    ),
                )
                assert cursor.lastrowid is not None
                article_id = cursor.lastrowid
            credited = article_id
            if norm_url is not None:
                first = self._row(
                    "SELECT id FROM articles WHERE norm_url = ? AND id < ? ORDER BY id LIMIT 1",
                    (norm_url, article_id),
                )
                if first is not None:
                    credited = int(first["id"])
            merger = _Merger(self, article, credited, now)
            for extracted in statements:
                merger.add(extracted)
            return SaveResult(article_id, merger.new, merger.merged)

    def _load_statements(self, rows: list[dict[str, Any]]) -> list[Statement]:
        """Rows of ``statements`` → :class:`Statement` with their sources, in the rows' order."""
        sources: dict[int, list[StatementSource]] = {int(r["id"]): [] for r in rows}
        ids = list(sources)
        for chunk in _chunks(ids):
            for src in self._rows(
                f"""SELECT statement_id, outlet, url, title, published, source_key FROM statement_sources
                    WHERE statement_id IN ({_placeholders(len(chunk))}) ORDER BY statement_id, id""",
                chunk,
            ):
                sources[int(src["statement_id"])].append(
                    StatementSource(
                        outlet=str(src["outlet"]),
                        url=str(src["url"]),
                        title=str(src["title"]),
                        published=_dt_opt(src["published"]),
                        source_key=_str_opt(src["source_key"]) or None,
                    )
                )
        return [
            Statement(
                id=int(r["id"]),
                leader=str(r["leader"]),
                kind=_literal(r["kind"], StatementKind),
                text=str(r["text"]),
                sentence=str(r["sentence"]),
                url=str(r["url"]),
                title=str(r["title"]),
                outlet=str(r["outlet"]),
                published=_dt_opt(r["published"]),
                first_seen=_dt(r["first_seen"]),
                sources=tuple(sources[int(r["id"])]),
            )
            for r in rows
        ]

    _STATEMENT_COLUMNS = "id, leader, kind, text, sentence, url, title, outlet, published, first_seen"

    def latest(self, leader: str, n: int = 5) -> list[Statement]:
        """The leader's ``n`` newest statements by ``coalesce(published, first_seen)``, with sources.

        One range scan of the ``(leader, sort_time DESC, id DESC)`` index.
        """
        if n <= 0:
            return []
        with self._snapshot():
            rows = self._rows(
                f"""SELECT {self._STATEMENT_COLUMNS} FROM statements WHERE leader = ?
                    ORDER BY sort_time DESC, id DESC LIMIT ?""",
                (leader, n),
            )
            return self._load_statements(rows)

    def statements_seen(
        self, leaders: Sequence[str] | None, since: datetime, until: datetime
    ) -> list[Statement]:
        """Statements first stored in ``[since, until)``, oldest first, with their sources.

        ``leaders`` of ``None`` or empty means every leader (as in ``Subscription.leaders``).
        """
        window = (_iso(since), _iso(until))
        with self._snapshot():
            if not leaders:
                rows = self._rows(
                    f"""SELECT {self._STATEMENT_COLUMNS} FROM statements
                        WHERE first_seen >= ? AND first_seen < ? ORDER BY first_seen, id""",
                    window,
                )
            else:
                rows = []
                for chunk in _chunks(list(dict.fromkeys(leaders))):
                    rows.extend(
                        self._rows(
                            f"""SELECT {self._STATEMENT_COLUMNS} FROM statements
                                WHERE leader IN ({_placeholders(len(chunk))})
                                AND first_seen >= ? AND first_seen < ?""",
                            (*chunk, *window),
                        )
                    )
                rows.sort(key=lambda r: (str(r["first_seen"]), int(r["id"])))
            return self._load_statements(rows)

    def count_statements(self) -> int:
        row = self._row("SELECT count(*) AS n FROM statements")
        return int(row["n"]) if row else 0

    def bulk_insert_statements(self, statements: Iterable[Statement], *, batch: int = 10_000) -> int:
        """Insert statements as they are, without dedup, with their sources; returns the count.

        For benchmarks and imports: one transaction, ``executemany`` in batches. ``id`` is
        ignored (SQLite assigns one); sources are stored without an article.
        """
        count = 0
        with self.transaction():
            self._shingle_cache.clear()
            pending: list[Statement] = []
            for statement in statements:
                pending.append(statement)
                if len(pending) >= batch:
                    count += self._insert_batch(pending)
                    pending = []
            if pending:
                count += self._insert_batch(pending)
        return count

    def _insert_batch(self, statements: list[Statement]) -> int:
        first = self._row("SELECT coalesce(max(id), 0) AS m FROM statements")
        assert first is not None
        base = int(first["m"]) + 1
        rows: list[tuple[Any, ...]] = []
        source_rows: list[tuple[Any, ...]] = []
        for offset, s in enumerate(statements):
            norm = dedup.normalise(s.text)
            published = _iso_opt(s.published)
            first_seen = _iso(s.first_seen)
            rows.append(
                (
                    base + offset,
                    s.leader,
                    s.kind,
                    s.text,
                    norm,
                    dedup.fingerprint_normalised(norm),
                    s.sentence,
                    s.url,
                    s.title,
                    s.outlet,
                    published,
                    first_seen,
                    published or first_seen,
                )
            )
            source_rows.extend(
                (base + offset, src.outlet, src.url, src.title, _iso_opt(src.published), src.source_key)
                for src in s.sources
            )
        with self._lock:
            self._conn.executemany(
                """INSERT INTO statements (id, leader, kind, text, norm_text, fingerprint, sentence, url,
                   title, outlet, published, first_seen, sort_time)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                rows,
            )
            self._conn.executemany(
                """INSERT INTO statement_sources (statement_id, outlet, url, title, published, source_key)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                source_rows,
            )
        return len(rows)

    # ----------------------------------------------------------------- subscriptions

    @staticmethod
    def _subscription(row: dict[str, Any]) -> Subscription:
        return Subscription(
            id=int(row["id"]),
            platform=_literal(row["platform"], Platform),
            chat_id=str(row["chat_id"]),
            leaders=tuple(str(leader) for leader in json.loads(str(row["leaders"]))),
            time=str(row["time"]),
            timezone=str(row["timezone"]),
            created=_dt_opt(row["created"]),
            last_digest_at=_dt_opt(row["last_digest_at"]),
            active=bool(row["active"]),
            notify_empty=bool(row["notify_empty"]),
        )

    def subscription(self, platform: str, chat_id: str) -> Subscription | None:
        row = self._row(
            "SELECT * FROM subscriptions WHERE platform = ? AND chat_id = ?", (platform, str(chat_id))
        )
        return None if row is None else self._subscription(row)

    def subscription_by_id(self, subscription_id: int) -> Subscription | None:
        row = self._row("SELECT * FROM subscriptions WHERE id = ?", (subscription_id,))
        return None if row is None else self._subscription(row)

    def subscriptions(self, *, active_only: bool = True) -> list[Subscription]:
        sql = "SELECT * FROM subscriptions" + (" WHERE active = 1" if active_only else "") + " ORDER BY id"
        return [self._subscription(row) for row in self._rows(sql)]

    def upsert_subscription(
        self,
        platform: str,
        chat_id: str,
        *,
        leaders: Sequence[str] | None,
        time: str | None,
        timezone: str | None,
        now: datetime,
        default_time: str,
        default_timezone: str,
        notify_empty: bool | None = None,
    ) -> Subscription:
        """Create this chat's subscription, or update it; returns it as stored.

        ``leaders``: ``None`` keeps the stored ones (every leader on create); an empty sequence
        means every leader; named leaders are added to the stored ones, except that a
        subscription to every leader becomes one to just the named leaders (there is no "all
        but" set to add to). ``time`` / ``timezone`` / ``notify_empty`` of ``None`` keep the
        stored value (defaults on create). ``created`` and ``last_digest_at`` stay; an inactive
        subscription is reactivated.
        """
        _literal(platform, Platform)
        chat_id = str(chat_id)
        with self.transaction():
            current = self.subscription(platform, chat_id)
            if current is None:
                self._execute(
                    """INSERT INTO subscriptions (platform, chat_id, leaders, time, timezone, created,
                       active, notify_empty) VALUES (?, ?, ?, ?, ?, ?, 1, ?)""",
                    (
                        platform,
                        chat_id,
                        _leaders_json(_unique(leaders or ())),
                        time or default_time,
                        timezone or default_timezone,
                        _iso(now),
                        int(bool(notify_empty)),
                    ),
                )
            else:
                if leaders is None:
                    merged = current.leaders
                elif not _unique(leaders):
                    merged = ()
                elif not current.leaders:
                    merged = _unique(leaders)
                else:
                    merged = _unique((*current.leaders, *leaders))
                self._execute(
                    """UPDATE subscriptions SET leaders = ?, time = ?, timezone = ?, notify_empty = ?,
                       active = 1, deactivated_reason = NULL WHERE id = ?""",
                    (
                        _leaders_json(merged),
                        time or current.time,
                        timezone or current.timezone,
                        int(current.notify_empty if notify_empty is None else notify_empty),
                        current.id,
                    ),
                )
            stored = self.subscription(platform, chat_id)
            assert stored is not None
            return stored

    def remove_leaders(self, platform: str, chat_id: str, leaders: Sequence[str]) -> Subscription | None:
        """Drop leaders from this chat's subscription; returns what remains.

        Removing the last leader removes the whole subscription (``None`` is returned, as it is
        when the chat has no subscription). A subscription to every leader is returned
        unchanged: it has no list to remove from.
        """
        chat_id = str(chat_id)
        with self.transaction():
            current = self.subscription(platform, chat_id)
            if current is None or not current.leaders:
                return current
            drop = set(_unique(leaders))
            remaining = tuple(leader for leader in current.leaders if leader not in drop)
            if not remaining:
                self.delete_subscription(platform, chat_id)
                return None
            self._execute(
                "UPDATE subscriptions SET leaders = ? WHERE id = ?", (_leaders_json(remaining), current.id)
            )
            return self.subscription(platform, chat_id)

    def delete_subscription(self, platform: str, chat_id: str) -> bool:
        """Remove the chat's subscription and its queued digests; False if it had none."""
        with self.transaction():
            cursor = self._execute(
                "DELETE FROM subscriptions WHERE platform = ? AND chat_id = ?", (platform, str(chat_id))
            )
            return cursor.rowcount > 0

    def deactivate_chat(self, platform: str, chat_id: str, reason: str) -> None:
        """The chat is gone (blocked, kicked, archived): stop its digests, keep its settings.

        Its pending digests are marked failed with ``reason`` so that delivery stops retrying.
        ``upsert_subscription`` reactivates it.
        """
        with self.transaction():
            self._execute(
                "UPDATE subscriptions SET active = 0, deactivated_reason = ? WHERE platform = ? AND chat_id = ?",
                (reason, platform, str(chat_id)),
            )
            self._execute(
                """UPDATE outbox SET status = 'failed', last_error = ?
                   WHERE platform = ? AND chat_id = ? AND status = 'pending'""",
                (reason, platform, str(chat_id)),
            )

    def migrate_chat(self, platform: str, old_chat_id: str, new_chat_id: str) -> None:
        """The chat has a new id (a Telegram group upgraded to a supergroup).

        The subscription and its pending digests move to the new id. If the new id already has
        a subscription, that one is kept and the old one (with its queue) is removed.
        """
        old, new = str(old_chat_id), str(new_chat_id)
        if old == new:
            return
        with self.transaction():
            if self.subscription(platform, new) is not None:
                self.delete_subscription(platform, old)
                return
            self._execute(
                "UPDATE subscriptions SET chat_id = ? WHERE platform = ? AND chat_id = ?",
                (new, platform, old),
            )
            self._execute(
                "UPDATE outbox SET chat_id = ? WHERE platform = ? AND chat_id = ? AND status = 'pending'",
                (new, platform, old),
            )

    # ----------------------------------------------------------------- outbox

    @staticmethod
    def _outbox_item(row: dict[str, Any]) -> OutboxItem:
        return OutboxItem(
            id=int(row["id"]),
            subscription_id=int(row["subscription_id"]),
            platform=_literal(row["platform"], Platform),
            chat_id=str(row["chat_id"]),
            day=str(row["day"]),
            window_start=_dt(row["window_start"]),
            window_end=_dt(row["window_end"]),
            payload=str(row["payload"]),
            status=_literal(row["status"], OutboxStatus),
            attempts=int(row["attempts"]),
            last_error=_str_opt(row["last_error"]),
            created=_dt(row["created"]),
            sent_at=_dt_opt(row["sent_at"]),
            message_ids=tuple(str(m) for m in json.loads(str(row["message_ids"]))),
        )

    def enqueue_digest(
        self,
        subscription_id: int,
        *,
        day: str,
        window_start: datetime,
        window_end: datetime,
        payload: str,
        now: datetime,
    ) -> int | None:
        """Record a digest before it is sent; returns its outbox id.

        ``None`` when this subscription already has a digest for ``day`` (whatever its status):
        one digest per subscription per local day. Raises ``KeyError`` for an unknown
        subscription.
        """
        with self.transaction():
            sub = self.subscription_by_id(subscription_id)
            if sub is None:
                raise KeyError(f"unknown subscription {subscription_id}")
            cursor = self._execute(
                """INSERT INTO outbox (subscription_id, platform, chat_id, day, window_start, window_end,
                   payload, status, created) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?)
                   ON CONFLICT (subscription_id, day) DO NOTHING""",
                (
                    subscription_id,
                    sub.platform,
                    sub.chat_id,
                    day,
                    _iso(window_start),
                    _iso(window_end),
                    payload,
                    _iso(now),
                ),
            )
            return cursor.lastrowid if cursor.rowcount > 0 else None

    def outbox_item(self, outbox_id: int) -> OutboxItem | None:
        row = self._row("SELECT * FROM outbox WHERE id = ?", (outbox_id,))
        return None if row is None else self._outbox_item(row)

    def outbox_for(self, subscription_id: int) -> list[OutboxItem]:
        """Every outbox row of a subscription, oldest first (history and status)."""
        rows = self._rows("SELECT * FROM outbox WHERE subscription_id = ? ORDER BY id", (subscription_id,))
        return [self._outbox_item(row) for row in rows]

    def pending_outbox(self, platform: str | None = None, limit: int = 1000) -> list[OutboxItem]:
        """Unsent digests, oldest first."""
        if platform is None:
            rows = self._rows("SELECT * FROM outbox WHERE status = 'pending' ORDER BY id LIMIT ?", (limit,))
        else:
            rows = self._rows(
                "SELECT * FROM outbox WHERE status = 'pending' AND platform = ? ORDER BY id LIMIT ?",
                (platform, limit),
            )
        return [self._outbox_item(row) for row in rows]

    def mark_sent(self, outbox_id: int, *, message_ids: Sequence[str], now: datetime) -> None:
        """The platform confirmed the digest: mark it sent and move the subscription's window.

        In the same transaction the subscription's ``last_digest_at`` becomes the digest's
        ``window_end`` (never moving backwards).
        """
        with self.transaction():
            item = self.outbox_item(outbox_id)
            if item is None:
                return
            self._execute(
                "UPDATE outbox SET status = 'sent', sent_at = ?, message_ids = ? WHERE id = ?",
                (_iso(now), json.dumps([str(m) for m in message_ids]), outbox_id),
            )
            end = _iso(item.window_end)
            self._execute(
                """UPDATE subscriptions SET last_digest_at = ?
                   WHERE id = ? AND (last_digest_at IS NULL OR last_digest_at < ?)""",
                (end, item.subscription_id, end),
            )

    def record_attempt(self, outbox_id: int, *, error: str) -> int:
        """A send failed and will be retried: returns the attempts so far (0 if the row is gone)."""
        with self.transaction():
            self._execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?", (error, outbox_id)
            )
            row = self._row("SELECT attempts FROM outbox WHERE id = ?", (outbox_id,))
            return int(row["attempts"]) if row else 0

    def mark_failed(self, outbox_id: int, *, error: str) -> None:
        """Give up on a digest: it is not retried."""
        with self.transaction():
            self._execute(
                "UPDATE outbox SET status = 'failed', last_error = ? WHERE id = ?", (error, outbox_id)
            )

    def record_part_sent(self, outbox_id: int, *, message_ids: Sequence[str]) -> None:
        """Some parts of a multi-part digest are confirmed: remember them, so a restart resumes
        at the next part instead of sending the confirmed ones again."""
        with self.transaction():
            self._execute(
                "UPDATE outbox SET message_ids = ? WHERE id = ? AND status = 'pending'",
                (json.dumps([str(m) for m in message_ids]), outbox_id),
            )

    def claim_outbox(self, outbox_id: int, *, owner: str, now: datetime, lease: timedelta) -> bool:
        """Lease a pending item for sending; False if it is sent, failed, or leased by another
        owner whose lease has not run out. Claiming again as the same owner renews the lease."""
        with self.transaction():
            cursor = self._execute(
                """UPDATE outbox SET claimed_by = ?, claimed_until = ?
                   WHERE id = ? AND status = 'pending'
                   AND (claimed_by IS NULL OR claimed_by = ? OR claimed_until IS NULL OR claimed_until <= ?)""",
                (owner, _iso(now + lease), outbox_id, owner, _iso(now)),
            )
            return cursor.rowcount > 0

    def release_claims(self, owner_prefix: str) -> int:
        """Drop the leases of owners that are gone (``digestbot run`` at start-up, holding the
        single-instance lock, releases those of earlier ``run`` processes)."""
        with self.transaction():
            cursor = self._execute(
                "UPDATE outbox SET claimed_by = NULL, claimed_until = NULL WHERE status = 'pending' "
                "AND claimed_by LIKE ? ESCAPE '\\'",
                (owner_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",),
            )
            return cursor.rowcount

    def last_digest_days(self) -> dict[int, str]:
        """subscription id → the local day of its newest digest in the outbox (any status)."""
        rows = self._rows("SELECT subscription_id, max(day) AS day FROM outbox GROUP BY subscription_id")
        return {int(r["subscription_id"]): str(r["day"]) for r in rows}

    def outbox_backlog(self) -> int:
        """How many digests wait to be sent."""
        row = self._row("SELECT count(*) AS n FROM outbox WHERE status = 'pending'")
        return int(row["n"]) if row else 0

    # ----------------------------------------------------------------- meta

    def meta_get(self, key: str) -> str | None:
        row = self._row("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row["value"])

    def meta_set(self, key: str, value: str) -> None:
        with self.transaction():
            self._execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )


# --------------------------------------------------------------------------- merging


class _LeaderIndex:
    """A leader's stored statements near one article's time, as shingle sets.

    Plain set intersections: measured against an inverted index they win for the few
    statements a leader has in one article, and need no second structure to keep current.
    """

    def __init__(
        self, shingles: dict[int, frozenset[dedup.Shingle]], cache: dict[int, frozenset[dedup.Shingle]]
    ) -> None:
        self.shingles = shingles
        self.cache = cache

    def put(self, statement_id: int, prepared: dedup.Prepared) -> None:
        self.cache[statement_id] = prepared.shingles
        if prepared.shingles:
            self.shingles[statement_id] = prepared.shingles
        else:
            self.shingles.pop(statement_id, None)

    def best_match(self, prepared: dedup.Prepared) -> int | None:
        """The stored statement that is most surely the same as ``prepared``, if any.

        Texts under three words have no shingles: they are the same only when equal, which the
        fingerprint has already decided.
        """
        if prepared.words < dedup.SHINGLE_WORDS:
            return None
        mine = prepared.shingles
        best: tuple[float, int, int] | None = None
        for statement_id, theirs in self.shingles.items():
            if mine.isdisjoint(theirs):  # most candidates: no set built for them
                continue
            shared = len(mine & theirs)
            if dedup.same_statement_counts(shared, len(mine), len(theirs)):
                # Highest containment, then most shingles in common, then the oldest statement.
                key = (shared / min(len(mine), len(theirs)), shared, -statement_id)
                if best is None or key > best:
                    best = key
        return None if best is None else -best[2]


class _Merger:
    """Merges one article's extracted statements into the stored ones (inside save_article)."""

    def __init__(self, storage: Storage, article: Article, article_id: int, now: datetime) -> None:
        self.storage = storage
        self.article = article
        self.article_id = article_id
        self.now = now
        self.time = article.published or now
        self.indexes: dict[str, _LeaderIndex] = {}
        self.new = 0
        self.merged = 0

    def _index(self, leader: str) -> _LeaderIndex:
        index = self.indexes.get(leader)
        if index is not None:
            return index
        storage = self.storage
        ids = [
            int(statement_id)
            for statement_id in storage._column(
                """SELECT id FROM statements WHERE leader = ? AND sort_time >= ? AND sort_time <= ?
                   ORDER BY sort_time DESC, id DESC LIMIT ?""",
                (leader, _iso(self.time - DEDUP_WINDOW), _iso(self.time + DEDUP_WINDOW), DEDUP_CANDIDATES),
            )
        ]
        # The cache outlives transactions (a poll saves source after source); it is dropped when
        # another connection has written (PRAGMA data_version moves) or when it grows too big.
        version = storage._column("PRAGMA data_version")[0]
        if version != storage._shingle_version or (
            sum(len(cached) for cached in storage._shingle_cache.values()) > DEDUP_CACHE_LIMIT
        ):
            storage._shingle_cache.clear()
            storage._shingle_version = version
        cache = storage._shingle_cache.setdefault(leader, {})
        missing = [statement_id for statement_id in ids if statement_id not in cache]
        for chunk in _chunks(missing):
            for row in storage._rows(
                f"SELECT id, norm_text FROM statements WHERE id IN ({_placeholders(len(chunk))})", chunk
            ):
                cache[int(row["id"])] = dedup.prepare_normalised(str(row["norm_text"])).shingles
        index = self.indexes[leader] = _LeaderIndex(
            {statement_id: cache[statement_id] for statement_id in ids if cache[statement_id]}, cache
        )
        return index

    def _match(self, leader: str, prepared: dedup.Prepared, fingerprint: str) -> int | None:
        row = self.storage._row(
            "SELECT id FROM statements WHERE leader = ? AND fingerprint = ? ORDER BY id LIMIT 1",
            (leader, fingerprint),
        )
        if row is not None:
            return int(row["id"])
        return self._index(leader).best_match(prepared)

    def add(self, extracted: Extracted) -> None:
        prepared = dedup.prepare(extracted.text)
        if not prepared.norm:
            return
        fingerprint = dedup.fingerprint_normalised(prepared.norm)
        match = self._match(extracted.leader, prepared, fingerprint)
        if match is None:
            self._insert(extracted, prepared, fingerprint)
        else:
            self._merge(match, extracted, prepared, fingerprint)

    def _add_source(self, statement_id: int) -> bool:
        a = self.article
        cursor = self.storage._execute(
            """INSERT INTO statement_sources (statement_id, article_id, outlet, url, title, published, source_key)
               VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (statement_id, article_id) DO NOTHING""",
            (statement_id, self.article_id, a.outlet, a.url, a.title, _iso_opt(a.published), a.source_key),
        )
        return cursor.rowcount > 0

    def _insert(self, extracted: Extracted, prepared: dedup.Prepared, fingerprint: str) -> None:
        a = self.article
        published = _iso_opt(a.published)
        first_seen = _iso(self.now)
        cursor = self.storage._execute(
            """INSERT INTO statements (leader, kind, text, norm_text, fingerprint, sentence, url, title, outlet,
               published, first_seen, sort_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                extracted.leader,
                extracted.kind,
                extracted.text,
                prepared.norm,
                fingerprint,
                extracted.sentence,
                a.url,
                a.title,
                a.outlet,
                published,
                first_seen,
                published or first_seen,
            ),
        )
        assert cursor.lastrowid is not None
        statement_id = cursor.lastrowid
        self._add_source(statement_id)
        # Later statements of this article (and its repeats) are compared with this one too.
        self._index(extracted.leader).put(statement_id, prepared)
        self.new += 1

    def _merge(
        self, statement_id: int, extracted: Extracted, prepared: dedup.Prepared, fingerprint: str
    ) -> None:
        if self._add_source(statement_id):
            self.merged += 1
        row = self.storage._row(
            "SELECT kind, norm_text, published FROM statements WHERE id = ?", (statement_id,)
        )
        assert row is not None
        longer = prepared.words > dedup.word_count(str(row["norm_text"]))
        # A quote is worth more than a report of it: reported speech never replaces quoted words.
        if longer and not (row["kind"] == "direct" and extracted.kind == "indirect"):
            self.storage._execute(
                "UPDATE statements SET kind = ?, text = ?, norm_text = ?, fingerprint = ?, sentence = ? WHERE id = ?",
                (
                    extracted.kind,
                    extracted.text,
                    prepared.norm,
                    fingerprint,
                    extracted.sentence,
                    statement_id,
                ),
            )
            self._index(extracted.leader).put(statement_id, prepared)
        published = _iso_opt(self.article.published)
        if published is not None and (row["published"] is None or published < str(row["published"])):
            self.storage._execute(
                "UPDATE statements SET published = ?, sort_time = ? WHERE id = ?",
                (published, published, statement_id),
            )
