"""Reading a followed feed in a change: its current items added, each on its own, or the feed
read again with a conditional request (the policy of which items to keep is bot.feeds)."""

from __future__ import annotations

from dataclasses import replace

from bot.building import Builder
from bot.caps import Caps
from bot.change import Running, TextBudget
from bot.feeds import FeedUpdate, apply_feed, followed
from bot.reading import SourceReader, failure_reason
from bot.report import ChangeReport
from bot.retry import Backoff, ItemMemory, waiting_for
from index.feeds import FeedDoc
from index.store import FeedEntry, SourceEntry, utc_now
from index.types import Chunk, Source


class FeedReader:
    """One space's feeds, read during its changes."""

    def __init__(self, reader: SourceReader, builder: Builder, caps: Caps, running: Running) -> None:
        self.reader = reader
        self.builder = builder
        self.caps = caps
        self.running = running

    def apply(
        self, doc: FeedDoc, entries: dict[str, SourceEntry], added_by: str | None, memory: ItemMemory,
        budget: TextBudget, prepared: dict[str, list[Chunk]],
    ) -> tuple[FeedUpdate, str | None]:
        """The feed's current items in ``entries``, each read, checked against the caps and
        annotated on its own (a failure is that item's); and why the feed is only partly held."""
        settings = self.caps.settings
        room = self.caps.room(entries.values(), doc.url)

        def read_item(link: str) -> Source:
            source = self.reader.fetch(link)
            self.caps.check_size(source)
            budget.admit(link, len(source.text.encode("utf-8")))
            prepared[source.content_hash] = self.builder.prepare(SourceEntry(source)).chunks
            return source

        update = apply_feed(doc, entries, read_item, max_items=settings.feeds.max_items,
                            max_age_days=settings.feeds.max_age_days, added_by=added_by, memory=memory,
                            backoff=self.caps.backoff(), room=room, expired=self.running.expired)
        note = None
        if update.over_limit:
            note = (f"holds only its newest {max(room or 0, 0)} of {max(room or 0, 0) + update.over_limit} "
                    f"items: this server may hold {settings.sources.max_sources} sources (sources.max_sources)")
        return update, note

    def refresh(self, feed: FeedEntry, entries: dict[str, SourceEntry], report: ChangeReport,
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
        change = self.running.now
        if change is not None and change.expired():
            report.waiting[feed.id] = change.reason()
            return feed
        try:
            doc = self.reader.read_feed(feed.url, feed.etag, feed.last_modified)
            if doc is None:
                report.feeds[feed.id] = "not modified since the last refresh"
                memory.failures, memory.retry_at = 0, None
                limited = feed.status == "limited"
                return replace(feed, refreshed_at=utc_now(), status="limited" if limited else "ok",
                               last_error=feed.last_error if limited else None, items=memory.dump())
            update, note = self.apply(doc, entries, feed.added_by, memory, budget, prepared)
        except Exception as exc:  # noqa: BLE001 - whatever it is, it is this feed's failure only
            if self.running.expired():
                report.waiting[feed.id] = change.reason() if change else ""
                return feed
            reason = failure_reason(exc, feed.url)
            report.failed[feed.id] = reason
            memory.failures += 1
            memory.retry_at = self.caps.backoff().retry_at(memory.failures)
            return replace(feed, refreshed_at=utc_now(), status="failed", last_error=reason, items=memory.dump())
        report.merge_feed(feed.id, update)
        return followed(doc, feed, feed.added_by, memory, note)
