"""QAService: ask, build and inspect the index. The one API both faces (CLI, Discord) use."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.answer import Answer, Answerer
from bot.config import Settings
from index.chunking import chunk_source
from index.embedder import Embedder, SentenceTransformerEmbedder
from index.errors import InputError, SourceError
from index.retriever import Retriever
from index.sources import expand_paths, read_file, slugify
from index.speakers import ATTRIBUTION_VERSION, annotate
from index.store import (
    BuildInput,
    LoadedIndex,
    SourceEntry,
    build_lock,
    current_generation,
    open_index,
    recover_entries,
    write_generation,
)
from index.types import Chunk, Source

BUNDLED_ARTICLE = Path(__file__).parent / "data" / "article.txt"
BUNDLED_META: dict[str, str | None] = {"publisher": "Al Jazeera", "date": "2022-02-14"}
MAX_QUESTION_CHARS = 2000

Annotator = Callable[[str, list[Chunk]], list[Chunk]]


def bundled_source() -> Source:
    """The article that ships with qabot, with its publication metadata."""
    source = read_file(BUNDLED_ARTICLE, kind="bundled", meta=BUNDLED_META)
    return Source(**{**source.__dict__, "id": slugify(source.title, 40), "location": "bundled:article.txt"})


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


class QAService:
    """Owns the embedder and the live index generation; reloads when a new one is swapped in."""

    def __init__(
        self,
        settings: Settings,
        index_dir: Path,
        embedder: Embedder | None = None,
        annotator: Annotator = annotate,
    ) -> None:
        self.settings = settings
        self.index_dir = index_dir
        self._embedder = embedder
        self.annotator = annotator
        self._lock = threading.Lock()
        self._answerer: Answerer | None = None
        self._generation: Path | None = None

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = SentenceTransformerEmbedder(self.settings.index.model)
        return self._embedder

    # -- sources -------------------------------------------------------------------------
    def configured_sources(self) -> list[Source]:
        """The sources named in the config (the bundled article unless turned off)."""
        sources = [bundled_source()] if self.settings.sources.include_bundled else []
        if self.settings.sources.paths:
            sources.extend(self.read_paths([self.settings.resolve(p) for p in self.settings.sources.paths]))
        if not sources:
            raise SourceError("No sources are configured: name some in sources.paths or pass them on the command line.")
        return sources

    def read_paths(self, paths: list[Path]) -> list[Source]:
        """Read files and directories of files; the first unreadable one stops the build."""
        sources = [read_file(p) for p in expand_paths(paths)]
        seen: dict[str, int] = {}
        unique = []
        for src in sources:
            if src.content_hash in seen:
                continue  # the same text named twice is indexed once
            seen[src.content_hash] = 1
            unique.append(src)
        return unique

    # -- building ------------------------------------------------------------------------
    def prepare(self, entry: SourceEntry) -> BuildInput:
        """Chunk and attribute one source."""
        chunks = chunk_source(entry.source.id, entry.source.text)
        if not any(c.sentences for c in chunks):
            raise SourceError(f"{entry.source.location} has no sentences to index.")
        return BuildInput(entry, self.annotator(entry.source.text, chunks))

    def build(
        self,
        sources: list[Source],
        *,
        progress: Callable[[int], None] | None = None,
        on_total: Callable[[int], None] | None = None,
        added_by: str | None = None,
    ) -> dict[str, object]:
        """Replace the index with exactly these sources, atomically."""
        inputs = [self.prepare(SourceEntry(src, added_by=added_by)) for src in sources]
        with build_lock(self.index_dir):
            manifest = write_generation(
                self.index_dir, inputs, self.embedder,
                attribution_version=ATTRIBUTION_VERSION, progress=progress, on_total=on_total,
            )
        return manifest

    # -- reading -------------------------------------------------------------------------
    def loaded(self) -> LoadedIndex:
        """The live generation (loading or reloading it if CURRENT moved)."""
        return self.answerer().retriever.index

    def answerer(self) -> Answerer:
        """The Answerer over the live generation; cheap when nothing changed."""
        generation = current_generation(self.index_dir)
        with self._lock:
            if self._answerer is None or generation != self._generation:
                index = open_index(self.index_dir, self.embedder.name, ATTRIBUTION_VERSION)
                self._answerer = Answerer(Retriever(index, self.embedder), self.settings.answer)
                self._generation = index.path
            return self._answerer

    def ask(self, question: str, top_k: int | None = None) -> Answer:
        """A verified, cited answer (or an honest not-found)."""
        question = " ".join(question.split())
        if not question:
            raise InputError("The question is empty.")
        if len(question) > MAX_QUESTION_CHARS:
            raise InputError(
                f"The question is too long ({len(question)} characters; the limit is {MAX_QUESTION_CHARS})."
            )
        if top_k is not None and top_k < 1:
            raise InputError("--top-k must be at least 1.")
        return self.answerer().ask(question, top_k)

    def list_sources(self) -> list[SourceInfo]:
        """What the live index holds."""
        index = self.loaded()
        counts: dict[str, int] = {}
        for chunk in index.chunks.values():
            counts[chunk.source_id] = counts.get(chunk.source_id, 0) + 1
        return [
            SourceInfo(e.source.id, e.source.title, e.source.kind, e.source.location,
                       counts.get(e.source.id, 0), e.indexed_at, e.status, e.last_error)
            for e in index.sources.values()
        ]

    def recover_sources(self) -> tuple[list[Source], str]:
        """What `qabot index --rebuild` rebuilds: the stored sources, else the configured ones."""
        found = recover_entries(self.index_dir) if self.index_dir.exists() else None
        if found:
            entries, origin = found
            return [e.source for e in entries], origin
        return self.configured_sources(), "the configured sources (no readable stored sources)"
