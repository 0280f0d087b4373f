"""Feed bytes → entries (feedparser) and page HTML → main text (trafilatura).

``parse_feed`` turns the body of an RSS 0.9x/1.0/2.0 or Atom feed into ``FeedEntry`` items with a
stable identity (guid, else normalised link, else a hash of the title), an aware UTC date and the
entry's own content as plain text. It recovers what it can from broken feeds (wrong or missing
declared encodings, feedparser "bozo" feeds that still yield entries) and raises ``FeedError``
with a one-line reason when the body is not a feed at all (empty, binary, an HTML page,
malformed XML). Clean UTF-8 RSS 2.0 and Atom 1.0 feeds are read with lxml, giving exactly what
feedparser would at a fraction of its cost (see "fast path"); everything else goes to feedparser.
``html_to_text`` extracts an article page's main text.

This module must not do I/O (bytes in, values out), must not keep state between calls, and
never returns HTML: every text it hands on is plain, with script and style contents dropped.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit
from xml.sax import SAXParseException

import feedparser
import feedparser.datetimes
import feedparser.encodings
import feedparser.html
import feedparser.mixin
import feedparser.urls
import feedparser.util
from lxml import etree

__all__ = [
    "FeedEntry",
    "FeedError",
    "ParsedFeed",
    "decode_bytes",
    "html_to_text",
    "normalise_link",
    "page_text_or_fallback",
    "parse_feed",
]

logger = logging.getLogger(__name__)


class FeedError(Exception):
    """A body that yields no feed entries; ``reason`` is one human line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class FeedEntry:
    id: str  # guid, else normalised link, else "title:" + sha1(title); unique within one feed
    link: str | None  # resolved against the feed's http(s) URL when given, else as written
    title: str  # plain text
    published: datetime | None  # aware UTC: published, else updated; None if missing/unparseable
    content: str  # the entry's own content or summary (the longer) as plain text


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    entries: tuple[FeedEntry, ...]  # document order


# -- feeds -----------------------------------------------------------------------------------


def parse_feed(
    body: bytes, *, url: str = "", content_type: str | None = None, max_entries: int = 500
) -> ParsedFeed:
    """Parse a feed body. ``content_type`` is the response's Content-Type header (its charset is
    honoured, but a body that is plainly UTF-8 wins over a wrong legacy charset); ``url`` resolves
    relative links. Keeps at most ``max_entries``: the newest by date, undated ones after the
    dated ones in document order. A valid feed without entries gives an empty ``entries``.
    """
    return _parse_feed(body, url=url, content_type=content_type, max_entries=max_entries)[0]


def _parse_feed_slow(
    body: bytes, *, url: str = "", content_type: str | None = None, max_entries: int = 500
) -> ParsedFeed:
    """``parse_feed`` through feedparser only (the reference the fast path is tested against)."""
    return _parse_feed(body, url=url, content_type=content_type, max_entries=max_entries, fast=False)[0]


def _parse_feed(
    body: bytes, *, url: str, content_type: str | None, max_entries: int, fast: bool = True
) -> tuple[ParsedFeed, bool]:
    """``parse_feed``, and whether the lxml fast path (rather than feedparser) read the feed."""
    if not body.strip():
        raise FeedError("empty body")
    binary = _binary_kind(body, content_type)
    if binary:
        raise FeedError(f"not a feed: body is binary ({binary})")
    charset = _charset_of(content_type)
    if _count_entry_tags(body) > max_entries:
        trimmed = _pretrim(body, charset, max_entries)
        if trimmed is not None:
            body, charset = trimmed, "utf-8"

    if fast:
        try:
            quick = _fast_feed(body, url, charset, max_entries)
        except Exception as exc:  # a bug in the fast path must not cost the feed: feedparser reads it
            logger.debug("fast feed path failed (%s); using feedparser", type(exc).__name__)
            quick = None
        if quick is not None:
            return quick, True

    result = _feedparser(body, url, charset)
    if _utf8_misread(body, result):
        # A UTF-8 body declared (or defaulted) as a legacy charset reads as mojibake ("Ã©").
        result = _feedparser(body, url, "utf-8")
    entries = _entries(result.entries, max_entries)
    if not entries and result.get("bozo"):
        # Last resort for encodings feedparser could not sort out: decode ourselves, retry.
        retry = _feedparser(decode_bytes(body, charset).encode("utf-8"), url, "utf-8")
        retry_entries = _entries(retry.entries, max_entries)
        if retry_entries:
            result, entries = retry, retry_entries
    if not entries:
        reason = _not_a_feed_reason(body, result, content_type)
        if reason:
            raise FeedError(reason)
    feed_title = _text_of(result.feed.get("title", ""), result.feed.get("title_detail"))
    return ParsedFeed(title=feed_title, entries=tuple(entries)), False


def _feedparser(body: bytes, url: str, charset: str | None) -> Any:
    try:
        return _feedparser_once(body, url, charset)
    except Exception as exc:  # feedparser itself, on hostile bytes
        # An XML declaration naming its encoding in bytes that are not UTF-8 makes feedparser
        # raise UnicodeDecodeError: decode the body here and read it once more without it.
        logger.debug("feedparser failed (%s); retrying without the XML declaration", type(exc).__name__)
        text = _XML_DECLARATION_TEXT.sub("", decode_bytes(body, charset), count=1)
        try:
            return _feedparser_once(text.encode("utf-8"), url, "utf-8")
        except Exception:
            raise FeedError(f"not a feed: unreadable XML ({type(exc).__name__})") from None


