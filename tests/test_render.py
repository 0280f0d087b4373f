"""Rendering: what a reader sees in Telegram, Slack and the terminal, and the platforms' limits.

Property tests feed hostile outside text (HTML and Slack markup, mentions, emoji and other astral
characters, right-to-left scripts, combining marks, controls, 20,000-character quotes, many
leaders and statements) and check that every Telegram chunk is valid Telegram HTML within 4096
UTF-16 units, every Slack message is within Block Kit's limits and pings nobody, and no statement
is lost. Example tests pin the layout a reader relies on.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digests import render
from digests.models import Digest, Leader, LeaderDigest, Statement, StatementSource
from digests.render import (
    TELEGRAM_LIMIT,
    chunk_html,
    clean_text,
    escape_html,
    escape_slack,
    plain_text,
    slack_messages,
    slack_statements,
    telegram_html,
    telegram_plain,
    telegram_statements,
    text_statements,
    utf16_len,
)
from tests.telegram_html import TelegramHtmlError, visible_text

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
PUTIN = Leader("putin", "Vladimir Putin", ("Putin", "Путин"))
ZELENSKY = Leader("zelensky", "Volodymyr Zelensky", ("Zelensky",))

PROPERTY = settings(max_examples=200, deadline=None)
FEWER = settings(max_examples=30, deadline=None)


def statement(
    text: str,
    *,
    leader: str = "putin",
    kind: str = "direct",
    outlets: Sequence[tuple[str, str]] = (("Reuters", "https://www.reuters.com/world/a"),),
    published: datetime | None = NOW - timedelta(hours=3),
) -> Statement:
    sources = tuple(StatementSource(outlet, url, "A title", published) for outlet, url in outlets)
    first_outlet, first_url = outlets[0] if outlets else ("", "")
    return Statement(
        id=None,
        leader=leader,
        kind="direct" if kind == "direct" else "indirect",
        text=text,
        sentence=text,
        url=first_url,
        title="A title",
        outlet=first_outlet,
        published=published,
        first_seen=NOW - timedelta(hours=2),
        sources=sources,
    )


def digest(*sections: LeaderDigest) -> Digest:
    return Digest(since=NOW - timedelta(days=1), until=NOW, sections=sections)


# --------------------------------------------------------------------------------------------
# Checks shared by the property and example tests

_LINK = re.compile(r"<(https?://[^|<>\s]+)\|([^|<>]*)>")
_BROADCAST = re.compile(r"@(channel|here|everyone)", re.IGNORECASE)


def telegram_visible(chunks: list[str]) -> str:
    """Validate every chunk (strict Telegram HTML, within the limit) and join their visible text."""
    assert chunks, "nothing to send"
    texts = []
    for chunk in chunks:
        assert utf16_len(chunk) <= TELEGRAM_LIMIT
        texts.append(visible_text(chunk))
    return "\n".join(texts)


def check_plain_chunks(chunks: list[str]) -> str:
    assert chunks
    for chunk in chunks:
        assert chunk.strip()
        assert utf16_len(chunk) <= TELEGRAM_LIMIT
    return "\n".join(chunks)


def items_in(text: str) -> int:
    """Statements shown: every item is a line starting with a bullet (outside text has no newlines)."""
    return len(re.findall(r"(?m)^ *• \d{1,2} [A-Z][a-z]{2}(?: \d{4})? — ", text))


def starts(statements: Sequence[Statement]) -> list[str]:
    return [clean_text(s.text)[:24] for s in statements if clean_text(s.text)]


def assert_no_live_mentions(mrkdwn: str) -> None:
    """Only our own ``<http…|label>`` links may use angle brackets; nobody can be pinged."""
    for url, _label in _LINK.findall(mrkdwn):
        assert "&" not in url.replace("&amp;", ""), url
    outside_links = _LINK.sub(lambda m: m.group(2), mrkdwn)
    assert "<" not in outside_links and ">" not in outside_links, mrkdwn
    assert not _BROADCAST.search(outside_links), mrkdwn
    assert not re.search(r"&(?!amp;|lt;|gt;)", mrkdwn), mrkdwn


def slack_unescape(mrkdwn: str) -> str:
    text = _LINK.sub(lambda m: m.group(2), mrkdwn)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").replace("\u2060", "")


def check_slack(messages: list[dict[str, Any]]) -> tuple[str, int]:
    """Check Block Kit limits and mentions; answer the sections' visible text and the statement count."""
    assert messages
    sections: list[str] = []
    statement_count = 0
    for number, message in enumerate(messages):
        assert set(message) == {"text", "blocks"}
        fallback = message["text"]
        assert isinstance(fallback, str) and fallback.strip()
        assert utf16_len(fallback) <= 3000
        assert_no_live_mentions(fallback)
        blocks = message["blocks"]
        assert 1 <= len(blocks) <= 50
        assert blocks[0]["type"] != "divider"
        for index, block in enumerate(blocks):
            kind = block["type"]
            assert kind in {"header", "section", "context", "divider"}
            if kind == "header":
                assert number == 0 and index == 0
                assert block["text"]["type"] == "plain_text"
                header = block["text"]["text"]
                assert header.strip() and utf16_len(header) <= 150
                assert not _BROADCAST.search(header)
            elif kind == "section":
                assert block["text"]["type"] == "mrkdwn"
                text = block["text"]["text"]
                assert text and utf16_len(text) <= 3000
                assert_no_live_mentions(text)
                sections.append(slack_unescape(text))
            elif kind == "context":
                elements = block["elements"]
                assert 1 <= len(elements) <= 10
                for element in elements:
                    assert element["type"] == "mrkdwn"
                    assert element["text"] and utf16_len(element["text"]) <= 3000
                    assert_no_live_mentions(element["text"])
                # A statement's context holds its date and at least one outlet.
                statement_count += len(elements) >= 2
    return "\n".join(sections), statement_count


