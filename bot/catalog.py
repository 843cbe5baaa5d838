"""Source changes of one space: build, add, remove, reindex, follow and refresh feeds.

Every change holds the space's build lock, starts from the sources it serves now (a server's
space: the default space's until its first change), and ends in one new generation, written
by bot.building, or none when nothing changed. What it did comes back as a ChangeReport.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from bot.building import Annotator, Builder
from bot.caps import Caps
from bot.change import Running, TextBudget, text_bytes
from bot.feed_reading import FeedReader
from bot.feeds import followed
from bot.ids import assign_ids, own_feed_id
from bot.live import LiveIndex
from bot.progress import Progress
from bot.reading import SourceReader, configured_sources, failure_reason
from bot.report import ChangeReport, registry_state, revision_summary
from bot.retry import Backoff, ItemMemory, waiting_for
from index.errors import IndexMismatchError, QABotError, SourceError
from index.feeds import FeedDoc
from index.store import FeedEntry, SourceEntry, recover_entries
from index.types import Chunk, Source


class SourceCatalog:
    """What one space holds, and every change to it."""

    def __init__(self, live: LiveIndex, annotator: Annotator, warm: Callable[[], object]) -> None:
        self.live = live
        self.settings = live.settings
        self.running = Running(live.settings.sources.change_deadline_seconds)
        self.caps = Caps(live.settings, live.for_server)
        self.reader = SourceReader(live.settings, live.for_server, self.running)
        self.builder = Builder(live, annotator, warm)
        self.feeds = FeedReader(self.reader, self.builder, self.caps, self.running)
        self._left: set[str] = set()  # sources the last change did not reach: the next one starts with them

    # -- what a change starts from -------------------------------------------------------
    def configured_sources(self) -> list[Source]:
        """The sources named in the config (the bundled article unless turned off)."""
        return configured_sources(self.settings)

    def _entries_or_empty(self) -> dict[str, SourceEntry]:
        """The sources this space serves now: its own, else the default space's, else none."""
        serving = self.live.serving()
        return dict(serving.loaded().sources) if serving.own_index else {}

    def _feeds_or_empty(self) -> dict[str, FeedEntry]:
        """The feeds this space follows now (its own, else the default space's)."""
        serving = self.live.serving()
        try:
            return dict(serving.loaded().feeds) if serving.own_index else {}
        except IndexMismatchError:
            found = recover_entries(serving.index_dir)
            return {f.url: f for f in found[1]} if found else {}

    def _starting_entries(self) -> dict[str, SourceEntry]:
        """What a change starts from: the served sources, or the configured ones before any index."""
        if self.live.serving().own_index:
            return self._entries_or_empty()
        return {s.id: SourceEntry(s) for s in self.configured_sources()}

    def recover_sources(self) -> tuple[list[Source], str, list[FeedEntry]]:
        """What `qabot index --rebuild` rebuilds: the stored sources and feeds, else the configured sources."""
        index_dir = self.live.index_dir
        found = recover_entries(index_dir) if index_dir.exists() else None
        if found:
            entries, feeds, origin = found
            return [e.source for e in entries], origin, feeds
        return self.configured_sources(), "the configured sources (no readable stored sources)", []

    # -- changes -------------------------------------------------------------------------
    def build(self, sources: list[Source], *, progress: Progress | None = None, added_by: str | None = None,
              feeds: list[FeedEntry] | None = None) -> dict[str, object]:
        """Replace the index with exactly these sources (and feeds), atomically."""
        with self.live.lock():
            try:
                known = self._entries_or_empty()
            except QABotError:
                known = {}  # rebuilding a damaged index: registry fields start afresh
            sources = assign_ids(sources, known)  # the same location keeps its id
            self.caps.check(sources, len(sources))
            entries = [
                SourceEntry(src, known[src.id].added_by, known[src.id].added_at)
                if src.id in known else SourceEntry(src, added_by=added_by)
                for src in sources
            ]
            return self.builder.commit(entries, {f.url: f for f in feeds or []}, progress)

    def add_sources(self, sources: list[Source], *, added_by: str | None = None, progress: Progress | None = None,
                    feeds: list[FeedDoc] | None = None) -> ChangeReport:
        """Add sources (or replace a source at the same location with its new text), and follow
        feeds: each current item's article becomes a source of its own."""
        report = ChangeReport()
        with self.live.lock(), self.running.change():
            entries = self._starting_entries()
            followed_now = self._feeds_or_empty()
            self.caps.check_feeds(len(followed_now), len({d.url for d in feeds or [] if d.url not in followed_now}))
            budget = self.caps.text_budget(entries.values())
            prepared: dict[str, list[Chunk]] = {}
            for doc in feeds or []:
                previous = followed_now.get(doc.url)
                memory = ItemMemory.load(previous.items if previous else None)
                update, note = self.feeds.apply(doc, entries, added_by, memory, budget, prepared)
                followed_now[doc.url] = own_feed_id(followed(doc, previous, added_by, memory, note), entries,
                                                    followed_now)
                report.merge_feed(followed_now[doc.url].id, update)
            sources = assign_ids(sources, entries, {f.id for f in followed_now.values()})
            self.caps.check(sources, len(entries) + len([s for s in sources if s.id not in entries]))
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
            if report.added or report.updated or report.removed or feeds or not self.live.own_index:
                report.manifest = self.builder.commit(list(entries.values()), followed_now, progress, prepared)
        return report

    def add_urls(self, urls: list[str], *, added_by: str | None = None, progress: Progress | None = None,
                 extra: list[Source] | None = None) -> ChangeReport:
        """Add articles and follow feeds from URLs (plus ``extra`` sources already read), in one build."""
        sources: list[Source] = list(extra or [])
        feeds: list[FeedDoc] = []
        with self.running.change():
            for url in urls:
                got = self.reader.read_url(url)
                if isinstance(got, FeedDoc):
                    feeds.append(got)
                else:
                    sources.append(got)
            return self.add_sources(sources, added_by=added_by, progress=progress, feeds=feeds)

    def remove_source(self, source_id: str) -> ChangeReport:
        """Remove one source, or a feed with all its items; gone from answers once the new generation is live."""
        report = ChangeReport()
        with self.live.lock():
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
            report.manifest = self.builder.commit(list(entries.values()), feeds)
        return report

    def reindex(self, ids: list[str] | None = None, *, progress: Progress | None = None,
                remote_only: bool = False) -> ChangeReport:
        """Re-read sources from where they came from and refresh feeds; unchanged text is not
        re-embedded, unchanged URLs and feeds are not downloaded again (conditional requests).

        A source or feed that cannot be read again keeps its last good text and is marked failed,
        whatever the error; a failed URL source or feed waits before its next attempt (see
        bot.retry) unless named in ``ids``. Once the change's deadline has passed, what is not
        read yet waits for the next refresh. ``remote_only``: only URL sources and feeds (the
        scheduled refresh).
        """
        report = ChangeReport()
        with self.live.lock(), self.running.change() as change:
            found = None
            try:
                entries = self._entries_or_empty()
            except IndexMismatchError:
                # built by another qabot version (or damaged): re-read the stored sources, so an
                # upgrade is repaired by /reindex without anyone needing a shell
                found = recover_entries(self.live.serving().index_dir)
                if not found:
                    raise
                entries = {e.source.id: e for e in found[0]}
            feeds = self._feeds_or_empty() if found is None else {f.url: f for f in found[1]}
            feed_ids = {f.id: f.url for f in feeds.values()}
            unknown = [i for i in ids or [] if i not in entries and i not in feed_ids]
            if unknown:
                raise SourceError(f"No source with id {unknown[0]!r}.")
            before = registry_state(entries, feeds) if remote_only and found is None else None
            wanted = [i for i in ids or list(entries) if i in entries]
            budget = self.caps.text_budget(entries.values())
            prepared: dict[str, list[Chunk]] = {}
            chosen = [i for i in wanted if not remote_only or entries[i].source.kind == "url"]
            for sid in sorted(chosen, key=lambda i: i not in self._left):
                old = entries[sid]
                if ids is None and not Backoff.due(old.retry_at):
                    report.waiting[sid] = (f"not read again yet: failed {old.failures} time(s) in a row, next "
                                           f"attempt in {waiting_for(old.retry_at)}")
                elif change.expired():
                    report.waiting[sid] = change.reason()
                else:
                    entries[sid] = self._reread(old, report, budget, prepared)
            self._left = {sid for sid, why in report.waiting.items() if why == change.reason()}
            # the feeds refreshed longest ago first: a change cut short by its deadline moves on
            for fid, url in sorted(feed_ids.items(), key=lambda pair: feeds[pair[1]].refreshed_at or ""):
                if ids is None or fid in ids:
                    feeds[url] = self.feeds.refresh(feeds[url], entries, report, budget, prepared,
                                                    force=ids is not None)
            if before is not None and registry_state(entries, feeds) == before:
                return report  # a scheduled refresh that found nothing new writes no generation
            report.manifest = self.builder.commit(list(entries.values()), feeds, progress, prepared)
        return report

    def _reread(self, old: SourceEntry, report: ChangeReport, budget: TextBudget,
                prepared: dict[str, list[Chunk]]) -> SourceEntry:
        """One source read again: its new version, or unchanged, or marked failed (whatever the
        error: it keeps its last good text); cut short by the change's deadline, it waits."""
        sid = old.source.id
        change = self.running.now
        try:
            fresh, validators = self.reader.reread(old)
            if fresh is not None and fresh.content_hash != old.source.content_hash:
                self.caps.check_size(fresh)
                budget.admit(old.source.location, len(fresh.text.encode("utf-8"))
                             + len(old.source.text.encode("utf-8")), text_bytes(old))
                prepared[fresh.content_hash] = self.builder.prepare(SourceEntry(fresh)).chunks
        except Exception as exc:  # noqa: BLE001 - whatever it is, it is this source's failure only
            if change is not None and change.expired():  # cut short by the deadline: not this source's fault
                report.waiting[sid] = change.reason()
                return old
            reason = failure_reason(exc, old.source.location)
            report.failed[sid] = reason
            failures = old.failures + 1
            return replace(old, status="failed", last_error=reason, failures=failures,
                           retry_at=self.caps.backoff().retry_at(failures) if old.source.kind == "url" else None)
        if fresh is None or fresh.content_hash == old.source.content_hash:
            report.unchanged.append(sid)
            return replace(old, status="ok", last_error=None, etag=validators[0] or old.etag,
                           last_modified=validators[1] or old.last_modified, failures=0, retry_at=None)
        fresh = replace(fresh, id=sid)
        report.updated.append(sid)
        report.revisions[sid] = revision_summary(old.source.text, fresh.text)
        return SourceEntry(fresh, old.added_by, old.added_at, previous_text=old.source.text,
                           etag=validators[0], last_modified=validators[1])
