"""Load ``leaders.toml`` and ``sources.toml`` into models.

Reads files with the standard library's ``tomllib`` and validates every entry. A problem raises
``ConfigError`` whose message names the file, the entry (by index and key) and what is wrong, so a
person editing the file can fix it from the message alone. Nothing here touches the network or
the database.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, cast

from digests.models import Leader, Pronoun, Source, SourceKind, Title

KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
INTERVAL_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
URL_SCHEMES = ("http://", "https://", "file://")


class ConfigError(Exception):
    """A configuration file is missing, unreadable or has an invalid entry."""


@dataclass(frozen=True)
class Config:
    leaders: tuple[Leader, ...]
    sources: tuple[Source, ...]


def parse_duration(value: object, *, default_unit: str = "m") -> timedelta:
    """``"15m"``, ``"30s"``, ``"2h"``, ``"1d"`` or a number (in ``default_unit``) → timedelta."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        text = f"{value}{default_unit}"
    elif isinstance(value, str):
        text = value
    else:
        raise ValueError(f"not a duration: {value!r}")
    match = INTERVAL_RE.match(text)
    if not match:
        raise ValueError(f"not a duration: {value!r} (use a number with s, m, h or d, e.g. '15m')")
    amount = float(match.group(1))
    unit = match.group(2) or default_unit
    seconds = amount * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    if seconds <= 0:
        raise ValueError(f"duration must be positive: {value!r}")
    return timedelta(seconds=seconds)


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def _entries(path: Path, data: Mapping[str, Any], table: str) -> list[Mapping[str, Any]]:
    entries = data.get(table, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(f"{path}: '{table}' must be a list of [[{table}]] tables")
    return cast(list[Mapping[str, Any]], entries)


def _where(path: Path, table: str, index: int, entry: Mapping[str, Any]) -> str:
    key = entry.get("key")
    name = f" (key {key!r})" if isinstance(key, str) else ""
    return f"{path}: [[{table}]] entry {index + 1}{name}"


def _string(entry: Mapping[str, Any], field: str, where: str, *, required: bool = True) -> str | None:
    value = entry.get(field)
    if value is None:
        if required:
            raise ConfigError(f"{where}: missing '{field}'")
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: '{field}' must be a non-empty string, got {value!r}")
    return value.strip()


def _date(value: object, where: str, field: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ConfigError(f"{where}: title '{field}' must be a date like 2012-05-07, got {value!r}")


def _key(entry: Mapping[str, Any], where: str) -> str:
    key = _string(entry, "key", where)
    assert key is not None
    if not KEY_RE.match(key):
        raise ConfigError(f"{where}: key {key!r} must be lower-case letters, digits, '-' or '_'")
    return key


def parse_leader(entry: Mapping[str, Any], where: str) -> Leader:
    key = _key(entry, where)
    name = _string(entry, "name", where)
    assert name is not None
    aliases_raw = entry.get("aliases", [])
    if not isinstance(aliases_raw, list) or not all(isinstance(a, str) and a.strip() for a in aliases_raw):
        raise ConfigError(f"{where}: 'aliases' must be a list of non-empty strings")
    aliases = tuple(dict.fromkeys([name, *(a.strip() for a in aliases_raw)]))
    pronoun = entry.get("pronoun", "they")
    if pronoun not in ("he", "she", "they"):
        raise ConfigError(f"{where}: 'pronoun' must be he, she or they, got {pronoun!r}")
    titles: list[Title] = []
    titles_raw = entry.get("titles", [])
    if not isinstance(titles_raw, list):
        raise ConfigError(f"{where}: 'titles' must be a list of {{ title = ..., from = ..., to = ... }}")
    for t in titles_raw:
        if isinstance(t, str):
            titles.append(Title(t.strip()))
            continue
        if not isinstance(t, dict) or not isinstance(t.get("title"), str) or not t["title"].strip():
            raise ConfigError(f"{where}: each title needs a 'title' string, got {t!r}")
        start = _date(t.get("from"), where, "from")
        end = _date(t.get("to"), where, "to")
        if start and end and end <= start:
            raise ConfigError(f"{where}: title {t['title']!r} ends ({end}) before it starts ({start})")
        titles.append(Title(t["title"].strip(), start, end))
    orgs = entry.get("organisations", [])
    if not isinstance(orgs, list) or not all(isinstance(o, str) for o in orgs):
        raise ConfigError(f"{where}: 'organisations' must be a list of strings")
    return Leader(
        key=key,
        name=name,
        aliases=aliases,
        pronoun=cast(Pronoun, pronoun),
        titles=tuple(titles),
        organisations=tuple(o.strip() for o in orgs if o.strip()),
    )


def parse_source(entry: Mapping[str, Any], where: str, base: Path) -> Source:
    key = _key(entry, where)
    url = _string(entry, "url", where)
    assert url is not None
    if not url.startswith(URL_SCHEMES):
        # A local path: relative paths are taken from the config file's folder.
        path = Path(url).expanduser()
        if not path.is_absolute():
            path = (base / path).resolve()
        url = str(path)
    kind = entry.get("kind", "news")
    if kind not in ("news", "official"):
        raise ConfigError(f"{where}: 'kind' must be 'news' or 'official', got {kind!r}")
    try:
        interval = parse_duration(entry.get("interval", "15m"))
        max_age = parse_duration(entry.get("max_age", "48h"), default_unit="h")
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return Source(
        key=key,
        name=_string(entry, "name", where, required=False) or key,
        url=url,
        kind=cast(SourceKind, kind),
        leader=_string(entry, "leader", where, required=False),
        interval=interval,
        language=_string(entry, "language", where, required=False),
        max_age=max_age,
    )


def load_leaders(path: Path) -> tuple[Leader, ...]:
    data = _read(path)
    leaders: list[Leader] = []
    seen_keys: dict[str, str] = {}
    seen_aliases: dict[str, str] = {}
    for index, entry in enumerate(_entries(path, data, "leader")):
        where = _where(path, "leader", index, entry)
        leader = parse_leader(entry, where)
        if leader.key in seen_keys:
            raise ConfigError(f"{where}: key {leader.key!r} is used twice")
        seen_keys[leader.key] = where
        for alias in leader.aliases:
            folded = alias.casefold()
            if seen_aliases.get(folded, leader.key) != leader.key:
                raise ConfigError(f"{where}: alias {alias!r} is also an alias of {seen_aliases[folded]!r}")
            seen_aliases[folded] = leader.key
        leaders.append(leader)
    if not leaders:
        raise ConfigError(f"{path}: no [[leader]] entries")
    return tuple(leaders)


def load_sources(path: Path, leader_keys: set[str] | None = None) -> tuple[Source, ...]:
    data = _read(path)
    sources: list[Source] = []
    seen: set[str] = set()
    for index, entry in enumerate(_entries(path, data, "source")):
        where = _where(path, "source", index, entry)
        source = parse_source(entry, where, path.parent)
        if source.key in seen:
            raise ConfigError(f"{where}: key {source.key!r} is used twice")
        if leader_keys is not None and source.leader is not None and source.leader not in leader_keys:
            raise ConfigError(f"{where}: leader {source.leader!r} is not in leaders.toml")
        seen.add(source.key)
        sources.append(source)
    return tuple(sources)


def load_config(config_dir: Path) -> Config:
    """Load both files from ``config_dir``; sources.toml may be absent (no sources)."""
    leaders = load_leaders(config_dir / "leaders.toml")
    sources_path = config_dir / "sources.toml"
    sources = load_sources(sources_path, {leader.key for leader in leaders}) if sources_path.exists() else ()
    return Config(leaders=leaders, sources=sources)
