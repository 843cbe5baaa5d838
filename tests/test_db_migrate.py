"""`qabot migrate-db --to URL`: an installation's SQLite files copied into PostgreSQL, losing nothing.

The copy runs against a real server (QABOT_TEST_POSTGRES; skipped without one); the bad-URL
cases need no server.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import run
from bot.config import DatabaseSettings, Settings
from bot.db import Database, postgres_stores
from bot.db.migrate import entries_without_times, local_spaces
from bot.discord.records import Records
from bot.reading import read_paths
from bot.service import QAService
from bot.spaces import Spaces
from index.cache import EmbeddingCache
from index.sources import content_hash
from index.store import FeedEntry
from index.types import Source
from tests.conftest import DATA, FakeEmbedder

GUILD, OTHER = 900000000000000101, 900000000000000202


def _installation(root: Path) -> Records:
    """One machine's files: the default space, two servers (files, an attachment, a feed), records."""
    spaces = Spaces.create(Settings(), root, embedder=FakeEmbedder())
    spaces.default.catalog.build(spaces.default.catalog.configured_sources())
    guild = spaces.for_guild(GUILD)
    memo = "The council memo said the ferry will run on Sundays from June.\n"
    attachment = Source(id="memo", kind="attachment", location="upload:memo.txt", title="memo", text=memo,
                        content_hash=content_hash(memo))
    feed = FeedEntry("https://news.test/rss", "news-rss", "News", '"v1"', None, "2026-01-01T00:00:00Z", "ok",
                     None, "mod#1", "2026-01-01T00:00:00Z", '{"failures": 1}')
    guild.catalog.build([*read_paths([DATA / "harbour.txt"]), attachment], added_by="mod#1", feeds=[feed])
    other = spaces.for_guild(OTHER)
    other.catalog.add_sources(read_paths([DATA / "quake.md"]))
    other.catalog.add_sources(read_paths([DATA / "quake.md"]))  # unchanged: nothing new
    records = Records(root / "bot.sqlite")
    for n in range(3):
        a = records.save_answer(GUILD, 7, 70, f"Q{n}", {"question": f"Q{n}", "answer": f"A{n}"})
        records.save_feedback(a, 11, "down", GUILD)
    records.set_message(a, 5000)
    records.audit(1, "mod#1", GUILD, "/source add", "memo.txt", "added: memo")
    records.audit(2, "mod#2", None, "/reindex", "", "ok")
    return records


def test_everything_is_copied_and_nothing_is_rebuilt_afterwards(
        postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "index"
    records = _installation(root)
    local = local_spaces(root)
    assert run(["migrate-db", "--to", postgres_url, "--index-dir", str(root)]) == 0
    out = capsys.readouterr().out
    assert "every count and text matches" in out and f"server {GUILD}: 2 source(s)" in out

    db = Database(postgres_url, pool_size=4)
    try:
        stores = postgres_stores(db, root)
        for space, stored in local.items():  # every space: texts, previous texts, registry fields, feeds
            copied = stores.registry.load(space)
            assert copied is not None
            assert entries_without_times(copied.entries) == entries_without_times(stored.entries)
            assert copied.feeds == stored.feeds
        assert sorted(stores.registry.spaces()) == [GUILD, OTHER]
        assert sorted(stores.cache.rows()) == sorted(EmbeddingCache(root / "cache.sqlite").rows())
        pg = stores.records
        for answer_id in range(1, 4):  # the same ids: old answers' buttons keep working
            assert pg.answer(answer_id, GUILD) == records.answer(answer_id, GUILD)
        assert pg.feedback(GUILD) == [tuple(r) for r in records.feedback(GUILD)]
        assert pg.audit_log() == [tuple(r) for r in records.audit_log()]
        assert pg.thread_history(5000, GUILD) == records.thread_history(5000, GUILD)
        assert pg.save_answer(GUILD, 7, 70, "new", {"question": "new", "answer": "x"}) == 4

        # the first start with database.url, on the same disk: every index is current, nothing is rebuilt
        embedder = FakeEmbedder()
        settings = Settings(database=DatabaseSettings(url=postgres_url))
        spaces = Spaces(QAService(settings, root, embedder, stores=stores))
        generation = (spaces.guild_dir(GUILD) / "CURRENT").read_text()
        assert spaces.for_guild(GUILD).ask("What did the council memo say about the ferry?").found
        assert (spaces.guild_dir(GUILD) / "CURRENT").read_text() == generation
        assert embedder.texts_embedded <= 2  # the question's embeddings, no sentence of the index
    finally:
        db.close()


def test_a_database_already_in_use_is_refused(postgres_url: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "index"
    _installation(root)
    assert run(["migrate-db", "--to", postgres_url, "--index-dir", str(root)]) == 0
    capsys.readouterr()
    assert run(["migrate-db", "--to", postgres_url, "--index-dir", str(root)]) == 1
    err = capsys.readouterr().err
    assert "already holds qabot data" in err and "Nothing was copied" in err


def test_a_damaged_space_stops_the_copy_before_anything_is_written(
        postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "index"
    _installation(root)
    for meta in (root / "guilds" / str(OTHER)).glob("gen-*/meta.sqlite"):
        meta.write_bytes(b"not a database")
    assert run(["migrate-db", "--to", postgres_url, "--index-dir", str(root)]) == 1
    assert f"qabot index --rebuild --guild {OTHER}" in capsys.readouterr().err
    with Database(postgres_url, pool_size=1) as db, db.connection() as conn:
        assert conn.execute("SELECT COUNT(*) FROM spaces").fetchone()[0] == 0


@pytest.mark.parametrize("url, code, message", [
    ("mysql://u@h/db", 1, "--to: expected a postgresql:// URL"),
    ("postgresql://qabot:hunter2@127.0.0.1:1/qabot", 1, "Cannot connect to PostgreSQL at qabot@127.0.0.1:1/qabot"),
    ("postgresql://[oops", 1, "not a valid PostgreSQL URL"),
])
def test_bad_or_unreachable_urls_get_one_line(url: str, code: int, message: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "index").mkdir()
    assert run(["migrate-db", "--to", url, "--index-dir", str(tmp_path / "index")]) == code
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and "hunter2" not in err


def test_there_must_be_an_installation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["migrate-db", "--to", "postgresql://q@127.0.0.1:1/q", "--index-dir", str(tmp_path / "none")]) == 1
    assert "There is no installation at" in capsys.readouterr().err
