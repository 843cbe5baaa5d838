"""The embedding cache in PostgreSQL: vectors by (vectors id, text hash), shared by every process,
so that an index rebuilt on another machine embeds nothing that was embedded before."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from bot.db.postgres import Database
from index.cache import EmbeddingCache

BATCH = 1000


class PostgresEmbeddingCache(EmbeddingCache):
    """``EmbeddingCache`` with its rows in the ``embeddings`` table of ``database.url``."""

    def __init__(self, db: Database) -> None:  # no file: the table is made by the migrations
        self.db = db

    def lookup(self, key: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self.db.connection() as conn:
            for i in range(0, len(hashes), BATCH):
                for h, blob in conn.execute("SELECT hash, vec FROM embeddings WHERE model = %s AND hash = ANY(%s)",
                                            (key, list(hashes[i : i + BATCH]))):
                    found[h] = np.frombuffer(bytes(blob), dtype=np.float32)
        return found

    def store(self, key: str, vectors: Sequence[tuple[str, np.ndarray]]) -> None:
        with self.db.transaction() as conn, conn.cursor() as cur:
            cur.executemany("INSERT INTO embeddings (model, hash, vec) VALUES (%s, %s, %s) "
                            "ON CONFLICT (model, hash) DO UPDATE SET vec = excluded.vec",
                            [(key, h, v.astype(np.float32).tobytes()) for h, v in vectors])

    def rows(self) -> Iterator[tuple[str, str, bytes]]:
        with self.db.connection() as conn:
            for model, h, blob in conn.execute("SELECT model, hash, vec FROM embeddings ORDER BY model, hash"):
                yield model, h, bytes(blob)

    def count(self) -> int:
        with self.db.connection() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])
