"""Extraction quality on labelled real articles: the golden pairs, and PolNeAR at the leader level.

Run ``python -m bench.quality [--golden DIR] [--polnear DIR] [--split dev|train] [--misses N]``
(docs/quality.md has the figures and how to get PolNeAR).

The golden pairs (``tests/fixtures/articles``) are scored by ``digests.quality``. PolNeAR
(github.com/networkdynamics/PolNeAR: 2016 US election news with BRAT standoff annotations of
attributions, i.e. source, cue and content spans linked by an ``E`` line) is read from a local
checkout given by ``--polnear``; it is never copied into this repository (its articles carry no
licence to redistribute), and only its ``train`` and ``dev`` splits are read (``test`` is refused).

Gold, per article (one annotator's file per article, the first by name):

- an attribution's speaker is a configured leader when its source phrase names the leader as its
  head (``Trump``, ``Mr. Trump``, ``Democratic nominee Hillary Clinton``, ``Trump's`` before a
  noun cue, ``Clinton's running mate, Tim Kaine``), and somebody else when the leader only
  modifies it or is somebody else of that name (``Trump's campaign manager``, ``a spokeswoman for
  Clinton``, ``Trump and Pence``, ``Bill Clinton``, ``Mr. Clinton``, ``Donald Trump Jr.``). Names
  and titles come from the same config as the extractor, matched by this module's own code (the
  gold does not move when ``digests.leaders`` changes). A pronoun or description (``he``, ``the
  nominee``) takes the nearest named mention before it in its CoreNLP coreference chain (PolNeAR
  ships CoreNLP ``dcoref`` output beside the text), leaving out mentions inside quotation marks;
  when the annotators' own nearest named source before it (same or previous paragraph) is somebody
  else, the speaker is unknown instead. ``who`` takes the phrase right before it. A pronoun with
  no usable chain, or an attribution without a source, has an unknown speaker.
- a gold *leader statement* is an attribution whose speaker is a configured leader; whose cue is a
  verb or noun of speech (say, tell, tweet, argue, according to, statement …; not think, want,
  believe, plan; not "spoke about", "comments on": a topic), not negated (``declined to say``);
  whose content has at least 3 words and is something said: a quotation or a clause (a finite
  verb, a modal or a "to"-infinitive by CoreNLP's part-of-speech tags), not a thing ("promised a
  country of new opportunities"); outside the headline. Its style: ``direct`` when every content
  piece is wholly in quote marks, ``partly`` when the content holds a quotation, else ``reported``.

Matching (token bags: lower-cased alphanumeric words): a predicted statement *matches* a gold
attribution when its sentence overlaps the gold content's span and either at least half of the
gold content's tokens are in the statement's text, or at least half of the statement's tokens are
in the gold content. Recall: a gold leader statement is found when the statements attributed to
the same leader that overlap it together hold at least half of its content tokens, or when one
statement of that leader anywhere in the article holds the same words (a passage repeated in a
live blog, which the extractor reports once). Precision: a statement is a *hit* when it matches
any gold attribution of the same leader (whatever its cue or length: a filter on the gold must not
punish the extractor); *unjudged* (counted apart, left out of precision) when it matches only
attributions whose speaker is unknown, or only attributions of somebody else whose content itself
names the leader with a word of speech (``“…,” Sanders said, according to CNN``: each word belongs
to one attribution in PolNeAR, so the annotators gave it to CNN); a *wrong speaker* when it matches
other attributions of somebody else; a *false hit* when it matches none. Speaker accuracy is
hits / (hits + wrong speakers).

PolNeAR's New York Times texts write quotation marks as two apostrophes (``''``); they are read
as ``"`` before extraction (offsets mapped back). Reads files only; prints a report.
"""

from __future__ import annotations

import argparse
import bisect
import re
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from digests.config import load_config
from digests.extract import Extractor
from digests.leaders import Registry
from digests.models import Extracted, Leader, Title
from digests.quality import evaluate, load_pairs

ROOT = Path(__file__).resolve().parent.parent
OTHER = "(other)"  # a speaker who is not a configured leader
STYLES = ("direct", "partly", "reported")

Span = tuple[int, int]

# --------------------------------------------------------------------------------------------
# Speech cues: verbs and nouns of saying (not of thinking, wanting or planning).

_SPEECH_LEMMAS = """
say tell add write tweet retweet post argue suggest announce call describe claim note promise ask
accuse respond reply answer acknowledge declare vow pledge explain insist deny state assert warn
mention remark recall recount reiterate repeat joke predict concede admit complain urge assure
remind emphasize emphasise stress wonder boast brag counter retort quip confirm reveal hint
propose demand lament decry echo email continue contend maintain observe comment caution allege
threaten proclaim affirm agree object protest scoff charge speak muse interject exclaim shout yell
testify inform advise estimate forecast signal indicate pronounce recommend request invite implore
appeal plead reassure tease taunt quote insinuate imply tout vouch swear guarantee concur dispute
contradict correct clarify elaborate disclose divulge pitch preach lecture rant grumble sneer
""".split()
_SPEECH_NOUNS = """
statement statements remark remarks comment comments interview interviews speech speeches tweet
tweets post posts message messages letter email emails address claim claims assertion assertions
words response answer according op-ed essay announcement testimony
""".split()
_NEGATION = {"not", "n't", "never", "declined", "refused", "refuses", "declines", "wouldn't", "didn't"}


