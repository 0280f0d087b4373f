"""Synthetic, deterministic benchmark data: wire-style articles, their web pages, feeds, statements.

The articles imitate the golden fixtures in ``tests/fixtures/articles`` without copying them: a
headline, a photo caption, a dateline, then paragraphs built from templates and a small phrase
grammar — direct quotes in four quote styles (“…”, "…", «…», „…“), quotes split by their
attribution, quotes that run over two paragraphs, a quote standing alone after a sentence about a
leader's words, reported speech (``said that``, ``according to``, ``…, saying …``, partial quotes),
attribution by name, by title held on the article's date and by pronoun — mixed with traps the
extractor must not attribute to a leader (spokesmen, ministers, analysts, institutions) and with
page boilerplate (``Read more``, ``Advertisement``, credits, trust principles). Leaders, their
short names, pronouns and titles come from the registry, so every leader in ``leaders.toml`` can
appear.

Everything is a pure function of a seed (``random.Random``): the same seed gives the same text,
page, feed and statements on every machine. Nothing here measures anything or touches the
network; ``bench.perf`` does that.
"""

from __future__ import annotations

import html
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime

from digests.leaders import Registry
from digests.models import Leader, Statement, StatementSource

# Leaders the generated news is mostly about (the rest of the registry appears now and then).
PROMINENT = (
    "putin",
    "zelensky",
    "trump",
    "xi",
    "macron",
    "merz",
    "starmer",
    "modi",
    "erdogan",
    "netanyahu",
    "lula",
    "guterres",
    "rutte",
    "von-der-leyen",
    "meloni",
    "tusk",
    "orban",
    "sheinbaum",
    "carney",
    "albanese",
    "ramaphosa",
    "pezeshkian",
    "milei",
    "sanchez",
)

CITIES = (
    ("KYIV", "Ukraine"),
    ("MOSCOW", "Russia"),
    ("WASHINGTON", "the United States"),
    ("BEIJING", "China"),
    ("PARIS", "France"),
    ("BERLIN", "Germany"),
    ("LONDON", "Britain"),
    ("NEW DELHI", "India"),
    ("ANKARA", "Turkey"),
    ("JERUSALEM", "Israel"),
    ("BRASILIA", "Brazil"),
    ("BRUSSELS", "Belgium"),
    ("WARSAW", "Poland"),
    ("ROME", "Italy"),
    ("MEXICO CITY", "Mexico"),
    ("OTTAWA", "Canada"),
    ("CANBERRA", "Australia"),
    ("PRETORIA", "South Africa"),
    ("GENEVA", "Switzerland"),
    ("ISTANBUL", "Turkey"),
    ("TOKYO", "Japan"),
    ("SEOUL", "South Korea"),
    ("CAIRO", "Egypt"),
    ("NAIROBI", "Kenya"),
)

# Invented people for the traps (checked against the registry so none is a leader).
FIRST_NAMES = (
    "Marta",
    "Tomas",
    "Lina",
    "Pieter",
    "Ana",
    "Kenji",
    "Olga",
    "Samir",
    "Helena",
    "Jonas",
    "Ingrid",
    "Rafael",
    "Yusuf",
    "Clara",
    "Dmitri",
    "Amara",
    "Felix",
    "Nadia",
    "Oscar",
    "Priya",
)
SURNAMES = (
    "Berg",
    "Kowal",
    "Haddad",
    "Vos",
    "Ribeiro",
    "Mori",
    "Novak",
    "Lindqvist",
    "Okafor",
    "Duarte",
    "Varga",
    "Moreau",
    "Keller",
    "Brennan",
    "Adeyemi",
    "Castell",
    "Horvat",
    "Sorensen",
    "Marchetti",
    "Quinlan",
)
ROLES = (
    "a senior fellow at a Washington think tank",
    "an analyst at a Brussels research institute",
    "a professor of international relations",
    "a former diplomat",
    "a political scientist at a Kyiv university",
    "an economist at a London bank",
    "a defence analyst",
    "a researcher at a Berlin foundation",
)
INSTITUTIONS = (
    "The Kremlin",
    "The White House",
    "The Elysee Palace",
    "The foreign ministry",
    "The defence ministry",
    "The European Commission",
    "The State Department",
    "The presidential office",
    "The government",
)
OFFICIALS = (
    "spokesman",
    "spokeswoman",
    "chief of staff",
    "foreign minister",
    "national security adviser",
    "press secretary",
    "deputy",
)

