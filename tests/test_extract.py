"""Statement extraction: the golden pairs, and each attribution form and trap of SPEC section 5."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from digests.config import load_config
from digests.extract import Extractor
from digests.leaders import Registry
from digests.quality import evaluate, load_pairs, score_pair

ROOT = Path(__file__).resolve().parent.parent
ARTICLES = ROOT / "tests" / "fixtures" / "articles"
PAIRS = load_pairs(ARTICLES)


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor(Registry(load_config(ROOT / "config").leaders))


def found(extractor: Extractor, text: str, day: date = date(2023, 6, 1)) -> list[tuple[str, str, str]]:
    return [(s.leader, s.kind, s.text) for s in extractor.extract(text, day)]


def test_there_are_enough_golden_pairs() -> None:
    assert len(PAIRS) >= 21


def test_seed_article_exactly(extractor: Extractor) -> None:
    [pair] = [p for p in PAIRS if p.name == "seed-putin-astana.txt"]
    score = score_pair(pair, extractor.extract(pair.text, pair.published))
    assert score.misses == [] and score.must_not_violations == 0


@pytest.mark.parametrize("pair", PAIRS, ids=[p.name for p in PAIRS])
def test_golden_pair_has_no_wrong_attribution(extractor: Extractor, pair) -> None:  # type: ignore[no-untyped-def]
    score = score_pair(pair, extractor.extract(pair.text, pair.published))
    assert score.must_not_violations == 0, score.false_hits
    assert score.wrong_speaker == 0, score.false_hits


def test_golden_pairs_meet_the_quality_targets(extractor: Extractor) -> None:
    total, _ = evaluate(PAIRS, lambda text, day: extractor.extract(text, day))
    assert total.precision >= 0.95, total.false_hits
    assert total.recall >= 0.9, total.misses
    assert total.speaker_accuracy >= 0.95


@pytest.mark.parametrize(
    ("text", "leader", "kind", "words"),
    [
        ("“We will not retreat,” Zelensky said on Tuesday.", "zelensky", "direct", "We will not retreat"),
        ('"Russia will respond," said Putin.', "putin", "direct", "Russia will respond"),
        ("«We will not give in», Macron said. «Never.»", "macron", "direct", "We will not give in"),
        (
            "„Wir stehen fest an der Seite der Ukraine“, sagte Scholz. Scholz said: „Das ist klar.“",
            "scholz",
            "direct",
            "Das ist klar",
        ),
        (
            "Putin said: “There is no need for large-scale strikes now.”",
            "putin",
            "direct",
            "no need for large-scale strikes",
        ),
        (
            "Putin warned that it would be a “very dangerous step” for NATO.",
            "putin",
            "indirect",
            "very dangerous step",
        ),
        (
            "Putin said that the mobilisation would end within two weeks.",
            "putin",
            "indirect",
            "the mobilisation would end within two weeks",
        ),
        (
            "The war will end soon, Putin told reporters in Astana.",
            "putin",
            "indirect",
            "The war will end soon",
        ),
        (
            "According to Macron, Europe must build its own defence.",
            "macron",
            "indirect",
            "Europe must build its own defence",
        ),
        (
            "Erdogan insisted that Sweden had not done enough to curb militants.",
            "erdogan",
            "indirect",
            "Sweden had not done enough",
        ),
        (
            "Zelensky signed the decree, saying Ukraine would never negotiate with Putin.",
            "zelensky",
            "indirect",
            "Ukraine would never negotiate with Putin",
        ),
        (
            "“We will defend every inch,” the Ukrainian president said.",
            "zelensky",
            "direct",
            "We will defend every inch",
        ),
    ],
)
def test_attribution_forms(extractor: Extractor, text: str, leader: str, kind: str, words: str) -> None:
    hits = found(extractor, text)
    assert any(who == leader and k == kind and words in t for who, k, t in hits), hits


def test_pronoun_goes_to_the_leader_who_spoke_last(extractor: Extractor) -> None:
    text = (
        "Macron said Europe must not be a follower.\n\n"
        "Meloni, for her part, said Italy would stand with its allies. “We will not hesitate,” she added.\n\n"
        "“Europe must wake up,” he said."
    )
    hits = found(extractor, text)
    assert ("meloni", "direct", "We will not hesitate") in hits
    assert ("macron", "direct", "Europe must wake up") not in hits  # "he" after Meloni: no male speaker


def test_pronoun_after_a_non_leader_speaker_is_not_the_leader(extractor: Extractor) -> None:
    text = (
        "Putin said the talks had stalled.\n\n"
        "Kremlin spokesman Dmitry Peskov told reporters the door remained open. “We see no basis for talks now,”"
        " he said."
    )
    hits = found(extractor, text, date(2022, 10, 14))
    assert all("no basis" not in t for _, _, t in hits)


def test_possessives_and_organisations_are_not_the_leader(extractor: Extractor) -> None:
    text = (
        "Putin's spokesman said the Kremlin would not comment on the report at all.\n\n"
        "The Biden administration said it would send more air defence systems soon.\n\n"
        "The Kremlin said the talks with Washington had been useful and constructive.\n\n"
        "A Zelensky adviser said Kyiv was ready to resume talks at any moment."
    )
    assert found(extractor, text, date(2022, 10, 14)) == []


def test_title_resolves_by_the_articles_date(extractor: Extractor) -> None:
    text = "The German chancellor said that Germany would increase its defence spending."
    assert found(extractor, text, date(2023, 3, 1))[0][0] == "scholz"
    assert found(extractor, text, date(2025, 9, 1))[0][0] == "merz"
    text = "“We will end this war,” the US president said."
    assert found(extractor, text, date(2022, 3, 1))[0][0] == "biden"
    assert found(extractor, text, date(2025, 3, 1))[0][0] == "trump"
    assert found(extractor, "“We are proud of him,” the former US president said.", date(2025, 3, 1)) == []


def test_quote_over_several_paragraphs(extractor: Extractor) -> None:
    text = (
        "Zelensky said: “We will rebuild every city the Russians destroyed.\n\n"
        "“We will bring every child home. We will not forget anyone.\n\n"
        "“And we will win,” he said to lawmakers.\n\n"
        "Lawmakers applauded for a full minute."
    )
    [(leader, kind, words)] = found(extractor, text)
    assert leader == "zelensky" and kind == "direct"
    assert "rebuild every city" in words and "bring every child home" in words and "we will win" in words


def test_standalone_quote_after_a_sentence_about_the_leaders_words(extractor: Extractor) -> None:
    text = (
        "Erdogan also criticised the European Union for its treatment of Turkey over many years.\n\n"
        "“Europe has left us waiting at the door for decades.”"
    )
    hits = found(extractor, text)
    assert ("erdogan", "direct", "Europe has left us waiting at the door for decades") in hits


def test_unbalanced_quote_does_not_swallow_the_article(extractor: Extractor) -> None:
    text = (
        "Putin said he did not feel the need “to hold talks with Biden at this time. Furthermore, "
        "he said he has not yet decided whether to attend the summit.\n\n"
        "“I hope that they are sober enough,” the Russian leader said."
    )
    hits = found(extractor, text, date(2022, 10, 14))
    assert any("has not yet decided" in t for _, _, t in hits)
    assert ("putin", "direct", "I hope that they are sober enough") in hits


def test_headlines_captions_and_boilerplate_are_not_statements(extractor: Extractor) -> None:
    text = (
        "Putin says the West is to blame\n\n"
        "Russian President Vladimir Putin (left) and Chinese President Xi Jinping\n\n"
        "The talks ended without an agreement on Friday after three days in the capital.\n\n"
        "Read more: Putin says NATO is a threat\n\n"
        "© 2024 Example News. All rights reserved."
    )
    assert found(extractor, text, date(2024, 5, 1)) == []


def test_any_text_never_raises(extractor: Extractor) -> None:
    for text in [
        "",
        "“",
        '"""',
        "«»„“",
        "Putin said",
        "“Putin said,” said Putin said.",
        "\n\n\n",
        "x" * 5000,
    ]:
        extractor.extract(text, None)


