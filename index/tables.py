"""The sentences and passages of a loaded generation, read from its SQLite file when used.

Reading every row at start-up and turning it into a record cost about a second per 90,000
sentences, paid on every start, while a question reads a few hundred. So a loaded generation
keeps its ``meta.sqlite`` open (read-only; a generation never changes) and makes a record the
first time a row is asked for, then keeps it (up to ``index.postings.KEEP`` records).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, overload

from index.postings import Kept
from index.types import ChunkRecord, SentenceRecord, Source

_SENTENCE = 'SELECT row, source_id, chunk_id, start, "end", role, speakers, is_quote, entities, digest FROM sentences'
_CHUNK = 'SELECT id, source_id, section, paragraph, start, "end", role FROM chunks'
_BATCH = 4096
R = TypeVar("R")


class _HasSource(Protocol):
    @property
    def source(self) -> Source: ...


class Reader:
    """One read-only connection to a generation's metadata, shared by threads one query at a time."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        self._lock = threading.Lock()

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _names(column: str) -> tuple[str, ...]:
    return () if column == "[]" else tuple(json.loads(column))


def _entities(column: str) -> tuple[tuple[str, str], ...]:
    return () if column == "[]" else tuple((str(label), str(value)) for label, value in json.loads(column))


class _Records(Generic[R]):
    """What both tables share: the reader, the sources' texts and the records made so far."""

    _select = ""  # SELECT <columns> FROM <table>
    _key = ""  # the column a record is found by

    def __init__(self, reader: Reader, sources: Mapping[str, _HasSource]) -> None:
        self._reader = reader
        self._sources = sources
        self._made: Kept[R] = Kept()

    def _make(self, columns: tuple[Any, ...]) -> R:
        raise NotImplementedError

    def _one(self, key: int) -> R | None:
        """The record with this key (made once, then kept: see ``index.postings.Kept``), or None."""
        made = self._made.get(key)
        if made is None:
            found = self._reader.query(f"{self._select} WHERE {self._key} = ?", (key,))
            if not found:
                return None
            made = self._made.keep(key, self._make(found[0]))
        return made

    def _all(self, where: str = "", args: tuple[Any, ...] = ()) -> list[R]:
        """Records in key order, read in one query (those made here are not kept)."""
        rows = self._reader.query(f"{self._select} {where} ORDER BY {self._key}", args)
        return [self._made.get(columns[0]) or self._make(columns) for columns in rows]


class SentenceTable(_Records[SentenceRecord], Sequence[SentenceRecord]):
    """Every sentence of the generation by row (its position in the FAISS index)."""

    _select = _SENTENCE
    _key = "row"

    def __init__(self, reader: Reader, sources: Mapping[str, _HasSource]) -> None:
        super().__init__(reader, sources)
        ((self._count, last),) = reader.query("SELECT COUNT(*), MAX(row) FROM sentences")
        self.numbered = self._count == 0 or last == self._count - 1  # rows are 0 .. n-1

    def __len__(self) -> int:
        return int(self._count)

    def _make(self, columns: tuple[Any, ...]) -> SentenceRecord:
        row, sid, cid, start, end, role, speakers, quote, entities, digest = columns
        text = self._sources[sid].source.text[start:end]
        return SentenceRecord(row, sid, cid, start, end, text, role, _names(speakers), bool(quote),
                              _entities(entities), digest)

    @overload
    def __getitem__(self, row: int) -> SentenceRecord: ...

    @overload
    def __getitem__(self, row: slice) -> list[SentenceRecord]: ...

    def __getitem__(self, row: int | slice) -> SentenceRecord | list[SentenceRecord]:
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(len(self)))]
        made = self._one(row + len(self) if row < 0 else row)
        if made is None:
            raise IndexError(row)
        return made

    def __iter__(self) -> Iterator[SentenceRecord]:
        """In row order, read in batches (what is made here is not kept: a full pass is rare)."""
        for first in range(0, len(self), _BATCH):
            yield from self._all("WHERE row >= ? AND row < ?", (first, first + _BATCH))


class ChunkTable(_Records[ChunkRecord], Mapping[int, ChunkRecord]):
    """Every passage of the generation by id."""

    _select = _CHUNK
    _key = "id"

    def __init__(self, reader: Reader, sources: Mapping[str, _HasSource]) -> None:
        super().__init__(reader, sources)
        # read now, at load: listing sources (also from Discord's event loop) must not touch disk
        per_source = reader.query("SELECT source_id, COUNT(*) FROM chunks GROUP BY 1")
        self._counts = {str(sid): int(n) for sid, n in per_source}
        self._count = sum(self._counts.values())

    def __len__(self) -> int:
        return int(self._count)

    def __iter__(self) -> Iterator[int]:
        return (int(cid) for (cid,) in self._reader.query("SELECT id FROM chunks ORDER BY id"))

    def _make(self, columns: tuple[Any, ...]) -> ChunkRecord:
        cid, sid, section, paragraph, start, end, role = columns
        return ChunkRecord(cid, sid, section, paragraph, start, end, role, self._sources[sid].source.text[start:end])

    def __getitem__(self, cid: int) -> ChunkRecord:
        made = self._one(cid)
        if made is None:
            raise KeyError(cid)
        return made

    def records(self) -> Iterator[ChunkRecord]:
        """Every passage in id order, read in one pass."""
        return iter(self._all())

    def of_source(self, source_id: str) -> list[ChunkRecord]:
        """The source's passages in reading order."""
        return [self._make(columns)
                for columns in self._reader.query(f"{_CHUNK} WHERE source_id = ? ORDER BY start", (source_id,))]

    def counts(self) -> dict[str, int]:
        """Passages per source (held in memory)."""
        return dict(self._counts)
