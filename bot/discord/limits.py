"""Per-user rate limiting (pure)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class Cooldown:
    """At most ``rate`` uses per ``per`` seconds for each key, as a sliding window."""

    def __init__(self, rate: int, per: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.per = per
        self.clock = clock
        self._uses: dict[int, deque[float]] = {}
        self._swept = clock()

    def __len__(self) -> int:
        """Users remembered: only those with a use in the last ``per`` seconds (and since the last sweep)."""
        return len(self._uses)

    def hit(self, key: int) -> float | None:
        """Record a use; return None if allowed, else the seconds until the next use is allowed."""
        if self.rate <= 0:
            return None
        now = self.clock()
        self._sweep(now)
        uses = self._uses.setdefault(key, deque())
        while uses and now - uses[0] >= self.per:
            uses.popleft()
        if len(uses) >= self.rate:
            return self.per - (now - uses[0])
        uses.append(now)
        return None

    def _sweep(self, now: float) -> None:
        """Forget users whose last use is older than the window, at most once per window: without
        it every user who ever asked stays in memory."""
        if now - self._swept < self.per:
            return
        self._swept = now
        for key in [k for k, uses in self._uses.items() if not uses or now - uses[-1] >= self.per]:
            del self._uses[key]


class WorkQueue:
    """Bounded admission of questions: at most ``total`` waiting or running, ``per_key`` per server.

    Used on the event loop only (no lock needed). A question over either bound gets a polite
    "busy" at once instead of waiting past Discord's 3-second acknowledgement window.
    """

    def __init__(self, total: int, per_key: int) -> None:
        self.total = total
        self.per_key = per_key
        self.running = 0
        self._by_key: dict[int | None, int] = {}

    def enter(self, key: int | None) -> bool:
        """Take a place for ``key``; False when full (nothing taken)."""
        if self.total and self.running >= self.total:
            return False
        if self.per_key and self._by_key.get(key, 0) >= self.per_key:
            return False
        self.running += 1
        self._by_key[key] = self._by_key.get(key, 0) + 1
        return True

    def leave(self, key: int | None) -> None:
        """Give back a place taken by ``enter``."""
        self.running -= 1
        left = self._by_key.get(key, 0) - 1
        if left > 0:
            self._by_key[key] = left
        else:
            self._by_key.pop(key, None)
