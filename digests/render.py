"""Digests and statement lists as chat messages: Telegram HTML, plain text, Slack Block Kit.

Pure functions from the models in :mod:`digests.models` to strings and JSON-ready dicts, within
each platform's limits. Telegram: each chunk is valid Telegram HTML (only ``b``, ``i`` and
``a href`` are produced) of at most :data:`TELEGRAM_LIMIT` UTF-16 code units counted on the whole
HTML string, which is never less than the visible text Telegram counts; chunks split between
leaders first, then between statements, never inside a tag or an entity. Slack: at most 50 blocks
a message, a header of at most 150 characters, sections and context elements of at most 3000,
and a plain ``text`` fallback of at most 3000; lengths are counted in UTF-16 code units, never
less than Slack's characters. Every outside text (names, summaries, quotes, outlets, titles,
URLs) is cleaned (control and bidi-override characters dropped, whitespace collapsed) and escaped
for its target; Slack mentions (``<!channel>``, ``<@U…>``, ``@here``…) can never be produced
from it. A statement is never dropped: an over-long one is cut with "…".

This module must not send anything, read the clock, the environment or the database, or import
a chat SDK (``telegram``, ``slack_*``, ``aiohttp``) or ``bot``: callers pass the time zone and
send the results themselves (link previews and parse modes are the sender's business).
"""

from __future__ import annotations

import re
import unicodedata
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any, Protocol, TypeVar
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from digests.models import Digest, Leader, LeaderDigest, Statement

__all__ = [
    "MAX_OUTLETS_SHOWN",
    "SLACK_CONTEXT_ELEMENTS",
    "SLACK_HEADER_LIMIT",
    "SLACK_MAX_BLOCKS",
    "SLACK_TEXT_LIMIT",
    "TELEGRAM_LIMIT",
    "chunk_html",
    "clean_text",
    "escape_html",
    "escape_slack",
    "plain_text",
    "slack_messages",
    "slack_statements",
    "telegram_html",
    "telegram_plain",
    "telegram_statements",
    "text_statements",
    "utf16_len",
]

TELEGRAM_LIMIT = 4096
"""Telegram's message limit in UTF-16 code units of the visible text after entity parsing; we count
the whole HTML string, which is never less."""

SLACK_MAX_BLOCKS = 50
SLACK_HEADER_LIMIT = 150
SLACK_TEXT_LIMIT = 3000
"""A section's text, a context element's text, and (our own, safe choice) the ``text`` fallback."""
SLACK_CONTEXT_ELEMENTS = 10

MAX_OUTLETS_SHOWN = 3
"""Outlets linked per statement in chat messages; the rest are counted as "+N more"."""

# Budgets in UTF-16 units of rendered (escaped) text. A Telegram message holds a prefix (the
# header or a "(continued)" line) of at most _PREFIX_BUDGET and units (a leader's heading, one
# statement) of at most _UNIT_BUDGET, so a unit always fits in a fresh message.
_PREFIX_BUDGET = 700
_UNIT_BUDGET = TELEGRAM_LIMIT - _PREFIX_BUDGET - 1
_TITLE_BUDGET = 600
_NAME_BUDGET = 300
_SUMMARY_BUDGET = 1800
_OUTLET_BUDGET = 200
_SOURCES_BUDGET = 1500
_URL_MAX = 1000
_MIN_SPLIT_LIMIT = 16  # a chunk must hold at least one entity (&#1114111; is 10 units)

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ELLIPSIS = "…"
_WORD_JOINER = "\u2060"

T = TypeVar("T")


# --------------------------------------------------------------------------------------------
# Text primitives


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (astral characters such as most emoji count 2)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


_HTML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})
_SLACK_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_SLACK_BROADCAST = re.compile(r"@(?=(?:channel|here|everyone))", re.IGNORECASE)


def escape_html(text: str) -> str:
    """Escape ``&``, ``<``, ``>`` and ``"`` for Telegram HTML text and double-quoted attributes."""
    return text.translate(_HTML_ESCAPES)


