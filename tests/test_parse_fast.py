"""digests.parse's lxml fast path gives exactly what the feedparser path gives, or declines.

``parse_feed`` tries ``_fast_feed`` first; ``_parse_feed_slow`` is feedparser only. Every feed here
is parsed both ways and the outcomes (a ``ParsedFeed`` or a ``FeedError`` reason) must be equal:
the fixture feeds, the hostile-source corpus, the benchmark's feeds, generated RSS 2.0 and Atom
feeds full of awkward content, and mutated fixtures. Where the fast path is expected to read a
feed (clean RSS 2.0 and Atom 1.0 in UTF-8), the tests also check that it did.
"""

from __future__ import annotations

import html
import random
import string
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from bench import corpus
from digests import parse
from digests.parse import FeedError, ParsedFeed
from tests import test_hostile_sources as hostile
from tests.feedserver import FeedServer
from tests.test_properties import mutated_feeds, registry

ROOT = Path(__file__).resolve().parent.parent
FEEDS = ROOT / "tests" / "fixtures" / "feeds"
URL = "https://wire.example.com/feeds/world.xml"


def check_same(
    body: bytes, *, url: str = URL, content_type: str | None = None, max_entries: int = 500
) -> bool:
    """Both paths give the same outcome (a feed, or a FeedError's reason); returns whether the
    fast path read the feed."""
    fast: ParsedFeed | str
    slow: ParsedFeed | str
    try:
        slow = parse._parse_feed_slow(body, url=url, content_type=content_type, max_entries=max_entries)
    except FeedError as exc:
        slow = f"FeedError: {exc.reason}"
    try:
        fast, taken = parse._parse_feed(body, url=url, content_type=content_type, max_entries=max_entries)
    except FeedError as exc:
        fast, taken = f"FeedError: {exc.reason}", False
    assert fast == slow
    return taken


def fast_read(body: bytes, *, url: str = URL, charset: str | None = None) -> bool:
    """Whether ``_fast_feed`` reads the body, with its exceptions not swallowed."""
    return parse._fast_feed(body, url, charset, 500) is not None


# -- fixtures --------------------------------------------------------------------------------

FIXTURES = sorted(p.name for p in FEEDS.iterdir())
FAST_FIXTURES = {"atom.xml", "empty-channel.xml", "rss091.xml", "rss2.xml", "utf8-no-declaration.xml"}
CONTENT_TYPES = [
    None,
    "application/rss+xml; charset=utf-8",
    "text/xml; charset=UTF-8",
    "application/atom+xml",
    "text/xml; charset=iso-8859-1",
    "application/rss+xml; charset=windows-1251",
    "text/html; charset=utf-8",
]


@pytest.mark.parametrize("name", FIXTURES)
@pytest.mark.parametrize(
    "url", [URL, "http://Wire.Example.COM:80/a/../feed?x=1#top", "", "file:///tmp/f.xml"]
)
def test_fixtures_give_the_same_feed_both_ways(name: str, url: str) -> None:
    body = (FEEDS / name).read_bytes()
    taken = {ct: check_same(body, url=url, content_type=ct) for ct in CONTENT_TYPES}
    if name in FAST_FIXTURES:
        assert taken[None] and taken["application/rss+xml; charset=utf-8"]


def test_share_of_fixture_feeds_on_the_fast_path() -> None:
    fast = {p.name for p in FEEDS.glob("*.xml") if fast_read(p.read_bytes())}
    assert fast == FAST_FIXTURES


# -- the hostile-source corpus ---------------------------------------------------------------


