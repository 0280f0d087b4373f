"""The same-statement rule: what merges, what stays apart, and the normal form it compares."""

from __future__ import annotations

import doctest
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from digests import dedup
from digests.dedup import (
    MIN_SHARED_SHINGLES,
    SAME_STATEMENT_THRESHOLD,
    fingerprint,
    is_same_statement,
    normalise,
    normalise_url,
    prepare,
    prepare_normalised,
    same_statement_prepared,
    similarity,
    similarity_prepared,
)

QUOTE = (
    "There is no need for large-scale raids right now. We have other missions because I believe "
    "that out of the 29 targets set by the Ministry of Defense, only seven didn't hit, but gradually we will."
)


def test_the_documented_examples_hold() -> None:
    failures, tried = doctest.testmod(dedup)
    assert tried >= 8
    assert failures == 0


def test_threshold_is_in_the_documented_range() -> None:
    assert 0.6 <= SAME_STATEMENT_THRESHOLD <= 0.7
    assert MIN_SHARED_SHINGLES == 3
    assert str(SAME_STATEMENT_THRESHOLD) in (dedup.__doc__ or "")


# --------------------------------------------------------------------------- normalise


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("“We won’t retreat,” he said.", "we won't retreat he said"),
        ('"We won\'t retreat," he said!', "we won't retreat he said"),
        ("large-scale — raids – now", "large scale raids now"),
        ("  many\t\nspaces\u00a0here  ", "many spaces here"),
        ("«Мы не отступим», — заявил Путин.", "мы не отступим заявил путин"),
        ("Зеленський: «Ми не здамося»", "зеленський ми не здамося"),
        ("‘quoted’ and 'quoted'", "quoted and quoted"),
        ("Putin's and Putin’s", "putin's and putin's"),
        ("1,000 troops and 1000 troops", "1000 troops and 1000 troops"),
        ("STRASSE Straße", "strasse strasse"),
        ("...!?;:()[]{}", ""),
    ],
)
def test_normalise_ignores_typography_and_keeps_words(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_normalise_keeps_combining_marks_of_other_scripts() -> None:
    assert normalise("नमस्ते, भारत!") == "नमस्ते भारत"


@given(st.text())
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once
    assert "  " not in once
    assert once == once.strip()


def _normalise_char_by_char(text: str) -> str:
    """The reference: every character tested on its own (normalise takes a regex for ASCII)."""
    folded = dedup.unicodedata.normalize("NFKC", text).translate(dedup._TRANSLATE).casefold()
    folded = dedup._DIGIT_SEPARATOR.sub("", folded)
    kept = "".join(char if dedup._keep(char) else " " for char in folded)
    return " ".join(dedup._STRAY_APOSTROPHE.sub(" ", kept).split())


@given(st.text(alphabet=st.characters(max_codepoint=127)) | st.text())
def test_the_ascii_shortcut_normalises_as_the_general_path(text: str) -> None:
    assert normalise(text) == _normalise_char_by_char(text)


# --------------------------------------------------------------------------- fingerprint


def test_fingerprint_is_sha1_of_the_normal_form() -> None:
    assert fingerprint("Hello,   World!") == hashlib.sha1(b"hello world").hexdigest()


def test_fingerprint_equal_for_typographic_variants_only() -> None:
    assert fingerprint("“We will win.”") == fingerprint('"we WILL win"')
    assert fingerprint("We will win") != fingerprint("We will not win")


# --------------------------------------------------------------------------- similarity


def test_identical_texts_score_one() -> None:
    assert similarity(QUOTE, QUOTE) == 1.0


def test_a_cut_is_wholly_contained() -> None:
    cut = "only seven didn’t hit, but gradually we will"
    assert similarity(QUOTE, cut) == 1.0
    assert similarity(cut, QUOTE) == 1.0
    assert is_same_statement(QUOTE, cut)


def test_unrelated_texts_score_zero() -> None:
    assert similarity(QUOTE, "Ukraine will only talk to Russia when it has a different president") == 0.0


def test_short_texts_compare_by_equality() -> None:
    assert similarity("No.", "no") == 1.0
    assert similarity("No comment", "no") == 0.0
    assert similarity("no comment", QUOTE) == 0.0
    assert is_same_statement("“No comment”", "no comment")
    assert not is_same_statement("no", "no comment at all")


def test_punctuation_and_quote_marks_only_change_merges() -> None:
    other = "“There is no need for large scale raids right now; we have other missions...”"
    assert is_same_statement(
        "There is no need for large-scale raids right now. We have other missions.", other
    )


def test_one_changed_word_in_a_twelve_word_quote_still_merges() -> None:
    a = "We will do everything to protect our people and our land from this threat"
    b = "We will do everything to protect our citizens and our land from this threat"
    assert similarity(a, b) >= SAME_STATEMENT_THRESHOLD
    assert is_same_statement(a, b)


def test_an_ellipsis_cut_of_a_long_quote_merges() -> None:
    cut = "There is no need for large-scale raids right now ... only seven didn't hit, but gradually we will."
    assert is_same_statement(QUOTE, cut)


def test_reworded_reported_speech_of_different_statements_stays_apart() -> None:
    a = "Russia has no intention of destroying Ukraine"
    b = "Russia has no intention of attacking NATO countries"
    assert not is_same_statement(a, b)


def test_two_statements_sharing_a_stock_opening_stay_apart() -> None:
    a = "the special military operation will continue until all its goals are achieved"
    b = "the special military operation will be over by the end of the year and troops will come home"
    assert not is_same_statement(a, b)


def test_sharing_one_phrase_does_not_merge_short_texts() -> None:
    # Two shingles shared ("we are ready", "are ready to"): under MIN_SHARED_SHINGLES.
    a = "we are ready to talk"
    b = "we are ready to fight"
    assert similarity(a, b) >= SAME_STATEMENT_THRESHOLD
    assert not is_same_statement(a, b)


def test_a_short_text_wholly_inside_a_long_one_merges() -> None:
    assert is_same_statement(
        "a very dangerous step", "it would be a very dangerous step that could lead to catastrophe"
    )


def test_prepared_helpers_agree_with_text_helpers() -> None:
    a, b = QUOTE, "There is no need for large-scale raids right now"
    pa, pb = prepare(a), prepare_normalised(normalise(b))
    assert similarity_prepared(pa, pb) == similarity(a, b)
    assert same_statement_prepared(pa, pb) == is_same_statement(a, b)
    assert pa.words == len(normalise(a).split())


@given(st.text(), st.text())
def test_similarity_is_a_symmetric_score_between_zero_and_one(a: str, b: str) -> None:
    score = similarity(a, b)
    assert 0.0 <= score <= 1.0
    assert score == similarity(b, a)
    assert is_same_statement(a, b) == is_same_statement(b, a)


@given(st.text())
def test_every_text_is_the_same_statement_as_itself(text: str) -> None:
    assert is_same_statement(text, text)


# --------------------------------------------------------------------------- urls


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://www.Example.com/news/1/", "http://example.com/news/1"),
        ("https://example.com/a?utm_source=rss&id=3#top", "https://example.com/a?id=3"),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
        ("https://example.com:443/a", "https://example.com/a"),
    ],
)
def test_one_page_reached_by_different_links_has_one_url(a: str, b: str) -> None:
    assert normalise_url(a) == normalise_url(b)


def test_different_pages_keep_different_urls() -> None:
    assert normalise_url("https://example.com/a?id=3") != normalise_url("https://example.com/a?id=4")
    assert normalise_url("https://example.com/A") != normalise_url("https://example.com/a")
    assert normalise_url("") == ""
    assert normalise_url(" /tmp/article.txt ") == "/tmp/article.txt"
