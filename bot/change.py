"""One source change's budgets: its deadline, the server's text total, and what its messages may show.

A change (an add, a reindex, a scheduled refresh) checks its deadline between items: once it
has passed, items not yet read wait for the next refresh, and what was done is kept. Every
fetch gets at most the time the change has left.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections.abc import Iterable, Iterator

from index.deadline import Deadline
from index.errors import SourceError
from index.store import SourceEntry

_ADDRESS = re.compile(r"\[?[0-9A-Fa-f]*:[0-9A-Fa-f:.]+\]?|\b\d{1,3}(?:\.\d{1,3}){3}\b")
_OPERATOR_HINT = re.compile(r"\s*Add the host to fetch\.allowed_hosts[^.]*\.")


class Change:
    """The deadline of one change (``seconds`` <= 0: none)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = Deadline(seconds) if seconds > 0 else None

    def expired(self) -> bool:
        if self.deadline is None:
            return False
        try:
            self.deadline.remaining()
        except TimeoutError:
            return True
        return False

    def timeout(self, fetch_timeout: float) -> float:
        """The time one fetch may take: its own limit, or what the change has left if less."""
        if self.deadline is None:
            return fetch_timeout
        try:
            return min(fetch_timeout, self.deadline.remaining())
        except TimeoutError:
            raise SourceError(self.reason()) from None

    def reason(self) -> str:
        return (f"not read this time: the change reached its limit of {self.seconds:g} seconds "
                "(sources.change_deadline_seconds); the next refresh goes on")


class Running:
    """The change running now in one space, if any (a change started inside another, as adding
    URLs adds sources, shares its deadline)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.now: Change | None = None

    @contextlib.contextmanager
    def change(self) -> Iterator[Change]:
        if self.now is not None:
            yield self.now
            return
        self.now = Change(self.seconds)
        try:
            yield self.now
        finally:
            self.now = None

    def expired(self) -> bool:
        return self.now is not None and self.now.expired()


def text_bytes(entry: SourceEntry) -> int:
    """What a source's text costs a server: its current and its previous version."""
    return len(entry.source.text.encode("utf-8")) + len((entry.previous_text or "").encode("utf-8"))


class TextBudget:
    """The text a server's sources hold (``guilds.max_text_bytes``); None: not capped."""

    def __init__(self, limit: int | None, entries: Iterable[SourceEntry]) -> None:
        self.limit = limit
        self.total = sum(text_bytes(e) for e in entries) if limit is not None else 0

    def admit(self, location: str, adds: int, frees: int = 0) -> None:
        """Count ``adds`` more bytes (and ``frees`` fewer), or refuse with the reason."""
        if self.limit is not None and self.total - frees + adds > self.limit:
            raise SourceError(f"{location} would bring this server's sources to "
                              f"{self.total - frees + adds:,} bytes of text; the limit is {self.limit:,} "
                              "(guilds.max_text_bytes, old versions included). Remove some sources first.")
        self.total += adds - frees


def public_reason(message: str, location: str) -> str:
    """A failure as a server may see it: no address the bot resolved (only those in the URL
    itself), no hint meant for the operator."""
    message = _OPERATOR_HINT.sub("", message)

    def hide(match: re.Match[str]) -> str:
        text = match.group(0)
        try:
            ipaddress.ip_address(text.strip("[]"))
        except ValueError:
            return text
        return text if text.strip("[]") in location else "an internal address"

    return _ADDRESS.sub(hide, message)
