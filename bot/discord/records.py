"""What the bot remembers in SQLite: answers shown, feedback on them, moderator actions."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from index.cache import sqlite_session

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, user_id INTEGER, channel_id INTEGER,
    question TEXT NOT NULL, answer_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    answer_id INTEGER NOT NULL REFERENCES answers(id), user_id INTEGER NOT NULL, vote TEXT NOT NULL,
    question TEXT NOT NULL, answer TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (answer_id, user_id)
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, user_id INTEGER, user_name TEXT,
    guild_id INTEGER, action TEXT NOT NULL, detail TEXT, outcome TEXT NOT NULL
);
"""


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Records:
    """A small SQLite database next to the index. Every method is blocking: call it off the event loop."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(_SCHEMA)

    def _db(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return sqlite_session(self.path)

    def save_answer(self, user_id: int | None, channel_id: int | None, question: str, answer: dict[str, Any]) -> int:
        """Keep an answer so its buttons work later (also after a restart)."""
        with self._db() as db:
            cur = db.execute(
                "INSERT INTO answers (at, user_id, channel_id, question, answer_json) VALUES (?,?,?,?,?)",
                (_now(), user_id, channel_id, question, json.dumps(answer, ensure_ascii=False)),
            )
            return int(cur.lastrowid or 0)

    def answer(self, answer_id: int) -> dict[str, Any] | None:
        with self._db() as db:
            row = db.execute("SELECT answer_json FROM answers WHERE id = ?", (answer_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def save_feedback(self, answer_id: int, user_id: int, vote: str) -> bool:
        """Store (or change) one user's vote on an answer; False if the answer is unknown."""
        stored = self.answer(answer_id)
        if stored is None:
            return False
        with self._db() as db:
            db.execute(
                "INSERT INTO feedback VALUES (?,?,?,?,?,?) ON CONFLICT(answer_id, user_id) "
                "DO UPDATE SET vote = excluded.vote, at = excluded.at",
                (answer_id, user_id, vote, stored["question"], stored["answer"], _now()),
            )
        return True

    def feedback(self) -> list[tuple[int, int, str, str, str]]:
        with self._db() as db:
            return db.execute("SELECT answer_id, user_id, vote, question, answer FROM feedback").fetchall()

    def audit(self, user_id: int, user_name: str, guild_id: int | None, action: str, detail: str, outcome: str) -> None:
        """Record a moderator action: who, when, what, and how it ended."""
        with self._db() as db:
            db.execute(
                "INSERT INTO audit (at, user_id, user_name, guild_id, action, detail, outcome) VALUES (?,?,?,?,?,?,?)",
                (_now(), user_id, user_name, guild_id, action, detail, outcome[:2000]),
            )

    def audit_log(self) -> list[tuple[str, int, str, str, str]]:
        with self._db() as db:
            return db.execute("SELECT at, user_id, action, detail, outcome FROM audit ORDER BY id").fetchall()