def _forms(lemma: str) -> set[str]:
    forms = {lemma, lemma + "s"}
    if lemma.endswith(("s", "sh", "ch", "x", "z")):
        forms.add(lemma + "es")
    if lemma.endswith("e"):
        forms |= {lemma + "d", lemma[:-1] + "ing"}
    elif lemma.endswith("y") and lemma[-2:-1] not in ("a", "e", "o", "u"):
        forms |= {lemma[:-1] + "ied", lemma[:-1] + "ies", lemma + "ing"}
    else:
        forms |= {lemma + "ed", lemma + "ing", lemma + lemma[-1] + "ed", lemma + lemma[-1] + "ing"}
    return forms


SPEECH_WORDS: frozenset[str] = frozenset(
    {f for lemma in _SPEECH_LEMMAS for f in _forms(lemma)}
    | set(_SPEECH_NOUNS)
    | {"said", "told", "wrote", "written", "spoke", "spoken", "swore", "sworn", "retold"}
)


def is_speech_cue(cue: str) -> bool:
    words = re.findall(r"[a-z']+", cue.lower().replace("’", "'"))
    if any(w in _NEGATION or w.endswith("n't") for w in words):
        return False
    if words and words[-1] in ("about", "on", "over", "at", "regarding"):
        return False  # "spoke about X", "comments on X": a topic, not what was said
    return any(w in SPEECH_WORDS for w in words)


# --------------------------------------------------------------------------------------------
# Text helpers

WORD_RE = re.compile(r"[a-z0-9]+")
QUOTE_MARKS = '“”"«»„'


def tokens(text: str) -> Counter[str]:
    return Counter(WORD_RE.findall(text.lower().replace("’", "'")))


def normalise_quotes(text: str) -> tuple[str, list[int]]:
    """``''`` and ````` `` ````` (the NYT texts' quote marks) become ``"``; returns the new text and,
    for each of its characters (and one past the end), the offset in the original."""
    out: list[str] = []
    where: list[int] = []
    i = 0
    while i < len(text):
        pair = text[i : i + 2]
        if pair in ("''", "``"):
            out.append('"')
            where.append(i)
            i += 2
            continue
        out.append(text[i])
        where.append(i)
        i += 1
    where.append(len(text))
    return "".join(out), where


def style_of(pieces: Sequence[str]) -> str:
    pieces = [p.replace("''", '"').replace("``", '"') for p in pieces]
    if not any(ch in QUOTE_MARKS for p in pieces for ch in p):
        return "reported"
    for piece in pieces:
        core = piece.strip().rstrip(",.;:!?—–- ").strip()
        if not core:
            continue
        if not (core[0] in QUOTE_MARKS and core.rstrip(",.;:!?").endswith(tuple(QUOTE_MARKS))):
            return "partly"
        inner = core[1:].rstrip(",.;:!?")[:-1]
        if any(ch in '“”"' for ch in inner):
            return "partly"
    return "direct"


# --------------------------------------------------------------------------------------------
# PolNeAR: BRAT standoff and CoreNLP coreference


@dataclass(frozen=True)
class Attribution:
    ident: str
    source: tuple[Span, ...]
    cue: tuple[Span, ...]
    content: tuple[Span, ...]
    source_text: str
    cue_text: str
    content_text: str


@dataclass
class Gold:
    attribution: Attribution
    speaker: str | None  # leader key, OTHER, or None when unknown
    statement: bool  # counts for recall: a speech cue, >= 3 content words, outside the headline
    style: str
    tokens: Counter[str]
    start: int
    end: int


@dataclass
class Coref:
    """CoreNLP output: token character spans per sentence, and coreference chains of
    (sentence, start token, end token, head token), numbered from 1 as in the XML."""

    tokens: list[list[tuple[int, int, str, str, str]]] = field(
        default_factory=list
    )  # begin, end, NER, word, POS
    chains: list[list[tuple[int, int, int, int]]] = field(default_factory=list)

    def is_clause(self, spans: Sequence[Span]) -> bool:
        """Whether the text in ``spans`` holds a finite verb, a modal or a "to"-infinitive."""
        flat = [(b, e, pos) for sentence in self.tokens for b, e, _ner, _word, pos in sentence]
        starts = [b for b, _, _ in flat]
        for a, b in spans:
            prev = ""
            for _begin, end, pos in flat[bisect.bisect_left(starts, a) :]:
                if end > b:
                    break
                if pos in ("VBD", "VBZ", "VBP", "MD") or (prev == "TO" and pos == "VB"):
                    return True
                prev = pos
        return False

    def text_of(self, sentence: int, token: int) -> str:
        return self.tokens[sentence - 1][token - 1][3]

    def span(self, sentence: int, start: int, end: int) -> Span:
        toks = self.tokens[sentence - 1]
        return toks[start - 1][0], toks[end - 2][1]


