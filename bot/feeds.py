"""Following feeds: which items a space keeps, fetching only the new ones, dropping the stale.

Pure of the service: it works on a space's ``{source id: SourceEntry}`` and is given its fetchers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from bot.ids import free_id_in
from index.errors import SourceError
from index.feeds import FeedDoc, current_items
from index.sources import source_id_for
from index.store import FeedEntry, SourceEntry, utc_now
from index.types import Source


@dataclass
class FeedUpdate:
    """What one feed's refresh did to the space's sources."""

    added: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # already indexed: not fetched again
    removed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # item link -> why its article was not added
    duplicates: dict[str, str] = field(default_factory=dict)


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
) -> FeedUpdate:
    """Make ``entries`` hold exactly the feed's current items: new ones fetched (through the guarded
    fetcher), known ones kept as they are, the rest (too old, beyond max_items, gone from the
    feed) removed. Each item is one source, whatever the number of refreshes."""
    update = FeedUpdate()
    known = {e.source.location: sid for sid, e in entries.items() if e.source.feed == doc.url}
    hashes = {e.source.content_hash: sid for sid, e in entries.items()}
    keep: set[str] = set()
    for item in current_items(doc, max_items, max_age_days):
        if item.link in known:
            keep.add(known[item.link])
            update.kept.append(known[item.link])
            continue
        try:
            article = fetch_article(item.link)
            # a new id, never one another source or feed item holds
            sid = free_id_in(entries, source_id_for(item.link, item.title or article.title), item.link, doc.url)
        except SourceError as exc:
            update.failed[item.link] = str(exc)
            continue
        if article.content_hash in hashes:
            update.duplicates[sid] = hashes[article.content_hash]
            continue
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


def followed(doc: FeedDoc, previous: FeedEntry | None, added_by: str | None) -> FeedEntry:
    """The registry row after a successful fetch of ``doc``."""
    base = previous or FeedEntry(doc.url, feed_id(doc.url, doc.title), doc.title, added_by=added_by)
    return replace(base, title=doc.title, etag=doc.etag, last_modified=doc.last_modified,
                   refreshed_at=utc_now(), status="ok", last_error=None)
