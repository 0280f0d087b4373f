"""Article text → the statements leaders made in it (direct quotes and reported speech).

A rule-based extractor that reads an article the way a wire editor would:

1. The text is cut into paragraphs; headlines, captions, sub-headings and page boilerplate are set
   aside (they carry no statements, but a caption's names must not steer pronouns either).
2. Quotations are found in every style the news uses (“…”, "…", «…», „…“), including the wire
   convention of a quote that runs over several paragraphs (each continued paragraph reopens the
   quote, only the last one closes it). An unbalanced quote mark is ignored rather than allowed
   to swallow the rest of the article.
3. Each paragraph is split into sentences, never inside a quotation, and every sentence is read
   with its quotations masked, so that names and verbs inside quotes do not count as attribution.
4. A reporting verb ("said", "told", "warned", "insisted" …) with its subject gives the speaker:
   a leader named in the sentence, a leader's title held on the article's date, or a pronoun
   resolved to the leader who last spoke or was the subject (never across a non-leader speaker).
   A subject that only mentions a leader ("Putin's spokesman", "the Biden administration") is
   somebody else. "According to …" and ", saying …" are read too, and a quotation standing alone
   right after a sentence about a leader's words belongs to that leader.

The extractor is pure: no I/O, no global state; it is given the registry and the article date.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from digests.leaders import Mention, Registry
from digests.models import Extracted, StatementKind

MASK = "\ue000"
OTHER = "\x00other"  # a speaker who is not a configured leader

OPEN_CLOSE: dict[str, str] = {"“": "”", "„": "“”", "«": "»", '"': '"', "‟": "”"}
CLOSERS = set('”»"“')

# Reporting verbs whose object is what was said: "Putin said (that) …".
SAY_VERBS = {
    "said",
    "says",
    "say",
    "told",
    "tells",
    "added",
    "adds",
    "stressed",
    "stresses",
    "noted",
    "notes",
    "warned",
    "warns",
    "claimed",
    "claims",
    "insisted",
    "insists",
    "denied",
    "denies",
    "announced",
    "announces",
    "argued",
    "argues",
    "pledged",
    "pledges",
    "vowed",
    "vows",
    "remarked",
    "remarks",
    "recalled",
    "recalls",
    "explained",
    "explains",
    "declared",
    "declares",
    "stated",
    "states",
    "asserted",
    "asserts",
    "emphasised",
    "emphasized",
    "emphasises",
    "emphasizes",
    "underlined",
    "underlines",
    "underscored",
    "underscores",
    "acknowledged",
    "acknowledges",
    "admitted",
    "admits",
    "conceded",
    "concedes",
    "suggested",
    "suggests",
    "predicted",
    "predicts",
    "promised",
    "promises",
    "assured",
    "assures",
    "reiterated",
    "reiterates",
    "repeated",
    "replied",
    "replies",
    "responded",
    "responds",
    "answered",
    "countered",
    "counters",
    "complained",
    "complains",
    "lamented",
    "laments",
    "wrote",
    "writes",
    "tweeted",
    "posted",
    "maintained",
    "maintains",
    "contended",
    "contends",
    "observed",
    "commented",
    "cautioned",
    "cautions",
    "boasted",
    "boasts",
    "hinted",
    "hints",
    "signalled",
    "signaled",
    "indicated",
    "indicates",
    "confirmed",
    "confirms",
    "revealed",
    "reveals",
    "mentioned",
    "mentions",
    "reckoned",
    "joked",
    "jokes",
    "proclaimed",
    "affirmed",
    "affirms",
    "agreed",
    "put",
    "objected",
    "protested",
    "retorted",
    "quipped",
    "pointed",
    "estimated",
    "forecast",
    "threatened",
    "threatens",
    "alleged",
    "alleges",
    "asked",
    "asks",
    "recounted",
    "disclosed",
    "assessed",
    "reassured",
    "reminded",
    "informed",
    "conveyed",
    "described",
    "expressed",
}
# Verbs that take a person or a thing first: only a statement when the rest says enough.
OBJECT_VERBS = {
    "urged",
    "urges",
    "accused",
    "accuses",
    "criticised",
    "criticized",
    "criticises",
    "criticizes",
    "condemned",
    "condemns",
    "praised",
    "praises",
    "welcomed",
    "welcomes",
    "rejected",
    "rejects",
    "dismissed",
    "dismisses",
    "blamed",
    "blames",
    "thanked",
    "thanks",
    "hailed",
    "hails",
    "slammed",
    "blasted",
    "appealed",
    "demanded",
    "demands",
    "proposed",
    "proposes",
    "questioned",
    "questions",
    "defended",
    "defends",
    "ruled",
    "called",
    "calls",
}
REPORTING = SAY_VERBS | OBJECT_VERBS
VERB_RE = re.compile(r"(?<![\w-])(" + "|".join(sorted(REPORTING, key=len, reverse=True)) + r")(?![\w-])")
# Between a subject and its verb: auxiliaries, adverbs, short time phrases.
AUX_RE = re.compile(
    r"(?:\s*(?:has|have|had|was|is|would|will|also|later|then|again|once|repeatedly|previously|"
    r"earlier|further|reportedly|publicly|privately|separately|recently|did|does|himself|herself|"
    r"on\s+(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)|"
    r"last\s+(?:week|month|year|night)|this\s+(?:week|month|year)|"
    r"yesterday|today|tonight|bluntly|flatly|firmly|angrily|sharply|openly|clearly|"
    r"previously|subsequently|meanwhile|however|too|only|even|never|often|frequently|"
    r"already|just|in\s+turn|for\s+(?:his|her|their)\s+part)\s*,?)*\s*$",
    re.I,
)
PASSIVE_RE = re.compile(r"\b(?:is|are|was|were|been|being|be|get|got|gets)\s+(?:\w+ly\s+)?$", re.I)
PRONOUN_RE = re.compile(r"(?<![\w])(he|she|He|She)(?![\w])")
PREPOSITIONS = {
    "with",
    "to",
    "of",
    "by",
    "for",
    "against",
    "from",
    "on",
    "about",
    "at",
    "in",
    "into",
    "between",
    "than",
    "and",
    "or",
    "nor",
    "like",
    "as",
    "over",
    "under",
    "toward",
    "towards",
    "after",
    "before",
    "met",
    "meet",
    "meeting",
    "called",
    "calling",
    "phoned",
    "unlike",
    "without",
    "via",
    "told",
}
ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "st",
    "gen",
    "lt",
    "col",
    "sgt",
    "capt",
    "gov",
    "sen",
    "rep",
    "rev",
    "prof",
    "jr",
    "sr",
    "inc",
    "ltd",
    "co",
    "corp",
    "no",
    "vs",
    "etc",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "u.s",
    "u.k",
    "u.n",
    "e.u",
    "a.m",
    "p.m",
    "approx",
    "fig",
    "mt",
    "ft",
    "adm",
    "maj",
    "cmdr",
    "messrs",
    "pres",
    "sec",
    "dept",
    "est",
    "op",
    "vol",
}
BOILERPLATE_RE = re.compile(
    r"(content is protected|all rights reserved|©|copyright|read more|read also|see also|subscribe|"
    r"sign up|newsletter|share this|share on|follow us|click here|cookie|advertisement|"
    r"related articles?|recommended|most read|watch:|listen:|photo:|image:|getty images|reuters/|"
    r"afp via|ap photo|file photo|\(photo|\bcredit:|editing by|reporting by|writing by|"
    r"additional reporting|contributed reporting|this story has been|this article was)",
    re.I,
)
TELL_OBJECT_RE = re.compile(
    r"^\s*(?:(?:the|a|an|his|her|their|our|its|state|local|foreign|russian|american|german|french|"
    r"british|ukrainian|chinese|israeli|turkish|indian|reporters?|journalists?|lawmakers?|"
    r"parliament|supporters?|troops|soldiers|students|delegates|crowds?|audience|officials?|leaders?|"
    r"members?|voters|people|nation|country|press|media|television|tv|broadcaster|newspaper|"
    r"agency|interviewer|citizens|workers|business|executives|diplomats|allies|partners|counterpart|"
    r"[A-Z][\w.'’-]*|[\w-]+'s|[\w-]+’s|and|of|at|in|on)\s*)+",
)
LEADING_THAT_RE = re.compile(
    r"^\s*(?:(?:on|in|at|during|after|before|late|early|last|this|earlier|later|while|when|"
    r"to|via|through|over)\b[^,;:]*?\s+)?that\b\s*",
    re.I,
)
SAYING_RE = re.compile(
    r",\s*(saying|adding|warning|arguing|insisting|stressing|noting|claiming|declaring|"
    r"explaining|vowing|pledging|calling|urging|telling|asserting|suggesting|"
    r"complaining|promising)\b",
    re.I,
)
ADVERBIAL_START_RE = re.compile(
    r"^\s*(?:on|in|at|during|when|while|after|before|as|late|early|last|this|earlier|later|via|by|"
    r"from|through|to|ahead|speaking|meanwhile|however|separately|also|then|yesterday|today|"
    r"[,.;]|$)\b",
    re.I,
)
DATELINE_RE = re.compile(
    r"^\s*[A-Z][A-Z .'-]{2,}(?:,\s*[A-Z][\w .]*?){0,2}\s*(?:,\s*\w+\.?\s+\d{1,2})?\s*(?:\([\w .]+\))?\s*[-–—]+\s*"
)
PARTICIPLE_START_RE = re.compile(
    r"^\s*(?:when|while|after|before|if|asked|pressed|speaking|responding|"
    r"addressing|writing|answering|[A-Z][a-z]+(?:ed|ing))\b",
    re.I,
)
ACCORDING_RE = re.compile(r"(?<![\w])according\s+to\s+", re.I)
TERMINAL_RE = re.compile(r"[.!?…][\"”»’)\]]*\s*$|:\s*$")
WORD_RE = re.compile(r"[\w’'-]+")


@dataclass
class Quote:
    start: int  # offset of the opening mark in the article
    end: int  # offset just after the closing mark
    text: str  # the words inside, continuation marks removed


@dataclass
class Sentence:
    start: int
    end: int
    text: str
    masked: str
    quotes: list[Quote]
    paragraph: int


@dataclass
class Speaker:
    leader: str  # leader key, or OTHER
    explicit: bool  # named or titled (not a pronoun)


@dataclass
class Context:
    """What a reader remembers while reading on: who spoke last, who the story is about."""

    last_speaker: str | None = None
    last_speaker_sentence: int = -10
    last_explicit: bool = False  # the previous sentence attributed words to a named/titled speaker
    topic: str | None = None
    topic_sentence: int = -10
    sentence_index: int = 0
    mentions: list[tuple[int, str]] = field(default_factory=list)  # (sentence index, leader)


# ------------------------------------------------------------------------------------------------
# Paragraphs and quotations


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each paragraph: blank-line separated blocks, split further at line breaks
    where a line is complete on its own (ends a sentence, or is a short heading)."""
    spans: list[tuple[int, int]] = []
    for block in re.finditer(r"\S(?:.*?)(?=\n[ \t]*\n|\Z)", text, re.S):
        start = block.start()
        lines = list(re.finditer(r"[^\n]+", block.group(0)))
        cur_start: int | None = None
        for i, line in enumerate(lines):
            s, e = start + line.start(), start + line.end()
            if cur_start is None:
                cur_start = s
            content = line.group(0).strip()
            last = i == len(lines) - 1
            if last or TERMINAL_RE.search(content) or len(content) < 60:
                spans.append((cur_start, e))
                cur_start = None
    return [(s, e) for s, e in spans if text[s:e].strip()]


