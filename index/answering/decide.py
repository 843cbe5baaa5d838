"""Stage 5, the decision: whether the ranked candidates answer, and which of them to compose.

Every way of declining is a ``DeclineReason`` with one named gate here (``unknown_name`` and
the speaker gates are also raised by the plan, before searching; ``unverified`` by composition).
The fitted decision (``verdict``) reads the decision features (``index.features.decision``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from index.answering import scope
from index.features import DecisionContext, Unseen, decision_features, rarest_missing
from index.model import AnswerModel, sigmoid
from index.query import tokenize
from index.question import Question
from index.retriever import Retriever
from index.types import Hit

NOT_FOUND = "I couldn't find that in the indexed sources."


class DeclineReason(Enum):
    """Why a question was not answered (``Answer.declined_by``)."""

    UNKNOWN_NAME = "unknown_name"  # a name (or year) no source holds in any form
    NO_PASSAGE = "no_passage"  # nothing to search among
    LOW_CONFIDENCE = "low_confidence"  # the fitted probability is below the threshold
    NOT_QUOTED = "not_quoted"  # "what did X say?" and the sources never quote X
    OFF_TOPIC = "off_topic"  # "what did X say about T?" and nothing of X's is about T
    UNVERIFIED = "unverified"  # no chosen sentence still matches the indexed text


@dataclass(frozen=True)
class Decline:
    """A declined question: why, what to tell the user, and the closest passages to show."""

    reason: DeclineReason
    message: str
    near: list[Hit] = field(default_factory=list)


@dataclass(frozen=True)
class Verdict:
    """The fitted decision over the best of some candidates."""

    features: dict[str, float]  # the decision features, in registration order
    probability: float
    answers: bool  # the probability reaches the threshold
    reader: float | None  # the reader's probability for the best candidate (None: not read)


def verdict(q: Question, r: Retriever, model: AnswerModel, hits: list[Hit], spread: float,
            sources: set[str] | None = None) -> Verdict:
    """The fitted probability that the best of ``hits`` answers, against the fitted threshold."""
    unseen_anywhere = scope.unseen_words(q, r.state, r.vocabulary)
    unseen = scope.unseen_words(q, r.state, r.vocabulary, sources) if sources is not None else unseen_anywhere
    topic = q.asked - q.name_stems
    signals = Unseen(len(unseen) / max(1, len(q.asked)), len(set(unseen) & topic) / max(1, len(topic)),
                     scope.unknown_kind(q, r.state, unseen_anywhere))
    top = hits[0] if hits else None
    read = [h.features["reader"] for h in hits if "reader" in h.features]
    if top is not None and read and "reader" not in top.features:
        read = [min(read), *read]  # the best of these was not read: as low as the lowest read
    features = decision_features(DecisionContext(
        q, [h.score for h in hits[:2]], top.features if top else {}, spread, signals,
        rarest_missing(r.state, set(q.content), top.sentence.row) if top else 1.0,
        top is not None and q.negated != r.state.negated(top.sentence.row), tuple(read)))
    return Verdict(features, model.probability(features, q.english), model.answers(features, q.english),
                   sigmoid(read[0]) if read else None)


def unknown_name(names: Iterable[str], near: list[Hit]) -> Decline | None:
    """Names no source holds: say which."""
    names = list(names)
    return Decline(DeclineReason.UNKNOWN_NAME, f"I couldn't find {', '.join(names)} in the indexed sources.",
                   near) if names else None


def no_passage(hits: list[Hit]) -> Decline | None:
    """Nothing was found to judge."""
    return None if hits else Decline(DeclineReason.NO_PASSAGE, NOT_FOUND)


def low_confidence(near: list[Hit]) -> Decline:
    """The fitted probability is below the threshold (or nothing to judge)."""
    return Decline(DeclineReason.LOW_CONFIDENCE, NOT_FOUND, near)


def not_quoted(display: str, mentioned: bool, near: list[Hit]) -> Decline:
    """ "What did X say?" and no sentence has X as a speaker."""
    # "The sources mention X" only when X itself is there, not only a part of it
    said = (f"The sources mention {display}, but I couldn't find anything {display} said." if mentioned else
            f"I couldn't find anything {display} said in the indexed sources.")
    return Decline(DeclineReason.NOT_QUOTED, said, near)


def off_topic(r: Retriever, topic: str, generic: bool, rows: Iterable[int], min_similarity: float) -> bool:
    """True if the question restricts X's words to a topic ("about NATO", "on immigration")
    that none of these sentences (all of X's, not only the best ranked, so that the decline's
    "I couldn't find anything X said about T" holds) is close to in meaning or shares a word with."""
    rows = list(rows)
    if generic or not rows:
        return False
    topic_vector = r.embed_query(topic)
    closest = float(np.max(r.state.vectors[rows] @ topic_vector))
    topic_words = set(tokenize(topic))
    lexical = any(topic_words & r.state.token_sets[row] for row in rows)
    return closest < min_similarity and not lexical


def off_topic_decline(message: str, near: list[Hit]) -> Decline:
    """See ``off_topic``."""
    return Decline(DeclineReason.OFF_TOPIC, message, near)


def unverified() -> Decline:
    """No chosen sentence matches the indexed text any more (the source changed under it)."""
    return Decline(DeclineReason.UNVERIFIED, NOT_FOUND)
