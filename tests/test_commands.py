"""The platform-neutral command set: parsing, hints, rights, and what each command answers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.commands import ChatContext, Commands
from digests.config import load_config
from digests.extract import Extractor
from digests.leaders import Registry
from digests.pipeline import article_from_document, ingest_article
from digests.storage import Storage

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2022, 10, 14, 12, 0, tzinfo=UTC)
PRIVATE = ChatContext("telegram", "42", "private", "42")


@pytest.fixture
def commands() -> Commands:
    registry = Registry(load_config(ROOT / "config").leaders)
    storage = Storage(":memory:")
    seed = (ROOT / "tests" / "fixtures" / "articles" / "seed-putin-astana.txt").read_text("utf-8")
    article = article_from_document(seed, url="https://example.com/a", outlet="RT", published=NOW)
    ingest_article(storage, Extractor(registry), article, NOW)
    later = NOW.replace(minute=5)
    return Commands(storage, registry, default_time="08:00", default_timezone="UTC", clock=lambda: later)


async def test_subscribe_names_leaders_time_and_zone(commands: Commands) -> None:
    reply = await commands.handle(PRIVATE, "subscribe", '"vladimir putin" zelenskyy at 7:30 europe/kyiv')
    assert not reply.error
    assert "Vladimir Putin" in reply.text and "Volodymyr Zelensky" in reply.text
    assert "07:30 Europe/Kyiv" in reply.text
    reply = await commands.handle(PRIVATE, "subscribe", "nothing-new")
    assert "nothing new" in reply.text and "07:30 Europe/Kyiv" in reply.text  # settings kept
    sub = commands.storage.subscription("telegram", "42")
    assert sub is not None and sub.notify_empty and sub.leaders == ("putin", "zelensky")


@pytest.mark.parametrize(
    ("name", "args", "hint"),
    [
        ("subscribe", "at 25:00", "Bad time"),
        ("subscribe", "at 07:00 Mars/Olympus", "Unknown time zone"),
        ("subscribe", "puttin", "Did you mean putin?"),
        ("latest", "", "Which leader?"),
        ("latest", "putin 50", "between 1 and 20"),
        ("latest", "nobody-at-all", "/leaders"),
        ("frobnicate", "", "/help"),
        ("unsubscribe", "", "no subscription"),
    ],
)
async def test_mistakes_get_a_one_line_hint(commands: Commands, name: str, args: str, hint: str) -> None:
    reply = await commands.handle(PRIVATE, name, args)
    assert reply.error and reply.ephemeral
    assert hint in reply.text and "\n" not in reply.text


async def test_only_admins_change_a_groups_subscription(commands: Commands) -> None:
    async def no() -> bool:
        return False

    async def yes() -> bool:
        return True

    member = ChatContext("telegram", "-100", "supergroup", "7", is_admin=no)
    reply = await commands.handle(member, "subscribe", "putin")
    assert reply.text == "Only chat admins can change this chat's subscription."
    assert commands.storage.subscription("telegram", "-100") is None
    admin = ChatContext("telegram", "-100", "supergroup", "8", is_admin=yes)
    assert not (await commands.handle(admin, "subscribe", "putin")).error
    # Reading is open to everyone.
    assert not (await commands.handle(member, "latest", "putin")).error


async def test_latest_and_digest_carry_statements_for_the_renderer(commands: Commands) -> None:
    reply = await commands.handle(PRIVATE, "latest", "путин 3")
    assert reply.statements is not None
    leader, statements = reply.statements
    assert leader.key == "putin" and len(statements) == 3
    reply = await commands.handle(PRIVATE, "digest", "putin")
    assert reply.digest is not None and reply.digest.sections[0].leader.key == "putin"


async def test_unsubscribe_one_then_all(commands: Commands) -> None:
    await commands.handle(PRIVATE, "subscribe", "putin zelensky")
    reply = await commands.handle(PRIVATE, "unsubscribe", "putin")
    assert "Volodymyr Zelensky" in reply.text and "Vladimir Putin" not in reply.text
    reply = await commands.handle(PRIVATE, "unsubscribe", "")
    assert "no more digests" in reply.text
    assert commands.storage.subscription("telegram", "42") is None


async def test_mentions_and_dms_take_free_text(commands: Commands) -> None:
    reply = await commands.handle_text(ChatContext("slack", "C1", "slack_channel"), "latest putin 2")
    assert reply.statements is not None and len(reply.statements[1]) == 2


@pytest.mark.parametrize(
    ("text", "hhmm"),
    [
        ("07:30", "07:30"),
        ("7:05", "07:05"),
        ("7pm", "19:00"),
        ("12am", "00:00"),
        ("11:45 pm", "23:45"),
        ("19.30", "19:30"),
    ],
)
async def test_times_people_type(commands: Commands, text: str, hhmm: str) -> None:
    reply = await commands.handle(PRIVATE, "subscribe", f"putin at {text} UTC")
    assert not reply.error and f"{hhmm} UTC" in reply.text
