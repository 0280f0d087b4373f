"""The leader registry: names, aliases, time-bound titles, and who is mentioned where.

Two jobs. For people typing commands, ``Registry.resolve`` turns what they typed (a key, an alias in
any script, a quoted full name, a near miss) into a leader or a suggestion. For extraction,
``Registry.mentions`` finds every mention of a leader in a text, by name (case-sensitive, so the
verb "trump" is not Trump; with an honorific before it, "Mr. Trump") or by a title held on the
article's date ("the US president" in 2022 is Biden). A name that belongs to somebody else is a
mention of nobody (leader ""): a given name before a bare surname ("Bill Clinton", "Eric Trump"),
"Jr." after it, or an honorific of the other gender ("Mr. Clinton" is not Hillary). It knows
nothing about quotes or speech; that is ``extract``'s job.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from digests.models import Leader, Title

# An honorific or office right before a name belongs to the mention ("Mr. Trump", "Sen. Sanders");
# a gendered one that does not fit the leader means somebody else ("Mr. Clinton" is not Hillary).
_HONORIFIC = re.compile(
    r"(?<![\w-])(?:(?:Mr|Mrs|Ms|Miss|Dr|Sen|Senator|Rep|Gov|Governor|President|President-elect|"
    r"Vice\s+President|Secretary|Chancellor|Premier|Prime\s+Minister|King|Queen|Crown\s+Prince|Prince|"
    r"Princess|Pope|Sheikh|Emir|Sir|Dame|Lord|Lady|Madam|Madame|Monsieur|Herr|Frau|Gen|General|Adm|"
    r"Admiral|Judge|Justice|Speaker|Candidate|Nominee|Comrade|Ambassador|Minister|Chairman)\.?\s+)+$"
)
_MALE_HONORIFIC = re.compile(r"\b(?:Mr|Sir|King|Prince|Lord|Monsieur|Herr)\b")
_FEMALE_HONORIFIC = re.compile(r"\b(?:Mrs|Ms|Miss|Queen|Princess|Dame|Lady|Madam|Madame|Frau)\b")
# A capitalised word right before a surname is usually a given name: "Bill Clinton", "Eric Trump"
# are not the leader. These words are not given names.
_NOT_GIVEN_NAMES = frozenset(
    """a an the and but or nor so yet for of to in on at by from with as if when while after before
    since until because although though then now later earlier meanwhile still also even only just
    instead however here there this that these those what why how where who which did does do has
    had have is was were are will would can could should may might must not no both either neither
    whether like unlike asked says said according under over against between during among without
    within about into onto upon toward towards via per despite besides beyond once today yesterday
    tonight monday tuesday wednesday thursday friday saturday sunday january february march april may
    june july august september october november december democrat democrats democratic republican
    republicans gop independent socialist conservative liberal candidate nominee incumbent former then
    ex presumptive rival challenger opponent frontrunner front-runner citizen comrade crooked
    sleepy crazy lyin little mini brother president presidents leader""".split()
)
_SUFFIX = re.compile(r"(?:\s*,?\s*(?:Jr|Sr)\b\.?|\s+(?:II|III|IV)\b)")

_WORD = re.compile(r"\w+")
_FIRST_WORD = re.compile(r"\w+")
# A given name (or an initial) right before a surname; a full stop after a word ends a sentence.
GIVEN_NAME_RE = re.compile(r"(?:([A-Z][\w'’-]*)|([A-Z])\.)\s+$")

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


def _alternation(phrases: Iterable[str], *, ignore_case: bool = False) -> str:
    """One regex for all ``phrases``, as a prefix tree: ``P(?:utin|ence)|Tr(?:ump|…)``.

    The tree is for speed and changes no match: the regex engine tries a letter per position
    instead of every phrase, and where one phrase continues another the longer one is tried first
    (as with the phrases sorted longest first). Any run of spaces in a phrase matches any
    whitespace, and "U.S." matches "US". ``ignore_case`` is kept for callers; the pattern is
    compiled with or without ``re.I`` by them.
    """
    tree: dict[str, Any] = {}
    for phrase in set(phrases):
        node = tree
        for atom in _atoms(phrase):
            node = node.setdefault(atom, {})
        node[""] = {}
    return _tree_regex(tree)


def _atoms(phrase: str) -> list[str]:
    """The regex pieces of a phrase, one per character (or per run of spaces)."""
    atoms: list[str] = []
    words = phrase.split()
    for k, word in enumerate(words):
        if k:
            atoms.append(r"\s+")
        i = 0
        while i < len(word):
            if word[i : i + 4].upper() in ("U.S.", "U.N."):
                atoms.extend([word[i], r"\.?", word[i + 2], r"\.?"])
                i += 4
                continue
            atoms.append(re.escape(word[i]))
            i += 1
    return atoms


def _tree_regex(node: dict[str, Any]) -> str:
    branches = [atom + _tree_regex(child) for atom, child in sorted(node.items()) if atom]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if "" in node:
        return (body if len(branches) > 1 else "(?:" + body + ")") + "?"
    return body


class Registry:
    """All configured leaders, with compiled matchers for names and titles."""

    def __init__(self, leaders: Sequence[Leader]) -> None:
        # Organisations configured to speak for a leader ("Kremlin" for Putin; off by default)
        # are matched like titles that never expire.
        leaders = [
            replace(leader, titles=leader.titles + tuple(Title(org) for org in leader.organisations))
            if leader.organisations
            else leader
            for leader in leaders
        ]
        self.leaders: dict[str, Leader] = {leader.key: leader for leader in leaders}
        self._by_alias: dict[str, str] = {}
        self._by_name: dict[str, str] = {}
        self._titles: dict[str, list[tuple[str, Leader]]] = {}
        self._name_words: dict[str, frozenset[str]] = {}
        self._has_suffix = {  # "Joseph R. Biden Jr." is Biden himself
            leader.key: any(re.search(r"\b(?:Jr|Sr)\b", a) for a in leader.aliases) for leader in leaders
        }
        # Words of configured titles are not given names either ("Chancellor Merz", "Kremlin chief Putin").
        self._title_words = frozenset(
            w.lower() for leader in leaders for t in leader.titles for w in re.findall(r"[\w'’-]+", t.title)
        )
        for leader in leaders:
            self._name_words[leader.key] = frozenset(
                w for phrase in (leader.name, *leader.aliases) for w in re.findall(r"[\w'’-]+", phrase)
            )
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
            re.compile(rf"(?<![\w-])(?:{_alternation(titles, ignore_case=True)})(?![\w-])", re.I)
            if titles
            else None
        )
        # The same titles in lower case, matched against the lower-cased text: the same matches
        # several times faster than a case-insensitive pattern (used when lower-casing keeps offsets).
        self._title_lower_re = (
            re.compile(rf"(?<![\w-])(?:{_alternation([t.lower() for t in titles])})(?![\w-])")
            if titles
            else None
        )
        self._holder_cache: dict[tuple[str, date | None], str | None] = {}
        # First words of names and titles: the patterns are only tried where one of them stands.
        self._name_starts = frozenset(m.group(0) for a in names if (m := _FIRST_WORD.match(a)))
        title_starts = {m.group(0) for t in titles if (m := _FIRST_WORD.match(t.lower()))}
        if title_starts & {"u", "us"}:
            title_starts |= {"u", "us"}  # "U.S. President" and "US President"
        self._title_starts = frozenset(title_starts)

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

    def _person(self, text: str, start: int, end: int, key: str) -> Mention:
        """A name as a mention of a person: with an honorific before it ("Mr. Trump"), and not the
        leader when it is a namesake ("Bill Clinton", "Eric Trump", "Donald Trump Jr.", "Mr.
        Clinton" for a leader who is "she"). A namesake is a mention with leader "" (somebody)."""
        suffix = _SUFFIX.match(text, end)
        if suffix and not self._has_suffix.get(key):
            return Mention(start, suffix.end(), "", "name")
        window = text[max(0, start - 40) : start]
        honorific = _HONORIFIC.search(window)
        if honorific:
            words = honorific.group(0)
            pronoun = self.pronoun(key)
            begin = start - len(window) + honorific.start()
            if (pronoun == "she" and _MALE_HONORIFIC.search(words)) or (
                pronoun == "he" and _FEMALE_HONORIFIC.search(words)
            ):
                return Mention(begin, end, "", "name")
            return Mention(begin, end, key, "name")
        # Only a bare surname can be somebody else's: "Olaf Scholz" after "Bundeskanzler" is Scholz.
        given = GIVEN_NAME_RE.search(window) if " " not in text[start:end].strip() else None
        if given:
            word = given.group(1) or given.group(2)
            if word[-1] == "." or len(word) == 1:
                # A middle initial: "Barack H. Obama" is the leader when the word before is his name.
                before = re.search(r"([A-Z][\w'’-]*)\s+[A-Z]\.?\s+$", window)
                word = before.group(1) if before else word
            if (
                word.lower() not in _NOT_GIVEN_NAMES
                and word.lower() not in self._title_words
                and "-" not in word
                and not word.isupper()
                and word not in self._name_words.get(key, ())
                and not re.search(r"['’]s$", word)
            ):
                return Mention(start - len(window) + given.start(), end, "", "name")
        return Mention(start, end, key, "name")

    def title_holder(self, title: str, day: date | None) -> str | None:
        """The leader who held ``title`` on ``day`` (None if nobody or ambiguous)."""
        key = (self._title_key(title), day)
        if key in self._holder_cache:
            return self._holder_cache[key]
        holders = {k for k, leader in self._titles.get(key[0], []) if _holds(leader, title, day)}
        holder = holders.pop() if len(holders) == 1 else None
        if len(self._holder_cache) > 4096:
            self._holder_cache.clear()
        self._holder_cache[key] = holder
        return holder

    def mentions(self, text: str, day: date | None) -> list[Mention]:
        """Every leader mention in ``text``, ordered, with a title directly before a name merged in.
        A namesake ("Bill Clinton") is a mention with leader "" (a person who is not a leader)."""
        found: list[Mention] = []
        lower = text.lower()
        same_length = len(lower) == len(text)
        name_at: list[int] = []
        title_at: list[int] = []
        for word in _WORD.finditer(text):
            if word.group(0) in self._name_starts:
                name_at.append(word.start())
            if same_length and lower[word.start() : word.end()] in self._title_starts:
                title_at.append(word.start())
        if self._name_re is not None:
            end = -1
            for at in name_at:
                m = self._name_re.match(text, at) if at >= end else None
                if m is None:
                    continue
                end = m.end()
                key = self._by_name.get(self._name_key(m.group(0)))
                if key:
                    found.append(self._person(text, m.start(), m.end(), key))
        titles: list[Mention] = []
        if self._title_re is not None and self._title_lower_re is not None:
            if same_length:
                title_matches: list[re.Match[str]] = []
                end = -1
                for at in title_at:
                    m = self._title_lower_re.match(lower, at) if at >= end else None
                    if m is not None:
                        title_matches.append(m)
                        end = m.end()
            else:
                title_matches = list(self._title_re.finditer(text))
            for m in title_matches:
                if " " not in m.group(0) and re.search(
                    r"(?<![\w'’-])(?!(?:The|A|An|This|That)\s)[A-Z][\w'’-]*\s+$",
                    text[max(0, m.start() - 30) : m.start()],
                ):
                    continue  # "Amy Pope": a one-word title after a given name is a surname
                if _FORMER.search(text, max(0, m.start() - 20), m.start()):
                    holder = None
                else:
                    holder = self.title_holder(text[m.start() : m.end()], day)
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
