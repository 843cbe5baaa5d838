"""The progress of a build, as both faces show it: the CLI's bar on stderr and the Discord
reply edited in place. A change calls ``total`` once, with the sentences it will embed, then
``step`` as batches are embedded (sentences the cache already held are counted at once)."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Told how many sentences a build embeds, then how many more are done."""

    def total(self, n: int) -> None: ...

    def step(self, n: int) -> None: ...
