"""Building a generation: sources chunked and attributed (or reused from the live index when
their text is unchanged), embedded and written atomically."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from bot.live import LiveIndex
from bot.progress import Progress
from index.chunking import chunk_source
from index.errors import QABotError, SourceError
from index.speakers import ATTRIBUTION_VERSION
from index.store import BuildInput, FeedEntry, SourceEntry, write_generation
from index.types import Chunk, Sentence

Annotator = Callable[[str, list[Chunk]], list[Chunk]]


class Builder:
    """Writes one space's generations; the caller holds the build lock."""

    def __init__(self, live: LiveIndex, annotator: Annotator, warm: Callable[[], object]) -> None:
        self.live = live
        self.annotator = annotator
        self.warm = warm  # loads the new generation for answering, so the next question finds it ready
        live.prepare = self.prepare  # a rebuild from the shared registry (bot.replica) prepares alike

    def prepare(self, entry: SourceEntry, reuse: dict[str, list[Chunk]] | None = None) -> BuildInput:
        """Chunk and attribute one source (or reuse what the live index holds for the same text)."""
        if reuse and entry.source.content_hash in reuse:
            return BuildInput(entry, reuse[entry.source.content_hash])
        chunks = chunk_source(entry.source.id, entry.source.text)
        if not any(c.sentences for c in chunks):
            raise SourceError(f"{entry.source.location} has no sentences to index.")
        return BuildInput(entry, self.annotator(entry.source.text, chunks))

    def reusable(self) -> dict[str, list[Chunk]]:
        """Annotated chunks of the live generation by content hash, so unchanged text is not redone."""
        try:
            index = self.live.loaded()
        except QABotError:
            return {}
        by_chunk: dict[int, list[Sentence]] = {}
        for s in index.sentences:
            by_chunk.setdefault(s.chunk_id, []).append(
                Sentence(s.start, s.end, s.text, s.speakers, s.is_quote, s.entities)
            )
        out: dict[str, list[Chunk]] = {}
        for c in index.chunks.records():
            entry = index.sources[c.source_id]
            out.setdefault(entry.source.content_hash, []).append(
                Chunk(c.source_id, c.section, c.paragraph, c.start, c.end, c.text, c.role,
                      tuple(by_chunk.get(c.id, ())))
            )
        return out

    def commit(self, entries: list[SourceEntry], feeds: dict[str, FeedEntry], progress: Progress | None = None,
               prepared: dict[str, list[Chunk]] | None = None) -> dict[str, object]:
        """Write a generation of exactly these entries and feeds (``prepared``: chunks already
        annotated, by content hash) and load it."""
        reuse = self.reusable()
        held = set(reuse)  # text this space's own index already had
        reuse.update(prepared or {})
        inputs = [self.prepare(e, reuse) for e in entries]
        live = self.live

        def write(revision: int | None) -> dict[str, object]:
            return write_generation(
                live.index_dir, inputs, live.embedder, attribution_version=ATTRIBUTION_VERSION,
                progress=progress.step if progress else None, on_total=progress.total if progress else None,
                cache_path=live.cache_path, feeds=list(feeds.values()),
                approximate_from=live.settings.index.approximate_from,
                cache=live.stores.cache if live.stores and live.shared else None,
                stamp={"registry_revision": revision} if revision is not None else None,
            )

        # the registry (the generation itself, or PostgreSQL's rows in the same step) with the index
        stores = live.stores
        manifest = stores.registry.commit(live.space, entries, list(feeds.values()), write) if stores else write(None)
        live.registered = live.registered or live.shared
        # what this change indexed, never what the shared cache held (that would tell a server
        # whether another had indexed the same sentence)
        manifest["indexed"] = sum(len(c.sentences) for e, item in zip(entries, inputs, strict=True)
                                  if e.source.content_hash not in held for c in item.chunks)
        with contextlib.suppress(QABotError):
            self.warm()  # load it and derive retrieval's state here, not in the next question
        return manifest
