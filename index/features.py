"""Named features: what the ranking and the decision to answer are computed from.

Each ranking feature scores one candidate sentence for one question (0 to 1 unless said);
each answer feature describes the best candidate and the question as a whole. The weights
that combine them are fitted (``index.model``, ``bench/fit.py``), not set by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from index.details import counted_in
from index.query import goes_by, tokenize
from index.question import Question, entity_answers
from index.types import ANSWER_ROLES

if TYPE_CHECKING:
    from index.retriever import Retriever


@dataclass
class Pool:
    """Per-question facts the ranking features compare a candidate with."""

    question: Question
    retriever: Retriever
    dense: dict[int, float]  # cosine of each candidate (read in context where that is closer)
    lexical: dict[int, float]  # BM25 of each candidate
    in_context: set[int] = field(default_factory=set)  # rows whose cosine came from the context blend
    speakers: frozenset[str] = frozenset()  # the speakers a speaker question asks about

    @property
    def best_dense(self) -> float:
        return max(self.dense.values(), default=0.0)

    @property
    def best_lexical(self) -> float:
        return max(self.lexical.values(), default=0.0) or 1.0


Feature = Callable[[Pool, int], float]


def dense(pool: Pool, row: int) -> float:
    """Cosine of question and sentence (the embedding model's judgement of meaning)."""
    return pool.dense[row]


def dense_gap(pool: Pool, row: int) -> float:
    """How far the cosine is below the best candidate's (0 for the best)."""
    return pool.dense[row] - pool.best_dense


def bm25(pool: Pool, row: int) -> float:
    """BM25 over stems and word pairs, relative to the best candidate's."""
    return pool.lexical[row] / pool.best_lexical


def coverage(pool: Pool, row: int) -> float:
    """Share of the question's content words the sentence holds, read in context."""
    return pool.retriever.coverage(set(pool.question.content), row)


def idf_coverage(pool: Pool, row: int) -> float:
    """Like coverage, each word weighted by how rare it is in the sources."""
    return pool.retriever.idf_coverage(set(pool.question.content), row)


def answer_type(pool: Pool, row: int) -> float:
    """The sentence names something of the kind asked for (a date for "when", a person for
    "who") that the question does not already name (spaCy's entities, found at index time)."""
    return 1.0 if entity_answers(pool.question, pool.retriever.entities_in_context(row)) else 0.0


def counts(pool: Pool, row: int) -> float:
    """For "how many X": the sentence gives a number of X (or of what X goes by)."""
    wanted = set(tokenize(" ".join(pool.question.counted)))
    if not wanted:
        return 0.0
    counted = set(tokenize(" ".join(counted_in(pool.retriever.sentences[row].text))))
    return 1.0 if wanted & counted or any(goes_by(w) & counted for w in wanted) else 0.0


def speaker(pool: Pool, row: int) -> float:
    """The sentence is the asked-about person's own words (as its main speaker)."""
    said = pool.retriever.sentences[row].speakers
    return 1.0 if said and said[0] in pool.speakers else 0.0


def quote(pool: Pool, row: int) -> float:
    """The sentence is a direct quotation."""
    return 1.0 if pool.retriever.sentences[row].is_quote else 0.0


def names(pool: Pool, row: int) -> float:
    """Share of the question's names (or their other forms) the sentence holds in context."""
    wanted = pool.question.names
    if not wanted:
        return 0.0
    have = pool.retriever.words_in_context(row)
    return sum(any(set(form) <= have for form in name.forms) for name in wanted) / len(wanted)


def context(pool: Pool, row: int) -> float:
    """The sentence opens with They/He/... and reads closer with the sentence before it."""
    return 1.0 if row in pool.in_context else 0.0


def furniture(pool: Pool, row: int) -> float:
    """Page furniture: a caption, headline or label rather than body text."""
    return 0.0 if pool.retriever.sentences[row].role in ANSWER_ROLES else 1.0


def joint(pool: Pool, row: int) -> float:
    """For "What did A and B do?": both are there, doing what is asked, together."""
    q = pool.question
    return pool.retriever.joint_score(q.joint, row) if q.joint else 0.0


RANKING: dict[str, Feature] = {
    f.__name__: f
    for f in (dense, dense_gap, bm25, coverage, idf_coverage, answer_type, counts, speaker, quote, names, context,
              furniture, joint)
}


def ranking_features(pool: Pool, row: int) -> dict[str, float]:
    """Every ranking feature of one candidate."""
    return {name: float(feature(pool, row)) for name, feature in RANKING.items()}


# -- whether the best candidate answers -------------------------------------------------------
ANSWER_FEATURES = (
    "top_score", "margin", "top_dense", "dense_spread", "top_coverage", "top_idf_coverage", "missing_rarity",
    "unseen", "unseen_topic", "all_unseen", "unknown_kind", "type_missing", "place_missing", "count_missing",
    "names_missing", "negation", "reader_top", "reader_margin",
)

# The reranker's features: every ranking feature plus the reader's log-odds (index.reader).
RERANKING = (*RANKING, "reader")


# Which way each answer feature may push the probability (+1: more of it, more likely answered).
# The fit keeps each weight on its side of zero, so correlated features cannot trade signs.
ANSWER_SIGNS = {
    "top_score": 1, "margin": 1, "top_dense": 1, "dense_spread": 1, "top_coverage": 1, "top_idf_coverage": 1,
    "missing_rarity": -1, "unseen": -1, "unseen_topic": -1, "all_unseen": -1, "unknown_kind": -1,
    "type_missing": -1, "place_missing": -1, "count_missing": -1, "names_missing": -1, "negation": -1,
    "reader_top": 1, "reader_margin": 1,
}


@dataclass(frozen=True)
class Unseen:
    """The question's words that the sources (narrowed to those naming its names) do not hold."""

    share: float  # of all the words that say what is asked
    topic_share: float  # of those words that are not part of a name
    unknown_kind: bool  # one of them qualifies a noun the sources hold ("the flu vaccine")


def answer_features(
    question: Question, scores: list[float], top: dict[str, float], spread: float, unseen: Unseen,
    missing_rarity: float = 0.0, negation: bool = False, reader: list[float] | None = None,
) -> dict[str, float]:
    """What the decision to answer reads: the best candidate's features and ranking score, its
    lead over the next, how far its cosine stands above the pool's, the question's words that no
    source holds, the rarest question word the best sentence lacks, and the reader's log-odds
    for the best candidate and its lead over the best other one it read (``reader``: the
    reader's log-odds of the candidates it read, the best candidate's first; None: not read)."""
    read = reader or []
    return {
        "top_score": scores[0] if scores else 0.0,
        "margin": scores[0] - scores[1] if len(scores) > 1 else 1.0,
        "top_dense": top.get("dense", 0.0),
        "dense_spread": spread,
        "top_coverage": top.get("coverage", 0.0),
        "top_idf_coverage": top.get("idf_coverage", 0.0),
        "missing_rarity": missing_rarity,
        "unseen": unseen.share,
        "unseen_topic": unseen.topic_share,
        "all_unseen": 1.0 if unseen.topic_share >= 1.0 else 0.0,
        "unknown_kind": 1.0 if unseen.unknown_kind else 0.0,
        # a place is often a common noun ("a school gymnasium"); times, numbers and names rarely are
        "type_missing": 1.0 if question.answer_types and question.kind != "where" and not top.get("answer_type")
        else 0.0,
        "place_missing": 1.0 if question.kind == "where" and not top.get("answer_type") else 0.0,
        "count_missing": 1.0 if question.counted and not top.get("counts") else 0.0,
        "names_missing": 1.0 - top.get("names", 0.0) if question.names else 0.0,
        "negation": 1.0 if negation else 0.0,
        "reader_top": read[0] if read else 0.0,
        "reader_margin": read[0] - max(read[1:]) if len(read) > 1 else 0.0,
    }