def test_hostile_corpus_gives_the_same_outcome_both_ways(tmp_path: Path) -> None:
    server = FeedServer()  # never started: build() only registers what it would serve
    built = hostile.build(server, tmp_path)
    bodies = {
        path: (route.body, route.content_type)
        for path, route in server.routes.items()
        if route.kind == "body" and route.status == 200
    }
    taken = {
        path: check_same(
            body, url=server.url(path), content_type=content_type, max_entries=hostile.MAX_ENTRIES
        )
        for path, (body, content_type) in bodies.items()
    }
    local = built.file_feed.read_bytes()
    assert check_same(local, url=built.file_feed.as_uri(), max_entries=hostile.MAX_ENTRIES)
    for path in (
        "/good/wire.xml",
        "/good/atom.xml",
        "/good/hostile-pages.xml",
        "/odd/big.xml",  # read after the pre-trim to the newest 200
        "/odd/bare.xml",
        "/odd/undeclared.xml",
    ):
        assert taken[path], path
    for path in (
        "/odd/cp1252.xml",  # not UTF-8
        "/odd/latin1.xml",  # UTF-8 served as Latin-1
        "/odd/bogus.xml",  # an unknown declared encoding
        "/odd/entities.xml",  # a DTD
        "/bad/malformed.xml",
    ):
        assert not taken[path], path


# -- the benchmark's feeds -------------------------------------------------------------------


def test_benchmark_feeds_take_the_fast_path_and_give_the_same_entries() -> None:
    rng = random.Random(11)
    now = datetime(2025, 11, 24, 12, 0, tzinfo=UTC)
    pool = [corpus.article(rng, registry(), words=200, day=now.date()) for _ in range(12)]
    base_url = "http://127.0.0.1:8080"
    for f in range(12):
        items = corpus.feed_entries(
            rng, registry(), feed=f, entries=10, now=now, base_url=base_url, story_pool=pool
        )
        body = corpus.rss(f"Wire {f}", f"{base_url}/", items)
        url = f"{base_url}/feeds/{f:04d}.xml"
        assert check_same(body, url=url, content_type="application/rss+xml; charset=utf-8", max_entries=200)
        feed = parse.parse_feed(body, url=url)
        assert [e.id for e in feed.entries] == [i.guid for i in items]
        assert all(e.content and "<" not in e.content for e in feed.entries)


# -- what the fast path declines -------------------------------------------------------------

RSS_HEAD = '<?xml version="1.0" encoding="utf-8"?>'


def rss_doc(items: str, *, head: str = RSS_HEAD, attrs: str = "") -> bytes:
    return (f'{head}<rss version="2.0"{attrs}><channel><title>T</title>{items}</channel></rss>').encode()


