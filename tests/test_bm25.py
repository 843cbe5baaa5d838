"""Our BM25 gives the scores bm25s gives (the fitted weights were learned on those)."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from bot.service import bundled_source
from index.bm25 import BM25
from index.chunking import chunk_source
from index.query import tokenize, tokenize_with_pairs


@pytest.fixture(scope="module")
def docs() -> list[list[str]]:
    src = bundled_source()
    sentences = [s.text for c in chunk_source(src.id, src.text) for s in c.sentences]
    return [tokenize_with_pairs(s) or ["_"] for s in sentences]


@pytest.mark.parametrize("question", [
    "What did Scholz say?", "Where will the US relocate its embassy?", "What did Putin and Lavrov discuss?",
    "nato nato membership", "words no sentence holds at all",
])
def test_scores_equal_bm25s(docs: list[list[str]], question: str) -> None:
    bm25s = pytest.importorskip("bm25s")
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    reference = bm25s.BM25()
    reference.index(docs, show_progress=False)
    tokens = tokenize_with_pairs(question) + tokenize(question)
    known = [t for t in tokens if t in reference.vocab_dict]
    expected = reference.get_scores(known) if known else np.zeros(len(docs))
    assert np.allclose(BM25(docs).get_scores(tokens), expected, atol=1e-5)


def test_an_empty_index_scores_nothing() -> None:
    assert BM25([]).get_scores(["x"]).shape == (0,)


def test_postings_keep_each_terms_rows_and_values_through_a_pickle() -> None:
    import pickle

    from index.postings import Postings

    saved = Postings({"a": [0, 2, 5], "b": [], "c": [1]}, {"a": [0.5, 1.0, 2.0], "b": [], "c": [3.0]})
    back = pickle.loads(pickle.dumps(saved))
    assert back.get("a") == [0, 2, 5] and back.get("b") == [] and back.get("c") == [1]
    assert back.get("unknown", None) is None and "b" in back and "unknown" not in back and len(back) == 3
    assert back.values[back.span("a")].tolist() == [0.5, 1.0, 2.0]
    assert back.values[back.span("c")].tolist() == [3.0]
    assert back.rows[back.span("unknown")].tolist() == []
    assert Postings({"x": [4, 7]}).get("x") == [4, 7]  # rows only


def test_common_words_kept_dense_give_the_same_scores(docs: list[list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    from index import bm25

    scattered = BM25(docs)
    monkeypatch.setattr(bm25, "DENSE_FROM", 1)  # so this small article has some dense words
    dense = BM25(docs)
    assert dense.dense and not scattered.dense and len(dense.dense) < len(dense.postings)
    for question in ["What did Scholz say?", "Russia Ukraine NATO talks", "the the said said"]:
        tokens = tokenize_with_pairs(question) + tokenize(question)
        assert np.array_equal(dense.get_scores(tokens), scattered.get_scores(tokens))
    mixed = tokenize("Russia said Lviv embassy")
    assert {t in dense.dense for t in mixed} == {True, False}  # both ways in one question
    assert np.array_equal(dense.get_scores(mixed), scattered.get_scores(mixed))
