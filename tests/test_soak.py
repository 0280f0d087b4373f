"""Soak: ``digestbot run`` for half an hour against both fake platforms, its memory and files watched.

Not part of the default run (``pyproject``'s addopts exclude the ``soak`` marker): run it with
``pytest -m soak tests/test_soak.py -s``. ``SOAK_SECONDS`` sets the duration (default 1800),
``SOAK_SAMPLE_SECONDS`` the sampling period (default 60); ``SOAK_MAX_RSS_GROWTH_MB`` (default 40)
and ``SOAK_MAX_FD_GROWTH`` (default 10) the bounds.

The bot is a real process (``python -m bot run``) with Telegram (long polling) and Slack (Socket
Mode) on, against ``FakeTelegram`` and ``FakeSlack`` enforcing the platforms' limits, and five
sources on a ``FeedServer`` polled every minute (``interval = "1m"``), whose feeds gain two new
articles (with pages to fetch, each quoting a leader in words never used before) every minute.

Digests every minute, honestly: the rule is one digest per subscription per local day, at the
subscription's local time. So every minute the test subscribes three new chats (a Telegram
private chat, a Telegram group through its admin, a Slack channel through a slash command),
each for a time between 10 and 70 seconds ahead, written in a different time zone each time
(UTC, Europe/Kyiv, America/New_York, Asia/Kolkata, Australia/Adelaide). Each minute it also asks
``/latest`` on both platforms.

Every ``SOAK_SAMPLE_SECONDS`` it reads the bot's resident memory (``VmRSS`` in
``/proc/<pid>/status``) and its open file descriptors (``/proc/<pid>/fd``), prints the samples
and the growth after a warm-up (the first quarter of the run, at least one sample), and asserts
that the growth stays under the bounds; and that the bot kept working: every subscription whose
time came got exactly one digest, every source was polled about once a minute, every command was
answered, no limit was broken, nothing was logged at ERROR, and SIGTERM stops it cleanly.
"""

from __future__ import annotations

import asyncio
import html
import os
import random
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram
from tests.feedserver import FeedServer

pytestmark = [
    pytest.mark.soak,
    pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"),
]

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "tests" / "fixtures" / "articles" / "seed-putin-astana.txt"
SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "1800"))
SAMPLE_SECONDS = float(os.environ.get("SOAK_SAMPLE_SECONDS", "60"))
MAX_RSS_GROWTH_MB = float(os.environ.get("SOAK_MAX_RSS_GROWTH_MB", "40"))
MAX_FD_GROWTH = int(os.environ.get("SOAK_MAX_FD_GROWTH", "10"))
FEEDS = ("wire-a", "wire-b", "wire-c", "official", "regional")
ZONES = ("UTC", "Europe/Kyiv", "America/New_York", "Asia/Kolkata", "Australia/Adelaide")
SPEAKERS = ("Putin", "Zelensky", "Macron", "Scholz", "Xi", "Modi", "Erdogan", "Lula", "Guterres", "Starmer")
TOKEN = "123456789:TEST-fake-token"
ADMIN = 7001
DIGEST_TITLE = "Leaders' statements"


@dataclass(frozen=True)
class Sample:
    at: float  # seconds since the bot started
    rss_kb: int
    fds: int


@dataclass
class Subscribed:
    platform: str
    chat: str
    due: datetime  # when its digest is due (UTC)


@dataclass
class World:
    """What the test did to the bot, to check against what came out."""

    subscribed: list[Subscribed] = field(default_factory=list)
    telegram_asked: dict[int, int] = field(default_factory=dict)  # chat → commands sent
    slack_asked: int = 0
    articles: int = 0


def read_sample(pid: int, started: float) -> Sample:
    status = Path(f"/proc/{pid}/status").read_text()
    rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return Sample(time.monotonic() - started, rss, len(os.listdir(f"/proc/{pid}/fd")))


# ------------------------------------------------------------------------------------------------
# Feeds that change every minute