def parse_ann(ann: str, text: str) -> list[Attribution]:
    spans: dict[str, tuple[str, tuple[Span, ...]]] = {}
    events: list[tuple[str, dict[str, str]]] = []
    for line in ann.splitlines():
        parts = line.split("\t")
        if len(parts) < 2:
            continue
        ident = parts[0]
        if ident.startswith("T"):
            kind, _, where = parts[1].partition(" ")
            try:
                pieces = tuple(
                    (int(a), int(b))
                    for a, b in (chunk.split() for chunk in where.split(";") if chunk.strip())
                )
            except ValueError:
                continue
            spans[ident] = (kind, pieces)
        elif ident.startswith("E"):
            roles = dict(arg.split(":", 1) for arg in parts[1].split() if ":" in arg)
            events.append((ident, roles))
    out: list[Attribution] = []
    for ident, roles in events:
        source, cue, content = (
            spans[roles[r]][1] if roles.get(r) in spans else () for r in ("Source", "Cue", "Content")
        )
        if not content:
            continue
        out.append(
            Attribution(
                ident,
                source,
                cue,
                content,
                " ".join(text[a:b] for a, b in source),
                " ".join(text[a:b] for a, b in cue),
                " ".join(text[a:b] for a, b in content),
            )
        )
    return out


def load_coref(path: Path) -> Coref:
    coref = Coref()
    depth = 0
    chain: list[tuple[int, int, int, int]] = []
    for event, el in ET.iterparse(path, events=("start", "end")):
        tag = el.tag
        if event == "start":
            if tag == "coreference":
                depth += 1
                if depth == 2:
                    chain = []
            elif tag == "sentence" and depth == 0 and el.get("id") is not None:
                coref.tokens.append([])
            continue
        if tag == "token" and depth == 0:
            begin = int(el.findtext("CharacterOffsetBegin") or 0)
            end = int(el.findtext("CharacterOffsetEnd") or 0)
            word = (el.findtext("word") or "").lower()
            coref.tokens[-1].append((begin, end, el.findtext("NER") or "O", word, el.findtext("POS") or ""))
            el.clear()
        elif tag == "mention" and depth == 2:
            chain.append(
                (
                    int(el.findtext("sentence") or 0),
                    int(el.findtext("start") or 0),
                    int(el.findtext("end") or 0),
                    int(el.findtext("head") or 0),
                )
            )
            el.clear()
        elif tag == "coreference":
            if depth == 2 and chain:
                coref.chains.append(chain)
            depth -= 1
        elif tag == "sentence" and depth == 0:
            el.clear()
    return coref


# --------------------------------------------------------------------------------------------
# Who the source is

_TITLE_WORDS = {
    "mr",
    "mrs",
    "ms",
    "miss",
    "madam",
    "dr",
    "president",
    "vice",
    "sen",
    "senator",
    "gov",
    "governor",
    "secretary",
    "state",
    "rep",
    "representative",
    "democrat",
    "democratic",
    "republican",
    "gop",
    "candidate",
    "nominee",
    "presidential",
    "former",
    "then",
    "independent",
    "presumptive",
    "rival",
    "front-runner",
    "frontrunner",
    "u.s",
    "us",
    "the",
    "and",
    "democrats",
    "republicans",
    "dem",
    "vermont",
    "indiana",
    "virginia",
    "york",
    "new",
}
_HONORIFICS = {
    "mr",
    "mrs",
    "ms",
    "miss",
    "dr",
    "sen",
    "gov",
    "rep",
    "president",
    "secretary",
    "senator",
    "governor",
}
_PREPOSITIONS = {
    "for",
    "to",
    "of",
    "with",
    "by",
    "from",
    "about",
    "at",
    "behind",
    "near",
    "like",
    "against",
    "under",
    "than",
    "on",
    "toward",
    "towards",
    "around",
    "within",
    "inside",
}
_PRONOUNS = {
    "he",
    "she",
    "him",
    "her",
    "his",
    "hers",
    "himself",
    "herself",
    "i",
    "me",
    "my",
    "we",
    "us",
    "our",
    "they",
    "them",
    "their",
    "it",
    "its",
    "who",
    "whom",
    "whose",
    "which",
    "that",
    "you",
    "your",
}
_POSSESSIVES = {"his", "her", "its", "their", "my", "our", "your"}
_MALE = {"he", "him", "his", "himself"}
_FEMALE = {"she", "her", "hers", "herself"}


@dataclass(frozen=True)
class NameMention:
    start: int
    end: int
    leader: str


