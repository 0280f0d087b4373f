"""Fingerprints and the rule that decides whether two texts are the same statement.

Pure functions, no I/O: this module never touches the database, the network or the clock.
``storage`` calls it while merging; it must not import ``storage`` (or anything with I/O).

**Normalised text.** :func:`normalise` makes outlets' typography irrelevant: NFKC, case folded,
curly quotes and apostrophes made straight, every dash and hyphen a space, digit group separators
dropped (``1,000`` = ``1000``), all other punctuation and symbols removed except an apostrophe
inside a word (``don't``), whitespace collapsed. Letters of every script are kept.

>>> normalise("“We  won’t   retreat — ever,” he said.")
"we won't retreat ever he said"
>>> normalise("«Мы не отступим», — сказал Путин.")
'мы не отступим сказал путин'

**The rule.** Each text becomes the set of its word 3-shingles (every run of three consecutive
normalised words). Similarity is *containment*: the shared shingles divided by the shingles of
the shorter text, ``|S(a) ∩ S(b)| / min(|S(a)|, |S(b)|)``, so a cut of a longer quote scores 1.0.
Two texts are the same statement when

* the shorter one is wholly contained in the longer (every shingle shared), or
* at least :data:`MIN_SHARED_SHINGLES` (3) shingles are shared **and** the containment is at
  least :data:`SAME_STATEMENT_THRESHOLD` (0.65).

Texts of fewer than three words have no shingles; they are the same only when their normalised
forms are equal.

**Why 0.65.** One changed word in the middle of a quote removes three shingles. A 12-word quote
has 10 shingles; with one word changed 7 remain shared (0.70), so it still merges, and a 30-word
quote survives three edits (19/28 = 0.68). Joining the two ends of a cut with an ellipsis costs
two shingles per join. On the other side, two different statements of one leader often open with
the same stock words; at 0.65 the shared run must cover about two thirds of the shorter statement
before they merge, and the example below (a shared five-word opening, 3 of 5 shingles = 0.60)
stays two statements. Merging two different statements would hide one from every reader, while a
missed merge only shows a duplicate, so the threshold leans to the strict side of 0.6–0.7.
:data:`MIN_SHARED_SHINGLES` keeps two short texts that share one phrase apart unless the shorter
one is wholly inside the other.

Examples:

>>> q = "There is no need for large-scale raids right now. We have other missions."
>>> is_same_statement(q, q)                                     # identical
True
>>> is_same_statement(q, "There is no need for large-scale raids right now")  # another cut
True
>>> is_same_statement(q, '"There is no need for large scale raids right now; we have other missions"')
True
>>> a = "Russia has no intention of destroying Ukraine"             # reported speech...
>>> b = "Russia has no intention of attacking NATO countries"       # ...a different statement
>>> round(similarity(a, b), 2), is_same_statement(a, b)
(0.6, False)

Limits: the rule compares words, not meaning. Two outlets that paraphrase the same reported
speech in different words stay two statements; translations of one quote stay apart.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

SAME_STATEMENT_THRESHOLD = 0.65
"""Least containment of word 3-shingles for two texts to be one statement (see the module doc)."""

MIN_SHARED_SHINGLES = 3
"""Least shared shingles for a merge, unless the shorter text is wholly inside the longer."""

SHINGLE_WORDS = 3

Shingle = int
"""A word 3-shingle, hashed: compact and quick to compare, equal only within one process
(Python salts string hashes per process), so never stored."""

# Apostrophe look-alikes become "'", dashes and hyphens become a space, double quotes vanish.
_TRANSLATE = str.maketrans(
    {
        "\u2018": "'",  # ‘
        "\u2019": "'",  # ’
        "\u201a": "'",  # ‚
        "\u201b": "'",  # ‛
        "\u02bc": "'",  # ʼ (a letter to Unicode, an apostrophe to readers: Ukrainian пʼять)
        "\u2032": "'",  # ′
        "`": "'",
        "\u00b4": "'",  # ´
        "-": " ",
        "\u2010": " ",
        "\u2011": " ",
        "\u2012": " ",
        "\u2013": " ",  # –
        "\u2014": " ",  # —
        "\u2015": " ",
        "\u2212": " ",  # minus
        "\u2e3a": " ",
        "\u2e3b": " ",
        "\ufe58": " ",
        "\ufe63": " ",
        "_": " ",
    }
)
_DIGIT_SEPARATOR = re.compile(r"(?<=\d)[.,'\u00a0\u202f](?=\d{3}\b)")
_STRAY_APOSTROPHE = re.compile(r"(?<!\w)'|'(?!\w)")
_ASCII_DROP = re.compile(r"[^a-z0-9A-Z']")  # what _keep drops, for ASCII text


def _keep(char: str) -> bool:
    """Letters, digits, combining marks (Devanagari vowel signs, ...) and apostrophes survive."""
    return char.isalnum() or char == "'" or unicodedata.category(char)[0] == "M"


def normalise(text: str) -> str:
    """The comparable form of ``text``: see the module docstring for every step."""
    folded = unicodedata.normalize("NFKC", text).translate(_TRANSLATE).casefold()
    folded = _DIGIT_SEPARATOR.sub("", folded)
    if folded.isascii():  # most text: one regex instead of a test per character
        kept = _ASCII_DROP.sub(" ", folded)
    else:
        kept = "".join(char if _keep(char) else " " for char in folded)
    kept = _STRAY_APOSTROPHE.sub(" ", kept)
    return " ".join(kept.split())


def fingerprint_normalised(norm_text: str) -> str:
    """The fingerprint of text that is already normalised (as stored beside each statement)."""
    return hashlib.sha1(norm_text.encode("utf-8")).hexdigest()


def fingerprint(text: str) -> str:
    """A stable hash (SHA-1 hex) of ``normalise(text)``: equal for typographic variants."""
    return fingerprint_normalised(normalise(text))


def word_count(norm_text: str) -> int:
    """Words in normalised text (how "longer cut" is measured when merging)."""
    return len(norm_text.split())


@dataclass(frozen=True, slots=True)
class Prepared:
    """A text made ready for comparison once, then compared with many others."""

    norm: str
    words: int
    shingles: frozenset[Shingle]


def prepare_normalised(norm_text: str) -> Prepared:
    """Shingle text that is already normalised (stored rows): no second normalisation."""
    tokens = norm_text.split()
    shingles = frozenset(map(hash, zip(tokens, tokens[1:], tokens[2:], strict=False)))
    return Prepared(norm=norm_text, words=len(tokens), shingles=shingles)


def prepare(text: str) -> Prepared:
    return prepare_normalised(normalise(text))


def _shared(a: Prepared, b: Prepared) -> tuple[int, int]:
    """(shared shingles, shingles of the smaller set); both texts have three words or more."""
    # CPython intersects by walking the smaller set, so the order of operands does not matter.
    return len(a.shingles & b.shingles), min(len(a.shingles), len(b.shingles))


def similarity_prepared(a: Prepared, b: Prepared) -> float:
    """Containment of word 3-shingles in [0, 1]; below three words, 1.0 iff equal."""
    if a.words < SHINGLE_WORDS or b.words < SHINGLE_WORDS:
        return 1.0 if a.norm == b.norm else 0.0
    shared, smaller = _shared(a, b)
    return shared / smaller


def same_statement_counts(shared: int, shingles_a: int, shingles_b: int) -> bool:
    """The rule on counts alone: ``shared`` shingles between texts of ``shingles_a`` and ``shingles_b``.

    For callers that count shared shingles themselves (an inverted index over many stored
    texts); both texts must have three words or more.
    """
    smaller = min(shingles_a, shingles_b)
    if smaller == 0:
        return False
    if shared >= smaller:  # the shorter text is wholly inside the longer one
        return True
    return shared >= MIN_SHARED_SHINGLES and shared / smaller >= SAME_STATEMENT_THRESHOLD


def same_statement_prepared(a: Prepared, b: Prepared) -> bool:
    """:func:`is_same_statement` for prepared texts."""
    if a.words < SHINGLE_WORDS or b.words < SHINGLE_WORDS:
        return a.norm == b.norm
    return same_statement_counts(len(a.shingles & b.shingles), len(a.shingles), len(b.shingles))


def similarity(a: str, b: str) -> float:
    """How much of the shorter text's word 3-shingles the other text contains, in [0, 1]."""
    return similarity_prepared(prepare(a), prepare(b))


def is_same_statement(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` are the same statement, cut or punctuated differently."""
    return same_statement_prepared(prepare(a), prepare(b))


_TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "yclid", "msclkid", "mc_cid", "mc_eid", "ocid", "cmpid", "ito", "ref_src"}
)


def normalise_url(url: str) -> str:
    """A comparable form of an article URL: the same page reached by two feeds compares equal.

    Scheme, ``www.``, default ports, fragments, trailing slashes and tracking parameters
    (``utm_*``, ``fbclid``, ...) are dropped; host case is folded; the other query parameters are
    sorted. Anything that is not an http(s) URL is returned stripped, and ``""`` stays ``""``.
    """
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return url
    host = parts.hostname.lower().removeprefix("www.")
    try:
        port = parts.port if parts.port not in (None, 80, 443) else None
    except ValueError:  # a port that is not a number: keep the URL as it came
        return url
    netloc = f"{host}:{port}" if port else host
    path = parts.path.rstrip("/")
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not name.lower().startswith("utm_") and name.lower() not in _TRACKING_PARAMS
    ]
    tail = f"?{urlencode(sorted(query))}" if query else ""
    return f"{netloc}{path}{tail}"
