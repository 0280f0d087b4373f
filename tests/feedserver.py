"""A small real HTTP server on 127.0.0.1 for tests and benchmarks of fetching and polling.

``FeedServer`` is an aiohttp app on an ephemeral port that serves what a test registers: static
bodies with ETag / Last-Modified (answering 304 to a matching conditional request), added
latency, redirects (chains and loops), slow or huge streamed bodies (generated chunk by chunk,
never built in memory), gzip bombs, gzip-encoded bodies and any Content-Type. It counts requests
per path and the number of requests in flight (now and at most), and keeps each request's
headers, so tests can assert what a user would notice: caching, caps, concurrency limits.

    async with FeedServer(latency=0.05) as server:
        url = server.add("/feed.xml", b"<rss>...</rss>", etag='"v1"')
        ...
        assert server.requests["/feed.xml"] == 1

It is test code: it must not be imported by ``digests/`` or ``bot/``.
"""

from __future__ import annotations

import asyncio
import email.utils
import gzip as gzip_module
import socket
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType

from aiohttp import web
from multidict import CIMultiDictProxy

__all__ = ["FeedServer", "Route", "closed_port"]

_MB = 1024 * 1024


@dataclass
class Route:
    """What the server answers at one path. ``kind`` picks the handler."""

    kind: str  # "body", "redirect", "stream", "gzip_bomb"
    body: bytes = b""
    status: int = 200
    content_type: str | None = "application/rss+xml; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None
    latency: float | None = None  # None: the server's default
    headers: dict[str, str] = field(default_factory=dict)
    gzip: bool = False
    # redirect
    location: str = ""
    # stream / gzip bomb
    chunk: bytes = b""
    chunks: int = 0
    delay: float = 0.0
    size: int = 0


def closed_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
    return port


