"""QAService: ask, build and inspect the index. The one API both faces (CLI, Discord) use."""

from __future__ import annotations

import contextlib
import difflib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.change import Change, TextBudget, public_reason, text_bytes
from bot.config import Settings
from bot.feeds import FeedUpdate, apply_feed, followed
from bot.ids import assign_ids, own_feed_id
from bot.replica import Readiness, ensure_ready
from bot.retry import Backoff, ItemMemory, waiting_for
from index.answer import Answer, Answerer
from index.chunking import chunk_source
from index.embedder import Embedder, make_embedder
from index.errors import IndexMismatchError, InputError, QABotError, SourceError
from index.feeds import FEED_TYPES, XML_TYPES, FeedDoc, is_feed, parse_feed
from index.fetch import ACCEPTED_TYPES, Deadline, Fetched, article, fetch
from index.followup import Turn, resolve, settle, turn_of_json
from index.model import AnswerModel
from index.pdf import PDF_SECONDS
from index.retriever import Retriever
from index.sources import clean_text, expand_paths, read_file, slugify
from index.speakers import ATTRIBUTION_VERSION, annotate
from index.store import (
    BuildInput,
    FeedEntry,
    LoadedIndex,
    SourceEntry,
    build_lock,
    current_generation,
    index_exists,
    open_index,
    recover_entries,
    utc_now,
    write_generation,
)
from index.types import Chunk, Sentence, Source

if TYPE_CHECKING:
    from bot.db import Stores

log = logging.getLogger(__name__)

BUNDLED_ARTICLE = Path(__file__).parent / "data" / "article.txt"
BUNDLED_META: dict[str, str | None] = {"publisher": "Al Jazeera", "date": "2022-02-14"}
MAX_QUESTION_CHARS = 2000

Annotator = Callable[[str, list[Chunk]], list[Chunk]]
Progress = Callable[[int], None] | None


def revision_summary(old: str, new: str) -> str:
    """What changed between two versions, by paragraph: "2 added, 1 removed, 3 edited"."""
    a = [p.strip() for p in old.split("\n\n") if p.strip()]
    b = [p.strip() for p in new.split("\n\n") if p.strip()]
    added = removed = edited = 0
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "insert":
            added += j2 - j1
        elif op == "delete":
            removed += i2 - i1
        elif op == "replace":
            edited += min(i2 - i1, j2 - j1)
            added += max(0, (j2 - j1) - (i2 - i1))
            removed += max(0, (i2 - i1) - (j2 - j1))
    return f"{added} paragraph(s) added, {removed} removed, {edited} edited"


@dataclass
class ChangeReport:
    """What an add/remove/reindex did, for the CLI and the moderator's Discord reply."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    items_failed: dict[str, str] = field(default_factory=dict)  # feed item link -> why (the feed itself is fine)
    waiting: dict[str, str] = field(default_factory=dict)  # id -> why it was not read again this time
    duplicates: dict[str, str] = field(default_factory=dict)  # new id -> id already holding that text
    revisions: dict[str, str] = field(default_factory=dict)
    feeds: dict[str, str] = field(default_factory=dict)  # feed id -> what its refresh did
    manifest: dict[str, object] | None = None

    def merge_feed(self, fid: str, update: FeedUpdate) -> None:
        """One feed's refresh in this report: its new and dropped items, and the failures."""
        self.added.extend(update.added)
        self.removed.extend(update.removed)
        self.duplicates.update(update.duplicates)
        self.items_failed.update(update.failed)
        left_out = "".join(f"; {n} {why}" for n, why in _left_out(update) if n)
        self.feeds[fid] = (f"{len(update.added)} new item(s), {len(update.kept)} unchanged (not fetched again), "
                           f"{len(update.removed)} dropped{left_out}")

    def summary(self) -> str:
        """Short human-readable lines."""
        lines = []
        for label, ids in (("added", self.added), ("updated", self.updated), ("removed", self.removed),
                           ("unchanged", self.unchanged)):
            if ids:
                lines.append(f"{label}: {', '.join(ids)}")
        for sid, change in self.revisions.items():
            lines.append(f"{sid} changed: {change}")
        for fid, change in self.feeds.items():
            lines.append(f"feed {fid}: {change}")
        for sid, other in self.duplicates.items():
            lines.append(f"{sid}: same text as {other}, not added again")
        for sid, error in self.failed.items():
            lines.append(f"{sid} FAILED (previous version still served): {error}")
        for link, error in self.items_failed.items():
            lines.append(f"feed item {link} not added: {error}")
        for sid, why in self.waiting.items():
            lines.append(f"{sid}: {why}")
        if self.manifest:
            counts = self.manifest["counts"]
            assert isinstance(counts, dict)
            lines.append(f"index: {counts['sources']} source(s), {counts['chunks']} passages, "
                         f"{self.manifest['indexed']} sentence(s) indexed by this change")
        return "\n".join(lines) or "nothing changed"


