"""What retrieval derives from the text is kept beside the generation and loaded, never stale."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.service import QAService
from index import derived
from index.retriever import Retriever
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
    assert len(list(generation.glob("derived-*.pkl"))) == 1

    def no_recompute(self: Retriever) -> dict[str, object]:
        raise AssertionError("derived state recomputed although it was saved")

    monkeypatch.setattr(Retriever, "_derive", no_recompute)
    assert _answers(_fresh(built_fake_service)) == first


def test_a_damaged_file_or_other_code_means_recomputing(
    built_fake_service: QAService, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _answers(built_fake_service)
    generation: Path = built_fake_service.loaded().path
    (saved,) = generation.glob("derived-*.pkl")
    saved.write_bytes(b"not a pickle")
    assert _answers(_fresh(built_fake_service)) == first
    assert saved.read_bytes() != b"not a pickle"  # rewritten

    monkeypatch.setattr(derived, "_code_key", lambda: "rules changed")
    assert _answers(_fresh(built_fake_service)) == first
    (now,) = generation.glob("derived-*.pkl")  # the old key's file is gone, the new one saved
    assert now.name != saved.name


def test_each_generation_has_its_own(built_fake_service: QAService) -> None:
    built_fake_service.ask("What did Scholz say?")
    old = built_fake_service.loaded().path
    built_fake_service.build(built_fake_service.configured_sources())
    built_fake_service.ask("What did Scholz say?")
    new = built_fake_service.loaded().path
    assert new != old
    assert {p.name for p in new.glob("derived-*.pkl")} != {p.name for p in old.glob("derived-*.pkl")}
