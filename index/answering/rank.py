"""Stages 3 and 4, candidates and features: the question's vector, the candidate sentences
(``index.search.candidates``), each scored by the fitted ranker over its named features
(``index.features``), captions that repeat body text dropped, and the ranker's top few read
again by the reader and reranked."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from index.features import FeatureContext, ranking_features
from index.model import AnswerModel
from index.question import Question
from index.reader import Reader, shared_reader
from index.search import candidates
from index.search.state import RetrievalState
from index.types import ANSWER_ROLES, Hit

# Jaccard overlap of stems above which a caption repeats a body sentence among the candidates
# (captions restate the paragraph beside them; below this they add a fact of their own)
_CAPTION_REPEATS = 0.4


@dataclass
class Ranked:
    """Ranked hits plus what the decision needs to judge them."""

    hits: list[Hit]
    query_vector: np.ndarray
    timings_ms: dict[str, float] = field(default_factory=dict)
    spread: float = 0.0  # the best cosine minus the mean of the candidates' (how much it stands out)


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def collapse(state: RetrievalState, hits: list[Hit]) -> list[Hit]:
    """Drop captions that repeat body text (the ``furniture`` feature weighs the rest)."""
    body = [h for h in hits if h.sentence.role in ANSWER_ROLES]
    kept: list[Hit] = []
    for hit in hits:
        if hit.sentence.role in ANSWER_ROLES:
            kept.append(hit)
            continue
        mine = state.token_sets[hit.sentence.row]
        if any(_jaccard(mine, state.token_sets[b.sentence.row]) >= _CAPTION_REPEATS for b in body):
            continue
        kept.append(hit)
    return kept


def read(state: RetrievalState, q: Question, hits: list[Hit], model: AnswerModel, reader: Reader | None) -> list[Hit]:
    """The reader (index.reader) reads the ranker's top candidates with the question; the
    fitted reranker scores them again with its log-odds as the feature ``reader``. Those come
    first; the rest keep their order below them, scored as if the reader rated them as low as
    the lowest it read. Questions not in English are not read (the reader knows English)."""
    n = model.reader_candidates
    if not n or not hits or not q.english:
        return hits
    top = hits[:n]
    logits = (reader or shared_reader()).logits(
        q.text, [(state.previous_text(h.sentence.row), h.sentence.text) for h in top])
    scored = []
    for hit, logit in zip(top, logits, strict=True):
        features = {**hit.features, "reader": float(np.clip(logit, -12.0, 12.0))}
        scored.append(replace(hit, score=model.reranker.score(features), features=features))
    scored.sort(key=lambda h: -h.score)
    floor = min(float(np.clip(logits.min(), -12.0, 12.0)), 12.0)
    lowest = scored[-1].score
    rest = [replace(h, score=min(lowest - 1e-3, model.reranker.score({**h.features, "reader": floor})))
            for h in hits[n:]]
    return scored + rest


def score(state: RetrievalState, q: Question, found: candidates.CandidateSet, model: AnswerModel,
          speakers: frozenset[str] = frozenset()) -> list[Hit]:
    """Every candidate with its ranking features and fitted score, best first, repeating captions dropped."""
    ctx = FeatureContext(q, state, found.dense, found.lexical, set(found.in_context), speakers)
    hits = []
    for row in found.rows:
        features = ranking_features(ctx, row)
        hits.append(Hit(state.sentences[row], model.ranker.score(features), found.dense[row], found.lexical[row],
                        features))
    hits = collapse(state, hits)
    hits.sort(key=lambda h: -h.score)
    return hits


def rank(state: RetrievalState, q: Question, qv: np.ndarray, k: int, model: AnswerModel, reader: Reader | None,
         rows: list[int] | None = None, speakers: frozenset[str] = frozenset()) -> Ranked:
    """The top k answerable sentences for the question (with vector ``qv``), optionally only
    among ``rows``: candidates, ranked, read."""
    if not state.sentences:
        return Ranked([], qv, {})
    found = candidates.search(state, qv, list(q.tokens), rows)
    t1 = time.perf_counter()
    hits = score(state, q, found, model, speakers)
    t2 = time.perf_counter()
    timings = {"search": found.timings_ms["search"], "fuse": (t2 - t1) * 1000}
    hits = read(state, q, hits, model, reader)
    if model.reader_candidates and q.english:
        timings["read"] = (time.perf_counter() - t2) * 1000
    return Ranked(hits[:k], qv, timings, found.spread)
