"""Each named feature on a small article, through the same FeatureContext the ranking builds."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.reading import read_paths
from bot.service import QAService
from index import features
from index.features import DecisionContext, FeatureContext, Unseen, decision_features
from index.features import ranking as f
from index.question import analyse
from index.retriever import Retriever
from index.speakers import load_parser

ARTICLE = (
    "Port strike ends\n\n"
    "Dockworkers in Halbrook ended a nine-day strike on Tuesday after the union accepted a pay offer.\n\n"
    "“This is a fair deal,” union leader Priya Raman said.\n\n"
    "She added that 2,400 members had voted.\n\n"
    "Ships queue outside the harbour [Photo: Jan Roe]\n"
)


@pytest.fixture
def retriever(fake_service: QAService, tmp_path: Path) -> Retriever:
    (tmp_path / "port.txt").write_text(ARTICLE, encoding="utf-8")
    fake_service.catalog.build(read_paths([tmp_path / "port.txt"]))
    return fake_service.answerer().retriever


def _row(r: Retriever, start: str) -> int:
    return next(s.row for s in r.state.sentences if s.text.startswith(start))


def _pool(r: Retriever, question: str, speakers: frozenset[str] = frozenset()) -> FeatureContext:
    rows = [s.row for s in r.state.sentences]
    return FeatureContext(analyse(question, load_parser()), r.state, {row: 0.5 + 0.1 * (row % 3) for row in rows},
                {row: float(row) for row in rows}, {rows[-1]}, speakers)


def test_scores_read_from_the_pool(retriever: Retriever) -> None:
    pool = _pool(retriever, "When did the strike end?")
    best = max(pool.dense, key=lambda row: pool.dense[row])
    assert f.dense(pool, best) == pytest.approx(pool.best_dense)
    assert f.dense_gap(pool, best) == 0.0 and min(f.dense_gap(pool, r) for r in pool.dense) < 0
    top_lexical = max(pool.lexical, key=lambda row: pool.lexical[row])
    assert f.bm25(pool, top_lexical) == 1.0


def test_coverage_counts_the_questions_words_and_rare_words_weigh_more(retriever: Retriever) -> None:
    pool = _pool(retriever, "Did the dockworkers in Halbrook end the strike?")
    lead = _row(retriever, "Dockworkers")
    assert f.coverage(pool, lead) == 1.0 and f.idf_coverage(pool, lead) == 1.0
    assert f.coverage(pool, _row(retriever, "She added")) == 0.0


def test_answer_type_wants_an_entity_of_the_asked_kind_the_question_lacks(retriever: Retriever) -> None:
    when = _pool(retriever, "When did the strike end?")
    assert f.answer_type(when, _row(retriever, "Dockworkers")) == 1.0  # "Tuesday", a DATE
    assert f.answer_type(when, _row(retriever, "“This")) == 0.0
    asked = _pool(retriever, "What happened on Tuesday?")  # no type expected
    assert f.answer_type(asked, _row(retriever, "Dockworkers")) == 0.0


def test_counts_for_how_many(retriever: Retriever) -> None:
    pool = _pool(retriever, "How many members voted?")
    assert f.counts(pool, _row(retriever, "She added")) == 1.0  # "2,400 members"
    assert f.counts(pool, _row(retriever, "Dockworkers")) == 0.0  # counts days, not members


def test_speaker_quote_names_context_furniture(retriever: Retriever) -> None:
    quote_row, added = _row(retriever, "“This"), _row(retriever, "She added")
    said = retriever.state.sentences[quote_row].speakers
    assert said and "Raman" in said[0]
    pool = _pool(retriever, "What did Priya Raman say?", frozenset(said[:1]))
    assert f.speaker(pool, quote_row) == 1.0 and f.speaker(pool, _row(retriever, "Dockworkers")) == 0.0
    assert f.quote(pool, quote_row) == 1.0 and f.quote(pool, added) == 0.0
    assert f.names(pool, quote_row) == 1.0 and f.names(pool, _row(retriever, "Dockworkers")) == 0.0
    assert f.names(pool, added) == 1.0  # "She" is Raman: her name is carried from the sentence before
    caption = _row(retriever, "Ships queue")
    assert f.furniture(pool, caption) == 1.0 and f.furniture(pool, added) == 0.0
    assert f.context(pool, caption) == 1.0 and f.context(pool, added) == 0.0  # as the pool says


def test_joint_needs_both_people(retriever: Retriever) -> None:
    pool = _pool(retriever, "What did Raman and Okafor agree?")
    assert all(f.joint(pool, row) == 0.0 for row in pool.dense)  # no Okafor here


def test_every_feature_is_named_and_the_answer_features_describe_the_best(retriever: Retriever) -> None:
    pool = _pool(retriever, "How many members voted?")
    row = _row(retriever, "She added")
    values = features.ranking_features(pool, row)
    assert list(values) == list(features.RANKING)
    signals = decision_features(DecisionContext(pool.question, [2.0, 1.5], values, 0.1, Unseen(0.0, 0.0, False)))
    assert list(signals) == list(features.DECISION)
    assert signals["margin"] == 0.5 and signals["count_missing"] == 0.0 and signals["all_unseen"] == 0.0
    unseen = decision_features(DecisionContext(pool.question, [1.0], {}, 0.0, Unseen(0.5, 1.0, True), 0.9, True))
    assert unseen["count_missing"] == 1.0 and unseen["all_unseen"] == 1.0 and unseen["unknown_kind"] == 1.0
    assert unseen["missing_rarity"] == 0.9 and unseen["negation"] == 1.0
