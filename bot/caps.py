"""The caps on a server's sources: how many, how large each, how much text in all, how many feeds.

The default space (the operator's) is capped only in bytes per source."""

from __future__ import annotations

from collections.abc import Iterable

from bot.change import TextBudget
from bot.config import Settings
from bot.retry import Backoff
from index.errors import SourceError
from index.store import SourceEntry
from index.types import Source


class Caps:
    """``sources.max_sources``, ``sources.max_source_bytes``, ``guilds.max_text_bytes``, ``feeds.max_feeds``
    and the wait after a failed read, for one space."""

    def __init__(self, settings: Settings, for_server: bool) -> None:
        self.settings = settings
        self.for_server = for_server

    def check(self, sources: list[Source], total: int) -> None:
        """Each source's size, and the number of sources the change would leave."""
        limits = self.settings.sources
        for src in sources:
            self.check_size(src)
        if self.for_server and total > limits.max_sources:
            raise SourceError(f"That would make {total} sources; the limit is {limits.max_sources} "
                              "(sources.max_sources). Remove some first.")

    def check_size(self, src: Source) -> None:
        """``sources.max_source_bytes``, on add and on every refresh."""
        size = len(src.text.encode("utf-8"))
        limit = self.settings.sources.max_source_bytes
        if size > limit:
            raise SourceError(f"{src.location} holds {size:,} bytes of text; the limit per source is "
                              f"{limit:,} (sources.max_source_bytes).")

    def check_feeds(self, following: int, new: int) -> None:
        """``feeds.max_feeds``: a server following ``following`` feeds may follow ``new`` more."""
        cap = self.settings.feeds.max_feeds
        if self.for_server and new and following + new > cap:
            raise SourceError(f"This server follows {following} feed(s); the limit is {cap} "
                              "(feeds.max_feeds). Remove one first.")

    def room(self, entries: Iterable[SourceEntry], feed_url: str) -> int | None:
        """How many sources a feed's items may take (None: not capped)."""
        if not self.for_server:
            return None
        return self.settings.sources.max_sources - sum(1 for e in entries if e.source.feed != feed_url)

    def text_budget(self, entries: Iterable[SourceEntry]) -> TextBudget:
        """The text a server's sources may hold (the default space, the operator's, is not capped)."""
        return TextBudget(self.settings.guilds.max_text_bytes if self.for_server else None, entries)

    def backoff(self) -> Backoff:
        limits = self.settings.sources
        return Backoff(limits.retry_minutes * 60, limits.retry_max_hours * 3600)