class Newsroom:
    """Five feeds on a FeedServer; ``publish`` adds two articles to each, with their pages."""

    def __init__(self, server: FeedServer) -> None:
        self.server = server
        self.items: dict[str, list[str]] = {key: [] for key in FEEDS}
        self.rng = random.Random(11)
        words = {w.strip(".,;:!?“”\"'()«»").lower() for w in SEED.read_text("utf-8").split()}
        self.vocabulary = sorted(w for w in words if w.isalpha() and len(w) > 3)
        self.count = 0

    def sentence(self) -> str:
        words = self.rng.sample(self.vocabulary, 14)
        return " ".join(words).capitalize()

    def publish(self) -> int:
        now = datetime.now(UTC)
        for key in FEEDS:
            for _ in range(2):
                self.count += 1
                speaker = self.rng.choice(SPEAKERS)
                quote = self.sentence()
                reported = self.sentence().lower()
                path = f"/articles/{key}/{self.count}"
                body = (
                    f"<p>{speaker} spoke to reporters on {now:%A}.</p>"
                    f"<p>“{quote},” {speaker} said.</p><p>{speaker} added that {reported}.</p>"
                    + "".join(f"<p>{self.sentence()}.</p>" for _ in range(6))
                )
                link = self.server.add(
                    path,
                    f"<html><head><title>{speaker} {self.count}</title></head><body><article>"
                    f"<h1>{speaker} speaks</h1>{body}</article></body></html>",
                    content_type="text/html; charset=utf-8",
                )
                self.items[key].insert(
                    0,
                    f"<item><title>{speaker} speaks ({self.count})</title><link>{html.escape(link)}</link>"
                    f"<guid>{key}-{self.count}</guid>"
                    f"<pubDate>{now.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
                    f"<description>{html.escape(quote)}</description></item>",
                )
            del self.items[key][30:]
            self.server.add(
                f"/feeds/{key}.xml",
                '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                f"<title>{key}</title>{''.join(self.items[key])}</channel></rss>",
                etag=f'"{key}-{self.count}"',
            )
        return 2 * len(FEEDS)


def sources_toml(server: FeedServer) -> str:
    return "\n".join(
        f'[[source]]\nkey = "{key}"\nname = "{key.title()}"\nurl = "{server.url(f"/feeds/{key}.xml")}"\n'
        'kind = "news"\ninterval = "1m"\n'
        for key in FEEDS
    )


# ------------------------------------------------------------------------------------------------
# Chats that subscribe every minute


def local_hhmm(instant: datetime, zone: str) -> str:
    return instant.astimezone(ZoneInfo(zone)).strftime("%H:%M")


async def subscribe_batch(minute: int, telegram: FakeTelegram, slack: FakeSlack, world: World) -> None:
    """Three new chats subscribe for a time 10–70 s ahead, in this minute's time zone."""
    now = datetime.now(UTC)
    due = (now + timedelta(seconds=70)).replace(second=0, microsecond=0)
    zone = ZONES[minute % len(ZONES)]
    when = f"at {local_hhmm(due, zone)} {zone}"
    private, group, channel = 40_000 + minute, -80_000 - minute, f"C{minute:08d}"
    telegram.add_chat(private)
    telegram.add_chat(group, "group", members={ADMIN: "administrator"})
    slack.add_channel(channel, f"soak-{minute}")
    telegram.send_command(private, f"/subscribe {when}")
    telegram.send_command(group, f"/subscribe putin zelensky macron xi {when}", from_user_id=ADMIN)
    await slack.send_slash_command("/subscribe", when, channel_id=channel)
    for chat in (private, group):
        world.telegram_asked[chat] = world.telegram_asked.get(chat, 0) + 1
        world.subscribed.append(Subscribed("telegram", str(chat), due))
    world.subscribed.append(Subscribed("slack", channel, due))
    world.slack_asked += 1


async def ask_latest(minute: int, telegram: FakeTelegram, slack: FakeSlack, world: World) -> None:
    reader = 50_000
    if reader not in telegram.chats:
        telegram.add_chat(reader)
    telegram.send_command(reader, f"/latest {SPEAKERS[minute % len(SPEAKERS)].lower()} 3")
    world.telegram_asked[reader] = world.telegram_asked.get(reader, 0) + 1
    await slack.send_slash_command("/latest", SPEAKERS[(minute + 1) % len(SPEAKERS)].lower())
    world.slack_asked += 1


def digests_to(telegram: FakeTelegram, slack: FakeSlack, sub: Subscribed) -> int:
    if sub.platform == "telegram":
        return sum(1 for m in telegram.messages_to(int(sub.chat)) if m.text.startswith(DIGEST_TITLE))
    return sum(
        1
        for m in slack.messages_to(sub.chat)
        if m.blocks
        and m.blocks[0].get("type") == "header"
        and m.blocks[0]["text"]["text"].startswith(DIGEST_TITLE)
    )


# ------------------------------------------------------------------------------------------------
# The soak


