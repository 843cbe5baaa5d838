"""What retrieval derives from a generation's text (BM25 postings, token sets, vocabularies, idf),
kept beside the generation so a later start loads it instead of recomputing it.

The file is a cache: it is named by a key made of the generation's identity (its manifest) and the
source of every module whose rules shape it, so an upgrade of those rules or another generation
can never be served a stale one; a missing, unreadable or mismatched file is recomputed. It is
written atomically (temporary file, then rename), so concurrent readers see all of it or none.

It is data, never code: ``derived-<key>-<digest>.npz``, numeric numpy arrays plus a JSON outline
(``index.flatten``), read with ``allow_pickle=False``; ``<digest>`` is the first 128 bits of the
file's sha256. A file larger than the generation could explain, one whose digest differs, or any
failure while reading it (MemoryError included) means deriving again. (It was a pickle: anyone
who could write the data directory could run code as the bot.)
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import sys
import tempfile
import zipfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from index.flatten import flatten, unflatten

# Modules whose code decides what is derived: a change to any of them makes a new key.
_RULE_MODULES = ("index.bm25", "index.lexicon", "index.query", "index.retriever", "index.people", "index.postings",
                 "index.derived", "index.flatten")
PREFIX = "derived-"
SUFFIX = ".npz"
DIGEST_CHARS = 32
OUTLINE = "outline"  # the member holding the JSON outline, as bytes
# The most a derived file may hold: what the generation's database could explain, with room
# (10,000 articles: 0.3 GB of derived state beside 0.3 GB of SQLite).
MIN_CAP = 64 << 20
CAP_PER_DB_BYTE = 8


@cache
def _code_key() -> str:
    digest = hashlib.sha256(sys.version.encode())
    for name in _RULE_MODULES:
        module = sys.modules.get(name) or __import__(name, fromlist=["_"])
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()


def key_for(generation: Path, manifest: dict[str, object]) -> str:
    """The cache key of one generation under this code."""
    identity = json.dumps([manifest.get("built_at"), manifest.get("files"), generation.name], sort_keys=True)
    return hashlib.sha256((_code_key() + identity).encode()).hexdigest()[:20]


def cap(generation: Path) -> int:
    """The most bytes a derived file beside this generation may hold."""
    try:
        size = (generation / "meta.sqlite").stat().st_size
    except OSError:
        size = 0
    return MIN_CAP + CAP_PER_DB_BYTE * size


def load(generation: Path, key: str) -> dict[str, Any] | None:
    """The derived state saved under this key, or None (missing, damaged, too large, unreadable)."""
    try:
        return _read(generation, key)
    except Exception:  # noqa: BLE001 - MemoryError and anything else: it is only a cache
        return None


def _read(generation: Path, key: str) -> dict[str, Any] | None:
    limit = cap(generation)
    for path in sorted(generation.glob(f"{PREFIX}{key}-*{SUFFIX}")):
        digest = path.name[len(PREFIX) + len(key) + 1 : -len(SUFFIX)]
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
        if len(data) > limit or hashlib.sha256(data).hexdigest()[:DIGEST_CHARS] != digest:
            continue
        with zipfile.ZipFile(io.BytesIO(data)) as archive:  # numpy's own reader trusts the sizes inside
            members = archive.infolist()
            if (any(m.compress_type != zipfile.ZIP_STORED for m in members)
                    or sum(m.file_size for m in members) > limit):
                continue
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name.removesuffix(".npy"): npz[name] for name in npz.files}
        outline = json.loads(arrays.pop(OUTLINE).tobytes().decode("utf-8"))
        return unflatten(outline, arrays)
    return None


def save(generation: Path, key: str, state: dict[str, Any]) -> None:
    """Keep the state for the next start; any failure (read-only, disk full) only loses the cache."""
    outline, arrays = flatten(state)
    if OUTLINE in arrays:
        raise ValueError(f"{OUTLINE} is reserved")
    buffer = io.BytesIO()
    members: dict[str, Any] = {**arrays, OUTLINE: np.frombuffer(json.dumps(outline).encode("utf-8"), dtype=np.uint8)}
    np.savez(buffer, **members)
    data = buffer.getbuffer()
    target = generation / f"{PREFIX}{key}-{hashlib.sha256(data).hexdigest()[:DIGEST_CHARS]}{SUFFIX}"
    if write_quietly(target, lambda fh: fh.write(data)):
        for old in generation.glob(f"{PREFIX}*"):  # older keys, and pickles of earlier versions
            if old != target:
                with contextlib.suppress(OSError):
                    old.unlink()


def write_quietly(target: Path, write: Callable[[BinaryIO], object]) -> bool:
    """Write a file kept beside a generation atomically (a temporary file, then a rename), so
    readers see all of it or none. A read-only or full disk only means it is not kept: False."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            return False
        raise
    return True
