"""One poll over a hostile corpus: no crash, each broken source failing with a clear reason, odd but
valid feeds ingested sensibly, the good sources unaffected (SPEC §4 and §12).

The corpus is generated here, not downloaded, and served by ``tests.feedserver.FeedServer`` on
127.0.0.1 (plus a closed port and a local file): malformed XML, binary bodies, a 50 MB body
(streamed, with and without a Content-Length), a gzip bomb, redirect loops and a redirect to a
local file, an HTML page with no text, JSON, an empty body, server errors, a server that never
answers and one that trickles, a refused connection; entity-expansion and external-entity XML;
and feeds that are valid but odd: 10,000 entries, entries without dates or links, wrong, missing
and unknown declared encodings, and a good feed whose article pages are themselves hostile (bomb,
50 MB, binary, endless redirects, no text, a hang), which must fall back to the entries' own text.

The sources are written to a ``sources.toml`` and loaded like the shipped one; the poll is
``Pipeline.poll_all`` with a real ``Storage`` file and a ``Fetcher`` whose caps are small for speed
(4 MB, a 5 s total timeout); ``digestbot sources --json`` is then run against the same database.
"""

from __future__ import annotations

import argparse
import email.utils
import html
import json
import random
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import Parts, cmd_sources
from bot.settings import load_settings
from digests.config import load_config
from digests.extract import Extractor
from digests.fetch import Fetcher
from digests.leaders import Registry
from digests.pipeline import Pipeline, PollResult
from digests.storage import Storage
from tests.feedserver import FeedServer, closed_port

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "tests" / "fixtures" / "articles" / "seed-putin-astana.txt"
NOW = datetime.now(UTC).replace(microsecond=0)
MAX_BYTES = 4 * 1024 * 1024
TOTAL_TIMEOUT = 5.0
BIG_FEED_ENTRIES = 10_000
MAX_ENTRIES = 200  # Pipeline's default: the newest 200 entries of a feed are kept
MB = 1024 * 1024


# ------------------------------------------------------------------------------------------------
# Building the corpus


def http_date(moment: datetime) -> str:
    return email.utils.format_datetime(moment, usegmt=True)


def item(
    title: str,
    summary: str,
    *,
    link: str | None = None,
    guid: str | None = None,
    published: datetime | None = NOW - timedelta(hours=1),
) -> str:
    parts = [f"<title>{html.escape(title)}</title>"]
    if link is not None:
        parts.append(f"<link>{html.escape(link)}</link>")
    if guid is not None:
        parts.append(f'<guid isPermaLink="false">{html.escape(guid)}</guid>')
    if published is not None:
        parts.append(f"<pubDate>{http_date(published)}</pubDate>")
    parts.append(f"<description>{html.escape(summary)}</description>")
    return "<item>" + "".join(parts) + "</item>"


def rss(items: list[str], *, declaration: str | None = '<?xml version="1.0" encoding="utf-8"?>') -> str:
    channel = "<channel><title>Wire</title><link>https://wire.example/</link>" + "".join(items) + "</channel>"
    return (declaration or "") + f'<rss version="2.0">{channel}</rss>'


def page(text: str, title: str) -> str:
    paragraphs = "".join(f"<p>{html.escape(p.strip())}</p>" for p in text.split("\n\n") if p.strip())
    return (
        f"<html><head><title>{html.escape(title)}</title></head><body><nav><a href='/'>Home</a></nav>"
        f"<article><h1>{html.escape(title)}</h1>{paragraphs}</article><footer>© Example</footer></body></html>"
    )


def big_feed() -> tuple[bytes, list[str]]:
    """10,000 entries in shuffled document order; returns the body and the newest 200 guids."""
    entries = [(f"big-{i}", NOW - timedelta(minutes=5 * i)) for i in range(BIG_FEED_ENTRIES)]
    newest = [guid for guid, _ in entries[:MAX_ENTRIES]]
    random.Random(5).shuffle(entries)
    items = [
        item(f"Bulletin {guid}", f"Routine bulletin number {guid}.", guid=guid, published=when)
        for guid, when in entries
    ]
    items[0] = item(
        "Macron on Europe",
        "“Europe must stand on its own feet in defence,” Macron said in Paris on Monday.",
        guid="big-macron",
        published=NOW - timedelta(seconds=30),
    )
    return rss(items).encode("utf-8"), ["big-macron", *newest[: MAX_ENTRIES - 1]]