def _feedparser_once(body: bytes, url: str, charset: str | None) -> Any:
    # Always a stream: given bytes, feedparser first tries to open them as a file name.
    # Always an XML content type: with "text/xml" and no charset feedparser assumes us-ascii,
    # and with no Content-Type at all it assumes iso-8859-1.
    headers = {"content-type": "application/xml" + (f"; charset={charset}" if charset else "")}
    if url.lower().startswith(("http://", "https://")):
        # Relative links resolve against web URLs only: feedparser mangles file:// bases.
        headers["content-location"] = url
    # feedparser's sanitiser is slow and we keep no HTML: _strip_html drops scripts and styles.
    return feedparser.parse(
        io.BytesIO(body), response_headers=headers, sanitize_html=False, resolve_relative_uris=False
    )


def _entries(raw_entries: Iterable[Any], max_entries: int) -> list[FeedEntry]:
    """Pick the newest ``max_entries`` distinct entries, build them, in document order.

    ``raw_entries`` are feedparser's entry dicts, or the fast path's dicts with the same keys."""
    candidates: list[tuple[int, str, str | None, str, datetime | None, Any]] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_entries):
        link = (raw.get("link") or "").strip() or None
        title = _text_of(raw.get("title", ""), raw.get("title_detail"))
        guid = (raw.get("id") or "").strip()
        if guid:
            key = guid
        elif link:
            key = normalise_link(link)
        elif title:
            key = "title:" + hashlib.sha1(title.encode("utf-8")).hexdigest()
        else:
            content = _content_of(raw)
            if not content:
                continue  # nothing to identify or show: feedparser's debris from broken XML
            key = "content:" + hashlib.sha1(content.encode("utf-8")).hexdigest()
        if key in seen:
            continue
        seen.add(key)
        candidates.append((index, key, link, title, _date_of(raw), raw))
    if len(candidates) > max_entries:
        newest_first = sorted(
            candidates,
            key=lambda c: (c[4] is not None, c[4] or datetime.min.replace(tzinfo=UTC), -c[0]),
            reverse=True,
        )
        candidates = sorted(newest_first[: max(max_entries, 0)], key=lambda c: c[0])
    return [
        FeedEntry(id=key, link=link, title=title, published=published, content=_content_of(raw))
        for _, key, link, title, published, raw in candidates
    ]


def _text_of(value: str | None, detail: Any) -> str:
    if not isinstance(value, str):
        return ""  # feedparser leaves None behind for some elements cut short in broken XML
    kind = (detail or {}).get("type", "") if isinstance(detail, dict) else ""
    if "html" in kind:
        return _tidy(_strip_html(value))
    return _tidy(value)


def _content_of(raw: Any) -> str:
    contents = raw.get("content", []) or []
    texts = [_text_of(c.get("value", ""), c) for c in contents]
    summary, detail = raw.get("summary", ""), raw.get("summary_detail")
    if not detail and any(summary == c.get("value") for c in contents):
        pass  # an item with content:encoded and no description: feedparser copies the content's
        # HTML into "summary" without its type, which would pass the markup through as text
    else:
        texts.append(_text_of(summary, detail))
    return max(texts, key=len, default="")


def _date_of(raw: Any) -> datetime | None:
    for field in ("published", "updated", "created"):
        # dict.get: FeedParserDict.get maps a missing "updated" to "published" with a warning.
        parsed = dict.get(raw, field + "_parsed")
        if parsed:
            try:
                year, month, day, hour, minute, second = (int(v) for v in parsed[:6])
                return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
            except (TypeError, ValueError, OverflowError):
                pass
        text = dict.get(raw, field)
        if text:
            fallback = _parse_date(text)
            if fallback is not None:
                return fallback
    return None


def _parse_date(text: str) -> datetime | None:
    """RFC 822 or ISO 8601 to aware UTC; naive times are taken as UTC."""
    text = text.strip()
    if not text:
        return None
    value: datetime | None = None
    try:
        value = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _not_a_feed_reason(body: bytes, result: Any, content_type: str | None) -> str | None:
    """Why a body with no entries is not a feed, or None for a valid feed that is just empty."""
    head = body[:4096].lstrip().lower()
    version = result.get("version", "")
    looks_html = (content_type or "").lower().startswith(("text/html", "application/xhtml")) or bool(
        _HTML_START.search(head)
    )
    if not version and looks_html and not _FEED_START.search(head):
        return "not a feed: HTML page, no feed entries"
    if not version and head[:1] in (b"{", b"["):
        return "not a feed: JSON, not RSS or Atom"
    if not version and not head.lstrip(b"\xef\xbb\xbf\xff\xfe\x00").startswith(b"<"):
        return "not a feed: not XML"
    error = result.get("bozo_exception")
    if isinstance(error, SAXParseException):
        line = error.getLineNumber() or 1
        if not _XML_DECLARATION.match(body):
            line -= 1  # feedparser prepended an XML declaration line
        return f"not a feed: malformed XML ({error.getMessage()} at line {max(line, 1)})"
    if version:
        return None
    return "not a feed: no RSS or Atom elements found"


_HTML_START = re.compile(rb"<(!doctype\s+html|html[\s>]|head[\s>]|body[\s>])")
_FEED_START = re.compile(rb"<(\w+:)?(rss|feed|rdf)[\s>]")


# -- encodings -------------------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE, whose BOM is its prefix
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:\-]+)""", re.IGNORECASE)
_XML_DECLARATION = re.compile(rb"^(\xef\xbb\xbf)?<\?xml[\s?]")
_XML_DECLARATION_TEXT = re.compile(r"^\ufeff?\s*<\?xml[^>]*\?>")
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([\w.:\-]+)["']""")


def decode_bytes(body: bytes, declared: str | None = None) -> str:
    """Decode text whatever its encoding claims; never raises.

    Order: a byte-order mark; the ``declared`` charset (a name, or a Content-Type with
    ``charset=``) if it decodes cleanly, unless it is a legacy charset and the body is valid,
    non-ASCII UTF-8 (real legacy text practically never is); UTF-8; cp1252; latin-1.
    """
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            try:
                return body[len(bom) :].decode(encoding)
            except UnicodeDecodeError:
                break
    utf8: str | None
    try:
        utf8 = body.decode("utf-8")
    except UnicodeDecodeError:
        utf8 = None
    codec = _codec(_charset_name(declared))
    if codec is not None:
        if utf8 is not None and not codec.startswith("utf") and not body.isascii():
            return utf8
        try:
            return body.decode(codec)
        except UnicodeDecodeError:
            pass
    if utf8 is not None:
        return utf8
    try:
        return body.decode("cp1252")
    except UnicodeDecodeError:
        return body.decode("latin-1")