def check_digest(d: Digest, tz: str, title: str | None) -> None:
    every = [s for section in d.sections for s in section.statements]
    wanted = [start.replace("\u2060", "") for start in starts(every)]

    shown = telegram_visible(telegram_html(d, tz=tz, title=title))
    assert items_in(shown) == len(every)
    for start in starts(every):
        assert start in shown

    plain = check_plain_chunks(telegram_plain(d, tz=tz, title=title))
    assert items_in(plain) == len(every)
    for start in starts(every):
        assert start in plain

    slack_text, count = check_slack(slack_messages(d, tz=tz, title=title))
    assert count == len(every)
    for start in wanted:
        assert start in slack_text.replace("\u2060", "")

    terminal = plain_text(d, tz=tz, title=title)
    assert items_in(terminal) == len(every)
    for s in every:
        assert clean_text(s.text) in terminal


# --------------------------------------------------------------------------------------------
# Strategies: hostile outside text

TRICKY = [
    "<",
    ">",
    "&",
    '"',
    "'",
    "&amp;",
    "&lt;",
    "&#60;",
    "&nbsp;",
    "<b>",
    "</b>",
    "<i>bold</b>",
    "<script>alert(1)</script>",
    '<a href="https://evil.example">x</a>',
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U123>",
    "<#C123>",
    "@everyone",
    "@channel",
    "@here",
    "@HERE",
    "<https://evil.example|click me>",
    "😀",
    "👍🏽",
    "👨\u200d👩\u200d👧",
    "🇺🇦",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "مرحبا بالعالم",
    "שלום עולם",
    "e\u0301",
    "a\u0308\u0301\u0323",
    "\u200f",
    "\u202e",
    "\u2066",
    " ",
    "  ",
    "\n",
    "\t",
    "\x00",
    "\x1b[31m",
    "\u2028",
    "\ud83d",
    "|",
    "*bold*",
    "_it_",
    "~s~",
    "`code`",
    "…",
    "“",
    "”",
]
fragments = st.one_of(st.sampled_from(TRICKY), st.text(max_size=12))
short_text = st.lists(fragments, max_size=5).map("".join)


