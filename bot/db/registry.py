"""The registry of each space's sources (their text included) and feeds, and who may change it.

Two backends, one interface:

- ``LocalRegistry`` (the default, one machine): a space's registry is the ``meta.sqlite`` of its
  live generation, as it always was; the build lock is a file lock in its directory.
- ``PostgresRegistry`` (``database.url``): the registry lives in PostgreSQL, each change one
  transaction with a revision number the generation is stamped with; the lock is an advisory
  lock per space, so two processes (on any machines) never change a server's sources at once.

Generations stay local files either way: in PostgreSQL mode they are caches of the registry,
rebuilt when missing or stamped with another revision (see ``Stored.revision``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from bot.db.postgres import Database
from index.store import FeedEntry, SourceEntry, build_lock, live_generation, recover_feeds_and_entries, utc_now
from index.types import Source

T = TypeVar("T")
Space = int | None  # a Discord server's id, or None for the default space
BUSY = "A reindex is already running; try again when it has finished."
REVISION = "registry_revision"  # the manifest field a generation's registry revision is stamped in


@dataclass(frozen=True)
class Stored:
    """A space's registry: its sources (in the order they were added), its feeds, its revision."""

    entries: list[SourceEntry]
    feeds: list[FeedEntry]
    revision: int | None = None  # None: the local generation is the registry (nothing to compare)


class Registry(Protocol):
    """Where a space's sources and feeds are kept, and the lock for changing them."""

    shared: bool  # True: other processes read and write it too (a local index may be stale)

    def load(self, space: Space) -> Stored | None:
        """The space's registry, or None if it has none of its own."""

    def revision(self, space: Space) -> int | None:
        """The space's registry revision (None: none of its own, or not versioned)."""

    def spaces(self) -> list[int]:
        """The servers that have a registry of their own."""

    def commit(self, space: Space, entries: list[SourceEntry], feeds: list[FeedEntry],
               write: Callable[[int | None], T]) -> T:
        """Make these the space's sources and feeds; ``write(revision)`` writes the generation and
        runs inside the change: if it fails, the registry is left as it was."""

    def lock(self, space: Space) -> contextlib.AbstractContextManager[None]:
        """Held while a change of the space runs; BusyError if another change holds it."""


def space_dir(root: Path, space: Space) -> Path:
    """Where a space's generations live on this machine."""
    return root if space is None else root / "guilds" / str(space)


class LocalRegistry:
    """The registry in each space's live generation (``meta.sqlite``), as for one machine."""

    shared = False

    def __init__(self, root: Path) -> None:
        self.root = root

    def load(self, space: Space) -> Stored | None:
        gen = live_generation(space_dir(self.root, space))
        found = recover_feeds_and_entries(gen) if gen is not None else None
        return Stored(found[0], found[1]) if found else None

    def revision(self, space: Space) -> int | None:
        return None

    def spaces(self) -> list[int]:
        guilds = self.root / "guilds"
        return sorted(int(p.name) for p in guilds.glob("*") if p.name.isdigit() and (p / "CURRENT").exists())

    def commit(self, space: Space, entries: list[SourceEntry], feeds: list[FeedEntry],
               write: Callable[[int | None], T]) -> T:
        return write(None)  # the generation written is the registry

    def lock(self, space: Space) -> contextlib.AbstractContextManager[None]:
        return build_lock(space_dir(self.root, space))


_SOURCE_COLUMNS = ("id", "kind", "location", "title", "url", "publisher", "date", "content_hash", "text",
                   "added_by", "added_at", "indexed_at", "status", "last_error", "previous_text",
                   "feed", "pages", "etag", "last_modified", "failures", "retry_at")
_FEED_COLUMNS = ("url", "id", "title", "etag", "last_modified", "refreshed_at", "status", "last_error",
                 "added_by", "added_at", "items")
# what tells that a stored row must be written again (text is covered by content_hash)
_SAME = ("kind", "location", "title", "url", "publisher", "date", "content_hash", "added_by", "added_at",
         "status", "last_error", "feed", "pages", "etag", "last_modified", "failures", "retry_at")


def _key(space: Space) -> int:
    return 0 if space is None else space


def _source_row(entry: SourceEntry, indexed_at: str) -> dict[str, Any]:
    src = entry.source
    return {"id": src.id, "kind": src.kind, "location": src.location, "title": src.title, "url": src.url,
            "publisher": src.publisher, "date": src.date, "content_hash": src.content_hash, "text": src.text,
            "added_by": entry.added_by, "added_at": entry.added_at, "indexed_at": indexed_at,
            "status": entry.status, "last_error": entry.last_error, "previous_text": entry.previous_text,
            "feed": src.feed, "pages": json.dumps(list(src.pages)) if src.pages else None, "etag": entry.etag,
            "last_modified": entry.last_modified, "failures": entry.failures, "retry_at": entry.retry_at}


def _md5(text: str | None) -> str | None:
    return None if text is None else hashlib.md5(text.encode("utf-8")).hexdigest()


