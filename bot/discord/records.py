"""What the bot remembers in SQLite: answers shown, feedback on them, moderator actions."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from index.cache import sqlite_session
from index.followup import HISTORY

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, user_id INTEGER, channel_id INTEGER,
    question TEXT NOT NULL, answer_json TEXT NOT NULL, guild_id INTEGER, message_id INTEGER
);
CREATE TABLE IF NOT EXISTS feedback (
    answer_id INTEGER NOT NULL REFERENCES answers(id), user_id INTEGER NOT NULL, vote TEXT NOT NULL,
    question TEXT NOT NULL, answer TEXT NOT NULL, at TEXT NOT NULL, guild_id INTEGER,
    PRIMARY KEY (answer_id, user_id)
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, user_id INTEGER, user_name TEXT,
    guild_id INTEGER, action TEXT NOT NULL, detail TEXT, outcome TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS maintenance (name TEXT PRIMARY KEY, last_run TEXT NOT NULL);
"""
PRUNE = "prune"  # the maintenance row of the last pruning
# Databases made before records carried the server: add the column (old rows keep NULL, the DM space).
_MIGRATIONS = (("answers", "guild_id", "INTEGER"), ("feedback", "guild_id", "INTEGER"),
               ("answers", "message_id", "INTEGER"))


def _now(offset_seconds: float = 0.0) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + offset_seconds))