@st.composite
def long_text(draw: st.DrawFn) -> str:
    """Up to 20,000 characters, built by repeating a tricky unit (fast to generate)."""
    unit = draw(st.lists(fragments, min_size=1, max_size=4).map("".join).filter(bool))
    length = draw(st.integers(0, 20_000))
    return (unit * (length // len(unit) + 1))[:length]


texts = st.one_of(short_text, short_text, long_text())
names = st.one_of(
    st.sampled_from(["Vladimir Putin", "Володимир Зеленський", "محمد بن سلمان", "יצחק הרצוג"]), short_text
)
urls = st.one_of(
    st.sampled_from(
        [
            "https://www.reuters.com/world/europe/a?b=1&c=2",
            'http://example.org/"><script>alert(1)</script>',
            "https://example.com/|<!channel>",
            "https://example.com/@everyone",
            "javascript:alert(1)",
            "file:///tmp/feed.xml",
            "",
            "https://пример.рф/путь?q=да",
            "https://[::1]:8080/x",
            "https://example.com:99999/",
            "https://example.com/" + "a" * 3000,
            "https://example.com/a b\tc\u202e",
        ]
    ),
    short_text.map(lambda s: "https://example.com/" + s),
    short_text,
)
outlets = st.one_of(st.sampled_from(["Reuters", "AP", "TASS", "BBC News", "الجزيرة", "הארץ"]), short_text)
moments = st.integers(0, 11 * 365 * 86400).map(
    lambda s: datetime(2020, 1, 1, tzinfo=UTC) + timedelta(seconds=s)
)
zones = st.sampled_from(
    ["UTC", "Europe/Kyiv", "Asia/Kolkata", "America/St_Johns", "Pacific/Kiritimati", "Nope/x"]
)


@st.composite
def statements(draw: st.DrawFn) -> Statement:
    reports = draw(st.lists(st.tuples(outlets, urls), min_size=0, max_size=5))
    return Statement(
        id=None,
        leader="x",
        kind=draw(st.sampled_from(["direct", "indirect"])),
        text=draw(texts),
        sentence="",
        url=draw(urls),
        title="A title",
        outlet=draw(outlets),
        published=draw(st.none() | moments),
        first_seen=draw(moments),
        sources=tuple(StatementSource(o, u, "t", None) for o, u in reports),
    )


leaders = st.builds(
    Leader,
    key=st.one_of(st.from_regex(r"[a-z]{1,12}", fullmatch=True), short_text),
    name=st.one_of(names, names, long_text()),
    aliases=st.just(()),
)
sections = st.builds(
    LeaderDigest,
    leader=leaders,
    summary=st.one_of(short_text, long_text()),
    statements=st.lists(statements(), max_size=6).map(tuple),
    more=st.integers(0, 30),
)
digests = st.builds(Digest, since=moments, until=moments, sections=st.lists(sections, max_size=4).map(tuple))


@st.composite
def big_digests(draw: st.DrawFn) -> Digest:
    """Many leaders and statements (cheap to generate: variations of a few drawn texts)."""
    words = draw(st.lists(short_text, min_size=1, max_size=4))
    n_leaders = draw(st.integers(1, 30))
    per_leader = draw(st.integers(0, 30))
    length = draw(st.sampled_from([10, 100, 600]))
    result = []
    for i in range(n_leaders):
        items = tuple(
            statement(
                f"{i}-{j} " + (words[(i + j) % len(words)] * length)[:length],
                kind="direct" if j % 2 else "indirect",
                outlets=[
                    (f"Outlet {k} {words[k % len(words)]}", f"https://o{k}.example/{i}/{j}")
                    for k in range(j % 6 + 1)
                ],
            )
            for j in range((per_leader * (i + 1)) % 31)
        )
        leader = Leader(f"l{i}", f"Leader {i} {words[i % len(words)]}", ())
        result.append(LeaderDigest(leader, words[0] * 3, items, more=i % 3))
    return digest(*result)


# --------------------------------------------------------------------------------------------
# Properties


@PROPERTY
@given(d=digests, tz=zones, title=st.none() | short_text)
def test_every_rendering_of_any_digest_is_valid_within_limits_and_complete(
    d: Digest, tz: str, title: str | None
) -> None:
    check_digest(d, tz, title)


@FEWER
@given(d=big_digests(), tz=zones)
def test_many_leaders_and_statements_split_into_valid_messages(d: Digest, tz: str) -> None:
    check_digest(d, tz, None)


@PROPERTY
@given(leader=leaders, items=st.lists(statements(), max_size=15), tz=zones)
def test_statement_lists_are_valid_within_limits_and_complete(
    leader: Leader, items: list[Statement], tz: str
) -> None:
    shown = telegram_visible(telegram_statements(leader, items, tz=tz))
    assert items_in(shown) == len(items)
    for start in starts(items):
        assert start in shown
    slack_text, count = check_slack(slack_statements(leader, items, tz=tz))
    assert count == len(items)
    for start in starts(items):
        assert start.replace("\u2060", "") in slack_text.replace("\u2060", "")
    terminal = text_statements(leader, items, tz=tz)
    assert items_in(terminal) == len(items)


@PROPERTY
@given(text=texts)
def test_outside_text_in_telegram_shows_as_written(text: str) -> None:
    """Tags in outside text are text: what the reader sees is the (cleaned) text itself."""
    item = statement(text, outlets=[(text[:50] or "x", "https://example.com/")])
    d = digest(LeaderDigest(Leader("k", text[:100], ()), text[:500], (item,)))
    shown = telegram_visible(telegram_html(d))
    assert clean_text(text)[:24] in shown
    if utf16_len(escape_html(clean_text(text))) <= 1500:
        assert clean_text(text) in shown


@PROPERTY
@given(text=texts)
def test_escape_slack_never_produces_a_mention(text: str) -> None:
    escaped = escape_slack(text)
    assert "<" not in escaped and ">" not in escaped
    assert not _BROADCAST.search(escaped)
    assert slack_unescape(escaped) == text.replace("\u2060", "")


@PROPERTY
@given(text=texts)
def test_escape_html_round_trips_through_the_validator(text: str) -> None:
    cleaned = clean_text(text)
    if cleaned:
        assert visible_text(escape_html(cleaned)) == cleaned


# Random valid Telegram HTML parts, to split with small limits.
html_words = st.one_of(
    st.sampled_from(
        ["word", "&amp;", "&lt;b&gt;", "&quot;", "😀", "שלום", "e\u0301", "x" * 300, "&amp;" * 80]
    ),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters='<>&"'), max_size=15),
)
html_separators = st.sampled_from([" ", "\n", "", "  "])


