"""A leader's statements → a 1–3 sentence summary of what they said.

The default summariser is extractive and offline: statements are grouped by subject (shared
content words, weighted by rarity), the subjects are ranked by how many outlets carried them,
how many statements they hold and how recent they are, and the summary reports the best statement
of each of the top subjects in at most three sentences ("Putin said …. He also said … and …").
It only ever quotes words that are in the statements.

``LLMSummariser`` asks an OpenAI-compatible chat-completions endpoint for an abstractive summary;
any failure (network, HTTP, timeout, an empty answer, or an answer that puts into quote marks
words not found in the statements) falls back to the extractive summary. This module does HTTP
only through the client it is given and never reads the environment.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from digests.models import Leader, Statement

log = logging.getLogger("digests.summarise")

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just me more
    most my myself no nor not now of off on once only or other our ours ourselves out over own same she
    should so some such than that the their theirs them themselves then there these they this those
    through to too under until up very was we were what when where which while who whom why will with
    would you your yours yourself said says say told added noted stressed warned one two new also us
    there's it's we're they're i'm don't didn't won't can't isn't wasn't""".split()
)
WORD_RE = re.compile(r"[^\W\d_][\w'’-]*", re.U)
QUOTED_RE = re.compile(r"[“«„\"]([^”»“\"]{3,})[”»“\"]")
MAX_ITEM_CHARS = 220


def content_words(text: str) -> list[str]:
    words = []
    for w in WORD_RE.findall(text.lower()):
        w = w.strip("'’-")
        if len(w) < 3 or w in STOPWORDS:
            continue
        words.append(_stem(w))
    return words


