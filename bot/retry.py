"""Remembered failures: what is not fetched again at every refresh, and when it is tried again.

A URL source, a feed or a feed item that fails waits ``sources.retry_minutes`` before the next
attempt, twice as long after each failure in a row, at most ``sources.retry_max_hours``. A feed
also remembers, per item link, the items that failed, those whose text another source already
holds, and those a moderator removed (never added again while they stay in the feed).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any


def clock() -> float:
    """Seconds since the epoch (a function, so that tests can move time)."""
    return time.time()


@dataclass(frozen=True)
class Backoff:
    """How long a failure in a row waits: first ``first_seconds``, doubled each time, capped."""

    first_seconds: float = 3600.0
    max_seconds: float = 86400.0

    def retry_at(self, failures: int) -> float:
        """When something that has failed ``failures`` times in a row may be fetched again."""
        wait = self.first_seconds * 2 ** min(max(failures - 1, 0), 32)
        return clock() + min(wait, self.max_seconds)

    @staticmethod
    def due(retry_at: float | None) -> bool:
        return retry_at is None or clock() >= retry_at


def waiting_for(retry_at: float | None) -> str:
    """'for 2 h 5 min' until ``retry_at`` (for messages)."""
    left = max(0, int((retry_at or 0) - clock()))
    hours, minutes = divmod((left + 59) // 60, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


@dataclass
class ItemMemory:
    """A feed's memory of its items, kept as JSON in its registry row (``FeedEntry.items``)."""

    skipped: dict[str, dict[str, Any]] = field(default_factory=dict)  # link -> kind, reason, failures, retry_at
    removed: list[str] = field(default_factory=list)  # links of items a moderator removed
    failures: int = 0  # the feed's own failed refreshes in a row
    retry_at: float | None = None

    @classmethod
    def load(cls, text: str | None) -> ItemMemory:
        """The memory stored in a registry row; anything unreadable starts afresh (it is only a cache)."""
        try:
            data = json.loads(text or "{}")
            skipped = {str(k): dict(v) for k, v in dict(data.get("skipped") or {}).items()}
            removed = [str(link) for link in data.get("removed") or []]
            retry_at = data.get("retry_at")
            return cls(skipped, removed, int(data.get("failures") or 0),
                       float(retry_at) if retry_at is not None else None)
        except (ValueError, TypeError, AttributeError):
            return cls()

    def dump(self) -> str | None:
        if not (self.skipped or self.removed or self.failures):
            return None
        return json.dumps({"skipped": self.skipped, "removed": self.removed, "failures": self.failures,
                           "retry_at": self.retry_at}, sort_keys=True)

    def due(self, link: str) -> bool:
        """False while a failed or duplicate item waits for its next attempt."""
        return Backoff.due((self.skipped.get(link) or {}).get("retry_at"))

    def fail(self, link: str, kind: str, reason: str, backoff: Backoff) -> None:
        """Remember that an item failed (``kind`` "failed") or duplicated another source ("duplicate")."""
        failures = int((self.skipped.get(link) or {}).get("failures") or 0) + 1
        self.skipped[link] = {"kind": kind, "reason": reason[:300], "failures": failures,
                              "retry_at": backoff.retry_at(failures)}

    def forget(self, link: str) -> None:
        self.skipped.pop(link, None)

    def keep_only(self, links: set[str]) -> None:
        """Forget items no longer in the feed: the memory stays as small as the feed."""
        self.skipped = {k: v for k, v in self.skipped.items() if k in links}
        self.removed = [k for k in self.removed if k in links]