@st.composite
def html_fragments(draw: st.DrawFn, depth: int = 0) -> str:
    pieces = []
    for _ in range(draw(st.integers(1, 6))):
        choice = draw(st.integers(0, 9 if depth < 3 else 5))
        if choice <= 5:
            pieces.append(draw(html_words))
        elif choice == 6:
            pieces.append(f"<b>{draw(html_fragments(depth + 1))}</b>")
        elif choice == 7:
            pieces.append(f"<i>{draw(html_fragments(depth + 1))}</i>")
        elif choice == 8:
            pieces.append(f"<u><s>{draw(html_fragments(depth + 1))}</s></u>")
        else:
            url = "https://example.com/?a=1&amp;b=" + "q" * draw(st.sampled_from([1, 40, 2000]))
            pieces.append(f'<a href="{url}">{draw(html_words.filter(str.strip)) or "link"}</a>')
        pieces.append(draw(html_separators))
    return "".join(pieces)


def squash(text: str) -> str:
    return "".join(text.split())


@PROPERTY
@given(
    parts=st.lists(html_fragments(), min_size=1, max_size=8), limit=st.sampled_from([16, 40, 100, 700, 4096])
)
def test_chunk_html_splits_anywhere_into_valid_chunks_and_loses_no_text(parts: list[str], limit: int) -> None:
    chunks = chunk_html(parts, limit)
    for chunk in chunks:
        assert utf16_len(chunk) <= limit
        visible_text(chunk)
    visible_parts = [visible_text(p) for p in parts if squash(re.sub(r"<[^>]*>", "", p))]
    assert squash("".join(visible_text(c) for c in chunks)) == squash("".join(visible_parts))


@FEWER
@given(d=digests, tz=zones)
def test_the_projects_fake_platforms_accept_every_message(d: Digest, tz: str) -> None:
    """The fakes the end-to-end tests run against (tdlib's parser, Slack's block checks) agree."""
    from tests.fakes.slack import validate_blocks
    from tests.fakes.telegram import parse_html

    for chunk in telegram_html(d, tz=tz):
        shown, _entities = parse_html(chunk, strict=True)
        assert utf16_len(shown) <= TELEGRAM_LIMIT
    for message in slack_messages(d, tz=tz):
        assert validate_blocks(message["blocks"]) == []


# --------------------------------------------------------------------------------------------
# Examples: what a reader sees


