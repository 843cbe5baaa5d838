"""One space's index on disk and the generation loaded from it.

A server's space is answered from the default space's index until its moderators change its
sources; from then on it has generations of its own (``index_dir``). ``LiveIndex.loaded()``
reads the live generation (its registry, vectors and tables) and nothing else: listing sources
or checking a citation never builds retrieval's state.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from bot.config import Settings
from index.embedder import Embedder, make_embedder
from index.speakers import ATTRIBUTION_VERSION
from index.store import LoadedIndex, current_generation, index_exists, open_index


class LiveIndex:
    """Where one space's generations live, and the one loaded now (reloaded when CURRENT moves)."""

    def __init__(self, settings: Settings, index_dir: Path, embedder: Embedder | None = None, *,
                 base: LiveIndex | None = None, cache_path: Path | None = None,
                 on_own_index: Callable[[bool], None] | None = None) -> None:
        self.settings = settings
        self.index_dir = index_dir
        self.base = base  # the default space's, for a server's space; None: this is the default space
        self.cache_path = cache_path or index_dir / "cache.sqlite"
        self._embedder = embedder
        self._on_own_index = on_own_index  # told, each time it is looked up, whether it answers from its own
        self._lock = threading.Lock()
        self._index: LoadedIndex | None = None

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
        return index_exists(self.index_dir)

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
