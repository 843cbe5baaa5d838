"""`qabot migrate-db --to postgresql://...`: copy one machine's installation into PostgreSQL.

Everything the SQLite files hold is copied in one transaction (all of it, or nothing): every
space's sources with their text and previous text, its feeds and their state, the embedding
cache, and the records (answers keep their ids, so the buttons under old answers still work;
feedback and the audit log). Then each copy is read back and compared, and each local
generation is stamped with the registry revision it holds, so that the first start with
``database.url`` rebuilds nothing. The SQLite files are left as they were.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.db.postgres import Database, DatabaseError
from bot.db.registry import _FEED_COLUMNS, PostgresRegistry, Space, Stored, _key, space_dir
from bot.replica import REVISION
from index.store import SourceEntry, index_exists, live_generation, recover_entries, utc_now

RECORD_TABLES = {
    "answers": ("id", "at", "user_id", "channel_id", "question", "answer_json", "guild_id", "message_id"),
    "feedback": ("answer_id", "user_id", "vote", "question", "answer", "at", "guild_id"),
    "audit": ("id", "at", "user_id", "user_name", "guild_id", "action", "detail", "outcome"),
}
BATCH = 1000


@dataclass
class Copied:
    """What was copied, by kind, for the report."""

    spaces: dict[str, int] = field(default_factory=dict)  # space -> sources
    feeds: int = 0
    vectors: int = 0
    records: dict[str, int] = field(default_factory=dict)

    def summary(self, where: str) -> str:
        lines = [f"Copied into PostgreSQL at {where} (and read back: every count and text matches):"]
        for space, n in self.spaces.items():
            lines.append(f"  {space}: {n} source(s)")
        lines.append(f"  feeds: {self.feeds}")
        lines.append(f"  cached embeddings: {self.vectors}")
        for table, n in self.records.items():
            lines.append(f"  {table}: {n} row(s)")
        return "\n".join(lines)


def local_spaces(root: Path) -> dict[Space, Stored]:
    """Every space's registry in the local generations (a damaged one is an error, never skipped)."""
    found: dict[Space, Stored] = {}
    guilds = sorted(int(p.name) for p in (root / "guilds").glob("*") if p.name.isdigit() and index_exists(p))
    for space in [None, *guilds]:
        path = space_dir(root, space)
        if not index_exists(path):
            continue
        recovered = recover_entries(path)
        if recovered is None:
            name = "the default space" if space is None else f"server {space}"
            raise DatabaseError(f"The index of {name} at {path} has no readable sources; repair it first with "
                                f"`qabot index --rebuild{'' if space is None else f' --guild {space}'}`. "
                                "Nothing was copied.")
        found[space] = Stored(recovered[0], recovered[1])
    return found


def _sqlite_rows(path: Path, table: str, columns: tuple[str, ...]) -> list[tuple[object, ...]]:
    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone():
            return []
        present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        picked = ", ".join(c if c in present else f"NULL AS {c}" for c in columns)
        order = "id" if "id" in columns else "rowid"
        return db.execute(f"SELECT {picked} FROM {table} ORDER BY {order}").fetchall()
    finally:
        db.close()


def _refuse_if_used(conn: object, where: str) -> None:
    counts = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]  # type: ignore[attr-defined]
              for t in ("spaces", "embeddings", "answers", "audit")}
    if any(counts.values()):
        held = ", ".join(f"{n} {t}" for t, n in counts.items() if n)
        raise DatabaseError(f"The database at {where} already holds qabot data ({held}); migrate-db copies into "
                            "an empty database only, so that nothing is mixed or overwritten. Nothing was copied.")