def two_leaders() -> Digest:
    return digest(
        LeaderDigest(
            PUTIN,
            "Putin said Russia would not retreat. He criticised Western sanctions.",
            (
                statement("We will not retreat.", outlets=[("Reuters", "https://reuters.com/a?x=1&y=2")]),
                statement(
                    "Western sanctions had failed",
                    kind="indirect",
                    outlets=[("TASS", "https://tass.com/b")],
                    published=NOW - timedelta(days=400),
                ),
            ),
        ),
        LeaderDigest(
            ZELENSKY,
            "Zelensky asked for air defence.",
            (
                statement(
                    "We need air defence now.", leader="zelensky", outlets=[("AP", "https://apnews.com/c")]
                ),
            ),
        ),
    )


def test_a_two_leader_digest_shows_names_summaries_quotes_and_links() -> None:
    chunks = telegram_html(two_leaders(), tz="Europe/Kyiv")
    assert len(chunks) == 1
    html = chunks[0]
    assert html.startswith("<b>Daily digest — 24 Nov 2026</b>")
    assert "<b>Vladimir Putin</b>" in html and "<b>Volodymyr Zelensky</b>" in html
    assert html.index("Vladimir Putin") < html.index("Volodymyr Zelensky")
    assert "<i>Putin said Russia would not retreat. He criticised Western sanctions.</i>" in html
    assert "“We will not retreat.”" in html
    assert "“Western sanctions had failed”" not in html  # reported speech is not put in quotes
    assert "<i>reported</i>: Western sanctions had failed" in html
    assert '<a href="https://reuters.com/a?x=1&amp;y=2">Reuters</a>' in html
    assert '<a href="https://apnews.com/c">AP</a>' in html
    assert "<b>24 Nov</b> — “We will not retreat.”" in html
    assert "<b>20 Oct 2025</b>" in html  # another year is spelled out
    visible_text(html)

    plain = plain_text(two_leaders(), tz="Europe/Kyiv")
    assert plain.splitlines()[0] == "Daily digest — 24 Nov 2026"
    assert "“We will not retreat.”" in plain and "https://reuters.com/a?x=1&y=2" in plain
    assert "Volodymyr Zelensky" in plain and "Zelensky asked for air defence." in plain

    fallback = telegram_plain(two_leaders(), tz="Europe/Kyiv")
    assert len(fallback) == 1 and "<" not in fallback[0]
    assert "Reuters: https://reuters.com/a?x=1&y=2" in fallback[0]

    (message,) = slack_messages(two_leaders(), tz="Europe/Kyiv")
    blocks = message["blocks"]
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Daily digest — 24 Nov 2026", "emoji": True},
    }
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert (
        texts[0] == "*Vladimir Putin*\nPutin said Russia would not retreat. He criticised Western sanctions."
    )
    assert "“We will not retreat.”" in texts
    assert [b["type"] for b in blocks].count("divider") == 1
    contexts = [[e["text"] for e in b["elements"]] for b in blocks if b["type"] == "context"]
    assert ["24 Nov", "<https://reuters.com/a?x=1&amp;y=2|Reuters>"] in contexts
    assert message["text"] == "Daily digest — 24 Nov 2026: Vladimir Putin, Volodymyr Zelensky"


def test_dates_are_in_the_subscriptions_time_zone() -> None:
    late = statement("Late words.", published=datetime(2026, 11, 23, 23, 30, tzinfo=UTC))
    d = digest(LeaderDigest(PUTIN, "", (late,)))
    assert "<b>23 Nov</b>" in telegram_html(d, tz="UTC")[0]
    assert "<b>24 Nov</b>" in telegram_html(d, tz="Europe/Kyiv")[0]


def test_the_same_statement_from_three_outlets_shows_each_outlet_once() -> None:
    reports = [
        ("Reuters", "https://reuters.com/1"),
        ("AP", "https://apnews.com/2"),
        ("TASS", "https://tass.com/3"),
        ("Reuters", "https://reuters.com/1-updated"),
    ]
    d = digest(LeaderDigest(PUTIN, "", (statement("One statement.", outlets=reports),)))
    html = telegram_html(d)[0]
    assert html.count("<a href=") == 3
    for outlet, url in reports[:3]:
        assert html.count(f'<a href="{url}">{outlet}</a>') == 1
    assert "more" not in html
    contexts = [b for b in slack_messages(d)[0]["blocks"] if b["type"] == "context"]
    assert [e["text"] for e in contexts[0]["elements"][1:]] == [
        "<https://reuters.com/1|Reuters>",
        "<https://apnews.com/2|AP>",
        "<https://tass.com/3|TASS>",
    ]
    assert plain_text(d).count("Reuters") == 1


