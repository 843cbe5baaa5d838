"""Named features: what the ranking and the decision to answer are computed from.

Every feature is a ``FeatureSpec`` (name, stage, sign, cross-lingual or not, docstring,
function) registered in ``FEATURES``, its body beside its name: ``ranking.py`` for those that
score one candidate sentence (read from a ``FeatureContext``), ``decision.py`` for those that
describe the best candidate and the question as a whole (read from a ``DecisionContext``). The
weights that combine them are fitted (``index.model``, ``bench/fit.py``), not set by hand, and
``index.model.load_model`` refuses a model file whose weights name other features.
"""

from __future__ import annotations

from index.features import decision as _decision
from index.features import ranking as _ranking
from index.features.decision import DecisionContext, Unseen, rarest_missing
from index.features.ranking import FeatureContext, covered, joint_score
from index.features.spec import FeatureSpec

FEATURES: dict[str, FeatureSpec] = {s.name: s for s in (*_ranking.SPECS, *_decision.SPECS)}

RANKING: tuple[str, ...] = tuple(n for n, s in FEATURES.items() if s.stage == "ranking")
# The reranker's features: every ranking feature plus the reader's log-odds (index.reader).
RERANKING: tuple[str, ...] = (*RANKING, "reader")
DECISION: tuple[str, ...] = tuple(n for n, s in FEATURES.items() if s.stage == "decision")
# What a question in another language still has: the decision it gets reads only these.
CROSSLINGUAL: tuple[str, ...] = tuple(n for n in DECISION if FEATURES[n].crosslingual)
# Which way each decision feature may push the probability (+1: more of it, more likely answered).
# The fit keeps each weight on its side of zero, so correlated features cannot trade signs.
SIGNS: dict[str, int] = {n: FEATURES[n].sign for n in DECISION}

_RANKERS = [(n, FEATURES[n].fn) for n in RANKING]
_DECIDERS = [(n, FEATURES[n].fn) for n in DECISION]


def ranking_features(ctx: FeatureContext, row: int) -> dict[str, float]:
    """Every ranking feature of one candidate, in registration order."""
    return {name: float(fn(ctx, row)) for name, fn in _RANKERS}  # type: ignore[misc]


def decision_features(ctx: DecisionContext) -> dict[str, float]:
    """Every decision feature, in registration order."""
    return {name: fn(ctx) for name, fn in _DECIDERS}  # type: ignore[misc]


__all__ = ["CROSSLINGUAL", "DECISION", "FEATURES", "RANKING", "RERANKING", "SIGNS", "DecisionContext",
           "FeatureContext", "FeatureSpec", "Unseen", "covered", "decision_features", "joint_score",
           "ranking_features", "rarest_missing"]
