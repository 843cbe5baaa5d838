"""RSS and Atom feeds: recognise one, and read its items (with feedparser, not regexes)."""

from __future__ import annotations

import calendar
import io
import re
import time
from dataclasses import dataclass
from typing import Any

from index.errors import SourceError

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+xml")
XML_TYPES = ("application/xml", "text/xml")
_ROOT = re.compile(rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*|<\?[^>]*>\s*)*<(rss|feed|rdf:RDF)\b",
                   re.DOTALL)


@dataclass(frozen=True)
class FeedItem:
    link: str
    title: str | None
    published: str | None  # YYYY-MM-DD
    timestamp: float | None  # seconds since the epoch, for ordering and age


@dataclass(frozen=True)
class FeedDoc:
    """A fetched feed: where it is, its title, its items, and the validators for the next request."""

    url: str
    title: str
    items: tuple[FeedItem, ...]
    etag: str | None = None
    last_modified: str | None = None


def is_feed(content_type: str, data: bytes) -> bool:
    """An RSS or Atom document, by content type or by its root element."""
    if content_type.startswith(FEED_TYPES):
        return True
    if content_type.startswith(XML_TYPES) or not content_type:
        return bool(_ROOT.match(data[:4096]))
    return False


def _when(entry: Any) -> float | None:
    """The item's time; None when it has none or one that cannot be a date (year 0, say)."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed:
            try:
                stamp = float(calendar.timegm(parsed))
                time.gmtime(stamp)
            except (ValueError, OverflowError, OSError, TypeError):
                continue
            return stamp
    return None


def parse_feed(data: bytes, url: str, etag: str | None = None, last_modified: str | None = None) -> FeedDoc:
    """The feed's title and items (those with a link), newest first; relative links resolve against ``url``."""
    import feedparser

    # A stream, never the bytes: feedparser opens a bytes or str argument as a local path if it can
    # (a body "/dev/zero" would be read forever, a FIFO would block, a local file would become the feed).
    try:
        parsed = feedparser.parse(io.BytesIO(data), response_headers={"content-location": url})
    except Exception as exc:  # noqa: BLE001 - feedparser lets some decoding errors of hostile bodies out
        raise SourceError(f"{url} is not a readable RSS or Atom feed ({type(exc).__name__}).") from None
    version = parsed.get("version") or ""
    if not version and parsed.get("bozo"):
        raise SourceError(f"{url} is not a readable RSS or Atom feed ({parsed.get('bozo_exception')}).")
    items = []
    for entry in parsed.entries:
        link = entry.get("link")
        if not link:
            continue
        stamp = _when(entry)
        title = " ".join(str(entry.get("title") or "").split()) or None
        published = time.strftime("%Y-%m-%d", time.gmtime(stamp)) if stamp is not None else None
        items.append(FeedItem(str(link), title, published, stamp))
    items.sort(key=lambda item: -(item.timestamp or 0.0))
    title = " ".join(str(parsed.feed.get("title") or "").split()) or url
    return FeedDoc(url, title, tuple(items), etag, last_modified)


def current_items(doc: FeedDoc, max_items: int, max_age_days: float, now: float | None = None) -> list[FeedItem]:
    """The items to keep: not older than ``max_age_days`` (0: any age), at most ``max_items`` newest."""
    now = time.time() if now is None else now
    fresh = [i for i in doc.items if not max_age_days or i.timestamp is None
             or now - i.timestamp <= max_age_days * 86400]
    return fresh[:max_items] if max_items else fresh