@dataclass(frozen=True)
class Hostile:
    """A source that must fail, and the words its reason must contain (lower case)."""

    key: str
    url: str
    reason: tuple[str, ...]


@dataclass
class Corpus:
    good: dict[str, str]  # key → url
    hostile: list[Hostile]
    odd: dict[str, str]  # valid but odd feeds that must be ingested
    big_newest: list[str]
    file_feed: Path


def build(server: FeedServer, tmp: Path) -> Corpus:
    seed = SEED.read_text(encoding="utf-8")
    s = server

    # -- good sources ---------------------------------------------------------------------------
    story = s.add("/pages/putin-astana", page(seed, "Putin on peace talks"), content_type="text/html")
    good = {
        "good-wire": s.add(
            "/good/wire.xml", rss([item("Putin on peace talks", "Press conference in Astana.", link=story)])
        ),
        "good-atom": s.add(
            "/good/atom.xml",
            '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            "<title>Atom wire</title><id>urn:wire</id><updated>2022-10-14T12:00:00Z</updated>"
            "<entry><id>urn:z1</id><title>Zelensky address</title>"
            f"<updated>{(NOW - timedelta(hours=2)).isoformat()}</updated>"
            "<summary>“We will not give up a single village,” Zelensky said in his nightly address."
            "</summary></entry></feed>",
            content_type="application/atom+xml",
        ),
    }
    file_feed = tmp / "local-feed.xml"
    file_feed.write_text(
        rss(
            [
                item(
                    "Scholz on energy",
                    "“We will get through this winter together,” Scholz told parliament on Wednesday.",
                    guid="file-1",
                )
            ]
        ),
        encoding="utf-8",
    )
    good["good-file"] = file_feed.as_uri()

    # A good feed whose article pages are hostile: each entry falls back to its own text.
    s.add_gzip_bomb("/pages/bomb", content_type="text/html")
    s.add_stream("/pages/huge", chunks=800, content_type="text/html")
    s.add("/pages/binary", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 400, content_type="image/png")
    s.add_redirect("/pages/loop", "/pages/loop")
    s.add(
        "/pages/empty",
        "<html><body><script>var a = 1;</script><div> </div></body></html>",
        content_type="text/html",
    )
    s.add_stream("/pages/hang", chunks=2, chunk=b"<html>", delay=60, content_type="text/html")
    hostile_pages = [
        ("bomb", "“Our borders are not negotiable,” Tusk said in Warsaw."),
        ("huge", "“The alliance will defend every inch of its territory,” Rutte told reporters."),
        ("binary", "“We are ready for talks without preconditions,” Erdogan said in Ankara."),
        ("loop", "“This is a historic day for our people,” Modi said in New Delhi."),
        ("empty", "“We will keep interest rates where they are,” Starmer said in London."),
        ("hang", "“Canada will not be bullied,” Carney told reporters in Ottawa."),
    ]
    good["good-hostile-pages"] = s.add(
        "/good/hostile-pages.xml",
        rss(
            [
                item(f"Story {name}", text, link=s.url(f"/pages/{name}"), guid=f"hp-{name}")
                for name, text in hostile_pages
            ]
        ),
    )

    # -- hostile sources ------------------------------------------------------------------------
    s.add_redirect("/loop/a", "/loop/b")
    s.add_redirect("/loop/b", "/loop/a")
    hostile = [
        Hostile(
            "malformed-xml",
            s.add(
                "/bad/malformed.xml",
                '<?xml version="1.0"?><rss version="2.0"><channel><item><title>x</chanel>',
            ),
            ("malformed",),
        ),
        Hostile(
            "binary-png",
            s.add("/bad/png.xml", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40, content_type="image/png"),
            ("binary", "png"),
        ),
        Hostile(
            "binary-nul",
            s.add("/bad/nul.xml", random.Random(3).randbytes(20_000)),
            ("binary",),
        ),
        Hostile(
            "gzip-not-declared",
            s.add("/bad/gz.xml", b"\x1f\x8b\x08\x00" + bytes(2000), content_type="application/octet-stream"),
            ("binary", "gzip"),
        ),
        Hostile("body-50mb", s.add_stream("/bad/50mb.xml", chunks=800), ("larger than 4 mb",)),
        Hostile(
            "body-50mb-announced",
            s.add_stream("/bad/50mb-length.xml", chunks=800, content_length=True),
            ("larger than 4 mb",),
        ),
        Hostile("gzip-bomb", s.add_gzip_bomb("/bad/bomb.xml"), ("decompressed", "larger than 4 mb")),
        Hostile(
            "gzip-corrupt",
            s.add(
                "/bad/corrupt-gz.xml", b"this is not gzip data at all", headers={"Content-Encoding": "gzip"}
            ),
            ("could not decompress",),
        ),
        Hostile(
            "brotli-unasked",
            s.add("/bad/br.xml", b"\x1b\x03\x00\xf8\xa5", headers={"Content-Encoding": "br"}),
            ("could not decompress", "br"),
        ),
        Hostile("redirect-loop", s.url("/loop/a"), ("too many redirects",)),
        Hostile(
            "redirect-self", s.add_redirect("/bad/self", "/bad/self", status=301), ("too many redirects",)
        ),
        Hostile(
            "redirect-to-file",
            s.add_redirect("/bad/to-file", "file:///etc/passwd"),
            ("redirected to an unsupported or invalid url",),
        ),
        Hostile(
            "html-no-text",
            s.add(
                "/bad/page.html",
                "<!DOCTYPE html><html><head><title></title></head><body><div></div></body></html>",
                content_type="text/html",
            ),
            ("not a feed", "html"),
        ),
        Hostile("json", s.add("/bad/feed.json", '{"items": []}', content_type="application/json"), ("json",)),
        Hostile("empty-body", s.add("/bad/empty.xml", b""), ("empty",)),
        Hostile(
            "not-a-feed-xml",
            s.add("/bad/note.xml", '<?xml version="1.0"?><note><to>x</to></note>', content_type="text/xml"),
            ("not a feed", "no rss or atom"),
        ),
        Hostile(
            "server-error",
            s.add("/bad/500.xml", "<html><body>oops</body></html>", status=500, content_type="text/html"),
            ("http 500",),
        ),
        Hostile("not-found", s.url("/bad/nowhere.xml"), ("http 404",)),
        Hostile("hangs", s.add("/bad/hang.xml", rss([]), latency=60), ("timed out",)),
        Hostile(
            "trickles",
            s.add_stream("/bad/trickle.xml", chunks=100, chunk=b"<rss>", delay=0.5),
            ("timed out",),
        ),
        Hostile("refused", f"http://127.0.0.1:{closed_port()}/feed.xml", ("connection refused",)),
        Hostile("missing-file", (tmp / "no-such-feed.xml").as_uri(), ("file not found",)),
    ]

    # -- valid but odd feeds --------------------------------------------------------------------
    body, newest = big_feed()
    quote_cp1252 = "“We will not accept any diktat,” Macron said at the Élysée on Tuesday."
    quote_ru = "“We will not retreat from Kherson,” Putin said on Friday."
    odd = {
        "big-feed": s.add("/odd/big.xml", body),
        "no-dates-no-links": s.add(
            "/odd/bare.xml",
            rss(
                [
                    item(
                        "Undated",
                        "“Peace is the only way forward,” Guterres told the General Assembly.",
                        guid="bare-1",
                        published=None,
                    ),
                    item(
                        "No link, no guid, no date",
                        "“The ceasefire must hold,” Guterres said in Geneva on Thursday.",
                        published=None,
                    ),
                ]
            ),
        ),
        # Declared UTF-8, written in cp1252 (curly quotes are 0x93/0x94, é is 0xE9).
        "declared-utf8-is-cp1252": s.add(
            "/odd/cp1252.xml",
            rss([item("Macron", quote_cp1252, guid="cp-1")]).encode("cp1252"),
            content_type="application/rss+xml; charset=utf-8",
        ),
        # Declared Latin-1 by the server, written in UTF-8.
        "declared-latin1-is-utf8": s.add(
            "/odd/latin1.xml",
            rss(
                [item("Путин: «Мы не отступим»", quote_ru, guid="l1-1")], declaration='<?xml version="1.0"?>'
            ).encode("utf-8"),
            content_type="text/xml; charset=iso-8859-1",
        ),
        # No Content-Type, no XML declaration: UTF-8 by default.
        "no-encoding": s.add(
            "/odd/undeclared.xml",
            rss(
                [
                    item(
                        "Erdogan",
                        "“Türkiye will keep mediating between the two sides,” Erdogan said.",
                        guid="u-1",
                    )
                ],
                declaration=None,
            ).encode("utf-8"),
            content_type=None,
        ),
        # An encoding nobody knows, declared in the XML.
        "unknown-encoding": s.add(
            "/odd/bogus.xml",
            rss(
                [item("Lula", "“Brazil wants peace, not weapons,” Lula said in Brasília.", guid="b-1")],
                declaration='<?xml version="1.0" encoding="x-no-such-charset"?>',
            ).encode("utf-8"),
            content_type="application/xml",
        ),
        # Entity expansion ("billion laughs") and an external entity naming a local file.
        "entity-tricks": s.add(
            "/odd/entities.xml",
            '<?xml version="1.0"?><!DOCTYPE rss ['
            '<!ENTITY lol "lollollollollollollollollollol">'
            + "".join(
                f'<!ENTITY lol{i} "{(f"&lol{i - 1};" if i > 1 else "&lol;") * 10}">' for i in range(1, 10)
            )
            + f'<!ENTITY xxe SYSTEM "{(tmp / "secret.txt").as_uri()}">'
            "]>"
            + rss(
                [
                    "<item><title>&lol9;</title><guid>e-1</guid><description>&xxe; "
                    "“Dialogue is better than confrontation,” Xi said in Beijing.</description></item>"
                ],
                declaration=None,
            ),
        ),
    }
    (tmp / "secret.txt").write_text("TOP-SECRET-FILE-CONTENT", encoding="utf-8")
    return Corpus(good, hostile, odd, newest, file_feed)