ITEM = "<item><title>Putin said “yes”</title><link>/a</link><pubDate>Mon, 01 Jan 2024 10:00:00 GMT</pubDate></item>"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        # Encodings other than UTF-8 (or ASCII text under an ASCII-compatible label).
        (
            rss_doc(ITEM, head='<?xml version="1.0" encoding="windows-1251"?>').replace(
                b"T<", "Т<".encode("cp1251")
            ),
            None,
        ),
        (rss_doc(ITEM), "application/rss+xml; charset=windows-1251"),
        (rss_doc(ITEM, head='<?xml version="1.0" encoding="iso-8859-1"?>'), None),
        (rss_doc(ITEM).decode().encode("utf-16"), None),
        ("“".encode("cp1252") + rss_doc(ITEM), None),
        # A DTD, entities, another XML version, a declaration not at the start.
        (
            rss_doc(ITEM, head=RSS_HEAD + '<!DOCTYPE rss [<!ENTITY who "Putin">]>').replace(
                b"Putin", b"&who;"
            ),
            None,
        ),
        (
            rss_doc(ITEM, head=RSS_HEAD + '<!DOCTYPE rss PUBLIC "-//Netscape//DTD RSS 0.91//EN" "x.dtd">'),
            None,
        ),
        (rss_doc(ITEM, head='<?xml version="1.1"?>'), None),
        (b"\n " + rss_doc(ITEM), None),
        # Malformed XML: an undefined entity, a stray ampersand, a mismatched tag, a truncation.
        (rss_doc(ITEM.replace("“", "&ldquo;")), None),
        (rss_doc(ITEM.replace("said", "said & did")), None),
        (rss_doc(ITEM.replace("</title>", "</titel>")), None),
        (rss_doc(ITEM)[:-20], None),
        # Formats and features it leaves to feedparser.
        ((FEEDS / "rss1.xml").read_bytes(), None),
        (
            b'<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>T</title><entry><title>x</title>'
            b"<issued>2024-01-01T00:00:00Z</issued></entry></feed>",
            None,
        ),
        (rss_doc(ITEM.replace("<item>", '<item xml:base="https://other.example/">')), None),
        (
            b'<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><entry><id>x</id><content type="xhtml">'
            b'<div xmlns="http://www.w3.org/1999/xhtml"><p>Said <b>this</b></p></div></content></entry></feed>',
            None,
        ),
        (
            b'<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><entry><id>x</id>'
            b'<content type="application/octet-stream">UHV0aW4=</content></entry></feed>',
            None,
        ),
        (rss_doc(ITEM.replace("<title>Putin", "<title><b>Putin</b>")), None),
        (
            rss_doc(
                ITEM.replace(
                    "</item>",
                    "<georss:where><gml:Point><gml:pos>1 2</gml:pos></gml:Point></georss:where></item>",
                ),
                attrs=' xmlns:georss="http://www.georss.org/georss" xmlns:gml="http://www.opengis.net/gml"',
            ),
            None,
        ),
        (rss_doc(ITEM.replace("</item>", "<date>2024-01-01</date></item>")), None),
        (
            rss_doc(
                ITEM.replace("</item>", "<x:title>Other</x:title></item>"),
                attrs=' xmlns:x="http://x.example/" xmlns:dc="http://x.example/"',
            ),
            None,
        ),
        (
            rss_doc(
                ITEM.replace("</item>", "<dc:title>Other</dc:title></item>"),
                attrs=' xmlns:dc="http://purl.org/rss/1.0/modules/content/"',
            ),
            None,
        ),
        (rss_doc(ITEM.replace("<item>", "<item><item>") + "</item>"), None),
        (b"<html><head><title>Not a feed</title></head><body></body></html>", "text/html"),
        (b"<catalog><book>x</book></catalog>", None),
        # Names lxml (XML 1.0 5th edition) accepts and expat, under feedparser, rejects.
        (rss_doc(ITEM.replace("</item>", "<x\u0133>1</x\u0133></item>")), None),
        (rss_doc(ITEM.replace("<title>", '<title \u0133="1">')), None),
        # A stylesheet PI where feedparser looks for the XML declaration.
        (b'<?xml-stylesheet href="a>b"?>' + rss_doc(ITEM, head=""), None),
    ],
)
def test_the_fast_path_declines_and_the_outcome_is_still_right(body: bytes, content_type: str | None) -> None:
    assert not check_same(body, content_type=content_type)


