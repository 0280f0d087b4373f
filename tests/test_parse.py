"""digests.parse on fixture feeds, broken bodies, big feeds and a realistic news page."""

from __future__ import annotations

import codecs
import gzip
import os
import random
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest

from digests import parse
from digests.parse import (
    FeedEntry,
    FeedError,
    decode_bytes,
    html_to_text,
    normalise_link,
    page_text_or_fallback,
    parse_feed,
)

FEEDS = Path(__file__).resolve().parent / "fixtures" / "feeds"


def fixture(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def feed_error(body: bytes, **kwargs: str) -> str:
    with pytest.raises(FeedError) as caught:
        parse_feed(body, **kwargs)  # type: ignore[arg-type]
    return caught.value.reason


def rss(items: str, *, declaration: str = '<?xml version="1.0" encoding="utf-8"?>') -> bytes:
    return f'{declaration}<rss version="2.0"><channel><title>T</title>{items}</channel></rss>'.encode()


# -- formats ---------------------------------------------------------------------------------


def test_rss2() -> None:
    feed = parse_feed(fixture("rss2.xml"), url="https://wire.example.com/feed.xml")
    assert feed.title == "Sample World Wire"
    putin, zelensky, guterres = feed.entries

    assert putin.id == "wire-2024-0001"  # the guid
    assert putin.title == "Putin says talks with Kazakhstan were “constructive”"
    assert putin.link == "https://wire.example.com/world/putin-astana?utm_source=rss&utm_medium=feed"
    assert putin.published == datetime(2024, 7, 4, 9, 30, tzinfo=UTC)  # +03:00 → UTC
    # HTML stripped, the script's contents dropped, paragraphs kept apart.
    assert putin.content == (
        "Russian President Vladimir Putin said on Thursday that the talks were “constructive”.\n\n"
        "He added that trade had grown."
    )

    assert zelensky.id == "https://wire.example.com/world/zelensky-air-defence"  # normalised link
    assert zelensky.published == datetime(2024, 7, 3, 8, 0, tzinfo=UTC)

    # No link, no date, no guid: still parsed, identified by its title.
    assert guterres.link is None and guterres.published is None
    assert guterres.id.startswith("title:") and len(guterres.id) == len("title:") + 40
    assert "António Guterres" in guterres.content


def test_atom() -> None:
    feed = parse_feed(fixture("atom.xml"), url="https://president.example.org/statements.atom")
    assert feed.title == "Office of the President — Statements"
    remarks, summit = feed.entries
    assert remarks.id == "tag:president.example.org,2024:statement-17"
    assert remarks.title == "Remarks on energy security"  # type="html" title, tags stripped
    assert remarks.link == "https://president.example.org/statements/17"  # relative link resolved
    assert remarks.published == datetime(2024, 7, 5, 7, 15, tzinfo=UTC)  # published wins over updated
    # Full content preferred over the shorter summary; style contents dropped.
    assert remarks.content == (
        "“Energy security is national security,” the President said.\n\nShe announced a new grid plan."
    )
    assert "color" not in remarks.content
    assert summit.published == datetime(2024, 7, 4, 18, 0, tzinfo=UTC)  # only <updated>
    assert summit.content == "The President said the summit had been a success."
    # A local feed's relative links stay relative (never turned into file:// links).
    local = parse_feed(fixture("atom.xml"), url=(FEEDS / "atom.xml").as_uri())
    assert local.entries[0].link == "/statements/17"


def test_rss1_rdf() -> None:
    feed = parse_feed(fixture("rss1.xml"))
    assert feed.title == "Example Daily (RSS 1.0)"
    assert [e.title for e in feed.entries] == [
        "Modi says India will host the summit",
        "Macron: Europe must “wake up”",
    ]
    assert feed.entries[0].id == "https://news.example.net/2024/07/modi-remarks"
    assert feed.entries[1].published == datetime(2024, 7, 1, 14, 0, tzinfo=UTC)  # dc:date


def test_rss091_latin1() -> None:
    (entry,) = parse_feed(fixture("rss091.xml")).entries
    assert entry.title == "Erdogan says Turkey will mediate"
    assert entry.link == "http://oldschool.example.com/erdogan-mediate.html"
    assert entry.published is None


def test_valid_feed_without_entries_is_empty_not_an_error() -> None:
    feed = parse_feed(fixture("empty-channel.xml"))
    assert feed.title == "Quiet wire" and feed.entries == ()


# -- encodings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", [None, "application/rss+xml; charset=utf-8", "text/xml; charset=UTF-8"]
)
def test_cp1252_body_declared_utf8(content_type: str | None) -> None:
    feed = parse_feed(fixture("cp1252-declared-utf8.xml"), content_type=content_type)
    (entry,) = feed.entries
    assert feed.title == "Wire – Europe"
    assert entry.title == "Macron’s “plan” for Europe"
    assert entry.content == "Macron said the café meeting in Zürich was “très utile”."


