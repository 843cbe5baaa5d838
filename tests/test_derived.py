"""What retrieval derives from the text is kept beside the generation and loaded, never stale."""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from bot.service import QAService
from index import derived
from index.query import tokenize
from index.search import state as retrieval_state
from index.search.state import DERIVED
from index.store import LoadedIndex
from tests.conftest import FakeEmbedder

QUESTIONS = ["What did Scholz say?", "Where will the US relocate its embassy?", "What did Merkel say?"]


def _answers(service: QAService) -> list[tuple[str, bool]]:
    return [(a.answer, a.found) for a in map(service.ask, QUESTIONS)]


def _fresh(built: QAService) -> QAService:
    return QAService(built.settings, built.index_dir, embedder=FakeEmbedder())


def test_a_second_start_loads_the_derived_state_instead_of_recomputing(
    built_fake_service: QAService, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _answers(built_fake_service)
    generation = built_fake_service.loaded().path
    assert len(list(generation.glob("derived-*.arrays"))) == 1

    def no_recompute(index: object) -> retrieval_state.Derived:
        raise AssertionError("derived state recomputed although it was saved")

    monkeypatch.setattr(retrieval_state, "derive", no_recompute)
    assert _answers(_fresh(built_fake_service)) == first


def test_a_damaged_file_or_other_code_means_recomputing(
    built_fake_service: QAService, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _answers(built_fake_service)
    generation: Path = built_fake_service.loaded().path
    (saved,) = generation.glob("derived-*.arrays")
    saved.write_bytes(b"not an archive")
    assert _answers(_fresh(built_fake_service)) == first
    assert saved.read_bytes() != b"not an archive"  # rewritten

    monkeypatch.setattr(derived, "_code_key", lambda: "rules changed")
    assert _answers(_fresh(built_fake_service)) == first
    (now,) = generation.glob("derived-*.arrays")  # the old key's file is gone, the new one saved
    assert now.name != saved.name


def test_each_generation_has_its_own(built_fake_service: QAService) -> None:
    built_fake_service.ask("What did Scholz say?")
    old = built_fake_service.loaded().path
    built_fake_service.catalog.build(built_fake_service.catalog.configured_sources())
    built_fake_service.ask("What did Scholz say?")
    new = built_fake_service.loaded().path
    assert new != old
    assert {p.name for p in new.glob("derived-*.arrays")} != {p.name for p in old.glob("derived-*.arrays")}


def _same(a: object, b: object) -> bool:
    """Equal values, looking inside numpy arrays and the BM25 / Postings objects."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and np.array_equal(a, b))
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        assert isinstance(b, dict)
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        assert isinstance(b, list)
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if hasattr(a, "__dict__"):
        return _same(vars(a), vars(b))
    return a == b


def test_the_saved_state_reads_back_identical_and_scores_the_same(built_fake_service: QAService) -> None:
    retriever = built_fake_service.answerer().retriever
    generation = retriever.index.path
    derived_now = retrieval_state.derive(retriever.index)
    state = {name: getattr(derived_now, name) for name in DERIVED}
    key = derived.key_for(generation, retriever.index.manifest)
    derived.save(generation, key, state)
    again = derived.load(generation, key)
    assert again is not None and set(again) == set(DERIVED)
    for name in DERIVED:
        assert _same(state[name], again[name]), name
    fresh = _fresh(built_fake_service).answerer().retriever  # loaded from the file
    for question in QUESTIONS:
        tokens = tokenize(question)
        assert np.array_equal(fresh.state.derived.bm25.get_scores(tokens), retriever.state.derived.bm25.get_scores(tokens))
    def explained(service: QAService) -> list[dict[str, object]]:  # every feature, weight and score
        return [{k: v for k, v in service.ask(q, explain=True).to_json().items() if k != "timings_ms"}
                for q in QUESTIONS]

    assert explained(_fresh(built_fake_service)) == explained(built_fake_service)


class _Hostile:
    """Unpickling this writes a file: what a planted pickle would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (Path.write_text, (str(self.marker), "code ran"))  # type: ignore[return-value]


def _plant(generation: Path, name: str, data: bytes) -> Path:
    path = generation / name
    path.write_bytes(data)
    return path


def test_a_planted_pickle_is_never_run(built_fake_service: QAService, tmp_path: Path) -> None:
    first = _answers(built_fake_service)
    generation = built_fake_service.loaded().path
    key = derived.key_for(generation, built_fake_service.loaded().manifest)
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"antecedent": _Hostile(marker)})
    digest = hashlib.sha256(payload).hexdigest()[:32]
    for old in generation.glob("derived-*"):
        old.unlink()
    _plant(generation, f"derived-{key}.pkl", payload)  # the name earlier versions loaded
    _plant(generation, f"derived-{key}-{digest}{derived.SUFFIX}", payload)  # a pickle under the new name
    assert _answers(_fresh(built_fake_service)) == first
    assert not marker.exists()
    # the new layout, its digest right, naming an array of objects (pickled): refused too
    header = json.dumps({"outline": {"antecedent": ["array", "a0"]}, "arrays": {"a0": ["|O", [1], 0]}}).encode()
    head = derived.MAGIC + len(header).to_bytes(8, "little") + header
    data = head + b"\0" * (-len(head) % derived.ALIGN) + payload
    for old in generation.glob("derived-*"):
        old.unlink()
    _plant(generation, f"derived-{key}-{hashlib.sha256(data).hexdigest()[:32]}{derived.SUFFIX}", data)
    assert derived.load(generation, key) is None
    assert _answers(_fresh(built_fake_service)) == first
    assert not marker.exists()
    assert not list(generation.glob("*.pkl"))  # a save removes earlier versions' pickles


@pytest.mark.parametrize("damage", ["truncated", "flipped", "huge", "memory"])
def test_a_damaged_or_oversized_file_means_deriving_again(
    built_fake_service: QAService, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    first = _answers(built_fake_service)
    generation = built_fake_service.loaded().path
    (saved,) = generation.glob("derived-*.arrays")
    data = saved.read_bytes()
    if damage == "truncated":
        saved.write_bytes(data[: len(data) // 2])
    elif damage == "flipped":
        saved.write_bytes(data[:-100] + bytes([data[-100] ^ 1]) + data[-99:])
    elif damage == "huge":
        with saved.open("ab") as fh:
            fh.truncate(derived.cap(generation) + 1)  # sparse: past the cap, never read whole
    else:
        def no_memory(*args: object, **kwargs: object) -> object:
            raise MemoryError
        monkeypatch.setattr(derived.np, "frombuffer", no_memory)
    derives = []
    real = retrieval_state.derive

    def counted(index: LoadedIndex) -> retrieval_state.Derived:
        derives.append(1)
        return real(index)

    monkeypatch.setattr(retrieval_state, "derive", counted)
    assert _answers(_fresh(built_fake_service)) == first
    assert derives == [1]
