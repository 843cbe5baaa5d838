"""Per-sentence look-ups that stay quick to load as an index grows.

``Postings``: token -> sentence rows (with one number per row) as three flat arrays. A dict of
Python lists costs a second per 100k sentences to load back; flat arrays load as raw bytes.
Used for BM25's term weights and for which sentences hold a word.
``PerRow``: one value per sentence (its set of words), made when first asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Generic, TypeVar

import numpy as np

from index.types import SentenceRecord

_NONE = np.zeros(0, dtype=np.int32)
KEEP = 50_000  # per-row values kept at most (then forgotten and made again as needed)
T = TypeVar("T")


class Postings:
    """Posting lists of rows (ascending as given) and a float per (token, row)."""

    def __init__(self, rows: Mapping[str, Iterable[int]], values: Mapping[str, Iterable[float]] | None = None) -> None:
        """``rows``: each term's rows; ``values``: a number per (term, row), or None for just the rows."""
        self.terms = {term: at for at, term in enumerate(rows)}
        flat_rows = [np.asarray(list(of_term), dtype=np.int32) for of_term in rows.values()]
        self.offsets = np.cumsum([0, *map(len, flat_rows)], dtype=np.int64)
        self.rows = np.concatenate(flat_rows) if flat_rows else _NONE
        self.values = np.zeros(0, dtype=np.float32)
        if values is not None:
            flat = [np.asarray(list(values[term]), dtype=np.float32) for term in rows]
            self.values = np.concatenate(flat) if flat else self.values

    def __contains__(self, term: str) -> bool:
        return term in self.terms

    def __len__(self) -> int:
        return len(self.terms)

    def span(self, term: str) -> slice:
        """Where the term's rows and values sit in the flat arrays (empty if it is unknown)."""
        at = self.terms.get(term)
        if at is None:
            return slice(0, 0)
        return slice(int(self.offsets[at]), int(self.offsets[at + 1]))

    def get(self, term: str, default: Iterable[int] = ()) -> Iterable[int]:
        """The rows holding the term (a list), or ``default``."""
        if term not in self.terms:
            return default
        return self.rows[self.span(term)].tolist()


class Kept(dict[int, T]):
    """Values made per row, at most ``KEEP`` of them: then all are forgotten and made again as
    needed (months of questions would otherwise touch every row of an archive)."""

    def keep(self, row: int, value: T) -> T:
        if len(self) >= KEEP:
            self.clear()
        self[row] = value
        return value


class PerRow(Generic[T]):
    """One value per sentence, computed from the sentence when first asked for and then kept.

    Sets of words per sentence are quick to compute but slow to load back (a second per
    100k sentences), and a question only looks at its candidates' sentences.
    """

    def __init__(self, sentences: Sequence[SentenceRecord], make: Callable[[SentenceRecord], T]) -> None:
        self.sentences = sentences
        self.make = make
        self.known: Kept[T] = Kept()

    def __getitem__(self, row: int) -> T:
        value = self.known.get(row)
        if value is None:
            value = self.known.keep(row, self.make(self.sentences[row]))
        return value

    def __len__(self) -> int:
        return len(self.sentences)
