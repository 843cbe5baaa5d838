"""The bot's records (answers, feedback, audit) in PostgreSQL: every process writes to one place.

The same methods as ``bot.discord.records.Records`` (the SQLite file of one machine), with the
same results; tests/test_db_parity.py runs one test body against both.
"""

from __future__ import annotations

import json
from typing import Any

from bot.db.postgres import Database, lock_key
from bot.discord.records import PRUNE, _now
from index.followup import HISTORY


def _guild(guild_id: int | None, column: str = "guild_id") -> tuple[str, tuple[Any, ...]]:
    """``column`` matching one server, or the DM space (NULL)."""
    return (f"{column} IS NULL", ()) if guild_id is None else (f"{column} = %s", (guild_id,))


class PostgresRecords:
    """Records in the ``answers``, ``feedback`` and ``audit`` tables of ``database.url``. Blocking."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.path = db.where  # what messages name as where the records are

    def save_answer(self, guild_id: int | None, user_id: int | None, channel_id: int | None, question: str,
                    answer: dict[str, Any]) -> int:
        """Keep an answer so its buttons work later (also after a restart, on any machine)."""
        with self.db.connection() as conn:
            row = conn.execute(
                "INSERT INTO answers (at, user_id, channel_id, question, answer_json, guild_id) "
                "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                (_now(), user_id, channel_id, question, json.dumps(answer, ensure_ascii=False), guild_id),
            ).fetchone()
        return int(row[0])

    def answer(self, answer_id: int, guild_id: int | None) -> dict[str, Any] | None:
        """A stored answer, only to the server (or DM space) it was given in."""
        where, args = _guild(guild_id)
        with self.db.connection() as conn:
            row = conn.execute(f"SELECT answer_json FROM answers WHERE id = %s AND {where}",
                               (answer_id, *args)).fetchone()
        return json.loads(row[0]) if row else None

    def set_message(self, answer_id: int, message_id: int) -> None:
        """Remember which Discord message shows an answer."""
        with self.db.connection() as conn:
            conn.execute("UPDATE answers SET message_id = %s WHERE id = %s", (message_id, answer_id))

    def thread_history(self, channel_id: int | None, guild_id: int | None) -> list[dict[str, Any]]:
        """The answer a thread was started from and those given in it since, oldest first."""
        if channel_id is None:
            return []
        where, args = _guild(guild_id)
        with self.db.connection() as conn:
            start = conn.execute(f"SELECT id FROM answers WHERE message_id = %s AND {where} ORDER BY id LIMIT 1",
                                 (channel_id, *args)).fetchone()
            if start is None:
                return []
            rows = conn.execute(
                f"SELECT answer_json FROM answers WHERE (id = %s OR channel_id = %s) AND {where} "
                "ORDER BY id DESC LIMIT %s", (start[0], channel_id, *args, HISTORY)).fetchall()
        return [json.loads(row[0]) for row in reversed(rows)]

    def save_feedback(self, answer_id: int, user_id: int, vote: str, guild_id: int | None) -> bool:
        """Store (or change) one user's vote on an answer; False if the answer is unknown here."""
        stored = self.answer(answer_id, guild_id)
        if stored is None:
            return False
        with self.db.connection() as conn:
            conn.execute(
                "INSERT INTO feedback (answer_id, user_id, vote, question, answer, at, guild_id) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (answer_id, user_id) "
                "DO UPDATE SET vote = excluded.vote, at = excluded.at",
                (answer_id, user_id, vote, stored["question"], stored["answer"], _now(), guild_id),
            )
        return True

    def feedback(self, guild_id: int | None) -> list[tuple[int, int, str, str, str]]:
        """Votes given in one server: (answer id, user id, vote, question, answer)."""
        where, args = _guild(guild_id)
        with self.db.connection() as conn:
            return conn.execute("SELECT answer_id, user_id, vote, question, answer FROM feedback "
                                f"WHERE {where} ORDER BY at, answer_id, user_id", args).fetchall()

    def asked_since(self, guild_id: int | None, since: str) -> list[tuple[int, str, int | None, str, str, int]]:
        """Questions asked in one server since ``since`` (ISO, UTC), oldest first, with their 👎 count."""
        where, args = _guild(guild_id, "a.guild_id")
        with self.db.connection() as conn:
            return conn.execute(
                "SELECT a.id, a.at, a.user_id, a.question, a.answer_json, "
                "(SELECT COUNT(*) FROM feedback f WHERE f.answer_id = a.id AND f.vote = 'down')::int "
                f"FROM answers a WHERE {where} AND a.at >= %s ORDER BY a.at, a.id", (*args, since)
            ).fetchall()

    def prune(self, retention_days: int, audit_retention_days: int = 0, audit_max_rows: int = 0,
              once_every: float = 0.0) -> int | None:
        """As ``Records.prune``; processes take turns on an advisory lock, and with ``once_every``
        only the first of them within that many seconds prunes (the others get None)."""
        gone = 0
        with self.db.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key("qabot:prune"),))
            last = conn.execute("SELECT last_run FROM maintenance WHERE name = %s", (PRUNE,)).fetchone()
            if once_every > 0 and last is not None and last[0] > _now(-once_every):
                return None
            conn.execute("INSERT INTO maintenance VALUES (%s, %s) ON CONFLICT (name) "
                         "DO UPDATE SET last_run = excluded.last_run", (PRUNE, _now()))
            if retention_days > 0:
                cutoff = _now(-retention_days * 86400)
                gone += conn.execute("DELETE FROM feedback WHERE at < %s", (cutoff,)).rowcount
                gone += conn.execute(
                    "DELETE FROM feedback WHERE answer_id IN (SELECT id FROM answers WHERE at < %s)", (cutoff,)
                ).rowcount
                gone += conn.execute("DELETE FROM answers WHERE at < %s", (cutoff,)).rowcount
            if audit_retention_days > 0:
                gone += conn.execute("DELETE FROM audit WHERE at < %s",
                                     (_now(-audit_retention_days * 86400),)).rowcount
            if audit_max_rows > 0:
                gone += conn.execute(
                    "DELETE FROM audit WHERE id IN (SELECT id FROM (SELECT id, ROW_NUMBER() OVER "
                    "(PARTITION BY guild_id ORDER BY id DESC) AS n FROM audit) AS ranked WHERE n > %s)",
                    (audit_max_rows,)).rowcount
        return gone

    def audit(self, user_id: int, user_name: str, guild_id: int | None, action: str, detail: str, outcome: str) -> None:
        """Record a moderator action: who, when, what, and how it ended."""
        with self.db.connection() as conn:
            conn.execute(
                "INSERT INTO audit (at, user_id, user_name, guild_id, action, detail, outcome) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (_now(), user_id, user_name, guild_id, action, detail, outcome[:2000]),
            )

    def audit_log(self, guild_id: int | None = None) -> list[tuple[str, int, str, str, str]]:
        """Moderator actions, oldest first (of one server, when given)."""
        where, args = ("WHERE guild_id = %s", (guild_id,)) if guild_id is not None else ("", ())
        with self.db.connection() as conn:
            return conn.execute(f"SELECT at, user_id, action, detail, outcome FROM audit {where} ORDER BY id",
                                args).fetchall()
