"""Fetching feeds and pages: the product's only HTTP module.

``Fetcher`` wraps one shared ``httpx.AsyncClient`` and adds what polling many untrusted sources
needs: conditional GET (ETag / Last-Modified → 304), a connect timeout and a *total* timeout for
the whole request including the body, a size cap counted while streaming (on the wire and again
after gzip/deflate decompression, so a gzip bomb is cut off early and never held in memory),
manually followed redirects (at most ``max_redirects``), a clear User-Agent, and a global and a
per-host concurrency cap. ``file://`` URLs and plain local paths are read from disk under the
same size cap, with the file's mtime standing in for Last-Modified.

Every failure is raised as ``FetchError`` with a one-line human ``reason``. This module must not
parse what it fetches, must not retry (the caller backs off, see ``backoff_delay``), and must not
log or put into a reason anything but the URL: request and response headers may carry secrets.
"""

from __future__ import annotations

import asyncio
import email.utils
import errno
import logging
import os
import socket
import ssl
import stat
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import httpx

__all__ = ["DEFAULT_USER_AGENT", "FetchError", "FetchResult", "Fetcher", "backoff_delay"]

logger = logging.getLogger(__name__)

DEFAULT_USER_AGENT = "digestbot/0.1 (+https://github.com/digestbot/digestbot; statement digests)"

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, application/xml;q=0.9, "
    "text/xml;q=0.9, text/html;q=0.8, */*;q=0.5"
)
# Only what this module can decompress itself, chunk by chunk, with a bounded output size.
_ACCEPT_ENCODING = "gzip, deflate"
_CHUNK = 64 * 1024
_KEEPALIVE = 16
# Content types for local files; anything else is left to the parser to sniff.
_FILE_TYPES = {
    ".xml": "application/xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".rdf": "application/rdf+xml",
    ".html": "text/html",
    ".htm": "text/html",
    ".txt": "text/plain",
    ".json": "application/json",
}


class FetchError(Exception):
    """A fetch that failed; ``reason`` is one human line, e.g. ``"HTTP 503 Service Unavailable"``.

    ``status`` is the HTTP status when the server answered, else ``None``.
    """

    def __init__(self, url: str, reason: str, *, status: int | None = None) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class FetchResult:
    """A successful fetch. For a 304 the body is empty and the validators are the ones sent."""

    url: str  # final URL after redirects (a local path stays as given)
    status: int  # the 2xx status, or 304 for not modified
    body: bytes  # decompressed; b"" for 304
    etag: str | None
    last_modified: str | None
    content_type: str | None  # the Content-Type header as sent, charset included

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def backoff_delay(failures: int, interval: timedelta, cap: timedelta = timedelta(hours=24)) -> timedelta:
    """Delay before the next poll of a source that failed ``failures`` times in a row.

    ``interval * 2 ** (failures - 1)``, never more than ``cap``: one failure waits one interval,
    two wait two, three wait four, and so on. ``failures`` below 1 counts as 1.
    """
    exponent = max(failures, 1) - 1
    # Compare in seconds first: a large exponent would overflow timedelta.
    if exponent >= 64 or interval.total_seconds() * 2.0**exponent >= cap.total_seconds():
        return cap
    return interval * (1 << exponent)


def _size(n: int) -> str:
    """``5 MB`` for 5 * 1024 * 1024, ``64 KB``, ``1000 bytes``."""
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= factor and n % factor == 0:
            return f"{n // factor} {unit}"
    if n >= 1024**2:
        return f"{n / 1024**2:.1f} MB"
    return f"{n} bytes"


def _seconds(s: float) -> str:
    return f"{s:g} s"


def _status_reason(status: int) -> str:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return f"HTTP {status} {phrase}".rstrip()


class _Decoder:
    """Incremental decompression of one response body with a bounded output size.

    Handles a chain of ``gzip`` / ``deflate`` (zlib or raw) / ``identity`` codings, and gzip
    streams of several members. ``feed`` yields output pieces of at most ``limit`` bytes in
    total, so the caller can stop as soon as the cap is passed.
    """

    def __init__(self, codings: list[str]) -> None:
        self._stages: list[_Inflater] = [_Inflater(c) for c in reversed(codings)]

    def feed(self, data: bytes, limit: int) -> Iterator[bytes]:
        yield from self._run(0, data, limit)

    def _run(self, i: int, data: bytes, limit: int) -> Iterator[bytes]:
        if i == len(self._stages):
            if data:
                yield data
            return
        for piece in self._stages[i].feed(data, limit):
            yield from self._run(i + 1, piece, limit)

    def finish(self, limit: int) -> Iterator[bytes]:
        yield from self._finish(0, limit)

    def _finish(self, i: int, limit: int) -> Iterator[bytes]:
        if i == len(self._stages):
            return
        for piece in self._stages[i].flush(limit):
            yield from self._run(i + 1, piece, limit)
        yield from self._finish(i + 1, limit)


