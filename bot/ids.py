"""Which id a source gets in a space: the one its location already holds, else one nobody else holds.

An id belongs to its owner, the pair (location, feed): a moderator's source (feed None) or one
feed's item. A source read again from the same location keeps the id it has, whatever its width
(indexes built before ids had 64 bits hold 6 hex digits), so it replaces its old version instead
of being added twice. A new source never takes an id another owner holds: it gets the id's longer
form, and if even that is held (a 160-bit collision) it is refused. So a feed publisher cannot
replace, or later delete, a moderator's source by making an item whose id equals it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import replace

from index.errors import SourceError
from index.sources import longer_id
from index.store import FeedEntry, SourceEntry
from index.types import Source

log = logging.getLogger(__name__)
Owner = tuple[str, str | None]  # (location, feed URL or None)


def owner(source: Source) -> Owner:
    return (source.location, source.feed)


def free_id(source_id: str, wanted_by: Owner, held_by: Callable[[str], Owner | None],
            reserved: Collection[str] = ()) -> str:
    """``source_id`` if nobody else holds it, else its longer form; SourceError if that is held too."""
    for candidate in (source_id, longer_id(source_id, wanted_by[0])):
        holder = held_by(candidate)
        if candidate not in reserved and holder in (None, wanted_by):
            if candidate != source_id:
                log.warning("id %s is held by another source; %s gets %s", source_id, wanted_by[0], candidate)
            return candidate
    raise SourceError(f"{wanted_by[0]}: its id {source_id} is held by another source, so it was not added.")


def free_id_in(entries: Mapping[str, SourceEntry], source_id: str, location: str, feed: str | None) -> str:
    """``free_id`` among a space's entries (for a feed's new item)."""
    return free_id(source_id, (location, feed), lambda sid: owner(entries[sid].source) if sid in entries else None)


def assign_ids(sources: Iterable[Source], entries: Mapping[str, SourceEntry],
               reserved: Collection[str] = ()) -> list[Source]:
    """Each source under the id its location already holds in ``entries``, else under a free id
    (``reserved``: ids of feeds, never given to a source)."""
    held: dict[str, Owner] = {sid: owner(e.source) for sid, e in entries.items()}
    by_owner = {who: sid for sid, who in held.items()}
    placed = []
    for src in sources:
        who = owner(src)
        sid = by_owner.get(who) or free_id(src.id, who, held.get, reserved)
        held[sid] = who
        by_owner[who] = sid
        placed.append(src if sid == src.id else replace(src, id=sid))
    return placed


def own_feed_id(feed: FeedEntry, entries: Mapping[str, SourceEntry], feeds: Mapping[str, FeedEntry]) -> FeedEntry:
    """A feed under an id that no source and no other feed holds (`/source remove` takes either)."""
    ids = {f.id: (url, "feed") for url, f in feeds.items()}

    def held_by(fid: str) -> Owner | None:
        return owner(entries[fid].source) if fid in entries else ids.get(fid)

    fid = free_id(feed.id, (feed.url, "feed"), held_by)
    return feed if fid == feed.id else replace(feed, id=fid)
