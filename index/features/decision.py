"""Decision features: what the decision to answer reads about the best candidate and the
question as a whole, each from a ``DecisionContext``; the fitted decision model
(``index.model``) turns them into the probability that the answer holds. In registration order,
which is the order ``--explain`` shows them."""

from __future__ import annotations

from dataclasses import dataclass

from index.query import goes_by
from index.question import Question
from index.search.state import RetrievalState

from .spec import FeatureSpec, spec


@dataclass(frozen=True)
class Unseen:
    """The question's words that the sources (narrowed to those naming its names) do not hold."""

    share: float  # of all the words that say what is asked
    topic_share: float  # of those words that are not part of a name
    unknown_kind: bool  # one of them qualifies a noun the sources hold ("the flu vaccine")


@dataclass(frozen=True)
class DecisionContext:
    """The best candidates' ranking scores (best first), the best one's ranking features, how
    far its cosine stands above the pool's, the question's words that no source holds, the
    rarest question word the best sentence lacks, whether one of question and sentence is
    negated and the other not, and the reader's log-odds of the candidates it read (the best
    candidate's first; empty: not read)."""

    question: Question
    scores: list[float]
    top: dict[str, float]
    spread: float
    unseen: Unseen
    missing_rarity: float = 0.0
    negation: bool = False
    reader: tuple[float, ...] = ()


def rarest_missing(state: RetrievalState, content: set[str], row: int) -> float:
    """How rare (idf, 0-1) the rarest of the question's words is that the sentence lacks in
    context: a swapped name or qualifier is rare and missing."""
    have = state.held(row)
    d = state.derived
    missing = [d.idf.get(w, d.max_idf) for w in content if w not in have and not goes_by(w) & have]
    return max(missing, default=0.0) / d.max_idf


@spec("decision", +1)
def top_score(ctx: DecisionContext) -> float:
    """The best candidate's ranking score."""
    return ctx.scores[0] if ctx.scores else 0.0


@spec("decision", +1)
def margin(ctx: DecisionContext) -> float:
    """Its lead over the next candidate's score (1 when it is the only one)."""
    return ctx.scores[0] - ctx.scores[1] if len(ctx.scores) > 1 else 1.0


@spec("decision", +1, crosslingual=True)
def top_dense(ctx: DecisionContext) -> float:
    """The best candidate's cosine."""
    return ctx.top.get("dense", 0.0)


@spec("decision", +1, crosslingual=True)
def dense_spread(ctx: DecisionContext) -> float:
    """The best cosine minus the mean of the candidates' (how much it stands out)."""
    return ctx.spread


@spec("decision", +1)
def top_coverage(ctx: DecisionContext) -> float:
    """The best candidate's coverage of the question's content words."""
    return ctx.top.get("coverage", 0.0)


@spec("decision", +1)
def top_idf_coverage(ctx: DecisionContext) -> float:
    """The best candidate's rarity-weighted coverage."""
    return ctx.top.get("idf_coverage", 0.0)


@spec("decision", -1)
def missing_rarity(ctx: DecisionContext) -> float:
    """How rare the rarest question word the best sentence lacks is (0 to 1)."""
    return ctx.missing_rarity


@spec("decision", -1)
def unseen(ctx: DecisionContext) -> float:
    """Share of the question's words that no source (naming its names) holds."""
    return ctx.unseen.share


@spec("decision", -1)
def unseen_topic(ctx: DecisionContext) -> float:
    """The same share among the words that are not part of a name."""
    return ctx.unseen.topic_share


@spec("decision", -1)
def all_unseen(ctx: DecisionContext) -> float:
    """No source holds any of the words that are not part of a name."""
    return 1.0 if ctx.unseen.topic_share >= 1.0 else 0.0


@spec("decision", -1)
def unknown_kind(ctx: DecisionContext) -> float:
    """A word no source holds qualifies a noun they do hold ("the flu vaccine")."""
    return 1.0 if ctx.unseen.unknown_kind else 0.0


@spec("decision", -1)
def type_missing(ctx: DecisionContext) -> float:
    """The question asks for a kind of thing (not a place) the best candidate does not name."""
    # a place is often a common noun ("a school gymnasium"); times, numbers and names rarely are
    q = ctx.question
    return 1.0 if q.answer_types and q.kind != "where" and not ctx.top.get("answer_type") else 0.0


@spec("decision", -1)
def place_missing(ctx: DecisionContext) -> float:
    """A "where" question whose best candidate names no place."""
    return 1.0 if ctx.question.kind == "where" and not ctx.top.get("answer_type") else 0.0


@spec("decision", -1)
def count_missing(ctx: DecisionContext) -> float:
    """A "how many" question whose best candidate gives no number of it."""
    return 1.0 if ctx.question.counted and not ctx.top.get("counts") else 0.0


@spec("decision", -1)
def names_missing(ctx: DecisionContext) -> float:
    """Share of the question's names the best candidate lacks."""
    return 1.0 - ctx.top.get("names", 0.0) if ctx.question.names else 0.0


@spec("decision", -1)
def negation(ctx: DecisionContext) -> float:
    """One of question and best sentence says not/never/no and the other does not."""
    return 1.0 if ctx.negation else 0.0


@spec("decision", +1)
def reader_top(ctx: DecisionContext) -> float:
    """The reader's log-odds for the best candidate (0: not read)."""
    return ctx.reader[0] if ctx.reader else 0.0


@spec("decision", +1)
def reader_margin(ctx: DecisionContext) -> float:
    """Its lead over the best other candidate the reader read."""
    return ctx.reader[0] - max(ctx.reader[1:]) if len(ctx.reader) > 1 else 0.0


SPECS: tuple[FeatureSpec, ...] = (
    top_score, margin, top_dense, dense_spread, top_coverage, top_idf_coverage, missing_rarity, unseen,
    unseen_topic, all_unseen, unknown_kind, type_missing, place_missing, count_missing, names_missing, negation,
    reader_top, reader_margin,
)
