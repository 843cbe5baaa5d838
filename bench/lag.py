"""How late the event loop wakes from 10 ms sleeps while a benchmark runs (shared by the Discord benches)."""

from __future__ import annotations

import asyncio
import time

TICK = 0.01


class LagProbe:
    """``start()`` on the loop under test, ``await stop()`` when done; ``lags`` holds each lateness in ms."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            await asyncio.sleep(TICK)
            self.lags.append((time.perf_counter() - started - TICK) * 1000)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
