"""QAService: one space as both faces (CLI, Discord) use it: questions answered from its index,
what the index holds, and ``catalog``, the space's source changes (bot.catalog)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.building import Annotator
from bot.catalog import SourceCatalog
from bot.config import Settings
from bot.live import LiveIndex
from index.answer import Answer, Answerer
from index.embedder import Embedder
from index.errors import IndexMismatchError, InputError
from index.followup import Turn, resolve, settle, turn_of_json
from index.model import AnswerModel
from index.retriever import Retriever
from index.sources import clean_text
from index.speakers import annotate
from index.store import LoadedIndex

if TYPE_CHECKING:
    from bot.db import Stores

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000


@dataclass(frozen=True)
class FeedInfo:
    """A row of the feeds in `qabot sources`."""

    id: str
    title: str
    url: str
    items: int
    refreshed_at: str | None
    status: str
    last_error: str | None


@dataclass(frozen=True)
class SourceInfo:
    """A row of `qabot sources`."""

    id: str
    title: str
    kind: str
    location: str
    chunks: int
    indexed_at: str
    status: str
    last_error: str | None


def source_rows(index: LoadedIndex) -> list[SourceInfo]:
    """The rows of `qabot sources` for a loaded generation."""
    counts = index.chunks.counts()
    return [
        SourceInfo(e.source.id, e.source.title, e.source.kind, e.source.location,
                   counts.get(e.source.id, 0), e.indexed_at, e.status, e.last_error)
        for e in index.sources.values()
    ]


class QAService:
    """One space: answers from the live generation (reloaded when a new one is swapped in), and
    its sources, changed through ``catalog``."""

    def __init__(
        self,
        settings: Settings,
        index_dir: Path,
        embedder: Embedder | None = None,
        annotator: Annotator = annotate,
        *,
        base: QAService | None = None,
        cache_path: Path | None = None,
        on_own_index: Callable[[bool], None] | None = None,
        stores: Stores | None = None,
    ) -> None:
        self.settings = settings
        self.index_dir = index_dir
        # A server's space is answered from ``base`` (the default space) until its moderators
        # change its sources; then it gets generations of its own, starting from base's sources.
        self.base = base
        self.live: LiveIndex = LiveIndex(settings, index_dir, embedder, base=base.live if base else None,
                              cache_path=cache_path or (base.live.cache_path if base else None),
                              on_own_index=on_own_index, stores=stores)
        self.catalog = SourceCatalog(self.live, annotator, warm=self.answerer)
        self._lock = threading.Lock()
        self._answerer: Answerer | None = None
        self.model: AnswerModel | None = None  # None: the fitted model shipped in index/model.json

    @property
    def embedder(self) -> Embedder:
        return self.live.embedder

    @property
    def stores(self) -> Stores | None:
        """The installation's stores (bot.db), or None for this directory's own files."""
        return self.live.stores

    @property
    def registered(self) -> bool:
        """PostgreSQL holds sources of this space (its index is rebuilt from them when needed)."""
        return self.live.registered

    @property
    def background(self) -> bool:
        """The bot: a space whose index is missing here is rebuilt in a thread, askers told to wait."""
        return self.live.background

    @background.setter
    def background(self, value: bool) -> None:
        self.live.background = value

    @property
    def own_index(self) -> bool:
        """True once this space has generations of its own (always, for the default space once built)."""
        return self.live.own_index

    def loaded(self) -> LoadedIndex:
        """The live generation (loading or reloading it if CURRENT moved); no retrieval state."""
        return self.live.loaded()

    def answerer(self) -> Answerer:
        """The Answerer over the live generation; cheap when nothing changed."""
        if self.live.serving() is not self.live and self.base is not None:
            return self.base.answerer()
        index = self.live.loaded()
        with self._lock:
            if self._answerer is None or self._answerer.retriever.index is not index:
                self._answerer = Answerer(Retriever(index, self.embedder, self.model), self.settings.answer)
            return self._answerer

    def unload(self) -> None:
        """Forget the loaded generation (the next question loads it again)."""
        with self._lock:
            self._answerer = None
            self.live.unload()

    def warm(self) -> None:
        """Load the index, the model (with one real query) and the parser now, not on first use.

        First use of each holds the interpreter lock for a few hundred milliseconds; a bot does
        it at start-up so that no question or reindex stalls its event loop later.
        """
        from index.speakers import load_parser

        try:
            self.answerer().ask("warm up")
        except IndexMismatchError as exc:
            # start anyway: questions get a clear message and a moderator's /reindex repairs it
            log.warning("%s", exc)
            self.embedder.embed_query(["warm up"])
        load_parser()

    def use_model(self, model: AnswerModel) -> None:
        """Answer with another answer model (``qabot eval --ablate``) from the next question on."""
        with self._lock:
            self.model = model
            self._answerer = None

    def ask(self, question: str, top_k: int | None = None, explain: bool = False,
            history: Sequence[Turn] = ()) -> Answer:
        """A verified, cited answer (or an honest not-found); ``explain`` adds every feature and weight.

        ``history``: the conversation's previous turns (see ``turn_of``); a follow-up is read with
        them and the answer says how it was understood.
        """
        question = " ".join(clean_text(question).split())
        if not question:
            raise InputError("The question is empty.")
        if len(question) > MAX_QUESTION_CHARS:
            raise InputError(
                f"The question is too long ({len(question)} characters; the limit is {MAX_QUESTION_CHARS})."
            )
        if top_k is not None and top_k < 1:
            raise InputError("--top-k must be at least 1.")
        if history:
            from index.speakers import load_parser

            understood = resolve(question, history, load_parser())
            if understood != question:
                answer = settle(self.answerer().ask(understood, top_k, explain), question, understood, history)
                return replace(answer, question=question, understood_as=understood)
        return self.answerer().ask(question, top_k, explain)

    @staticmethod
    def turn_of(answer: Answer | dict[str, Any]) -> Turn:
        """What a later follow-up needs of an answer (an Answer, or its stored JSON)."""
        return turn_of_json(answer.to_json() if isinstance(answer, Answer) else answer)

    def citation_status(self, source_id: str, start: int, end: int, text: str) -> str:
        """Whether an earlier answer's citation still matches the indexed text: current, changed or removed."""
        entry = self.loaded().sources.get(source_id)
        if entry is None:
            return "removed"
        return "current" if entry.source.text[start:end] == text else "changed"

    def follows_remote(self) -> bool:
        """True if this space has its own index with feeds or URL sources (what a refresh re-reads)."""
        if not self.own_index:
            return False
        index = self.loaded()
        return bool(index.feeds) or any(e.source.kind == "url" for e in index.sources.values())

    def list_sources(self) -> list[SourceInfo]:
        """What the live index holds."""
        return source_rows(self.loaded())

    def list_feeds(self) -> list[FeedInfo]:
        """The feeds this space follows, with how many items each has indexed and the last refresh."""
        index = self.loaded()
        counts: dict[str, int] = {}
        for entry in index.sources.values():
            if entry.source.feed:
                counts[entry.source.feed] = counts.get(entry.source.feed, 0) + 1
        return [FeedInfo(f.id, f.title, f.url, counts.get(f.url, 0), f.refreshed_at, f.status, f.last_error)
                for f in index.feeds.values()]
