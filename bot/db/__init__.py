"""Where the shared data lives: SQLite files in the index directory (one machine, the default)
or PostgreSQL (``database.url``, several machines).

``open_stores`` gives the three stores the application uses, whichever the backend:

- ``registry``: each space's sources (their text included) and feeds, and the per-space lock;
- ``cache``: the embedding cache (vectors by model and text hash);
- ``records``: the bot's answers, feedback and audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.db.postgres import Database, DatabaseError
from bot.db.registry import LocalRegistry, PostgresRegistry, Registry, Space, Stored, space_dir
from bot.discord.records import Records
from index.cache import EmbeddingCache

__all__ = ["Database", "DatabaseError", "Registry", "Space", "Stored", "Stores", "open_stores", "space_dir"]


class Stores:
    """The stores of one installation (``database`` is None for the SQLite files).

    The SQLite files are opened on first use, so that a command that only reads (``qabot ask``)
    creates no file."""

    def __init__(self, registry: Registry, cache: Callable[[], EmbeddingCache], records: Callable[[], Any],
                 database: Database | None = None) -> None:
        self.registry = registry
        self.database = database
        self._make_cache, self._make_records = cache, records
        self._cache: EmbeddingCache | None = None
        self._records: Any = None

    @property
    def cache(self) -> EmbeddingCache:
        if self._cache is None:
            self._cache = self._make_cache()
        return self._cache

    @property
    def records(self) -> Any:
        """Records or PostgresRecords: the same methods."""
        if self._records is None:
            self._records = self._make_records()
        return self._records

    def close(self) -> None:
        if self.database is not None:
            self.database.close()


def local_stores(root: Path) -> Stores:
    """The SQLite files of one machine: generations, cache.sqlite and bot.sqlite in ``root``."""
    return Stores(LocalRegistry(root), lambda: EmbeddingCache(root / "cache.sqlite"),
                  lambda: Records(root / "bot.sqlite"))


def postgres_stores(database: Database, root: Path) -> Stores:
    """PostgreSQL for what is shared; generations stay local files under ``root``."""
    from bot.db.cache import PostgresEmbeddingCache
    from bot.db.records import PostgresRecords

    return Stores(PostgresRegistry(database, root), lambda: PostgresEmbeddingCache(database),
                  lambda: PostgresRecords(database), database)


def open_stores(settings: Settings, root: Path) -> Stores:
    """The stores ``database.url`` names (connecting and migrating), else the local files."""
    if not settings.database.url:
        return local_stores(root)
    return postgres_stores(Database(settings.database.url, pool_size=settings.database.pool_size), root)
