"""Okapi BM25 as Lucene scores it, in numpy: the lexical half of retrieval.

Scores equal bm25s's "lucene" method (k1 = 1.5, b = 0.75; tests/test_bm25.py checks that
against bm25s) without importing scipy, so a cold question does not pay for it. Each term
keeps a posting list (sentence rows, precomputed term weights), so scoring a question touches
only the sentences that hold its words.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from index.postings import Postings

K1 = 1.5
B = 0.75
DENSE_FROM = 10_000  # sentences: below this, scattering is quick enough for every word
DENSE_SHARE = 4  # a word in at least 1/4 of the sentences is kept dense as well


class BM25:
    """Scores of every document for a bag of query tokens."""

    def __init__(self, docs: Sequence[Sequence[str]], k1: float = K1, b: float = B) -> None:
        self.size = len(docs)
        lengths = np.array([len(d) for d in docs], dtype=np.float64)
        average = float(lengths.mean()) if self.size else 1.0
        counts: dict[str, dict[int, int]] = {}
        for row, doc in enumerate(docs):
            for token in doc:
                per_doc = counts.setdefault(token, {})
                per_doc[row] = per_doc.get(row, 0) + 1
        rows_of: dict[str, np.ndarray] = {}
        weights: dict[str, np.ndarray] = {}
        for token, per_doc in counts.items():
            rows = rows_of[token] = np.fromiter(per_doc.keys(), dtype=np.int64, count=len(per_doc))
            tf = np.fromiter(per_doc.values(), dtype=np.float64, count=len(per_doc))
            df = len(per_doc)
            idf = np.log(1.0 + (self.size - df + 0.5) / (df + 0.5))
            weights[token] = idf * tf / (tf + k1 * (1.0 - b + b * lengths[rows] / average))
        self.postings = Postings(rows_of, weights)
        # A word in a large share of the sentences ("said" in a news archive) is also kept as one
        # weight per sentence: adding that array is several times quicker than scattering into it,
        # and gives the same sums (the other sentences add 0.0).
        self.dense: dict[str, np.ndarray] = {}
        if self.size >= DENSE_FROM:
            for token, rows in rows_of.items():
                if len(rows) * DENSE_SHARE >= self.size:
                    self.dense[token] = np.zeros(self.size, dtype=np.float32)
                    self.dense[token][rows] = weights[token]

    def get_scores(self, tokens: Sequence[str]) -> np.ndarray:
        """One score per document: the sum over the query's tokens (repeats count again)."""
        scores = np.zeros(self.size, dtype=np.float32)
        postings = self.postings
        for token in tokens:
            dense = self.dense.get(token)
            if dense is not None:
                scores += dense
                continue
            span = postings.span(token)
            scores[postings.rows[span]] += postings.values[span]
        return scores
