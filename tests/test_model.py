"""The fitted answer model: the shipped file loads, scores and explains; bad files fail clearly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.errors import QABotError
from index.features import ANSWER_FEATURES, ANSWER_SIGNS, RANKING
from index.model import MODEL_FILE, Linear, load_model


def test_the_shipped_model_covers_every_named_feature_with_signs_kept() -> None:
    model = load_model()
    assert set(model.ranker.weights) == set(RANKING)
    assert set(model.answerer.weights) == set(ANSWER_FEATURES)
    for name, weight in model.answerer.weights.items():
        assert weight * ANSWER_SIGNS[name] >= 0, name  # the fit kept each weight on its side
    assert 0.0 < model.threshold < 1.0
    assert model.version and model.pick_margin > 0


def test_scores_contributions_and_probability() -> None:
    linear = Linear({"dense": 2.0, "bm25": -1.0}, 0.5)
    features = {"dense": 0.8, "bm25": 0.5, "other": 9.0}
    assert linear.score(features) == pytest.approx(0.5 + 1.6 - 0.5)
    assert linear.contributions(features) == {"dense": pytest.approx(1.6), "bm25": pytest.approx(-0.5)}
    model = load_model()
    good = {name: 1.0 if ANSWER_SIGNS[name] > 0 else 0.0 for name in ANSWER_FEATURES}
    bad = {name: 0.0 if ANSWER_SIGNS[name] > 0 else 1.0 for name in ANSWER_FEATURES}
    assert model.probability(good) > model.probability(bad)


def test_ablation_zeroes_one_feature_and_unknown_names_are_refused() -> None:
    model = load_model()
    without = model.without("bm25")
    assert without.ranker.weights["bm25"] == 0.0
    assert without.ranker.weights["dense"] == model.ranker.weights["dense"]
    with pytest.raises(QABotError, match="Unknown feature 'nonsense'"):
        model.without("nonsense")


def test_a_missing_or_damaged_model_file_says_how_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(QABotError, match="missing"):
        load_model(tmp_path / "none.json")
    broken = tmp_path / "model.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(QABotError, match="damaged"):
        load_model(broken)
    data = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    data["format"] = 99
    broken.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(QABotError, match="format 99"):
        load_model(broken)


def test_the_model_file_round_trips(tmp_path: Path) -> None:
    model = load_model()
    copy = tmp_path / "model.json"
    copy.write_text(json.dumps(model.to_json()), encoding="utf-8")
    assert load_model(copy) == model
