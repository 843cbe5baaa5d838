"""The index on disk: FAISS vectors + SQLite metadata + a manifest, in atomic generations.

Layout of an index directory::

    CURRENT              name of the live generation (replaced atomically)
    gen-<time>-<rand>/   index.faiss, meta.sqlite, manifest.json
    cache.sqlite         embeddings by (model, text hash), shared by all generations
    build.lock           held while a build runs

A build writes a new generation and only then points CURRENT at it, so a crash or a
failed build leaves the previous generation serving. The only module that imports faiss.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index import derived
from index.cache import EmbeddingCache
from index.chunking import CHUNKER_VERSION
from index.embedder import Embedder, vectors_id
from index.errors import BusyError, IndexMismatchError, IndexMissingError
from index.tables import ChunkTable, Reader, SentenceTable
from index.types import Chunk, Source

FORMAT_VERSION = 2  # 2: sentences carry entities and a digest of their text
_SCHEMA = """
CREATE TABLE sources (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, location TEXT NOT NULL, title TEXT NOT NULL,
    url TEXT, publisher TEXT, date TEXT, content_hash TEXT NOT NULL, text TEXT NOT NULL,
    added_by TEXT, added_at TEXT NOT NULL, indexed_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'ok', last_error TEXT, previous_text TEXT,
    feed TEXT, pages TEXT, etag TEXT, last_modified TEXT, failures INTEGER NOT NULL DEFAULT 0, retry_at REAL
);
CREATE TABLE feeds (
    url TEXT PRIMARY KEY, id TEXT NOT NULL, title TEXT NOT NULL, etag TEXT, last_modified TEXT,
    refreshed_at TEXT, status TEXT NOT NULL DEFAULT 'ok', last_error TEXT, added_by TEXT, added_at TEXT NOT NULL,
    items TEXT
);
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY, source_id TEXT NOT NULL REFERENCES sources(id),
    section TEXT, paragraph INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    role TEXT NOT NULL
);
CREATE TABLE sentences (
    row INTEGER PRIMARY KEY, source_id TEXT NOT NULL, chunk_id INTEGER NOT NULL REFERENCES chunks(id),
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, role TEXT NOT NULL,
    speakers TEXT NOT NULL, is_quote INTEGER NOT NULL, entities TEXT NOT NULL, digest TEXT NOT NULL
);
"""


def utc_now() -> str:
    """The time now, as stored in the index (ISO 8601, UTC, seconds)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class SourceEntry:
    """A source as the index holds it, with its registry fields."""

    source: Source
    added_by: str | None = None
    added_at: str = field(default_factory=utc_now)
    indexed_at: str = field(default_factory=utc_now)
    status: str = "ok"
    last_error: str | None = None
    previous_text: str | None = None
    etag: str | None = None  # HTTP validators of the last fetch, for conditional requests
    last_modified: str | None = None
    failures: int = 0  # failed refreshes in a row; the next attempt waits (see bot.retry)
    retry_at: float | None = None  # seconds since the epoch before which it is not fetched again


@dataclass(frozen=True)
class FeedEntry:
    """An RSS/Atom feed a space follows; its items are sources with ``feed`` set to its URL."""

    url: str
    id: str
    title: str
    etag: str | None = None
    last_modified: str | None = None
    refreshed_at: str | None = None
    status: str = "ok"
    last_error: str | None = None
    added_by: str | None = None
    added_at: str = field(default_factory=utc_now)
    items: str | None = None  # JSON kept by the application: items failed, duplicated or removed


@contextlib.contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Hold the directory's build lock, or raise BusyError if another build has it."""
    index_dir.mkdir(parents=True, exist_ok=True)
    fh = (index_dir / "build.lock").open("a+")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BusyError("A reindex is already running; try again when it has finished.") from None
        yield
    finally:
        fh.close()


GENERATION_NAME = re.compile(r"gen-\d{8}T\d{6}-[0-9a-f]{6,32}")  # what write_generation names them
MAX_POINTER_BYTES = 256


