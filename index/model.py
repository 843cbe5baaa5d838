"""The fitted answer model: feature weights for ranking, and the calibrated probability that
the best candidate answers the question, with the threshold below which qabot declines.

The weights live in ``index/model.json`` (versioned; written by ``bench/fit.py``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

from index.errors import QABotError
from index.features import CROSSLINGUAL, DECISION, RANKING, RERANKING

MODEL_FILE = Path(__file__).with_name("model.json")
MODEL_FORMAT = 1


@dataclass(frozen=True)
class Linear:
    """score = bias + sum of weight x feature, with each term kept for explanations."""

    weights: dict[str, float]
    bias: float = 0.0

    def score(self, features: dict[str, float]) -> float:
        return self.bias + sum(w * features.get(name, 0.0) for name, w in self.weights.items())

    def contributions(self, features: dict[str, float]) -> dict[str, float]:
        """Each feature's share of the score (weight x value)."""
        return {name: w * features.get(name, 0.0) for name, w in self.weights.items()}

    def without(self, feature: str) -> Linear:
        return Linear({n: (0.0 if n == feature else w) for n, w in self.weights.items()}, self.bias)


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, x))))


@dataclass(frozen=True)
class AnswerModel:
    """The ranker, the answer probability and its threshold, as fitted."""

    version: str
    ranker: Linear
    decision: Linear  # the probability that the composed answer holds (the file's "answerer")
    threshold: float
    notes: dict[str, object] = field(default_factory=dict)
    # for questions not in English: the same decision from the language-independent features
    crosslingual: Linear = field(default_factory=lambda: Linear({}, 0.0))
    crosslingual_threshold: float = 0.5
    # the reader's stage: the ranker's top ``reader_candidates`` are read and scored again by the
    # reranker, whose features add the reader's log-odds ("reader"); 0 candidates: no reader
    reranker: Linear = field(default_factory=lambda: Linear({}, 0.0))
    reader_candidates: int = 0

    @property
    def pick_margin(self) -> float:
        """How far below the best a runner-up's ranking score may be to join the answer."""
        value = self.notes.get("pick_margin", 1.0)
        return float(value) if isinstance(value, int | float) else 1.0

    def probability(self, features: dict[str, float], english: bool = True) -> float:
        """Calibrated probability that the best candidate answers the question."""
        return sigmoid((self.decision if english else self.crosslingual).score(features))

    def answers(self, features: dict[str, float], english: bool = True) -> bool:
        """True if the probability reaches the fitted threshold."""
        threshold = self.threshold if english else self.crosslingual_threshold
        return self.probability(features, english) >= threshold

    def without(self, feature: str) -> AnswerModel:
        """The same model with one feature's weight set to zero (``qabot eval --ablate``)."""
        known = set(self.ranker.weights) | set(self.decision.weights) | set(self.reranker.weights)
        if feature not in known:
            raise QABotError(f"Unknown feature {feature!r}; known: {', '.join(sorted(known))}.")
        return replace(self, ranker=self.ranker.without(feature), decision=self.decision.without(feature),
                       reranker=self.reranker.without(feature))

    def to_json(self) -> dict[str, object]:
        return {
            "format": MODEL_FORMAT,
            "version": self.version,
            "ranker": {"weights": self.ranker.weights, "bias": self.ranker.bias},
            "answerer": {"weights": self.decision.weights, "bias": self.decision.bias},
            "threshold": self.threshold,
            "crosslingual": {"weights": self.crosslingual.weights, "bias": self.crosslingual.bias,
                             "threshold": self.crosslingual_threshold},
            "reranker": {"weights": self.reranker.weights, "bias": self.reranker.bias,
                         "candidates": self.reader_candidates},
            "notes": self.notes,
        }


def _linear(data: object) -> Linear:
    if not isinstance(data, dict) or not isinstance(data.get("weights"), dict):
        raise ValueError("expected {weights, bias}")
    return Linear({str(k): float(v) for k, v in data["weights"].items()}, float(data.get("bias", 0.0)))


def load_model(path: Path = MODEL_FILE) -> AnswerModel:
    """Read a model file, with a clear message if it is missing or damaged."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != MODEL_FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {MODEL_FORMAT}")
        cross = data.get("crosslingual", {"weights": {}, "bias": 0.0, "threshold": 0.5})
        rerank = data.get("reranker", {"weights": {}, "bias": 0.0, "candidates": 0})
        model = AnswerModel(str(data["version"]), _linear(data["ranker"]), _linear(data["answerer"]),
                            float(data["threshold"]), dict(data.get("notes", {})), _linear(cross),
                            float(cross.get("threshold", 0.5)), _linear(rerank), int(rerank.get("candidates", 0)))
    except FileNotFoundError:
        raise QABotError(f"The answer model {path} is missing; reinstall qabot or run bench/fit.py.") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise QABotError(f"The answer model {path} is damaged ({exc}); reinstall qabot or run bench/fit.py.") from None
    mismatch = weight_mismatch(model)
    if mismatch:
        raise QABotError(f"The answer model {path} does not fit this version of qabot: {mismatch}. "
                         "Reinstall qabot or refit it with bench/fit.py --write.")
    return model


def weight_mismatch(model: AnswerModel) -> str | None:
    """What is wrong with the model's weight names against the feature registry, or None.

    Each part names exactly the features of its stage (``index.features``): a weight for a
    feature that does not exist would be silently ignored and a missing one would score 0. A
    part left empty (no reranker fitted) is not used and is fine.
    """
    parts = {"ranker": (model.ranker, RANKING), "answerer": (model.decision, DECISION),
             "crosslingual": (model.crosslingual, CROSSLINGUAL), "reranker": (model.reranker, RERANKING)}
    problems = []
    for part, (linear, expected) in parts.items():
        if not linear.weights:
            continue
        unknown = sorted(set(linear.weights) - set(expected))
        missing = [name for name in expected if name not in linear.weights]
        if unknown:
            problems.append(f"{part} weighs unknown feature{'s' * (len(unknown) > 1)} {', '.join(unknown)}")
        if missing:
            problems.append(f"{part} lacks a weight for {', '.join(missing)}")
    return "; ".join(problems) or None