@pytest.mark.parametrize("content_type", [None, "text/xml", "application/xml", "text/html"])
def test_utf8_body_without_declaration(content_type: str | None) -> None:
    feed = parse_feed(fixture("utf8-no-declaration.xml"), content_type=content_type)
    assert feed.title == "Новости — Kremlin wire"
    (entry,) = feed.entries
    assert entry.title == "Путин заявил о «важных переговорах»"
    assert "Grüße aus Köln" in entry.content


@pytest.mark.parametrize(
    "content_type", [None, "text/xml; charset=iso-8859-1", "application/rss+xml; charset=windows-1252"]
)
def test_utf8_body_declared_as_a_legacy_charset(content_type: str | None) -> None:
    (entry,) = parse_feed(fixture("utf8-declared-latin1.xml"), content_type=content_type).entries
    assert entry.title == "Scholz: “Wir schaffen das” – über München"
    assert entry.content == "Olaf Scholz sagte, die Lösung sei „möglich“. Путин молчал."


def test_correctly_declared_cp1251() -> None:
    feed = parse_feed(fixture("cp1251-declared.xml"))
    assert feed.title == "Лента"
    assert feed.entries[0].content == "Владимир Зеленский заявил, что помощь нужна «сейчас»."


def test_utf16_with_bom() -> None:
    body = codecs.BOM_UTF16_LE + fixture("utf8-no-declaration.xml").decode("utf-8").encode("utf-16-le")
    assert parse_feed(body).entries[0].title == "Путин заявил о «важных переговорах»"


def test_decode_bytes() -> None:
    text = "“Quotes” café über Путин"
    assert decode_bytes(text.encode("utf-8")) == text
    assert decode_bytes(codecs.BOM_UTF8 + text.encode("utf-8")) == text
    assert decode_bytes(codecs.BOM_UTF16_BE + text.encode("utf-16-be"), "latin-1") == text
    assert decode_bytes("Путин".encode("cp1251"), "windows-1251") == "Путин"
    assert decode_bytes("Путин".encode("cp1251"), "text/html; charset=windows-1251") == "Путин"
    # A wrong declaration: UTF-8 wins over latin-1; a bad UTF-8 claim falls back to cp1252.
    assert decode_bytes("café".encode(), "iso-8859-1") == "café"
    assert decode_bytes("“café”".encode("cp1252"), "utf-8") == "“café”"
    assert decode_bytes("café".encode("cp1252"), "no-such-charset") == "café"
    # Never raises, whatever the bytes.
    assert decode_bytes(bytes(range(256))) == bytes(range(256)).decode("latin-1")
    assert decode_bytes(b"") == ""


# -- not feeds -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "image/png"),
        (b"\xff\xd8\xff\xe0" + bytes(200), "image/jpeg"),
        (b"%PDF-1.7\n" + bytes(100), "application/pdf"),
        (gzip.compress(b"<rss/>"), "gzip-compressed data"),
    ],
)
def test_binary_bodies_by_signature(body: bytes, kind: str) -> None:
    assert feed_error(body) == f"not a feed: body is binary ({kind})"


def test_random_bytes_and_nul_bytes() -> None:
    noise = random.Random(7).randbytes(4096)
    assert feed_error(noise).startswith("not a feed: body is binary")
    assert (
        feed_error(noise, content_type="application/octet-stream")
        == "not a feed: body is binary (application/octet-stream)"
    )
    assert feed_error(b'<rss version="2.0">\x00\x00\x00<channel/></rss>').startswith(
        "not a feed: body is binary"
    )


def test_html_page() -> None:
    assert feed_error(fixture("not-a-feed.html")) == "not a feed: HTML page, no feed entries"
    assert feed_error(fixture("article-page.html"), content_type="text/html; charset=utf-8") == (
        "not a feed: HTML page, no feed entries"
    )


def test_malformed_xml_reason_names_the_line() -> None:
    assert feed_error(fixture("malformed.xml")) == "not a feed: malformed XML (mismatched tag at line 3)"
    assert feed_error(b"<rss version='2.0'>\n<channel>\n<title>x</titl>") == (
        "not a feed: malformed XML (mismatched tag at line 3)"
    )