class Names:
    """Leader names and titles for reading the gold, from the same config as the extractor but
    independent of ``digests.leaders`` (so the gold does not move when the extractor's name
    matching is changed): an alias (case-sensitive) or a title held on the day (any case), the
    longest match first."""

    def __init__(self, leaders: Sequence[Leader]) -> None:
        self._alias: dict[str, str] = {}
        self._titles: dict[str, list[tuple[str, Title]]] = {}
        self._pronoun: dict[str, str] = {}
        for leader in leaders:
            self._pronoun[leader.key] = leader.pronoun
            for alias in leader.aliases:
                self._alias.setdefault(" ".join(alias.split()), leader.key)
            for title in leader.titles:
                self._titles.setdefault(self._fold(title.title), []).append((leader.key, title))

        def alternation(phrases: Iterable[str]) -> str:
            ordered = sorted(set(phrases), key=lambda x: (-len(x), x))
            return "|".join(r"\s+".join(re.escape(w) for w in x.split()) for x in ordered)

        self._name_re = re.compile(rf"(?<![\w-])(?:{alternation(self._alias)})(?![\w])")
        self.title_words = frozenset(
            w.lower().rstrip(".") for leader in leaders for t in leader.titles for w in t.title.split()
        )
        titles = [t.title for leader in leaders for t in leader.titles]
        self._title_re = re.compile(rf"(?<![\w-])(?:{alternation(titles)})(?![\w-])", re.I)

    @staticmethod
    def _fold(title: str) -> str:
        return " ".join(title.replace(".", "").casefold().split())

    def pronoun(self, key: str) -> str:
        return self._pronoun.get(key, "they")

    def has_suffix(self, key: str) -> bool:
        """Whether the leader's own name carries "Jr." ("Joseph R. Biden Jr.")."""
        return any(k == key and re.search(r"\b(?:Jr|Sr)\b", a) for a, k in self._alias.items())

    def mentions(self, text: str, day: date | None) -> list[NameMention]:
        found: list[NameMention] = []
        for m in self._name_re.finditer(text):
            found.append(NameMention(m.start(), m.end(), self._alias[" ".join(m.group(0).split())]))
        for m in self._title_re.finditer(text):
            if re.search(r"(?:former|ex|late|then)[\s-]+$", text[max(0, m.start() - 12) : m.start()], re.I):
                continue
            holders = {k for k, t in self._titles.get(self._fold(m.group(0)), []) if t.held_on(day)}
            if len(holders) == 1:
                found.append(NameMention(m.start(), m.end(), holders.pop()))
        found.sort(key=lambda x: (x.start, -x.end))
        out: list[NameMention] = []
        for mention in found:
            if out and mention.start < out[-1].end:
                continue
            out.append(mention)
        return out


def _head_verdict(head: str, registry: Names, day: date | None) -> str | None:
    """Leader key when a leader is the head of ``head`` (one noun phrase), OTHER when a leader
    only modifies it or shares it, None when it names no leader."""
    mentions = [m for m in registry.mentions(head, day) if m.leader]
    verdict: str | None = None
    for m in mentions:
        before = head[: m.start].rstrip()
        after = head[m.end :].strip()
        words_before = re.findall(r"[\w.’'-]+", before)
        honorifics = {w.lower().rstrip(".") for w in words_before[-3:]}
        # The word before the name and its honorifics: "advisers to Mr. Obama" has "to".
        plain = [w for w in words_before if w.lower().rstrip(".") not in _HONORIFICS]
        prev = plain[-1].lower().rstrip(".") if plain else ""
        pronoun = registry.pronoun(m.leader)
        if prev in _PREPOSITIONS or prev in ("and", "&", "or", "nor", "both", "between"):
            verdict = verdict or OTHER  # "a spokeswoman for Clinton", "Bill and Hillary Clinton"
            continue
        if re.match(r"(?:and|&|or|nor)\b", after):
            verdict = verdict or OTHER
            continue
        last = words_before[-1].lower().rstrip(".") if words_before else ""
        if (
            words_before
            and words_before[-1][:1].isupper()
            and last not in _TITLE_WORDS
            and last not in _HONORIFICS
            and last not in registry.title_words
        ):
            verdict = verdict or OTHER  # "Bill Clinton", "Eric Trump": somebody else of that name
            continue
        if (pronoun == "she" and "mr" in honorifics) or (
            pronoun == "he" and honorifics & {"mrs", "ms", "miss"}
        ):
            verdict = verdict or OTHER
            continue
        if re.match(r"(?:Jr|Sr|III|II)\b", after):
            if not registry.has_suffix(m.leader):
                verdict = verdict or OTHER
                continue
            after = re.sub(r"^(?:Jr|Sr)\.?\s*", "", after)  # "Joseph R. Biden Jr." is Biden
        possessive = re.match(r"[’']s?\b|[’']$", after)
        if possessive:
            if after[possessive.end() :].strip(" ,"):
                verdict = verdict or OTHER  # "Trump's campaign manager"
                continue
            return m.leader  # "Trump's" before a noun cue: "Trump's claim that …"
        if not after or re.match(r"(?:himself|herself|of\s+[A-Z][\w.]*$)", after):
            return m.leader  # "Trump", "Chancellor Angela Merkel of Germany"
        verdict = verdict or OTHER  # "the Trump campaign", "Clinton aides"
    return verdict


_CUT_RE = re.compile(r"\s*(?:,|\(|—|–|\s-\s|\bwho\b|\bwhich\b)\s*")
_COMMON_START = {
    "the",
    "a",
    "an",
    "some",
    "many",
    "most",
    "several",
    "his",
    "her",
    "their",
    "its",
    "our",
    "one",
    "two",
}