class _Inflater:
    def __init__(self, coding: str) -> None:
        self._coding = coding
        # gzip: 16 + MAX_WBITS; deflate: zlib-wrapped first, raw deflate if that fails.
        self._wbits = 16 + zlib.MAX_WBITS if coding == "gzip" else zlib.MAX_WBITS
        self._obj = zlib.decompressobj(self._wbits)
        self._started = False

    def feed(self, data: bytes, limit: int) -> Iterator[bytes]:
        limit = max(limit, 1)
        pending = data
        while True:
            try:
                out = self._obj.decompress(pending, limit)
            except zlib.error:
                if self._coding == "deflate" and not self._started:
                    # Some servers send raw deflate without the zlib wrapper.
                    self._started = True
                    self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
                    out = self._obj.decompress(pending, limit)
                else:
                    raise
            self._started = True
            if out:
                yield out
            if self._obj.eof:
                rest = self._obj.unused_data
                if self._coding == "gzip" and rest.startswith(b"\x1f\x8b"):
                    # Another gzip member follows (trailing junk is ignored, as browsers do).
                    self._obj = zlib.decompressobj(self._wbits)
                    pending = rest
                    continue
                return
            pending = self._obj.unconsumed_tail
            # Output may still be buffered inside zlib when the output limit was reached.
            if not pending and len(out) < limit:
                return

    def flush(self, limit: int) -> Iterator[bytes]:
        yield from self.feed(b"", limit)


def _is_local(url: str) -> bool:
    scheme = urlsplit(url).scheme.lower()
    # A one-letter scheme is a Windows drive ("C:\\feeds\\x.xml").
    return scheme == "file" or scheme == "" or (len(scheme) == 1 and os.name == "nt")


def _local_path(url: str) -> Path:
    parts = urlsplit(url)
    if parts.scheme.lower() == "file":
        if parts.netloc not in ("", "localhost"):
            raise ValueError("file:// URLs must name a local file")
        return Path(url2pathname(unquote(parts.path)))
    return Path(url)


def _connect_reason(exc: httpx.ConnectError) -> str:
    cause: BaseException | None = exc
    seen = 0
    while cause is not None and seen < 10:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "connection failed: host name could not be resolved"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"connection failed: TLS certificate not valid ({cause.verify_message})"
        if isinstance(cause, ssl.SSLError):
            return "connection failed: TLS handshake failed"
        if isinstance(cause, OSError) and cause.errno == errno.ECONNREFUSED:
            return "connection refused"
        if isinstance(cause, OSError) and cause.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return "connection failed: network unreachable"
        cause = cause.__cause__ or cause.__context__
        seen += 1
    text = str(exc).strip()
    if "refused" in text.lower():
        return "connection refused"
    if "name or service not known" in text.lower() or "nodename nor servname" in text.lower():
        return "connection failed: host name could not be resolved"
    return f"connection failed: {text or type(exc).__name__}"