def test_a_failing_fast_path_falls_back_to_feedparser(monkeypatch: pytest.MonkeyPatch) -> None:
    body = (FEEDS / "rss2.xml").read_bytes()
    expected = parse._parse_feed_slow(body, url=URL)

    def broken(*args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(parse, "_fast_read", broken)
    assert parse._parse_feed(body, url=URL, content_type=None, max_entries=500) == (expected, False)


def test_declined_feeds_still_parse_as_before() -> None:
    cp1251 = parse.parse_feed((FEEDS / "cp1251-declared.xml").read_bytes())
    assert cp1251.title == "Лента"
    with pytest.raises(FeedError, match="malformed XML"):
        parse.parse_feed((FEEDS / "malformed.xml").read_bytes())
    dtd = rss_doc(ITEM, head=RSS_HEAD + '<!DOCTYPE rss [<!ENTITY who "Putin">]>').replace(
        "“yes”".encode(), b"&who;"
    )
    assert parse.parse_feed(dtd).entries[0].title == "Putin said Putin"


def test_fast_path_reads_common_extensions() -> None:
    body = rss_doc(
        '<atom:link href="https://wire.example.com/feed.xml" rel="self" type="application/rss+xml"/>'
        "<image><title>Logo</title><url>https://wire.example.com/logo.png</url><link>/</link></image>"
        "<sy:updatePeriod>hourly</sy:updatePeriod>"
        "<item><title>Macron on Europe</title><link>https://wire.example.com/macron?a=1&amp;b=2</link>"
        "<dc:creator>Jane Roe</dc:creator><dc:date>2024-07-04T09:00:00+02:00</dc:date>"
        '<category domain="x">World</category><guid isPermaLink="true">/macron</guid>'
        "<description><![CDATA[<p>Short &amp; sweet.</p>]]></description>"
        "<content:encoded><![CDATA[<p>“Europe must stand on its own feet,” Macron said.</p>"
        "<script>x()</script><p>Second&nbsp;paragraph.</p>]]></content:encoded>"
        '<media:content url="https://wire.example.com/a.jpg" medium="image"><media:title type="plain">'
        "Photo</media:title><media:description>A photo</media:description>"
        '<media:thumbnail url="https://wire.example.com/t.jpg"/></media:content>'
        '<media:credit role="author">AFP</media:credit><slash:comments>3</slash:comments>'
        '<enclosure url="https://wire.example.com/a.mp3" type="audio/mpeg" length="1"/>'
        "<comments>https://wire.example.com/macron#comments</comments>"
        '<wfw:commentRss>/macron/feed</wfw:commentRss><x:rating value="4"/><!-- a comment --></item>',
        attrs=(
            ' xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/"'
            ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
            ' xmlns:media="http://search.yahoo.com/mrss/" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"'
            ' xmlns:slash="http://purl.org/rss/1.0/modules/slash/" xmlns:wfw="http://wellformedweb.org/CommentAPI/"'
            ' xmlns:x="https://extension.example/ns"'
        ),
    )
    assert check_same(body)
    (entry,) = parse.parse_feed(body, url=URL).entries
    assert entry.id == "https://wire.example.com/macron"
    assert entry.link == "https://wire.example.com/macron?a=1&b=2"
    assert entry.published == datetime(2024, 7, 4, 7, 0, tzinfo=UTC)
    assert entry.content == "“Europe must stand on its own feet,” Macron said.\n\nSecond paragraph."


# -- generated feeds -------------------------------------------------------------------------

WORDS = [
    "Putin",
    "said",
    "Zelensky",
    "Élysée",
    "Путин заявил",
    "習近平",
    "😀",
    "“quoted”",
    "«guillemets»",
    "café",
    "Ã©",  # UTF-8 read as Latin-1: feedparser turns it back into "é"
    "\x93smart\x94",  # C1 controls: feedparser maps them as cp1252
    "\xa0",
    "\u2028",
    "a & b",
    "x < y",
    "&amp;",
    "&nbsp;",
    "&#169;",
    "&bogus;",
    "<b>bold</b>",
    "<p>para</p>",
    "</p>",
    "<br/>",
    "<i>",
    "<blink>x</blink>",
    "<script>alert(1)</script>",
    "<style>p{}</style>",
    '<a href="/rel">link</a>',
    "<img src=x>",
    "]]",
    " ",
    "  ",
    "\n",
    "\n\n",
    "\t",
    "\r\n",
]
texts = st.lists(
    st.sampled_from(WORDS)
    | st.text(alphabet=string.ascii_letters + string.digits + string.punctuation + " \n\t", max_size=8),
    max_size=12,
).map("".join)
LINKS = [
    "https://wire.example.com/world/story-1",
    "https://wire.example.com/world/story-1/",
    "HTTPS://Wire.Example.COM:443/World/Story?utm_source=rss&id=7",
    "http://wire.example.com/a?b=1&c=2#frag",
    "http://wire.example.com/a?b=1&amp;c=2",
    "http://wire.example.com/a?b=1&c;=2",
    "http:///triple.example.com/x",
    "/relative/path",
    "relative/path?q=1",
    "../up",
    "//protocol.example.com/x",
    "?q=only",
    "#frag",
    "javascript:alert(1)",
    "mailto:press@example.com",
    "tag:example.com,2024:1",
    "urn:uuid:0f1e2d3c",
    "  https://spaces.example.com/x  ",
    "http://[::1/bad",
    "https://例え.jp/パス",
    "",
]
DATES = [
    "Mon, 01 Jan 2024 10:00:00 GMT",
    "Thu, 04 Jul 2024 12:30:00 +0300",
    "Thu, 4 Jul 2024 12:30 EST",
    "4 Jul 2024 12:30:00 Z",
    "Thu, 04 Jul 24 12:30:00 PDT",
    "Thu, 04 Jul 2024 12:30:00",
    "Sun, 31 Dec 2023 23:59:60 +0000",
    "Fri, 29 Feb 2023 10:00:00 GMT",
    "Mon, 99 Foo 99999 99:99:99 +9999",
    "2024-07-04T12:30:00Z",
    "2024-07-04T12:30:00+02:00",
    "2024-07-04T12:30:00.123456-05:30",
    "2024-07-04 12:30:00",
    "2024-07-04",
    "2024-07",
    "20240704T123000Z",
    "0000-00-00T00:00:00Z",
    "9999-12-31T23:59:59-12:00",
    "1 week ago",
    "Thursday",
    "2024年7月4日",
    "",
    "   ",
]
NAMESPACES = {
    "atom": "http://www.w3.org/2005/Atom",
    "dc": "http://purl.org/dc/elements/1.1/",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "media": "http://search.yahoo.com/mrss/",
    "slash": "http://purl.org/rss/1.0/modules/slash/",
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "x": "https://extension.example/ns",
    "georss": "http://www.georss.org/georss",
}


@st.composite
def xml_text(draw: st.DrawFn, text: str | None = None) -> str:
    """``text`` (drawn if not given) as element content: escaped, in CDATA, or with character references."""
    if text is None:
        text = draw(texts)
    text = text.replace("\r", "\n") if draw(st.booleans()) else text
    how = draw(st.sampled_from(["escape", "cdata", "charref", "quote"]))
    if how == "cdata" and "]]>" not in text:
        return f"<![CDATA[{text}]]>"
    if how == "charref":
        return "".join(f"&#{ord(c)};" if c in "<&>\r" or ord(c) > 127 else c for c in text)
    return html.escape(text, quote=how == "quote")


@st.composite
def element(draw: st.DrawFn, name: str, values: st.SearchStrategy[str], attrs: str = "") -> str:
    """``<name attrs>text</name>``, sometimes empty, sometimes with its name in other letter cases
    (feedparser lower-cases element names)."""
    prefix, _, local = name.rpartition(":")
    if draw(st.integers(0, 7)) == 0:
        local = draw(st.sampled_from([local.upper(), local.title(), local.swapcase()]))
    name = f"{prefix}:{local}" if prefix else local
    if draw(st.integers(0, 9)) == 0:
        return f"<{name}{attrs}/>"
    return f"<{name}{attrs}>{draw(xml_text(draw(values)))}</{name}>"


def a_date() -> st.SearchStrategy[str]:
    moments = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1))
    offsets = st.sampled_from([UTC, *(timezone(timedelta(minutes=m)) for m in (-720, -330, 0, 60, 345, 840))])
    formatted = st.builds(
        lambda m, tz, iso: m.replace(tzinfo=tz).isoformat() if iso else format_datetime(m.replace(tzinfo=tz)),
        moments,
        offsets,
        st.booleans(),
    )
    return st.sampled_from(DATES) | formatted


