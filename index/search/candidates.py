"""Candidate search: the sentences nearest a query vector (FAISS, or among given rows) and those
scoring best under BM25 for the query's tokens, with both scores of each. No question, no model."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from index.search.state import RetrievalState

CANDIDATES = 50  # from each of dense and BM25: recall flattens out below this (bench/recall.py)


@dataclass
class CandidateSet:
    """The candidate rows in the order found (dense first, then BM25), with their scores."""

    rows: list[int]
    dense: dict[int, float]  # cosine of each (read in context where that is closer)
    lexical: dict[int, float]  # BM25 of each
    in_context: dict[int, float]  # rows (among all searched) whose cosine came from the context blend
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def spread(self) -> float:
        """The best cosine minus the mean of the candidates' (how much it stands out)."""
        return max(self.dense.values()) - float(np.mean(list(self.dense.values()))) if self.dense else 0.0


def top(rows: np.ndarray, scores: np.ndarray, k: int) -> list[tuple[int, int]]:
    """(position, row) of the k highest scores, ties in the order given, without sorting every
    score (a common word is in most of an archive's sentences)."""
    at = np.arange(len(rows))
    if len(rows) > k:
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        at = at[scores >= kth]  # every score tied with the k-th stays: the stable sort picks among them
    order = at[np.argsort(-scores[at], kind="stable")[:k]]
    return [(int(i), int(rows[i])) for i in order]


def dense_in_context(state: RetrievalState, qv: np.ndarray, rows: np.ndarray | None = None) -> dict[int, float]:
    """Cosine of each sentence in context, where context reads better than the sentence alone."""
    context_rows = state.derived.context_rows
    if not len(context_rows):
        return {}
    scores = state.context_vectors @ qv
    own = state.vectors[context_rows] @ qv
    better = scores > own
    if rows is not None:
        better &= np.isin(context_rows, rows)
    return {int(r): float(v) for r, v in zip(context_rows[better], scores[better], strict=True)}


def search(state: RetrievalState, qv: np.ndarray, tokens: list[str], rows: list[int] | None = None) -> CandidateSet:
    """The CANDIDATES nearest ``qv`` and the CANDIDATES best under BM25 for ``tokens``, among
    ``rows`` (None: every sentence)."""
    started = time.perf_counter()
    pool = None if rows is None else np.array(rows, dtype=np.int64)
    in_context = dense_in_context(state, qv, pool)
    if pool is None:
        dense_scored = dict(state.index.search(qv, CANDIDATES))
    else:
        pool_scores = state.vectors[pool] @ qv
        dense_scored = {row: float(pool_scores[i]) for i, row in top(pool, pool_scores, CANDIDATES)}
    dense_scored.update(in_context)
    dense_top = sorted(dense_scored, key=lambda r: -dense_scored[r])[:CANDIDATES]
    lexical = state.derived.bm25.get_scores(tokens) if tokens else np.zeros(len(state.sentences))
    # only sentences holding a word of the question score above 0: sort those, not every row
    held = np.flatnonzero(lexical > 0) if pool is None else pool[lexical[pool] > 0]
    lex_top = [row for _, row in top(held, lexical[held], CANDIDATES)]
    timings = {"search": (time.perf_counter() - started) * 1000}
    found = list(dict.fromkeys(dense_top + lex_top))
    dense = {row: in_context.get(row, float(state.vectors[row] @ qv)) for row in found}
    return CandidateSet(found, dense, {row: float(lexical[row]) for row in found}, in_context, timings)
