"""Embeddings cached on disk by (model, text hash), and the SQLite session helper."""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from index.embedder import Embedder, vectors_id

PROGRESS_WINDOW = 128  # texts embedded per call and per progress step


@contextlib.contextmanager
def sqlite_session(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection that commits on success, rolls back on error, and is always closed."""
    db = sqlite3.connect(path, timeout=30)
    try:
        with db:
            yield db
    finally:
        db.close()


class EmbeddingCache:
    """Vectors keyed by (model, sha256 of text), so a rebuild embeds only new text."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS emb (model TEXT, hash TEXT, vec BLOB, PRIMARY KEY(model, hash))"
            )

    def _connect(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return sqlite_session(self.path)

    def lookup(self, key: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors of these text hashes under vectors id ``key`` (absent ones left out)."""
        found: dict[str, np.ndarray] = {}
        with self._connect() as db:
            for i in range(0, len(hashes), 500):
                part = list(hashes[i : i + 500])
                marks = ",".join("?" * len(part))
                for h, blob in db.execute(
                    f"SELECT hash, vec FROM emb WHERE model = ? AND hash IN ({marks})",
                    [key, *part],
                ):
                    found[h] = np.frombuffer(blob, dtype=np.float32)
        return found

    def store(self, key: str, vectors: Sequence[tuple[str, np.ndarray]]) -> None:
        """Keep (text hash, vector) pairs under vectors id ``key``."""
        with self._connect() as db:
            db.executemany(
                "INSERT OR REPLACE INTO emb VALUES (?, ?, ?)",
                [(key, h, v.astype(np.float32).tobytes()) for h, v in vectors],
            )

    def rows(self) -> Iterator[tuple[str, str, bytes]]:
        """Every cached (vectors id, text hash, vector bytes), for copying the cache elsewhere."""
        with self._connect() as db:
            yield from db.execute("SELECT model, hash, vec FROM emb ORDER BY model, hash")

    def count(self) -> int:
        """How many vectors are cached."""
        with self._connect() as db:
            return int(db.execute("SELECT COUNT(*) FROM emb").fetchone()[0])

    def embed(
        self, embedder: Embedder, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> tuple[np.ndarray, int]:
        """Vectors for texts (cached or computed) and how many had to be computed."""
        key = vectors_id(embedder)
        hashes = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
        found = self.lookup(key, hashes)
        # Progress goes through the texts in order, a window at a time, whether a text was cached
        # or not: the steps never tell which texts were already embedded (by another server).
        by_hash = dict(zip(hashes, texts, strict=True))
        computed: list[tuple[str, np.ndarray]] = []
        for start in range(0, len(hashes), PROGRESS_WINDOW):
            window = hashes[start : start + PROGRESS_WINDOW]
            todo = [h for h in dict.fromkeys(window) if h not in found]
            if todo:
                vectors = embedder.embed([by_hash[h] for h in todo])
                found.update(zip(todo, vectors, strict=True))
                computed.extend(zip(todo, vectors, strict=True))
            if progress:
                progress(len(window))
        if computed:
            self.store(key, computed)
        dim = embedder.dimension
        matrix = np.vstack([found[h] for h in hashes]) if hashes else np.zeros((0, dim), np.float32)
        return matrix.astype(np.float32, copy=False), len(computed)