def _break_mentions(text: str) -> str:
    """Put a word joiner after the ``@`` of ``@channel``, ``@here`` and ``@everyone``."""
    return _SLACK_BROADCAST.sub("@" + _WORD_JOINER, text)


def escape_slack(text: str) -> str:
    """Escape text for Slack mrkdwn so that it shows as written and can ping nobody.

    ``&``, ``<`` and ``>`` become entities, which also disarms ``<!channel>``, ``<!here>``,
    ``<@U123>`` and ``<https://…|label>``; ``@channel``, ``@here`` and ``@everyone`` get a word
    joiner after the ``@``.
    """
    return _break_mentions(text.translate(_SLACK_ESCAPES))


_SURROGATES = re.compile("[\ud800-\udfff]")
# C0/C1 controls (tab and newline included: they become spaces) and the bidi embeddings,
# overrides and isolates that would reorder the rest of a line.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean_text(text: str) -> str:
    """Outside text as it is rendered: controls and bidi overrides made spaces, whitespace runs
    made one space, stripped.

    Lone surrogates become U+FFFD; right-to-left marks, joiners and combining characters stay.
    """
    text = _SURROGATES.sub("\ufffd", text)
    text = _CONTROLS.sub(" ", text)
    return " ".join(text.split())


def _glues_left(ch: str) -> bool:
    """Whether ``ch`` belongs to the character before it (a cut must not fall before it)."""
    return (
        unicodedata.combining(ch) != 0
        or unicodedata.category(ch) in ("Mn", "Me", "Mc")
        or ch in "\u200d\ufe0e\ufe0f"
        or 0x1F3FB <= ord(ch) <= 0x1F3FF  # skin tones
        or 0xE0020 <= ord(ch) <= 0xE007F  # tag characters of flag sequences
    )


def _nice_cut(text: str, k: int) -> int:
    """A cut position at or before ``k``: at a space when one is near, never inside a cluster."""
    if k >= len(text):
        return len(text)
    space = text.rfind(" ", 0, k + 1)
    if space > 0 and space >= k * 0.8:
        return space
    cut = k
    while 0 < cut and (_glues_left(text[cut]) or text[cut - 1] == "\u200d"):
        cut -= 1
    return cut or k  # a text of marks only: cutting inside it beats showing nothing


def _identity(text: str) -> str:
    return text