def test_other_non_feeds() -> None:
    assert feed_error(b"") == "empty body"
    assert feed_error(b"  \r\n\t ") == "empty body"
    assert feed_error(b"just words, no markup") == "not a feed: not XML"
    assert (
        feed_error(b'{"version": "https://jsonfeed.org/version/1.1"}') == "not a feed: JSON, not RSS or Atom"
    )
    assert feed_error(b"<catalog><book>x</book></catalog>") == "not a feed: no RSS or Atom elements found"


def test_bozo_feed_keeps_the_entries_it_recovered() -> None:
    # An unescaped "&" and an undefined entity make it ill-formed XML; the entries still count.
    body = rss(
        "<item><title>Lula says Brazil & Argentina agree</title><link>https://e.com/lula</link></item>"
        "<item><title>Milei &nbsp; replies</title><link>https://e.com/milei</link></item>"
    )
    titles = [e.title for e in parse_feed(body).entries]
    assert titles[0] == "Lula says Brazil & Argentina agree"
    assert len(titles) == 2


# -- identity and limits ---------------------------------------------------------------------


def test_identity_guid_then_normalised_link_then_title_hash() -> None:
    body = rss(
        "<item><guid>urn:uuid:1</guid><link>https://e.com/a</link><title>A</title></item>"
        "<item><link>https://E.com:443/b/?utm_source=x&amp;id=2#top</link><title>B</title></item>"
        "<item><title>C</title></item>"
    )
    a, b, c = parse_feed(body).entries
    assert a.id == "urn:uuid:1"
    assert b.id == "https://e.com/b?id=2"
    assert b.link == "https://E.com:443/b/?utm_source=x&id=2#top"  # the link itself is left as written
    assert c.id == "title:" + "32096c2e0eff33d844ee6d675407ace18289357d"  # sha1("C")


def test_same_link_with_tracking_params_gives_the_same_id() -> None:
    plain = parse_feed(rss("<item><link>https://news.example.com/story?id=7</link><title>A</title></item>"))
    tracked = parse_feed(
        rss(
            "<item><link>https://news.example.com/story?utm_source=tw&amp;id=7&amp;utm_medium=social"
            "&amp;fbclid=abc</link><title>A (updated headline)</title></item>"
        )
    )
    assert plain.entries[0].id == tracked.entries[0].id == "https://news.example.com/story?id=7"


def test_duplicate_entries_in_one_feed_are_kept_once() -> None:
    body = rss(
        "<item><guid>g1</guid><title>First</title></item><item><guid>g1</guid><title>Again</title></item>"
    )
    assert [e.title for e in parse_feed(body).entries] == ["First"]


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("HTTPS://Example.COM/a/b/", "https://example.com/a/b"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/", "https://example.com/"),
        ("http://example.com:80/x", "http://example.com/x"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("https://example.com/x?b=2&a=1&utm_campaign=z#frag", "https://example.com/x?a=1&b=2"),
        ("https://example.com/x?gclid=1&UTM_SOURCE=2&fbclid=3", "https://example.com/x"),
        ("https://example.com/Case/Path", "https://example.com/Case/Path"),
        ("  https://example.com/x  ", "https://example.com/x"),
        ("tag:example.com,2024:1", "tag:example.com,2024:1"),
        ("/relative/path/", "/relative/path/"),
    ],
)
def test_normalise_link(url: str, normal: str) -> None:
    assert normalise_link(url) == normal


def _big_feed(n: int, *, dated: bool, shuffle: bool) -> bytes:
    order = list(range(n))
    if shuffle:
        random.Random(3).shuffle(order)
    items = []
    for i in order:
        date = f"<pubDate>{format_datetime(datetime.fromtimestamp(1_700_000_000 + i * 60, UTC), usegmt=True)}</pubDate>"
        items.append(
            f"<item><title>Statement {i}</title><link>https://e.com/{i}</link>"
            f"{date if dated else ''}<description>&lt;p&gt;Leader said “{i}”.&lt;/p&gt;</description></item>"
        )
    return rss("".join(items))


def test_10000_entries_keeps_the_newest_500_quickly() -> None:
    body = _big_feed(10_000, dated=True, shuffle=True)
    started = time.monotonic()
    feed = parse_feed(body)
    elapsed = time.monotonic() - started
    numbers = sorted(int(e.title.split()[1]) for e in feed.entries)
    assert numbers == list(range(9_500, 10_000))
    assert elapsed < 3, f"{elapsed:.2f} s"


