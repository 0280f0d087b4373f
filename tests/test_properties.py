"""Property tests over hostile input: feeds, article text and ``/latest`` replies.

* ``parse_feed`` on arbitrary bytes and on mutated valid feeds (truncated, bytes flipped, markup,
  entities, NULs and encodings spliced in) either returns well-formed entries or raises
  ``FeedError``: never anything else, so a broken source is marked failing with a reason instead of
  taking the poll down.
* ``Extractor.extract`` on arbitrary text (any unicode, quote marks of every style, reporting
  verbs, names and titles, paragraphs of tens of thousands of characters) never raises, and every
  statement is a configured leader's, non-empty, and found in the article (up to whitespace, quote
  marks and the "according to X" it was attributed by).
* ``/latest`` answered through ``bot.commands`` and each adapter's own rendering
  (``TelegramChat.render``, ``SlackChat._render``), for stored statements with hostile text and
  for any words typed after ``/latest``, stays within the platforms' limits as the fake platforms
  check them (tdlib's HTML parser and 4096 UTF-16 units; Block Kit's limits) and lets no outside
  text become markup or a mention. ``test_render.py`` covers the renderers called directly;
  these go through storage, command parsing and the adapters.
"""

from __future__ import annotations

import asyncio
import re
import time
import unicodedata
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.commands import ChatContext, Commands
from bot.slack_chat import SlackChat
from bot.telegram_chat import TelegramChat
from digests.config import load_config
from digests.extract import Extractor
from digests.leaders import Registry
from digests.models import Statement, StatementSource
from digests.parse import FeedError, ParsedFeed, parse_feed
from digests.render import TELEGRAM_LIMIT, utf16_len
from digests.storage import Storage
from tests.fakes.slack import MAX_TEXT_CHARS, validate_blocks
from tests.fakes.telegram import HtmlParseError, parse_html

ROOT = Path(__file__).resolve().parent.parent
FEEDS = ROOT / "tests" / "fixtures" / "feeds"
NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
TOKEN = "123456789:TEST-fake-token"

FEED_PROPERTY = settings(max_examples=300, deadline=None)
EXTRACT_PROPERTY = settings(max_examples=300, deadline=None)
REPLY_PROPERTY = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@cache
def registry() -> Registry:
    return Registry(load_config(ROOT / "config").leaders)


# ------------------------------------------------------------------------------------------------
# parse_feed


VALID_FEEDS = sorted(p.name for p in FEEDS.glob("*.xml") if p.name != "malformed.xml")
SPLICES = [
    b"<",
    b">",
    b"&",
    b"&#0;",
    b"&#xD800;",
    b"&nosuchentity;",
    b"\x00",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"\xc3\x28",
    b"\x1f\x8b\x08",
    b"]]>",
    b"<![CDATA[",
    b"<item>",
    b"</item>",
    b"<entry>",
    b"</channel>",
    b"<rss>",
    b"<?xml version='1.0' encoding='utf-16'?>",
    b'<?xml version="1.0" encoding="x-no-such-charset"?>',
    b"<!DOCTYPE rss [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;'>]>",
    b'<!ENTITY xxe SYSTEM "file:///etc/passwd">',
    b"<pubDate>Mon, 99 Foo 99999 99:99:99 +9999</pubDate>",
    b"<published>0000-00-00T00:00:00Z</published>",
    b"<link>javascript:alert(1)</link>",
    b'<guid isPermaLink="true"></guid>',
    b"<script>alert(1)</script>",
    "“»«„".encode(),
]


@st.composite
def mutated_feeds(draw: st.DrawFn) -> bytes:
    """A valid fixture feed with a few random mutations."""
    body = bytearray((FEEDS / draw(st.sampled_from(VALID_FEEDS))).read_bytes())
    for _ in range(draw(st.integers(1, 5))):
        at = draw(st.integers(0, len(body)))
        action = draw(st.sampled_from(["truncate", "flip", "splice", "delete", "duplicate"]))
        if action == "truncate":
            del body[at:]
        elif action == "flip" and at < len(body):
            body[at] = draw(st.integers(0, 255))
        elif action == "splice":
            body[at:at] = draw(st.sampled_from(SPLICES) | st.binary(max_size=16))
        elif action == "delete":
            del body[at : at + draw(st.integers(1, 200))]
        elif action == "duplicate":
            body[at:at] = body[at : at + draw(st.integers(1, 400))]
    return bytes(body)