def _has_proper_name(phrase: str) -> bool:
    words = _words(phrase)
    for i, w in enumerate(words):
        if w[:1].isupper() and w.lower().rstrip(".") not in _TITLE_WORDS and w.lower() not in _PRONOUNS:
            if i == 0 and w.lower() in _COMMON_START:
                continue
            return True
    return False


def named_speaker(phrase: str, registry: Names, day: date | None) -> str | None:
    """The speaker a source phrase names. Its head is the noun phrase before any comma, bracket,
    dash or relative clause; a leader there as the head is the speaker. An appositive that is
    only a leader's name names the speaker too ("Clinton's running mate, Tim Kaine"). OTHER when
    the head names somebody else (or a leader only modifies it), None when it names nobody."""
    parts = [part.strip() for part in _CUT_RE.split(phrase) if part and part.strip()]
    if not parts:
        return None
    verdict = _head_verdict(parts[0], registry, day)
    if verdict is not None and verdict != OTHER:
        return verdict
    if len(parts) > 1 and not (verdict is None and _has_proper_name(parts[0])):
        # "Clinton's running mate, Tim Kaine": an appositive that is just a leader's name.
        mentions = [m for m in registry.mentions(parts[1], day) if m.leader]
        if (
            len(mentions) == 1
            and not parts[1][: mentions[0].start].strip(" ,")
            and not parts[1][mentions[0].end :].strip(" ,")
        ):
            return _head_verdict(parts[1], registry, day) or verdict
    if verdict is None and _has_proper_name(parts[0]):
        return OTHER  # "Gov. Phil Bryant of Mississippi", "Brian Fallon"
    return verdict


def _words(text: str) -> list[str]:
    return re.findall(r"[\w’'-]+", text)


def _is_pronominal(phrase: str) -> bool:
    words = [w.lower() for w in _words(phrase)]
    return bool(words) and all(w in _PRONOUNS or w in ("the", "a", "an") for w in words)


def quote_regions(text: str) -> list[Span]:
    """Where the text is inside quotation marks (a paragraph break closes any open quotation)."""
    regions: list[Span] = []
    opened: int | None = None
    i = 0
    while i < len(text):
        if text.startswith("\n\n", i):
            if opened is not None:
                regions.append((opened, i))
                opened = None
            i += 1
            continue
        two = text[i : i + 2]
        mark, step = ('"', 2) if two in ("''", "``") else (text[i], 1)
        if mark == "“" and opened is None:
            opened = i
        elif mark == "”" and opened is not None:
            regions.append((opened, i + step))
            opened = None
        elif mark == '"':
            if opened is None:
                opened = i
            else:
                regions.append((opened, i + step))
                opened = None
        i += step
    return regions


def _inside(regions: Sequence[Span], a: int, b: int) -> bool:
    k = bisect.bisect_right(regions, (a, 1 << 62)) - 1
    return k >= 0 and regions[k][0] <= a and b <= regions[k][1]


def _chain_speaker(
    chain: Sequence[tuple[int, int, int, int]],
    coref: Coref,
    text: str,
    quotes: Sequence[Span],
    registry: Names,
    day: date | None,
    source_at: int,
    source_pronoun: str,
) -> str | None:
    """The speaker a chain's nearest named mention before the source gives, ignoring mentions
    inside quotation marks (a name in a quote is not the antecedent of the "he" who said it)."""
    best: tuple[int, str] | None = None
    for sentence, start, end, head in chain:
        try:
            a, b = coref.span(sentence, start, end)
            ner = coref.tokens[sentence - 1][head - 1][2]
        except IndexError:
            continue
        if a >= source_at or _inside(quotes, a, b):
            continue
        phrase = text[a:b]
        who = named_speaker(phrase, registry, day)
        if who is None and ner == "PERSON" and not _is_pronominal(phrase):
            who = OTHER
        if who is not None and (best is None or a > best[0]):
            best = (a, who)
    if best is None:
        return None
    who = best[1]
    if who != OTHER:
        pron = registry.pronoun(who)
        if (source_pronoun in _MALE and pron == "she") or (source_pronoun in _FEMALE and pron == "he"):
            return OTHER
    return who


def resolve_speaker(
    a: Attribution,
    text: str,
    coref: Coref | None,
    quotes: Sequence[Span],
    registry: Names,
    day: date | None,
) -> str | None:
    if not a.source:
        return None
    phrase = a.source_text
    who = named_speaker(phrase, registry, day)
    if who is not None:
        return who
    words = [w.lower() for w in _words(phrase)]
    if words and all(w in SPEECH_WORDS for w in words):
        return None  # a cue marked as the source by mistake
    pronoun = next((w for w in words if w in _PRONOUNS), "")
    if len(words) == 1 and words[0] in ("who", "whom", "which", "that"):
        # A relative pronoun speaks for the phrase right before it: "Trump, who said …".
        before = text[max(0, a.source[0][0] - 160) : a.source[0][0]].rstrip(" ,")
        tail = re.split(r"[,;.:()\n]", before)[-1].strip()
        return named_speaker(tail, registry, day) or (OTHER if tail else None)
    if coref is not None:
        chain = _source_chain(a, coref, len(words))
        if chain is not None:
            found = _chain_speaker(chain, coref, text, quotes, registry, day, a.source[0][0], pronoun)
            if found is not None:
                return found
    if _is_pronominal(phrase):
        return None  # a pronoun nobody resolved
    return OTHER


