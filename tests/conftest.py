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
from bot.reading import read_paths
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
    fake_service.catalog.build(fake_service.catalog.configured_sources())
    return fake_service


@pytest.fixture(scope="session")
def real_service(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[QAService]:
    """The real model and real FAISS over the bundled article plus two dev articles, built once."""
    from index.embedder import DEFAULT_BACKEND, make_embedder

    index_dir = tmp_path_factory.mktemp("real-index")
    embedder = make_embedder(DEFAULT_MODEL, DEFAULT_BACKEND, models_dir)
    service = QAService(Settings(), index_dir, embedder=embedder)
    sources = service.catalog.configured_sources() + read_paths([DATA / "harbour.txt", DATA / "quake.md"])
    service.catalog.build(sources)
    yield service


# -- PostgreSQL -----------------------------------------------------------------------------
# The PostgreSQL half of the store tests runs against a real server named by QABOT_TEST_POSTGRES
# (.ci/run starts one with .ci/postgres); without it those tests are skipped, saying why.
POSTGRES_URL = os.environ.get("QABOT_TEST_POSTGRES", "")
NO_POSTGRES = "QABOT_TEST_POSTGRES is not set: no PostgreSQL server for the tests (.ci/run starts one)"


def _in_schema(url: str, schema: str) -> str:
    """``url`` (postgresql://...) with ``schema`` first on its search path: each test gets empty tables."""
    from urllib.parse import quote

    return f"{url}{'&' if '?' in url else '?'}options={quote(f'-c search_path={schema}')}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty schema on the test server (dropped afterwards), as the URL to reach it."""
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    import secrets

    import psycopg

    schema = f"qabot_test_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield _in_schema(POSTGRES_URL, schema)
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """Each store test runs once per backend (postgres: skipped without a test server)."""
    if request.param == "postgres" and not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    return str(request.param)


@pytest.fixture
def stores(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    """The stores of one installation on ``backend``, under a temporary index directory."""
    from bot.db import Database, local_stores, postgres_stores

    root = tmp_path / "index"
    root.mkdir()
    if backend == "sqlite":
        yield local_stores(root)
        return
    url = request.getfixturevalue("postgres_url")
    made = postgres_stores(Database(url, pool_size=4), root)
    try:
        yield made
    finally:
        made.close()
