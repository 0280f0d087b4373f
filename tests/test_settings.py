"""Environment → Settings: defaults, the values a user sets, one clear line for a wrong value."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import MAX_POLL_WORKERS, SettingsError, load_settings
from digests.workers import default_workers


def settings(**env: str):  # type: ignore[no-untyped-def]
    return load_settings(env, dotenv=None)


def test_defaults() -> None:
    s = settings()
    assert s.db_path == "data/digestbot.db"
    assert (s.digest_time, s.digest_timezone) == ("08:00", "UTC")
    assert s.poll_workers == default_workers()
    assert not s.telegram_enabled and not s.slack_enabled


@pytest.mark.parametrize("value", ["0", "1", "4", str(MAX_POLL_WORKERS)])
def test_poll_workers_is_set_from_the_environment(value: str) -> None:
    assert settings(DIGESTBOT_POLL_WORKERS=value).poll_workers == int(value)


@pytest.mark.parametrize("value", ["-1", "two", "1.5", "²", "٣", str(MAX_POLL_WORKERS + 1)])
def test_a_wrong_poll_workers_value_is_one_clear_line(value: str) -> None:
    with pytest.raises(
        SettingsError, match=f"DIGESTBOT_POLL_WORKERS must be a number from 0 to {MAX_POLL_WORKERS}"
    ):
        settings(DIGESTBOT_POLL_WORKERS=value)


def test_digest_time_with_a_zone_and_wrong_values() -> None:
    s = settings(DIGESTBOT_DIGEST_TIME="7:30 Europe/Kyiv")
    assert (s.digest_time, s.digest_timezone) == ("07:30", "Europe/Kyiv")
    with pytest.raises(SettingsError, match="must look like"):
        settings(DIGESTBOT_DIGEST_TIME="25:00")
    with pytest.raises(SettingsError, match="unknown time zone"):
        settings(DIGESTBOT_DIGEST_TIME="08:00 Mars/Olympus")


def test_dotenv_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("DIGESTBOT_POLL_WORKERS=2\nDIGESTBOT_DB='x.db'\n# comment\n", "utf-8")
    s = load_settings({"DIGESTBOT_DB": "y.db"}, dotenv=dotenv)
    assert s.poll_workers == 2 and s.db_path == "y.db"


@pytest.mark.parametrize("value", ["http", "²", "70000", "-1"])
def test_a_wrong_port_is_one_clear_line(value: str) -> None:
    with pytest.raises(SettingsError, match="PORT must be a port number"):
        settings(PORT=value)
