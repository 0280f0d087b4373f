"""The ``digestbot`` command line: every subcommand of SPEC section 10.

Parses arguments, builds the parts it needs from settings and config, calls the core, prints.
Errors a user can fix (bad config, unknown leader, unreadable file) print one clear line and exit
with status 2; nothing here holds product logic.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.logs import setup_logging
from bot.settings import Settings, SettingsError, load_settings
from digests.config import Config, ConfigError, load_config
from digests.extract import Extractor
from digests.leaders import Registry
from digests.models import Digest, Extracted, Statement

log = logging.getLogger("bot.cli")


class UsageError(Exception):
    """A mistake the user can fix; printed as one line."""


# ------------------------------------------------------------------------------------------------
# Output helpers


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def statement_json(s: Statement) -> dict[str, Any]:
    return {
        "id": s.id,
        "leader": s.leader,
        "kind": s.kind,
        "text": s.text,
        "sentence": s.sentence,
        "url": s.url,
        "title": s.title,
        "outlet": s.outlet,
        "published": _iso(s.published),
        "first_seen": _iso(s.first_seen),
        "sources": [
            {"outlet": src.outlet, "url": src.url, "title": src.title, "published": _iso(src.published)}
            for src in s.sources
        ],
    }


def extracted_json(e: Extracted, *, url: str, title: str, published: datetime | None) -> dict[str, Any]:
    return {
        "leader": e.leader,
        "kind": e.kind,
        "text": e.text,
        "sentence": e.sentence,
        "url": url,
        "title": title,
        "outlet": None,
        "published": _iso(published),
        "first_seen": None,
        "sources": [],
    }


def print_table(rows: Sequence[Sequence[str]], header: Sequence[str], out: Any = None) -> None:
    out = out or sys.stdout
    widths = [len(h) for h in header]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=False)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    print(fmt.format(*header), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for row in rows:
        print(fmt.format(*row), file=out)


def parse_date(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"not a date: {value!r} (use YYYY-MM-DD or an ISO timestamp)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# ------------------------------------------------------------------------------------------------
# Building parts


class Parts:
    """Settings, config and the registry, loaded once per command."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.config: Config = load_config(settings.config_dir)
        self.registry = Registry(self.config.leaders)
        self.extractor = Extractor(self.registry)

    def storage(self) -> Any:
        from digests.storage import Storage

        storage = Storage(self.settings.db_path)
        storage.sync_sources(self.config.sources)
        return storage

    def leader_key(self, name: str) -> str:
        res = self.registry.resolve(name)
        if res.leader is not None:
            return res.leader.key
        if res.suggestion is not None:
            raise UsageError(f"unknown leader {name!r}. Did you mean {res.suggestion.key}?")
        raise UsageError(f"unknown leader {name!r}; `digestbot leaders` lists them")


# ------------------------------------------------------------------------------------------------
# Commands


def cmd_extract(parts: Parts, args: argparse.Namespace) -> int:
    from digests.pipeline import article_from_document

    path = Path(args.file)
    try:
        body = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    published = parse_date(args.published) if args.published else None
    article = article_from_document(body, url=str(path), outlet="", published=published)
    found = parts.extractor.extract(article.text, published.date() if published else None, article.title)
    if args.json:
        for e in found:
            print(
                json.dumps(
                    extracted_json(e, url=str(path), title=article.title, published=published),
                    ensure_ascii=False,
                )
            )
    else:
        if not found:
            print("no leader statements found")
        for e in found:
            name = parts.registry.leaders[e.leader].name
            print(f"{name} ({e.kind}): {e.text}")
    return 0


def cmd_ingest(parts: Parts, args: argparse.Namespace) -> int:
    from digests.pipeline import article_from_document, ingest_article, utcnow

    target: str = args.target
    published = parse_date(args.published) if args.published else None
    if target.startswith(("http://", "https://")):
        from digests.fetch import Fetcher, FetchError

        async def get() -> bytes:
            async with Fetcher() as fetcher:
                return (await fetcher.get(target)).body

        try:
            raw = asyncio.run(get())
        except FetchError as exc:
            raise UsageError(f"cannot fetch {target}: {exc.reason}") from None
        from digests.parse import decode_bytes

        body = decode_bytes(raw)
        url = target
    else:
        path = Path(target.removeprefix("file://"))
        try:
            body = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}") from None
        url = path.resolve().as_uri()
    outlet = args.outlet or (url.split("/")[2] if url.startswith("http") else "local file")
    article = article_from_document(body, url=url, outlet=outlet, published=published)
    storage = parts.storage()
    try:
        new, merged = ingest_article(storage, parts.extractor, article, utcnow())
    finally:
        storage.close()
    print(f"ingested {url}: {new} new statements, {merged} merged into known ones")
    return 0


