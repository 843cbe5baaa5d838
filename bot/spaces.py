"""Spaces: the default one and one per Discord server, each with its own sources and index.

Layout under the data directory (``index.dir``)::

    CURRENT, gen-*/        the default space (the configured sources; DMs and the CLI by default)
    cache.sqlite           embeddings, shared by every space: text is embedded once
    bot.sqlite             the bot's records (answers, feedback, audit), each row with its guild
    guilds/<guild id>/     a server's own generations, once its moderators change its sources

With ``database.url`` the registry, the cache and the records are in PostgreSQL instead (bot.db)
and the generations here are caches of it, rebuilt when missing or stale (bot.replica).

A server whose moderators never changed anything is answered from the default space, so a
hundred servers with the default article cost one index in memory. At most
``guilds.max_loaded`` server indexes stay loaded; the least recently used is unloaded first.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from pathlib import Path

from bot.building import Annotator
from bot.config import Settings
from bot.service import QAService, SourceInfo, source_rows
from index.embedder import Embedder
from index.errors import InputError
from index.speakers import annotate


def check_guild_id(guild_id: int) -> int:
    """A Discord server id (a positive snowflake), or a clear error."""
    if guild_id <= 0 or guild_id >= 1 << 64:
        raise InputError(f"{guild_id} is not a Discord server id (a positive number, e.g. 900000000000000100).")
    return guild_id


class Spaces:
    """The default space plus a bounded, thread-safe LRU of server spaces; the one owner of
    which servers have generations of their own (the others are answered from the default's)."""

    def __init__(self, default: QAService) -> None:
        self.default = default
        self.settings: Settings = default.settings
        self.root: Path = default.index_dir
        self._lock = threading.Lock()
        self._guilds: OrderedDict[int, QAService] = OrderedDict()
        stores = default.stores
        self.shared = bool(stores and stores.registry.shared)  # database.url: PostgreSQL holds the registry
        # servers with sources of their own, listed once here so that later look-ups (the
        # autocomplete on the event loop) need no disk (nor database)
        self._owned = set(stores.registry.spaces() if stores and self.shared else self._guilds_on_disk())
        self._registered = set(self._owned) if self.shared else set()
        if stores is not None and self.shared:
            default.live.registered = stores.registry.revision(None) is not None

    @classmethod
    def create(cls, settings: Settings, root: Path, embedder: Embedder | None = None,
               annotator: Annotator = annotate) -> Spaces:
        """The spaces of the stores ``database.url`` names (the SQLite files in ``root`` without it)."""
        from bot.db import open_stores

        return cls(QAService(settings, root, embedder, annotator, stores=open_stores(settings, root)))

    def guild_dir(self, guild_id: int) -> Path:
        return self.root / "guilds" / str(check_guild_id(guild_id))

    def for_guild(self, guild_id: int | None) -> QAService:
        """The space a server's questions and moderator commands act on (None: the default space)."""
        if guild_id is None:
            return self.default
        with self._lock:
            service = self._guilds.get(guild_id)
            if service is None:
                service = QAService(self.settings, self.guild_dir(guild_id),
                                    annotator=self.default.catalog.builder.annotator, base=self.default,
                                    on_own_index=functools.partial(self._seen, guild_id),
                                    stores=self.default.stores)
                service.live.space = guild_id
                service.live.registered = guild_id in self._registered
                service.background = self.default.background
                self._guilds[guild_id] = service
            self._guilds.move_to_end(guild_id)
            while len(self._guilds) > max(1, self.settings.guilds.max_loaded):
                gone, evicted = self._guilds.popitem(last=False)
                if evicted.registered:
                    self._registered.add(gone)  # its sources went to PostgreSQL while it was loaded
                evicted.unload()
            return service

    def _seen(self, guild_id: int, own: bool) -> None:
        """A server's space looked at its directory: it has generations of its own, or not yet."""
        if own:
            self._owned.add(guild_id)
        else:
            self._owned.discard(guild_id)

    def loaded_sources(self, guild_id: int | None) -> list[SourceInfo] | None:
        """The sources of the index that answers this server, if it is in memory (no disk, for
        the autocomplete on the event loop); None if it is not loaded."""
        with self._lock:
            space = self.default if guild_id is None or guild_id not in self._owned else self._guilds.get(guild_id)
        index = space.live.in_memory() if space is not None else None
        return None if index is None else source_rows(index)

    def loaded_guilds(self) -> list[int]:
        """Server spaces currently held, least recently used first."""
        with self._lock:
            return list(self._guilds)

    def with_own_index(self) -> list[int | None]:
        """The default space (None) and every server with generations of its own (reads the disk)."""
        if self.shared:
            with self._lock:
                loaded = {g for g, s in self._guilds.items() if s.registered}
                self._registered |= loaded
                return [None, *sorted(self._registered)]
        return [None, *sorted(self._guilds_on_disk())]

    def _guilds_on_disk(self) -> list[int]:
        """Servers whose directory holds a live generation (reads the disk)."""
        return [int(p.name) for p in (self.root / "guilds").glob("*") if p.name.isdigit() and (p / "CURRENT").exists()]