def _fit(text: str, budget: int, escape: Callable[[str], str] = _identity) -> str:
    """``escape(text)`` within ``budget`` UTF-16 units, cutting ``text`` and adding "…" if needed.

    The cut happens before escaping, so it never falls inside an entity.
    """
    out = escape(text)
    if utf16_len(out) <= budget:
        return out
    if budget < 1:
        return ""
    room = budget - 1
    # The longest prefix whose escaped form fits (escaping never shortens a longer prefix).
    low, high = 0, min(len(text), room)
    while low < high:
        middle = (low + high + 1) // 2
        if utf16_len(escape(text[:middle])) <= room:
            low = middle
        else:
            high = middle - 1
    k = _nice_cut(text, low)
    while k > 0:
        out = escape(text[:k].rstrip()) + _ELLIPSIS
        if utf16_len(out) <= budget:
            return out
        k = _nice_cut(text, k - max(1, k // 10))
    return _ELLIPSIS


# --------------------------------------------------------------------------------------------
# Dates, links, outlets


def _zone(tz: str) -> tzinfo:
    """The named IANA zone; UTC for a name that is not one (the caller validated it before)."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return UTC


def _local(moment: datetime, zone: tzinfo) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone)


def _day(moment: datetime, zone: tzinfo, ref_year: int | None = None) -> str:
    """``24 Nov``, with the year when it is not ``ref_year``: month names never depend on locale."""
    local = _local(moment, zone)
    text = f"{local.day} {_MONTHS[local.month - 1]}"
    return text if local.year == ref_year else f"{text} {local.year}"


def _moment(moment: datetime, zone: tzinfo) -> str:
    local = _local(moment, zone)
    name = getattr(zone, "key", None) or "UTC"
    return f"{_day(local, zone)}, {local:%H:%M} {name}"


def _when(statement: Statement) -> datetime:
    return statement.published or statement.first_seen


_URL_UNSAFE = re.compile(r'[\s"<>\\^`{|}\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]')
_HOST = re.compile(r"[\w.\-]+|[0-9a-f:.]+")


def _link_url(url: str) -> str | None:
    """An ``http(s)`` URL safe to put in a link (odd characters percent-encoded), else None."""
    url = _SURROGATES.sub("", url).strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host or not _HOST.fullmatch(host):
        return None
    url = _URL_UNSAFE.sub(lambda m: quote(m.group(), safe=""), url)
    return url if len(url) <= _URL_MAX else None


def _host_label(url: str) -> str:
    try:
        return urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""


def _outlets(statement: Statement) -> list[tuple[str, str]]:
    """Each outlet once, in the order reported: (cleaned label, raw URL of its first report).

    The statement's own outlet comes first when its sources do not list it; a source without an
    outlet name is labelled by its host.
    """
    reports = [(s.outlet, s.url) for s in statement.sources]
    own = clean_text(statement.outlet).casefold()
    if not any(clean_text(outlet).casefold() == own for outlet, _ in reports):
        reports.insert(0, (statement.outlet, statement.url))
    seen: dict[str, int] = {}
    result: list[tuple[str, str]] = []
    for outlet, url in reports:
        label = clean_text(outlet) or clean_text(_host_label(url)) or "source"
        key = label.casefold()
        if key in seen:
            index = seen[key]
            if _link_url(result[index][1]) is None and _link_url(url) is not None:
                result[index] = (label, url)  # prefer a report that can be linked
            continue
        seen[key] = len(result)
        result.append((label, url))
    return result


def _leader_name(leader: Leader) -> str:
    return clean_text(leader.name) or clean_text(leader.key) or "Unknown leader"


def _default_title(digest: Digest, zone: tzinfo) -> str:
    return f"Daily digest — {_day(digest.until, zone)}"


def _title(title: str | None, default: str) -> str:
    cleaned = clean_text(title or "")
    return cleaned or default


def _nothing_new(digest: Digest, zone: tzinfo) -> str:
    return f"Nothing new since {_moment(digest.since, zone)}."


def _latest_pointer(more: int, key: str, command: str = "/latest") -> str:
    return f"…and {more} more: {command} {clean_text(key)}"


def _ref_year(statements: Sequence[Statement], zone: tzinfo) -> int | None:
    years = [_local(_when(s), zone).year for s in statements]
    return max(years) if years else None


# --------------------------------------------------------------------------------------------
# Packing units into messages


Unit = tuple[list[T], int]
"""Items that stay together in one message, and their size (characters or blocks)."""


def _pack(
    groups: Sequence[Sequence[Unit[T]]],
    capacity: int,
    first: Unit[T],
    continuation: Callable[[int | None], Unit[T]],
) -> list[list[T]]:
    """Pack groups of units into messages of at most ``capacity``.

    The first message starts with ``first``, each later one with ``continuation(g)`` (``g`` is
    the group continued mid-way, else None). A group that does not fit in what is left of a
    message starts a new one when it fits there whole (split between groups first); otherwise
    it is split between units, and a group's first unit is kept with its second. The caller
    guarantees that every unit fits in a message after the largest prefix.
    """
    messages: list[list[T]] = []
    items, size = list(first[0]), first[1]
    has_content = False

    def fresh(group: int | None) -> None:
        nonlocal items, size, has_content
        messages.append(items)
        prefix = continuation(group)
        items, size, has_content = list(prefix[0]), prefix[1], False

    for g, units in enumerate(groups):
        total = sum(unit[1] for unit in units)
        if has_content and size + total > capacity and continuation(None)[1] + total <= capacity:
            fresh(None)
        for u, (unit_items, unit_size) in enumerate(units):
            need = unit_size + (units[1][1] if u == 0 and len(units) > 1 else 0)
            if has_content and size + need > capacity:
                fresh(g if u > 0 else None)
            items.extend(unit_items)
            size += unit_size
            has_content = True
    if has_content or not messages:
        messages.append(items)
    return messages


_TOKEN = re.compile(r"<[^<>]*>|&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z]{1,8});|[\s\S]")
_TAG = re.compile(r"<[^<>]*>")


def _visible_html(html: str) -> str:
    """The HTML without its tags (entities kept, so it is still valid escaped text)."""
    return _TAG.sub("", html)


def _has_text(piece: str, markup: bool) -> bool:
    return bool((_visible_html(piece) if markup else piece).strip())


def _split_long(part: str, limit: int, markup: bool) -> list[str]:
    """Split one over-long part into pieces of at most ``limit`` UTF-16 units.

    Cuts fall at whitespace (a newline preferred when one is in the second half of the piece),
    else between two characters or entities; never inside a tag or an entity. With ``markup``,
    tags open at a cut are closed at the end of the piece and reopened at the start of the next;
    when the open tags alone leave no room, the part is split without its markup.
    """
    if limit < _MIN_SPLIT_LIMIT:
        raise ValueError(f"limit {limit} is too small to split a message")
    queue: deque[str] = deque(_TOKEN.findall(part) if markup else part)
    pieces: list[str] = []
    buf: list[str] = []
    size = 0
    stack: list[tuple[str, str]] = []  # (tag name, start tag as written)
    closing = 0  # units needed to close the open tags
    has_text = False
    # Break candidates: (index of the whitespace token in buf, open tags there).
    space_break: tuple[int, list[tuple[str, str]]] | None = None
    line_break: tuple[int, list[tuple[str, str]]] | None = None

    def close(tags: list[tuple[str, str]]) -> str:
        return "".join(f"</{name}>" for name, _ in reversed(tags))

    def restart(tags: list[tuple[str, str]]) -> None:
        nonlocal buf, size, stack, closing, has_text, space_break, line_break
        buf = [raw for _, raw in tags]
        size = sum(utf16_len(raw) for raw in buf)
        stack = list(tags)
        closing = utf16_len(close(tags))
        has_text = False
        space_break = line_break = None

    while queue:
        token = queue.popleft()
        new_stack = stack
        if markup and len(token) > 1 and token[0] == "<":
            if token.startswith("</"):
                new_stack = stack[:-1]
            else:
                name = token[1:-1].split(maxsplit=1)[0].lower() if token[1:-1].strip() else ""
                new_stack = [*stack, (name, token)]
        token_size = utf16_len(token)
        new_closing = utf16_len(close(new_stack)) if new_stack is not stack else closing
        if size + token_size + new_closing > limit:
            chosen = line_break
            if chosen is None or (space_break is not None and chosen[0] < len(buf) // 2):
                chosen = space_break or line_break
            if chosen is not None:
                index, tags = chosen
                pieces.append("".join(buf[:index]) + close(tags))
                queue.appendleft(token)
                queue.extendleft(reversed(buf[index + 1 :]))
                restart(tags)
                continue
            if has_text:
                pieces.append("".join(buf) + close(stack))
                queue.appendleft(token)
                restart(stack)
                continue
            if markup:  # the open tags leave no room: drop the markup, keep the text
                return _split_long(_visible_html(part), limit, markup=True)
            raise ValueError(f"limit {limit} is too small to split a message")  # pragma: no cover
        buf.append(token)
        size += token_size
        stack = new_stack
        closing = new_closing
        if token.isspace():
            if has_text:
                candidate = (len(buf) - 1, list(stack))
                if token == "\n":
                    line_break = candidate
                space_break = candidate
        elif not (markup and len(token) > 1 and token[0] == "<"):
            has_text = True
    pieces.append("".join(buf) + close(stack))
    return [piece.strip() for piece in pieces if _has_text(piece, markup)]


def _pack_text(
    groups: Sequence[Sequence[str]],
    *,
    limit: int,
    markup: bool,
    first: str = "",
    continuation: Callable[[int | None], str] = lambda _g: "",
) -> list[str]:
    """Join parts with newlines into messages of at most ``limit`` UTF-16 units.

    Sizes count a part plus its newline, so the capacity is ``limit + 1``. A part too long for a
    message after the largest prefix is split by :func:`_split_long` first.
    """
    prefix_max = max(
        [utf16_len(first), utf16_len(continuation(None))]
        + [utf16_len(continuation(g)) for g in range(len(groups))]
    )
    room = limit - prefix_max - 1 if prefix_max else limit
    if room < _MIN_SPLIT_LIMIT:
        raise ValueError(f"limit {limit} leaves no room after a {prefix_max}-unit prefix")

    def unit(text: str) -> Unit[str]:
        return [text], utf16_len(text) + 1

    def prefix(text: str) -> Unit[str]:
        return ([text], utf16_len(text) + 1) if text else ([], 0)

    unit_groups: list[list[Unit[str]]] = []
    for parts in groups:
        units: list[Unit[str]] = []
        for part in parts:
            if utf16_len(part) <= room:
                units.append(unit(part))
            else:
                units.extend(unit(piece) for piece in _split_long(part, room, markup))
        unit_groups.append(units)
    messages = _pack(unit_groups, limit + 1, prefix(first), lambda g: prefix(continuation(g)))
    chunks = ["\n".join(items).strip() for items in messages]
    return [chunk for chunk in chunks if _has_text(chunk, markup)]


def chunk_html(parts: Sequence[str], limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Join whole Telegram HTML parts (newline-separated) into messages of at most ``limit`` units.

    A part longer than ``limit`` is split at whitespace (else between characters), never inside a
    tag or an entity, with the tags open at the cut closed and reopened. Each part must be valid
    Telegram HTML; leading and trailing whitespace of a message is dropped, as Telegram does.
    """
    return _pack_text([parts], limit=limit, markup=True)


# --------------------------------------------------------------------------------------------
# Telegram (HTML and its plain-text twin)


class _Markup(Protocol):
    markup: bool

    def escape(self, text: str) -> str: ...
    def bold(self, html: str) -> str: ...
    def italic(self, html: str) -> str: ...
    def link(self, label: str, url: str) -> str: ...


class _Html:
    markup = True

    def escape(self, text: str) -> str:
        return escape_html(text)

    def bold(self, html: str) -> str:
        return f"<b>{html}</b>"

    def italic(self, html: str) -> str:
        return f"<i>{html}</i>"

    def link(self, label: str, url: str) -> str:
        safe = _link_url(url)
        return f'<a href="{escape_html(safe)}">{label}</a>' if safe else label


class _Plain:
    markup = False

    def escape(self, text: str) -> str:
        return text

    def bold(self, html: str) -> str:
        return html

    def italic(self, html: str) -> str:
        return html

    def link(self, label: str, url: str) -> str:
        safe = _link_url(url)
        return f"{label}: {safe}" if safe else label


_HTML = _Html()
_PLAIN = _Plain()


def _sources_line(statement: Statement, m: _Markup) -> str:
    outlets = _outlets(statement)
    shown: list[str] = []
    used = 0
    for label, url in outlets[:MAX_OUTLETS_SHOWN]:
        escaped = _fit(label, _OUTLET_BUDGET, m.escape)
        text = m.link(escaped, url)
        if used + utf16_len(text) + 3 > _SOURCES_BUDGET:
            text = escaped  # no room for this link's URL: name the outlet only
        if used + utf16_len(text) + 3 > _SOURCES_BUDGET:
            break
        shown.append(text)
        used += utf16_len(text) + 3
    hidden = len(outlets) - len(shown)
    if hidden:
        shown.append(f"+{hidden} more")
    return " · ".join(shown)


def _chat_item(statement: Statement, m: _Markup, zone: tzinfo, ref_year: int | None) -> str:
    """One statement: date, the quote in “…” or the reported content, then its outlets."""
    head = f"• {m.bold(m.escape(_day(_when(statement), zone, ref_year)))} — "
    if statement.kind == "direct":
        opening, ending = "“", "”"
    else:
        opening, ending = m.italic("reported") + ": ", ""
    sources = "\n    " + _sources_line(statement, m)
    fixed = utf16_len(head + opening + ending + sources)
    body = _fit(clean_text(statement.text), _UNIT_BUDGET - fixed, m.escape)
    return f"{head}{opening}{body}{ending}{sources}"


def _chat_section(section: LeaderDigest, m: _Markup, zone: tzinfo, ref_year: int | None) -> list[str]:
    heading = "\n" + m.bold(_fit(_leader_name(section.leader), _NAME_BUDGET, m.escape))
    summary = clean_text(section.summary)
    if summary:
        heading += "\n" + m.italic(_fit(summary, _SUMMARY_BUDGET, m.escape))
    parts = [heading]
    parts.extend(_chat_item(statement, m, zone, ref_year) for statement in section.statements)
    if section.more > 0:
        parts.append(_fit(_latest_pointer(section.more, section.leader.key), _NAME_BUDGET, m.escape))
    return parts


def _continued(m: _Markup, names: Sequence[str]) -> Callable[[int | None], str]:
    def continuation(group: int | None) -> str:
        note = m.italic("(continued)")
        if group is None:
            return note
        return f"{m.bold(_fit(names[group], _NAME_BUDGET, m.escape))} {note}"

    return continuation


def _telegram(digest: Digest, title: str | None, tz: str, m: _Markup) -> list[str]:
    zone = _zone(tz)
    header = m.bold(_fit(_title(title, _default_title(digest, zone)), _TITLE_BUDGET, m.escape))
    if digest.empty:
        note = m.escape(_nothing_new(digest, zone))
        return [f"{header}\n{note}" if clean_text(title or "") else note]
    ref_year = _local(digest.until, zone).year
    groups = [_chat_section(section, m, zone, ref_year) for section in digest.sections]
    names = [_leader_name(section.leader) for section in digest.sections]
    return _pack_text(
        groups, limit=TELEGRAM_LIMIT, markup=m.markup, first=header, continuation=_continued(m, names)
    )


def telegram_html(digest: Digest, *, title: str | None = None, tz: str = "UTC") -> list[str]:
    """A digest as Telegram HTML messages, each at most :data:`TELEGRAM_LIMIT` UTF-16 units.

    The first message starts with the bold title (default "Daily digest — 24 Nov 2026", the
    digest's end in ``tz``), later ones with "(continued)". An empty digest gives one short
    "Nothing new since …" message.
    """
    return _telegram(digest, title, tz, _HTML)


def telegram_plain(digest: Digest, *, title: str | None = None, tz: str = "UTC") -> list[str]:
    """:func:`telegram_html` as plain text (to resend when Telegram rejects the markup)."""
    return _telegram(digest, title, tz, _PLAIN)


def _telegram_statements(leader: Leader, statements: Sequence[Statement], tz: str, m: _Markup) -> list[str]:
    zone = _zone(tz)
    name = _leader_name(leader)
    escaped = _fit(name, _NAME_BUDGET, m.escape)
    if not statements:
        return [f"No statements from {m.bold(escaped)} yet."]
    count = len(statements)
    header = f"{m.bold(escaped)}: latest {count} statement{'s' if count != 1 else ''}"
    ref_year = _ref_year(statements, zone)
    items = [_chat_item(statement, m, zone, ref_year) for statement in statements]
    return _pack_text(
        [items], limit=TELEGRAM_LIMIT, markup=m.markup, first=header, continuation=_continued(m, [name])
    )


def telegram_statements(leader: Leader, statements: Sequence[Statement], *, tz: str = "UTC") -> list[str]:
    """A leader's statements (e.g. a ``/latest`` reply) as Telegram HTML messages, in the given order."""
    return _telegram_statements(leader, statements, tz, _HTML)


# --------------------------------------------------------------------------------------------
# Slack (Block Kit)


Block = dict[str, Any]
_Tagged = tuple[str, Block]  # (leader name or "", block): the names feed the fallback text


def _slack_link(label: str, url: str) -> str:
    """``<url|label>`` with the label escaped (``|`` shown as ``¦``), or the label alone."""
    escaped = _fit(label.replace("|", "¦"), _OUTLET_BUDGET, escape_slack)
    safe = _link_url(url)
    if safe is None:
        return escaped
    return f"<{safe.translate(_SLACK_ESCAPES)}|{escaped}>"


def _mrkdwn(text: str) -> Block:
    return {"type": "mrkdwn", "text": text}


def _section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(text)}


def _slack_statement(statement: Statement, zone: tzinfo, ref_year: int | None) -> list[Block]:
    """A section with the quote (or the reported content) and a context with date and outlets."""
    if statement.kind == "direct":
        opening, ending = "“", "”"
    else:
        opening, ending = "_reported:_ ", ""
    budget = SLACK_TEXT_LIMIT - utf16_len(opening + ending)
    body = _fit(clean_text(statement.text), budget, escape_slack)
    elements = [_mrkdwn(escape_slack(_day(_when(statement), zone, ref_year)))]
    outlets = _outlets(statement)
    elements.extend(_mrkdwn(_slack_link(label, url)) for label, url in outlets[:MAX_OUTLETS_SHOWN])
    if len(outlets) > MAX_OUTLETS_SHOWN:
        elements.append(_mrkdwn(f"+{len(outlets) - MAX_OUTLETS_SHOWN} more"))
    return [_section(f"{opening}{body}{ending}"), {"type": "context", "elements": elements}]


def _slack_heading(name: str, suffix: str = "") -> str:
    return f"*{_fit(name, _NAME_BUDGET, escape_slack)}*{suffix}"


def _slack_group(
    section: LeaderDigest, zone: tzinfo, ref_year: int | None, divider: bool, latest_command: str
) -> list[Unit[_Tagged]]:
    name = _leader_name(section.leader)
    text = _slack_heading(name)
    summary = clean_text(section.summary)
    if summary:
        text += "\n" + _fit(summary, SLACK_TEXT_LIMIT - utf16_len(text) - 1, escape_slack)
    head: list[_Tagged] = [(name, {"type": "divider"})] if divider else []
    head.append((name, _section(text)))
    units: list[Unit[_Tagged]] = [(head, len(head))]
    for statement in section.statements:
        blocks = _slack_statement(statement, zone, ref_year)
        units.append(([(name, block) for block in blocks], len(blocks)))
    if section.more > 0:
        pointer = _fit(_latest_pointer(section.more, section.leader.key, latest_command), 500, escape_slack)
        units.append(([(name, {"type": "context", "elements": [_mrkdwn(pointer)]})], 1))
    return units


def _slack_pack(
    title: str, groups: Sequence[Sequence[Unit[_Tagged]]], names: Sequence[str]
) -> list[dict[str, Any]]:
    header: Block = {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": _fit(title, SLACK_HEADER_LIMIT, _break_mentions),
            "emoji": True,
        },
    }

    def continuation(group: int | None) -> Unit[_Tagged]:
        if group is None:
            return [], 0
        return [(names[group], _section(_slack_heading(names[group], " _(continued)_")))], 1

    messages = _pack(groups, SLACK_MAX_BLOCKS, ([("", header)], 1), continuation)
    result: list[dict[str, Any]] = []
    for number, items in enumerate(messages, start=1):
        while items and items[0][1]["type"] == "divider":
            items = items[1:]
        shown = list(dict.fromkeys(name for name, _ in items if name))
        fallback = title
        if len(messages) > 1:
            fallback += f" ({number}/{len(messages)})"
        if shown:
            fallback += ": " + ", ".join(shown)
        result.append(
            {"text": _fit(fallback, SLACK_TEXT_LIMIT, escape_slack), "blocks": [block for _, block in items]}
        )
    return result