def growth_report(samples: list[Sample]) -> tuple[str, int, int]:
    warm = max(1, len(samples) // 4)
    base, last = samples[warm - 1], samples[-1]
    rss_growth = last.rss_kb - base.rss_kb
    fd_growth = last.fds - base.fds
    hours = max(last.at - base.at, 1.0) / 3600
    lines = [f"{'t (s)':>8} {'RSS (MB)':>9} {'FDs':>5}"]
    lines += [f"{s.at:8.0f} {s.rss_kb / 1024:9.1f} {s.fds:5d}" for s in samples]
    lines.append(
        f"after warm-up (from t={base.at:.0f} s): RSS {rss_growth / 1024:+.1f} MB "
        f"({rss_growth / 1024 / hours:+.1f} MB/h), FDs {fd_growth:+d}; "
        f"peak RSS {max(s.rss_kb for s in samples) / 1024:.1f} MB"
    )
    return "\n".join(lines), rss_growth, fd_growth


async def test_the_bot_runs_for_half_an_hour_without_growing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sys.platform.startswith("linux"), "reads /proc"
    world = World()
    async with (
        FeedServer() as server,
        FakeTelegram(TOKEN, enforce_limits=True) as telegram,
        FakeSlack(enforce_limits=True) as slack,
    ):
        newsroom = Newsroom(server)
        world.articles += newsroom.publish()
        config = tmp_path / "config"
        config.mkdir()
        shutil.copy(ROOT / "config" / "leaders.toml", config / "leaders.toml")
        (config / "sources.toml").write_text(sources_toml(server), "utf-8")
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TELEGRAM_", "SLACK_", "LLM_", "DIGESTBOT_"))
        }
        env.pop("PORT", None)
        env.update(
            DIGESTBOT_CONFIG_DIR=str(config),
            DIGESTBOT_DB=str(tmp_path / "bot.db"),
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=telegram.api_root,
            SLACK_BOT_TOKEN=slack.bot_token,
            SLACK_APP_TOKEN=slack.app_token,
            SLACK_API_URL=slack.api_url,
            PYTHONUNBUFFERED="1",
        )
        log_path = tmp_path / "bot.log"
        with log_path.open("wb") as log:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", env=env, cwd=str(tmp_path), stdout=log, stderr=log
            )
        started = time.monotonic()
        samples: list[Sample] = []
        try:
            await telegram.wait_for_poller(timeout=60)
            await slack.wait_connected(timeout=60)
            minute = -1
            next_sample = 0.0
            while (elapsed := time.monotonic() - started) < SOAK_SECONDS:
                assert proc.returncode is None, "the bot exited: " + log_path.read_text()[-3000:]
                if int(elapsed // 60) > minute:
                    minute = int(elapsed // 60)
                    if minute:
                        world.articles += newsroom.publish()
                    await subscribe_batch(minute, telegram, slack, world)
                    await ask_latest(minute, telegram, slack, world)
                if elapsed >= next_sample:
                    samples.append(read_sample(proc.pid, started))
                    next_sample += SAMPLE_SECONDS
                await asyncio.sleep(1)
            samples.append(read_sample(proc.pid, started))
            # Let the last due digests and replies go out.
            await asyncio.sleep(25)
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.wait(), 60)
        ended = datetime.now(UTC)
        polls = {key: server.requests[f"/feeds/{key}.xml"] for key in FEEDS}

    report, rss_growth, fd_growth = growth_report(samples)
    bot_log = log_path.read_text("utf-8", "replace")
    with capsys.disabled():
        print(
            f"\nsoak: {SOAK_SECONDS:.0f} s, {len(world.subscribed)} subscriptions, {world.articles} articles"
        )
        print(report)

    # It kept working.
    assert code == 0, bot_log[-3000:]
    assert " ERROR " not in bot_log and "Traceback" not in bot_log, bot_log[-3000:]
    due = [s for s in world.subscribed if s.due <= ended - timedelta(seconds=25)]
    assert due, "the soak was too short for any digest to be due"
    wrong = [(s.platform, s.chat, s.due.isoformat(), digests_to(telegram, slack, s)) for s in due]
    assert [w for w in wrong if w[3] != 1] == [], "each subscription whose time came gets one digest"
    for chat, asked in world.telegram_asked.items():
        assert len(telegram.messages_to(chat)) >= asked, f"telegram chat {chat} was not answered"
    assert len(slack.responses) >= world.slack_asked
    minutes = SOAK_SECONDS / 60
    assert all(n >= max(1, int(minutes) - 1) for n in polls.values()), polls
    assert telegram.limit_429s == 0 and slack.rate_limited == 0
    # And it did not grow.
    assert len(samples) >= 2
    assert rss_growth <= MAX_RSS_GROWTH_MB * 1024, report
    assert fd_growth <= MAX_FD_GROWTH, report
