"""Shared fixtures: a deterministic fake embedder, temporary index dirs, the real model once."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from bot.config import Settings  # noqa: E402
from bot.service import QAService  # noqa: E402
from index.embedder import DEFAULT_MODEL  # noqa: E402
from index.query import tokenize  # noqa: E402

DATA = Path(__file__).parent / "data"


class FakeEmbedder:
    """Bag of hashed word vectors: texts sharing words are close. Deterministic, instant."""

    name = DEFAULT_MODEL  # stands in for the real model so manifests match
    dimension = 64

    def __init__(self) -> None:
        self.calls = 0
        self.texts_embedded = 0

    def _word(self, word: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "little")
        return np.random.default_rng(seed).standard_normal(self.dimension).astype(np.float32)

    def embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        self.calls += 1
        self.texts_embedded += len(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in tokenize(text) or ["_empty_"]:
                out[i] += self._word(word)
            out[i] /= np.linalg.norm(out[i]) or 1.0
        if progress:
            progress(len(texts))
        return out

    def embed_query(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed(texts)


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache of derived ONNX models for the whole session (deriving takes about 15 s)."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, models_dir: Path) -> None:
    """No test touches the user's real index or config."""
    monkeypatch.setenv("QABOT_INDEX_DIR", str(tmp_path / "default-index"))
    monkeypatch.setenv("QABOT_MODEL_CACHE", str(models_dir))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("QABOT_CONFIG", raising=False)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def fake_service(tmp_path: Path, fake_embedder: FakeEmbedder) -> QAService:
    """A service over a temporary index, using the fake embedder and real speaker attribution."""
    return QAService(Settings(), tmp_path / "index", embedder=fake_embedder)


@pytest.fixture
def built_fake_service(fake_service: QAService) -> QAService:
    fake_service.build(fake_service.configured_sources())
    return fake_service


@pytest.fixture(scope="session")
def real_service(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[QAService]:
    """The real model and real FAISS over the bundled article plus two dev articles, built once."""
    from index.embedder import DEFAULT_BACKEND, make_embedder

    index_dir = tmp_path_factory.mktemp("real-index")
    embedder = make_embedder(DEFAULT_MODEL, DEFAULT_BACKEND, models_dir)
    service = QAService(Settings(), index_dir, embedder=embedder)
    sources = service.configured_sources() + service.read_paths([DATA / "harbour.txt", DATA / "quake.md"])
    service.build(sources)
    yield service