def _stem(word: str) -> str:
    for suffix in ("ations", "ation", "ments", "ment", "ings", "ing", "ies", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


@dataclass(frozen=True)
class Topic:
    statements: tuple[Statement, ...]
    weight: float

    @property
    def best(self) -> Statement:
        return max(self.statements, key=_representative_score)


def _representative_score(s: Statement) -> float:
    words = len(s.text.split())
    fit = 1.0 if 6 <= words <= 35 else 0.6 if words < 6 else 35 / words
    return s.outlet_count * 2 + fit + (0.3 if s.kind == "indirect" else 0.0)


def group_by_subject(statements: Sequence[Statement], threshold: float = 0.18) -> list[Topic]:
    """Greedy single-link grouping on rarity-weighted shared content words, ranked."""
    if not statements:
        return []
    bags = [set(content_words(s.text)) for s in statements]
    df = Counter(w for bag in bags for w in bag)
    n = len(statements)
    idf = {w: math.log(1 + n / c) for w, c in df.items()}

    def sim(a: set[str], b: set[str]) -> float:
        if not a or not b:
            return 0.0
        shared = sum(idf[w] for w in a & b)
        return shared / min(sum(idf[w] for w in a), sum(idf[w] for w in b))

    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        for j in range(i + 1, n):
            if find(i) != find(j) and sim(bags[i], bags[j]) >= threshold:
                parent[find(j)] = find(i)
    groups: dict[int, list[Statement]] = {}
    for i, s in enumerate(statements):
        groups.setdefault(find(i), []).append(s)
    newest = max((s.published or s.first_seen) for s in statements)
    topics = []
    for members in groups.values():
        outlets = sum(s.outlet_count for s in members)
        latest = max((s.published or s.first_seen) for s in members)
        age_days = max(0.0, (newest - latest).total_seconds() / 86400)
        weight = outlets + 0.5 * len(members) + 1.0 / (1.0 + age_days)
        topics.append(Topic(tuple(members), weight))
    topics.sort(key=lambda t: -t.weight)
    return topics


def _shorten(text: str, limit: int = MAX_ITEM_CHARS) -> str:
    text = " ".join(text.split()).rstrip(" .;,")
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:")
    # Never leave a quotation open: drop the marks of a quotation the cut runs into.
    opens = sum(cut.count(c) for c in "“«„")
    closes = sum(cut.count(c) for c in "”»")
    if opens != closes or cut.count('"') % 2:
        cut = re.sub(r"[“”«»„\"]", "", cut)
    return cut + "…"


# Reported content that starts with its own verb ("accused the West of …", "urged allies to …")
# reads as a clause of its own; anything else is introduced by "said".
OWN_VERB_RE = re.compile(
    r"^(?:accused|urged|called|criticised|criticized|praised|welcomed|rejected|dismissed|blamed|hailed|"
    r"condemned|demanded|proposed|questioned|defended|warned|announced|denied|pledged|vowed|promised|"
    r"threatened|insisted|argued|claimed|stressed|noted|added|told|ruled)\b"
)


def _clause(s: Statement) -> str:
    """One statement as what follows the speaker: "said …", "accused …", "said: “…”"."""
    text = _shorten(s.text)
    if s.kind == "direct":
        return f"said: “{text}”"
    if OWN_VERB_RE.match(text):
        return text
    return f"said {text}"


def extractive_summary(leader: Leader, statements: Sequence[Statement], max_sentences: int = 3) -> str:
    """1–3 sentences on the leader's main subjects, built only from the statements:
    "Putin said …. He also said … and warned …. He said: “…”"."""
    topics = group_by_subject(statements)
    if not topics:
        return ""
    clauses = [_clause(t.best) for t in topics[:5]]
    pronoun = {"he": "He", "she": "She"}.get(leader.pronoun, leader.name.split()[-1])
    sentences = [f"{leader.name} {clauses[0]}"]
    if len(clauses) > 1 and max_sentences >= 2:
        sentences.append(f"{pronoun} also {' and '.join(clauses[1:3])}")
    if len(clauses) > 3 and max_sentences >= 3:
        sentences.append(f"{pronoun} {' and '.join(clauses[3:5])}")
    return " ".join(sentence.rstrip(".") + "." for sentence in sentences)


# ------------------------------------------------------------------------------------------------
# Optional abstractive summaries


class SummaryRejected(Exception):
    """The model's answer is unusable (empty, too long, or quoting words not in the statements)."""


def quotes_are_faithful(summary: str, statements: Sequence[Statement]) -> bool:
    """Every quoted passage of the summary occurs (ignoring case and spacing) in a statement."""
    haystack = " ".join(" ".join((s.text + " " + s.sentence).lower().split()) for s in statements)
    haystack = haystack.replace("’", "'")
    for quoted in QUOTED_RE.findall(summary):
        needle = " ".join(quoted.lower().split()).replace("’", "'").strip(" .,;:")
        if needle and needle not in haystack:
            return False
    return True


@dataclass(frozen=True)
class LLMConfig:
    base_url: str
    api_key: str | None
    model: str
    timeout: float = 20.0
    retries: int = 2


class LLMSummariser:
    """Abstractive summaries from an OpenAI-compatible endpoint, extractive on any failure."""

    def __init__(self, config: LLMConfig, client: httpx.AsyncClient) -> None:
        self.config = config
        self.client = client

    async def summarise(self, leader: Leader, statements: Sequence[Statement]) -> str:
        fallback = extractive_summary(leader, statements)
        if not statements:
            return fallback
        try:
            answer = await self._ask(leader, statements)
            return self._check(answer, statements)
        except (httpx.HTTPError, SummaryRejected, ValueError, KeyError, TypeError, IndexError) as exc:
            log.warning(
                "LLM summary for %s failed (%s); using the extractive one",
                leader.key,
                type(exc).__name__ if not isinstance(exc, SummaryRejected) else exc,
            )
            return fallback

    def _check(self, answer: str, statements: Sequence[Statement]) -> str:
        text = " ".join(answer.split())
        if not text:
            raise SummaryRejected("empty answer")
        if len(text) > 900:
            raise SummaryRejected("answer too long")
        if not quotes_are_faithful(text, statements):
            raise SummaryRejected("answer quotes words that are not in the statements")
        return text

    async def _ask(self, leader: Leader, statements: Sequence[Statement]) -> str:
        lines = [f"- ({s.kind}) {s.text}" for s in statements[:40]]
        prompt = (
            f"Summarise in 1 to 3 sentences what {leader.name} said, for a news digest. Use only the "
            "statements below. Put words in quotation marks only if they appear verbatim below.\n\n"
            + "\n".join(lines)
        )
        url = self.config.base_url.rstrip("/") + "/chat/completions"
        headers = {"Authorization": f"Bearer {self.config.api_key}"} if self.config.api_key else {}
        body = {
            "model": self.config.model,
            "messages": [
                {"role": "system", "content": "You write short, neutral news summaries."},
                {"role": "user", "content": prompt},
            ],
            "temperature": 0.2,
            "max_tokens": 300,
        }
        last: Exception | None = None
        for attempt in range(self.config.retries + 1):
            try:
                response = await self.client.post(
                    url, json=body, headers=headers, timeout=self.config.timeout
                )
                if response.status_code in (429, 500, 502, 503, 504) and attempt < self.config.retries:
                    last = httpx.HTTPStatusError("retryable", request=response.request, response=response)
                    continue
                response.raise_for_status()
                data = response.json()
                return str(data["choices"][0]["message"]["content"])
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                last = exc
        assert last is not None
        raise last
