"""Delivery mechanics independent of a platform: pacing, claims between processes, send-due."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.delivery import ChatGone, Delivery, Pacer, Transient
from digests.storage import Storage

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 6, 2, 8, 0, tzinfo=UTC)


class RecordingSender:
    platform = "terminal"

    def __init__(self, fail: dict[str, list[Exception]] | None = None, delay: float = 0.0) -> None:
        self.sent: list[tuple[str, str]] = []
        self.fail = fail or {}
        self.delay = delay

    async def send(self, chat_id: str, part: dict[str, Any]) -> str:
        await asyncio.sleep(self.delay)
        if self.fail.get(chat_id):
            raise self.fail[chat_id].pop(0)
        self.sent.append((chat_id, str(part["text"])))
        return str(len(self.sent))

    def is_group(self, chat_id: str) -> bool:
        return False


def queue(storage: Storage, chats: list[str], parts: int = 1) -> None:
    for chat in chats:
        sub = storage.upsert_subscription(
            "terminal",
            chat,
            leaders=None,
            time="08:00",
            timezone="UTC",
            now=NOW - timedelta(days=1),
            default_time="08:00",
            default_timezone="UTC",
        )
        assert sub.id is not None
        payload = {"parts": [{"text": f"digest for {chat} part {i}"} for i in range(parts)]}
        storage.enqueue_digest(
            sub.id,
            day="2026-06-02",
            window_start=NOW - timedelta(days=1),
            window_end=NOW,
            payload=json.dumps(payload),
            now=NOW,
        )


async def no_sleep(_: float) -> None:
    return None


async def test_pacer_holds_per_chat_and_global_rates() -> None:
    pacer = Pacer(global_per_second=10, per_chat_per_second=20, margin=0.0)
    start = time.monotonic()
    await asyncio.gather(*(pacer.acquire("one") for _ in range(5)))
    assert time.monotonic() - start >= 4 / 20 * 0.95  # 5 to one chat: 4 gaps of 1/20 s
    start = time.monotonic()
    await asyncio.gather(*(pacer.acquire(f"c{i}") for i in range(15)))
    assert time.monotonic() - start >= 0.95  # 15 over a 10/s global window needs a second window


async def test_two_processes_never_send_the_same_digest(tmp_path: Path) -> None:
    db = str(tmp_path / "bot.db")
    setup = Storage(db)
    queue(setup, [f"chat{i}" for i in range(40)], parts=2)
    setup.close()
    a_storage, b_storage = Storage(db), Storage(db)
    a, b = RecordingSender(delay=0.002), RecordingSender(delay=0.002)
    pacers = {"terminal": Pacer(global_per_second=None, per_chat_per_second=1000, margin=0.0)}
    run_a = Delivery(a_storage, {"terminal": a}, pacers, clock=lambda: NOW, owner="run:1")
    run_b = Delivery(b_storage, {"terminal": b}, dict(pacers), clock=lambda: NOW, owner="send-due:2")
    await asyncio.gather(run_a.deliver_pending(), run_b.deliver_pending())
    sent = a.sent + b.sent
    assert len(sent) == 80 and len(set(sent)) == 80  # every part once, whoever sent it
    assert a_storage.outbox_backlog() == 0


async def test_gone_chat_is_deactivated_and_transient_errors_leave_it_pending(tmp_path: Path) -> None:
    storage = Storage(str(tmp_path / "bot.db"))
    queue(storage, ["gone", "flaky", "fine"])
    sender = RecordingSender(
        fail={"gone": [ChatGone("bot was blocked by the user")], "flaky": [Transient("502 Bad Gateway")] * 10}
    )
    pacers = {"terminal": Pacer(global_per_second=None, per_chat_per_second=1000, margin=0.0)}
    delivery = Delivery(
        storage, {"terminal": sender}, pacers, clock=lambda: NOW, sleep=no_sleep, max_attempts=3
    )
    report = await delivery.deliver_pending()
    assert (report.sent, report.gone, report.pending) == (1, 1, 1)
    assert [s.chat_id for s in storage.subscriptions()] == ["flaky", "fine"]
    [pending] = storage.pending_outbox()
    assert pending.chat_id == "flaky" and pending.attempts == 3 and "502" in (pending.last_error or "")
    sender.fail["flaky"] = []
    report = await delivery.deliver_pending()  # the next round delivers it
    assert report.sent == 1 and storage.outbox_backlog() == 0


async def test_send_due_now_prints_once(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    shutil.copy(ROOT / "config" / "leaders.toml", config / "leaders.toml")
    (config / "sources.toml").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SLACK_", "DIGESTBOT_"))}
    env.update(DIGESTBOT_CONFIG_DIR=str(config), DIGESTBOT_DB=str(tmp_path / "bot.db"))

    async def cli(*args: str) -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *args,
            env=env,
            cwd=str(tmp_path),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        return proc.returncode, out.decode()

    seed = ROOT / "tests" / "fixtures" / "articles" / "seed-putin-astana.txt"
    await cli("ingest", str(seed), "--outlet", "RT")
    _, out = await cli("send-due", "--now")
    assert "Vladimir Putin" in out and "sent 1" in out
    _, out = await cli("send-due", "--now")
    assert "Vladimir Putin" not in out and "planned 0, sent 0" in out
