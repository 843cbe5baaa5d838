"""PostgreSQL itself: migrations (versioned, once, race-free), the per-server lock, clear errors.

Against a real server (QABOT_TEST_POSTGRES); skipped without one. Two ``Database`` objects are
two sessions, as two processes (or machines) would be.
"""

from __future__ import annotations

import threading
import time

import pytest

from bot.db import Database, DatabaseError, Stores
from bot.db import migrations as migrations_module
from bot.db.postgres import lock_key
from bot.db.registry import PostgresRegistry
from index.errors import BusyError

GUILD = 900000000000000101


def _tables(db: Database) -> set[str]:
    with db.connection() as conn:
        return {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")}


def test_a_fresh_database_is_migrated_to_the_newest_version(postgres_url: str) -> None:
    with Database(postgres_url, pool_size=1) as db:
        assert db.schema_version() == migrations_module.MIGRATIONS[-1][0]
        assert {"schema_version", "spaces", "sources", "feeds", "embeddings", "answers", "feedback",
                "audit", "maintenance"} <= _tables(db)
        assert db.migrate() == []  # nothing left to apply
        with db.connection() as conn:
            rows = conn.execute("SELECT version, description FROM schema_version ORDER BY version").fetchall()
        assert [r[0] for r in rows] == [v for v, _, _ in migrations_module.MIGRATIONS]


def test_a_new_migration_is_applied_once_on_top(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with Database(postgres_url, pool_size=1) as db:
        with db.connection() as conn:
            conn.execute("INSERT INTO audit (at, action, outcome) VALUES ('2026-01-01T00:00:00Z', 'kept', 'ok')")
    later = [*migrations_module.MIGRATIONS, (99, "a test column", "ALTER TABLE audit ADD COLUMN shard INTEGER")]
    monkeypatch.setattr("bot.db.postgres.MIGRATIONS", later)
    with Database(postgres_url, pool_size=1) as db:
        assert db.schema_version() == 99
        with db.connection() as conn:
            assert conn.execute("SELECT action, shard FROM audit").fetchall() == [("kept", None)]  # data kept
        assert db.migrate() == []


def test_processes_starting_together_migrate_once(postgres_url: str) -> None:
    start = threading.Barrier(4)
    errors: list[BaseException] = []
    opened: list[Database] = []

    def boot() -> None:
        start.wait()
        try:
            opened.append(Database(postgres_url, pool_size=1))
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=boot) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        with opened[0].connection() as conn:
            versions = [r[0] for r in conn.execute("SELECT version FROM schema_version")]
        assert versions == [v for v, _, _ in migrations_module.MIGRATIONS]  # each applied exactly once
    finally:
        for db in opened:
            db.close()


def test_a_database_from_a_newer_qabot_is_refused(postgres_url: str) -> None:
    with Database(postgres_url, pool_size=1) as db, db.connection() as conn:
        conn.execute("INSERT INTO schema_version (version, description) VALUES (1000, 'from the future')")
    with pytest.raises(DatabaseError, match="schema version 1000, newer than this qabot knows"):
        Database(postgres_url, pool_size=1)


def test_two_processes_never_change_one_server_at_once(postgres_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The lock is in PostgreSQL: machines with different disks still exclude each other."""
    with Database(postgres_url, pool_size=2) as one, Database(postgres_url, pool_size=2) as two:
        a = PostgresRegistry(one, tmp_path / "machine-a")
        b = PostgresRegistry(two, tmp_path / "machine-b")
        with a.lock(GUILD):
            with pytest.raises(BusyError, match="already running"), b.lock(GUILD):
                pass
            with b.lock(GUILD + 1), b.lock(None):  # other servers and the default space are free
                pass
        with b.lock(GUILD):  # released when the change ended
            pass


def test_a_dead_process_releases_its_lock(postgres_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import psycopg

    holder = psycopg.connect(postgres_url, autocommit=True)
    holder.execute("SELECT pg_advisory_lock(%s)", (lock_key(f"qabot:space:{GUILD}"),))
    with Database(postgres_url, pool_size=2) as db:
        registry = PostgresRegistry(db, tmp_path)
        with pytest.raises(BusyError), registry.lock(GUILD):
            pass
        holder.close()  # the process holding it is gone: the server drops its session's locks
        for _ in range(50):  # the server ends the session a moment after the socket closes
            try:
                with registry.lock(GUILD):
                    break
            except BusyError:
                time.sleep(0.1)
        else:
            pytest.fail("the lock of a closed session was never released")


def test_the_commit_waits_for_nothing_but_its_own_space(stores: Stores) -> None:
    if stores.database is None:
        pytest.skip("PostgreSQL only: revisions number a shared registry")
    registry = stores.registry
    assert registry.revision(GUILD) is None
    registry.commit(GUILD, [], [], lambda rev: None)
    registry.commit(GUILD, [], [], lambda rev: None)
    registry.commit(None, [], [], lambda rev: None)
    assert registry.revision(GUILD) == 2 and registry.revision(None) == 1


@pytest.mark.parametrize("url, message", [
    ("postgresql://qabot@127.0.0.1:1/qabot", "Cannot connect to PostgreSQL at qabot@127.0.0.1:1/qabot"),
    ("postgresql://qabot:hunter2@127.0.0.1:1/qabot", "Cannot connect to PostgreSQL at qabot@127.0.0.1:1/qabot"),
    ("postgresql://[bad", "not a valid PostgreSQL URL"),
    ("postgresql:///x?host=/nonexistent-dir&user=q", "Cannot connect to PostgreSQL"),
])
def test_unreachable_or_bad_urls_get_one_clear_message(url: str, message: str) -> None:
    with pytest.raises(DatabaseError, match=message) as caught:
        Database(url, pool_size=1)
    assert "hunter2" not in str(caught.value)
    assert "Traceback" not in str(caught.value)
