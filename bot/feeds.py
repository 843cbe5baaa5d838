"""Following feeds: which items a space keeps, fetching only the new ones, dropping the stale.

Pure of the service: it works on a space's ``{source id: SourceEntry}`` and is given its fetchers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from bot.ids import free_id_in
from bot.retry import Backoff, ItemMemory
from index.errors import SourceError
from index.feeds import FeedDoc, FeedItem, current_items
from index.sources import source_id_for
from index.store import FeedEntry, SourceEntry, utc_now
from index.types import Source

log = logging.getLogger(__name__)


@dataclass
class FeedUpdate:
    """What one feed's refresh did to the space's sources."""

    added: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # already indexed: not fetched again
    removed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # item link -> why its article was not added
    duplicates: dict[str, str] = field(default_factory=dict)
    too_old: int = 0  # items older than feeds.max_age_days: not fetched
    beyond_max_items: int = 0  # items past the newest feeds.max_items
    over_limit: int = 0  # items that did not fit in the server's sources.max_sources
    waiting: int = 0  # items that failed or duplicated before, waiting for their next attempt
    moderator_removed: int = 0  # items a moderator removed: not added again
    not_reached: int = 0  # new items left for the next refresh: the change ran out of time


def feed_id(url: str, title: str) -> str:
    return source_id_for(url, f"feed {title}")


def apply_feed(
    doc: FeedDoc,
    entries: dict[str, SourceEntry],
    fetch_article: Callable[[str], Source],
    *,
    max_items: int,
    max_age_days: float,
    added_by: str | None,
    memory: ItemMemory | None = None,
    backoff: Backoff | None = None,
    room: int | None = None,
    expired: Callable[[], bool] = lambda: False,
) -> FeedUpdate:
    """Make ``entries`` hold exactly the feed's current items: new ones fetched (through the guarded
    fetcher), known ones kept as they are, the rest (too old, beyond max_items, gone from the
    feed) removed. Each item is one source, whatever the number of refreshes.

    ``memory``: the feed's remembered items (updated here): one that failed or duplicated
    another source waits for its next attempt (``backoff``), one a moderator removed is not
    added again. ``room``: at most this many items (the newest). ``expired``: checked before
    each fetch; once true, new items wait for the next refresh. Any exception while reading one
    item is that item's failure, never the feed's."""
    update = FeedUpdate()
    memory = memory if memory is not None else ItemMemory()
    backoff = backoff or Backoff()
    memory.keep_only({item.link for item in doc.items})
    known = {e.source.location: sid for sid, e in entries.items() if e.source.feed == doc.url}
    hashes = {e.source.content_hash: sid for sid, e in entries.items()}
    keep: set[str] = set()
    for item in _window(doc, max_items, max_age_days, room, update):
        if item.link in known:
            keep.add(known[item.link])
            update.kept.append(known[item.link])
            continue
        if item.link in memory.removed:
            update.moderator_removed += 1
            continue
        if not memory.due(item.link):
            update.waiting += 1
            continue
        if expired():
            update.not_reached += 1
            continue
        try:
            article = fetch_article(item.link)
            # a new id, never one another source or feed item holds
            sid = free_id_in(entries, source_id_for(item.link, item.title or article.title), item.link, doc.url)
        except Exception as exc:  # noqa: BLE001 - one item's failure, whatever it is, is that item's
            if expired():  # cut short by the change's deadline, not the item's fault: the next refresh
                update.not_reached += 1
                continue
            if isinstance(exc, SourceError):
                reason = str(exc)
            else:
                log.exception("feed item %s of %s failed", item.link, doc.url)
                reason = f"{item.link} could not be read ({type(exc).__name__}); the error has been logged."
            update.failed[item.link] = reason
            memory.fail(item.link, "failed", reason, backoff)
            continue
        if article.content_hash in hashes:
            update.duplicates[sid] = hashes[article.content_hash]
            memory.fail(item.link, "duplicate", f"same text as {hashes[article.content_hash]}", backoff)
            continue
        memory.forget(item.link)
        source = replace(article, id=sid, kind="feed", location=item.link, url=item.link, feed=doc.url,
                         title=item.title or article.title, date=item.published or article.date,
                         publisher=article.publisher or doc.title)
        entries[sid] = SourceEntry(source, added_by=added_by)
        hashes[source.content_hash] = sid
        known[item.link] = sid
        keep.add(sid)
        update.added.append(sid)
    for sid in [sid for sid, e in entries.items() if e.source.feed == doc.url and sid not in keep]:
        del entries[sid]
        update.removed.append(sid)
    return update


def _window(doc: FeedDoc, max_items: int, max_age_days: float, room: int | None,
            update: FeedUpdate) -> list[FeedItem]:
    """The items to hold, newest first, counting in ``update`` those left out and why."""
    fresh = current_items(doc, 0, max_age_days)
    update.too_old = len(doc.items) - len(fresh)
    window = current_items(doc, max_items, max_age_days)
    update.beyond_max_items = len(fresh) - len(window)
    if room is not None and len(window) > room:
        update.over_limit = len(window) - max(room, 0)
        window = window[:max(room, 0)]
    return window


def followed(doc: FeedDoc, previous: FeedEntry | None, added_by: str | None,
             memory: ItemMemory | None = None, note: str | None = None) -> FeedEntry:
    """The registry row after a successful fetch of ``doc`` (``note``: why it is only partly held)."""
    base = previous or FeedEntry(doc.url, feed_id(doc.url, doc.title), doc.title, added_by=added_by)
    if memory is not None:
        memory.failures, memory.retry_at = 0, None
    return replace(base, title=doc.title, etag=doc.etag, last_modified=doc.last_modified,
                   refreshed_at=utc_now(), status="limited" if note else "ok", last_error=note,
                   items=memory.dump() if memory is not None else base.items)
