"""One time budget shared by every step of a job (a fetch: DNS, connect, headers, body and every
redirect; reading a PDF: between pages and drawing operations)."""

from __future__ import annotations

import time
from collections.abc import Callable


class Deadline:
    """One time budget for a whole fetch: DNS, connect, headers, body and every redirect."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self.end = clock() + seconds

    def remaining(self) -> float:
        left = self.end - self.clock()
        if left <= 0:
            raise TimeoutError
        return left