def _words(text: str) -> int:
    return len(WORD_RE.findall(text))


def _is_body(text: str) -> bool:
    stripped = text.strip()
    if _words(stripped) < 4:
        return False
    if BOILERPLATE_RE.search(stripped) and _words(stripped) < 25:
        return False
    if stripped[0] in OPEN_CLOSE:
        return True  # a quotation paragraph, perhaps continued on the next one
    return bool(TERMINAL_RE.search(stripped))


def _find_quotes(text: str, paras: list[tuple[int, int]]) -> tuple[list[Quote], list[list[int]]]:
    """Quotations in the body paragraphs, and the paragraphs grouped into logical units
    (a quotation over several paragraphs makes them one unit)."""
    quotes: list[Quote] = []
    units: list[list[int]] = []
    i = 0
    while i < len(paras):
        unit = [i]
        start, end = paras[i]
        pos = start
        continuation_skip: set[int] = set()
        while True:
            opened = _scan(text, pos, end, continuation_skip)
            quotes.extend(opened.closed)
            if opened.open_at is None:
                break
            # An unclosed quotation: the wire convention continues it when the next paragraph
            # reopens it and it began as a full sentence; otherwise the mark is a stray.
            nxt = i + len(unit)
            o = opened.open_at
            inner = text[o + 1 : end].lstrip()
            if (
                nxt < len(paras)
                and text[paras[nxt][0]] in OPEN_CLOSE
                and inner[:1].isupper()
                and _words(inner) >= 4
            ):
                continuation_skip.add(paras[nxt][0])
                unit.append(nxt)
                end = paras[nxt][1]
                pos = o
                continue
            # Stray mark: rescan after it as ordinary text.
            continuation_skip.add(o)
            pos = start
            quotes = [q for q in quotes if q.start < start]
        units.append(unit)
        i += len(unit)
    return quotes, units


