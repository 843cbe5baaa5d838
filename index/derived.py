"""What retrieval derives from a generation's text (BM25 postings, token sets, vocabularies, idf),
kept beside the generation so a later start loads it instead of recomputing it.

The file is a cache: it is named by a key made of the generation's identity (its manifest) and the
source of every module whose rules shape it, so an upgrade of those rules or another generation
can never be served a stale one; a missing, unreadable or mismatched file is recomputed. It is
written atomically (temporary file, then rename), so concurrent readers see all of it or none.
It is a pickle: the index directory is trusted exactly like the SQLite database beside it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import sys
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

# Modules whose code decides what is derived: a change to any of them makes a new key.
_RULE_MODULES = ("index.bm25", "index.lexicon", "index.query", "index.retriever", "index.people", "index.postings",
                 "index.derived")
PREFIX = "derived-"


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


def load(generation: Path, key: str) -> dict[str, Any] | None:
    """The derived state saved under this key, or None."""
    path = generation / f"{PREFIX}{key}.pkl"
    try:
        with path.open("rb") as fh:
            state = pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError, TypeError):
        return None
    return state if isinstance(state, dict) else None


def save(generation: Path, key: str, state: dict[str, Any]) -> None:
    """Keep the state for the next start; any failure (read-only, disk full) only loses the cache."""
    target = generation / f"{PREFIX}{key}.pkl"
    if write_quietly(target, lambda fh: pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)):
        for old in generation.glob(f"{PREFIX}*.pkl"):
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
