"""Settings: the example file loads, bad keys and values are named by path."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_example_config_loads_and_matches_defaults() -> None:
    settings = load_settings(ROOT / "config.example.toml")
    defaults = Settings()
    for section in ("index", "sources", "answer", "discord", "fetch", "feeds", "guilds", "records", "database"):
        assert getattr(settings, section) == getattr(defaults, section), section


def test_example_config_names_every_key() -> None:
    import tomllib
    from dataclasses import fields

    written = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    for section in fields(Settings):
        if section.name == "base_dir":
            continue
        keys = {f.name for f in fields(getattr(Settings(), section.name))}
        assert keys == set(written[section.name]), section.name


@pytest.mark.parametrize(
    "toml, message",
    [
        ("[answer]\ntop_kk = 3\n", "Unknown setting answer.top_kk"),
        ("[nope]\n", "Unknown setting nope"),
        ("[answer]\ntop_k = 'three'\n", "answer.top_k: expected a whole number"),
        ("[answer]\ntop_k = -1\n", "answer.top_k: must not be negative"),
        ("[discord]\nguild_ids = [1, 'x']\n", r"discord.guild_ids\[1\]: expected a whole number"),
        ("[sources]\ninclude_bundled = 1\n", "sources.include_bundled: expected true or false"),
        ("[discord]\ntoken = 'abc'\n", "must not be in the config file"),
        ("answer = 3\n", "answer: expected a table"),
        ("[discord]\nfollowups = 'sometimes'\n", "discord.followups: expected one of button, thread, off"),
        ("[answer\n", "not valid TOML"),
        ("[discord]\ncooldown_seconds = nan\n", "discord.cooldown_seconds: must be a finite number, got nan"),
        ("[fetch]\ntimeout_seconds = inf\n", "fetch.timeout_seconds: must be a finite number, got inf"),
        ("[feeds]\nmax_age_days = -inf\n", "feeds.max_age_days: must be a finite number"),
        ("[feeds]\nrefresh_minutes = +nan\n", "feeds.refresh_minutes: must be a finite number"),
        ("[database]\nurl = 'mysql://u:secret@h/db'\n", "database.url: expected a postgresql:// URL .*'mysql'"),
        ("[database]\nurl = 'localhost'\n", "database.url: expected a postgresql:// URL .*'no scheme'"),
        ("[database]\nurl = 5\n", "database.url: expected a string"),
        ("[database]\npool_size = 0\n", "database.pool_size: must be at least 1"),
        ("[database]\nhost = 'x'\n", "Unknown setting database.host"),
    ],
)
def test_bad_settings_are_named(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=message):
        load_settings(path)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")


def test_relative_paths_resolve_against_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QABOT_INDEX_DIR")
    path = tmp_path / "conf" / "c.toml"
    path.parent.mkdir()
    path.write_text('[index]\ndir = "idx"\n')
    settings = load_settings(path)
    assert settings.index_dir() == tmp_path / "conf" / "idx"
    assert settings.index_dir("/elsewhere") == Path("/elsewhere")


def test_a_bad_database_url_is_not_echoed(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[database]\nurl = 'mysql://bot:hunter2@db/qabot'\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert "hunter2" not in str(caught.value)


def test_a_postgresql_url_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[database]\nurl = 'postgresql://bot@db.internal:5432/qabot'\npool_size = 4\n")
    settings = load_settings(path)
    assert settings.database.url == "postgresql://bot@db.internal:5432/qabot"
    assert settings.database.pool_size == 4
