"""Scoring the extractor on labelled articles (golden pairs): precision, recall, speaker accuracy.

A golden pair is ``NAME.txt`` (the article) beside ``NAME.expected.json`` (see
``tests/fixtures/articles/README.md``). An expected statement counts as found when a statement
for the same leader contains its phrase (in its text or its sentence, compared after lower-casing
and dropping punctuation): the rule of ``shared/tools/check_seed.py``. A found statement is a
true hit when it matches some expected statement of its leader, a false hit otherwise; one that
matches an expected phrase under another leader is a wrong speaker. Pure: reads files only when
asked to load a folder.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from digests.models import Extracted


def norm(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    return " ".join(re.sub(r"[^\w' ]+", " ", text).split())


@dataclass(frozen=True)
class Expected:
    leader: str
    kind: str
    contains: str


@dataclass(frozen=True)
class GoldenPair:
    name: str
    text: str
    published: date | None
    expected: tuple[Expected, ...]
    must_not: tuple[str, ...]


@dataclass
class Score:
    expected: int = 0
    found: int = 0  # expected statements found for the right leader
    hits: int = 0  # extracted statements that match an expected one of their leader
    extracted: int = 0
    wrong_speaker: int = 0
    must_not_violations: int = 0
    by_kind: dict[str, list[int]] = field(default_factory=dict)  # kind -> [found, expected]
    misses: list[str] = field(default_factory=list)
    false_hits: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.hits / self.extracted if self.extracted else 1.0

    @property
    def recall(self) -> float:
        return self.found / self.expected if self.expected else 1.0

    @property
    def speaker_accuracy(self) -> float:
        attributed = self.hits + self.wrong_speaker
        return self.hits / attributed if attributed else 1.0

    def add(self, other: Score) -> None:
        self.expected += other.expected
        self.found += other.found
        self.hits += other.hits
        self.extracted += other.extracted
        self.wrong_speaker += other.wrong_speaker
        self.must_not_violations += other.must_not_violations
        for kind, (f, e) in other.by_kind.items():
            cur = self.by_kind.setdefault(kind, [0, 0])
            cur[0] += f
            cur[1] += e
        self.misses.extend(other.misses)
        self.false_hits.extend(other.false_hits)


def load_pair(path: Path) -> GoldenPair:
    """``path`` is the article; its expectations sit beside it as ``NAME.expected.json``."""
    data: dict[str, Any] = json.loads(path.with_name(path.stem + ".expected.json").read_text("utf-8"))
    published = date.fromisoformat(data["published"][:10]) if data.get("published") else None
    return GoldenPair(
        name=path.name,
        text=path.read_text("utf-8"),
        published=published,
        expected=tuple(Expected(e["leader"], e.get("kind", ""), e["contains"]) for e in data["expected"]),
        must_not=tuple(m["contains"] for m in data.get("must_not", [])),
    )


def load_pairs(folder: Path) -> list[GoldenPair]:
    return [
        load_pair(p) for p in sorted(folder.glob("*.txt")) if p.with_name(p.stem + ".expected.json").exists()
    ]


def score_pair(pair: GoldenPair, found: Sequence[Extracted]) -> Score:
    score = Score(expected=len(pair.expected), extracted=len(found))
    texts = [(s.leader, norm(s.text + " " + s.sentence), s) for s in found]
    for e in pair.expected:
        phrase = norm(e.contains)
        ok = any(leader == e.leader and phrase in t for leader, t, _ in texts)
        kind = score.by_kind.setdefault(e.kind or "any", [0, 0])
        kind[1] += 1
        if ok:
            score.found += 1
            kind[0] += 1
        else:
            score.misses.append(f"{pair.name}: {e.leader} ({e.kind}): {e.contains}")
    for leader, t, s in texts:
        if any(leader == e.leader and norm(e.contains) in t for e in pair.expected):
            score.hits += 1
        elif any(norm(e.contains) in norm(s.text) for e in pair.expected):
            score.wrong_speaker += 1
            score.false_hits.append(f"{pair.name}: wrong speaker {leader}: {s.text[:100]}")
        else:
            score.false_hits.append(f"{pair.name}: {leader} ({s.kind}): {s.text[:100]}")
    for phrase in pair.must_not:
        if any(norm(phrase) in t for _, t, _ in texts):
            score.must_not_violations += 1
            score.false_hits.append(f"{pair.name}: must not: {phrase}")
    return score


def evaluate(
    pairs: Iterable[GoldenPair], extract: Callable[[str, date | None], Sequence[Extracted]]
) -> tuple[Score, dict[str, Score]]:
    total = Score()
    per: dict[str, Score] = {}
    for pair in pairs:
        score = score_pair(pair, extract(pair.text, pair.published))
        per[pair.name] = score
        total.add(score)
    return total, per


def report(score: Score, *, title: str) -> str:
    lines = [
        f"{title}",
        f"  expected {score.expected}, found {score.found}, extracted {score.extracted}",
        f"  precision {score.precision:.3f}  recall {score.recall:.3f}  speaker {score.speaker_accuracy:.3f}"
        f"  must-not violations {score.must_not_violations}",
    ]
    for kind, (f, e) in sorted(score.by_kind.items()):
        lines.append(f"  recall {kind:<9} {f}/{e} = {f / e if e else 1:.3f}")
    return "\n".join(lines)