def test_big_atom_feed_in_a_legacy_charset_keeps_the_newest() -> None:
    entries = "".join(
        f"<entry><id>urn:e:{i}</id><title>Erklärung {i}</title>"
        f"<updated>{datetime.fromtimestamp(1_700_000_000 + i * 3600, UTC).isoformat()}</updated></entry>"
        for i in random.Random(5).sample(range(2_000), 2_000)
    )
    body = (
        '<?xml version="1.0" encoding="iso-8859-1"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Grüße</title>{entries}</feed>"
    ).encode("latin-1")
    feed = parse_feed(body, max_entries=100)
    assert feed.title == "Grüße"
    assert sorted(int(e.title.split()[1]) for e in feed.entries) == list(range(1_900, 2_000))
    assert all(e.title.startswith("Erklärung") for e in feed.entries)


def test_10000_undated_entries_keep_document_order() -> None:
    feed = parse_feed(_big_feed(10_000, dated=False, shuffle=False), max_entries=50)
    assert [e.title for e in feed.entries] == [f"Statement {i}" for i in range(50)]


def test_max_entries_on_a_small_feed_prefers_dated_then_document_order() -> None:
    body = rss(
        "<item><title>undated</title></item>"
        "<item><title>old</title><pubDate>Mon, 01 Jan 2024 00:00:00 GMT</pubDate></item>"
        "<item><title>new</title><pubDate>Tue, 02 Jan 2024 00:00:00 GMT</pubDate></item>"
    )
    assert [e.title for e in parse_feed(body, max_entries=2).entries] == ["old", "new"]
    assert [e.title for e in parse_feed(body, max_entries=1).entries] == ["new"]


def test_unparseable_date_is_none() -> None:
    body = rss("<item><title>x</title><pubDate>sometime last week</pubDate></item>")
    assert parse_feed(body).entries[0].published is None


def test_entry_html_is_stripped_safely() -> None:
    body = rss(
        "<item><title>t</title><description><![CDATA["
        "<p>Said&nbsp;it  was <b>“fine”</b> &amp; done.</p><script>document.write('evil')</script>"
        "<style>.x{}</style><noscript>enable js</noscript><p>Second<br>line</p>"
        "]]></description></item>"
    )
    assert parse_feed(body).entries[0].content == "Said it was “fine” & done.\n\nSecond\nline"


# -- pages -----------------------------------------------------------------------------------


def test_html_to_text_keeps_the_article_and_drops_the_boilerplate() -> None:
    text = html_to_text(fixture("article-page.html"), url="https://wire.example.com/world/putin-astana")
    assert text is not None
    assert "“We discussed the whole range of issues, from security to trade," in text
    assert "Kazakh President Kassym-Jomart Tokayev, who hosted the summit" in text
    for boilerplate in (
        "Subscribe for unlimited access",
        "Markets",
        "cookies",
        "Privacy policy",
        "Related stories",
        "trackReader",
        "font-family",
    ):
        assert boilerplate not in text
    paragraphs = text.split("\n\n")
    assert any(p.startswith("ASTANA, July 4") for p in paragraphs)
    assert all(p.strip() == p and "\n" not in p for p in paragraphs)


@pytest.mark.parametrize(
    "html",
    [
        b"",
        "   ",
        b"<html><body></body></html>",
        b"<html><head><title>Gallery</title></head><body><nav><a href='/'>Home</a></nav><img src='a.jpg'></body></html>",
        b"\x89PNG\r\n\x1a\n" + bytes(300),
        os.urandom(2000),
    ],
)
def test_html_to_text_without_text_is_none(html: bytes | str) -> None:
    assert html_to_text(html) is None


def test_page_text_or_fallback() -> None:
    entry = FeedEntry(
        id="x", link="https://wire.example.com/x", title="t", published=None, content="Short summary."
    )
    page = page_text_or_fallback(fixture("article-page.html"), entry)
    assert "ASTANA, July 4" in page and "Privacy policy" not in page
    assert page_text_or_fallback(None, entry) == "Short summary."
    assert page_text_or_fallback(b"<html><body><nav>Home</nav></body></html>", entry) == "Short summary."
    long_entry = FeedEntry(id="y", link=None, title="t", published=None, content="word " * 5000)
    assert page_text_or_fallback(fixture("article-page.html"), long_entry) == long_entry.content


def test_content_encoded_without_a_description_comes_back_as_text_both_ways() -> None:
    body = (
        b'<?xml version="1.0" encoding="utf-8"?>'
        b'<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>T</title>'
        b"<item><title>Story</title><link>https://example.org/a</link>"
        b"<content:encoded><![CDATA[<p>Putin said <b>nothing</b> new.</p><script>alert(1)</script>]]></content:encoded>"
        b"</item></channel></rss>"
    )
    for result in (parse.parse_feed(body), parse._parse_feed_slow(body)):
        [entry] = result.entries
        assert entry.content == "Putin said nothing new."
