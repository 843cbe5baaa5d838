"""What retrieval derives from a generation's text (BM25 postings, token sets, vocabularies, idf),
kept beside the generation so a later start loads it instead of recomputing it.

The file is a cache: it is named by a key made of the generation's identity (its manifest) and the
source of every module whose rules shape it, so an upgrade of those rules or another generation
can never be served a stale one; a missing, unreadable or mismatched file is recomputed. It is
written atomically (temporary file, then rename), so concurrent readers see all of it or none.

It is data, never code: ``derived-<key>-<digest>.arrays`` holds a JSON outline of the values
(``index.flatten``) and plain numeric arrays (whose dtypes are checked against a short list), read
with ``numpy.frombuffer`` and no unpickling anywhere; ``<digest>`` is the first 128 bits of the
file's sha256. A file larger than the generation could explain, one whose digest differs, or any
failure while reading it (MemoryError included) means deriving again. (It was a pickle: anyone
who could write the data directory could run code as the bot.)

Layout: ``QADERIV1``, the header's length (8 bytes, little-endian), the header (JSON: the outline
and each array's dtype, shape and offset), then the arrays, each at an offset that is a multiple of 64.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from index.flatten import flatten, unflatten

# Modules whose code decides what is derived: a change to any of them makes a new key.
_RULE_MODULES = ("index.bm25", "index.lexicon", "index.query", "index.search.state", "index.postings",
                 "index.derived", "index.flatten")
PREFIX = "derived-"
SUFFIX = ".arrays"
DIGEST_CHARS = 32
MAGIC = b"QADERIV1"
ALIGN = 64
_DTYPES = {np.dtype(t).str: np.dtype(t) for t in ("<i4", "<i8", "<f4", "<f8", "|u1", "|b1")}  # never objects
# The most a derived file may hold: what the generation's database could explain, with room
# (1,000 articles: 60 MB beside 30 MB of SQLite; 10,000: 0.3 GB beside 0.3 GB).
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
            if os.fstat(fh.fileno()).st_size > limit:
                continue
            data = fh.read(limit + 1)  # the arrays are read-only views of these bytes, not copies
        size = len(data)
        if size > limit or hashlib.sha256(data).hexdigest()[:DIGEST_CHARS] != digest or data[:8] != MAGIC:
            continue
        length = int.from_bytes(data[8:16], "little")
        header = json.loads(memoryview(data)[16 : 16 + length].tobytes())
        base = _aligned(16 + length)
        arrays = {}
        for name, (dtype_name, shape, offset) in header["arrays"].items():
            dtype = _DTYPES[dtype_name]
            count = math.prod(shape)
            if offset < 0 or min(shape, default=0) < 0 or base + offset + count * dtype.itemsize > size:
                raise ValueError("an array outside the file")
            arrays[name] = np.frombuffer(data, dtype=dtype, count=count, offset=base + offset).reshape(shape)
        return unflatten(header["outline"], arrays)
    return None


def _aligned(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


def _pieces(state: dict[str, Any]) -> list[bytes | memoryview]:
    """The file's bytes, in pieces (the arrays' own memory, not copies)."""
    outline, arrays = flatten(state)
    layout: dict[str, list[Any]] = {}
    pieces: list[bytes | memoryview] = []
    offset = 0  # from the first array's start
    for name, array in arrays.items():
        if array.dtype.str not in _DTYPES:
            raise TypeError(f"cannot keep an array of {array.dtype}")
        layout[name] = [array.dtype.str, list(array.shape), offset]
        view = memoryview(np.ascontiguousarray(array)).cast("B")  # type: ignore[arg-type]
        pieces += [view, b"\0" * (_aligned(len(view)) - len(view))]
        offset += _aligned(len(view))
    header = json.dumps({"outline": outline, "arrays": layout}).encode("utf-8")
    head = MAGIC + len(header).to_bytes(8, "little") + header
    return [head, b"\0" * (_aligned(len(head)) - len(head)), *pieces]


def save(generation: Path, key: str, state: dict[str, Any]) -> None:
    """Keep the state for the next start; any failure (read-only, disk full) only loses the cache."""
    pieces = _pieces(state)
    digest = hashlib.sha256()
    for piece in pieces:
        digest.update(piece)
    target = generation / f"{PREFIX}{key}-{digest.hexdigest()[:DIGEST_CHARS]}{SUFFIX}"

    def write(fh: BinaryIO) -> None:
        for piece in pieces:
            fh.write(piece)

    if write_quietly(target, write):
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