TOPICS: tuple[tuple[str, ...], ...] = (
    ("the ceasefire", "the truce", "the peace plan", "a lasting settlement", "the talks in Istanbul"),
    ("the new tariffs", "the trade deal", "our exports", "the customs union", "fair competition"),
    ("energy prices", "the gas pipeline", "our power grid", "the nuclear plant", "the energy transition"),
    ("the sanctions", "the frozen assets", "the reparations loan", "the oil price cap", "the next package"),
    ("the alliance", "our air defences", "the eastern flank", "the defence budget", "Article 5"),
    ("climate finance", "the Amazon", "the emissions target", "the adaptation fund", "the forest pact"),
    ("migration", "the border", "the asylum system", "the returns agreement", "the smuggling gangs"),
    ("the budget", "the debt brake", "public investment", "the pension reform", "the deficit"),
    ("grain exports", "the Black Sea corridor", "food security", "the harvest", "shipping lanes"),
    (
        "the hostages",
        "humanitarian aid",
        "the crossing points",
        "the reconstruction",
        "the two-state solution",
    ),
)
VERBS_ACT = (
    "defend",
    "protect",
    "rebuild",
    "strengthen",
    "reform",
    "secure",
    "finish",
    "restore",
    "support",
    "expand",
)
VERBS_REJECT = ("accept", "tolerate", "recognise", "sign", "allow", "support")
JUDGEMENTS = (
    "a question of survival",
    "not negotiable",
    "the only way forward",
    "a historic mistake",
    "long overdue",
    "in everyone's interest",
    "a test for all of Europe",
    "within reach",
    "far from settled",
)
ADJ_MOMENT = ("decisive", "difficult", "historic", "dangerous", "hopeful", "critical")
TIMEFRAMES = (
    "this year",
    "in the coming weeks",
    "before the winter",
    "without delay",
    "step by step",
    "as long as it takes",
    "by the end of the month",
)
CONDITIONS = (
    "respects international law",
    "comes to the table in good faith",
    "stops the attacks",
    "honours its commitments",
    "is ready to compromise",
)
PARTIAL = (
    "very dangerous step",
    "historic opportunity",
    "red line",
    "shameful betrayal",
    "turning point",
    "matter of principle",
    "new chapter",
)
SAY_PAST = ("said", "told reporters", "said on {day}", "told a news conference", "said in a statement")
VERBS_REPORT = ("said", "warned", "stressed", "noted", "insisted", "claimed", "argued", "announced")
BACKGROUND = (
    "The meeting, the first of its kind in more than a year, was held behind closed doors.",
    "Talks between the two sides collapsed in the spring after weeks of mutual accusations.",
    "Markets were little changed after the remarks, with the euro steady against the dollar.",
    "The summit brought together delegations from more than 40 countries.",
    "Opinion polls show public support for the plan slipping over the past three months.",
    "The proposal still has to be approved by parliament, where the coalition holds a narrow majority.",
    "Officials from both countries are expected to meet again next week to work on the details.",
    "Protesters gathered outside the venue, some carrying flags and hand-written signs.",
    "The two leaders last met in person at a summit in the autumn.",
    "Analysts said the announcement was aimed as much at voters at home as at partners abroad.",
)
BOILER_MIDDLE = (
    "Advertisement",
    "Read more: {headline}",
    "Sign up here for our daily briefing.",
    "Related: {headline}",
)
BOILER_END = (
    "(Reporting by {a} and {b}; Editing by {c})",
    "Our Standards: The Trust Principles.",
    "© {year} All rights reserved",
    "Copyright {year} The Associated Press. All rights reserved.",
    "Follow our live coverage here.",
)
QUOTE_STYLES = (("“", "”"), ('"', '"'), ("«", "»"), ("„", "“"))
OUTLETS = (
    "Reuters",
    "AP",
    "AFP",
    "BBC News",
    "Al Jazeera",
    "Deutsche Welle",
    "France 24",
    "The Guardian",
    "Kyiv Independent",
    "TASS",
    "Xinhua",
    "NHK World",
    "Euronews",
    "Politico Europe",
    "CNN",
    "NPR",
    "Financial Times",
    "Le Monde",
    "El País",
    "ANSA",
    "Anadolu",
    "Times of India",
    "Folha",
    "ABC News",
    "CBC",
    "SABC",
    "Yonhap",
    "Kyodo",
    "Ukrinform",
    "Meduza",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")  # fmt: skip


@dataclass(frozen=True)
class Person:
    """A leader as the generator writes about them on one day."""

    key: str
    name: str
    short: str
    pronoun: str
    titles: tuple[str, ...]

    @property
    def subject(self) -> str:
        return {"he": "he", "she": "she"}.get(self.pronoun, "they")

    @property
    def possessive(self) -> str:
        return {"he": "his", "she": "her"}.get(self.pronoun, "their")


@dataclass(frozen=True)
class GeneratedArticle:
    """One synthetic article: ``text`` is the plain text (paragraphs separated by blank lines)."""

    title: str
    text: str
    paragraphs: tuple[str, ...]
    published: date
    leaders: tuple[str, ...]
    outlet: str

    @property
    def words(self) -> int:
        return len(self.text.split())


def short_name(leader: Leader) -> str:
    """How the news names a leader on second reference: a one-word alias found in the full name
    ("Putin", "Xi", "Lula"; a surname when there are several), else the shortest alias found in it
    ("von der Leyen"), else the full name."""
    inside = [a for a in leader.aliases if a in leader.name and a != leader.name]
    single = [a for a in inside if len(a.split()) == 1]
    if single:
        return min(single, key=lambda a: (not leader.name.endswith(a), len(a)))
    if inside:
        return min(inside, key=len)
    return leader.name


def people(registry: Registry, day: date) -> list[Person]:
    """Every leader with at least one title held on ``day`` (or in PROMINENT), as a Person."""
    found: list[Person] = []
    for leader in registry:
        titles = tuple(t.title for t in leader.titles if t.held_on(day) and not t.title.islower())
        if not titles and leader.key not in PROMINENT:
            continue
        found.append(Person(leader.key, leader.name, short_name(leader), leader.pronoun, titles))
    return found


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


class Writer:
    """Writes one article; ``rng`` decides everything."""

    def __init__(self, rng: random.Random, registry: Registry, day: date, cast: Sequence[Person]) -> None:
        self.rng = rng
        self.registry = registry
        self.day = day
        self.cast = list(cast)
        self.topic = rng.choice(TOPICS)
        self.open, self.close = rng.choice(QUOTE_STYLES)
        self.city, self.country = rng.choice(CITIES)
        self.weekday = WEEKDAYS[day.weekday()]
        self.last: Person | None = None  # who spoke last: pronouns refer to them
        self.outsiders = self._outsiders()

    def _outsiders(self) -> list[str]:
        names: list[str] = []
        for first in self.rng.sample(FIRST_NAMES, 8):
            name = f"{first} {self.rng.choice(SURNAMES)}"
            if not self.registry.mentions(name, self.day):
                names.append(name)
        return names or ["Marta Berg"]

    # -- phrases -------------------------------------------------------------------------------

    def thing(self) -> str:
        return self.rng.choice(self.topic)

    def quote(self, speaker: Person) -> str:
        """First-person words a leader might say (no final punctuation)."""
        r = self.rng
        pattern = r.randrange(12)
        if pattern == 0:
            return f"We will not {r.choice(VERBS_REJECT)} {self.thing()}"
        if pattern == 1:
            return f"{_cap(self.thing())} is {r.choice(JUDGEMENTS)}, and we will {r.choice(VERBS_ACT)} it {r.choice(TIMEFRAMES)}"
        if pattern == 2:
            return f"Nobody should doubt our determination to {r.choice(VERBS_ACT)} {self.thing()}"
        if pattern == 3:
            return f"I have told my counterparts that {self.thing()} must change {r.choice(TIMEFRAMES)}"
        if pattern == 4:
            return f"Our position has not changed: {self.thing()} is {r.choice(JUDGEMENTS)}"
        if pattern == 5:
            return f"This is a {r.choice(ADJ_MOMENT)} moment for {self.country}, and we have to act together"
        if pattern == 6:
            return f"There can be no peace without justice, and no justice without {self.thing()}"
        if pattern == 7:
            return f"We are ready to talk with anyone who {r.choice(CONDITIONS)}"
        if pattern == 8:
            return f"If they want {self.thing()}, they know where to find us. We will {r.choice(VERBS_ACT)} our people {r.choice(TIMEFRAMES)}"
        if pattern == 9:
            return f"{_cap(self.thing())} is not a threat to anyone, but we will {r.choice(VERBS_ACT)} our interests"
        if pattern == 10:
            return f"Every day of delay costs lives. We need {self.thing()} now, not {r.choice(TIMEFRAMES)}"
        return f"I am convinced that {self.thing()} will succeed if everyone keeps their word"

    def reported(self, speaker: Person) -> str:
        """Third-person content of reported speech (no final punctuation)."""
        r = self.rng
        poss = speaker.possessive
        pattern = r.randrange(9)
        if pattern == 0:
            return f"{self.thing()} would be agreed {r.choice(TIMEFRAMES)}"
        if pattern == 1:
            return f"{poss} government was ready to discuss {self.thing()} with anyone who {r.choice(CONDITIONS)}"
        if pattern == 2:
            return f"the talks on {self.thing()} had been {r.choice(('constructive', 'difficult', 'frank', 'useful'))}"
        if pattern == 3:
            return f"{self.country} needed {self.thing()} faster than its partners had promised"
        if pattern == 4:
            return f"the sanctions would stay in place until Moscow {r.choice(CONDITIONS)}"
        if pattern == 5:
            return f"{poss} country would {r.choice(VERBS_ACT)} {self.thing()} {r.choice(TIMEFRAMES)}"
        if pattern == 6:
            return f"{self.thing()} was {r.choice(JUDGEMENTS)} and that there was no alternative to it"
        if pattern == 7:
            return f"the decision on {self.thing()} had been taken after long consultations with allies"
        return f"nobody had the right to decide on {self.thing()} for {self.country}"

    def q(self, words: str, end: str = ".") -> str:
        return f"{self.open}{words}{end}{self.close}"

    def attribution(self, speaker: Person, *, by_title: bool = False) -> str:
        if by_title and speaker.titles:
            title = self.rng.choice(speaker.titles)
            # "the French President", but "Germany's chancellor" takes no article.
            return title if "'s " in title or title.lower().startswith("the ") else "the " + title
        return speaker.short

    def say(self) -> str:
        return self.rng.choice(SAY_PAST).format(day=self.weekday)

    # -- paragraphs ----------------------------------------------------------------------------

    def lead(self, speaker: Person) -> str:
        title = (self.rng.choice(speaker.titles) + " ") if speaker.titles else ""
        outlet = self.rng.choice(("(Reuters) - ", "(AP) — ", "– ", "(AFP) - "))
        month = MONTHS[self.day.month - 1]
        self.last = speaker
        return (
            f"{self.city}, {month} {self.day.day} {outlet}{title}{speaker.name} said on {self.weekday} "
            f"that {self.reported(speaker)}, in remarks that {self.rng.choice(('surprised', 'reassured', 'angered', 'puzzled'))} "
            f"{self.rng.choice(('allies', 'investors', 'the opposition', 'neighbouring countries'))}."
        )

    def statement_paragraph(self, speaker: Person) -> str:
        r = self.rng
        same = self.last is not None and self.last.key == speaker.key
        kind = r.randrange(13 if same else 9)
        self.last = speaker
        name = self.attribution(speaker, by_title=r.random() < 0.25)
        q = self.quote(speaker)
        if kind == 0:
            return f"{self.q(q, ',')} {name} {self.say()}."
        if kind == 1:
            return f"{_cap(name)} told reporters: {self.q(q)}"
        if kind == 2:
            return f"{self.q(q, ',')} {name} said. {self.q(self.quote(speaker))}"
        if kind == 3:
            return f"{_cap(name)} {r.choice(VERBS_REPORT)} that {self.reported(speaker)}."
        if kind == 4:
            return f"According to {name}, {self.reported(speaker)}."
        if kind == 5:
            return (
                f"{_cap(name)} {r.choice(('met', 'spoke with', 'called'))} {speaker.possessive} "
                f"counterparts on {self.weekday}, saying {self.reported(speaker)}."
            )
        if kind == 6:
            return (
                f"{_cap(name)} warned that abandoning {self.thing()} would be a "
                f"{self.open}{r.choice(PARTIAL)}{self.close} for the whole region."
            )
        if kind == 7:
            return f"{self.q(q)}\n\n{self.q(self.quote(speaker), ',')} {name} said {r.choice(('later', 'in a video address', 'at the summit'))}."
        if kind == 8:
            return f"{self.q(q, ',')} said {name}, speaking in {self.city.title()}."
        # Only right after this speaker: pronouns, a standalone quote.
        pronoun = speaker.subject
        if kind == 9:
            return f"{self.q(q, ',')} {pronoun} said."
        if kind == 10:
            return f"{_cap(pronoun)} added that {self.reported(speaker)}."
        if kind == 11:
            return (
                f"{speaker.short} also thanked partners for their support but said more was needed."
                f"\n\n{self.q(self.quote(speaker))}"
            )
        return f"{_cap(pronoun)} {r.choice(VERBS_REPORT)} that {self.reported(speaker)}."

    def trap_paragraph(self, about: Person) -> str:
        r = self.rng
        outsider = r.choice(self.outsiders)
        kind = r.randrange(6)
        self.last = None
        if kind == 0:
            return f"{about.short}'s {r.choice(OFFICIALS)}, {outsider}, said {self.reported(about)}."
        if kind == 1:
            return f"{self.q(self.quote(about), ',')} said {outsider}, {r.choice(ROLES)}."
        if kind == 2:
            return f"{r.choice(INSTITUTIONS)} said in a statement that {self.reported(about)}."
        if kind == 3:
            return f"{self.country.removeprefix('the ').title()}'s foreign minister, {outsider}, told reporters that {self.reported(about)}."
        if kind == 4:
            return (
                f"Officials familiar with the talks, who asked not to be named, said {self.reported(about)}."
            )
        return (
            f"{self.q(self.quote(about), ',')} {outsider}, {r.choice(ROLES)}, told {r.choice(OUTLETS)}. "
            f"{self.q(self.quote(about))}"
        )

    def headline(self, speaker: Person) -> str:
        r = self.rng
        return r.choice(
            (
                f"{speaker.short} vows to {r.choice(VERBS_ACT)} {self.thing()} as pressure mounts",
                f"{speaker.short} says {self.thing()} is {r.choice(JUDGEMENTS)}",
                f"{speaker.short} and allies clash over {self.thing()}",
                f"What {speaker.short} said about {self.thing()} — and why it matters",
                f"{_cap(self.thing())}: {speaker.short} warns of a {r.choice(PARTIAL)}",
            )
        )

    def caption(self, speaker: Person) -> str:
        month = MONTHS[self.day.month - 1]
        credit = self.rng.choice(
            (
                f"REUTERS/{self.rng.choice(self.outsiders)}",
                "Photo: AFP",
                "(AP Photo)",
                f"Photograph: {self.rng.choice(self.outsiders)}/Getty Images",
            )
        )
        return (
            f"{speaker.name} speaks during a news conference in {self.city.title()}, {self.country}, "
            f"{month} {self.day.day}, {self.day.year}. {credit}"
        )

    def boiler(self, templates: Sequence[str]) -> str:
        outsiders = self.outsiders
        return self.rng.choice(templates).format(
            headline=self.headline(self.rng.choice(self.cast)),
            a=self.rng.choice(outsiders),
            b=self.rng.choice(outsiders),
            c=self.rng.choice(outsiders),
            year=self.day.year,
        )


def article(
    rng: random.Random, registry: Registry, *, words: int = 1000, day: date | None = None
) -> GeneratedArticle:
    """One wire-style article of about ``words`` words (±10 %), headline and boilerplate included."""
    if day is None:
        day = date(2023, 1, 1) + timedelta(days=rng.randrange(1000))
    everyone = people(registry, day)
    prominent = [p for p in everyone if p.key in PROMINENT]
    main = rng.choice(prominent or everyone)
    others = rng.sample(
        [p for p in everyone if p.key != main.key], k=min(len(everyone) - 1, rng.randint(1, 3))
    )
    cast = [main, *others]
    writer = Writer(rng, registry, day, cast)
    paragraphs: list[str] = [writer.headline(main)]
    if rng.random() < 0.8:
        paragraphs.append(writer.caption(main))
    paragraphs.append(writer.lead(main))
    count = sum(len(p.split()) for p in paragraphs)
    budget = words - 25  # room for the closing boilerplate
    while count < budget:
        roll = rng.random()
        if roll < 0.6:
            speaker = main if rng.random() < 0.55 else rng.choice(cast)
            # A pronoun needs its antecedent: name the speaker first when someone else spoke last.
            paragraph = writer.statement_paragraph(speaker)
        elif roll < 0.8:
            paragraph = writer.trap_paragraph(rng.choice(cast))
        elif roll < 0.94:
            paragraph = rng.choice(BACKGROUND)
            writer.last = None
        else:
            paragraph = writer.boiler(BOILER_MIDDLE)
        paragraphs.append(paragraph)
        count += len(paragraph.split())
    paragraphs.extend(writer.boiler(BOILER_END) for _ in range(rng.randint(1, 2)))
    text = "\n\n".join(paragraphs)
    outlet = rng.choice(OUTLETS)
    return GeneratedArticle(
        title=paragraphs[0],
        text=text,
        paragraphs=tuple(p for block in paragraphs for p in block.split("\n\n")),
        published=day,
        leaders=tuple(p.key for p in cast),
        outlet=outlet,
    )


def articles(seed: int, count: int, registry: Registry, *, words: int = 1000) -> list[GeneratedArticle]:
    """``count`` articles of about ``words`` words each, the same for the same seed."""
    rng = random.Random(seed)
    return [article(rng, registry, words=words) for _ in range(count)]


# ------------------------------------------------------------------------------------------------
# Web pages


_NAV = ("World", "Business", "Markets", "Politics", "Technology", "Climate", "Sport", "Opinion", "Video")


def page_html(item: GeneratedArticle, rng: random.Random, *, url: str) -> str:
    """The article as a news site would serve it: head with scripts and JSON-LD, navigation,
    breadcrumbs, the article (headline, byline, figure with caption, paragraphs, an inline
    "read more"), related stories, a newsletter box and a long footer."""
    e = html.escape
    body = list(item.paragraphs[1:])
    caption = (
        body.pop(0) if body and ("Photo" in body[0] or "REUTERS/" in body[0] or "Getty" in body[0]) else ""
    )
    nav = "".join(f'<li><a href="/{n.lower()}/">{n}</a></li>' for n in _NAV)
    related = "".join(
        f'<li><a href="/world/story-{rng.randrange(10**6)}/">{e(item.title[: 40 + rng.randrange(30)])} …</a></li>'
        for _ in range(rng.randint(4, 8))
    )
    footer = "".join(
        f'<a href="/info/{k}/">{k.replace("-", " ").title()}</a> '
        for k in (
            "about-us",
            "careers",
            "advertise",
            "privacy",
            "cookies",
            "terms",
            "contact",
            "accessibility",
        )
    )
    paras: list[str] = []
    for i, text in enumerate(body):
        if i and i % 6 == 0:
            paras.append(
                '<aside class="inline-promo"><a href="/newsletters/">Sign up for our morning briefing</a></aside>'
            )
        paras.append(f'<p class="{rng.choice(("body-text", "paragraph", "art-p"))}">{e(text)}</p>')
    scripts = "".join(
        f'<script src="/static/js/{name}.{rng.randrange(16**8):08x}.js" async></script>'
        for name in ("vendor", "analytics", "ads", "consent")
    )
    byline = f"By {rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"
    iso = item.published.isoformat()
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{e(item.title)} | {e(item.outlet)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta property="og:title" content="{e(item.title)}"><meta property="og:url" content="{e(url)}">
<link rel="canonical" href="{e(url)}">
<script type="application/ld+json">{{"@context":"https://schema.org","@type":"NewsArticle","headline":"{e(item.title)}","datePublished":"{iso}"}}</script>
<style>body{{font-family:sans-serif}} .nav li{{display:inline}} .promo{{background:#eee}}</style>
{scripts}
</head><body>
<div id="consent-banner">We use cookies to improve your experience. <button>Accept all</button></div>
<header class="site-header"><a class="logo" href="/">{e(item.outlet)}</a>
<nav class="nav"><ul>{nav}</ul></nav>
<form class="search" action="/search"><input name="q" placeholder="Search"></form></header>
<main id="main-content">
<div class="breadcrumbs"><a href="/">Home</a> › <a href="/world/">World</a> › <span>{e(item.title[:30])}</span></div>
<article class="story">
<h1 class="headline">{e(item.title)}</h1>
<div class="byline"><span class="author">{e(byline)}</span> <time datetime="{iso}">{iso}</time></div>
{'<figure><img src="/img/lead.jpg" alt=""><figcaption>' + e(caption) + "</figcaption></figure>" if caption else ""}
<div class="article-body">
{chr(10).join(paras)}
</div>
<div class="share"><a href="#">Share on X</a> <a href="#">Facebook</a> <a href="#">Copy link</a></div>
</article>
<section class="related"><h2>More from World</h2><ul>{related}</ul></section>
<div class="promo newsletter"><h3>Get our newsletter</h3><p>The day's top stories, every morning.</p>
<form><input type="email" placeholder="Email address"><button>Subscribe</button></form></div>
</main>
<footer class="site-footer"><nav>{footer}</nav><p>© {item.published.year} {e(item.outlet)}. All rights reserved.</p></footer>
<script>window.dataLayer=window.dataLayer||[];dataLayer.push({{"event":"pageview"}});</script>
</body></html>
"""


# ------------------------------------------------------------------------------------------------
# Feeds


@dataclass(frozen=True)
class FeedEntry:
    guid: str
    title: str
    link: str
    published: datetime
    text: str


def feed_entries(
    rng: random.Random,
    registry: Registry,
    *,
    feed: int,
    entries: int,
    now: datetime,
    base_url: str,
    story_pool: Sequence[GeneratedArticle],
) -> list[FeedEntry]:
    """A feed's entries: stories from a shared pool (so outlets overlap, as in real news), each
    carried with its own link and guid, published in the 24 hours before ``now``."""
    chosen: list[FeedEntry] = []
    for i in range(entries):
        story = rng.choice(story_pool)
        published = now - timedelta(minutes=rng.randrange(5, 24 * 60))
        chosen.append(
            FeedEntry(
                guid=f"urn:bench:feed-{feed}:item-{i}",
                title=story.title,
                link=f"{base_url}/articles/{feed}/{i}.html",
                published=published,
                text=story.text.split("\n\n", 1)[-1],  # the feed carries the story without its headline
            )
        )
    return chosen


def rss(title: str, link: str, items: Sequence[FeedEntry]) -> bytes:
    """An RSS 2.0 document whose item descriptions carry the story as HTML paragraphs."""
    e = html.escape
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
        f"<title>{e(title)}</title><link>{e(link)}</link><description>{e(title)} — latest</description>",
    ]
    for item in items:
        body = "".join(f"<p>{e(p)}</p>" for p in item.text.split("\n\n"))
        parts.append(
            f"<item><title>{e(item.title)}</title><link>{e(item.link)}</link>"
            f'<guid isPermaLink="false">{e(item.guid)}</guid>'
            f"<pubDate>{format_datetime(item.published)}</pubDate>"
            f"<description>{e(body)}</description></item>"
        )
    parts.append("</channel></rss>")
    return "\n".join(parts).encode("utf-8")


# ------------------------------------------------------------------------------------------------
# Stored statements


def statements(
    seed: int, count: int, registry: Registry, *, end: datetime, days: int = 1000
) -> Iterator[Statement]:
    """``count`` statements spread over the ``days`` before ``end``, oldest first, leaders drawn
    with a long tail (a few leaders say most), each with one to three sources."""
    rng = random.Random(seed)
    leaders = list(registry)
    order = sorted(range(len(leaders)), key=lambda i: (leaders[i].key not in PROMINENT, rng.random()))
    weights = [1.0 / (rank + 1) for rank in range(len(order))]
    ranked = [leaders[i] for i in order]
    day = (end - timedelta(days=days)).date()
    writers: dict[str, tuple[Writer, Person]] = {}
    for leader in ranked:
        person = Person(leader.key, leader.name, short_name(leader), leader.pronoun, ())
        writers[leader.key] = (Writer(random.Random(rng.random()), registry, day, [person]), person)
    start = end - timedelta(days=days)
    step = timedelta(days=days) / max(count, 1)
    picks = rng.choices(ranked, weights=weights, k=min(count, 100_000))
    for n in range(count):
        leader = picks[n % len(picks)]
        writer, person = writers[leader.key]
        writer.topic = TOPICS[n % len(TOPICS)]
        direct = n % 3 != 0
        text = f"{writer.quote(person)}." if direct else writer.reported(person)
        sentence = f"“{text}” {person.short} said." if direct else f"{person.short} said that {text}."
        first_seen = start + step * n
        published = first_seen - timedelta(minutes=n % 240)
        outlet = OUTLETS[n % len(OUTLETS)]
        url = f"https://news.example/{outlet.lower().replace(' ', '-')}/{n}"
        title = f"{person.short}: {writer.thing()}"
        sources = tuple(
            StatementSource(
                outlet=OUTLETS[(n + k * 7) % len(OUTLETS)],
                url=f"{url}?via={k}",
                title=title,
                published=published,
                source_key=None,
            )
            for k in range(1 + n % 3)
        )
        yield Statement(
            id=None,
            leader=leader.key,
            kind="direct" if direct else "indirect",
            text=text,
            sentence=sentence,
            url=url,
            title=title,
            outlet=outlet,
            published=published.astimezone(UTC),
            first_seen=first_seen.astimezone(UTC),
            sources=sources,
        )


def leader_weights(registry: Registry, seed: int) -> tuple[list[str], list[float]]:
    """Keys and weights for picking the leader of a ``/latest`` query (prominent ones more often)."""
    rng = random.Random(seed)
    keys = sorted(registry.leaders, key=lambda k: (k not in PROMINENT, rng.random()))
    return keys, [1.0 / (rank + 1) ** 0.8 for rank in range(len(keys))]