# Forms found while measuring on real 2016 election coverage (PolNeAR, see docs/quality.md).


@pytest.mark.parametrize(
    ("text", "leader", "kind", "words"),
    [
        (
            "Shifting monsoon patterns could affect a billion people, Mr. Obama said in his interview.",
            "obama",
            "indirect",
            "Shifting monsoon patterns could affect a billion people",
        ),
        (
            "Donald Trump is warning voters that a Clinton victory would bring back old scandals.",
            "trump",
            "indirect",
            "a Clinton victory would bring back old scandals",
        ),
        (
            "Trump has called climate change a hoax perpetrated by China to hurt manufacturing.",
            "trump",
            "indirect",
            "climate change a hoax perpetrated by China",
        ),
        (
            "“How do you control these big banks, when you owe them money?” Trump asked a crowd of 500.",
            "trump",
            "direct",
            "How do you control these big banks",
        ),
        (
            "The museum, Mr. Obama said, would make visitors face uncomfortable truths.",
            "obama",
            "indirect",
            "The museum would make visitors face uncomfortable truths",
        ),
        (
            "Politifact checked Trump’s claim that there have been thousands of shootings in Chicago.",
            "trump",
            "indirect",
            "there have been thousands of shootings in Chicago",
        ),
        (
            "Gov. Mike Pence (R-Ind.) said the tweet was only meant to mock Hillary Clinton.",
            "pence",
            "indirect",
            "the tweet was only meant to mock Hillary Clinton",
        ),
        (
            "Clinton, during a town hall meeting in Columbus, Ohio, said she would put coal companies out of business.",
            "clinton",
            "indirect",
            "she would put coal companies out of business",
        ),
        (
            "Footage shows Hillary Clinton asking, “Why aren’t I 50 points ahead, you might ask?”",
            "clinton",
            "direct",
            "Why aren’t I 50 points ahead",
        ),
        (
            "“There’s great danger here,” Democratic candidate Hillary Clinton said in a statement.",
            "clinton",
            "direct",
            "There’s great danger here",
        ),
    ],
)
def test_attribution_forms_of_election_coverage(
    extractor: Extractor, text: str, leader: str, kind: str, words: str
) -> None:
    hits = found(extractor, text, date(2016, 9, 1))
    assert any(who == leader and k == kind and words in t for who, k, t in hits), hits


