"""One loaded generation, ready for questions: its frozen retrieval state, the look-ups over it,
the embedder for questions, the fitted answer model and the reader.

The parts are question-independent (``index.search``); ``index.answer`` runs the stages.
"""

from __future__ import annotations

import numpy as np

from index.embedder import Embedder
from index.model import AnswerModel, load_model
from index.reader import Reader
from index.search.people import People
from index.search.state import RetrievalState
from index.search.vocabulary import Vocabulary
from index.store import LoadedIndex


class Retriever:
    """Search over one loaded index generation."""

    def __init__(self, index: LoadedIndex, embedder: Embedder, model: AnswerModel | None = None,
                 reader: Reader | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.model = model or load_model()
        self.reader = reader  # None: the shared one (index.reader), loaded on the first question it reads
        self.state = RetrievalState.of(index)
        self.vocabulary = Vocabulary(self.state)
        self.people = People(self.state)

    def embed_query(self, text: str) -> np.ndarray:
        """The question's (or a topic's) unit vector."""
        return self.embedder.embed_query([text])[0]
