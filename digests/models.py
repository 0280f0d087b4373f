"""The product's data, as frozen dataclasses shared by every module.

Only data lives here: no I/O, no parsing, no behaviour beyond small derived properties.
Times are timezone-aware UTC ``datetime`` objects unless a field says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

StatementKind = Literal["direct", "indirect"]
SourceKind = Literal["news", "official"]
Pronoun = Literal["he", "she", "they"]


@dataclass(frozen=True)
class Title:
    """A title a leader held over a period: ``to`` is exclusive, ``None`` means open-ended."""

    title: str
    start: date | None = None
    end: date | None = None

    def held_on(self, day: date | None) -> bool:
        if day is None:
            return self.end is None
        if self.start is not None and day < self.start:
            return False
        return not (self.end is not None and day >= self.end)


@dataclass(frozen=True)
class Leader:
    key: str
    name: str
    aliases: tuple[str, ...]
    pronoun: Pronoun = "he"
    titles: tuple[Title, ...] = ()
    # Organisations whose words count as the leader's own (off unless configured).
    organisations: tuple[str, ...] = ()


@dataclass(frozen=True)
class Source:
    key: str
    name: str
    url: str
    kind: SourceKind = "news"
    leader: str | None = None
    interval: timedelta = timedelta(minutes=15)
    language: str | None = None
    max_age: timedelta = timedelta(hours=48)


@dataclass(frozen=True)
class Article:
    """One article's text, ready for extraction."""

    url: str
    title: str
    outlet: str
    text: str
    published: datetime | None = None
    source_key: str | None = None
    # For an official feed whose every item is this leader's own statement.
    leader: str | None = None


@dataclass(frozen=True)
class Extracted:
    """A statement as found in an article's text, before it is placed in time and merged."""

    leader: str
    kind: StatementKind
    text: str
    sentence: str
    # Character offset of the sentence in the article text (for ordering and tests).
    offset: int = 0


@dataclass(frozen=True)
class StatementSource:
    """One outlet's report of a statement."""

    outlet: str
    url: str
    title: str
    published: datetime | None
    source_key: str | None = None


@dataclass(frozen=True)
class Statement:
    """A leader's statement, merged across every outlet that carried it."""

    id: int | None
    leader: str
    kind: StatementKind
    text: str
    sentence: str
    url: str
    title: str
    outlet: str
    published: datetime | None
    first_seen: datetime
    sources: tuple[StatementSource, ...] = field(default_factory=tuple)

    @property
    def outlet_count(self) -> int:
        return len({s.outlet for s in self.sources}) or 1


@dataclass(frozen=True)
class Subscription:
    id: int | None
    platform: Literal["telegram", "slack", "terminal"]
    chat_id: str
    leaders: tuple[str, ...]  # empty: every leader
    time: str = "08:00"  # HH:MM local
    timezone: str = "UTC"  # IANA name
    created: datetime | None = None
    last_digest_at: datetime | None = None  # end of the last window digested
    active: bool = True
    notify_empty: bool = False


@dataclass(frozen=True)
class LeaderDigest:
    leader: Leader
    summary: str
    statements: tuple[Statement, ...]
    more: int = 0  # statements left out by the per-leader cap


@dataclass(frozen=True)
class Digest:
    since: datetime
    until: datetime
    sections: tuple[LeaderDigest, ...]

    @property
    def empty(self) -> bool:
        return not self.sections