def _unless_vetoed(
    speaker: str, a: Attribution, text: str, named: Sequence[tuple[int, str]], registry: Names
) -> str | None:
    """A pronoun's speaker from coreference, unless the annotators' own nearest named source before
    it (same or previous paragraph, gender not against the pronoun) is somebody else: then the
    speaker is unknown ("… ,” Trump said. “…,” he added." is Trump whatever the chain says)."""
    at = a.source[0][0]
    words = {w.lower() for w in _words(a.source_text)}
    for start, who in reversed(named):
        if start >= at:
            continue
        if text.count("\n\n", start, at) > 1:
            break
        if who != OTHER:
            pron = registry.pronoun(who)
            if (words & _MALE and pron == "she") or (words & _FEMALE and pron == "he"):
                continue
        return speaker if who == speaker else None
    return speaker


def _source_chain(a: Attribution, coref: Coref, n_words: int) -> list[tuple[int, int, int, int]] | None:
    """The coreference chain of the source phrase: the chain holding the longest mention inside
    the source span (a possessive "his" inside "his advisers" is not the source)."""
    lo, hi = a.source[0][0], a.source[-1][1]
    best: list[tuple[int, int, int, int]] | None = None
    best_len = 0
    for chain in coref.chains:
        for sentence, start, end, _head in chain:
            try:
                ma, mb = coref.span(sentence, start, end)
            except IndexError:
                continue
            if not (lo <= ma and mb <= hi) or mb - ma <= best_len:
                continue
            if n_words > 1 and end - start == 1 and coref.text_of(sentence, start) in _POSSESSIVES:
                continue
            best, best_len = chain, mb - ma
    return best


# --------------------------------------------------------------------------------------------
# Loading a split


@dataclass
class PolnearArticle:
    name: str
    text: str
    published: date | None
    title: str | None
    gold: list[Gold]
    words: int


def _title_end(text: str) -> int:
    """End of the headline: every PolNeAR text opens with it on a line of its own."""
    return len(text.split("\n", 1)[0])


def load_polnear(folder: Path, split: str, registry: Names) -> list[PolnearArticle]:
    if split not in ("dev", "train"):
        raise SystemExit("only the dev and train splits of PolNeAR may be read")
    data = folder / "data" if (folder / "data").is_dir() else folder
    base = data / split
    titles: dict[str, str] = {}
    meta = data / "metadata.tsv"
    if meta.exists():
        rows = meta.read_text("utf-8").splitlines()
        head = rows[0].split("\t")
        for row in rows[1:]:
            cells = dict(zip(head, row.split("\t"), strict=False))
            if "filename" in cells and "title" in cells:
                titles[cells["filename"]] = cells["title"]
    anns: dict[str, Path] = {}
    for ann in sorted((base / "attributions").glob("*.ann")):
        name = ann.stem.rsplit("_", 1)[0]
        anns.setdefault(name, ann)
    articles: list[PolnearArticle] = []
    for name, ann in sorted(anns.items()):
        text_path = base / "text" / f"{name}.txt"
        if not text_path.exists():
            continue
        text = text_path.read_text("utf-8")
        m = re.search(r"_(\d{4}-\d{2}-\d{2})_", name)
        published = date.fromisoformat(m.group(1)) if m else None
        xml = base / "corenlp" / f"{name}.txt.xml"
        coref = load_coref(xml) if xml.exists() else None
        title = titles.get(name)
        headline_end = _title_end(text)
        gold: list[Gold] = []
        quotes = quote_regions(text)
        attributions = parse_ann(ann.read_text("utf-8"), text)
        named = sorted(
            (a.source[0][0], who)
            for a in attributions
            if a.source and (who := named_speaker(a.source_text, registry, published)) is not None
        )
        for a in attributions:
            speaker = resolve_speaker(a, text, coref, quotes, registry, published)
            if speaker is not None and _is_pronominal(a.source_text):
                speaker = _unless_vetoed(speaker, a, text, named, registry)
            start = min(s for s, _ in a.content)
            end = max(e for _, e in a.content)
            content_tokens = tokens(a.content_text)
            pieces = [text[s:e] for s, e in a.content]
            statement = (
                is_speech_cue(a.cue_text)
                and sum(content_tokens.values()) >= 3
                and (
                    coref is None
                    or any(q in p for p in pieces for q in (*QUOTE_MARKS, "''"))
                    or coref.is_clause(a.content)
                )
                and start >= headline_end
                and (not a.cue or a.cue[0][0] >= headline_end)
            )
            gold.append(Gold(a, speaker, statement, style_of(pieces), content_tokens, start, end))
        articles.append(PolnearArticle(name, text, published, title, gold, len(WORD_RE.findall(text))))
    return articles


# --------------------------------------------------------------------------------------------
# Scoring