def test_more_than_three_outlets_are_counted() -> None:
    reports = [(f"Outlet {i}", f"https://o{i}.example/") for i in range(7)]
    d = digest(LeaderDigest(PUTIN, "", (statement("Widely carried.", outlets=reports),)))
    html = telegram_html(d)[0]
    assert html.count("<a href=") == 3 and "+4 more" in html
    elements = [b for b in slack_messages(d)[0]["blocks"] if b["type"] == "context"][0]["elements"]
    assert elements[-1]["text"] == "+4 more" and len(elements) == 5
    assert all(f"https://o{i}.example/" in plain_text(d) for i in range(7))  # the terminal shows all


def test_the_more_pointer_names_the_latest_command() -> None:
    d = digest(LeaderDigest(PUTIN, "Summary.", (statement("Words."),), more=4))
    assert "…and 4 more: /latest putin" in telegram_html(d)[0]
    assert "…and 4 more: /latest putin" in telegram_plain(d)[0]
    assert "…and 4 more: /latest putin" in plain_text(d)
    blocks = slack_messages(d, latest_command="/sd-latest")[0]["blocks"]
    assert blocks[-1] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "…and 4 more: /sd-latest putin"}],
    }
    no_more = digest(LeaderDigest(PUTIN, "Summary.", (statement("Words."),)))
    assert "more" not in telegram_html(no_more)[0]


def test_markup_in_outside_text_is_shown_not_obeyed() -> None:
    hostile = '<script>alert("x")</script> <b>bold</b> & <a href="https://evil.example">x</a>'
    d = digest(
        LeaderDigest(
            Leader("k", "<b>Name</b>", ()),
            "<i>summary</i>",
            (statement(hostile, outlets=[("<b>Outlet</b>", 'https://e.example/"onclick="x')]),),
        ),
    )
    (html,) = telegram_html(d, title="<u>Title</u> & co")
    assert "<script>" not in html and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt; &amp;" in html
    assert "<b>&lt;b&gt;Name&lt;/b&gt;</b>" in html
    assert "<b>&lt;u&gt;Title&lt;/u&gt; &amp; co</b>" in html
    assert '<a href="https://e.example/%22onclick=%22x">&lt;b&gt;Outlet&lt;/b&gt;</a>' in html
    assert visible_text(html).count("<b>bold</b>") == 1


def test_slack_mentions_in_outside_text_ping_nobody() -> None:
    hostile = "<!channel> <!here> <@U123> @everyone @channel @Here <https://evil.example|click>"
    d = digest(
        LeaderDigest(
            Leader("k", "@everyone <!here>", ()),
            hostile,
            (statement(hostile, outlets=[("<!channel>|@here", "https://x.example/|<!channel>")]),),
        ),
    )
    messages = slack_messages(d, title="@channel news <!here>")
    check_slack(messages)
    blocks = messages[0]["blocks"]
    assert blocks[0]["text"]["text"] == "@\u2060channel news <!here>"  # plain_text: never parsed
    assert "&lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt; @\u2060everyone" in blocks[2]["text"]["text"]
    link = blocks[3]["elements"][1]["text"]
    assert link == "<https://x.example/%7C%3C!channel%3E|&lt;!channel&gt;¦@\u2060here>"


def test_links_only_for_http_urls() -> None:
    reports = [
        ("Evil", "javascript:alert(1)"),
        ("Local", "file:///tmp/feed.xml"),
        ("Bad port", "https://a.example:99999/"),
    ]
    d = digest(LeaderDigest(PUTIN, "", (statement("Words.", outlets=reports),)))
    html = telegram_html(d)[0]
    assert "<a " not in html and "Evil · Local · Bad port" in html
    contexts = [b for b in slack_messages(d)[0]["blocks"] if b["type"] == "context"]
    assert [e["text"] for e in contexts[0]["elements"][1:]] == ["Evil", "Local", "Bad port"]


