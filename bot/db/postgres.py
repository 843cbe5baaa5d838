"""PostgreSQL: the connection pool, versioned migrations and advisory locks.

The only module that imports psycopg (and psycopg_pool); the stores take a ``Database`` and use
its connections. Every failure to reach the server, or a URL it cannot parse, becomes a
``DatabaseError`` whose message names the server (never the password) and what to check.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

from bot.db.migrations import MIGRATIONS
from index.errors import BusyError, QABotError

log = logging.getLogger(__name__)

MIGRATION_LOCK = "qabot:migrations"
CONNECT_SECONDS = 10.0


class DatabaseError(QABotError):
    """PostgreSQL cannot be reached or used; the message says which server and what to check."""


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a name (collisions only serialise more)."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big", signed=True)


def _import() -> Any:
    try:
        import psycopg
        import psycopg_pool  # noqa: F401
    except ImportError:
        raise DatabaseError("database.url names PostgreSQL, but psycopg is not installed: "
                            "pip install 'qabot[postgres]' (psycopg[binary] and psycopg_pool).") from None
    return psycopg


def describe(url: str) -> str:
    """Where a URL points (user@host:port/database), without its password."""
    psycopg = _import()
    try:
        parts = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "an unreadable URL"
    user = f"{parts['user']}@" if parts.get("user") else ""
    host = parts.get("host") or "localhost"
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"{user}{host}{port}/{parts.get('dbname') or parts.get('user') or ''}"


def _reason(exc: BaseException) -> str:
    """The server's or libpq's first line, which is what says why (a password is never in it)."""
    text = str(exc).strip().splitlines()
    return text[-1].strip() if text else type(exc).__name__


class Database:
    """A pool of connections to one PostgreSQL database, migrated to this qabot's schema."""

    def __init__(self, url: str, *, pool_size: int = 10, migrate: bool = True) -> None:
        psycopg = _import()
        from psycopg_pool import ConnectionPool

        self.url = url
        self.where = describe(url)
        try:
            psycopg.conninfo.conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            raise DatabaseError(f"database.url is not a valid PostgreSQL URL ({_reason(exc)}).") from None
        self._psycopg = psycopg
        self._pool = ConnectionPool(url, min_size=1, max_size=max(1, pool_size), open=False, name="qabot",
                                    kwargs={"autocommit": True, "connect_timeout": int(CONNECT_SECONDS)},
                                    timeout=CONNECT_SECONDS * 3)
        try:
            self._pool.open(wait=True, timeout=CONNECT_SECONDS)
        except Exception as exc:  # noqa: BLE001 - whatever libpq says, it is one clear message
            self._pool.close()
            raise DatabaseError(self._unreachable(exc)) from None
        self._closed = False
        self._lock = threading.Lock()
        if migrate:
            try:
                self.migrate()
            except BaseException:
                self.close()
                raise

    def _unreachable(self, exc: BaseException) -> str:
        reason = self._first_error(exc)
        return (f"Cannot connect to PostgreSQL at {self.where} ({reason}). Check database.url, that the "
                "server is running and that this machine may connect to it.")

    def _first_error(self, exc: BaseException) -> str:
        # the pool wraps libpq's error in a timeout: the connection attempts' own errors say why
        try:
            conn = self._psycopg.connect(self.url, connect_timeout=int(CONNECT_SECONDS))
        except Exception as direct:  # noqa: BLE001
            return _reason(direct)
        conn.close()
        return _reason(exc)

    def close(self) -> None:
        """Close every connection (idempotent)."""
        if not getattr(self, "_closed", True):
            self._closed = True
            self._pool.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        """A pooled connection in autocommit mode; errors of the server become DatabaseError."""
        try:
            with self._pool.connection() as conn:
                yield conn
        except self._psycopg.OperationalError as exc:  # the pool's timeouts and closing too
            raise DatabaseError(f"PostgreSQL at {self.where} failed ({_reason(exc)}).") from None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        """A connection inside one transaction: committed on success, rolled back on any error."""
        with self.connection() as conn, conn.transaction():
            yield conn

    # -- locks -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, name: str, *, wait: bool = False, busy: str = "") -> Iterator[None]:
        """Hold the session advisory lock ``name`` on a connection of its own for the block.

        ``wait``: block until it is free; otherwise raise BusyError(``busy``) at once if another
        session (any process, any machine) holds it. Released when the block ends, or by the
        server if this process dies.
        """
        key = lock_key(name)
        with self.connection() as conn:
            if wait:
                conn.execute("SELECT pg_advisory_lock(%s)", (key,))
            elif not conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
                raise BusyError(busy or f"{name} is held by another process.")
            try:
                yield
            finally:
                with contextlib.suppress(Exception):
                    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    # -- migrations ------------------------------------------------------------------------
    def schema_version(self) -> int:
        """The newest migration applied (0: none)."""
        with self.connection() as conn:
            exists = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()[0]
            if not exists:
                return 0
            return int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0])

    def migrate(self) -> list[int]:
        """Apply the migrations this database lacks, each in its own transaction; the versions applied.

        Processes starting together take turns on one advisory lock, so each migration runs once.
        A database migrated by a newer qabot is refused (this one would not know its tables).
        """
        applied: list[int] = []
        with self.connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (lock_key(MIGRATION_LOCK),))
            try:
                conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                             "description TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
                current = int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0])
                newest = MIGRATIONS[-1][0]
                if current > newest:
                    raise DatabaseError(f"The database at {self.where} has schema version {current}, newer than "
                                        f"this qabot knows ({newest}): upgrade qabot on this machine.")
                for version, description, sql in MIGRATIONS:
                    if version <= current:
                        continue
                    with conn.transaction():
                        conn.execute(sql)
                        conn.execute("INSERT INTO schema_version (version, description) VALUES (%s, %s)",
                                     (version, description))
                    log.info("database %s migrated to version %d (%s)", self.where, version, description)
                    applied.append(version)
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (lock_key(MIGRATION_LOCK),))
        return applied
