"""A strict validator for Telegram's HTML parse mode, for tests.

Stricter than Telegram on purpose: only the tags ``b``, ``i``, ``u``, ``s``, ``a href``,
``code``, ``pre`` and ``blockquote`` (lower case, no other attributes), properly nested, no
link inside a link and no markup inside ``code``/``pre`` (except ``code`` directly in ``pre``);
``&`` only as ``&lt;``, ``&gt;``, ``&amp;``, ``&quot;`` or ``&#NNN;`` (a valid, non-surrogate code
point); a bare ``<``, ``>`` or ``&`` is an error; an ``href`` must be a non-empty ``http(s)`` URL.
A message whose visible text is only whitespace is rejected, as Telegram rejects an empty one.
"""

from __future__ import annotations

import re

ALLOWED_TAGS = frozenset({"b", "i", "u", "s", "a", "code", "pre", "blockquote"})

_START_TAG = re.compile(r'<([a-z]+)((?: [a-z]+="[^"<>]*")*)>')
_END_TAG = re.compile(r"</([a-z]+)>")
_ATTRIBUTE = re.compile(r' ([a-z]+)="([^"<>]*)"')
_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,7}));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class TelegramHtmlError(ValueError):
    """The text is not valid (strict) Telegram HTML; the message says what and where."""


_BARE = re.compile(r"&(?!(?:lt|gt|amp|quot|#[0-9]{1,7});)|[<>]")


def _decode(match: re.Match[str]) -> str:
    if match.group(1):
        return _NAMED[match.group(1)]
    code = int(match.group(2))
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise TelegramHtmlError(f"invalid character reference &#{code};")
    return chr(code)


def _unescape(text: str, offset: int) -> str:
    """Decode entities in ``text``, rejecting a bare ``&``, ``<`` or ``>``."""
    bare = _BARE.search(text)
    if bare is not None:
        raise TelegramHtmlError(f"bare {bare.group()!r} at {offset + bare.start()}")
    return _ENTITY.sub(_decode, text)


def visible_text(html: str) -> str:
    """Parse ``html`` strictly and return its visible text; raise `TelegramHtmlError` if invalid."""
    out: list[str] = []
    stack: list[str] = []
    i = 0
    text_start = 0

    def flush(end: int) -> None:
        out.append(_unescape(html[text_start:end], text_start))

    while i < len(html):
        if html[i] != "<":
            i += 1
            continue
        flush(i)
        end = _END_TAG.match(html, i)
        if end is not None:
            name = end.group(1)
            if not stack or stack[-1] != name:
                raise TelegramHtmlError(f"unmatched </{name}> at {i} (open: {stack})")
            stack.pop()
            i = text_start = end.end()
            continue
        start = _START_TAG.match(html, i)
        if start is None:
            raise TelegramHtmlError(f"bare '<' or malformed tag at {i}: {html[i : i + 30]!r}")
        name = start.group(1)
        if name not in ALLOWED_TAGS:
            raise TelegramHtmlError(f"unsupported tag <{name}> at {i}")
        attributes = _ATTRIBUTE.findall(start.group(2))
        if name == "a":
            if [key for key, _ in attributes] != ["href"]:
                raise TelegramHtmlError(f"<a> needs exactly one href at {i}")
            href = _unescape(attributes[0][1], i)
            if not re.match(r"https?://[^\s]+$", href):
                raise TelegramHtmlError(f"href is not an http(s) URL at {i}: {href!r}")
            if "a" in stack:
                raise TelegramHtmlError(f"link inside a link at {i}")
        elif attributes:
            raise TelegramHtmlError(f"attributes on <{name}> at {i}")
        if stack and stack[-1] in ("code", "pre") and not (name == "code" and stack[-1] == "pre"):
            raise TelegramHtmlError(f"<{name}> inside <{stack[-1]}> at {i}")
        stack.append(name)
        i = text_start = start.end()
    flush(len(html))
    if stack:
        raise TelegramHtmlError(f"unclosed tags at the end: {stack}")
    text = "".join(out)
    if not text.strip():
        raise TelegramHtmlError("the message has no visible text")
    return text