def cmd_poll(parts: Parts, args: argparse.Namespace) -> int:
    from digests.fetch import Fetcher
    from digests.pipeline import Pipeline, PollResult, utcnow
    from digests.workers import CpuWork

    sources = parts.config.sources
    if args.source:
        wanted = set(args.source)
        sources = tuple(s for s in sources if s.key in wanted)
        missing = wanted - {s.key for s in sources}
        if missing:
            raise UsageError(f"unknown source(s): {', '.join(sorted(missing))}")
    storage = parts.storage()
    done = 0
    tty = sys.stderr.isatty()

    def progress(result: PollResult) -> None:
        nonlocal done
        done += 1
        width = 30
        filled = width * done // max(1, len(sources))
        line = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{len(sources)} {result.source}"
        if tty:
            print(f"\r{line[:100]:<100}", end="", file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr)

    async def run() -> list[PollResult]:
        # One source needs no worker process: spawning one costs more than it saves.
        work = CpuWork(parts.extractor, workers=parts.settings.poll_workers if len(sources) > 1 else 0)
        try:
            async with Fetcher() as fetcher:
                pipeline = Pipeline(storage, parts.extractor, fetcher, work=work)
                return await pipeline.poll_all(sources, utcnow(), on_done=progress)
        finally:
            await asyncio.to_thread(work.close)

    try:
        results = asyncio.run(run())
    finally:
        storage.close()
    if tty:
        print(file=sys.stderr)
    rows = [
        [
            r.source,
            r.status,
            str(r.entries),
            str(r.new_articles),
            str(r.new_statements),
            f"{r.seconds:.2f}",
            (r.error or "")[:70],
        ]
        for r in results
    ]
    print_table(rows, ["source", "status", "entries", "new articles", "new statements", "seconds", "error"])
    failed = sum(r.status == "failed" for r in results)
    print(
        f"\n{len(results)} sources: {len(results) - failed} ok, {failed} failing; "
        f"{sum(r.new_statements for r in results)} new statements"
    )
    return 0


def cmd_latest(parts: Parts, args: argparse.Namespace) -> int:
    key = parts.leader_key(args.leader)
    if not 1 <= args.n <= 100:
        raise UsageError("-n must be between 1 and 100")
    storage = parts.storage()
    try:
        statements = storage.latest(key, args.n)
    finally:
        storage.close()
    if args.json:
        for s in statements:
            print(json.dumps(statement_json(s), ensure_ascii=False))
        return 0
    leader = parts.registry.leaders[key]
    if not statements:
        print(f"No statements by {leader.name} yet.")
        return 0
    print(f"Latest statements by {leader.name}:\n")
    for s in statements:
        when = (s.published or s.first_seen).strftime("%Y-%m-%d")
        text = f"“{s.text}”" if s.kind == "direct" else s.text
        outlets = ", ".join(dict.fromkeys(src.outlet for src in s.sources)) or s.outlet
        print(f"{when}  {text}")
        print(f"            {outlets}: {s.url}\n")
    return 0


def cmd_sources(parts: Parts, args: argparse.Namespace) -> int:
    storage = parts.storage()
    try:
        states = {s.key: s for s in storage.source_states()}
    finally:
        storage.close()
    rows = []
    items = []
    for st in states.values():
        item = {
            "key": st.key,
            "name": st.name,
            "url": st.url,
            "kind": st.kind,
            "status": st.status if st.status != "new" else "ok",
            "polled": st.polled_once,
            "last_poll": _iso(st.last_poll),
            "last_error": st.last_error,
            "failing_since": _iso(st.failing_since),
            "failures": st.failures,
            "next_poll": _iso(st.next_poll),
        }
        items.append(item)
        status = st.status if st.status != "new" else "ok (not polled yet)"
        if st.status == "failing" and st.failing_since:
            status = f"failing since {st.failing_since:%Y-%m-%d %H:%M}"
        rows.append(
            [
                st.key,
                st.name[:28],
                st.url[:50],
                status,
                (st.last_error or "")[:50],
                st.next_poll.strftime("%Y-%m-%d %H:%M") if st.next_poll else "now",
            ]
        )
    if args.json:
        for item in items:
            print(json.dumps(item, ensure_ascii=False))
    else:
        print_table(rows, ["key", "name", "url", "status", "last error", "next poll"])
    return 0


def cmd_leaders(parts: Parts, args: argparse.Namespace) -> int:
    leaders = list(parts.registry.leaders.values())
    if args.json:
        for leader in leaders:
            print(
                json.dumps(
                    {"key": leader.key, "name": leader.name, "aliases": list(leader.aliases)},
                    ensure_ascii=False,
                )
            )
    else:
        print_table(
            [[x.key, x.name, ", ".join(x.aliases[:4])[:70]] for x in leaders], ["key", "name", "aliases"]
        )
    return 0