def current_generation(index_dir: Path) -> Path | None:
    """The live generation directory, or None if there is no index yet.

    CURRENT must name a generation (``gen-<time>-<id>``, a directory directly inside the index
    directory): anything else is damage, refused with IndexMismatchError, never followed.
    """
    pointer = index_dir / "CURRENT"
    rebuild = f"Rebuild it with `qabot index --rebuild --index-dir {index_dir}`."
    try:
        with pointer.open("rb") as fh:
            raw = fh.read(MAX_POINTER_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise IndexMismatchError(f"The index pointer {pointer} cannot be read ({exc.strerror}). {rebuild}") from None
    name = raw.decode("ascii", "replace").strip()
    if not GENERATION_NAME.fullmatch(name):
        shown = name[:40] if name.isascii() and name.isprintable() else "unreadable"
        raise IndexMismatchError(f"The index pointer {pointer} is damaged ({shown or 'empty'}): it names no "
                                 f"generation. {rebuild}")
    return index_dir / name


def live_generation(index_dir: Path) -> Path | None:
    """The live generation, or None when there is none or CURRENT is damaged (for repairs)."""
    try:
        return current_generation(index_dir)
    except IndexMismatchError:
        return None


def index_exists(index_dir: Path) -> bool:
    """True if the directory has a live generation pointer (readable or damaged: a damaged one
    is an index to repair, not a missing one to replace with the default sources)."""
    return (index_dir / "CURRENT").is_file()


@dataclass(frozen=True)
class BuildInput:
    """One source's entry plus its chunks, already annotated with speakers."""

    entry: SourceEntry
    chunks: list[Chunk]


def text_digest(text: str) -> str:
    """sha256 of a sentence's text, stored at index time and checked before it is quoted."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def embedding_text(text: str, speakers: tuple[str, ...]) -> str:
    """What is embedded for a sentence: its speaker first when the sentence does not name them."""
    if speakers and speakers[0].split()[-1].lower() not in text.lower():
        return f"{speakers[0]}: {text}"
    return text


# HNSW (past ``approximate_from`` sentences): neighbours per node, and how widely a search looks.
# Recall@10 against exact search on real e5 vectors: bench/recall.py, docs/benchmarks.md.
HNSW_NEIGHBOURS = 32
HNSW_BUILD_DEPTH = 80
HNSW_SEARCH_DEPTH = 512


def _vector_index(vectors: np.ndarray, dimension: int, approximate_from: int) -> Any:
    """Exact inner-product search, or an HNSW graph over the same vectors for a large index."""
    import faiss

    index: Any
    if approximate_from and len(vectors) >= approximate_from:
        index = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_BUILD_DEPTH
    else:
        index = faiss.IndexFlatIP(dimension)
    if len(vectors):
        index.add(vectors)
    return index


def write_generation(
    index_dir: Path,
    inputs: list[BuildInput],
    embedder: Embedder,
    *,
    attribution_version: str,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    cache_path: Path | None = None,
    feeds: list[FeedEntry] | None = None,
    approximate_from: int = 0,
    cache: EmbeddingCache | None = None,
    stamp: dict[str, object] | None = None,
) -> dict[str, object]:
    """Write a complete new generation and make it current. Caller holds build_lock.

    ``cache_path``: the embedding cache (default: the directory's own); spaces share one.
    ``cache``: an embedding cache object instead (one kept elsewhere, e.g. in PostgreSQL).
    ``stamp``: more fields for the manifest (what the generation was built from).
    ``approximate_from``: from this many sentences on, search through an HNSW graph (0: never).
    """
    import faiss

    feeds = feeds or []
    index_dir.mkdir(parents=True, exist_ok=True)
    gen = index_dir / f"gen-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"
    tmp = gen.with_name(gen.name + ".partial")
    tmp.mkdir()
    try:
        db = sqlite3.connect(tmp / "meta.sqlite")
        db.executescript(_SCHEMA)
        texts: list[str] = []
        chunk_id = 0
        now = utc_now()
        for item in inputs:
            entry, src = item.entry, item.entry.source
            db.execute(
                f"INSERT INTO sources ({', '.join(_SOURCE_COLUMNS)}) VALUES ({','.join('?' * len(_SOURCE_COLUMNS))})",
                (src.id, src.kind, src.location, src.title, src.url, src.publisher, src.date,
                 src.content_hash, src.text, entry.added_by, entry.added_at, now,
                 entry.status, entry.last_error, entry.previous_text, src.feed,
                 json.dumps(list(src.pages)) if src.pages else None, entry.etag, entry.last_modified,
                 entry.failures, entry.retry_at),
            )
            for chunk in item.chunks:
                chunk_id += 1
                db.execute(
                    "INSERT INTO chunks VALUES (?,?,?,?,?,?,?)",
                    (chunk_id, src.id, chunk.section, chunk.paragraph, chunk.start, chunk.end, chunk.role),
                )
                for sent in chunk.sentences:
                    db.execute(
                        "INSERT INTO sentences VALUES (?,?,?,?,?,?,?,?,?,?)",
                        (len(texts), src.id, chunk_id, sent.start, sent.end, chunk.role,
                         json.dumps(list(sent.speakers)), int(sent.is_quote),
                         json.dumps([list(e) for e in sent.entities]), text_digest(sent.text)),
                    )
                    texts.append(embedding_text(sent.text, sent.speakers))
        for feed in feeds:
            db.execute(
                "INSERT INTO feeds VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (feed.url, feed.id, feed.title, feed.etag, feed.last_modified, feed.refreshed_at, feed.status,
                 feed.last_error, feed.added_by, feed.added_at, feed.items),
            )
        db.commit()
        db.close()
        if on_total:
            on_total(len(texts))
        cache = cache or EmbeddingCache(cache_path or index_dir / "cache.sqlite")
        vectors, computed = cache.embed(embedder, texts, progress)
        faiss_index = _vector_index(vectors, embedder.dimension, approximate_from)
        faiss.write_index(faiss_index, str(tmp / "index.faiss"))
        manifest: dict[str, object] = {
            "format": FORMAT_VERSION,
            "model": embedder.name,
            "vectors": vectors_id(embedder),
            "dimension": embedder.dimension,
            "normalized": True,
            "metric": "inner_product",
            "search": "hnsw" if hasattr(faiss_index, "hnsw") else "exact",
            "chunker_version": CHUNKER_VERSION,
            "attribution_version": attribution_version,
            "counts": {"sources": len(inputs), "chunks": chunk_id, "sentences": len(texts), "feeds": len(feeds)},
            "embedded": computed,
            "built_at": now,
            "files": {name: _sha256(tmp / name) for name in ("index.faiss", "meta.sqlite")},
            **(stamp or {}),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
        for name in ("index.faiss", "meta.sqlite", "manifest.json"):
            with (tmp / name).open("rb") as fh:
                os.fsync(fh.fileno())
        tmp.rename(gen)
        _fsync_dir(index_dir)
        _point_current(index_dir, gen.name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if live_generation(index_dir) != gen:
            shutil.rmtree(gen, ignore_errors=True)  # finished but never made live: an orphan
        with contextlib.suppress(OSError):
            (index_dir / "CURRENT.tmp").unlink()
        raise
    _collect_garbage(index_dir, keep=gen.name)
    return manifest


def _point_current(index_dir: Path, name: str) -> None:
    """Make generation ``name`` live: write CURRENT.tmp, fsync, rename over CURRENT."""
    pointer = index_dir / "CURRENT.tmp"
    pointer.write_text(name + "\n")
    with pointer.open("rb") as fh:
        os.fsync(fh.fileno())
    os.replace(pointer, index_dir / "CURRENT")
    _fsync_dir(index_dir)


def _built(gen: Path) -> tuple[str, int]:
    """When a generation was written: its name's time, then its manifest's (two in one second)."""
    try:
        return gen.name[:19], (gen / "manifest.json").stat().st_mtime_ns
    except OSError:
        return gen.name[:19], 0


def _collect_garbage(index_dir: Path, keep: str) -> None:
    """Remove old and half-written generations, keeping the live one and the one before it."""
    gens = sorted((p for p in index_dir.glob("gen-*") if p.is_dir()), key=_built)
    finished = [p for p in gens if not p.name.endswith(".partial") and p.name != keep]
    doomed = [p for p in gens if p.name.endswith(".partial")] + finished[:-1]
    for path in doomed:
        shutil.rmtree(path, ignore_errors=True)


VERIFIED = "verified.json"


def _verify(path: Path, files: dict[str, str], rebuild: str) -> None:
    """Check each file of the generation against its checksum in the manifest.

    A file is hashed the first time and again whenever its size or modification time changes;
    what was verified is noted in ``verified.json`` (hashing a large index on every start took
    seconds). Damage that leaves both unchanged goes unnoticed; ``qabot index --rebuild`` writes
    a fresh generation.
    """
    try:
        seen = json.loads((path / VERIFIED).read_text())
    except (OSError, ValueError):
        seen = {}
    if not isinstance(seen, dict):
        seen = {}
    changed = False
    for name, digest in files.items():
        file = path / name
        try:
            stat = file.stat()
        except FileNotFoundError:
            raise IndexMismatchError(f"The index file {file} is missing. {rebuild}") from None
        stamp = [digest, stat.st_size, stat.st_mtime_ns]
        if seen.get(name) == stamp:
            continue
        if _sha256(file) != digest:
            raise IndexMismatchError(f"The index file {file} is damaged (checksum mismatch). {rebuild}")
        seen[name] = stamp
        changed = True
    if changed:
        derived.write_quietly(path / VERIFIED, lambda fh: fh.write(json.dumps(seen).encode()))


class LoadedIndex:
    """A generation loaded for searching. Immutable once built; swap the object to reload."""

    def __init__(self, path: Path, expected_model: str, attribution_version: str) -> None:
        import faiss

        self.path = path
        rebuild = "Rebuild it with `qabot index --rebuild`."
        manifest_path = path / "manifest.json"
        try:
            manifest = json.loads(manifest_path.read_text())
        except FileNotFoundError:
            raise IndexMismatchError(f"The index at {path} has no manifest. {rebuild}") from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise IndexMismatchError(f"The index manifest at {path} is damaged. {rebuild}") from None
        self.manifest: dict[str, object] = manifest
        checks = [
            ("format", FORMAT_VERSION, "index format"),
            ("model", expected_model, "embedding model"),
            ("chunker_version", CHUNKER_VERSION, "chunker version"),
            ("attribution_version", attribution_version, "speaker attribution version"),
        ]
        for key, want, label in checks:
            if manifest.get(key) != want:
                raise IndexMismatchError(
                    f"The index was built with {label} {manifest.get(key)!r}, this qabot uses {want!r}. {rebuild}"
                )
        files = manifest.get("files")
        if not isinstance(files, dict):
            raise IndexMismatchError(f"The index manifest at {path} is damaged. {rebuild}")
        _verify(path, files, rebuild)
        try:
            # memory-mapped: the vectors are read from the page cache as searched, not copied in
            self.faiss = faiss.read_index(str(path / "index.faiss"), faiss.IO_FLAG_MMAP_IFC)
            if hasattr(self.faiss, "hnsw"):
                self.faiss.hnsw.efSearch = HNSW_SEARCH_DEPTH
            db = sqlite3.connect(f"file:{path / 'meta.sqlite'}?mode=ro", uri=True)
            try:
                self._load_rows(db)
            finally:
                db.close()
        except (RuntimeError, sqlite3.DatabaseError) as exc:
            raise IndexMismatchError(f"The index at {path} cannot be read ({exc}). {rebuild}") from None
        if (self.faiss.ntotal != len(self.sentences) or not self.sentences.numbered
                or self.faiss.d != manifest.get("dimension")):
            raise IndexMismatchError(f"The index at {path} is inconsistent. {rebuild}")

    def _load_rows(self, db: sqlite3.Connection) -> None:
        self.sources: dict[str, SourceEntry] = {e.source.id: e for e in _source_rows(db)}
        self.feeds: dict[str, FeedEntry] = _feed_rows(db)
        reader = Reader(self.path / "meta.sqlite")  # kept open: rows are read as questions need them
        self.chunks = ChunkTable(reader, self.sources)
        self.sentences = SentenceTable(reader, self.sources)

    def vectors(self) -> np.ndarray:
        """Every sentence vector, as a read-only view of the FAISS index's own memory (no copy)."""
        import faiss

        n, d = self.faiss.ntotal, self.faiss.d
        if n == 0:
            return np.zeros((0, d), np.float32)
        flat = faiss.downcast_index(self.faiss.storage) if hasattr(self.faiss, "hnsw") else self.faiss  # type: ignore[attr-defined]
        if not hasattr(flat, "get_xb"):  # not a flat index: its vectors must be decoded
            return np.asarray(self.faiss.reconstruct_n(0, n))
        view = faiss.rev_swig_ptr(flat.get_xb(), n * d).reshape(n, d)
        view.flags.writeable = False
        return view

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Top-k (row, cosine) by inner product of unit vectors."""
        if self.faiss.ntotal == 0:
            return []
        k = min(k, self.faiss.ntotal)
        scores, rows = self.faiss.search(np.asarray(vector, dtype=np.float32).reshape(1, -1), k)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]


def open_index(index_dir: Path, expected_model: str, attribution_version: str) -> LoadedIndex:
    """Load the live generation, with a message saying how to fix anything missing."""
    if not index_dir.exists():
        raise IndexMissingError(
            f"There is no index at {index_dir}. Build one with `qabot index --index-dir {index_dir}`."
        )
    gen = current_generation(index_dir)
    if gen is None:
        raise IndexMissingError(
            f"There is no index at {index_dir}. Build one with `qabot index --index-dir {index_dir}`."
        )
    if gen.is_symlink() or not gen.is_dir():
        raise IndexMismatchError(
            f"The index at {index_dir} points to a missing generation ({gen.name}). "
            "Rebuild it with `qabot index --rebuild`."
        )
    return LoadedIndex(gen, expected_model, attribution_version)


_SOURCE_COLUMNS = ("id", "kind", "location", "title", "url", "publisher", "date", "content_hash", "text",
                   "added_by", "added_at", "indexed_at", "status", "last_error", "previous_text",
                   "feed", "pages", "etag", "last_modified", "failures", "retry_at")


def _source_rows(db: sqlite3.Connection) -> list[SourceEntry]:
    """Every source row; columns added since (feeds, pages, validators) read as empty when absent."""
    present = {row[1] for row in db.execute("PRAGMA table_info(sources)")}
    columns = ", ".join(c if c in present else f"NULL AS {c}" for c in _SOURCE_COLUMNS)
    entries = []
    for row in db.execute(f"SELECT {columns} FROM sources ORDER BY added_at, id"):
        src = Source(id=row[0], kind=row[1], location=row[2], title=row[3], url=row[4], publisher=row[5],
                     date=row[6], content_hash=row[7], text=row[8], feed=row[15],
                     pages=tuple(json.loads(row[16])) if row[16] else ())
        entries.append(SourceEntry(src, row[9], row[10], row[11], row[12], row[13], row[14], row[17], row[18],
                                   int(row[19] or 0), row[20]))
    return entries


def _feed_rows(db: sqlite3.Connection) -> dict[str, FeedEntry]:
    if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'feeds'").fetchone():
        return {}  # a generation from before feeds
    present = {row[1] for row in db.execute("PRAGMA table_info(feeds)")}
    items = "items" if "items" in present else "NULL AS items"
    return {row[0]: FeedEntry(*row) for row in db.execute(
        "SELECT url, id, title, etag, last_modified, refreshed_at, status, last_error, added_by, added_at, "
        f"{items} FROM feeds ORDER BY added_at, url")}


def _read_entries(db_path: Path) -> tuple[list[SourceEntry], list[FeedEntry]]:
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        entries = _source_rows(db)
        feeds = list(_feed_rows(db).values())
    finally:
        db.close()
    for entry in entries:
        src = entry.source
        if hashlib.sha256(src.text.encode("utf-8")).hexdigest() != src.content_hash:
            raise sqlite3.DatabaseError(f"source {src.id} text does not match its hash")
    return entries, feeds


def recover_entries(index_dir: Path) -> tuple[list[SourceEntry], list[FeedEntry], str] | None:
    """The sources of the newest generation whose database is still readable.

    Used by `qabot index --rebuild` after damage: the FAISS file and manifest are
    derived data, the source texts in SQLite are what must not be lost.
    """
    live = live_generation(index_dir)
    gens = sorted((p for p in index_dir.glob("gen-*")
                   if GENERATION_NAME.fullmatch(p.name) and p.is_dir() and not p.is_symlink()),
                  key=_built, reverse=True)
    gens.sort(key=lambda p: p != live)  # the live generation first, then newest to oldest
    for gen in gens:
        found = recover_feeds_and_entries(gen)
        if found and found[0]:
            return found[0], found[1], f"the sources stored in {gen.name}"
    return None


def recover_feeds_and_entries(gen: Path) -> tuple[list[SourceEntry], list[FeedEntry]] | None:
    """A generation's sources and feeds, read from its database alone; None if unreadable."""
    try:
        return _read_entries(gen / "meta.sqlite")
    except (sqlite3.DatabaseError, OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
