"""One space's index on disk and the generation loaded from it.

A server's space is answered from the default space's index until its moderators change its
sources; from then on it has generations of its own (``index_dir``). ``LiveIndex.loaded()``
reads the live generation (its registry, vectors and tables) and nothing else: listing sources
or checking a citation never builds retrieval's state.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.replica import Readiness, ensure_ready
from index.embedder import Embedder, make_embedder
from index.speakers import ATTRIBUTION_VERSION
from index.store import BuildInput, LoadedIndex, SourceEntry, build_lock, current_generation, index_exists, open_index

if TYPE_CHECKING:
    from bot.db import Stores


class LiveIndex:
    """Where one space's generations live, and the one loaded now (reloaded when CURRENT moves)."""

    def __init__(self, settings: Settings, index_dir: Path, embedder: Embedder | None = None, *,
                 base: LiveIndex | None = None, cache_path: Path | None = None,
                 on_own_index: Callable[[bool], None] | None = None, stores: Stores | None = None) -> None:
        self.settings = settings
        self.index_dir = index_dir
        self.base = base  # the default space's, for a server's space; None: this is the default space
        self.cache_path = cache_path or index_dir / "cache.sqlite"
        self._embedder = embedder
        self._on_own_index = on_own_index  # told, each time it is looked up, whether it answers from its own
        self._lock = threading.Lock()
        self._index: LoadedIndex | None = None
        # Where sources, cache and records are kept (bot.db: SQLite files, or PostgreSQL shared by
        # several machines); None: this directory's own files, as the lower-level tests use.
        # (a server's space gets them from Spaces, which also tells it its ``space``)
        self.stores: Stores | None = stores
        self.space: int | None = None  # the server this space is (None: the default space); set by Spaces
        self.registered = False  # the shared registry holds sources of this space (set by Spaces)
        self.background = False  # the bot: a missing index is rebuilt in a thread (bot.replica)
        self.locked_by: int | None = None  # the thread running a change of this space now
        self.prepare: Callable[[SourceEntry], BuildInput] | None = None  # chunk and attribute (bot.building)
        self.readiness = Readiness()

    @property
    def shared(self) -> bool:
        """True with ``database.url``: the registry is PostgreSQL's, the generations its caches."""
        return bool(self.stores and self.stores.registry.shared)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Held while a change of this space runs: its build lock, and with a shared registry the
        lock every process takes for this server (BusyError if another change holds either)."""
        with self.stores.registry.lock(self.space) if self.stores else build_lock(self.index_dir):
            self.locked_by = threading.get_ident()
            try:
                yield
            finally:
                self.locked_by = None

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            if self.base is not None:
                return self.base.embedder  # one model in memory for every space
            index = self.settings.index
            self._embedder = make_embedder(index.model, index.backend, self.settings.model_cache(self.index_dir))
        return self._embedder

    @property
    def for_server(self) -> bool:
        """A Discord server's space (capped, fetching only public hosts), not the operator's default."""
        return self.base is not None

    @property
    def own_index(self) -> bool:
        """True once this space has generations of its own (always, for the default space once built)."""
        return index_exists(self.index_dir) or self.registered

    def serving(self) -> LiveIndex:
        """The space whose index answers: this one, or the default space it still shares (reads the disk)."""
        own = self.base is None or self.own_index
        if self._on_own_index is not None:
            self._on_own_index(own)
        return self if own or self.base is None else self.base

    def loaded(self) -> LoadedIndex:
        """The live generation of the serving index (loading or reloading it if CURRENT moved)."""
        serving = self.serving()
        if serving is not self:
            return serving.loaded()
        ensure_ready(self, self.readiness, loaded=self._index is not None)  # bot.replica: rebuilt if stale
        generation = current_generation(self.index_dir)
        with self._lock:
            if self._index is None or generation != self._index.path:
                self._index = open_index(self.index_dir, self.embedder.name, ATTRIBUTION_VERSION)
            return self._index

    def in_memory(self) -> LoadedIndex | None:
        """This space's own generation if it is loaded, without touching disk."""
        return self._index

    def unload(self) -> None:
        """Forget the loaded generation (the next use loads it again)."""
        with self._lock:
            self._index = None
