"""The build thread: source changes run one at a time, servers served in turn.

Each server (and the default space) has its own queue of changes, run in the order they came;
between servers the thread goes round: after one change of server A it takes the oldest
change of the next server waiting, so server B's /source is never stuck behind a pile of A's
changes or A's scheduled refreshes. Together with each change's deadline
(``sources.change_deadline_seconds``) this bounds how long any server waits.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any


class BuildQueue:
    """One worker thread, a FIFO per key, round-robin between keys."""

    def __init__(self, name: str = "qabot-build") -> None:
        self._queues: OrderedDict[Hashable, deque[tuple[Callable[[], Any], Future[Any]]]] = OrderedDict()
        self._wake = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, daemon=True, name=name)
        self._thread.start()

    def submit(self, key: Hashable, work: Callable[[], Any]) -> Future[Any]:
        """Queue ``work`` behind ``key``'s earlier changes; its future resolves when it has run."""
        future: Future[Any] = Future()
        with self._wake:
            if self._closed:
                raise RuntimeError("the build queue is shut down")
            self._queues.setdefault(key, deque()).append((work, future))
            self._wake.notify()
        return future

    def pending(self) -> dict[Hashable, int]:
        """Changes waiting (not running), per key."""
        with self._wake:
            return {key: len(queue) for key, queue in self._queues.items()}

    def _next(self) -> tuple[Callable[[], Any], Future[Any]] | None:
        with self._wake:
            while not self._queues and not self._closed:
                self._wake.wait()
            if not self._queues:
                return None
            key, queue = self._queues.popitem(last=False)
            item = queue.popleft()
            if queue:
                self._queues[key] = queue  # its next change waits for every other server's turn
            return item

    def _run(self) -> None:
        while (item := self._next()) is not None:
            work, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(work())
            except BaseException as exc:  # noqa: BLE001 - handed to whoever awaits the change
                future.set_exception(exc)

    def shutdown(self) -> None:
        """Cancel what has not started; the running change finishes in its thread."""
        with self._wake:
            self._closed = True
            for queue in self._queues.values():
                for _, future in queue:
                    future.cancel()
            self._queues.clear()
            self._wake.notify_all()