@dataclass
class _Scan:
    closed: list[Quote]
    open_at: int | None


def _scan(text: str, pos: int, end: int, skip: set[int]) -> _Scan:
    closed: list[Quote] = []
    i = pos
    while i < end:
        ch = text[i]
        if ch in OPEN_CLOSE and i not in skip and _opens(text, i):
            closers = OPEN_CLOSE[ch]
            j = i + 1
            parts: list[str] = []
            seg_start = j
            found = None
            while j < end:
                c = text[j]
                if j in skip:
                    parts.append(text[seg_start:j])
                    seg_start = j + 1
                elif c in closers and _closes(text, j):
                    found = j
                    break
                j += 1
            if found is None:
                return _Scan(closed, i)
            parts.append(text[seg_start:found])
            inner = " ".join(" ".join(parts).split())
            closed.append(Quote(i, found + 1, inner))
            i = found + 1
            continue
        i += 1
    return _Scan(closed, None)


def _opens(text: str, i: int) -> bool:
    if text[i] == '"':
        before = text[i - 1] if i else " "
        after = text[i + 1] if i + 1 < len(text) else " "
        return (before.isspace() or before in "([{—–-:,") and not after.isspace()
    return True


def _closes(text: str, j: int) -> bool:
    if text[j] == '"':
        before = text[j - 1]
        return not before.isspace()
    return True


