"""Where the shared data lives: SQLite files in the index directory (one machine, the default)
or PostgreSQL (``database.url``, several machines).

``open_stores`` gives the three stores the application uses, whichever the backend:

- ``registry``: each space's sources (their text included) and feeds, and the per-space lock;
- ``cache``: the embedding cache (vectors by model and text hash);
- ``records``: the bot's answers, feedback and audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.db.postgres import Database, DatabaseError
from bot.db.registry import LocalRegistry, PostgresRegistry, Registry, Space, Stored, space_dir
from bot.discord.records import Records
from index.cache import EmbeddingCache

__all__ = ["Database", "DatabaseError", "Registry", "Space", "Stored", "Stores", "open_stores", "space_dir"]


@dataclass
class Stores:
    """The stores of one installation (``database`` is None for the SQLite files)."""

    registry: Registry
    cache: EmbeddingCache
    records: Any  # Records or PostgresRecords: the same methods
    database: Database | None = None

    def close(self) -> None:
        if self.database is not None:
            self.database.close()


def local_stores(root: Path) -> Stores:
    """The SQLite files of one machine: generations, cache.sqlite and bot.sqlite in ``root``."""
    return Stores(LocalRegistry(root), EmbeddingCache(root / "cache.sqlite"), Records(root / "bot.sqlite"))


def postgres_stores(database: Database, root: Path) -> Stores:
    """PostgreSQL for what is shared; generations stay local files under ``root``."""
    from bot.db.cache import PostgresEmbeddingCache
    from bot.db.records import PostgresRecords

    return Stores(PostgresRegistry(database, root), PostgresEmbeddingCache(database), PostgresRecords(database),
                  database)


def open_stores(settings: Settings, root: Path) -> Stores:
    """The stores ``database.url`` names (connecting and migrating), else the local files."""
    if not settings.database.url:
        return local_stores(root)
    return postgres_stores(Database(settings.database.url, pool_size=settings.database.pool_size), root)
