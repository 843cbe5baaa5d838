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

    def hit(self, key: int) -> float | None:
        """Record a use; return None if allowed, else the seconds until the next use is allowed."""
        if self.rate <= 0:
            return None
        now = self.clock()
        uses = self._uses.setdefault(key, deque())
        while uses and now - uses[0] >= self.per:
            uses.popleft()
        if len(uses) >= self.rate:
            return self.per - (now - uses[0])
        uses.append(now)
        return None