# ------------------------------------------------------------------------------------------------
# Sentences


def _sentences(text: str, start: int, end: int, quotes: list[Quote], paragraph: int) -> list[Sentence]:
    inside = [q for q in quotes if start <= q.start < end]
    masked_chars = list(text[start:end])
    for q in inside:
        for k in range(q.start - start, min(q.end, end) - start):
            masked_chars[k] = MASK
    masked = "".join(masked_chars)
    cuts = [0]
    for m in re.finditer(
        r"[.!?…]+[)\]]*(?=\s+[\"“„«A-Z0-9\u0400-\u04ff\ue000])|" + MASK + r"(?=\s+[A-Z\"“„«])", masked
    ):
        k = m.end()
        if masked[m.start()] == MASK:
            # A quotation ends the sentence only if its own words end one.
            ending = next((q for q in inside if q.end - start == k), None)
            if ending is None or not re.search(r"[.!?…]\s*$", ending.text):
                continue
        else:
            word = re.search(r"([\w.]+)\.?$", masked[max(0, m.start() - 12) : m.start() + 1])
            if word:
                w = word.group(1).rstrip(".").lower()
                if w in ABBREVIATIONS or (len(w) == 1 and w.isalpha()):
                    continue
        cuts.append(k)
    cuts.append(len(masked))
    result: list[Sentence] = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        while a < b and masked[a].isspace():
            a += 1
        if a >= b:
            continue
        s, e = start + a, start + b
        result.append(
            Sentence(s, e, text[s:e], masked[a:b], [q for q in inside if s <= q.start < e], paragraph)
        )
    return result


# ------------------------------------------------------------------------------------------------
# Attribution


