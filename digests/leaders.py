"""The leader registry: names, aliases, time-bound titles, and who is mentioned where.

Two jobs. For people typing commands, ``Registry.resolve`` turns what they typed (a key, an alias in
any script, a quoted full name, a near miss) into a leader or a suggestion. For extraction,
``Registry.mentions`` finds every mention of a leader in a text, by name (case-sensitive, so the
verb "trump" is not Trump) or by a title held on the article's date ("the US president" in 2022 is
Biden). It knows nothing about quotes or speech; that is ``extract``'s job.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from digests.models import Leader

# Words before a title that mean the title is not held now ("former US president").
_FORMER = re.compile(
    r"(?:\b(?:former|ex|late|then|previous|past|future|next|incoming|outgoing)[\s-]+)$", re.I
)


@dataclass(frozen=True)
class Mention:
    """A leader named in a text: ``start``/``end`` are character offsets of the whole mention."""

    start: int
    end: int
    leader: str
    by: str  # "name" or "title"


@dataclass(frozen=True)
class Resolution:
    leader: Leader | None
    suggestion: Leader | None = None


def fold(text: str) -> str:
    """Case-fold and strip accents and quote marks: how user input is compared."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[\"'“”«»„‘’`]", "", text)
    return " ".join(text.casefold().replace("-", " ").split())


def _alternation(phrases: Iterable[str]) -> str:
    unique = sorted(set(phrases), key=lambda p: (-len(p), p))
    parts = []
    for phrase in unique:
        # Let any run of spaces in the phrase match any whitespace, and "U.S." match "US".
        escaped = r"\s+".join(re.escape(word) for word in phrase.split())
        escaped = escaped.replace(r"U\.S\.", r"U\.?S\.?").replace(r"U\.N\.", r"U\.?N\.?")
        parts.append(escaped)
    return "|".join(parts)


class Registry:
    """All configured leaders, with compiled matchers for names and titles."""

    def __init__(self, leaders: Sequence[Leader]) -> None:
        self.leaders: dict[str, Leader] = {leader.key: leader for leader in leaders}
        self._by_alias: dict[str, str] = {}
        self._by_name: dict[str, str] = {}
        self._titles: dict[str, list[tuple[str, Leader]]] = {}
        for leader in leaders:
            self._by_alias[fold(leader.key)] = leader.key
            self._by_alias[fold(leader.key.replace("-", " "))] = leader.key
            for alias in leader.aliases:
                self._by_alias.setdefault(fold(alias), leader.key)
                self._by_name.setdefault(self._name_key(alias), leader.key)
            for title in leader.titles:
                self._titles.setdefault(self._title_key(title.title), []).append((leader.key, leader))
        names = [a for leader in leaders for a in leader.aliases]
        titles = [t.title for leader in leaders for t in leader.titles]
        self._name_re = re.compile(rf"(?<![\w-])(?:{_alternation(names)})(?![\w])") if names else None
        self._title_re = (
            re.compile(rf"(?<![\w-])(?:{_alternation(titles)})(?![\w-])", re.I) if titles else None
        )

    @staticmethod
    def _name_key(text: str) -> str:
        return " ".join(text.split())

    @staticmethod
    def _title_key(text: str) -> str:
        return " ".join(text.replace(".", "").casefold().split())

    def __iter__(self) -> Iterator[Leader]:
        return iter(self.leaders.values())

    def __len__(self) -> int:
        return len(self.leaders)

    def get(self, key: str) -> Leader | None:
        return self.leaders.get(key)

    def pronoun(self, key: str) -> str:
        leader = self.leaders.get(key)
        return leader.pronoun if leader else "they"

    # -- what people type -------------------------------------------------------------------

    def exact(self, query: str) -> Leader | None:
        """A key or alias exactly (ignoring case, accents and quote marks), else None."""
        key = self._by_alias.get(fold(query))
        return self.leaders[key] if key else None

    def resolve(self, query: str) -> Resolution:
        """A key, alias or full name in any case or script; else the closest match as a suggestion."""
        folded = fold(query)
        if not folded:
            return Resolution(None)
        key = self._by_alias.get(folded)
        if key:
            return Resolution(self.leaders[key])
        # A surname inside a longer name ("president putin", "vladimir v. putin").
        words = folded.split()
        hits = {self._by_alias[w] for w in words if w in self._by_alias}
        if len(hits) == 1:
            return Resolution(self.leaders[hits.pop()])
        close = difflib.get_close_matches(folded, list(self._by_alias), n=1, cutoff=0.75)
        if close:
            return Resolution(None, self.leaders[self._by_alias[close[0]]])
        return Resolution(None)

    # -- what articles say ------------------------------------------------------------------

    def title_holder(self, title: str, day: date | None) -> str | None:
        """The leader who held ``title`` on ``day`` (None if nobody or ambiguous)."""
        holders = {
            key for key, leader in self._titles.get(self._title_key(title), []) if _holds(leader, title, day)
        }
        return holders.pop() if len(holders) == 1 else None

    def mentions(self, text: str, day: date | None) -> list[Mention]:
        """Every leader mention in ``text``, ordered, with a title directly before a name merged in."""
        found: list[Mention] = []
        if self._name_re is not None:
            for m in self._name_re.finditer(text):
                key = self._by_name.get(self._name_key(m.group(0)))
                if key:
                    found.append(Mention(m.start(), m.end(), key, "name"))
        titles: list[Mention] = []
        if self._title_re is not None:
            for m in self._title_re.finditer(text):
                if _FORMER.search(text, max(0, m.start() - 20), m.start()):
                    holder = None
                else:
                    holder = self.title_holder(m.group(0), day)
                titles.append(Mention(m.start(), m.end(), holder or "", "title"))
        merged: list[Mention] = []
        names = sorted(found, key=lambda x: x.start)
        for t in titles:
            # "Russian President Vladimir Putin": the title belongs to the name that follows it.
            follow = next(
                (n for n in names if 0 <= n.start - t.end <= 1 and text[t.end : n.start].strip() == ""), None
            )
            if follow is None:
                follow = next((n for n in names if t.start <= n.start < t.end), None)
            if follow is not None:
                names.remove(follow)
                names.append(Mention(t.start, max(follow.end, t.end), follow.leader, "name"))
                names.sort(key=lambda x: x.start)
            elif t.leader:
                merged.append(t)
        merged.extend(names)
        merged.sort(key=lambda x: x.start)
        # Drop overlaps (keep the earliest, longest).
        result: list[Mention] = []
        for mention in merged:
            if result and mention.start < result[-1].end:
                continue
            result.append(mention)
        return result


def _holds(leader: Leader, title: str, day: date | None) -> bool:
    key = Registry._title_key(title)
    return any(Registry._title_key(t.title) == key and t.held_on(day) for t in leader.titles)