content_types = st.sampled_from(
    [
        None,
        "application/rss+xml",
        "application/rss+xml; charset=utf-8",
        "text/xml",
        "text/xml; charset=iso-8859-1",
        "application/atom+xml; charset=windows-1251",
        "text/html; charset=utf-8",
        "application/octet-stream",
        "text/plain; charset=x-no-such-charset",
    ]
)


def check_parsed_or_feed_error(body: bytes, content_type: str | None) -> None:
    try:
        feed = parse_feed(
            body, url="https://wire.example/feed.xml", content_type=content_type, max_entries=50
        )
    except FeedError as exc:
        assert exc.reason.strip() and "\n" not in exc.reason
        return
    assert isinstance(feed, ParsedFeed) and isinstance(feed.title, str)
    assert len(feed.entries) <= 50
    assert len({e.id for e in feed.entries}) == len(feed.entries)
    for entry in feed.entries:
        assert isinstance(entry.id, str) and entry.id
        assert isinstance(entry.title, str) and isinstance(entry.content, str)
        assert entry.link is None or isinstance(entry.link, str)
        assert entry.published is None or entry.published.utcoffset() == timedelta(0)


@FEED_PROPERTY
@given(body=st.binary(max_size=4096), content_type=content_types)
def test_parse_feed_on_arbitrary_bytes_raises_nothing_but_feed_error(
    body: bytes, content_type: str | None
) -> None:
    check_parsed_or_feed_error(body, content_type)


@FEED_PROPERTY
@given(body=mutated_feeds(), content_type=content_types)
def test_parse_feed_on_mutated_feeds_raises_nothing_but_feed_error(
    body: bytes, content_type: str | None
) -> None:
    check_parsed_or_feed_error(body, content_type)


# ------------------------------------------------------------------------------------------------
# Extractor.extract

QUOTES = ["“", "”", "„", "‟", "«", "»", '"', "‘", "’", "'", "‹", "›", "「", "」", "''", "``"]
NAMES = [
    "Putin",
    "Vladimir Putin",
    "Путин",
    "Zelensky",
    "Macron",
    "the Russian leader",
    "the Kremlin chief",
    "the US president",
    "Putin's spokesman",
    "the Biden administration",
    "the Kremlin",
    "he",
    "she",
    "they",
    "Mr Putin",
    "Xi",
]
VERBS = [
    " said",
    " said that",
    " told reporters",
    " warned",
    " stressed that",
    " added:",
    " insisted",
    " denied",
    ", saying",
    " according to",
    "According to",
    " put it",
    " said on Friday.",
    ", he said.",
]
PUNCTUATION = [
    ". ",
    ", ",
    "; ",
    ": ",
    " — ",
    " – ",
    "! ",
    "? ",
    "…",
    "...",
    "\n",
    "\n\n",
    " ",
    "\t",
    "\u00a0",
]
fragments = st.one_of(
    st.sampled_from(QUOTES),
    st.sampled_from(NAMES),
    st.sampled_from(VERBS),
    st.sampled_from(PUNCTUATION),
    st.sampled_from(["We will win", "the talks are over", "Peace is near", "не отступим", "😀", "\u202e"]),
    st.text(max_size=12),
)
article_texts = st.lists(fragments, max_size=60).map("".join)


# Huge paragraphs leave the reporting verbs out, to keep each drawn example quick; the linear-time
# tests below cover long sentences full of verbs and quote marks.
long_fragments = st.one_of(
    st.sampled_from(QUOTES),
    st.sampled_from(NAMES),
    st.sampled_from(PUNCTUATION),
    st.sampled_from(["We will win", "the talks are over", "Peace is near", "не отступим", "😀", "\u202e"]),
    st.text(max_size=12),
)