@st.composite
def rss_item(draw: st.DrawFn, p: dict[str, str], declarations: str) -> str:
    """An RSS item; ``p`` maps each namespace's usual prefix to the one this feed uses."""
    guid_attr = draw(
        st.sampled_from(
            [
                "",
                ' isPermaLink="false"',
                ' isPermaLink="true"',
                ' isPermaLink="False"',
                ' ISPERMALINK="false"',
            ]
        )
    )
    type_attr = draw(st.sampled_from(["", ' type="plain"', ' type="html"', ' type="text"', ' TYPE="HTML"']))
    links = st.sampled_from(LINKS)
    parts = [
        element("title", texts),
        element("link", links),
        element("guid", links | texts, guid_attr),
        element("pubDate", a_date()),
        element(f"{p['dc']}:date", a_date()),
        element(f"{p['atom']}:updated", a_date()),
        element("description", texts),
        element(f"{p['content']}:encoded", texts),
        element(f"{p['dc']}:creator", texts),
        element(f"{p['dc']}:title", texts),
        element(f"{p['dc']}:description", texts),
        element(f"{p['media']}:title", texts, type_attr),
        element(f"{p['media']}:description", texts, type_attr),
        element(f"{p['itunes']}:summary", texts),
        element("category", texts),
        element("comments", links),
        element(f"{p['slash']}:comments", st.just("3")),
        element(f"{p['x']}:extra", texts),
        element("source", texts, ' url="https://elsewhere.example/feed"'),
        st.builds(
            lambda h, rel, kind: f'<{p["atom"]}:link rel="{rel}" type="{kind}" href="{html.escape(h)}"/>',
            links,
            st.sampled_from(["alternate", "self", "Alternate"]),
            st.sampled_from(["text/html", "application/rss+xml"]),
        ),
        links.map(lambda h: f'<{p["atom"]}:link REL="alternate" HREF="{html.escape(h)}"/>'),
        st.just('<enclosure url="https://wire.example.com/a.mp3" type="audio/mpeg" length="1"/>'),
        st.builds(
            lambda t, d: (
                f'<{p["media"]}:content url="https://wire.example.com/a.jpg">{t}{d}</{p["media"]}:content>'
            ),
            element(f"{p['media']}:title", texts),
            element(f"{p['media']}:description", texts, type_attr),
        ),
        st.builds(
            lambda t: f"<{p['media']}:group>{t}</{p['media']}:group>", element(f"{p['media']}:title", texts)
        ),
        st.just(f'<{p["itunes"]}:image href="https://wire.example.com/i.png"/>'),
        st.just("<!-- comment --><?pi data?>"),
        st.just(f'<{p["x"]}:rating value="4"/>'),
        st.sampled_from(["45.256 -71.92", "1,2", "nan inf", "x y", "", "1 2 3 4 1 2"]).map(
            lambda v: f"<georss:point>{v}</georss:point><georss:polygon>{v}</georss:polygon>"
        ),
        st.just('<unknown>text<nested a="1">more</nested></unknown>'),
    ]
    children = draw(st.lists(st.one_of(*parts), max_size=9))
    lang = draw(st.sampled_from(["", ' xml:lang="de"']))
    return f"<item{lang}{declarations}>" + "".join(children) + "</item>"