def _charset_name(declared: str | None) -> str | None:
    if not declared:
        return None
    if "=" in declared or "/" in declared:
        match = _CHARSET.search(declared)
        return match.group(1) if match else None
    return declared.strip().strip("\"'") or None


def _charset_of(content_type: str | None) -> str | None:
    name = _charset_name(content_type) if content_type and "=" in content_type else None
    return name if _codec(name) else None


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _utf8_misread(body: bytes, result: Any) -> bool:
    encoding = _codec(result.get("encoding") or "") or ""
    if not encoding or encoding.startswith("utf") or body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# -- binary bodies ---------------------------------------------------------------------------

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"BZh", "bzip2-compressed data"),
    (b"\xfd7zXZ\x00", "xz-compressed data"),
    (b"(\xb5/\xfd", "zstd-compressed data"),
    (b"OggS", "audio/ogg"),
    (b"ID3", "audio/mpeg"),
    (b"\x7fELF", "executable"),
    (b"wOFF", "font/woff"),
    (b"wOF2", "font/woff2"),
)
_CONTROL = bytes(b for b in range(32) if b not in b"\t\n\r\x0c\x1b") + b"\x7f"


def _binary_kind(body: bytes, content_type: str | None) -> str | None:
    """What binary thing ``body`` is, or None when it looks like text."""
    for magic, kind in _MAGIC:
        if body.startswith(magic):
            return kind
    if body[4:8] == b"ftyp":
        return "video/mp4"
    if body.startswith(b"RIFF") and body[8:12] in (b"WEBP", b"WAVE", b"AVI "):
        return {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/avi"}[body[8:12]]
    sample = body[:8192]
    if any(sample.startswith(bom) for bom, _ in _BOMS) or sample[:2] in (b"<\x00", b"\x00<"):
        return None  # UTF-16/32 text has NUL bytes by design
    controls = len(sample) - len(sample.translate(None, _CONTROL))
    if b"\x00" in sample or controls > len(sample) * 0.05:
        mime = (content_type or "").split(";")[0].strip().lower()
        if mime and "xml" not in mime and not mime.startswith("text/"):
            return mime
        return "NUL or control bytes" if b"\x00" in sample else "control bytes"
    return None


# -- very large feeds ------------------------------------------------------------------------

_ENTRY_TAGS = re.compile(rb"<(?:\w+:)?(?:item|entry)[\s>]")
_FEED_NAMESPACES = {
    "",
    "http://purl.org/rss/1.0/",
    "http://my.netscape.com/rdf/simple/0.9/",
    "http://www.w3.org/2005/Atom",
    "http://purl.org/atom/ns#",
    "http://backend.userland.com/rss2",
}
_DATE_TAGS = ("pubDate", "published", "updated", "date", "issued", "modified", "created")


def _count_entry_tags(body: bytes) -> int:
    return len(_ENTRY_TAGS.findall(body))


def _pretrim(body: bytes, charset: str | None, max_entries: int) -> bytes | None:
    """Cut a huge well-formed feed down to its newest ``max_entries`` before feedparser sees it.

    feedparser needs ~0.2 ms per entry; lxml finds the dates of 10,000 entries in a fraction of
    that. Returns UTF-8 XML, or None when the body is not plain well-formed XML (then feedparser
    gets it whole, slower but as tolerant as ever).
    """
    head = body[:4096]
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        return None
    declared = charset
    if declared is None:
        match = _XML_ENCODING.search(head)
        declared = match.group(1).decode("ascii") if match else "utf-8"
    text = decode_bytes(body, declared)
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text, count=1)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(text.encode("utf-8"), parser)
    except etree.XMLSyntaxError:
        return None
    items: list[tuple[int, datetime | None, Any]] = []
    for index, element in enumerate(_feed_items(root.iter())):
        items.append((index, _element_date(element), element))
    if len(items) <= max_entries:
        return None
    newest_first = sorted(
        items,
        key=lambda i: (i[1] is not None, i[1] or datetime.min.replace(tzinfo=UTC), -i[0]),
        reverse=True,
    )
    for _, _, element in newest_first[max_entries:]:
        parent = element.getparent()
        if parent is not None:
            parent.remove(element)
    trimmed: bytes = etree.tostring(root, encoding="utf-8", xml_declaration=True)
    return trimmed


def _feed_items(elements: Iterable[Any]) -> Iterable[Any]:
    for element in elements:
        if not isinstance(element.tag, str):
            continue  # comments, processing instructions
        qname = etree.QName(element)
        if qname.localname in ("item", "entry") and (qname.namespace or "") in _FEED_NAMESPACES:
            yield element


def _element_date(element: Any) -> datetime | None:
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if etree.QName(child).localname in _DATE_TAGS and child.text:
            value = _parse_date(child.text)
            if value is not None:
                return value
    return None


# -- fast path -------------------------------------------------------------------------------
#
# feedparser takes ~3 ms for a typical 16 KB feed, most of it in its SAX callbacks. For the common
# clean case the fast path parses the body with lxml instead and replays what feedparser 6.0's
# handlers do with the elements that decide what ``_entries`` reads (titles, links, ids,
# descriptions, content, dates) and with the feed's title: the same element names, the same state
# (element depths, the context an element writes to, content types), the same clean-up of each
# text, and feedparser's own helpers for dates, URL joins and its "looks like HTML" guess. Elements
# that cannot change those values (authors, categories, enclosures, media:*, unknown extensions...)
# are only checked for that. Anything it does not replay with certainty — another encoding, a DTD,
# xml:base, RSS 1.0, Atom 0.3, XHTML or base64 content, markup inside a text element, a feedparser
# handler it does not mirror, clashing namespace prefixes — makes it decline (None), and feedparser
# reads the feed as before. ``tests/test_parse_fast.py`` holds the two paths to the same results.