class Extractor:
    """Finds statements; build once per registry, call ``extract`` per article."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def extract(self, text: str, published: date | None = None, title: str | None = None) -> list[Extracted]:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        paras = _paragraphs(text)
        body = [p for p in paras if _is_body(text[p[0] : p[1]])]
        if len(body) > 3 and body == paras[: len(body)] or (body and paras and body[0] == paras[0]):
            first = text[body[0][0] : body[0][1]].strip()
            if _is_headline(first, title, more=len(paras) > 2):
                body = body[1:]
        quotes, units = _find_quotes(text, body)
        results: list[Extracted] = []
        ctx = Context()
        for p_index, unit in enumerate(units):
            start, end = body[unit[0]][0], body[unit[-1]][1]
            for sentence in _sentences(text, start, end, quotes, p_index):
                results.extend(self._read(sentence, ctx, published))
                ctx.sentence_index += 1
        return _unique(results)

    # -- one sentence --------------------------------------------------------------------------

    def _read(self, s: Sentence, ctx: Context, day: date | None) -> list[Extracted]:
        masked = s.masked
        mentions = self.registry.mentions(masked, day)
        out: list[Extracted] = []
        speaker_found: Speaker | None = None

        m_acc = ACCORDING_RE.search(masked)
        if m_acc:
            after = next((x for x in mentions if 0 <= x.start - m_acc.end() <= 4), None)
            if after is not None and after.leader and not re.match(r"[’']s\b", masked[after.end :]):
                text = (s.text[: m_acc.start()] + s.text[after.end :]).strip(" ,.")
                text = _clean(text)
                if _words(text) >= 3:
                    speaker_found = Speaker(after.leader, True)
                    out.append(Extracted(after.leader, _kind(text, s), text, s.text.strip(), s.start))
            elif m_acc.start() < 3:
                speaker_found = Speaker(OTHER, True)  # "According to diplomats, …"

        for verb in VERB_RE.finditer(masked if speaker_found is None else ""):
            word = verb.group(1).lower()
            if word in ("called", "calls") and not re.match(r"\s+(?:for|on|upon)\b", masked[verb.end() :]):
                continue
            if word in ("ruled",) and not re.match(r"\s+out\b", masked[verb.end() :]):
                continue
            if word == "pointed" and not re.match(r"\s+out\b", masked[verb.end() :]):
                continue
            if word == "put" and not re.match(r"\s+it\b", masked[verb.end() :]):
                continue
            if word in ("asked", "asks") and re.search(r"\bwhen\s+$|\bif\s+$", masked[: verb.start()], re.I):
                continue
            speaker, subj_start, inverted_end = self._subject(masked, verb.start(), verb.end(), mentions)
            if speaker is None:
                continue
            if speaker.leader == "pronoun":
                pron = _pronoun_at(masked, subj_start)
                leader = self._resolve_pronoun(pron, ctx)
                speaker = Speaker(leader or OTHER, False)
            speaker_found = speaker
            statement = self._content(s, verb, subj_start, inverted_end, word)
            if statement is not None and speaker.leader != OTHER:
                kind, content = statement
                out.append(Extracted(speaker.leader, kind, content, s.text.strip(), s.start))
            if statement is not None:
                break

        if speaker_found is None:
            # ", saying …" after a clause whose subject is a leader.
            m = SAYING_RE.search(masked)
            if m:
                subj = self._clause_subject(masked[: m.start()], mentions, ctx)
                if subj is not None:
                    speaker_found = Speaker(subj, True)
                    content = _clean(s.text[m.end() :])
                    content = LEADING_THAT_RE.sub("", content)
                    if subj != OTHER and _words(content) >= 3:
                        out.append(Extracted(subj, _kind(content, s), content, s.text.strip(), s.start))

        if speaker_found is None and s.quotes and _standalone(s):
            if ctx.last_explicit and ctx.last_speaker and ctx.last_speaker != OTHER:
                if ctx.sentence_index - ctx.last_speaker_sentence == 1:
                    text = " ".join(q.text for q in s.quotes)
                    if _words(text) >= 3:
                        out.append(
                            Extracted(ctx.last_speaker, "direct", _clean(text), s.text.strip(), s.start)
                        )
            ctx.last_explicit = False
            return out

        # Remember who spoke and who the sentence is about.
        if speaker_found is not None:
            ctx.last_speaker = speaker_found.leader
            ctx.last_speaker_sentence = ctx.sentence_index
            ctx.last_explicit = speaker_found.leader != OTHER
            if speaker_found.leader != OTHER:
                ctx.topic = speaker_found.leader
                ctx.topic_sentence = ctx.sentence_index
        else:
            ctx.last_explicit = False
            subj = self._clause_subject(masked, mentions, ctx)
            if subj is not None:
                ctx.topic = subj
                ctx.topic_sentence = ctx.sentence_index
                if subj == OTHER:
                    ctx.last_speaker = None
        for m_ in mentions:
            if m_.leader:
                ctx.mentions.append((ctx.sentence_index, m_.leader))
        return out

    def _subject(
        self, masked: str, vstart: int, vend: int, mentions: Sequence[Mention]
    ) -> tuple[Speaker | None, int, int]:
        """The subject of the reporting verb at ``vstart``: (speaker, subject start, end of an
        inverted subject or -1). A speaker whose leader is "pronoun" still needs resolving."""
        before = masked[:vstart]
        if PASSIVE_RE.search(before):
            return None, -1, -1
        head = before
        for _ in range(2):
            # Appositive: "Putin, speaking in Astana, said" / "Putin, 70, said".
            app = re.search(r",\s*[^,\ue000]{1,160},\s*$", head)
            if app and not head.rstrip().endswith(MASK):
                candidate = head[: app.start()].rstrip()
                if any(m.end == len(candidate) for m in mentions):
                    head = candidate
            aux = AUX_RE.search(head)
            head = head[: aux.start()] if aux else head
        # Relative clause: "Biden, who has said …" speaks through "who".
        rel = re.search(r",\s*who\s*$", head)
        if rel:
            candidate = head[: rel.start()].rstrip()
            m_rel = next((m for m in mentions if m.end == len(candidate)), None)
            if m_rel is not None and masked[vstart:vend].lower() not in ("threatened", "threatens"):
                return Speaker(m_rel.leader or OTHER, True), m_rel.start, -1
        stripped = head.rstrip()
        end = len(stripped.rstrip(", "))
        m_before = next((m for m in mentions if m.end == end), None) if stripped else None
        # Inverted: "…,” said Putin / said the Russian leader / “…,” said he.
        if m_before is None and (re.search(r"(?:" + MASK + r"|,)\s*$", stripped) or not stripped):
            after = masked[vend:]
            inv = re.match(r"\s+(?:the\s+)?", after)
            inv_off = vend + (inv.end() if inv else 0)
            m_after = next((m for m in mentions if m.start in (inv_off, vend + 1)), None)
            if m_after is not None:
                if re.match(r"[’']s\b", masked[m_after.end :]):
                    return Speaker(OTHER, True), -1, -1
                return Speaker(m_after.leader or OTHER, True), m_after.start, m_after.end
            p = re.match(r"\s+(he|she)\b", after)
            if p and stripped.endswith(MASK):
                return Speaker("pronoun", False), vend + p.start(1), vend + p.end(1)
            o = re.match(r"\s+(?:the\s+|a\s+|an\s+)?([A-Za-z][\w’'-]*(?:\s+[A-Z][\w’'-]*)*)", after)
            if o and stripped.endswith(MASK):
                return Speaker(OTHER, True), -1, -1
            if not stripped:
                return None, -1, -1
            if stripped.endswith(","):
                # "Lavrov, who took part in the talks, told …": somebody who is not a leader.
                return Speaker(OTHER, True), -1, -1
        # Subject before the verb.
        if m_before is not None:
            prev = _prev_word(masked, m_before.start)
            if prev.lower() in ("and", "&", "nor", "or", "with") or (
                prev.lower() == "of" and m_before.by == "name"
            ):
                return None, -1, -1
            return Speaker(m_before.leader or OTHER, True), m_before.start, -1
        p = re.search(r"(?<![\w])(he|she|He|She)$", stripped)
        if p:
            return Speaker("pronoun", False), p.start(1), -1
        last = re.search(r"([\w’'.-]+)$", stripped)
        if last:
            word = last.group(1)
            lower = word.lower()
            if lower in ("they", "we", "i", "you", "it", "who", "which", "that"):
                return (
                    (Speaker(OTHER, True), -1, -1) if lower in ("they", "we", "i", "you") else (None, -1, -1)
                )
            if lower in PREPOSITIONS or lower in ("the", "a", "an", "not", "to", "but", "yet"):
                if lower in ("and", "but"):
                    # "Putin met Xi and said …": the clause's subject speaks.
                    subj = self._clause_subject(stripped[: last.start()], mentions, None)
                    if subj is not None:
                        first = next(m for m in mentions if m.leader == subj or subj == OTHER)
                        return Speaker(subj, True), first.start if subj != OTHER else -1, -1
                return None, -1, -1
            return Speaker(OTHER, True), -1, -1
        return None, -1, -1

    def _content(
        self, s: Sentence, verb: re.Match[str], subj_start: int, inverted_end: int, word: str
    ) -> tuple[StatementKind, str] | None:
        masked, text = s.masked, s.text
        base = s.start
        # Quotations before the attribution: "“…,” Putin said" (and any that follow: “A,” he said, “B.”).
        lead = masked[: subj_start if subj_start >= 0 else verb.start()]
        if re.search(MASK + r"[\s,]*(?:the\s+)?$", lead) or (
            inverted_end >= 0 and re.search(MASK + r"[\s,]*$", masked[: verb.start()])
        ):
            quotes = [
                q
                for q in s.quotes
                if q.end - base <= len(lead.rstrip(" ,")) + 1 or q.start - base > verb.end()
            ]
            words = " ".join(q.text for q in quotes)
            if _words(words) >= 2:
                return "direct", _clean(words)
        # What follows the verb.
        pos = max(verb.end(), inverted_end)
        rest_masked = masked[pos:]
        rest = text[pos:]
        if word in (
            "told",
            "tells",
            "informed",
            "reminded",
            "assured",
            "reassured",
            "urged",
            "urges",
            "thanked",
            "warned",
            "warns",
            "accused",
            "accuses",
            "asked",
            "asks",
            "invited",
        ):
            obj = TELL_OBJECT_RE.match(rest_masked)
            if obj and word in (
                "told",
                "tells",
                "informed",
                "reminded",
                "assured",
                "reassured",
                "asked",
                "asks",
            ):
                cut = obj.end()
                # Keep a leading "that"/clause: give back the last word if it is a pronoun subject.
                rest_masked, rest = rest_masked[cut:], rest[cut:]
        # Colon or direct quotation right after the verb.
        colon = re.match(r"[^" + MASK + r".;]{0,80}?[:,]\s*(?=" + MASK + ")", rest_masked) or re.match(
            r"\s*,?\s*(?=" + MASK + ")", rest_masked
        )
        if colon:
            after_quotes = [q for q in s.quotes if q.start - base >= pos]
            qtext = " ".join(q.text for q in after_quotes)
            tail = re.sub(MASK + r"+", "", rest_masked[colon.end() :]).strip(" .,;")
            if _words(qtext) >= 2 and (_words(tail) <= 3 or VERB_RE.search(tail)):
                return "direct", _clean(qtext)
        m_that = LEADING_THAT_RE.match(rest)
        if word in ("posted", "wrote", "writes", "tweeted") and m_that is None:
            return None  # "posted a message of thanks": what was written is not given
        if m_that is None and subj_start > 0 and ADVERBIAL_START_RE.match(rest_masked):
            front = self._fronted(s, subj_start, verb, inverted_end)
            if front is not None:
                return front
        content = rest[m_that.end() :] if m_that else rest
        content_masked = rest_masked[m_that.end() :] if m_that else rest_masked
        content = _strip_trailing_attribution(content, content_masked)
        content = _clean(content)
        if word in ("called", "calls"):
            content = re.sub(r"^\s*(?:for|on|upon)\s+", "", content)
        min_words = 5 if word in OBJECT_VERBS else 3
        if (
            word in OBJECT_VERBS
            and word not in ("called", "calls", "ruled")
            and not m_that
            and not re.search(r"\b(?:that|to|of|for|as|over|against)\b", content)
        ):
            min_words = 10_000  # "thanked the EU leaders": an act, not a statement
        if word in ("denied", "denies", "confirmed", "confirms", "announced", "announces", "rejected"):
            min_words = 2 if m_that else 4
        if _words(content) >= min_words:
            return _kind(content, s), content
        return self._fronted(s, subj_start, verb, inverted_end)

    def _fronted(
        self, s: Sentence, subj_start: int, verb: re.Match[str], inverted_end: int
    ) -> tuple[StatementKind, str] | None:
        """Content before the attribution: "Ukraine refuses to talk, Putin told journalists." """
        masked, text = s.masked, s.text
        lead_masked = masked[: subj_start if subj_start >= 0 and inverted_end < 0 else verb.start()]
        m_lead = re.search(r",\s*(?:the\s+)?$", lead_masked)
        if not m_lead:
            return None
        front_masked = masked[: m_lead.start()]
        if ADVERBIAL_START_RE.match(front_masked) and "," not in front_masked:
            return None  # "Earlier this month, Putin said …": a time phrase, not content.
        if PARTICIPLE_START_RE.match(front_masked):
            return None  # "Pressed by a reporter on …, Trump answered": circumstances, not content.
        front = _clean(text[: m_lead.start()])
        if _words(front) >= 4:
            return _kind(front, s), front
        return None

    def _clause_subject(self, masked: str, mentions: Sequence[Mention], ctx: Context | None) -> str | None:
        """The leader a clause is about when a leader is its grammatical subject: the first
        mention, at the clause start (after a fronted phrase), not possessive, not an object."""
        clause_start = 0
        dateline = DATELINE_RE.match(masked)
        if dateline:
            masked = " " * dateline.end() + masked[dateline.end() :]
        m = re.match(r"^\s*(?:[^,]{0,60}),\s+", masked)
        if m and not any(x.start < m.end() for x in mentions):
            clause_start = m.end()
        first = next((x for x in mentions if x.start >= clause_start), None)
        lead = masked[clause_start : first.start if first else len(masked)]
        lead_words = WORD_RE.findall(lead)
        if first is not None and all(
            w[:1].isupper() or w.lower() in ("the", "former", "then") for w in lead_words
        ):
            if re.match(r"[’']s\b", masked[first.end :]) or not first.leader:
                return OTHER
            # "Macron and Meloni said": no single subject.
            if re.match(r"\s+(?:and|&)\s", masked[first.end :]):
                return None
            return first.leader
        p = re.match(
            r"\s*(?:(?:Earlier|Later|Then|Meanwhile|But|And|Yet|Still|Now|Separately|Previously|"
            r"Also|So|Instead|However|Afterwards|Today|Yesterday)\s*,?\s+)?([Hh]e|[Ss]he)\b",
            masked[clause_start:],
        )
        if p and ctx is not None:
            return self._resolve_pronoun(p.group(1), ctx)
        if lead_words and _looks_like_person_subject(lead):
            return OTHER
        return None

    def _resolve_pronoun(self, pronoun: str, ctx: Context) -> str | None:
        pron = pronoun.lower()
        candidates: list[tuple[int, str]] = []
        if ctx.last_speaker is not None and ctx.sentence_index - ctx.last_speaker_sentence <= 4:
            candidates.append((ctx.last_speaker_sentence, ctx.last_speaker))
        if ctx.topic is not None and ctx.sentence_index - ctx.topic_sentence <= 4:
            candidates.append((ctx.topic_sentence, ctx.topic))
        if not candidates:
            return None
        candidates.sort(reverse=True)
        leader = candidates[0][1]
        if leader == OTHER:
            return None
        if self.registry.pronoun(leader) != pron:
            return None
        return leader


def _looks_like_person_subject(lead: str) -> bool:
    return bool(
        re.search(
            r"\b(?:spokes(?:man|woman|person)|minister|ambassador|adviser|advisor|aide|official|envoy|"
            r"secretary|general|commander|senator|governor|mayor|lawmaker|negotiator|diplomat|analyst|"
            r"expert|lawyer|attorney|prosecutor|judge|chairman|chairwoman|director|professor|mr|mrs|ms|"
            r"dr|chief|head|leader|deputy|representative|officer|source|member|critic|opponent)s?\b",
            lead,
            re.I,
        )
    )


def _prev_word(masked: str, pos: int) -> str:
    m = re.search(r"([\w&]+)\W*$", masked[:pos])
    return m.group(1) if m else ""


def _pronoun_at(masked: str, pos: int) -> str:
    m = PRONOUN_RE.match(masked, pos)
    return m.group(1) if m else "he"


def _standalone(s: Sentence) -> bool:
    rest = s.masked.replace(MASK, "")
    return _words(rest) == 0


def _kind(content: str, s: Sentence) -> StatementKind:
    """Reported speech is indirect even with a partial quote; wholly quoted words are direct."""
    stripped = content.strip(" .,;:")
    if stripped and stripped[0] in OPEN_CLOSE and stripped[-1] in CLOSERS:
        inner = stripped[1:-1]
        if not any(c in inner for c in "“”«»„"):
            return "direct"
    return "indirect"


def _strip_trailing_attribution(content: str, masked: str) -> str:
    """Cut "…, he said on Friday" and "according to …" tails off reported content."""
    m = re.search(
        r",\s*(?:he|she|they|[A-Z][\w’'-]+(?:\s+[A-Z][\w’'-]+)*)\s+(?:said|added|told|says)\b[^"
        + MASK
        + r"]*$",
        masked,
    )
    if m:
        content = content[: m.start()]
    m = re.search(r",?\s*according\s+to\b[^" + MASK + r"]*$", masked[: len(content)], re.I)
    if m:
        content = content[: m.start()]
    return content


def _clean(text: str) -> str:
    text = " ".join(text.split())
    text = text.strip(" ,;:—–-")
    if text.endswith(".") and not text.endswith(".."):
        text = text[:-1]
    return _balance_quotes(text).strip()


def _balance_quotes(text: str) -> str:
    """Drop quote marks that open or close nothing (a cut, or the source's own typo), so a
    statement never shows a quotation that runs on without end."""
    stray: set[int] = set()
    stack: list[int] = []
    for i, ch in enumerate(text):
        if ch in "“«„" and not (ch == "“" and stack and text[stack[-1]] == "„"):
            stack.append(i)
        elif ch in "”»" or (ch == "“" and stack and text[stack[-1]] == "„"):
            if stack:
                stack.pop()
            else:
                stray.add(i)
    stray.update(stack)
    if text.count('"') % 2:
        stray.add(text.rfind('"'))
    if not stray:
        return text
    return "".join(ch for i, ch in enumerate(text) if i not in stray)


def _is_headline(first: str, title: str | None, *, more: bool) -> bool:
    if more and title and " ".join(first.split()).strip(" .") == " ".join(title.split()).strip(" ."):
        return True
    if first.rstrip().endswith(":") or any(mark in first for mark in OPEN_CLOSE):
        return False  # a lede that opens a quotation
    return more and _words(first) <= 16 and len(re.findall(r"[.!?](?:\s|$)", first)) <= 1


def _unique(items: list[Extracted]) -> list[Extracted]:
    seen: set[tuple[str, str]] = set()
    out: list[Extracted] = []
    for item in items:
        key = (item.leader, " ".join(item.text.lower().split()))
        if key in seen or not item.text:
            continue
        seen.add(key)
        out.append(item)
    return out


def extract(
    text: str, registry: Registry, published: date | None = None, title: str | None = None
) -> list[Extracted]:
    """Convenience wrapper: the statements in ``text``, in reading order."""
    return Extractor(registry).extract(text, published, title)
