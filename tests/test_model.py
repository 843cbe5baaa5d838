"""The fitted answer model: the shipped file loads, scores and explains; bad files fail clearly."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from index.errors import QABotError
from index.features import DECISION, FEATURES, RANKING, SIGNS
from index.model import MODEL_FILE, Linear, load_model


def test_the_shipped_model_covers_every_named_feature_with_signs_kept() -> None:
    model = load_model()
    assert set(model.ranker.weights) == set(RANKING)
    assert set(model.decision.weights) == set(DECISION)
    for name, weight in model.decision.weights.items():
        assert weight * SIGNS[name] >= 0, name  # the fit kept each weight on its side
    assert 0.0 < model.threshold < 1.0
    assert model.version and model.pick_margin > 0


def test_scores_contributions_and_probability() -> None:
    linear = Linear({"dense": 2.0, "bm25": -1.0}, 0.5)
    features = {"dense": 0.8, "bm25": 0.5, "other": 9.0}
    assert linear.score(features) == pytest.approx(0.5 + 1.6 - 0.5)
    assert linear.contributions(features) == {"dense": pytest.approx(1.6), "bm25": pytest.approx(-0.5)}
    model = load_model()
    good = {name: 1.0 if SIGNS[name] > 0 else 0.0 for name in DECISION}
    bad = {name: 0.0 if SIGNS[name] > 0 else 1.0 for name in DECISION}
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


def _written(data: dict[str, object], tmp_path: Path) -> Path:
    path = tmp_path / "model.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_model_weighing_an_unknown_feature_or_lacking_one_is_refused(tmp_path: Path) -> None:
    data = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    renamed = json.loads(json.dumps(data))
    renamed["ranker"]["weights"]["bm25_old"] = renamed["ranker"]["weights"].pop("bm25")
    with pytest.raises(QABotError, match=r"ranker weighs unknown feature bm25_old; ranker lacks a weight for bm25"):
        load_model(_written(renamed, tmp_path))
    missing = json.loads(json.dumps(data))
    del missing["answerer"]["weights"]["negation"]
    with pytest.raises(QABotError, match=r"does not fit this version of qabot: answerer lacks a weight for negation"):
        load_model(_written(missing, tmp_path))
    foreign = json.loads(json.dumps(data))
    foreign["crosslingual"]["weights"]["bm25"] = 1.0  # English word rules: not cross-lingual
    with pytest.raises(QABotError, match=r"crosslingual weighs unknown feature bm25"):
        load_model(_written(foreign, tmp_path))


def test_every_feature_has_a_spec_with_its_doc_and_the_readme_lists_the_registry() -> None:
    for name, spec in FEATURES.items():
        assert spec.name == name and spec.doc, name
        assert spec.sign in (-1, 0, 1) and spec.stage in ("ranking", "reader", "decision")
    assert all(FEATURES[n].sign for n in DECISION)  # the fit keeps every decision weight on a side
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    for stage, names in (("ranking", RANKING), ("decision", DECISION)):
        listed = re.search(rf"<!-- {stage}-features -->(.*?)<!-- /{stage}-features -->", readme, re.DOTALL)
        assert listed is not None, stage
        assert re.findall(r"`(\w+)`", listed.group(1)) == list(names), stage