@st.composite
def huge_paragraphs(draw: st.DrawFn) -> str:
    """One paragraph of 2,000 to 12,000 characters, a drawn unit repeated (fast to generate)."""
    unit = draw(st.lists(long_fragments, min_size=1, max_size=8).map("".join).filter(lambda u: u.strip()))
    length = draw(st.integers(2_000, 12_000))
    return (unit * (length // len(unit) + 1))[:length]


_ACCORDING = re.compile(
    r"according\s+to\s+(?:" + "|".join(re.escape(n) for n in sorted(NAMES, key=len, reverse=True)) + r")",
    re.IGNORECASE,
)
_DROPPED = re.compile(r"[\s" + re.escape("".join(set("".join(QUOTES)))) + r",.;:!?…—–\-]+")


def squeeze(text: str) -> str:
    """Text without whitespace, quote marks and the punctuation the extractor trims or balances."""
    return _DROPPED.sub("", unicodedata.normalize("NFC", text))


def found_in(statement: str, article: str) -> bool:
    """Whether the statement's text is the article's, up to whitespace, quote marks and trimmed
    punctuation, and with the "according to X" that attributed it taken out."""
    wanted = squeeze(statement)
    return wanted in squeeze(article) or wanted in squeeze(_ACCORDING.sub(" ", article))


def check_statements(text: str, title: str | None = None) -> None:
    leaders = registry().leaders
    for found in Extractor(registry()).extract(text, NOW.date(), title):
        assert found.leader in leaders, found
        assert found.kind in ("direct", "indirect"), found
        assert found.text.strip(), found
        assert found_in(found.text, text), (found.text, text)


@EXTRACT_PROPERTY
@given(text=article_texts, title=st.none() | article_texts)
@example(text="“We will not retreat,” Putin said. He added: «The talks are over»", title=None)
@example(text='„Peace is near“, sagte Putin. "We will win," Zelensky said.', title="Putin")
@example(text="According to Putin, the talks are over.\n\n“We will win,” he said.", title=None)
def test_extract_on_arbitrary_text_finds_only_leaders_words_that_are_in_the_text(
    text: str, title: str | None
) -> None:
    check_statements(text, title)


@settings(max_examples=15, deadline=None)
@given(text=huge_paragraphs())
@example(text=("“We will win,” «Peace is near» Putin „the talks are over“ — he " * 200)[:12_000])
@example(text="Putin " * 2_000)
def test_extract_on_huge_paragraphs_never_raises(text: str) -> None:
    check_statements(text)


def test_according_to_in_mid_sentence_leaves_no_stray_comma() -> None:
    [found] = Extractor(registry()).extract("The war, according to Putin, will end soon enough for everyone.")
    assert found.text == "The war will end soon enough for everyone"


def seconds_to_extract(text: str) -> float:
    extractor = Extractor(registry())
    started = time.perf_counter()
    extractor.extract(text, NOW.date())
    return time.perf_counter() - started


def test_a_sentence_with_many_reporting_verbs_is_extracted_in_linear_time() -> None:
    # 4,000 characters. Quadratic behaviour took over a second here; linear takes milliseconds, so
    # the bound is loose enough for a busy machine.
    assert seconds_to_extract(" added:" * 570) < 1.0


def test_a_paragraph_full_of_quote_marks_is_extracted_in_linear_time() -> None:
    unit = "“the talks are over. Peace is near’ "
    assert seconds_to_extract(unit * (24_000 // len(unit))) < 1.0


# ------------------------------------------------------------------------------------------------
# /latest through the command set and each adapter's rendering

HOSTILE = [
    "<b>",
    "</a>",
    '<a href="javascript:alert(1)">x</a>',
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U123>",
    "<#C123>",
    "@everyone",
    "@here",
    "@channel",
    "&",
    "&amp;",
    "&lt;",
    "*bold*",
    "_it_",
    "`code`",
    "|",
    "😀",
    "👨\u200d👩\u200d👧",
    "\u202e",
    "\x00",
    "\n",
    "“",
    "”",
    "«",
    "»",
]
hostile_text = st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=10)), max_size=12).map("".join)
long_hostile = st.builds(lambda unit, n: (unit or "x") * n, hostile_text, st.integers(1, 400))
urls = st.one_of(
    st.sampled_from(
        [
            "https://www.reuters.com/world/a?b=1&c=2",
            "javascript:alert(1)",
            'https://evil.example/"><b>x</b>',
            "https://example.com/|<!channel>",
            "",
        ]
    ),
    hostile_text.map(lambda s: "https://example.com/" + s),
)
moments = st.integers(0, 5 * 365 * 86400).map(lambda s: NOW - timedelta(seconds=s))


@st.composite
def stored_statements(draw: st.DrawFn) -> Statement:
    sources = tuple(
        StatementSource(draw(hostile_text), draw(urls), draw(hostile_text), draw(st.none() | moments))
        for _ in range(draw(st.integers(0, 4)))
    )
    return Statement(
        id=None,
        leader="putin",
        kind=draw(st.sampled_from(["direct", "indirect"])),
        text=draw(st.one_of(hostile_text, long_hostile)).strip() or "x",
        sentence=draw(hostile_text),
        url=draw(urls),
        title=draw(hostile_text),
        outlet=draw(hostile_text),
        published=draw(st.none() | moments),
        first_seen=draw(moments),
        sources=sources,
    )


# What is typed after /latest, with the number of statements it asks for (None: not a valid ask).
latest_args = st.one_of(
    st.sampled_from(
        [
            ("putin", 5),
            ("путин", 5),
            ('"vladimir putin"', 5),
            ("Putin 20", 20),
            ("putin 1", 1),
            ("puttin", None),
            ("putin 0", None),
            ("putin 21", None),
        ]
    ),
    st.integers(1, 20).map(lambda n: (f"путин {n}", n)),
    hostile_text.map(lambda text: (text, None)),
)


@pytest.fixture(scope="module")
def adapters() -> tuple[TelegramChat, SlackChat]:
    """Both adapters, built once (nothing is started: only their rendering is used)."""
    commands = Commands(Storage(":memory:"), registry(), clock=lambda: NOW)
    telegram = TelegramChat(TOKEN, "http://127.0.0.1:9", commands, commands.storage, registry())
    slack = SlackChat("xoxb-1-not-used", commands, signing_secret="s" * 32, api_url="http://127.0.0.1:9/api/")
    return telegram, slack


_MENTION = re.compile(r"<[!@#]|@(?:everyone|here|channel)\b", re.IGNORECASE)
_OUR_LINK = re.compile(r"<https?://[^|<>\s]+\|[^<>]*>")
_BULLET = re.compile(r"(?m)^ *• ")


def check_telegram(parts: list[dict[str, str]], shown: int | None) -> None:
    assert parts
    visible_all = []
    for part in parts:
        try:
            visible, entities = parse_html(part["html"], strict=True)
        except HtmlParseError as exc:  # pragma: no cover - the assertion message is the point
            raise AssertionError(f"Telegram would reject: {exc}\n{part['html'][:300]}") from None
        assert utf16_len(visible) <= TELEGRAM_LIMIT and utf16_len(part["html"]) <= TELEGRAM_LIMIT
        assert visible.strip() and part["plain"].strip() and utf16_len(part["plain"]) <= TELEGRAM_LIMIT
        for entity in entities:  # only the renderer's own markup: bold dates/names, italics, http links
            assert entity["type"] in ("bold", "italic", "text_link"), entity
            if entity["type"] == "text_link":
                assert entity["url"].startswith(("http://", "https://")), entity
        visible_all.append(visible)
    if shown is not None:
        assert len(_BULLET.findall("\n".join(visible_all))) == shown


def slack_texts(part: dict[str, Any]) -> list[str]:
    texts = [str(part.get("text") or "")]
    for block in part.get("blocks") or ():
        if isinstance(block.get("text"), dict):
            texts.append(block["text"]["text"])
        texts.extend(e["text"] for e in block.get("elements", ()) if isinstance(e, dict) and "text" in e)
    return texts


def check_slack(parts: list[dict[str, Any]], shown: int | None) -> None:
    assert parts
    statements = 0
    for part in parts:
        assert part.get("text", "").strip() or part.get("blocks")
        assert len(part.get("text", "")) <= MAX_TEXT_CHARS
        if part.get("blocks"):
            assert validate_blocks(part["blocks"]) == []
            statements += sum(
                1 for b in part["blocks"] if b["type"] == "context" and len(b.get("elements", ())) >= 2
            )
        for text in slack_texts(part):
            assert not _MENTION.search(_OUR_LINK.sub("", text)), text
    if shown is not None and any(p.get("blocks") for p in parts):
        assert statements == shown


@REPLY_PROPERTY
@given(items=st.lists(stored_statements(), max_size=25), asked=latest_args)
@example(items=[], asked=("<!channel> <@U123> @everyone", None))
def test_latest_replies_through_commands_stay_within_limits_and_escape_outside_text(
    adapters: tuple[TelegramChat, SlackChat], items: list[Statement], asked: tuple[str, int | None]
) -> None:
    telegram, slack = adapters
    args, n = asked
    with Storage(":memory:") as storage:
        storage.bulk_insert_statements(items)
        telegram.storage = telegram.commands.storage = storage
        for platform, chat, kind in (("telegram", "1001", "private"), ("slack", "D0ALICE", "im")):
            ctx = ChatContext(platform=platform, chat_id=chat, chat_type=kind)  # type: ignore[arg-type]
            reply = asyncio.run(telegram.commands.handle(ctx, "latest", args))
            shown = len(reply.statements[1]) if reply.statements is not None else None
            if n is not None:
                assert shown == min(len(items), n) and not reply.error
            if shown is not None:
                assert shown <= 20
            if platform == "telegram":
                check_telegram(telegram.render(reply, chat), shown)
            else:
                check_slack(slack._render(reply, chat), shown)