def test_a_very_long_quote_is_cut_with_an_ellipsis_and_keeps_its_sources() -> None:
    quote = "Peace 😀 מלחמה " * 1500  # 22,500 characters, emoji count 2 units each
    d = digest(LeaderDigest(PUTIN, "Long.", (statement(quote), statement("Short one."))))
    chunks = telegram_html(d)
    shown = telegram_visible(chunks)
    assert "“Peace 😀 מלחמה Peace" in shown and "…”" in shown
    assert "Short one." in shown and shown.count("Reuters") == 2
    (message,) = slack_messages(d)
    section = [b for b in message["blocks"] if b["type"] == "section"][1]["text"]["text"]
    assert section.startswith("“Peace") and section.endswith("…”") and utf16_len(section) <= 3000
    assert quote.strip() in plain_text(d)  # the terminal has no limit


def test_a_quote_without_spaces_is_cut_between_characters() -> None:
    d = digest(LeaderDigest(PUTIN, "", (statement("&<😀" * 8000),)))
    (html,) = telegram_html(d)
    assert utf16_len(html) <= TELEGRAM_LIMIT
    assert "“&amp;&lt;😀&amp;&lt;😀" in html
    visible_text(html)


def test_long_digests_split_between_leaders_first() -> None:
    def leader_section(i: int) -> LeaderDigest:
        items = tuple(statement(f"Leader {i} statement {j}. " + "word " * 60) for j in range(4))
        return LeaderDigest(Leader(f"l{i}", f"Leader {i}", ()), f"Summary {i}.", items)

    d = digest(*(leader_section(i) for i in range(6)))
    chunks = telegram_html(d)
    assert len(chunks) > 1
    assert chunks[0].startswith("<b>Daily digest — 24 Nov 2026</b>")
    for chunk in chunks[1:]:
        assert chunk.startswith("<i>(continued)</i>\n")
        assert "Daily digest" not in chunk
    for i in range(6):  # each leader whole in one chunk: it fitted in a fresh one
        assert sum(f"<b>Leader {i}</b>" in chunk for chunk in chunks) == 1
    telegram_visible(chunks)


def test_a_leader_too_long_for_one_message_splits_between_statements() -> None:
    items = tuple(statement(f"Statement {j}. " + "word " * 150) for j in range(20))
    d = digest(LeaderDigest(PUTIN, "Summary.", items))
    chunks = telegram_html(d)
    assert len(chunks) >= 4
    for chunk in chunks[1:]:
        assert chunk.startswith("<b>Vladimir Putin</b> <i>(continued)</i>\n")
    shown = telegram_visible(chunks)
    assert [int(n) for n in re.findall(r"“Statement (\d+)\.", shown)] == list(range(20))


def test_slack_splits_at_fifty_blocks_and_names_the_continued_leader() -> None:
    items = tuple(statement(f"Statement {j}.") for j in range(60))
    d = digest(LeaderDigest(PUTIN, "Summary.", items), LeaderDigest(ZELENSKY, "Other.", (statement("Hi."),)))
    messages = slack_messages(d)
    _text, count = check_slack(messages)
    assert count == 61 and len(messages) == 3
    assert messages[0]["text"] == "Daily digest — 24 Nov 2026 (1/3): Vladimir Putin"
    assert messages[1]["blocks"][0]["text"]["text"] == "*Vladimir Putin* _(continued)_"
    assert messages[2]["text"].endswith("Vladimir Putin, Volodymyr Zelensky")
    for message in messages:  # a statement's section and context stay together
        kinds = [b["type"] for b in message["blocks"]]
        assert kinds[-1] == "context"


def test_an_empty_digest_says_nothing_new_since_when() -> None:
    d = Digest(since=datetime(2026, 11, 23, 8, 0, tzinfo=UTC), until=NOW, sections=())
    expected = "Nothing new since 23 Nov 2026, 10:00 Europe/Kyiv."
    assert telegram_html(d, tz="Europe/Kyiv") == [expected]
    assert telegram_plain(d, tz="Europe/Kyiv") == [expected]
    assert plain_text(d, tz="Europe/Kyiv") == expected
    (message,) = slack_messages(d, tz="Europe/Kyiv")
    assert message == {
        "text": expected,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": expected}}],
    }
    titled = telegram_html(d, tz="Europe/Kyiv", title="Morning <news>")
    assert titled == ["<b>Morning &lt;news&gt;</b>\n" + expected]