class Fetcher:
    """Fetches URLs and local files; use as ``async with Fetcher() as f: await f.get(url)``.

    Limits: ``max_bytes`` on the wire and after decompression; ``connect_timeout`` for the TCP/TLS
    connection; ``total_timeout`` for everything after a concurrency slot is granted (connect,
    request, redirects, headers and the whole body); ``global_limit`` requests at once in total
    and ``per_host_limit`` at once per host (time spent waiting for a slot does not count against
    the timeout). ``transport`` is httpx's seam for tests and proxies.
    """

    def __init__(
        self,
        *,
        user_agent: str = DEFAULT_USER_AGENT,
        max_bytes: int = 5 * 1024 * 1024,
        connect_timeout: float = 10,
        total_timeout: float = 30,
        max_redirects: int = 5,
        global_limit: int = 64,
        per_host_limit: int = 4,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if max_bytes < 1 or global_limit < 1 or per_host_limit < 1 or max_redirects < 0:
            raise ValueError("max_bytes, global_limit and per_host_limit must be positive")
        self.user_agent = user_agent
        self.max_bytes = max_bytes
        self.connect_timeout = connect_timeout
        self.total_timeout = total_timeout
        self.max_redirects = max_redirects
        self._transport = transport
        self._global = asyncio.Semaphore(global_limit)
        self._per_host_limit = per_host_limit
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._global_limit = global_limit
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Fetcher:
        self._client = httpx.AsyncClient(
            headers={
                "User-Agent": self.user_agent,
                "Accept": _ACCEPT,
                "Accept-Encoding": _ACCEPT_ENCODING,
            },
            timeout=httpx.Timeout(
                self.total_timeout,
                connect=self.connect_timeout,
            ),
            # Few idle connections kept: httpcore 1.0's pool does O(connections²) bookkeeping
            # per request, and 64 kept-alive connections made a 500-feed poll 5x slower than 16.
            limits=httpx.Limits(
                max_connections=self._global_limit,
                max_keepalive_connections=min(self._global_limit, _KEEPALIVE),
            ),
            follow_redirects=False,
            transport=self._transport,
        )
        await self._client.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.__aexit__(exc_type, exc, tb)

    @property
    def client(self) -> httpx.AsyncClient:
        """The shared client (for other HTTP calls of the same process, e.g. summaries)."""
        if self._client is None:
            raise RuntimeError("Fetcher is not open: use `async with Fetcher() as fetcher`")
        return self._client

    async def get(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """Fetch ``url`` (http, https, ``file://`` or a local path), conditionally if validators
        are given. Returns a 2xx result, or a 304 result with an empty body; raises ``FetchError``.
        """
        url = url.strip()
        if _is_local(url):
            return await self._get_file(url, etag=etag, last_modified=last_modified)
        async with self._global:
            started = time.monotonic()
            try:
                result = await self._get_http(url, etag=etag, last_modified=last_modified)
            except FetchError as exc:
                logger.debug("GET %s failed: %s", url, exc.reason)
                raise
            logger.debug("GET %s -> %d in %.2f s", url, result.status, time.monotonic() - started)
            return result

    # -- HTTP ------------------------------------------------------------------------------

    def _host_slot(self, host: str) -> asyncio.Semaphore:
        slot = self._hosts.get(host)
        if slot is None:
            slot = self._hosts[host] = asyncio.Semaphore(self._per_host_limit)
        return slot

    async def _get_http(self, url: str, *, etag: str | None, last_modified: str | None) -> FetchResult:
        if self._client is None:
            raise RuntimeError("Fetcher.get() needs 'async with Fetcher() as fetcher'")
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            current = httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError):
            raise FetchError(url, "unsupported or invalid URL") from None
        budget = self.total_timeout
        for hop in range(self.max_redirects + 1):
            if current.scheme not in ("http", "https") or not current.host:
                raise FetchError(
                    url,
                    "redirected to an unsupported or invalid URL" if hop else "unsupported or invalid URL",
                )
            async with self._host_slot(current.host.lower()):
                started = time.monotonic()
                try:
                    async with asyncio.timeout(budget):
                        outcome = await self._one_request(url, current, headers)
                except TimeoutError:
                    raise FetchError(url, f"timed out after {_seconds(self.total_timeout)}") from None
                budget -= time.monotonic() - started
            if isinstance(outcome, FetchResult):
                return outcome
            if hop == self.max_redirects:
                break
            current = outcome
        raise FetchError(url, f"too many redirects (more than {self.max_redirects})")

    async def _one_request(
        self, url: str, target: httpx.URL, headers: dict[str, str]
    ) -> FetchResult | httpx.URL:
        """One hop: a result, or the URL to redirect to."""
        assert self._client is not None
        try:
            request = self._client.build_request("GET", target, headers=headers)
            response = await self._client.send(request, stream=True)
            try:
                return await self._read_response(url, response, headers)
            finally:
                await response.aclose()
        except FetchError:
            raise
        except httpx.ConnectTimeout:
            raise FetchError(url, f"timed out connecting after {_seconds(self.connect_timeout)}") from None
        except httpx.TimeoutException:
            raise FetchError(url, f"timed out after {_seconds(self.total_timeout)}") from None
        except httpx.ConnectError as exc:
            raise FetchError(url, _connect_reason(exc)) from None
        except httpx.RemoteProtocolError:
            raise FetchError(url, "connection closed by the server") from None
        except httpx.ReadError:
            raise FetchError(url, "connection lost while reading the response") from None
        except httpx.TooManyRedirects:
            raise FetchError(url, f"too many redirects (more than {self.max_redirects})") from None
        except httpx.DecodingError:
            raise FetchError(url, "could not decompress the body") from None
        except (httpx.InvalidURL, httpx.UnsupportedProtocol):
            raise FetchError(url, "unsupported or invalid URL") from None
        except httpx.HTTPError as exc:
            raise FetchError(url, f"request failed ({type(exc).__name__})") from None
        except TimeoutError:
            raise FetchError(url, f"timed out after {_seconds(self.total_timeout)}") from None
        except OSError as exc:
            raise FetchError(url, f"connection failed: {exc.strerror or type(exc).__name__}") from None

    async def _read_response(
        self, url: str, response: httpx.Response, sent: dict[str, str]
    ) -> FetchResult | httpx.URL:
        status = response.status_code
        if status in _REDIRECT_STATUSES:
            location = response.headers.get("location", "").strip()
            if not location:
                raise FetchError(url, f"{_status_reason(status)} without a Location", status=status)
            try:
                return response.url.join(location)
            except (httpx.InvalidURL, ValueError):
                raise FetchError(url, "redirect to an unsupported or invalid URL", status=status) from None
        etag = response.headers.get("etag")
        last_modified = response.headers.get("last-modified")
        content_type = response.headers.get("content-type")
        if status == 304:
            # Servers may omit the validators on a 304: keep the ones that were sent.
            return FetchResult(
                str(response.url),
                304,
                b"",
                etag or sent.get("If-None-Match"),
                last_modified or sent.get("If-Modified-Since"),
                content_type,
            )
        if not 200 <= status < 300:
            raise FetchError(url, _status_reason(status), status=status)
        body = await self._read_body(url, response)
        return FetchResult(str(response.url), status, body, etag, last_modified, content_type)

    async def _read_body(self, url: str, response: httpx.Response) -> bytes:
        cap = self.max_bytes
        too_big = f"body larger than {_size(cap)}"
        declared = response.headers.get("content-length", "").strip()
        if declared.isascii() and declared.isdigit() and int(declared) > cap:
            raise FetchError(url, too_big)
        codings = [
            c.strip().lower()
            for c in response.headers.get("content-encoding", "").split(",")
            if c.strip() and c.strip().lower() != "identity"
        ]
        unknown = [c for c in codings if c not in ("gzip", "x-gzip", "deflate")]
        if unknown:
            raise FetchError(url, f"could not decompress the body (unsupported encoding {unknown[0]})")
        decoder = _Decoder(["gzip" if c == "x-gzip" else c for c in codings]) if codings else None
        out = bytearray()
        wire = 0
        try:
            async for chunk in response.aiter_raw(_CHUNK):
                wire += len(chunk)
                if wire > cap:
                    raise FetchError(url, too_big)
                if decoder is None:
                    out += chunk
                    continue
                for piece in decoder.feed(chunk, cap - len(out) + 1):
                    out += piece
                    if len(out) > cap:
                        raise FetchError(url, f"decompressed body larger than {_size(cap)}")
            if decoder is not None:
                for piece in decoder.finish(cap - len(out) + 1):
                    out += piece
                    if len(out) > cap:
                        raise FetchError(url, f"decompressed body larger than {_size(cap)}")
        except zlib.error:
            raise FetchError(url, "could not decompress the body") from None
        return bytes(out)

    # -- local files -------------------------------------------------------------------------

    async def _get_file(self, url: str, *, etag: str | None, last_modified: str | None) -> FetchResult:
        try:
            path = _local_path(url)
        except ValueError:
            raise FetchError(url, "unsupported or invalid URL") from None
        return await asyncio.to_thread(self._read_file, url, path, etag, last_modified)

    def _read_file(self, url: str, path: Path, etag: str | None, last_modified: str | None) -> FetchResult:
        try:
            # stat before open: opening a FIFO or a device could block or never end.
            if not stat.S_ISREG(path.stat().st_mode):
                raise FetchError(url, f"not a regular file: {path}")
            with path.open("rb") as f:
                st = os.fstat(f.fileno())
                mtime = email.utils.formatdate(st.st_mtime, usegmt=True)
                tag = f'"{st.st_size:x}-{st.st_mtime_ns:x}"'
                content_type = _FILE_TYPES.get(path.suffix.lower())
                if _file_not_modified(etag, last_modified, tag, st.st_mtime):
                    return FetchResult(url, 304, b"", tag, mtime, content_type)
                if st.st_size > self.max_bytes:
                    raise FetchError(url, f"body larger than {_size(self.max_bytes)}")
                body = f.read(self.max_bytes + 1)
        except FileNotFoundError:
            raise FetchError(url, f"file not found: {path}") from None
        except PermissionError:
            raise FetchError(url, f"permission denied: {path}") from None
        except OSError as exc:
            raise FetchError(url, f"could not read {path}: {exc.strerror or type(exc).__name__}") from None
        if len(body) > self.max_bytes:
            raise FetchError(url, f"body larger than {_size(self.max_bytes)}")
        return FetchResult(url, 200, body, tag, mtime, content_type)


def _file_not_modified(etag: str | None, last_modified: str | None, tag: str, mtime: float) -> bool:
    # As in HTTP: If-None-Match, when given, decides; else If-Modified-Since.
    if etag:
        return etag.strip() == tag
    if last_modified:
        try:
            since = email.utils.parsedate_to_datetime(last_modified)
        except (TypeError, ValueError, IndexError):
            return False
        return int(since.timestamp()) >= int(mtime)
    return False
