"""The ingestion pipeline: fetch → parse → extract → dedup → store, one source at a time.

``poll_source`` is one unit of work: every failure inside it (network, HTTP, a broken feed) is
caught, recorded on that source with a clear reason and an exponential backoff, and never reaches
the other sources. All writes for one source happen in one transaction. ``ingest_text`` stores a
single article given by hand. Nothing here knows about chat platforms or the scheduler.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from digests import parse
from digests.extract import Extractor
from digests.fetch import Fetcher, FetchError, backoff_delay
from digests.models import Article, Extracted, Source
from digests.storage import Storage
from digests.workers import CpuWork, WorkerCrashed

log = logging.getLogger("digests.pipeline")

PollStatus = Literal["ok", "not_modified", "failed"]


@dataclass(frozen=True)
class PollResult:
    source: str
    status: PollStatus
    entries: int = 0  # entries in the feed
    new_articles: int = 0
    new_statements: int = 0
    merged_statements: int = 0
    error: str | None = None
    seconds: float = 0.0


def content_hash(*parts: str | None) -> str:
    digest = hashlib.sha1()
    for part in parts:
        digest.update((part or "").encode("utf-8", "replace"))
        digest.update(b"\x00")
    return digest.hexdigest()


def looks_like_html(text: str) -> bool:
    head = text[:2000].lower()
    return "<html" in head or "<!doctype html" in head or bool(re.search(r"<(p|div|article|body)[\s>]", head))


def official_statements(
    extracted: list[Extracted], entry: parse.FeedEntry, leader: str, text: str
) -> list[Extracted]:
    """An official feed of one leader: every item is that leader's own words. Statements found by
    attribution stay; an item where nothing was attributed becomes one statement from its
    summary (its own words when quoted, else reported)."""
    if extracted:
        return extracted
    summary = " ".join((entry.content or text).split())
    if not summary:
        summary = entry.title
    sentences = re.split(r"(?<=[.!?])\s+", summary)
    body = " ".join(sentences[:3])[:600].strip()
    if len(body.split()) < 4:
        return []
    return [Extracted(leader, "indirect", body, body, 0)]


class Pipeline:
    """Holds the long-lived parts: storage, extractor and fetcher; ``now`` is passed in."""

    def __init__(
        self,
        storage: Storage,
        extractor: Extractor,
        fetcher: Fetcher,
        *,
        fetch_pages: bool = True,
        max_entries: int = 200,
        work: CpuWork | None = None,
    ) -> None:
        """``work`` runs parsing and extraction (in worker processes when it has them); without
        it they run inline with ``extractor``."""
        self.storage = storage
        self.extractor = extractor
        self.fetcher = fetcher
        self.fetch_pages = fetch_pages
        self.max_entries = max_entries
        self.work = work if work is not None else CpuWork(extractor, workers=0)
        # What this pipeline has done, wherever the work ran: "feeds_parsed", "articles_extracted".
        self.counts: Counter[str] = Counter()

    async def poll_all(
        self,
        sources: Sequence[Source],
        now: datetime,
        on_done: Callable[[PollResult], None] | None = None,
    ) -> list[PollResult]:
        async def one(source: Source) -> PollResult:
            result = await self.poll_source(source, now)
            if on_done is not None:
                on_done(result)
            return result

        return list(await asyncio.gather(*(one(s) for s in sources)))

    async def poll_source(self, source: Source, now: datetime) -> PollResult:
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            result = await self._poll(source, now)
        except (FetchError, parse.FeedError, WorkerCrashed) as exc:
            result = self._failed(source, now, exc.reason)
        except Exception as exc:  # one source's bug must not stop the others
            log.exception("poll %s: unexpected error", source.key)
            result = self._failed(source, now, f"internal error: {type(exc).__name__}: {exc}")
        result = PollResult(**{**result.__dict__, "seconds": loop.time() - started})
        log.info(
            "poll %s: %s entries=%d new_articles=%d new_statements=%d%s",
            source.key,
            result.status,
            result.entries,
            result.new_articles,
            result.new_statements,
            f" error={result.error}" if result.error else "",
        )
        return result

    def _failed(self, source: Source, now: datetime, reason: str) -> PollResult:
        state = self.storage.source_state(source.key)
        failures = (state.failures if state else 0) + 1
        delay = backoff_delay(failures, source.interval)
        self.storage.record_poll_failure(source.key, now=now, reason=reason, next_poll=now + delay)
        return PollResult(source.key, "failed", error=reason)

    async def _poll(self, source: Source, now: datetime) -> PollResult:
        state = self.storage.source_state(source.key)
        first_poll = state is None or not state.polled_once
        fetched = await self.fetcher.get(
            source.url,
            etag=state.etag if state else None,
            last_modified=state.last_modified if state else None,
        )
        next_poll = now + source.interval
        if fetched.not_modified:
            self.storage.record_poll_ok(
                source.key, now=now, etag=None, last_modified=None, next_poll=next_poll
            )
            return PollResult(source.key, "not_modified")
        self.counts["feeds_parsed"] += 1
        feed = await self.work.parse_feed(
            fetched.body, url=fetched.url, content_type=fetched.content_type, max_entries=self.max_entries
        )
        known = self.storage.known_entries(source.key, [e.id for e in feed.entries])
        todo: list[tuple[parse.FeedEntry, str, bool]] = []
        for entry in feed.entries:
            digest = content_hash(entry.title, entry.link, entry.content)
            if known.get(entry.id) == digest:
                continue
            too_old = first_poll and entry.published is not None and entry.published < now - source.max_age
            todo.append((entry, digest, too_old))
        fresh = [entry for entry, _, too_old in todo if not too_old]
        pages = await asyncio.gather(*(self._page(entry) for entry in fresh))
        found = await self.work.extract(
            [
                (text, (entry.published or now).date(), entry.title)
                for entry, text in zip(fresh, pages, strict=True)
            ]
        )
        self.counts["articles_extracted"] += len(fresh)
        page_iter, found_iter = iter(pages), iter(found)
        saved: list[tuple[Article, str, str, list[Extracted]]] = []
        for entry, digest, too_old in todo:
            article_text = "" if too_old else next(page_iter)
            article = Article(
                url=entry.link or fetched.url,
                title=entry.title,
                outlet=source.name,
                text=article_text,
                published=entry.published,
                source_key=source.key,
                leader=source.leader,
            )
            statements: list[Extracted] = []
            if not too_old:
                statements = next(found_iter)
                if source.leader:
                    statements = official_statements(statements, entry, source.leader, article_text)
            saved.append((article, entry.id, digest, statements))
        new_articles = new_statements = merged = 0
        with self.storage.transaction():
            for article, entry_id, digest, statements in saved:
                res = self.storage.save_article(
                    article, entry_id=entry_id, content_hash=digest, statements=statements, now=now
                )
                new_articles += 1
                new_statements += res.new_statements
                merged += res.merged_statements
            self.storage.record_poll_ok(
                source.key,
                now=now,
                etag=fetched.etag,
                last_modified=fetched.last_modified,
                next_poll=next_poll,
            )
        return PollResult(source.key, "ok", len(feed.entries), new_articles, new_statements, merged)

    async def _page(self, entry: parse.FeedEntry) -> str:
        """The entry's page text, or the entry's own content when the page can't be had."""
        html: bytes | None = None
        if self.fetch_pages and entry.link and entry.link.startswith(("http://", "https://")):
            try:
                page = await self.fetcher.get(entry.link)
                html = page.body
            except FetchError as exc:
                log.info("page %s: %s (using the feed's own text)", entry.link, exc.reason)
        return await self.work.page_text(html, entry)