@dataclass
class Row:
    gold: int = 0
    found: int = 0
    predicted: int = 0
    hits: int = 0
    wrong: int = 0
    false: int = 0
    unjudged: int = 0

    @property
    def recall(self) -> float:
        return self.found / self.gold if self.gold else 1.0

    @property
    def precision(self) -> float:
        judged = self.hits + self.wrong + self.false
        return self.hits / judged if judged else 1.0

    @property
    def speaker(self) -> float:
        return self.hits / (self.hits + self.wrong) if self.hits + self.wrong else 1.0


@dataclass
class PolnearScore:
    rows: dict[str, Row] = field(default_factory=lambda: {s: Row() for s in STYLES})
    leaders: dict[str, Row] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)
    false_hits: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    articles: int = 0
    attributions: int = 0
    words: int = 0
    seconds: float = 0.0

    @property
    def total(self) -> Row:
        out = Row()
        for row in self.rows.values():
            for name in ("gold", "found", "predicted", "hits", "wrong", "false", "unjudged"):
                setattr(out, name, getattr(out, name) + getattr(row, name))
        return out


@dataclass
class _Pred:
    statement: Extracted
    start: int
    end: int
    tokens: Counter[str]


def _share(part: Counter[str], whole: Counter[str]) -> float:
    size = sum(whole.values())
    return sum((part & whole).values()) / size if size else 0.0


def _matches(p: _Pred, g: Gold) -> bool:
    if p.end <= g.start or g.end <= p.start:
        return False
    return _share(p.tokens, g.tokens) >= 0.5 or _share(g.tokens, p.tokens) >= 0.5


def _kind_style(s: Extracted) -> str:
    if s.kind == "direct":
        return "direct"
    return "partly" if any(ch in QUOTE_MARKS for ch in s.text) else "reported"


def _context(text: str, start: int, end: int, width: int = 260) -> str:
    return " ".join(text[max(0, start - 40) : min(len(text), end + 40)].split())[:width]


def _nested(g: Gold, leader: str, registry: Names) -> bool:
    """Whether the gold content holds an attribution to ``leader`` of its own: the leader named
    in it together with a word of speech."""
    content = g.attribution.content_text
    words = set(re.findall(r"[a-z']+", content.lower()))
    named = any(m.leader == leader for m in registry.mentions(content, None))
    return named and bool(words & SPEECH_WORDS)


def score_article(
    article: PolnearArticle, extractor: Extractor, score: PolnearScore, registry: Names
) -> None:
    normalised, where = normalise_quotes(article.text)
    t0 = time.perf_counter()
    try:
        found = extractor.extract(normalised, article.published, article.title)
    except Exception as exc:  # a crash is scored as an article with no statements, and reported
        found = []
        score.crashes.append(f"{article.name}: {type(exc).__name__}: {exc}")
    score.seconds += time.perf_counter() - t0
    score.articles += 1
    score.attributions += len(article.gold)
    score.words += article.words
    preds = [
        _Pred(s, where[s.offset], where[min(len(normalised), s.offset + len(s.sentence))], tokens(s.text))
        for s in found
    ]
    for g in article.gold:
        if not g.statement or g.speaker is None or g.speaker == OTHER:
            continue
        row = score.rows[g.style]
        per = score.leaders.setdefault(g.speaker, Row())
        row.gold += 1
        per.gold += 1
        union: Counter[str] = Counter()
        for p in preds:
            if p.statement.leader == g.speaker and not (p.end <= g.start or g.end <= p.start):
                union |= p.tokens
        repeated = any(
            p.statement.leader == g.speaker
            and _share(g.tokens, p.tokens) >= 0.9
            and _share(p.tokens, g.tokens) >= 0.9
            for p in preds
        )  # the same words said again later in the article: the extractor keeps one of them
        if _share(union, g.tokens) >= 0.5 or repeated:
            row.found += 1
            per.found += 1
        else:
            a = g.attribution
            score.misses.append(
                f"{article.name} [{g.speaker}, {g.style}] source={a.source_text!r} cue={a.cue_text!r}\n"
                f"      content: {' '.join(a.content_text.split())[:220]}\n"
                f"      context: {_context(article.text, min(g.start, a.cue[0][0] if a.cue else g.start), g.end)}"
            )
    for p in preds:
        leader = p.statement.leader
        matched = [g for g in article.gold if _matches(p, g)]
        mine = [g for g in matched if g.speaker == leader]
        known = [g for g in matched if g.speaker is not None and g.speaker != leader]
        picked = mine or known or matched
        style = picked[0].style if picked else _kind_style(p.statement)
        row = score.rows[style]
        per = score.leaders.setdefault(leader, Row())
        row.predicted += 1
        per.predicted += 1
        if mine:
            row.hits += 1
            per.hits += 1
            continue
        if known and all(_nested(g, leader, registry) for g in known):
            # "“…,” Sanders said, according to CNN": the annotators give the words to CNN (each
            # word belongs to one attribution in PolNeAR); the leader's own attribution sits
            # inside, so either reading holds.
            row.unjudged += 1
            per.unjudged += 1
            continue
        if known:
            row.wrong += 1
            per.wrong += 1
            what = f"wrong speaker (gold: {known[0].speaker}, source={known[0].attribution.source_text!r})"
        elif matched:
            row.unjudged += 1
            per.unjudged += 1
            continue
        else:
            row.false += 1
            per.false += 1
            what = "false hit"
        score.false_hits.append(
            f"{article.name} [{leader}, {p.statement.kind}] {what}\n"
            f"      text: {' '.join(p.statement.text.split())[:220]}\n"
            f"      sentence: {' '.join(p.statement.sentence.split())[:260]}"
        )


