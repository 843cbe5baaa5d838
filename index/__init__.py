"""The core of qabot: sources -> chunks -> embeddings -> FAISS + SQLite -> ranked sentences.

The public API (what ``bot/`` needs) is below; each name is imported from its home on first use,
so ``import index.errors`` stays cheap (no FAISS, spaCy or model loaded).

Where things live (see README "How it works"): ``index/question.py`` reads a question once;
``index/answer.py`` runs the answering stages in ``index/answering/`` (plan, rank, decide,
compose); ``index/features/`` names every feature; ``index/search/`` is retrieval that never
reads a question (state, candidates, look-ups); ``index/store.py`` is one generation on disk.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_HOMES = {
    "Answer": "index.answering.records",
    "AnswerSettings": "index.answering.records",
    "Citation": "index.answering.records",
    "Answerer": "index.answer",
    "Retriever": "index.retriever",
    "AnswerModel": "index.model",
    "load_model": "index.model",
    "Question": "index.question",
    "analyse": "index.question",
    "LoadedIndex": "index.store",
    "open_index": "index.store",
    "write_generation": "index.store",
    "build_lock": "index.store",
    "index_exists": "index.store",
    "QABotError": "index.errors",
    "InputError": "index.errors",
    "SourceError": "index.errors",
    "BusyError": "index.errors",
    "IndexMismatchError": "index.errors",
    "IndexMissingError": "index.errors",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'index' has no attribute {name!r}")
    return getattr(import_module(home), name)
