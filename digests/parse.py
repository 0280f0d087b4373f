"""Feed bytes → entries (feedparser) and page HTML → main text (trafilatura).

``parse_feed`` turns the body of an RSS 0.9x/1.0/2.0 or Atom feed into ``FeedEntry`` items with a
stable identity (guid, else normalised link, else a hash of the title), an aware UTC date and the
entry's own content as plain text. It recovers what it can from broken feeds (wrong or missing
declared encodings, feedparser "bozo" feeds that still yield entries) and raises ``FeedError``
with a one-line reason when the body is not a feed at all (empty, binary, an HTML page,
malformed XML). ``html_to_text`` extracts an article page's main text.

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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit
from xml.sax import SAXParseException

import feedparser
import trafilatura
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

    result = _feedparser(body, url, charset)
    if _utf8_misread(body, result):
        # A UTF-8 body declared (or defaulted) as a legacy charset reads as mojibake ("Ã©").
        result = _feedparser(body, url, "utf-8")
    entries = _entries(result, max_entries)
    if not entries and result.get("bozo"):
        # Last resort for encodings feedparser could not sort out: decode ourselves, retry.
        retry = _feedparser(decode_bytes(body, charset).encode("utf-8"), url, "utf-8")
        retry_entries = _entries(retry, max_entries)
        if retry_entries:
            result, entries = retry, retry_entries
    if not entries:
        reason = _not_a_feed_reason(body, result, content_type)
        if reason:
            raise FeedError(reason)
    feed_title = _text_of(result.feed.get("title", ""), result.feed.get("title_detail"))
    return ParsedFeed(title=feed_title, entries=tuple(entries))


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


def _entries(result: Any, max_entries: int) -> list[FeedEntry]:
    """Pick the newest ``max_entries`` distinct entries, build them, in document order."""
    candidates: list[tuple[int, str, str | None, str, datetime | None, Any]] = []
    seen: set[str] = set()
    for index, raw in enumerate(result.entries):
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
    texts = [_text_of(c.get("value", ""), c) for c in raw.get("content", []) or []]
    texts.append(_text_of(raw.get("summary", ""), raw.get("summary_detail")))
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