class Records:
    """A small SQLite database next to the index. Every method is blocking: call it off the event loop."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(_SCHEMA)
            for table, column, kind in _MIGRATIONS:
                columns = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
                if column not in columns:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    def _db(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return sqlite_session(self.path)

    def save_answer(self, guild_id: int | None, user_id: int | None, channel_id: int | None, question: str,
                    answer: dict[str, Any]) -> int:
        """Keep an answer so its buttons work later (also after a restart)."""
        with self._db() as db:
            cur = db.execute(
                "INSERT INTO answers (at, user_id, channel_id, question, answer_json, guild_id) VALUES (?,?,?,?,?,?)",
                (_now(), user_id, channel_id, question, json.dumps(answer, ensure_ascii=False), guild_id),
            )
            return int(cur.lastrowid or 0)

    def answer(self, answer_id: int, guild_id: int | None) -> dict[str, Any] | None:
        """A stored answer, only to the server (or DM space) it was given in."""
        with self._db() as db:
            row = db.execute("SELECT answer_json FROM answers WHERE id = ? AND guild_id IS ?",
                             (answer_id, guild_id)).fetchone()
        return json.loads(row[0]) if row else None

    def set_message(self, answer_id: int, message_id: int) -> None:
        """Remember which Discord message shows an answer (a thread started from it has its id)."""
        with self._db() as db:
            db.execute("UPDATE answers SET message_id = ? WHERE id = ?", (message_id, answer_id))

    def thread_history(self, channel_id: int | None, guild_id: int | None) -> list[dict[str, Any]]:
        """If ``channel_id`` is a thread started from one of our answers: that answer and the ones given
        in the thread since, oldest first (as many as a follow-up is read with); otherwise nothing."""
        if channel_id is None:
            return []
        with self._db() as db:
            start = db.execute("SELECT id FROM answers WHERE message_id = ? AND guild_id IS ?",
                               (channel_id, guild_id)).fetchone()
            if start is None:
                return []
            rows = db.execute(
                "SELECT answer_json FROM answers WHERE (id = ? OR channel_id = ?) AND guild_id IS ? "
                "ORDER BY id DESC LIMIT ?", (start[0], channel_id, guild_id, HISTORY)).fetchall()
        return [json.loads(row[0]) for row in reversed(rows)]

    def save_feedback(self, answer_id: int, user_id: int, vote: str, guild_id: int | None) -> bool:
        """Store (or change) one user's vote on an answer; False if the answer is unknown here."""
        stored = self.answer(answer_id, guild_id)
        if stored is None:
            return False
        with self._db() as db:
            db.execute(
                "INSERT INTO feedback (answer_id, user_id, vote, question, answer, at, guild_id) "
                "VALUES (?,?,?,?,?,?,?) ON CONFLICT(answer_id, user_id) "
                "DO UPDATE SET vote = excluded.vote, at = excluded.at",
                (answer_id, user_id, vote, stored["question"], stored["answer"], _now(), guild_id),
            )
        return True

    def feedback(self, guild_id: int | None) -> list[tuple[int, int, str, str, str]]:
        """Votes given in one server: (answer id, user id, vote, question, answer)."""
        with self._db() as db:
            return db.execute("SELECT answer_id, user_id, vote, question, answer FROM feedback "
                              "WHERE guild_id IS ? ORDER BY at, answer_id, user_id", (guild_id,)).fetchall()

    def asked_since(self, guild_id: int | None, since: str) -> list[tuple[int, str, int | None, str, str, int]]:
        """Questions asked in one server (or the DM space) since ``since`` (ISO, UTC), oldest first:
        (answer id, at, user id, question, answer JSON, number of 👎 on it)."""
        with self._db() as db:
            return db.execute(
                "SELECT a.id, a.at, a.user_id, a.question, a.answer_json, "
                "(SELECT COUNT(*) FROM feedback f WHERE f.answer_id = a.id AND f.vote = 'down') "
                "FROM answers a WHERE a.guild_id IS ? AND a.at >= ? ORDER BY a.at, a.id", (guild_id, since)
            ).fetchall()

    def prune(self, retention_days: int, audit_retention_days: int = 0, audit_max_rows: int = 0,
              once_every: float = 0.0) -> int | None:
        """Delete answers and feedback older than ``retention_days``, audit rows older than
        ``audit_retention_days`` and each server's audit rows past its newest ``audit_max_rows``
        (0 keeps, for each); rows deleted. ``once_every`` (seconds): skip (None) if a pruning of
        these records ran more recently than that, by whichever process."""
        gone = 0
        with self._db() as db:
            db.execute("BEGIN IMMEDIATE")  # one pruning at a time: the second sees the first's time
            last = db.execute("SELECT last_run FROM maintenance WHERE name = ?", (PRUNE,)).fetchone()
            if once_every > 0 and last is not None and last[0] > _now(-once_every):
                return None
            db.execute("INSERT INTO maintenance VALUES (?, ?) ON CONFLICT(name) "
                       "DO UPDATE SET last_run = excluded.last_run", (PRUNE, _now()))
            if retention_days > 0:
                cutoff = _now(-retention_days * 86400)
                gone += db.execute("DELETE FROM feedback WHERE at < ?", (cutoff,)).rowcount
                gone += db.execute(
                    "DELETE FROM feedback WHERE answer_id IN (SELECT id FROM answers WHERE at < ?)", (cutoff,)
                ).rowcount
                gone += db.execute("DELETE FROM answers WHERE at < ?", (cutoff,)).rowcount
            if audit_retention_days > 0:
                gone += db.execute("DELETE FROM audit WHERE at < ?", (_now(-audit_retention_days * 86400),)).rowcount
            if audit_max_rows > 0:  # per server: one busy server cannot push out another's log
                gone += db.execute(
                    "DELETE FROM audit WHERE id IN (SELECT id FROM (SELECT id, ROW_NUMBER() OVER "
                    "(PARTITION BY guild_id ORDER BY id DESC) AS n FROM audit) AS ranked WHERE n > ?)",
                    (audit_max_rows,)).rowcount
        return gone

    def audit(self, user_id: int, user_name: str, guild_id: int | None, action: str, detail: str, outcome: str) -> None:
        """Record a moderator action: who, when, what, and how it ended."""
        with self._db() as db:
            db.execute(
                "INSERT INTO audit (at, user_id, user_name, guild_id, action, detail, outcome) VALUES (?,?,?,?,?,?,?)",
                (_now(), user_id, user_name, guild_id, action, detail, outcome[:2000]),
            )

    def audit_log(self, guild_id: int | None = None) -> list[tuple[str, int, str, str, str]]:
        """Moderator actions, oldest first (of one server, when given)."""
        where, args = ("WHERE guild_id = ?", (guild_id,)) if guild_id is not None else ("", ())
        with self._db() as db:
            return db.execute(f"SELECT at, user_id, action, detail, outcome FROM audit {where} ORDER BY id",
                              args).fetchall()
