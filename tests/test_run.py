"""`digestbot run` as a real process: terminal mode, single instance, /healthz, kill -9 mid fan-out."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from digests.config import load_config
from digests.extract import Extractor
from digests.leaders import Registry
from digests.pipeline import article_from_document, ingest_article
from digests.storage import Storage
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "tests" / "fixtures" / "articles" / "seed-putin-astana.txt"


def write_config(tmp_path: Path, sources_toml: str = "") -> Path:
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    shutil.copy(ROOT / "config" / "leaders.toml", config / "leaders.toml")
    (config / "sources.toml").write_text(sources_toml, "utf-8")
    return config


def base_env(tmp_path: Path, config: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SLACK_", "LLM_", "DIGESTBOT_"))
    }
    env.pop("PORT", None)
    env.update(DIGESTBOT_CONFIG_DIR=str(config), DIGESTBOT_DB=str(tmp_path / "bot.db"), PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


async def start(env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        cwd=str(cwd),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def stop(proc: asyncio.subprocess.Process, sig: int = signal.SIGTERM) -> tuple[int, str, str]:
    if proc.returncode is None:
        proc.send_signal(sig)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_run_without_tokens_prints_the_seed_digest_and_stops_cleanly(tmp_path: Path) -> None:
    seed = SEED.read_text("utf-8")
    now = datetime.now(UTC)
    feed = tmp_path / "feed.xml"
    body = seed.replace("&", "&amp;").replace("<", "&lt;")
    feed.write_text(
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Local</title>'
        f"<item><title>Putin on peace talks</title><guid>seed-1</guid>"
        f"<pubDate>{now.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
        f"<description>{body}</description></item></channel></rss>",
        "utf-8",
    )
    config = write_config(
        tmp_path, f'[[source]]\nkey = "local"\nname = "Local wire"\nurl = "{feed.as_uri()}"\n'
    )
    proc = await start(base_env(tmp_path, config), tmp_path)
    assert proc.stdout is not None
    seen = ""
    try:
        async with asyncio.timeout(60):
            while "Local wire" not in seen:
                line = await proc.stdout.readline()
                assert line, "bot exited early"
                seen += line.decode()
    finally:
        code, out, err = await stop(proc)
    assert "Vladimir Putin" in seen and "Local wire" in seen
    assert code == 0, err
    assert "shutting down" in err


async def test_second_instance_on_the_same_database_refuses_to_start(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    env = base_env(tmp_path, config)
    first = await start(env, tmp_path)
    try:
        await asyncio.sleep(3)
        second = await start(env, tmp_path)
        code, _, err = await stop(second, sig=0)  # just wait for it
        assert code == 2
        assert "already using" in err
    finally:
        await stop(first)


async def test_healthz_reports_poll_failures_and_backlog(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, '[[source]]\nkey = "gone"\nname = "Gone"\nurl = "/nonexistent/feed.xml"\n'
    )
    port = 18000 + os.getpid() % 1000
    proc = await start(base_env(tmp_path, config, PORT=str(port)), tmp_path)
    try:
        async with httpx.AsyncClient() as client:
            data: dict[str, object] = {}
            for _ in range(100):
                try:
                    response = await client.get(f"http://127.0.0.1:{port}/healthz")
                    data = response.json()
                    if data.get("failing_sources"):
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        assert data["outbox_backlog"] == 0
        [failing] = data["failing_sources"]  # type: ignore[misc]
        assert failing["key"] == "gone" and "not found" in failing["error"]
    finally:
        await stop(proc)


def prepare_fanout(
    db: Path, registry: Registry, telegram_chats: list[int], slack_channels: list[str]
) -> None:
    """Subscriptions due a few minutes ago, and one new Zelensky statement in their window."""
    storage = Storage(str(db))
    now = datetime.now(UTC)
    hhmm = (now - timedelta(minutes=3)).strftime("%H:%M")
    created = now - timedelta(days=1)
    for chat in telegram_chats:
        storage.upsert_subscription(
            "telegram",
            str(chat),
            leaders=["zelensky"],
            time=hhmm,
            timezone="UTC",
            now=created,
            default_time=hhmm,
            default_timezone="UTC",
        )
    for channel in slack_channels:
        storage.upsert_subscription(
            "slack",
            channel,
            leaders=["zelensky"],
            time=hhmm,
            timezone="UTC",
            now=created,
            default_time=hhmm,
            default_timezone="UTC",
        )
    article = article_from_document(
        "Zelensky said that Ukraine would never give up its land, and that Europe must stand with it.",
        url="https://example.com/z",
        outlet="Example",
        published=now - timedelta(hours=2),
    )
    ingest_article(storage, Extractor(registry), article, now - timedelta(hours=2))
    storage.close()


@pytest.mark.slow
async def test_kill_9_mid_fanout_then_restart_delivers_every_digest_once(tmp_path: Path) -> None:
    registry = Registry(load_config(ROOT / "config").leaders)
    telegram_chats = [1000 + i for i in range(320)]
    slack_channels = [f"C{i:08d}" for i in range(200)]
    prepare_fanout(tmp_path / "bot.db", registry, telegram_chats, slack_channels)
    config = write_config(tmp_path)
    async with FakeTelegram(enforce_limits=True) as tg, FakeSlack(enforce_limits=True) as slack:
        for chat in telegram_chats:
            tg.add_chat(chat, "private", first_name=f"user{chat}")
        for channel in slack_channels:
            slack.add_channel(channel, channel.lower())
        env = base_env(
            tmp_path,
            config,
            TELEGRAM_BOT_TOKEN=tg.token if hasattr(tg, "token") else "123456789:TEST-fake-token",
            TELEGRAM_API_URL=tg.api_root,
            SLACK_BOT_TOKEN=slack.bot_token,
            SLACK_APP_TOKEN=slack.app_token,
            SLACK_API_URL=slack.api_url,
        )
        first = await start(env, tmp_path)
        try:
            async with asyncio.timeout(60):
                while len(tg.sent) < 100:
                    await asyncio.sleep(0.05)
                    assert first.returncode is None, "the bot exited"
        finally:
            _, _, first_err = await stop(first, signal.SIGKILL)
            print(first_err[-3000:])
        delivered_before = len(tg.sent)
        assert delivered_before < len(telegram_chats), "the fan-out finished before the kill"
        second = await start(env, tmp_path)
        try:
            async with asyncio.timeout(240):
                while len({m.chat_id for m in tg.sent}) < len(telegram_chats) or len(
                    {m.channel for m in slack.messages}
                ) < len(slack_channels):
                    await asyncio.sleep(0.2)
            await asyncio.sleep(2)  # anything more would be a duplicate: give it time to show
        finally:
            code, _, err = await stop(second)
        assert code == 0, err[-2000:]
    per_chat = Counter(m.chat_id for m in tg.sent)
    per_channel = Counter(m.channel for m in slack.messages)
    assert set(per_chat) == set(telegram_chats) and set(per_channel) == set(slack_channels)
    # At-least-once: a part confirmed by Telegram just before the kill, but not yet marked sent,
    # is sent again (the documented ambiguous case). Only sends in flight at the kill can repeat.
    duplicates = sum(n - 1 for n in per_chat.values()) + sum(n - 1 for n in per_channel.values())
    assert duplicates <= 5, (duplicates, delivered_before)
    assert all("Zelensky" in m.text for m in tg.sent)
    # Rate limits may bite right after the restart (the new process's pacer cannot know what the
    # killed one sent in its last second); they are waited out, and nothing is lost to them.
    storage = Storage(str(tmp_path / "bot.db"))
    assert storage.outbox_backlog() == 0
    assert len(storage.subscriptions()) == len(telegram_chats) + len(slack_channels)
    storage.close()
    # A third start sends nothing again.
    async with FakeTelegram() as tg2:
        env["TELEGRAM_API_URL"] = tg2.api_root
        env.pop("SLACK_BOT_TOKEN")
        third = await start(env, tmp_path)
        await asyncio.sleep(4)
        await stop(third)
        assert tg2.sent == []
    _ = json