def _slack_note(text: str, title: str | None) -> dict[str, Any]:
    blocks: list[Block] = []
    if title:
        blocks.append(
            {
                "type": "header",
                "text": {"type": "plain_text", "text": _fit(title, SLACK_HEADER_LIMIT, _break_mentions)},
            }
        )
    blocks.append(_section(_fit(text, SLACK_TEXT_LIMIT, escape_slack)))
    fallback = f"{title}: {text}" if title else text
    return {"text": _fit(fallback, SLACK_TEXT_LIMIT, escape_slack), "blocks": blocks}


def slack_messages(
    digest: Digest, *, title: str | None = None, tz: str = "UTC", latest_command: str = "/latest"
) -> list[dict[str, Any]]:
    """A digest as Slack ``chat.postMessage`` payloads: ``{"text": fallback, "blocks": [...]}``.

    A header block, then per leader a section (name and summary) and per statement a section
    and a context block, dividers between leaders; split into several messages so none has more
    than 50 blocks (a leader continued in a later message is named again). ``latest_command``
    names the command in the "…and N more" pointer (Slack commands may carry a prefix).
    """
    zone = _zone(tz)
    if digest.empty:
        return [_slack_note(_nothing_new(digest, zone), clean_text(title or "") or None)]
    full_title = _title(title, _default_title(digest, zone))
    ref_year = _local(digest.until, zone).year
    groups = [
        _slack_group(section, zone, ref_year, i > 0, latest_command)
        for i, section in enumerate(digest.sections)
    ]
    return _slack_pack(full_title, groups, [_leader_name(section.leader) for section in digest.sections])


