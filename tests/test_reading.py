"""The reader in the answer core: it reads the ranker's top candidates, the reranker orders
them with its log-odds, and the decision, --explain and the JSON show what it read."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bot.reading import read_paths
from bot.render import render_explanation
from bot.service import QAService
from index.answer import Answerer
from index.answering.rank import rank
from index.features import DECISION, RANKING, RERANKING
from index.model import AnswerModel, Linear, load_model
from index.question import analyse
from index.reader import Reader

TEXT = (
    "Harbour works\n\n"
    "The council met on Tuesday to discuss the harbour.\n\n"
    "The new breakwater will cost 4.2 million euros, the council said.\n\n"
    "Work on the breakwater starts in March and ends in 2027.\n\n"
    "Fishing boats will use the north quay while the work goes on.\n"
)


class Spy(Reader):
    """The shipped reader, recording what it was asked to read."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, list[tuple[str, str]]]] = []

    def logits(self, question: str, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        self.calls.append((question, list(pairs)))
        return super().logits(question, pairs)


def _answerer(service: QAService, tmp_path: Path, model: AnswerModel) -> tuple[Answerer, Spy]:
    (tmp_path / "harbour.txt").write_text(TEXT, encoding="utf-8")
    service.catalog.build(read_paths([tmp_path / "harbour.txt"]))
    retriever = service.answerer().retriever
    spy = Spy()
    retriever.reader = spy
    return Answerer(retriever, service.answerer().settings, model), spy


def _reading(n: int) -> AnswerModel:
    """The shipped model reading n candidates, ranked by the reader alone."""
    return dataclasses.replace(load_model(), reranker=Linear({"reader": 1.0}), reader_candidates=n, threshold=0.0)


def test_the_top_candidates_are_read_with_the_sentence_before_and_ordered_by_the_reader(
    fake_service: QAService, tmp_path: Path
) -> None:
    answerer, spy = _answerer(fake_service, tmp_path, _reading(3))
    question = analyse("How much will the breakwater cost?")
    r = answerer.retriever
    hits = rank(r.state, question, r.embed_query(question.text), 10, answerer.model, r.reader).hits
    (asked, pairs), = spy.calls
    assert asked == question.text and len(pairs) == 3
    read = [h for h in hits if "reader" in h.features]
    assert hits[: len(read)] == read and len(read) == 3  # the read ones first, the rest after
    assert [h.score for h in read] == sorted((h.features["reader"] for h in read), reverse=True)
    for previous, sentence in pairs:
        row = next(h.sentence.row for h in read if h.sentence.text == sentence)
        before = r.state.sentences[row - 1].text if row else ""
        assert previous == (before if row and r.state.sentences[row - 1].source_id
                            == r.state.sentences[row].source_id else "")
    logits = Reader().logits(question.text, pairs)
    assert max(h.features["reader"] for h in read) == float(np.clip(logits.max(), -12, 12))


def test_the_decision_and_explanation_show_the_readers_score(fake_service: QAService, tmp_path: Path) -> None:
    answerer, _ = _answerer(fake_service, tmp_path, _reading(3))
    answer = answerer.ask("How much will the breakwater cost?", explain=True)
    assert answer.reader is not None and 0.0 < answer.reader < 1.0
    decision = answer.explanation["decision"]  # type: ignore[index]
    top = answer.explanation["hits"][0]["features"]["reader"]["value"]  # type: ignore[index]
    assert decision["features"]["reader_top"]["value"] == top
    assert decision["reader"] == round(answer.reader, 4) == round(1 / (1 + np.exp(-top)), 4)
    assert f"(reader {answer.reader:.3f})" in render_explanation(answer.explanation)  # type: ignore[arg-type]
    assert answer.to_json()["reader"] == round(answer.reader, 4)
    declined = Answerer(answerer.retriever, answerer.settings, dataclasses.replace(answerer.model, threshold=1.0))
    no = declined.ask("How much will the breakwater cost?")
    assert no.declined_by == "low_confidence" and no.reader == answer.reader


def test_without_reader_candidates_or_for_other_languages_nothing_is_read(
    fake_service: QAService, tmp_path: Path
) -> None:
    answerer, spy = _answerer(fake_service, tmp_path, _reading(0))
    answer = answerer.ask("How much will the breakwater cost?")
    assert not spy.calls and answer.reader is None
    other = Answerer(answerer.retriever, answerer.settings, _reading(3))
    german = other.ask("Wie viel wird der Wellenbrecher kosten?")
    assert not spy.calls and german.reader is None


def test_the_shipped_model_weighs_only_features_that_exist() -> None:
    """The reader ships off (model.json reads no candidates: docs/reader.md says why); every
    weight the shipped file holds names a feature that is computed."""
    model = load_model()
    assert set(model.ranker.weights) <= set(RANKING)
    assert set(model.decision.weights) <= set(DECISION)
    assert set(model.reranker.weights) <= set(RERANKING)