_FAST_PATH = str(getattr(feedparser, "__version__", "")).startswith("6.0.")  # the handlers mirrored

_FP_MIXIN: Any = feedparser.mixin._FeedParserMixin
_FP_NAMESPACES: dict[str, str] = {uri.lower(): prefix for uri, prefix in _FP_MIXIN.namespaces.items()}
_FP_PREFIXES = frozenset(prefix.lower() for prefix in _FP_NAMESPACES.values() if prefix)
_FP_HANDLERS = frozenset(
    name.split("_", 2)[2] for name in dir(_FP_MIXIN) if name.startswith(("_start_", "_end_"))
)
_FP_KEYMAP: dict[str, Any] = feedparser.util.FeedParserDict.keymap
_FP_RELATIVE: frozenset[str] = frozenset(_FP_MIXIN.can_be_relative_uri)
_FP_HTML_TYPES = frozenset({"application/xhtml+xml", "text/html"})
_FP_COPIED_TO_SUMMARY = frozenset({"text/plain", "text/html", "application/xhtml+xml"})
_FP_CP1252: dict[int, str] = feedparser.html._cp1252
_FP_PI_ENCODING: re.Pattern[bytes] = feedparser.encodings.RE_XML_PI_ENCODING
_FP_ENTITY_LIKE = re.compile("&([A-Za-z0-9_]+);")
_C1_CONTROLS = re.compile("[\x80-\x9f]")  # the only characters _FP_CP1252 maps

_ATOM = "http://www.w3.org/2005/Atom"
_RDF_FEED_NAMESPACES = frozenset({"http://purl.org/rss/1.0/", "http://my.netscape.com/rdf/simple/0.9/"})
_INJECTED_XMLNS = frozenset({"http://www.w3.org/1998/Math/MathML", "http://www.w3.org/2000/svg"})
_ASCII_SUPERSETS = frozenset({"ascii", "utf-8", "iso8859-1", "iso8859-15", "cp1252"})
_FAST_DECLARATION = re.compile(
    rb"""<\?xml\s+version\s*=\s*(["'])1\.0\1"""
    rb"""(?:\s+encoding\s*=\s*(["'])([A-Za-z][\w.\-]*)\2)?"""
    rb"""(?:\s+standalone\s*=\s*(["'])(?:yes|no)\4)?\s*\?>"""
)
_FIRST_ELEMENT = re.compile(rb"<\w")
# Keys that feedparser's own handlers read or build on: an unknown element writing one of them
# (``<date>`` becomes "updated", ``<links>`` would clobber a list) is not replayed.
_FAST_RESERVED = frozenset(
    {
        "title",
        "link",
        "links",
        "id",
        "summary",
        "content",
        "published",
        "updated",
        "created",
        "image",
        "textinput",
        "source",
        "tags",
        "author",
        "authors",
        "contributors",
        "publisher",
        "guidislink",
        "cloud",
        "media_content",
        "media_thumbnail",
        "media_credit",
        "media_rating",
        "media_restriction",
        "media_license",
        "media_player",
    }
)


class _Decline(Exception):
    """The fast path does not read this feed; feedparser does."""


def _fast_feed(body: bytes, url: str, charset: str | None, max_entries: int) -> ParsedFeed | None:
    """The feed as the feedparser path would give it, or None when the fast path declines.

    ``charset`` is the Content-Type's charset as ``_feedparser`` would be given it."""
    if not _FAST_PATH:
        return None
    try:
        feed, raw_entries = _fast_read(body, url, charset)
    except _Decline as why:
        logger.debug("feedparser reads %s: %s", url or "a feed", why)
        return None
    return ParsedFeed(
        title=_text_of(feed.get("title", ""), feed.get("title_detail")),
        entries=tuple(_entries(raw_entries, max_entries)),
    )