def _left_out(update: FeedUpdate) -> list[tuple[int, str]]:
    """The feed's items not held, by reason, for the moderator."""
    return [
        (update.too_old, "skipped as older than feeds.max_age_days"),
        (update.beyond_max_items, "skipped past the newest feeds.max_items"),
        (update.over_limit, "skipped: this server holds at most sources.max_sources sources"),
        (update.waiting, "failed or duplicated before, waiting to be tried again"),
        (update.moderator_removed, "removed by a moderator, not added again"),
        (update.not_reached, "left for the next refresh (sources.change_deadline_seconds reached)"),
    ]


def bundled_source() -> Source:
    """The article that ships with qabot, with its publication metadata."""
    source = read_file(BUNDLED_ARTICLE, kind="bundled", meta=BUNDLED_META)
    return Source(**{**source.__dict__, "id": slugify(source.title, 40), "location": "bundled:article.txt"})


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


def _state(entries: dict[str, SourceEntry], feeds: dict[str, FeedEntry]) -> tuple[object, ...]:
    """What a refresh can change that is worth a new generation (not the time it was checked)."""
    return (tuple((k, e.source.content_hash, e.status, e.last_error, e.etag, e.last_modified, e.failures, e.retry_at)
                  for k, e in sorted(entries.items())),
            tuple((u, f.title, f.etag, f.last_modified, f.status, f.last_error, f.items)
                  for u, f in sorted(feeds.items())))