def _entry(row: dict[str, Any]) -> SourceEntry:
    src = Source(id=row["id"], kind=row["kind"], location=row["location"], title=row["title"], url=row["url"],
                 publisher=row["publisher"], date=row["date"], content_hash=row["content_hash"], text=row["text"],
                 feed=row["feed"], pages=tuple(json.loads(row["pages"])) if row["pages"] else ())
    return SourceEntry(src, row["added_by"], row["added_at"], row["indexed_at"], row["status"], row["last_error"],
                       row["previous_text"], row["etag"], row["last_modified"], int(row["failures"] or 0),
                       row["retry_at"])


class PostgresRegistry:
    """Every space's registry in PostgreSQL (``database.url``), shared by all processes."""

    shared = True

    def __init__(self, db: Database, root: Path) -> None:
        self.db = db
        self.root = root

    def revision(self, space: Space) -> int | None:
        with self.db.connection() as conn:
            row = conn.execute("SELECT revision FROM spaces WHERE space = %s", (_key(space),)).fetchone()
        return int(row[0]) if row else None

    def spaces(self) -> list[int]:
        with self.db.connection() as conn:
            return [int(r[0]) for r in conn.execute("SELECT space FROM spaces WHERE space <> 0 ORDER BY space")]

    def load(self, space: Space) -> Stored | None:
        with self.db.transaction() as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")  # one consistent snapshot
            head = conn.execute("SELECT revision FROM spaces WHERE space = %s", (_key(space),)).fetchone()
            if head is None:
                return None
            rows = conn.execute(f"SELECT {', '.join(_SOURCE_COLUMNS)} FROM sources WHERE space = %s "
                                'ORDER BY added_at COLLATE "C", id COLLATE "C"', (_key(space),)).fetchall()
            entries = [_entry(dict(zip(_SOURCE_COLUMNS, row, strict=True))) for row in rows]
            rows = conn.execute(f"SELECT {', '.join(_FEED_COLUMNS)} FROM feeds WHERE space = %s "
                                'ORDER BY added_at COLLATE "C", url COLLATE "C"', (_key(space),)).fetchall()
            feeds = [FeedEntry(*row) for row in rows]
        return Stored(entries, feeds, int(head[0]))

    def commit(self, space: Space, entries: list[SourceEntry], feeds: list[FeedEntry],
               write: Callable[[int | None], T]) -> T:
        key = _key(space)
        now = utc_now()
        with self.db.transaction() as conn:
            revision = int(conn.execute(
                "INSERT INTO spaces (space, revision, updated_at) VALUES (%s, 1, %s) ON CONFLICT (space) "
                "DO UPDATE SET revision = spaces.revision + 1, updated_at = excluded.updated_at RETURNING revision",
                (key, now)).fetchone()[0])
            self._write_sources(conn, key, entries, now)
            conn.execute("DELETE FROM feeds WHERE space = %s", (key,))
            if feeds:
                with conn.cursor() as cur:
                    cur.executemany(
                        f"INSERT INTO feeds (space, {', '.join(_FEED_COLUMNS)}) "
                        f"VALUES (%s, {', '.join(['%s'] * len(_FEED_COLUMNS))})",
                        [(key, *(getattr(f, c) for c in _FEED_COLUMNS)) for f in feeds])
            return write(revision)  # commits with the generation; rolls back if it fails

    @staticmethod
    def _write_sources(conn: Any, key: int, entries: list[SourceEntry], now: str) -> None:
        """Only the rows that changed: a space's unchanged texts are not sent again."""
        stored = {row[0]: tuple(row[1:]) for row in conn.execute(
            f"SELECT id, {', '.join(_SAME)}, md5(previous_text) FROM sources WHERE space = %s", (key,))}
        rows = []
        for entry in entries:
            row = _source_row(entry, now)
            if stored.get(entry.source.id) != (*(row[c] for c in _SAME), _md5(entry.previous_text)):
                rows.append(row)
        gone = sorted(set(stored) - {e.source.id for e in entries})
        if gone:
            conn.execute("DELETE FROM sources WHERE space = %s AND id = ANY(%s)", (key, gone))
        if rows:
            update = ", ".join(f"{c} = excluded.{c}" for c in _SOURCE_COLUMNS if c != "id")
            with conn.cursor() as cur:
                cur.executemany(
                    f"INSERT INTO sources (space, {', '.join(_SOURCE_COLUMNS)}) "
                    f"VALUES (%s, {', '.join(['%s'] * len(_SOURCE_COLUMNS))}) "
                    f"ON CONFLICT (space, id) DO UPDATE SET {update}",
                    [(key, *(r[c] for c in _SOURCE_COLUMNS)) for r in rows])

    @contextlib.contextmanager
    def lock(self, space: Space) -> Iterator[None]:
        with self.db.lock(f"qabot:space:{_key(space)}", busy=BUSY), build_lock(space_dir(self.root, space)):
            yield
