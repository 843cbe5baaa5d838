"""Embeddings cached on disk by (model, text hash), and the SQLite session helper."""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from index.embedder import Embedder, vectors_id


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
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS emb (model TEXT, hash TEXT, vec BLOB, PRIMARY KEY(model, hash))"
            )

    def _connect(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return sqlite_session(self.path)

    def embed(
        self, embedder: Embedder, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> tuple[np.ndarray, int]:
        """Vectors for texts (cached or computed) and how many had to be computed."""
        key = vectors_id(embedder)
        hashes = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
        found: dict[str, np.ndarray] = {}
        with self._connect() as db:
            for i in range(0, len(hashes), 500):
                part = hashes[i : i + 500]
                marks = ",".join("?" * len(part))
                for h, blob in db.execute(
                    f"SELECT hash, vec FROM emb WHERE model = ? AND hash IN ({marks})",
                    [key, *part],
                ):
                    found[h] = np.frombuffer(blob, dtype=np.float32)
        missing = sorted({h for h in hashes if h not in found})
        cached = sum(1 for h in hashes if h in found)
        if progress and cached:
            progress(cached)
        if missing:
            by_hash = {h: t for h, t in zip(hashes, texts, strict=True)}
            todo = [by_hash[h] for h in missing]
            repeats = Counter(hashes)
            counts = [repeats[h] for h in missing]  # (hashes.count per text was quadratic: hours at 10k articles)
            done = 0

            def step(n: int) -> None:
                nonlocal done
                if progress:
                    progress(sum(counts[done : done + n]))
                done += n

            vectors = embedder.embed(todo, step)
            with self._connect() as db:
                db.executemany(
                    "INSERT OR REPLACE INTO emb VALUES (?, ?, ?)",
                    [(key, h, v.astype(np.float32).tobytes()) for h, v in zip(missing, vectors, strict=True)],
                )
            found.update(zip(missing, vectors, strict=True))
        dim = embedder.dimension
        matrix = np.vstack([found[h] for h in hashes]) if hashes else np.zeros((0, dim), np.float32)
        return matrix.astype(np.float32, copy=False), len(missing)