class QAService:
    """Owns the embedder and the live index generation; reloads when a new one is swapped in."""

    def __init__(
        self,
        settings: Settings,
        index_dir: Path,
        embedder: Embedder | None = None,
        annotator: Annotator = annotate,
        *,
        base: QAService | None = None,
        cache_path: Path | None = None,
        stores: Stores | None = None,
    ) -> None:
        self.settings = settings
        self.index_dir = index_dir
        self._embedder = embedder
        self.annotator = annotator
        # A server's space is answered from ``base`` (the default space) until its moderators
        # change its sources; then it gets generations of its own, starting from base's sources.
        self.base = base
        self.cache_path = cache_path or index_dir / "cache.sqlite"
        # Served by base? Known without touching disk once asked, built, or told by Spaces; None: unknown.
        self.shares_base: bool | None = None
        self._lock = threading.Lock()
        self._answerer: Answerer | None = None
        self._generation: Path | None = None
        self.model: AnswerModel | None = None  # None: the fitted model shipped in index/model.json
        self._change: Change | None = None  # the deadline of the change running now, if any
        self._left: set[str] = set()  # sources the last change did not reach: the next one starts with them
        # Where sources, cache and records are kept (bot.db: SQLite files, or PostgreSQL shared by
        # several machines); None: this directory's own files, as the lower-level tests use.
        self.stores: Stores | None = stores if stores is not None else (base.stores if base is not None else None)
        self.space: int | None = None  # the server this space is (None: the default space); set by Spaces
        self.registered = False  # the shared registry holds sources of this space (set by Spaces)
        self.background = False  # the bot: a missing index is rebuilt in a thread (bot.replica)
        self.locked_by: int | None = None  # the thread running a change of this space now
        self._readiness = Readiness()

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            if self.base is not None:
                return self.base.embedder  # one model in memory for every space
            index = self.settings.index
            self._embedder = make_embedder(index.model, index.backend, self.settings.model_cache(self.index_dir))
        return self._embedder

    @property
    def own_index(self) -> bool:
        """True once this space has generations of its own (always, for the default space once built)."""
        return index_exists(self.index_dir) or self.registered

    @contextlib.contextmanager
    def _space_lock(self) -> Iterator[None]:
        """Held while a change of this space runs: its build lock, and with a shared registry the
        lock every process takes for this server (BusyError if another change holds either)."""
        lock = self.stores.registry.lock(self.space) if self.stores else build_lock(self.index_dir)
        with lock:
            self.locked_by = threading.get_ident()
            try:
                yield
            finally:
                self.locked_by = None

    def _serving(self) -> QAService:
        """The space whose index answers: this one, or the default space it still shares."""
        if self.base is not None and not self.own_index:
            return self.base
        return self

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
    def prepare(self, entry: SourceEntry, reuse: dict[str, list[Chunk]] | None = None) -> BuildInput:
        """Chunk and attribute one source (or reuse what the live index holds for the same text)."""
        if reuse and entry.source.content_hash in reuse:
            return BuildInput(entry, reuse[entry.source.content_hash])
        chunks = chunk_source(entry.source.id, entry.source.text)
        if not any(c.sentences for c in chunks):
            raise SourceError(f"{entry.source.location} has no sentences to index.")
        return BuildInput(entry, self.annotator(entry.source.text, chunks))

    def _reusable(self) -> dict[str, list[Chunk]]:
        """Annotated chunks of the live generation by content hash, so unchanged text is not redone."""
        try:
            index = self.loaded()
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

    def _commit(
        self, entries: list[SourceEntry], progress: Progress = None, on_total: Progress = None,
        feeds: dict[str, FeedEntry] | None = None, prepared: dict[str, list[Chunk]] | None = None,
    ) -> dict[str, object]:
        """Write a generation of exactly these entries (and these feeds; None: the feeds followed
        now; ``prepared``: chunks already annotated, by content hash). The caller holds the build lock."""
        if feeds is None:
            feeds = self._feeds_or_empty()
        reuse = self._reusable()
        held = set(reuse)  # text this space's own index already had
        reuse.update(prepared or {})
        inputs = [self.prepare(e, reuse) for e in entries]

        def write(revision: int | None) -> dict[str, object]:
            return write_generation(
                self.index_dir, inputs, self.embedder, attribution_version=ATTRIBUTION_VERSION,
                progress=progress, on_total=on_total, cache_path=self.cache_path, feeds=list(feeds.values()),
                approximate_from=self.settings.index.approximate_from,
                cache=self.stores.cache if self.stores and self.stores.registry.shared else None,
                stamp={"registry_revision": revision} if revision is not None else None,
            )

        # the registry (the generation itself, or PostgreSQL's rows in the same step) then the index
        manifest = self.stores.registry.commit(self.space, entries, list(feeds.values()), write) \
            if self.stores else write(None)
        self.registered = self.registered or bool(self.stores and self.stores.registry.shared)
        # what this change indexed, never what the shared cache held (that would tell a server
        # whether another had indexed the same sentence)
        manifest["indexed"] = sum(len(c.sentences) for e, item in zip(entries, inputs, strict=True)
                                  if e.source.content_hash not in held for c in item.chunks)
        self.shares_base = False
        with contextlib.suppress(QABotError):
            self.answerer()  # load it and derive retrieval's state here, not in the next question
        return manifest

    def _check_limits(self, sources: list[Source], total: int) -> None:
        """The configured caps: sources per server and bytes per source."""
        limits = self.settings.sources
        for src in sources:
            self._check_size(src)
        if self.base is not None and total > limits.max_sources:  # a server's space; the operator's is not capped
            raise SourceError(f"That would make {total} sources; the limit is {limits.max_sources} "
                              "(sources.max_sources). Remove some first.")

    def _check_size(self, src: Source) -> None:
        """``sources.max_source_bytes``, on add and on every refresh."""
        size = len(src.text.encode("utf-8"))
        limit = self.settings.sources.max_source_bytes
        if size > limit:
            raise SourceError(f"{src.location} holds {size:,} bytes of text; the limit per source is "
                              f"{limit:,} (sources.max_source_bytes).")

    def _text_budget(self, entries: Iterable[SourceEntry]) -> TextBudget:
        """The text a server's sources may hold (the default space, the operator's, is not capped)."""
        return TextBudget(self.settings.guilds.max_text_bytes if self.base is not None else None, entries)

    def _backoff(self) -> Backoff:
        limits = self.settings.sources
        return Backoff(limits.retry_minutes * 60, limits.retry_max_hours * 3600)

    @contextlib.contextmanager
    def _changing(self) -> Iterator[Change]:
        """The deadline of the change running now (a change inside another shares its deadline)."""
        if self._change is not None:
            yield self._change
            return
        self._change = Change(self.settings.sources.change_deadline_seconds)
        try:
            yield self._change
        finally:
            self._change = None

    def _expired(self) -> bool:
        return self._change is not None and self._change.expired()

    def _reason(self, exc: Exception, location: str) -> str:
        """One item's failure, in one short line (anything unexpected also goes to the log, in full)."""
        if isinstance(exc, QABotError):
            return str(exc)
        log.error("reading %s failed", location, exc_info=exc)
        return f"{location} could not be read ({type(exc).__name__}); the error has been logged."

    def build(
        self,
        sources: list[Source],
        *,
        progress: Progress = None,
        on_total: Progress = None,
        added_by: str | None = None,
        feeds: list[FeedEntry] | None = None,
    ) -> dict[str, object]:
        """Replace the index with exactly these sources (and feeds), atomically."""
        with self._space_lock():
            try:
                known = self._entries_or_empty()
            except QABotError:
                known = {}  # rebuilding a damaged index: registry fields start afresh
            sources = assign_ids(sources, known)  # the same location keeps its id
            self._check_limits(sources, len(sources))
            entries = [
                SourceEntry(src, known[src.id].added_by, known[src.id].added_at)
                if src.id in known else SourceEntry(src, added_by=added_by)
                for src in sources
            ]
            return self._commit(entries, progress, on_total, {f.url: f for f in feeds or []})

    def _entries_or_empty(self) -> dict[str, SourceEntry]:
        """The sources this space serves now: its own, else the default space's, else none."""
        if self.own_index:
            return dict(self.loaded().sources)
        if self.base is not None:
            return self.base._entries_or_empty()
        return {}

    def _feeds_or_empty(self) -> dict[str, FeedEntry]:
        """The feeds this space follows now (its own, else the default space's)."""
        try:
            if self.own_index:
                return dict(self.loaded().feeds)
            return self.base._feeds_or_empty() if self.base is not None else {}
        except IndexMismatchError:
            found = recover_entries(self._serving().index_dir)
            return {f.url: f for f in found[1]} if found else {}

    def _starting_entries(self) -> dict[str, SourceEntry]:
        """What a change starts from: the served sources, or the configured ones before any index."""
        if self.own_index or self.base is not None and self.base.own_index:
            return self._entries_or_empty()
        root = self.base or self
        return {s.id: SourceEntry(s) for s in root.configured_sources()}

    def add_sources(
        self, sources: list[Source], *, added_by: str | None = None, progress: Progress = None,
        on_total: Progress = None, feeds: list[FeedDoc] | None = None,
    ) -> ChangeReport:
        """Add sources (or replace a source at the same location with its new text), and follow
        feeds: each current item's article becomes a source of its own."""
        report = ChangeReport()
        with self._space_lock(), self._changing():
            entries = self._starting_entries()
            followed_now = self._feeds_or_empty()
            new_feeds = {doc.url for doc in feeds or [] if doc.url not in followed_now}
            cap = self.settings.feeds.max_feeds
            if self.base is not None and new_feeds and len(followed_now) + len(new_feeds) > cap:
                raise SourceError(f"This server follows {len(followed_now)} feed(s); the limit is {cap} "
                                  "(feeds.max_feeds). Remove one first.")
            budget = self._text_budget(entries.values())
            prepared: dict[str, list[Chunk]] = {}
            for doc in feeds or []:
                previous = followed_now.get(doc.url)
                memory = ItemMemory.load(previous.items if previous else None)
                update, note = self._apply_feed(doc, entries, added_by, memory, budget, prepared)
                followed_now[doc.url] = own_feed_id(followed(doc, previous, added_by, memory, note), entries,
                                                    followed_now)
                report.merge_feed(followed_now[doc.url].id, update)
            sources = assign_ids(sources, entries, {f.id for f in followed_now.values()})
            self._check_limits(sources, len(entries) + len([s for s in sources if s.id not in entries]))
            hashes = {e.source.content_hash: e.source.id for e in entries.values()}
            for src in sources:
                old = entries.get(src.id)
                if old is not None and old.source.content_hash == src.content_hash:
                    report.unchanged.append(src.id)
                elif old is None and src.content_hash in hashes:
                    report.duplicates[src.id] = hashes[src.content_hash]
                elif old is not None:
                    budget.admit(src.location, len(src.text.encode("utf-8")) + len(old.source.text.encode("utf-8")),
                                 text_bytes(old))
                    report.updated.append(src.id)
                    report.revisions[src.id] = revision_summary(old.source.text, src.text)
                    entries[src.id] = SourceEntry(src, old.added_by, old.added_at, previous_text=old.source.text)
                else:
                    budget.admit(src.location, len(src.text.encode("utf-8")))
                    report.added.append(src.id)
                    entries[src.id] = SourceEntry(src, added_by=added_by)
                    hashes[src.content_hash] = src.id
            if report.added or report.updated or report.removed or feeds or not self.own_index:
                report.manifest = self._commit(list(entries.values()), progress, on_total, followed_now, prepared)
        return report

    def _apply_feed(
        self, doc: FeedDoc, entries: dict[str, SourceEntry], added_by: str | None, memory: ItemMemory,
        budget: TextBudget, prepared: dict[str, list[Chunk]],
    ) -> tuple[FeedUpdate, str | None]:
        """The feed's current items in ``entries``, each read, checked against the caps and
        annotated on its own (a failure is that item's); and why the feed is only partly held."""
        settings = self.settings.feeds
        room = None
        if self.base is not None:
            room = self.settings.sources.max_sources - sum(1 for e in entries.values() if e.source.feed != doc.url)

        def read_item(link: str) -> Source:
            source = self.fetch(link)
            self._check_size(source)
            budget.admit(link, len(source.text.encode("utf-8")))
            prepared[source.content_hash] = self.prepare(SourceEntry(source)).chunks
            return source

        update = apply_feed(doc, entries, read_item, max_items=settings.max_items,
                            max_age_days=settings.max_age_days, added_by=added_by, memory=memory,
                            backoff=self._backoff(), room=room, expired=self._expired)
        note = None
        if update.over_limit:
            note = (f"holds only its newest {max(room or 0, 0)} of {max(room or 0, 0) + update.over_limit} "
                    f"items: this server may hold {self.settings.sources.max_sources} sources (sources.max_sources)")
        return update, note

    def remove_source(self, source_id: str) -> ChangeReport:
        """Remove one source, or a feed with all its items; gone from answers once the new generation is live."""
        report = ChangeReport()
        with self._space_lock():
            entries = self._entries_or_empty()
            feeds = self._feeds_or_empty()
            feed = next((f for f in feeds.values() if f.id == source_id), None)
            if feed is not None:
                del feeds[feed.url]
                for sid in [sid for sid, e in entries.items() if e.source.feed == feed.url]:
                    del entries[sid]
            elif source_id in entries:
                gone = entries.pop(source_id).source
                owner = feeds.get(gone.feed) if gone.feed else None
                if owner is not None:  # an item of a feed still followed: not added again at its next refresh
                    memory = ItemMemory.load(owner.items)
                    memory.removed.append(gone.location)
                    feeds[owner.url] = replace(owner, items=memory.dump())
            else:
                known = ", ".join(sorted([*entries, *(f.id for f in feeds.values())])) or "none"
                raise SourceError(f"No source with id {source_id!r} (known: {known}).")
            report.removed.append(source_id)
            report.manifest = self._commit(list(entries.values()), feeds=feeds)
        return report

    def reindex(
        self, ids: list[str] | None = None, *, progress: Progress = None, on_total: Progress = None,
        fetch: Callable[[str], Source] | None = None, remote_only: bool = False,
    ) -> ChangeReport:
        """Re-read sources from where they came from and refresh feeds; unchanged text is not
        re-embedded, unchanged URLs and feeds are not downloaded again (conditional requests).

        A source or feed that cannot be read again keeps its last good text and is marked failed,
        whatever the error; a failed URL source or feed waits before its next attempt (see
        bot.retry) unless named in ``ids``. Once the change's deadline has passed, what is not
        read yet waits for the next refresh. ``remote_only``: only URL sources and feeds (the
        scheduled refresh).
        """
        report = ChangeReport()
        with self._space_lock(), self._changing() as change:
            found = None
            try:
                entries = self._entries_or_empty()
            except IndexMismatchError:
                # built by another qabot version (or damaged): re-read the stored sources, so an
                # upgrade is repaired by /reindex without anyone needing a shell
                found = recover_entries(self._serving().index_dir)
                if not found:
                    raise
                entries = {e.source.id: e for e in found[0]}
            feeds = self._feeds_or_empty() if found is None else {f.url: f for f in found[1]}
            feed_ids = {f.id: f.url for f in feeds.values()}
            unknown = [i for i in ids or [] if i not in entries and i not in feed_ids]
            if unknown:
                raise SourceError(f"No source with id {unknown[0]!r}.")
            before = _state(entries, feeds) if remote_only and found is None else None
            wanted = [i for i in ids or list(entries) if i in entries]
            budget = self._text_budget(entries.values())
            prepared: dict[str, list[Chunk]] = {}
            backoff = self._backoff()
            chosen = [i for i in wanted if not remote_only or entries[i].source.kind == "url"]
            for sid in sorted(chosen, key=lambda i: i not in self._left):
                old = entries[sid]
                if ids is None and not Backoff.due(old.retry_at):
                    report.waiting[sid] = (f"not read again yet: failed {old.failures} time(s) in a row, next "
                                           f"attempt in {waiting_for(old.retry_at)}")
                    continue
                if change.expired():
                    report.waiting[sid] = change.reason()
                    continue
                try:
                    fresh, validators = self._reread(old, fetch)
                    if fresh is not None and fresh.content_hash != old.source.content_hash:
                        self._check_size(fresh)
                        budget.admit(old.source.location, len(fresh.text.encode("utf-8"))
                                     + len(old.source.text.encode("utf-8")), text_bytes(old))
                        prepared[fresh.content_hash] = self.prepare(SourceEntry(fresh)).chunks
                except Exception as exc:  # noqa: BLE001 - whatever it is, it is this source's failure only
                    if change.expired():  # cut short by the change's deadline: not this source's fault
                        report.waiting[sid] = change.reason()
                        continue
                    reason = self._reason(exc, old.source.location)
                    report.failed[sid] = reason
                    failures = old.failures + 1
                    entries[sid] = replace(old, status="failed", last_error=reason, failures=failures,
                                           retry_at=backoff.retry_at(failures) if old.source.kind == "url" else None)
                    continue
                if fresh is None or fresh.content_hash == old.source.content_hash:
                    report.unchanged.append(sid)
                    entries[sid] = replace(old, status="ok", last_error=None, etag=validators[0] or old.etag,
                                           last_modified=validators[1] or old.last_modified, failures=0,
                                           retry_at=None)
                    continue
                fresh = replace(fresh, id=sid)
                report.updated.append(sid)
                report.revisions[sid] = revision_summary(old.source.text, fresh.text)
                entries[sid] = SourceEntry(fresh, old.added_by, old.added_at, previous_text=old.source.text,
                                           etag=validators[0], last_modified=validators[1])
            self._left = {sid for sid, why in report.waiting.items() if why == change.reason()}
            # the feeds refreshed longest ago first: a change cut short by its deadline moves on
            for fid, url in sorted(feed_ids.items(), key=lambda pair: feeds[pair[1]].refreshed_at or ""):
                if ids is None or fid in ids:
                    feeds[url] = self._refresh_feed(feeds[url], entries, report, budget, prepared,
                                                    force=ids is not None)
            if before is not None and _state(entries, feeds) == before:
                return report  # a scheduled refresh that found nothing new writes no generation
            report.manifest = self._commit(list(entries.values()), progress, on_total, feeds, prepared)
        return report

    def _refresh_feed(self, feed: FeedEntry, entries: dict[str, SourceEntry], report: ChangeReport,
                      budget: TextBudget, prepared: dict[str, list[Chunk]], force: bool = False) -> FeedEntry:
        """One feed re-read with a conditional request; a failure, whatever it is, keeps its items,
        records why and waits before the next attempt (``force``: try now, failed items too)."""
        memory = ItemMemory.load(feed.items)
        if force:
            memory.skipped.clear()
        elif not Backoff.due(memory.retry_at):
            report.waiting[feed.id] = (f"feed not read again yet: failed {memory.failures} time(s) in a row, "
                                       f"next attempt in {waiting_for(memory.retry_at)}")
            return feed
        if self._change is not None and self._change.expired():
            report.waiting[feed.id] = self._change.reason()
            return feed
        try:
            got = self._get(feed.url, FEED_TYPES + XML_TYPES, feed.etag, feed.last_modified)
            if got.not_modified:
                report.feeds[feed.id] = "not modified since the last refresh"
                memory.failures, memory.retry_at = 0, None
                limited = feed.status == "limited"
                return replace(feed, refreshed_at=utc_now(), status="limited" if limited else "ok",
                               last_error=feed.last_error if limited else None, items=memory.dump())
            doc = parse_feed(got.data, feed.url, got.etag, got.last_modified)
            update, note = self._apply_feed(doc, entries, feed.added_by, memory, budget, prepared)
        except Exception as exc:  # noqa: BLE001 - whatever it is, it is this feed's failure only
            if self._expired():
                report.waiting[feed.id] = self._change.reason() if self._change else ""
                return feed
            reason = self._reason(exc, feed.url)
            report.failed[feed.id] = reason
            memory.failures += 1
            memory.retry_at = self._backoff().retry_at(memory.failures)
            return replace(feed, refreshed_at=utc_now(), status="failed", last_error=reason, items=memory.dump())
        report.merge_feed(feed.id, update)
        return followed(doc, feed, feed.added_by, memory, note)

    def _reread(
        self, entry: SourceEntry, fetch: Callable[[str], Source] | None
    ) -> tuple[Source | None, tuple[str | None, str | None]]:
        """The source read again (None: cannot be, or not modified) and the URL's new validators."""
        source = entry.source
        if source.kind == "bundled":
            return bundled_source(), (None, None)
        if source.kind == "file":
            return read_file(Path(source.location), **self._reading()), (None, None)
        if source.kind == "url":
            if fetch is not None:
                return fetch(source.location), (None, None)
            got = self._get(source.location, ACCEPTED_TYPES, entry.etag, entry.last_modified)
            if got.not_modified:
                return None, (got.etag, got.last_modified)
            return article(got, source.location, **self._reading()), (got.etag, got.last_modified)
        return None, (None, None)  # attachments cannot be read again; feed items come with their feed

    def _fetch_options(self) -> dict[str, Any]:
        """The configured limits; a fetch during a change gets at most the time it has left.
        ``fetch.allowed_hosts`` (the operator's intranet) is for the default space only."""
        settings = self.settings.fetch
        timeout = settings.timeout_seconds
        if self._change is not None:
            timeout = self._change.timeout(timeout)
        hosts = settings.allowed_hosts if self.base is None else settings.guild_allowed_hosts
        return {"timeout": timeout, "max_bytes": settings.max_bytes, "allowed_hosts": tuple(hosts)}

    def _reading(self) -> dict[str, Any]:
        """A PDF read during a change gets its own budget (``PDF_SECONDS``) or, if less, what the
        change has left; outside a change, its own budget."""
        if self._change is None or self._change.deadline is None:
            return {}
        return {"deadline": Deadline(self._change.timeout(PDF_SECONDS))}

    def _public(self, exc: SourceError, url: str) -> SourceError:
        """A server sees no address the bot resolved (the operator, in the default space, does)."""
        return exc if self.base is None else SourceError(public_reason(str(exc), url))

    def _get(self, url: str, accept: tuple[str, ...], etag: str | None = None,
             last_modified: str | None = None) -> Fetched:
        try:
            return fetch(url, **self._fetch_options(), accept=accept, etag=etag, last_modified=last_modified)
        except SourceError as exc:
            raise self._public(exc, url) from None

    def fetch(self, url: str) -> Source:
        """Fetch an article with the configured limits."""
        return article(self._get(url, ACCEPTED_TYPES), url, **self._reading())

    def read_url(self, url: str) -> Source | FeedDoc:
        """An article, or an RSS/Atom feed (recognised by content type or root element)."""
        got = self._get(url, ACCEPTED_TYPES + FEED_TYPES + XML_TYPES)
        if is_feed(got.content_type, got.data):
            return parse_feed(got.data, url, got.etag, got.last_modified)
        if got.content_type.startswith(XML_TYPES + FEED_TYPES):
            raise SourceError(f"{url} is XML but not an RSS or Atom feed.")
        return article(got, url, **self._reading())

    def add_urls(self, urls: list[str], *, added_by: str | None = None, progress: Progress = None,
                 on_total: Progress = None, extra: list[Source] | None = None) -> ChangeReport:
        """Add articles and follow feeds from URLs (plus ``extra`` sources already read), in one build."""
        sources: list[Source] = list(extra or [])
        feeds: list[FeedDoc] = []
        with self._changing():
            for url in urls:
                got = self.read_url(url)
                if isinstance(got, FeedDoc):
                    feeds.append(got)
                else:
                    sources.append(got)
            return self.add_sources(sources, added_by=added_by, progress=progress, on_total=on_total, feeds=feeds)

    def follows_remote(self) -> bool:
        """True if this space has its own index with feeds or URL sources (what a refresh re-reads)."""
        if not self.own_index:
            return False
        index = self.loaded()
        return bool(index.feeds) or any(e.source.kind == "url" for e in index.sources.values())

    def list_feeds(self) -> list[FeedInfo]:
        """The feeds this space follows, with how many items each has indexed and the last refresh."""
        index = self.loaded()
        counts: dict[str, int] = {}
        for entry in index.sources.values():
            if entry.source.feed:
                counts[entry.source.feed] = counts.get(entry.source.feed, 0) + 1
        return [FeedInfo(f.id, f.title, f.url, counts.get(f.url, 0), f.refreshed_at, f.status, f.last_error)
                for f in index.feeds.values()]

    # -- reading -------------------------------------------------------------------------
    def loaded(self) -> LoadedIndex:
        """The live generation (loading or reloading it if CURRENT moved)."""
        return self.answerer().retriever.index

    def loaded_sources(self) -> list[SourceInfo] | None:
        """The sources of the index already in memory, without touching disk; None if none is loaded."""
        if self.shares_base is None:
            return None  # never asked yet: which index serves is not known without looking at disk
        serving = self.base if self.shares_base and self.base is not None else self
        answerer = serving._answerer
        return None if answerer is None else serving._rows(answerer.retriever.index)

    def unload(self) -> None:
        """Forget the loaded generation (the next question loads it again)."""
        with self._lock:
            self._answerer = None
            self._generation = None
            self.shares_base = None

    def answerer(self) -> Answerer:
        """The Answerer over the live generation; cheap when nothing changed."""
        serving = self._serving()
        self.shares_base = serving is not self
        if serving is not self:
            return serving.answerer()
        ensure_ready(self, self._readiness, loaded=self._answerer is not None)  # bot.replica
        generation = current_generation(self.index_dir)
        with self._lock:
            if self._answerer is None or generation != self._generation:
                index = open_index(self.index_dir, self.embedder.name, ATTRIBUTION_VERSION)
                self._answerer = Answerer(Retriever(index, self.embedder, self.model), self.settings.answer)
                self._generation = index.path
            return self._answerer

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

    def list_sources(self) -> list[SourceInfo]:
        """What the live index holds."""
        return self._rows(self.loaded())

    @staticmethod
    def _rows(index: LoadedIndex) -> list[SourceInfo]:
        counts = index.chunks.counts()
        return [
            SourceInfo(e.source.id, e.source.title, e.source.kind, e.source.location,
                       counts.get(e.source.id, 0), e.indexed_at, e.status, e.last_error)
            for e in index.sources.values()
        ]

    def recover_sources(self) -> tuple[list[Source], str, list[FeedEntry]]:
        """What `qabot index --rebuild` rebuilds: the stored sources and feeds, else the configured sources."""
        found = recover_entries(self.index_dir) if self.index_dir.exists() else None
        if found:
            entries, feeds, origin = found
            return [e.source for e in entries], origin, feeds
        return self.configured_sources(), "the configured sources (no readable stored sources)", []
