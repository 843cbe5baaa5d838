"""Ranking features: each scores one candidate sentence for one question (0 to 1 unless said),
reading a ``FeatureContext``; the fitted ranker (``index.model``) weighs them. In the order
they are registered, which is the order ``--explain`` shows them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from index.details import counted_in
from index.lexicon import TALK_WORDS
from index.query import JointQuestion, fold, goes_by, tokenize, word_match, words
from index.question import Question, entity_answers
from index.search.state import ANAPHOR, RetrievalState
from index.types import ANSWER_ROLES

from .spec import FeatureSpec, spec


@dataclass
class FeatureContext:
    """What the ranking features compare a candidate with: the question, the generation's
    state, and the candidate set's scores."""

    question: Question
    state: RetrievalState
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


def covered(state: RetrievalState, content: set[str], row: int) -> float:
    """Share of the content words the sentence holds, read in context: with its speakers and the
    names an opening "They" stands for; "Crimean" holds "Crimea"."""
    if not content:
        return 0.0
    have = state.held(row)
    hits = [
        w for w in content
        if w in have or goes_by(w) & have or (len(w) >= 5 and any(h.startswith(w[:5]) for h in have))
    ]
    return len(hits) / len(content)


def joint_score(state: RetrievalState, joint: JointQuestion, row: int) -> float:
    """0 to 1 for "What did A and B review?": the sentence has both (in context) and what they
    did; 1 when it also joins them ("A and B ...", "Both ...", an opening "They"), 0.5 when it
    has both apart ("talks with A, B said")."""
    have = state.held(row)
    names = [(tokenize(n) or [n])[-1] for n in joint.names]
    if not all(n in have or any(word_match(n, h) for h in have) for n in names):
        return 0.0
    sentence = state.sentences[row]
    folded = words(sentence.text)
    parts = []
    if joint.predicate:
        parts.append(covered(state, set(joint.predicate), row))
    if joint.talk:
        parts.append(1.0 if set(folded) & TALK_WORDS or sentence.speakers else 0.0)
    done = sum(parts) / len(parts) if parts else 1.0
    a, b = joint.names
    anaphor = ANAPHOR.match(sentence.text) if row in state.derived.antecedent else None
    together = (
        re.search(rf"\b(?:{a}|{b})\b\W+(?:\w+\W+){{0,3}}?and\W+(?:\w+\W+){{0,3}}?(?:{a}|{b})\b", fold(sentence.text))
        or (anaphor is not None and anaphor.group("plural"))
        or "both" in folded
    )
    return done * (1.0 if together else 0.5)


@spec("ranking", crosslingual=True)
def dense(ctx: FeatureContext, row: int) -> float:
    """Cosine of question and sentence (the embedding model's judgement of meaning)."""
    return ctx.dense[row]


@spec("ranking", crosslingual=True)
def dense_gap(ctx: FeatureContext, row: int) -> float:
    """How far the cosine is below the best candidate's (0 for the best)."""
    return ctx.dense[row] - ctx.best_dense


@spec("ranking")
def bm25(ctx: FeatureContext, row: int) -> float:
    """BM25 over stems and word pairs, relative to the best candidate's."""
    return ctx.lexical[row] / ctx.best_lexical


@spec("ranking")
def coverage(ctx: FeatureContext, row: int) -> float:
    """Share of the question's content words the sentence holds, read in context."""
    return covered(ctx.state, set(ctx.question.content), row)


@spec("ranking")
def idf_coverage(ctx: FeatureContext, row: int) -> float:
    """Like coverage, each word weighted by how rare it is in the sources."""
    content = set(ctx.question.content)
    if not content:
        return 0.0
    have = ctx.state.held(row)
    d = ctx.state.derived
    weight = {w: d.idf.get(w, d.max_idf) for w in content}
    held = sum(v for w, v in weight.items() if w in have or goes_by(w) & have)
    return held / sum(weight.values())


@spec("ranking")
def answer_type(ctx: FeatureContext, row: int) -> float:
    """The sentence names something of the kind asked for (a date for "when", a person for
    "who") that the question does not already name (spaCy's entities, found at index time)."""
    return 1.0 if entity_answers(ctx.question, ctx.state.entities_in_context(row)) else 0.0


@spec("ranking")
def counts(ctx: FeatureContext, row: int) -> float:
    """For "how many X": the sentence gives a number of X (or of what X goes by)."""
    wanted = set(tokenize(" ".join(ctx.question.counted)))
    if not wanted:
        return 0.0
    found = set(tokenize(" ".join(counted_in(ctx.state.sentences[row].text))))
    return 1.0 if wanted & found or any(goes_by(w) & found for w in wanted) else 0.0


@spec("ranking", crosslingual=True)
def speaker(ctx: FeatureContext, row: int) -> float:
    """The sentence is the asked-about person's own words (as its main speaker)."""
    said = ctx.state.sentences[row].speakers
    return 1.0 if said and said[0] in ctx.speakers else 0.0


@spec("ranking", crosslingual=True)
def quote(ctx: FeatureContext, row: int) -> float:
    """The sentence is a direct quotation."""
    return 1.0 if ctx.state.sentences[row].is_quote else 0.0


@spec("ranking")
def names(ctx: FeatureContext, row: int) -> float:
    """Share of the question's names (or their other forms) the sentence holds in context."""
    wanted = ctx.question.names
    if not wanted:
        return 0.0
    have = ctx.state.words_in_context(row)
    return sum(any(set(form) <= have for form in name.forms) for name in wanted) / len(wanted)


@spec("ranking", crosslingual=True)
def context(ctx: FeatureContext, row: int) -> float:
    """The sentence opens with They/He/... and reads closer with the sentence before it."""
    return 1.0 if row in ctx.in_context else 0.0


@spec("ranking", crosslingual=True)
def furniture(ctx: FeatureContext, row: int) -> float:
    """Page furniture: a caption, headline or label rather than body text."""
    return 0.0 if ctx.state.sentences[row].role in ANSWER_ROLES else 1.0


@spec("ranking")
def joint(ctx: FeatureContext, row: int) -> float:
    """For "What did A and B do?": both are there, doing what is asked, together."""
    q = ctx.question
    return joint_score(ctx.state, q.joint, row) if q.joint else 0.0


# The reranker's one feature of its own: the reranker reads every ranking feature and this.
reader = FeatureSpec(
    "reader", "reader", None,
    "The reader's log-odds (index/reader.py) that the sentence, read with the one before it, answers "
    "the question; only for the ranker's top candidates of an English question.",
)

SPECS: tuple[FeatureSpec, ...] = (dense, dense_gap, bm25, coverage, idf_coverage, answer_type, counts, speaker,
                                  quote, names, context, furniture, joint, reader)