def score_polnear(articles: Iterable[PolnearArticle], extractor: Extractor, registry: Names) -> PolnearScore:
    score = PolnearScore()
    for article in articles:
        score_article(article, extractor, score, registry)
    return score


# --------------------------------------------------------------------------------------------
# Reports


def polnear_table(score: PolnearScore, title: str) -> str:
    head = f"{'':<10}{'gold':>6}{'found':>7}{'recall':>8}{'pred':>7}{'hits':>6}{'wrong':>7}{'false':>7}{'unjudg':>8}{'precision':>11}{'speaker':>9}"
    lines = [
        title,
        f"  {score.articles} articles, {score.words:,} words, {score.attributions:,} attributions",
        "  " + head,
    ]

    def fmt(name: str, r: Row) -> str:
        return (
            f"  {name:<10}{r.gold:>6}{r.found:>7}{r.recall:>8.3f}{r.predicted:>7}{r.hits:>6}{r.wrong:>7}"
            f"{r.false:>7}{r.unjudged:>8}{r.precision:>11.3f}{r.speaker:>9.3f}"
        )

    for style in STYLES:
        lines.append(fmt(style, score.rows[style]))
    lines.append(fmt("all", score.total))
    lines.append("  by leader:")
    for key, r in sorted(score.leaders.items(), key=lambda kv: -(kv[1].gold + kv[1].predicted)):
        lines.append(fmt(key[:10], r))
    if score.crashes:
        lines.append(f"  the extractor crashed on {len(score.crashes)} articles (scored as finding nothing):")
        lines.extend("    " + c for c in score.crashes)
    if score.seconds:
        lines.append(
            f"  speed: {score.articles / score.seconds:,.0f} articles/s "
            f"({score.words / score.articles:.0f} words each), "
            f"{score.words / score.seconds / 1000:,.0f} 1,000-word articles/s"
        )
    return "\n".join(lines)


def golden_speed(extractor: Extractor, folder: Path, rounds: int) -> str:
    pairs = load_pairs(folder)
    words = sum(len(WORD_RE.findall(p.text)) for p in pairs)
    t0 = time.perf_counter()
    for _ in range(rounds):
        for p in pairs:
            extractor.extract(p.text, p.published)
    seconds = time.perf_counter() - t0
    n = rounds * len(pairs)
    return (
        f"speed on the golden pairs ({len(pairs)} articles x {rounds}, {words / len(pairs):.0f} words each): "
        f"{n / seconds:,.0f} articles/s, {rounds * words / seconds / 1000:,.0f} 1,000-word articles/s"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.quality", description=__doc__.split("\n\n")[0])
    parser.add_argument("--golden", type=Path, default=ROOT / "tests" / "fixtures" / "articles")
    parser.add_argument("--polnear", type=Path, help="a local checkout of networkdynamics/PolNeAR")
    parser.add_argument("--split", choices=("dev", "train"), default="dev")
    parser.add_argument("--misses", type=int, default=0, help="list up to N misses and N false hits")
    parser.add_argument("--rounds", type=int, default=20, help="rounds over the golden pairs for speed")
    parser.add_argument("--config", type=Path, default=ROOT / "config")
    args = parser.parse_args(argv)

    leaders = load_config(args.config).leaders
    extractor = Extractor(Registry(leaders))

    if args.golden and args.golden.is_dir():
        total, _ = evaluate(load_pairs(args.golden), lambda text, day: extractor.extract(text, day))
        print(f"Golden pairs ({args.golden})")
        print(f"  expected {total.expected}, found {total.found}, extracted {total.extracted}")
        print(
            f"  precision {total.precision:.3f}  recall {total.recall:.3f}  speaker {total.speaker_accuracy:.3f}"
            f"  must-not violations {total.must_not_violations}"
        )
        for kind, (f, e) in sorted(total.by_kind.items()):
            print(f"  recall {kind:<9} {f}/{e} = {f / e if e else 1:.3f}")
        if args.misses:
            for line in total.misses[: args.misses]:
                print("  miss:", line)
            for line in total.false_hits[: args.misses]:
                print("  false:", line)
        if args.rounds > 0:
            print("  " + golden_speed(extractor, args.golden, args.rounds))
        print()

    if args.polnear:
        t0 = time.perf_counter()
        names = Names(leaders)
        articles = load_polnear(args.polnear, args.split, names)
        loaded = time.perf_counter() - t0
        score = score_polnear(articles, extractor, names)
        print(polnear_table(score, f"PolNeAR {args.split} (gold loaded in {loaded:.1f} s)"))
        if args.misses:
            print(f"\nmissed gold statements ({len(score.misses)}):")
            for line in score.misses[: args.misses]:
                print("  " + line)
            print(f"\nfalse hits and wrong speakers ({len(score.false_hits)}):")
            for line in score.false_hits[: args.misses]:
                print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