def test_a_participle_after_the_quote_is_a_second_statement(extractor: Extractor) -> None:
    text = (
        "“I have a judge who is a hater of Donald Trump,” Trump said at a rally in San Diego, adding that "
        "he believed the judge was biased against him."
    )
    hits = found(extractor, text, date(2016, 6, 1))
    assert ("trump", "direct", "I have a judge who is a hater of Donald Trump") in hits
    assert any(who == "trump" and "the judge was biased against him" in t for who, _, t in hits), hits


@pytest.mark.parametrize(
    "text",
    [
        "Former President Bill Clinton said the health law was a crazy system for working families.",
        "Eric Trump said that his foundation had received large donations from his father.",
        "Mr. Clinton said the gathering in New York would be the foundation's last one.",
        "Donald Trump Jr. told reporters that the campaign would win Pennsylvania easily.",
        "A spokeswoman for Hillary Clinton says neither the nominee nor her campaign helped the model.",
        "Ed Rendell, a Clinton supporter, praised Sanders for what he has accomplished in the race.",
        "Several candidates, including Trump, said the country should refuse to take more refugees.",
        "“He can assert it, but it seems unlikely” that Sanders can catch Clinton, said Steve Elmendorf, a strategist.",
        "Everything Trump says is a lie unless proven otherwise, the senator wrote.",
        "It mentions policies she supported that Trump argues allowed the group's reach to spread.",
        "Clinton had told police officials that she did not want the escort at all, the source added.",
        "According to the Trump campaign, the speech will be delivered at the institute on Monday.",
        "Sanders’ campaign launched an ad buy and announced it would seek a recanvass in Kentucky.",
        "Amy Pope, a deputy homeland security adviser, said the current efforts had been insufficient.",
        "A web video references four cases in which Kaine defended people accused of rape or murder.",
        "Sanders had also claimed a victory in the New Hampshire primary but trails in the delegate chase.",
    ],
)
def test_somebody_else_or_no_words_is_not_a_leader_statement(extractor: Extractor, text: str) -> None:
    assert found(extractor, text, date(2016, 6, 1)) == []


def test_pronoun_after_a_possessive_subject_is_the_possessor(extractor: Extractor) -> None:
    text = (
        "Trump’s inexperience has shown in many ways over the past months.\n\n"
        "He has suggested that the United States could simply default on its debt obligations."
    )
    hits = found(extractor, text, date(2016, 6, 1))
    assert any(who == "trump" and "could simply default" in t for who, _, t in hits), hits


def test_pronoun_after_a_named_person_who_is_not_a_leader_is_not_the_leader(extractor: Extractor) -> None:
    text = (
        "Trump said the party must unite behind him before the convention.\n\n"
        "“It's crazy that nobody else is trying to win,” said Mr. Stevens, a strategist who worked for Romney.\n\n"
        "“Rubio is not going after the person who is winning,” he said."
    )
    hits = found(extractor, text, date(2016, 2, 22))
    assert all("Rubio is not going after" not in t for _, _, t in hits), hits


def test_a_clause_about_somebody_unnamed_never_raises(extractor: Extractor) -> None:
    assert found(extractor, "An official met the delegation and said the talks had failed completely.") == []


def test_according_to_in_mid_sentence_leaves_the_words_around_it(extractor: Extractor) -> None:
    hits = found(
        extractor, "The war, according to Putin, will end soon enough for everyone.", date(2023, 6, 1)
    )
    assert hits == [("putin", "indirect", "The war will end soon enough for everyone")]