class FeedServer:
    """Serves registered routes on ``host`` (default 127.0.0.1), port 0 unless given.

    ``latency`` (seconds) is added before every response unless a route sets its own.
    Use ``async with`` or ``await start()`` / ``await stop()``.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, latency: float = 0.0) -> None:
        self.host = host
        self.port = port
        self.latency = latency
        self.routes: dict[str, Route] = {}
        self.requests: Counter[str] = Counter()
        self.request_headers: dict[str, list[CIMultiDictProxy[str]]] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.in_flight_by_path: Counter[str] = Counter()
        self.max_in_flight_by_path: Counter[str] = Counter()
        self.not_modified: Counter[str] = Counter()
        self._runner: web.AppRunner | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        # handler_cancellation: a client that gives up (timeout, size cap) ends its handler,
        # so slow and endless bodies stop at once instead of keeping the test waiting.
        runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self.port = runner.addresses[0][1]
        self._runner = runner

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> FeedServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- registering routes ------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + _path(path)

    def add(
        self,
        path: str,
        body: bytes | str,
        *,
        status: int = 200,
        content_type: str | None = "application/rss+xml; charset=utf-8",
        etag: str | None = None,
        last_modified: str | None = None,
        latency: float | None = None,
        headers: Mapping[str, str] | None = None,
        gzip: bool = False,
    ) -> str:
        """Serve ``body`` at ``path`` (replacing what was there); returns the full URL.

        With ``etag`` / ``last_modified`` set, a matching If-None-Match / If-Modified-Since gets
        a 304. ``gzip=True`` sends the body gzip-encoded with ``Content-Encoding: gzip``.
        """
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[_path(path)] = Route(
            "body",
            body=data,
            status=status,
            content_type=content_type,
            etag=etag,
            last_modified=last_modified,
            latency=latency,
            headers=dict(headers or {}),
            gzip=gzip,
        )
        return self.url(path)

    def add_redirect(
        self, path: str, location: str, *, status: int = 302, latency: float | None = None
    ) -> str:
        """Answer ``status`` with ``Location: location`` (relative or absolute)."""
        self.routes[_path(path)] = Route("redirect", status=status, location=location, latency=latency)
        return self.url(path)

    def add_stream(
        self,
        path: str,
        *,
        chunks: int,
        chunk: bytes = b"x" * 65536,
        delay: float = 0.0,
        content_type: str | None = "application/rss+xml; charset=utf-8",
        content_length: bool = False,
        latency: float | None = None,
    ) -> str:
        """Stream ``chunk`` ``chunks`` times, sleeping ``delay`` between chunks.

        A 50 MB body is ``chunks=800`` of the default 64 KB chunk; a slow body is a few chunks
        with a delay. ``content_length=True`` announces the total size up front.
        """
        headers = {"Content-Length": str(len(chunk) * chunks)} if content_length else {}
        self.routes[_path(path)] = Route(
            "stream",
            chunk=chunk,
            chunks=chunks,
            delay=delay,
            content_type=content_type,
            headers=headers,
            latency=latency,
        )
        return self.url(path)

    def add_gzip_bomb(
        self,
        path: str,
        *,
        size: int = 1024 * _MB,
        content_type: str | None = "application/rss+xml; charset=utf-8",
    ) -> str:
        """A ``Content-Encoding: gzip`` body of about size/1000 bytes that inflates to ``size``
        zero bytes (whole MBs). Generated as it is sent: the server never holds it in memory."""
        self.routes[_path(path)] = Route("gzip_bomb", size=size, content_type=content_type)
        return self.url(path)

    def remove(self, path: str) -> None:
        self.routes.pop(_path(path), None)

    def last_headers(self, path: str) -> CIMultiDictProxy[str]:
        """The headers of the latest request to ``path``."""
        return self.request_headers[_path(path)][-1]

    def reset_counters(self) -> None:
        self.requests.clear()
        self.request_headers.clear()
        self.not_modified.clear()
        self.max_in_flight = self.in_flight
        self.max_in_flight_by_path = Counter(self.in_flight_by_path)

    # -- serving -----------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.requests[path] += 1
        self.request_headers.setdefault(path, []).append(request.headers)
        self.in_flight += 1
        self.in_flight_by_path[path] += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.max_in_flight_by_path[path] = max(self.max_in_flight_by_path[path], self.in_flight_by_path[path])
        try:
            route = self.routes.get(path)
            if route is None:
                return web.Response(status=404, text="not found")
            latency = self.latency if route.latency is None else route.latency
            if latency > 0:
                await asyncio.sleep(latency)
            if route.kind == "redirect":
                return web.Response(status=route.status, headers={"Location": route.location})
            if route.kind == "stream":
                return await self._stream(request, route)
            if route.kind == "gzip_bomb":
                return await self._bomb(request, route)
            return self._body(request, route)
        finally:
            self.in_flight -= 1
            self.in_flight_by_path[path] -= 1

    def _body(self, request: web.Request, route: Route) -> web.StreamResponse:
        headers = dict(route.headers)
        if route.etag:
            headers["ETag"] = route.etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        if _not_modified(request, route):
            self.not_modified[request.path] += 1
            return web.Response(status=304, headers=headers)
        body = route.body
        if route.gzip:
            body = gzip_module.compress(body)
            headers["Content-Encoding"] = "gzip"
        if route.content_type is not None:
            headers["Content-Type"] = route.content_type
        response = web.Response(status=route.status, body=body, headers=headers)
        if route.content_type is None:
            # aiohttp would add application/octet-stream; a missing header is the point here.
            response.headers.popall("Content-Type", None)
        return response

    async def _stream(self, request: web.Request, route: Route) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers=route.headers)
        if route.content_type is not None:
            response.headers["Content-Type"] = route.content_type
        await response.prepare(request)
        try:
            for i in range(route.chunks):
                if i and route.delay > 0:
                    await asyncio.sleep(route.delay)
                await response.write(route.chunk)
            await response.write_eof()
        except ConnectionError:
            pass  # the client gave up: exactly what the caps are for
        return response

    async def _bomb(self, request: web.Request, route: Route) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Encoding": "gzip"})
        if route.content_type is not None:
            response.headers["Content-Type"] = route.content_type
        await response.prepare(request)
        try:
            async for piece in _gzip_zeros(route.size):
                await response.write(piece)
            await response.write_eof()
        except ConnectionError:
            pass
        return response


def _path(path: str) -> str:
    return path if path.startswith("/") else "/" + path


def _not_modified(request: web.Request, route: Route) -> bool:
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None and route.etag:
        tags = [t.strip() for t in if_none_match.split(",")]
        return "*" in tags or route.etag in tags or f"W/{route.etag}" in tags
    since = request.headers.get("If-Modified-Since")
    if since and route.last_modified:
        try:
            return email.utils.parsedate_to_datetime(since) >= email.utils.parsedate_to_datetime(
                route.last_modified
            )
        except (TypeError, ValueError):
            return False
    return False


async def _gzip_zeros(size: int) -> AsyncIterator[bytes]:
    """A gzip stream of ``size`` zero bytes (rounded down to whole MBs), about 1 KB per MB.

    After a full flush deflate forgets its history, so every 1 MB block compresses to the same
    bytes: one block is computed and repeated, and the CRC is updated as it goes.
    """
    zeros = bytes(_MB)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    yield b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # gzip header: deflate, no name, no mtime
    crc = 0
    blocks = size // _MB
    for i in range(blocks):
        crc = zlib.crc32(zeros, crc)
        yield block
        if i % 64 == 63:
            await asyncio.sleep(0)  # let the loop notice a client that went away
    yield zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS).flush()  # an empty final block
    yield crc.to_bytes(4, "little") + (blocks * _MB % 2**32).to_bytes(4, "little")
