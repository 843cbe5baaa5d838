"""Shard ids from the command line and the config: parsed, checked, and refused with one clear line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import bot.cli as cli
from bot.config import ConfigError, load_settings
from bot.shards import describe, parse_shard_ids, shard_of, shard_problem


@pytest.mark.parametrize(("text", "ids"), [
    ("0-3", [0, 1, 2, 3]), ("0,2,5", [0, 2, 5]), ("5", [5]), (" 4 , 0-1 ", [0, 1, 4]), ("3-3", [3]),
])
def test_shard_ids_parse(text: str, ids: list[int]) -> None:
    assert parse_shard_ids(text) == ids


@pytest.mark.parametrize(("text", "message"), [
    ("a", "is not a shard id"), ("0-", "is not a shard id"), ("", "has an empty item"), ("1,,2", "'1,,2' has an empty item"),
    ("3-1", "from the lower id"), ("0-2,2", "shard 2 is listed twice"), ("0-99999999", "are not supported"),
])
def test_bad_shard_ids_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_shard_ids(text)


def test_shard_of_follows_discord() -> None:
    guild = 81384788765712384  # shard (id >> 22) % count
    assert shard_of(guild, 1) == 0
    assert shard_of(guild, 16) == 2
    assert shard_of(None, 16) == 0  # direct messages
    assert shard_problem(4, [0, 3]) is None
    assert "ids run from 0 to 3" in (shard_problem(4, [4]) or "")
    assert describe([5, 0, 1, 2, 7, 8]) == "0-2, 5, 7-8"


@pytest.mark.parametrize(("args", "message"), [
    (["--shard-count", "0"], "'--shard-count': 0 is not in the range x>=1"),
    (["--shard-count", "x"], "'--shard-count': 'x' is not a valid integer"),
    (["--shard-ids", "0-1"], "--shard-ids needs --shard-count (or discord.shard_count)"),
    (["--shard-count", "4", "--shard-ids", "2-4"], "--shard-ids: shard 4 does not exist with 4 shard(s): ids run from 0 to 3."),
    (["--shard-count", "4", "--shard-ids", "0,,1"], "'--shard-ids': '0,,1' has an empty item"),
    (["--shard-count", "4", "--shard-ids", "1-0"], "'--shard-ids': '1-0': a range runs from the lower id"),
])
def test_serve_refuses_bad_shards_in_one_line(args: list[str], message: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "fake-token-for-tests")
    code = cli.run(["serve", "--index-dir", str(tmp_path / "nothing"), *args])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "nothing").exists()  # refused before anything is built


def test_serve_takes_shards_from_the_config_and_the_command_line(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "qabot.toml"
    config.write_text("[discord]\nshard_count = 4\nshard_ids = [2, 3]\n")
    seen: list[tuple[int | None, list[int] | None]] = []
    monkeypatch.setenv("DISCORD_TOKEN", "fake-token-for-tests")
    monkeypatch.setattr(cli, "ensure_index", lambda service, explicit_dir: None)
    monkeypatch.setattr("bot.discord.client.serve", lambda service, token, shard_count=None, shard_ids=None:
                        seen.append((shard_count, shard_ids)))
    base = ["serve", "--config", str(config), "--index-dir", str(tmp_path / "index")]
    assert cli.run(base) == 0
    assert cli.run([*base, "--shard-ids", "0,1"]) == 0
    assert cli.run([*base, "--shard-count", "8", "--shard-ids", "4-7"]) == 0
    assert cli.run(["serve", "--index-dir", str(tmp_path / "index")]) == 0  # nothing set: discord.py picks
    assert seen == [(4, [2, 3]), (4, [0, 1]), (8, [4, 5, 6, 7]), (None, None)]


@pytest.mark.parametrize(("toml", "message"), [
    ("shard_ids = [0]", "discord.shard_ids: needs discord.shard_count"),
    ("shard_count = 2\nshard_ids = [0, 2]", "discord.shard_ids: shard 2 does not exist with 2 shard(s)"),
    ("shard_count = 2\nshard_ids = [1, 1]", "discord.shard_ids: a shard id is listed twice"),
    ("shard_count = -1", "discord.shard_count: must not be negative"),
    ("shard_count = 2\nshard_ids = \"0-1\"", "discord.shard_ids: expected a list"),
])
def test_bad_shard_settings_name_the_key(toml: str, message: str, tmp_path: Path) -> None:
    config = tmp_path / "qabot.toml"
    config.write_text(f"[discord]\n{toml}\n")
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(config)