def _fast_read(body: bytes, url: str, charset: str | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if b"\x00" in body:
        raise _Decline("NUL bytes")
    data = body[3:] if body.startswith(codecs.BOM_UTF8) else body
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise _Decline("not UTF-8") from None
    ascii_only = data.isascii()
    # feedparser decodes with the Content-Type's charset, else the one its regex finds in the first
    # line, else UTF-8; lxml with the XML declaration's. Both must read these bytes as UTF-8 does.
    newline = data.find(b"\n")
    found = _FP_PI_ENCODING.match(data if newline < 0 else data[:newline])
    fp_encoding = charset or (found.group(1).decode("utf-8").lower() if found else "") or "utf-8"
    if not _reads_as_utf8(fp_encoding, ascii_only):
        raise _Decline(f"encoding {fp_encoding}")
    if data.startswith(b"<?xml"):
        # feedparser replaces what its regex takes for the declaration (up to the first ">").
        declaration = _FAST_DECLARATION.match(data)
        if declaration is None:
            raise _Decline("XML declaration")
        declared = declaration.group(3)
        if declared is not None and not _reads_as_utf8(declared.decode("ascii"), ascii_only):
            raise _Decline("declared encoding")
    first = _FIRST_ELEMENT.search(data)
    head = data[: first.start()] if first else data
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise _Decline("DOCTYPE")

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(body, parser)
    except (etree.XMLSyntaxError, ValueError):
        raise _Decline("not well-formed") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.xml_version != "1.0":
        raise _Decline("DTD or XML version")
    outside = [*root.itersiblings(preceding=True), *root.itersiblings()]
    if any(node.tag is etree.PI and not node.target.isascii() for node in outside):
        raise _Decline("non-ASCII processing instruction")
    if root.tag == "rss":
        atom = False
    elif root.tag == "{" + _ATOM + "}feed":
        atom = True
    else:
        raise _Decline(f"root {root.tag}")

    base = url if url.lower().startswith(("http://", "https://")) else ""
    if base:
        # What feedparser's base URI settles to from the Content-Location we give it.
        once = feedparser.urls.make_safe_absolute_uri(base, base) or base
        base = feedparser.urls.make_safe_absolute_uri(once, once) or once
        if base != once:
            raise _Decline("base URL")
    reader = _FastFeed(base, atom, _unknown_prefixes(body, root, atom))
    reader.element(root, 1, "")
    return reader.feed, reader.entries


def _reads_as_utf8(encoding: str, ascii_only: bool) -> bool:
    codec = _codec(encoding)
    return codec == "utf-8" or (ascii_only and codec in _ASCII_SUPERSETS)


def _unknown_prefixes(body: bytes, root: Any, atom: bool) -> dict[str, str]:
    """Check the document's namespace declarations; map each namespace feedparser does not know
    to the prefix feedparser names its elements with. Declines on rebound or clashing prefixes."""
    declared: set[tuple[str | None, str]] = set(root.nsmap.items())
    if body.count(b"xmlns") != len(declared):  # some are declared below the root
        for element in root.iter():
            if isinstance(element.tag, str):
                declared.update(element.nsmap.items())
    uri_of: dict[str | None, str] = {}
    known_prefixes: set[str] = set()  # feedparser's own prefixes for the known namespaces declared
    doc_prefixes: set[str] = set()  # the document's prefixes for them
    unknown: dict[str, set[str | None]] = {}
    for prefix, uri in declared:
        if prefix is not None and not prefix.isascii():
            raise _Decline("non-ASCII prefix")
        if uri_of.setdefault(prefix, uri) != uri:
            raise _Decline(f"prefix {prefix} rebound")
        lower = uri.lower()
        if "backend.userland.com/rss" in lower:
            lower = "http://backend.userland.com/rss"
        if atom and lower in _RDF_FEED_NAMESPACES:
            raise _Decline("RSS 1.0 namespace in Atom")  # would change feedparser's version
        canonical = _FP_NAMESPACES.get(lower)
        if canonical is None:
            unknown.setdefault(uri, set()).add(prefix)
            continue
        known_prefixes.update((canonical, canonical.lower()))
        if prefix is not None:
            # feedparser maps this prefix to the canonical one wherever an element's tag uses it.
            if prefix != canonical and prefix in _FP_PREFIXES:
                raise _Decline(f"prefix {prefix} for {uri}")
            doc_prefixes.add(prefix)
    result = {}
    for uri, prefixes in unknown.items():
        named = [p for p in prefixes if p]
        if len(named) == 1 and uri not in _INJECTED_XMLNS:
            prefix = named[0]
            if prefix not in known_prefixes and prefix.lower() not in doc_prefixes:
                result[uri] = prefix
    return result


def _content_type(value: str) -> str:
    """feedparser's ``map_content_type``."""
    value = value.lower()
    if value in ("text", "plain"):
        return "text/plain"
    if value == "html":
        return "text/html"
    if value == "xhtml":
        return "application/xhtml+xml"
    return value


def _fp_attributes(element: Any) -> dict[str, str]:
    """An element's attributes keyed as feedparser's SAX handler and ``_normalize_attributes``
    key them: "prefix:name" for feedparser's known namespaces and the bare name for all."""
    items = element.items()
    if not items:
        return {}
    attrs: dict[str, str] = {}
    bare: dict[str, str] = {}
    for name, value in items:
        if name[0] == "{":
            uri, _, local = name[1:].partition("}")
            prefix = _FP_NAMESPACES.get(uri.lower(), "")
            if prefix:
                attrs[f"{prefix}:{local}".lower()] = value
        else:
            local = name
        if not local.isascii():
            raise _Decline("non-ASCII attribute name")
        local = local.lower()
        if local in bare:
            raise _Decline("attribute names clash")
        bare[local] = value
    attrs.update(bare)
    for key in ("rel", "type"):
        if key in attrs:
            attrs[key] = attrs[key].lower()
    if "base" in attrs:  # xml:base, or an attribute feedparser takes for one
        raise _Decline("xml:base")
    return attrs


class _FastFeed:
    """One feed's elements replayed through (a mirror of) feedparser's handlers."""

    def __init__(self, base: str, atom: bool, unknown_prefixes: dict[str, str]) -> None:
        self.base = base
        self.atom = atom
        self.unknown_prefixes = unknown_prefixes
        self.names: dict[str, tuple[str, str]] = {}
        self.feed: dict[str, Any] = {}
        self.entries: list[dict[str, Any]] = []
        self.depths: list[dict[str, int]] = []  # per entry: the depth each value came from
        self.source: dict[str, Any] = {}
        self.depth = 0
        self.title_depth = -1
        self.infeed = False
        self.inentry = False
        self.insource = False
        self.inimage = False
        self.intextinput = False
        self.incontent = 0
        self.has_content = False
        self.guidislink = False
        self.content_type: str | None = None  # feedparser's contentparams["type"]

    # -- the walk --------------------------------------------------------------------------

    def element(self, element: Any, depth: int, parent: str) -> None:
        prefix, key = self.name_of(element.tag)
        attrs = _fp_attributes(element)
        self.depth = depth
        if not prefix:
            if key not in ("title", "link", "description", "name"):
                self.intextinput = False
            if key not in ("title", "link", "description", "url", "href", "width", "height"):
                self.inimage = False
        handler = _FAST_HANDLERS.get(key)
        if handler is None:
            if key in _FP_HANDLERS:
                raise _Decline(f"element {key}")
            # No feedparser handler: the element's text or attributes land under its name.
            stored = _FP_KEYMAP.get(key, key)
            stored = stored[0] if isinstance(stored, list) else stored
            if stored in _FAST_RESERVED or stored.endswith(("_detail", "_parsed")):
                raise _Decline(f"element {key}")
            start = end = None
        else:
            start, end, childless = handler
            if childless and len(element):
                raise _Decline(f"markup inside {key}")
            if start is not None:
                start(self, element, attrs, parent)
        for child in element:
            if isinstance(child.tag, str):
                self.element(child, depth + 1, key)
            elif child.tag is etree.PI and not child.target.isascii():
                raise _Decline("non-ASCII processing instruction")
        self.depth = depth
        if end is not None:
            end(self, element, attrs, parent)

    def name_of(self, tag: str) -> tuple[str, str]:
        """feedparser's prefix for an element, and the name its handlers go by ("dc_creator")."""
        known = self.names.get(tag)
        if known is not None:
            return known
        uri, _, local = tag[1:].partition("}") if tag[0] == "{" else ("", "", tag)
        if not local.isascii():
            raise _Decline("non-ASCII element name")  # expat knows fewer name characters than lxml
        lower = uri.lower()
        if "backend.userland.com/rss" in lower:
            lower = "http://backend.userland.com/rss"
        prefix = _FP_NAMESPACES.get(lower)
        if prefix is None:
            prefix = self.unknown_prefixes.get(uri)
            if prefix is None:
                raise _Decline(f"namespace {uri}")
        prefix, local = prefix.lower(), local.lower()
        name = (prefix, f"{prefix}_{local}" if prefix else local)
        self.names[tag] = name
        return name

    def context(self) -> dict[str, Any]:
        """feedparser's ``_get_context``: the dict an element's values go to."""
        if self.insource:
            return self.source
        if self.inimage and "image" in self.feed:
            image: dict[str, Any] = self.feed["image"]
            return image
        if self.intextinput:
            textinput: dict[str, Any] = self.feed["textinput"]
            return textinput
        if self.inentry:
            return self.entries[-1]
        return self.feed

    # -- feedparser's pop, push_content, pop_content ------------------------------------------

    def pop(self, name: str, element: Any, expecting_text: bool) -> str:
        output: str = (element.text or "").strip()
        if not expecting_text:
            return output
        if name in _FP_RELATIVE and output and (name != "id" or self.guidislink):
            output = feedparser.urls._urljoin(self.base, output)
        if not self.atom and self.content_type == "text/plain" and _FP_MIXIN.looks_like_html(output):
            self.content_type = "text/html"
        if not output.isascii():  # (both steps leave ASCII as it is)
            try:
                output = output.encode("iso-8859-1").decode("utf-8")
            except UnicodeError:
                pass
            if _C1_CONTROLS.search(output):
                output = output.translate(_FP_CP1252)
        if name == "title" and -1 < self.title_depth <= self.depth:
            return output
        if self.inentry and not self.insource:
            entry = self.entries[-1]
            if name == "content":
                entry.setdefault("content", []).append({"type": self.content_type, "value": output})
            elif name == "link":
                if not self.inimage:
                    output = _FP_ENTITY_LIKE.sub(r"&\g<1>", output.replace("&amp;", "&"))
                    entry["link"] = output
            else:
                if name == "description":
                    name = "summary"
                depths = self.depths[-1]
                old = depths.get(name)
                if old is None or self.depth <= old:
                    depths[name] = self.depth
                    entry[name] = output
                if self.incontent:
                    entry[name + "_detail"] = {"type": self.content_type}
        elif self.infeed or self.insource:
            context = self.context()
            if name == "description":
                name = "subtitle"
            context[name] = output
            if name == "link":
                output = _FP_ENTITY_LIKE.sub(r"&\g<1>", output)
                context[name] = output
            elif self.incontent:
                context[name + "_detail"] = {"type": self.content_type}
        return output

    def push_content(self, attrs: dict[str, str], default_type: str) -> None:
        kind = _content_type(attrs.get("type", default_type))
        if "mode" in attrs or kind not in ("text/plain", "text/html"):
            raise _Decline(f"content type {kind}")  # base64, XHTML, other media types
        self.incontent += 1
        self.content_type = kind

    def pop_content(self, name: str, element: Any, expecting_text: bool) -> str:
        value = self.pop(name, element, expecting_text)
        self.incontent -= 1
        self.content_type = None
        return value

    @property
    def expecting_text(self) -> bool:
        return self.infeed or self.inentry or self.insource

    # -- handlers (start and end in one for text elements, which have no child elements) ----

    def end_title(self, element: Any, attrs: dict[str, str], parent: str) -> None:
        self.push_content(attrs, "text/plain")
        if self.pop_content("title", element, self.expecting_text):
            self.title_depth = self.depth

    def end_media_title(self, element: Any, attrs: dict[str, str], parent: str) -> None:
        title_depth = self.title_depth
        self.end_title(element, attrs, parent)
        self.title_depth = title_depth

    def end_description(self, element: Any, attrs: dict[str, str], parent: str) -> None:
        if "summary" in self.context() and not self.has_content:
            self.end_atom_content(element, attrs, parent)  # a second description is content
        else:
            self.push_content(attrs, "text/html")
            self.pop_content("description", element, self.expecting_text)

    def end_summary(self, element: Any, attrs: dict[str, str], parent: str) -> None:
        if "summary" in self.context() and not self.has_content:
            self.end_atom_content(element, attrs, parent)
        else:
            self.push_content(attrs, "text/plain")
            self.pop_content("summary", element, True)

    def end_atom_content(self, element: Any, attrs: dict[str, str], parent: str) -> None:
        self.has_content = True
        self.push_content(attrs, "text/plain")
        self.pop_content_copied(element)

    def end_content_encoded(self, element: Any, attrs: dict[str, str], parent: str) -> None:
        self.has_content = True
        self.push_content(attrs, "text/html")
        self.pop_content_copied(element)

    def pop_content_copied(self, element: Any) -> None:
        """feedparser's ``_end_content``: text and HTML content is the summary too, if none yet."""
        copy_to_summary = self.content_type in _FP_COPIED_TO_SUMMARY
        value = self.pop_content("content", element, True)
        if copy_to_summary:
            self.context().setdefault("summary", value)

    def end_link(self, element: Any, attrs: dict[str, str], parent: str) -> None:
        attrs = dict(attrs)
        rel = attrs.setdefault("rel", "alternate")
        kind = attrs.setdefault("type", "application/atom+xml" if rel == "self" else "text/html")
        context = self.context()
        href = attrs.get("url", attrs.get("uri", attrs.get("href")))
        if href:
            attrs["href"] = href
        if "href" in attrs:
            if rel == "alternate" and _content_type(kind) in _FP_HTML_TYPES:
                context["link"] = feedparser.urls._urljoin(self.base, attrs["href"])
        else:
            self.pop("link", element, self.expecting_text)

    def end_guid(self, element: Any, attrs: dict[str, str], parent: str) -> None:
        self.guidislink = attrs.get("ispermalink", "true") == "true"
        value = self.pop("id", element, True)
        if self.guidislink:
            self.context().setdefault("link", value)

    def end_published(self, element: Any, attrs: dict[str, str], parent: str) -> None:
        self.context()["published_parsed"] = feedparser.datetimes._parse_date(
            self.pop("published", element, True)
        )

    def end_updated(self, element: Any, attrs: dict[str, str], parent: str) -> None:
        self.context()["updated_parsed"] = feedparser.datetimes._parse_date(
            self.pop("updated", element, True)
        )

    def end_created(self, element: Any, attrs: dict[str, str], parent: str) -> None:
        self.context()["created_parsed"] = feedparser.datetimes._parse_date(
            self.pop("created", element, True)
        )

    def end_source(self, element: Any, attrs: dict[str, str], parent: str) -> None:
        self.title_depth = -1  # set when <source> starts; its text lands in harmless keys

    def start_rss(self, element: Any, attrs: dict[str, str], parent: str) -> None:
        if parent:
            raise _Decline("nested rss")

    def start_feed(self, element: Any, attrs: dict[str, str], parent: str) -> None:
        if parent:
            raise _Decline("nested feed")
        self.infeed = True

    def start_channel(self, element: Any, attrs: dict[str, str], parent: str) -> None:
        if parent != "rss" or "lastmod" in attrs or "href" in attrs:
            raise _Decline("channel")
        self.infeed = True

    def end_feed(self, element: Any, attrs: dict[str, str], parent: str) -> None:
        self.infeed = False

    def start_item(self, element: Any, attrs: dict[str, str], parent: str) -> None:
        if parent not in ("rss", "channel", "feed") or self.inentry:
            raise _Decline("item")
        if "lastmod" in attrs or "href" in attrs or "about" in attrs:
            raise _Decline("item attributes")
        self.entries.append({})
        self.depths.append({})
        self.inentry = True
        self.guidislink = False
        self.title_depth = -1

    def end_item(self, element: Any, attrs: dict[str, str], parent: str) -> None:
        self.inentry = False
        self.has_content = False

    def start_image(self, element: Any, attrs: dict[str, str], parent: str) -> None:
        if parent != "channel" or self.inentry or self.insource:
            raise _Decline("image")
        self.context().setdefault("image", {})
        self.inimage = True
        self.title_depth = -1

    def end_image(self, element: Any, attrs: dict[str, str], parent: str) -> None:
        self.inimage = False

    def start_textinput(self, element: Any, attrs: dict[str, str], parent: str) -> None:
        if parent != "channel" or self.inentry or self.insource:
            raise _Decline("textinput")
        self.context().setdefault("textinput", {})
        self.intextinput = True
        self.title_depth = -1

    def end_textinput(self, element: Any, attrs: dict[str, str], parent: str) -> None:
        self.intextinput = False

    def start_itunes_image(self, element: Any, attrs: dict[str, str], parent: str) -> None:
        href = attrs.get("href") or attrs.get("url")
        if href:
            self.context()["image"] = {"href": href}


_Handler = Callable[[_FastFeed, Any, dict[str, str], str], None]

# feedparser's handler name → (start, end, text only). Each mirrors feedparser's handler for what
# it does to the values read; a name here whose handler only writes other keys gets (None, None).
_FAST_HANDLERS: dict[str, tuple[_Handler | None, _Handler | None, bool]] = {
    "rss": (_FastFeed.start_rss, None, False),
    "feed": (_FastFeed.start_feed, _FastFeed.end_feed, False),
    "channel": (_FastFeed.start_channel, _FastFeed.end_feed, False),
    "item": (_FastFeed.start_item, _FastFeed.end_item, False),
    "entry": (_FastFeed.start_item, _FastFeed.end_item, False),
    "title": (None, _FastFeed.end_title, True),
    "dc_title": (None, _FastFeed.end_title, True),
    "media_title": (None, _FastFeed.end_media_title, True),
    "description": (None, _FastFeed.end_description, True),
    "dc_description": (None, _FastFeed.end_description, True),
    "media_description": (None, _FastFeed.end_description, True),
    "summary": (None, _FastFeed.end_summary, True),
    "itunes_summary": (None, _FastFeed.end_summary, True),
    "content": (None, _FastFeed.end_atom_content, True),
    "content_encoded": (None, _FastFeed.end_content_encoded, True),
    "fullitem": (None, _FastFeed.end_content_encoded, True),
    "link": (None, _FastFeed.end_link, True),
    "guid": (None, _FastFeed.end_guid, True),
    "id": (None, _FastFeed.end_guid, True),
    "pubdate": (None, _FastFeed.end_published, True),
    "published": (None, _FastFeed.end_published, True),
    "issued": (None, _FastFeed.end_published, True),
    "dcterms_issued": (None, _FastFeed.end_published, True),
    "updated": (None, _FastFeed.end_updated, True),
    "modified": (None, _FastFeed.end_updated, True),
    "lastbuilddate": (None, _FastFeed.end_updated, True),
    "dc_date": (None, _FastFeed.end_updated, True),
    "dcterms_modified": (None, _FastFeed.end_updated, True),
    "created": (None, _FastFeed.end_created, True),
    "dcterms_created": (None, _FastFeed.end_created, True),
    "source": (None, _FastFeed.end_source, True),
    "image": (_FastFeed.start_image, _FastFeed.end_image, False),
    "textinput": (_FastFeed.start_textinput, _FastFeed.end_textinput, False),
    "itunes_image": (_FastFeed.start_itunes_image, None, False),
    "itunes_link": (_FastFeed.start_itunes_image, None, False),
    # Text elements whose values nobody reads (markup inside push-content ones would be swallowed).
    **dict.fromkeys(
        (
            "rights",
            "copyright",
            "dc_rights",
            "subtitle",
            "tagline",
            "itunes_subtitle",
            "info",
            "feedburner_browserfriendly",
            # GeoRSS Simple: their handlers only fill "where" (GML and georss:where are declined).
            "georss_point",
            "georss_line",
            "georss_polygon",
            "georss_box",
        ),
        (None, None, True),
    ),
    # Elements whose handlers only write keys nobody reads.
    **dict.fromkeys(
        (
            "author",
            "managingeditor",
            "dc_author",
            "dc_creator",
            "itunes_author",
            "contributor",
            "dc_contributor",
            "name",
            "itunes_name",
            "email",
            "itunes_email",
            "url",
            "uri",
            "homepage",
            "width",
            "height",
            "language",
            "dc_language",
            "webmaster",
            "dc_publisher",
            "itunes_owner",
            "category",
            "keywords",
            "dc_subject",
            "media_category",
            "itunes_category",
            "itunes_keywords",
            "itunes_block",
            "itunes_explicit",
            "media_keywords",
            "cloud",
            "generator",
            "enclosure",
            "expirationdate",
            "dcterms_valid",
            "newlocation",
            "media_content",
            "media_thumbnail",
            "media_group",
            "media_credit",
            "media_rating",
            "media_restriction",
            "media_license",
            "media_player",
        ),
        (None, None, False),
    ),
}


# -- links -----------------------------------------------------------------------------------

_TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "igshid",
        "li_fat_id",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "vero_conv",
        "rb_clickid",
        "s_cid",
        "ncid",
        "ocid",
        "cmpid",
        "smid",
        "sr_share",
        "at_medium",
        "at_campaign",
        "at_custom1",
        "at_custom2",
        "at_custom3",
        "at_custom4",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_link(url: str) -> str:
    """A canonical form of an article URL for identity, not for fetching.

    Lower-cases scheme and host, drops the fragment, tracking parameters (``utm_*``, ``fbclid``,
    ``gclid`` and the like), default ports and a trailing slash on the path (the root stays
    ``/``), and sorts the remaining query parameters (their encoding is kept as written).
    Anything that is not an absolute URL comes back stripped and otherwise unchanged.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    if not parts.scheme or not parts.netloc:
        return url
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = (userinfo + "@" if userinfo else "") + host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc += f":{port}"
    path = parts.path or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    kept = []
    for item in parts.query.split("&"):
        if not item:
            continue
        name = unquote_plus(item.partition("=")[0]).lower()
        if name.startswith("utm_") or name in _TRACKING_PARAMS:
            continue
        kept.append(item)
    return urlunsplit((scheme, netloc, path, "&".join(sorted(kept)), ""))


# -- HTML to text ----------------------------------------------------------------------------

_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "head", "iframe", "object", "svg", "math"})
_BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tr",
        "ul",
    }
)


class _TextCollector(HTMLParser):
    """Collects the text of an HTML fragment; script, style and similar contents are dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skipping += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _SKIP_TAGS:  # <svg/> opens nothing
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skipping = max(self._skipping - 1, 0)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def _strip_html(html: str) -> str:
    if "<" not in html and "&" not in html:
        return html
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    return "".join(collector.parts)


def _tidy(text: str) -> str:
    """Collapse runs of spaces, keep single line breaks, separate paragraphs by one blank line."""
    paragraphs = []
    for block in re.split(r"\n[ \t\r\f\v\xa0]*\n", text.replace("\r\n", "\n")):
        lines = [" ".join(line.split()) for line in block.split("\n")]
        paragraph = "\n".join(line for line in lines if line)
        if paragraph:
            paragraphs.append(paragraph)
    return "\n\n".join(paragraphs)


def html_to_text(html: bytes | str, *, url: str | None = None) -> str | None:
    """An article page's main text (trafilatura, favouring precision; no comments, no tables),
    one paragraph per block separated by blank lines; None when no main text is found."""
    if not html or not html.strip():
        return None
    # Imported on first use: ~12 MB that a bot whose pages are read in a worker process never needs.
    import trafilatura

    started = time.monotonic()
    try:
        text = trafilatura.extract(
            html,
            url=url,
            favor_precision=True,
            include_comments=False,
            include_tables=False,
            include_images=False,
            include_links=False,
            output_format="txt",
            with_metadata=False,
            deduplicate=False,
        )
    except Exception as exc:  # a third-party parser on hostile input: no text, not a crash
        logger.debug("trafilatura failed on %s: %s", url or "a page", type(exc).__name__)
        return None
    logger.debug("extracted %s in %.3f s", url or "a page", time.monotonic() - started)
    if not text:
        return None
    paragraphs = [" ".join(line.split()) for line in text.splitlines()]
    result = "\n\n".join(p for p in paragraphs if p)
    return result or None


def page_text_or_fallback(html: bytes | None, entry: FeedEntry) -> str:
    """The page's main text when it was fetched, extractable and longer than the entry's own
    content; otherwise the entry's content."""
    if html:
        text = html_to_text(html, url=entry.link)
        if text and len(text) > len(entry.content):
            return text
    return entry.content