@st.composite
def rss_feeds(draw: st.DrawFn) -> tuple[bytes, bool]:
    """An RSS 2.0 feed, and whether it is one the fast path must read (no clashing prefixes)."""
    p = {
        "atom": draw(st.sampled_from(["atom", "a"])),
        "dc": draw(st.sampled_from(["dc", "d", "DC"])),
        "content": draw(st.sampled_from(["content", "c"])),
        "media": draw(st.sampled_from(["media", "m"])),
        "slash": "slash",
        "itunes": "itunes",
        "x": draw(st.sampled_from(["x", "ext"])),
        "georss": "georss",
    }
    uris = dict(NAMESPACES)
    clean = True
    if draw(st.integers(0, 9)) == 0:  # dc: bound to content:'s namespace and the other way round
        p["dc"], p["content"] = "dc", "content"
        uris["dc"], uris["content"] = uris["content"], uris["dc"]
        clean = False
    declarations = "".join(f' xmlns:{p[k]}="{uris[k]}"' for k in NAMESPACES)
    on_root, on_channel, on_items = draw(
        st.sampled_from([(declarations, "", ""), ("", declarations, ""), (declarations, "", declarations)])
    )
    channel = [
        draw(element("title", texts, draw(st.sampled_from(["", ' type="html"'])))),
        draw(element("link", st.sampled_from(LINKS))),
        draw(element("description", texts)),
    ]
    if draw(st.booleans()):
        channel.append(
            f"<image>{draw(element('title', texts))}<url>https://wire.example.com/logo.png</url>"
            f"{draw(element('link', st.sampled_from(LINKS)))}<width>88</width></image>"
        )
    if draw(st.booleans()):
        channel.append(
            f"<textInput>{draw(element('title', texts))}{draw(element('description', texts))}"
            f"<name>q</name><link>https://wire.example.com/search</link></textInput>"
        )
    if draw(st.booleans()):
        channel.append(
            f'<{p["atom"]}:link href="https://wire.example.com/feed.xml" rel="self" type="application/rss+xml"/>'
        )
    if draw(st.booleans()):
        channel.append(f'<{p["itunes"]}:image href="https://wire.example.com/i.png"/>')
    if draw(st.booleans()):
        channel.append(draw(element("lastBuildDate", a_date())))
    items = draw(st.lists(rss_item(p, on_items), max_size=6))
    repeat = draw(st.booleans())  # an item twice, as real feeds' repeated items are
    if items and repeat:
        items.append(items[0])
    order = draw(st.permutations(channel + items))
    if draw(st.booleans()):
        order.insert(0, draw(element("title", texts)))  # a second channel title, after or before
    outside = ""
    if not on_channel and draw(st.integers(0, 5)) == 0:
        outside = draw(rss_item(p, on_items))  # an item after the channel, as RSS 0.9x had them
    version = draw(st.sampled_from(["2.0", "0.92", "0.91", "2.0.1"]))
    head = draw(st.sampled_from([RSS_HEAD, '<?xml version="1.0"?>\n', "", "\ufeff" + RSS_HEAD]))
    body = (
        f'{head}<rss version="{version}"{on_root}><channel{on_channel}>{"".join(order)}</channel>'
        f"{outside}</rss>"
    )
    return body.encode(), clean