def cmd_digest(parts: Parts, args: argparse.Namespace) -> int:
    from digests import render
    from digests.digest import build_digest
    from digests.pipeline import parse_since, utcnow

    keys = [parts.leader_key(name) for name in args.leaders]
    try:
        window = parse_since(args.since)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from None
    now = utcnow()
    storage = parts.storage()
    try:
        statements = storage.statements_seen(keys or None, now - window, now)
    finally:
        storage.close()
    digest = build_digest(statements, parts.registry, since=now - window, until=now, leaders=keys or None)
    if args.json:
        print(json.dumps(digest_json(digest), ensure_ascii=False))
    else:
        print(render.plain_text(digest))
    return 0


def digest_json(digest: Digest) -> dict[str, Any]:
    return {
        "since": _iso(digest.since),
        "until": _iso(digest.until),
        "leaders": [
            {
                "leader": section.leader.key,
                "name": section.leader.name,
                "summary": section.summary,
                "more": section.more,
                "statements": [statement_json(s) for s in section.statements],
            }
            for section in digest.sections
        ],
    }


def cmd_send_due(parts: Parts, args: argparse.Namespace) -> int:
    from bot.senders import send_due

    report = asyncio.run(send_due(parts.settings, parts.registry, force=args.now))
    print(
        f"planned {report.planned}, sent {report.sent}, pending {report.pending}, "
        f"chats gone {report.gone}, failed {report.failed}"
    )
    return 0


def cmd_run(parts: Parts, args: argparse.Namespace) -> int:
    from bot.app import run

    return run(parts.settings)


def cmd_bench(parts: Parts, args: argparse.Namespace) -> int:
    """The performance benchmark (``bench/perf.py``): developer tooling that lives in the source
    checkout beside ``bot/`` (it uses the test fakes), so it is imported from there."""
    try:
        from bench import perf
    except ModuleNotFoundError as exc:
        root = Path(__file__).resolve().parent.parent
        if exc.name not in ("bench", "bench.perf") or not (root / "bench" / "perf.py").is_file():
            raise UsageError("`digestbot bench` needs a source checkout (bench/ is not installed)") from None
        sys.path.insert(0, str(root))
        from bench import perf
    unknown = sorted(set(args.only or ()) - set(perf.BENCHMARKS))
    if unknown:
        raise UsageError(
            f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(perf.BENCHMARKS)}"
        )
    return perf.main_with_args(args)


# ------------------------------------------------------------------------------------------------
# Entry point


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="digestbot", description="Follows what world leaders say.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="the main job: scheduler plus every chat platform whose tokens are set")
    p.add_argument("--once", action="store_true", help=argparse.SUPPRESS)

    p = sub.add_parser("poll", help="poll every source once, with a progress bar and a summary table")
    p.add_argument("source", nargs="*", help="only these source keys")

    p = sub.add_parser("ingest", help="ingest one article (text or HTML) from a file or URL")
    p.add_argument("target", metavar="FILE_OR_URL")
    p.add_argument("--outlet")
    p.add_argument("--published", metavar="DATE")

    p = sub.add_parser("extract", help="print the statements found in one article, touching no database")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--published", metavar="DATE")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("latest", help="print a leader's latest statements")
    p.add_argument("leader")
    p.add_argument("-n", type=int, default=5)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("digest", help="print a digest")
    p.add_argument("leaders", nargs="*", metavar="LEADER")
    p.add_argument("--since", default="24h")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("send-due", help="send the digests that are due")
    p.add_argument("--now", action="store_true", help="every subscription's digest, as if its time had come")

    p = sub.add_parser("sources", help="each source with its status")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("leaders", help="each leader: key, name, aliases")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("bench", help="run the performance benchmark and print one table (from a checkout)")
    p.add_argument("--quick", action="store_true", help="small sizes, under two minutes (for CI)")
    p.add_argument(
        "--only", nargs="+", metavar="NAME", help="only these: extract, pages, poll, fanout, latest, memory"
    )
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    p.add_argument("--json", metavar="FILE", help="also write the rows as JSON to FILE")
    p.add_argument("--cache-dir", metavar="DIR", help="where the statements database is cached")
    p.add_argument("--config-dir", metavar="DIR", help="folder with leaders.toml (default: the checkout's)")
    p.add_argument("--seed", type=int, default=20251124, help="seed of the generated data")
    return parser


COMMANDS = {
    "extract": cmd_extract,
    "ingest": cmd_ingest,
    "poll": cmd_poll,
    "latest": cmd_latest,
    "sources": cmd_sources,
    "leaders": cmd_leaders,
    "digest": cmd_digest,
    "send-due": cmd_send_due,
    "run": cmd_run,
    "bench": cmd_bench,
}


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        setup_logging(settings, verbose=args.verbose)
        parts = Parts(settings)
        handler = COMMANDS.get(args.command)
        if handler is None:
            raise UsageError(f"'{args.command}' is not available in this build yet")
        code = handler(parts, args)
    except (UsageError, ConfigError, SettingsError) as exc:
        print(f"digestbot: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    raise SystemExit(code)