def test_latest_replies_use_the_same_item_format() -> None:
    items = [statement("First."), statement("Second.", kind="indirect", published=NOW - timedelta(days=2))]
    (html,) = telegram_statements(PUTIN, items, tz="UTC")
    assert html.startswith("<b>Vladimir Putin</b>: latest 2 statements\n")
    assert "• <b>24 Nov</b> — “First.”" in html and "• <b>22 Nov</b> — <i>reported</i>: Second." in html
    assert html.index("First.") < html.index("Second.")
    text = text_statements(PUTIN, items)
    assert "“First.”" in text and "https://www.reuters.com/world/a" in text
    (message,) = slack_statements(PUTIN, items)
    assert message["blocks"][0]["text"]["text"] == "Vladimir Putin: latest 2 statements"
    assert telegram_statements(PUTIN, []) == ["No statements from <b>Vladimir Putin</b> yet."]
    assert text_statements(PUTIN, []) == "No statements from Vladimir Putin yet."


# --------------------------------------------------------------------------------------------
# Primitives


def test_utf16_len_counts_astral_characters_twice() -> None:
    assert utf16_len("abc") == 3
    assert utf16_len("😀") == 2
    assert utf16_len("👨\u200d👩\u200d👧") == 8
    assert utf16_len("שלום") == 4


def test_escapes() -> None:
    assert escape_html('<a href="x">&</a>') == "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
    assert escape_slack("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"
    assert escape_slack("@everyone @Here @channels") == "@\u2060everyone @\u2060Here @\u2060channels"
    assert escape_slack("mail@example.com") == "mail@example.com"


def test_clean_text_drops_controls_and_bidi_overrides_and_collapses_whitespace() -> None:
    assert clean_text(" a\n\tb\x1b[31m \u202ec\u2066 ") == "a b [31m c"
    assert clean_text("שלום\u200f e\u0301") == "שלום\u200f e\u0301"
    assert clean_text("\ud83d!") == "\ufffd!"


def test_chunk_html_joins_whole_parts_and_closes_reopened_tags() -> None:
    assert chunk_html(["<b>a</b>", "b", "c"], 16) == ["<b>a</b>\nb\nc"]
    assert chunk_html(["<b>a</b>", "bbbbbbbbbbbbbbbbbbb"], 20) == ["<b>a</b>", "bbbbbbbbbbbbbbbbbbb"]
    long = "<b>" + " ".join(["word"] * 20) + "</b>"
    chunks = chunk_html([long], 40)
    assert all(c.startswith("<b>") and c.endswith("</b>") and utf16_len(c) <= 40 for c in chunks)
    assert " ".join(visible_text(c) for c in chunks) == " ".join(["word"] * 20)
    entities = chunk_html(["&amp;" * 100], 16)
    assert all(c == "&amp;" * 3 for c in entities[:-1]) and "".join(entities) == "&amp;" * 100


@pytest.mark.parametrize(
    "html",
    [
        "<",
        "a < b",
        "a & b",
        "&nbsp;",
        "&#0;",
        "&#55357;",
        ">",
        "<script>x</script>",
        "<b><i>x</b></i>",
        "<b>x",
        "x</b>",
        "<a>x</a>",
        '<a href="javascript:x">x</a>',
        '<b class="x">x</b>',
        '<a href="https://a"><a href="https://b">x</a></a>',
        "<code><b>x</b></code>",
        "<B>x</B>",
        "<b></b>",
        "  ",
    ],
)
def test_the_validator_rejects_what_telegram_would_reject(html: str) -> None:
    with pytest.raises(TelegramHtmlError):
        visible_text(html)


def test_the_validator_accepts_telegram_html() -> None:
    html = '<b>a &amp; <i>b</i></b> <a href="https://x.example/?a=1&amp;b=2">l&lt;</a> &#128512; &quot;<pre><code>c</code></pre>'
    assert visible_text(html) == 'a & b l< 😀 "c'


def test_render_imports_no_chat_sdk() -> None:
    tree = ast.parse(Path(render.__file__).read_text(encoding="utf-8"))
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    banned = ("telegram", "slack_bolt", "slack_sdk", "aiohttp", "bot")
    assert not [name for name in imported if name.split(".")[0] in banned]
