"""Config files and the leader registry: the bundled files load; mistakes are named clearly."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from digests.config import ConfigError, load_config, load_leaders, load_sources, parse_duration
from digests.leaders import Registry

ROOT = Path(__file__).resolve().parent.parent


def test_bundled_config_loads_with_enough_leaders_and_real_sources() -> None:
    config = load_config(ROOT / "config")
    assert len(config.leaders) >= 40
    keys = {leader.key for leader in config.leaders}
    for key in (
        "putin",
        "zelensky",
        "trump",
        "biden",
        "xi",
        "modi",
        "guterres",
        "rutte",
        "von-der-leyen",
        "costa",
    ):
        assert key in keys
    assert len(config.sources) >= 10
    assert {s.kind for s in config.sources} == {"news", "official"}
    assert all(s.url.startswith(("http://", "https://")) for s in config.sources)
    kremlin = [s for s in config.sources if s.leader == "putin"]
    assert kremlin and kremlin[0].kind == "official"
    for leader in config.leaders:
        assert leader.aliases and leader.titles, leader.key
    native = [leader for leader in config.leaders if any(not a.isascii() for a in leader.aliases)]
    assert len(native) >= len(config.leaders) // 2  # names in Cyrillic, Chinese, Arabic … too


def test_bad_leader_entry_names_file_entry_and_problem(tmp_path: Path) -> None:
    path = tmp_path / "leaders.toml"
    path.write_text('[[leader]]\nkey = "ok"\nname = "Ok"\n\n[[leader]]\nkey = "Bad Key"\nname = "X"\n')
    with pytest.raises(ConfigError) as err:
        load_leaders(path)
    message = str(err.value)
    assert str(path) in message and "entry 2" in message and "Bad Key" in message


def test_title_dates_and_pronoun_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "leaders.toml"
    path.write_text('[[leader]]\nkey = "a"\nname = "A"\npronoun = "it"\n')
    with pytest.raises(ConfigError, match="pronoun"):
        load_leaders(path)
    path.write_text(
        '[[leader]]\nkey = "a"\nname = "A"\ntitles = [{ title = "Boss", from = 2020-01-01, to = 2019-01-01 }]\n'
    )
    with pytest.raises(ConfigError, match="ends .* before it starts"):
        load_leaders(path)


def test_duplicate_alias_across_leaders_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "leaders.toml"
    path.write_text(
        '[[leader]]\nkey = "a"\nname = "A"\naliases = ["Smith"]\n\n[[leader]]\nkey = "b"\nname = "B"\naliases = ["smith"]\n'
    )
    with pytest.raises(ConfigError, match="alias 'smith' is also an alias of 'a'"):
        load_leaders(path)


def test_sources_parse_intervals_local_paths_and_reject_mistakes(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(
        '[[source]]\nkey = "local"\nname = "Local"\nurl = "feeds/x.xml"\ninterval = "90s"\n\n'
        '[[source]]\nkey = "kremlin"\nname = "K"\nurl = "http://en.kremlin.ru/feed"\nkind = "official"\n'
        'leader = "putin"\ninterval = "1h"\n'
    )
    local, kremlin = load_sources(path, {"putin"})
    assert local.url == str(tmp_path / "feeds" / "x.xml") and local.interval == timedelta(seconds=90)
    assert kremlin.interval == timedelta(hours=1) and kremlin.leader == "putin"
    assert local.max_age == timedelta(hours=48)
    path.write_text('[[source]]\nkey = "x"\nurl = "http://a"\ninterval = "soon"\n')
    with pytest.raises(ConfigError, match="entry 1 .*'x'.*not a duration"):
        load_sources(path)
    path.write_text('[[source]]\nkey = "x"\nurl = "http://a"\nkind = "blog"\n')
    with pytest.raises(ConfigError, match="'kind' must be"):
        load_sources(path)
    path.write_text('[[source]]\nkey = "x"\nurl = "http://a"\nleader = "nobody"\n')
    with pytest.raises(ConfigError, match="leader 'nobody' is not in leaders.toml"):
        load_sources(path, {"putin"})
    path.write_text("[[source]\nkey=")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_sources(path)
    with pytest.raises(ConfigError, match="file not found"):
        load_sources(tmp_path / "missing.toml")


def test_parse_duration() -> None:
    assert parse_duration("15m") == timedelta(minutes=15)
    assert parse_duration(30) == timedelta(minutes=30)
    assert parse_duration("2h") == timedelta(hours=2)
    with pytest.raises(ValueError):
        parse_duration("-5m")


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ("putin", "putin"),
        ("Putin", "putin"),
        ("путин", "putin"),
        ('"vladimir putin"', "putin"),
        ("Vladimir Putin", "putin"),
        ("zelenskyy", "zelensky"),
        ("von der leyen", "von-der-leyen"),
        ("ERDOĞAN", "erdogan"),
        ("erdogan", "erdogan"),
        ("president putin", "putin"),
    ],
)
def test_resolve_is_forgiving(registry: Registry, query: str, key: str) -> None:
    leader = registry.resolve(query).leader
    assert leader is not None and leader.key == key


def test_resolve_suggests_close_names(registry: Registry) -> None:
    res = registry.resolve("puttin")
    assert res.leader is None and res.suggestion is not None and res.suggestion.key == "putin"
    assert registry.resolve("nobody-at-all-here").suggestion is None


def test_mentions_by_name_and_time_bound_title(registry: Registry) -> None:
    text = "Russian President Vladimir Putin met the US president. Putin's spokesman and the trump card."
    mentions = registry.mentions(text, date(2022, 10, 14))
    assert [(m.leader, text[m.start : m.end]) for m in mentions] == [
        ("putin", "Russian President Vladimir Putin"),
        ("biden", "US president"),
        ("putin", "Putin"),
    ]
    assert registry.mentions("the U.S. President", date(2019, 1, 1))[0].leader == "trump"
    assert registry.mentions("the former US president", date(2023, 1, 1)) == []


def test_organisations_speak_for_a_leader_only_when_configured(tmp_path: Path) -> None:
    from datetime import date as day

    from digests.extract import Extractor

    text = "The Kremlin said that the talks with Washington had been useful and constructive."
    default = Registry(load_config(ROOT / "config").leaders)
    assert Extractor(default).extract(text, day(2024, 1, 10)) == []
    path = tmp_path / "leaders.toml"
    path.write_text(
        '[[leader]]\nkey = "putin"\nname = "Vladimir Putin"\naliases = ["Putin"]\npronoun = "he"\n'
        'organisations = ["Kremlin"]\n'
    )
    [found] = Extractor(Registry(load_leaders(path))).extract(text, day(2024, 1, 10))
    assert found.leader == "putin" and "useful and constructive" in found.text