@st.composite
def atom_entry(draw: st.DrawFn, a: str) -> str:
    text_type = st.sampled_from(["", ' type="text"', ' type="html"', ' type="TEXT"', ' type="text/html"'])
    links = st.sampled_from(LINKS)
    parts = [
        element(f"{a}id", links | texts),
        element(f"{a}title", texts, draw(text_type)),
        element(f"{a}summary", texts, draw(text_type)),
        element(f"{a}content", texts, draw(text_type)),
        element(f"{a}published", a_date()),
        element(f"{a}updated", a_date()),
        element("dc:date", a_date()),
        links.map(lambda h: f'<{a}link href="{html.escape(h)}"/>'),
        st.builds(
            lambda h, rel, kind: f'<{a}link rel="{rel}" type="{kind}" href="{html.escape(h)}"/>',
            links,
            st.sampled_from(["alternate", "ALTERNATE", "self", "enclosure", "related"]),
            st.sampled_from(["text/html", "application/xhtml+xml", "application/pdf", "html"]),
        ),
        st.just(f"<{a}link>https://wire.example.com/text-link</{a}link>"),
        st.builds(
            lambda n: f"<{a}author><{a}name>{n}</{a}name><{a}uri>/people/x</{a}uri></{a}author>", xml_text()
        ),
        st.just(f'<{a}category term="world"/>'),
        st.just(f'<{a}content src="https://wire.example.com/body.html" type="text/html"/>'),
        element("media:title", texts),
        element("media:description", texts),
    ]
    children = draw(st.lists(st.one_of(*parts), max_size=9))
    lang = draw(st.sampled_from(["", ' xml:lang="fr"']))
    return f"<{a}entry{lang}>" + "".join(children) + f"</{a}entry>"