def write_config(tmp: Path, corpus: Corpus) -> Path:
    config = tmp / "config"
    config.mkdir()
    shutil.copy(ROOT / "config" / "leaders.toml", config / "leaders.toml")
    urls = {**corpus.good, **{h.key: h.url for h in corpus.hostile}, **corpus.odd}
    blocks = [
        f'[[source]]\nkey = "{key}"\nname = "{key.replace("-", " ").title()}"\nurl = "{url}"\n'
        'kind = "news"\ninterval = "15m"\n'
        for key, url in urls.items()
    ]
    (config / "sources.toml").write_text("\n".join(blocks), encoding="utf-8")
    return config


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    db = Storage(tmp_path / "digestbot.db")
    yield db
    db.close()


# ------------------------------------------------------------------------------------------------
# The poll


async def test_one_poll_over_a_hostile_corpus(
    tmp_path: Path, storage: Storage, capsys: pytest.CaptureFixture[str]
) -> None:
    async with FeedServer() as server:
        corpus = build(server, tmp_path)
        config_dir = write_config(tmp_path, corpus)
        config = load_config(config_dir)
        registry = Registry(config.leaders)
        storage.sync_sources(config.sources)
        started = time.monotonic()
        async with Fetcher(
            max_bytes=MAX_BYTES, connect_timeout=1.0, total_timeout=TOTAL_TIMEOUT, per_host_limit=32
        ) as fetcher:
            pipeline = Pipeline(storage, Extractor(registry), fetcher)
            results: dict[str, PollResult] = {
                r.source: r for r in await pipeline.poll_all(config.sources, NOW)
            }
        took = time.monotonic() - started

    # No crash: one result per source, and no failure was an unexpected one.
    assert set(results) == {s.key for s in config.sources}
    assert not [r for r in results.values() if r.error and "internal error" in r.error]
    assert took < 20, f"one poll took {took:.1f} s"

    # Every hostile source failed with a reason that names the cause, and backs off.
    for hostile in corpus.hostile:
        result = results[hostile.key]
        assert result.status == "failed", (hostile.key, result)
        reason = (result.error or "").lower()
        for words in hostile.reason:
            assert words in reason, (hostile.key, result.error)
        assert "\n" not in reason and len(reason) < 300, (hostile.key, result.error)
        state = storage.source_state(hostile.key)
        assert state is not None and state.status == "failing" and state.last_error == result.error
        assert state.next_poll is not None and state.next_poll > NOW

    # The good sources are unaffected.
    for key in corpus.good:
        assert results[key].status == "ok", (key, results[key].error)
        assert results[key].new_statements > 0, key
    putin = storage.latest("putin", 20)
    assert any("formal decision that prohibits them" in s.text for s in putin)
    assert "We will not give up a single village" in [s.text for s in storage.latest("zelensky")]
    assert "We will get through this winter together" in [s.text for s in storage.latest("scholz")]

    # Hostile article pages: the source is fine, each entry fell back to its own text.
    assert results["good-hostile-pages"].new_articles == 6
    for leader, words in (
        ("tusk", "Our borders are not negotiable"),
        ("rutte", "The alliance will defend every inch of its territory"),
        ("erdogan", "We are ready for talks without preconditions"),
        ("modi", "This is a historic day for our people"),
        ("starmer", "We will keep interest rates where they are"),
        ("carney", "Canada will not be bullied"),
    ):
        assert words in [s.text for s in storage.latest(leader)], leader

    # Valid but odd feeds are ingested sensibly.
    for key in corpus.odd:
        assert results[key].status == "ok", (key, results[key].error)
    big = results["big-feed"]
    assert big.entries == MAX_ENTRIES and big.new_articles == MAX_ENTRIES
    kept = storage.known_entries("big-feed", corpus.big_newest + ["big-9999", "big-5000"])
    assert set(kept) == set(corpus.big_newest), "the newest entries are the ones kept"
    assert "Europe must stand on its own feet in defence" in [s.text for s in storage.latest("macron", 5)]

    bare = results["no-dates-no-links"]
    assert bare.new_articles == 2 and bare.new_statements == 2
    guterres = storage.latest("guterres", 5)
    assert {s.text for s in guterres} == {"Peace is the only way forward", "The ceasefire must hold"}
    assert all(s.published is None and s.url == corpus.odd["no-dates-no-links"] for s in guterres)

    macron = [s.text for s in storage.latest("macron", 5)]
    assert "We will not accept any diktat" in macron  # cp1252 declared as UTF-8, read right
    assert all("\ufffd" not in s and "â€" not in s for s in macron)
    # UTF-8 served as Latin-1: the Cyrillic and the curly quotes survive.
    assert "We will not retreat from Kherson" in [s.text for s in putin]
    assert [s.title for s in putin if "Kherson" in s.text] == ["Путин: «Мы не отступим»"]
    assert "Türkiye will keep mediating between the two sides" in [s.text for s in storage.latest("erdogan")]
    assert "Brazil wants peace, not weapons" in [s.text for s in storage.latest("lula")]
    xi = storage.latest("xi")
    assert [s.text for s in xi] == ["Dialogue is better than confrontation"]
    everything = [s.text + s.sentence + s.title for k in registry.leaders for s in storage.latest(k, 20)]
    assert not [t for t in everything if "TOP-SECRET" in t or "lollollollollollollollollollollollol" in t]

    # `digestbot sources --json` shows what a user needs: failing sources with their reasons.
    settings = load_settings(
        {"DIGESTBOT_DB": str(tmp_path / "digestbot.db"), "DIGESTBOT_CONFIG_DIR": str(config_dir)}, dotenv=None
    )
    capsys.readouterr()
    assert cmd_sources(Parts(settings), argparse.Namespace(json=True)) == 0
    rows = {row["key"]: row for row in map(json.loads, capsys.readouterr().out.splitlines())}
    assert set(rows) == set(results)
    for hostile in corpus.hostile:
        row = rows[hostile.key]
        assert row["status"] == "failing" and row["failures"] == 1 and row["failing_since"]
        assert row["last_error"] == results[hostile.key].error
    for key in [*corpus.good, *corpus.odd]:
        assert rows[key]["status"] == "ok" and rows[key]["last_error"] is None