def copy_installation(root: Path, db: Database) -> Copied:
    """Copy the installation in ``root`` into ``db`` (empty, migrated), all or nothing, and check it."""
    spaces = local_spaces(root)
    copied = Copied()
    now = utc_now()
    revisions: dict[Space, int] = {}
    with db.transaction() as conn:
        _refuse_if_used(conn, db.where)
        for space, stored in spaces.items():
            conn.execute("INSERT INTO spaces (space, revision, updated_at) VALUES (%s, 1, %s)", (_key(space), now))
            PostgresRegistry._write_sources(conn, _key(space), stored.entries, now)
            with conn.cursor() as cur:
                cur.executemany(f"INSERT INTO feeds (space, {', '.join(_FEED_COLUMNS)}) "
                                f"VALUES (%s, {', '.join(['%s'] * len(_FEED_COLUMNS))})",
                                [(_key(space), *(getattr(f, c) for c in _FEED_COLUMNS)) for f in stored.feeds])
            revisions[space] = 1
            copied.spaces["default space" if space is None else f"server {space}"] = len(stored.entries)
            copied.feeds += len(stored.feeds)
        copied.vectors = _copy_cache(conn, root / "cache.sqlite")
        for table, columns in RECORD_TABLES.items():
            rows = _sqlite_rows(root / "bot.sqlite", table, columns)
            with conn.cursor() as cur:
                for i in range(0, len(rows), BATCH):
                    cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) "
                                    f"VALUES ({', '.join(['%s'] * len(columns))})", rows[i : i + BATCH])
            if "id" in columns:  # new rows continue after the copied ids
                conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                             f"GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1))")
            copied.records[table] = len(rows)
        _check(conn, root, spaces, copied)
    for space, revision in revisions.items():
        stamp(space_dir(root, space), revision)
    return copied


def _copy_cache(conn: object, path: Path) -> int:
    if not path.exists():
        return 0
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    n = 0
    try:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'emb'").fetchone():
            return 0
        rows = db.execute("SELECT model, hash, vec FROM emb")
        with conn.cursor() as cur:  # type: ignore[attr-defined]
            while batch := rows.fetchmany(BATCH):
                cur.executemany("INSERT INTO embeddings (model, hash, vec) VALUES (%s, %s, %s) "
                                "ON CONFLICT DO NOTHING", batch)
                n += len(batch)
    finally:
        db.close()
    return n


def _check(conn: object, root: Path, spaces: dict[Space, Stored], copied: Copied) -> None:
    """Read everything back inside the transaction: any difference rolls the whole copy back."""
    c = conn.execute  # type: ignore[attr-defined]
    for space, stored in spaces.items():
        rows = c("SELECT id, text, previous_text, content_hash FROM sources WHERE space = %s",
                 (_key(space),)).fetchall()
        want = {e.source.id: (e.source.text, e.previous_text, e.source.content_hash) for e in stored.entries}
        if {r[0]: tuple(r[1:]) for r in rows} != want:
            raise DatabaseError(f"The copy of space {space or 'default'} does not read back the same; nothing was "
                                "copied.")
        feeds = c("SELECT url, items, etag FROM feeds WHERE space = %s", (_key(space),)).fetchall()
        if sorted(feeds) != sorted((f.url, f.items, f.etag) for f in stored.feeds):
            raise DatabaseError(f"The feeds of space {space or 'default'} do not read back the same; nothing was "
                                "copied.")
    for table, n in copied.records.items():
        if c(f"SELECT COUNT(*) FROM {table}").fetchone()[0] != n:
            raise DatabaseError(f"The {table} copied do not count the same; nothing was copied.")
    if c("SELECT COUNT(*) FROM embeddings").fetchone()[0] != copied.vectors:
        raise DatabaseError("The embedding cache copied does not count the same; nothing was copied.")


def stamp(index_dir: Path, revision: int) -> None:
    """Note in the live generation's manifest which registry revision it holds (no rebuild needed)."""
    gen = live_generation(index_dir)
    if gen is None:
        return
    manifest_path = gen / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest[REVISION] = revision
    tmp = manifest_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2))
    os.replace(tmp, manifest_path)


def entries_without_times(entries: list[SourceEntry]) -> list[SourceEntry]:
    """Entries without the time they were indexed (for comparing copies)."""
    return [replace(e, indexed_at="") for e in entries]