def slack_statements(
    leader: Leader, statements: Sequence[Statement], *, tz: str = "UTC"
) -> list[dict[str, Any]]:
    """A leader's statements (e.g. a ``/latest`` reply) as Slack payloads, in the given order."""
    zone = _zone(tz)
    name = _leader_name(leader)
    if not statements:
        return [_slack_note(f"No statements from {name} yet.", None)]
    count = len(statements)
    title = f"{name}: latest {count} statement{'s' if count != 1 else ''}"
    ref_year = _ref_year(statements, zone)
    units: list[Unit[_Tagged]] = []
    for statement in statements:
        blocks = _slack_statement(statement, zone, ref_year)
        units.append(([(name, block) for block in blocks], len(blocks)))
    return _slack_pack(title, [units], [name])


# --------------------------------------------------------------------------------------------
# Terminal


def _text_item(statement: Statement, zone: tzinfo, ref_year: int | None) -> list[str]:
    body = clean_text(statement.text)
    shown = f"“{body}”" if statement.kind == "direct" else f"reported: {body}"
    lines = [f"  • {_day(_when(statement), zone, ref_year)} — {shown}"]
    for label, url in _outlets(statement):
        link = clean_text(url)
        lines.append(f"      {label}" + (f" <{link}>" if link else ""))
    return lines


