"""Environment → frozen ``Settings``: the only place that reads the environment.

A ``.env`` file in the working directory is read too (values already in the environment win).
A chat platform is on if and only if its tokens are set. Tokens are kept out of ``repr`` so that
logging a ``Settings`` never leaks them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from digests.workers import default_workers

DEFAULT_DB = "data/digestbot.db"
MAX_POLL_WORKERS = 16
TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class SettingsError(Exception):
    """An environment variable has a value the bot cannot use."""


@dataclass(frozen=True)
class Settings:
    db_path: str = DEFAULT_DB
    config_dir: Path = Path("config")
    digest_time: str = "08:00"
    digest_timezone: str = "UTC"
    telegram_token: str | None = field(default=None, repr=False)
    telegram_api_url: str = "https://api.telegram.org"
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_command_prefix: str = ""
    slack_api_url: str = "https://slack.com/api/"
    port: int | None = None
    llm_base_url: str | None = None
    llm_api_key: str | None = field(default=None, repr=False)
    llm_model: str | None = None
    poll_workers: int = 0  # processes that parse and extract during polls; 0 = on the event loop

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_token)

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token and (self.slack_app_token or self.slack_signing_secret))

    @property
    def slack_mode(self) -> str | None:
        """ "socket" when an app token is set (it wins), "http" with a signing secret only."""
        if not self.slack_enabled:
            return None
        return "socket" if self.slack_app_token else "http"

    def secrets(self) -> list[str]:
        """Every secret value, for log redaction."""
        return [
            s
            for s in (
                self.telegram_token,
                self.slack_bot_token,
                self.slack_app_token,
                self.slack_signing_secret,
                self.llm_api_key,
            )
            if s
        ]


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and # comments ignored; optional quotes stripped."""
    values: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return values
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key] = value
    return values


def bundled_config_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "config"


def parse_digest_time(value: str) -> tuple[str, str]:
    """ "08:00 UTC" / "07:30 Europe/Kyiv" / "08:00" → ("08:00", zone)."""
    parts = value.split()
    if not parts or not TIME_RE.match(parts[0]) or len(parts) > 2:
        raise SettingsError(f"DIGESTBOT_DIGEST_TIME must look like '08:00 UTC', got {value!r}")
    hour, minute = TIME_RE.match(parts[0]).groups()  # type: ignore[union-attr]
    zone = parts[1] if len(parts) == 2 else "UTC"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"DIGESTBOT_DIGEST_TIME: unknown time zone {zone!r}") from None
    return f"{int(hour):02d}:{minute}", zone


def load_settings(environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")) -> Settings:
    env: dict[str, str] = {}
    if dotenv is not None:
        env.update(read_dotenv(dotenv))
    env.update(os.environ if environ is None else environ)

    def get(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    config_dir = Path(get("DIGESTBOT_CONFIG_DIR") or "config")
    if get("DIGESTBOT_CONFIG_DIR") is None and not (config_dir / "leaders.toml").exists():
        config_dir = bundled_config_dir()
    time, zone = parse_digest_time(get("DIGESTBOT_DIGEST_TIME") or "08:00 UTC")
    port_raw = get("PORT")
    port: int | None = None
    if port_raw is not None:
        if not (port_raw.isascii() and port_raw.isdigit()) or not 0 <= int(port_raw) < 65536:
            raise SettingsError(f"PORT must be a port number, got {port_raw!r}")
        port = int(port_raw)
    workers_raw = get("DIGESTBOT_POLL_WORKERS")
    poll_workers = default_workers()
    if workers_raw is not None:
        if not (workers_raw.isascii() and workers_raw.isdigit()) or int(workers_raw) > MAX_POLL_WORKERS:
            raise SettingsError(
                f"DIGESTBOT_POLL_WORKERS must be a number from 0 to {MAX_POLL_WORKERS}, got {workers_raw!r}"
            )
        poll_workers = int(workers_raw)
    api_url = get("SLACK_API_URL") or "https://slack.com/api/"
    if not api_url.endswith("/"):
        api_url += "/"
    return Settings(
        db_path=get("DIGESTBOT_DB") or DEFAULT_DB,
        config_dir=config_dir,
        digest_time=time,
        digest_timezone=zone,
        telegram_token=get("TELEGRAM_BOT_TOKEN"),
        telegram_api_url=(get("TELEGRAM_API_URL") or "https://api.telegram.org").rstrip("/"),
        slack_bot_token=get("SLACK_BOT_TOKEN"),
        slack_app_token=get("SLACK_APP_TOKEN"),
        slack_signing_secret=get("SLACK_SIGNING_SECRET"),
        slack_command_prefix=get("SLACK_COMMAND_PREFIX") or "",
        slack_api_url=api_url,
        port=port,
        llm_base_url=get("LLM_BASE_URL"),
        llm_api_key=get("LLM_API_KEY"),
        llm_model=get("LLM_MODEL"),
        poll_workers=poll_workers,
    )