def article_from_document(
    body: str,
    *,
    url: str,
    outlet: str,
    title: str | None = None,
    published: datetime | None = None,
) -> Article:
    """One document given by hand (plain text or HTML) → an Article."""
    text = body
    if looks_like_html(body):
        text = parse.html_to_text(body, url=url if url.startswith("http") else None) or ""
    if title is None:
        first = next((line.strip() for line in text.splitlines() if line.strip()), "")
        # A first line that is a whole paragraph is the story, not its headline.
        title = first if len(first.split()) <= 20 else first[:80].rsplit(" ", 1)[0] + "…"
    return Article(url=url, title=title, outlet=outlet, text=text, published=published, source_key="")


def ingest_article(
    storage: Storage, extractor: Extractor, article: Article, now: datetime
) -> tuple[int, int]:
    """Store one article with its statements; returns (new statements, merged statements)."""
    day = (article.published or now).date()
    statements = extractor.extract(article.text, day, article.title)
    entry_id = parse.normalise_link(article.url) if "://" in article.url else article.url
    res = storage.save_article(
        article,
        entry_id=entry_id,
        content_hash=content_hash(article.title, article.text),
        statements=statements,
        now=now,
    )
    return res.new_statements, res.merged_statements


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_since(value: str) -> timedelta:
    """ "24h", "90m", "2d" → timedelta (for ``--since``)."""
    from digests.config import parse_duration

    return parse_duration(value, default_unit="h")