def plain_text(digest: Digest, *, title: str | None = None, tz: str = "UTC") -> str:
    """A digest for the terminal: every statement in full with every outlet and its URL."""
    zone = _zone(tz)
    heading = _title(title, _default_title(digest, zone))
    if digest.empty:
        note = _nothing_new(digest, zone)
        return f"{heading}\n{note}" if clean_text(title or "") else note
    ref_year = _local(digest.until, zone).year
    lines = [heading]
    for section in digest.sections:
        lines += ["", _leader_name(section.leader)]
        summary = clean_text(section.summary)
        if summary:
            lines.append(summary)
        for statement in section.statements:
            lines += _text_item(statement, zone, ref_year)
        if section.more > 0:
            lines.append("  " + _latest_pointer(section.more, section.leader.key))
    return "\n".join(lines)


def text_statements(leader: Leader, statements: Sequence[Statement], *, tz: str = "UTC") -> str:
    """A leader's statements for the terminal, in the given order, with every outlet and URL."""
    zone = _zone(tz)
    name = _leader_name(leader)
    if not statements:
        return f"No statements from {name} yet."
    count = len(statements)
    lines = [f"{name}: latest {count} statement{'s' if count != 1 else ''}"]
    ref_year = _ref_year(statements, zone)
    for statement in statements:
        lines += _text_item(statement, zone, ref_year)
    return "\n".join(lines)