@st.composite
def atom_feeds(draw: st.DrawFn) -> tuple[bytes, bool]:
    prefixed = draw(st.integers(0, 4)) == 0
    a = "a:" if prefixed else ""
    head = [
        draw(element(f"{a}title", texts, draw(st.sampled_from(["", ' type="html"', ' type="text"'])))),
        f"<{a}id>urn:feed</{a}id>",
        draw(element(f"{a}updated", a_date())),
        f'<{a}link rel="self" href="https://wire.example.com/feed.atom"/>',
        draw(element(f"{a}subtitle", texts)),
    ]
    entries = draw(st.lists(atom_entry(a), max_size=6))
    repeat = draw(st.booleans())
    if entries and repeat:
        entries.append(entries[-1])
    order = draw(st.permutations(head + entries))
    lang = draw(st.sampled_from(["", ' xml:lang="en"']))
    atom = f'xmlns{":a" if prefixed else ""}="http://www.w3.org/2005/Atom"'
    body = (
        f'{RSS_HEAD}<{a}feed {atom} xmlns:dc="http://purl.org/dc/elements/1.1/"'
        f' xmlns:media="http://search.yahoo.com/mrss/"{lang}>{"".join(order)}</{a}feed>'
    )
    return body.encode(), True


GENERATED = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
urls = st.sampled_from([URL, "http://Wire.Example.COM/feeds/a/b.xml?x=1", "", "file:///srv/feed.xml"])
charsets = st.sampled_from(
    [None, "application/rss+xml; charset=utf-8", "application/xml", "text/xml; charset=us-ascii"]
)


@GENERATED
@given(feed=rss_feeds(), url=urls, content_type=charsets, max_entries=st.sampled_from([500, 3, 1]))
@example(
    feed=(rss_doc("<item><title>A &amp; B</title></item><item><title>A &amp;amp; B</title></item>"), True),
    url=URL,
    content_type=None,
    max_entries=500,
)
def test_generated_rss_gives_the_same_feed_both_ways(
    feed: tuple[bytes, bool], url: str, content_type: str | None, max_entries: int
) -> None:
    body, clean = feed
    fast_read(body, url=url, charset=parse._charset_of(content_type))  # a bug raises, not declines
    taken = check_same(body, url=url, content_type=content_type, max_entries=max_entries)
    event("fast" if taken else "declined")
    if clean and ("us-ascii" not in (content_type or "") or body.isascii()):
        assert taken, "clean UTF-8 RSS 2.0 must take the fast path"


@GENERATED
@given(feed=atom_feeds(), url=urls, content_type=charsets, max_entries=st.sampled_from([500, 2]))
def test_generated_atom_gives_the_same_feed_both_ways(
    feed: tuple[bytes, bool], url: str, content_type: str | None, max_entries: int
) -> None:
    body, clean = feed
    fast_read(body, url=url, charset=parse._charset_of(content_type))
    taken = check_same(body, url=url, content_type=content_type, max_entries=max_entries)
    event("fast" if taken else "declined")
    if clean and ("us-ascii" not in (content_type or "") or body.isascii()):
        assert taken, "clean UTF-8 Atom 1.0 must take the fast path"


@settings(max_examples=300, deadline=None)
@given(body=mutated_feeds(), content_type=st.sampled_from([None, "application/rss+xml; charset=utf-8"]))
def test_mutated_fixtures_give_the_same_outcome_both_ways(body: bytes, content_type: str | None) -> None:
    fast_read(body, charset=parse._charset_of(content_type))  # raises on a bug instead of declining
    event("fast" if check_same(body, content_type=content_type, max_entries=50) else "declined")


def test_bench_style_dates_and_days() -> None:
    # Dates around the turn of a day and of a year, in the zone offsets feeds use.
    for day in (date(2023, 12, 31), date(2024, 2, 29), date(2024, 7, 4)):
        for hour in (0, 23):
            moment = datetime(day.year, day.month, day.day, hour, 59, 59, tzinfo=UTC)
            body = rss_doc(f"<item><title>x</title><pubDate>{format_datetime(moment)}</pubDate></item>")
            assert check_same(body)
            assert parse.parse_feed(body).entries[0].published == moment
