"""Every store operation gives the same result on SQLite (one machine) and PostgreSQL (many).

Each test body runs once per backend (the ``stores`` fixture); the PostgreSQL run needs a real
server (QABOT_TEST_POSTGRES, started by .ci/run) and is skipped, saying so, without one.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.db import Stores, space_dir
from bot.discord import records as records_module
from index.chunking import chunk_source
from index.errors import BusyError
from index.sources import content_hash
from index.speakers import ATTRIBUTION_VERSION
from index.store import BuildInput, FeedEntry, SourceEntry, write_generation
from index.types import Source
from tests.conftest import FakeEmbedder

GUILD = 900000000000000101
OTHER = 900000000000000202


def _source(sid: str, text: str, **more: object) -> Source:
    return Source(id=sid, kind=str(more.pop("kind", "attachment")), location=f"upload:{sid}.txt",
                  title=f"Title {sid}", text=text, content_hash=content_hash(text), **more)  # type: ignore[arg-type]


def _commit(stores: Stores, space: int | None, entries: list[SourceEntry], feeds: list[FeedEntry],
            embedder: FakeEmbedder | None = None) -> dict[str, object]:
    """What the service does on every change: registry and generation in one step."""
    inputs = [BuildInput(e, chunk_source(e.source.id, e.source.text)) for e in entries]

    def write(revision: int | None) -> dict[str, object]:
        return write_generation(space_dir(stores.registry.root, space), inputs,  # type: ignore[attr-defined]
                                embedder or FakeEmbedder(), attribution_version=ATTRIBUTION_VERSION,
                                feeds=feeds, cache=stores.cache, stamp={"registry_revision": revision})

    return stores.registry.commit(space, entries, feeds, write)


def _plain(entries: list[SourceEntry]) -> list[SourceEntry]:
    """Entries without the time they were indexed (the generation's build time on SQLite)."""
    return [replace(e, indexed_at="") for e in entries]


ENTRIES = [
    SourceEntry(_source("harbour", "The harbour opened in May. Boats came in.\n"), added_by="mod#1",
                added_at="2026-01-01T10:00:00Z"),
    SourceEntry(_source("quake", "The quake hit at dawn. Nobody was hurt.\n", kind="url", url="https://x.test/q",
                        publisher="X", date="2026-01-02", pages=(0, 20)),
                added_at="2026-01-01T10:00:00Z", status="failed", last_error="timed out",
                previous_text="Earlier text.\n", etag='"e1"', last_modified="Mon, 01 Jan 2026", failures=2,
                retry_at=1767261600.5),
    SourceEntry(_source("item-1", "The feed said rain. Rain fell.\n", kind="feed", feed="https://x.test/rss"),
                added_at="2026-01-03T00:00:00Z"),
]
FEEDS = [FeedEntry("https://x.test/rss", "rss-1", "X news", '"f"', "Tue", "2026-01-03T00:00:00Z", "limited",
                   "holds only its newest 1", "mod#1", "2026-01-03T00:00:00Z", '{"failures": 0}')]


def test_a_space_without_sources_has_no_registry(stores: Stores) -> None:
    assert stores.registry.load(GUILD) is None
    assert stores.registry.load(None) is None
    assert stores.registry.spaces() == []


def test_committed_sources_and_feeds_load_back_the_same(stores: Stores) -> None:
    _commit(stores, GUILD, ENTRIES, FEEDS)
    stored = stores.registry.load(GUILD)
    assert stored is not None
    assert _plain(stored.entries) == _plain(ENTRIES)  # texts, previous texts, validators, back-off
    assert stored.feeds == FEEDS
    assert stores.registry.load(OTHER) is None
    assert stores.registry.spaces() == [GUILD]


def test_a_change_replaces_the_registry(stores: Stores) -> None:
    _commit(stores, GUILD, ENTRIES, FEEDS)
    changed = [replace(ENTRIES[0], status="failed", last_error="gone"),
               SourceEntry(_source("new", "A new text. It is short.\n"), added_at="2026-02-01T00:00:00Z")]
    _commit(stores, GUILD, changed, [])
    stored = stores.registry.load(GUILD)
    assert stored is not None
    assert _plain(stored.entries) == _plain(changed)
    assert stored.feeds == []


def test_spaces_are_kept_apart(stores: Stores) -> None:
    _commit(stores, None, ENTRIES[:1], [])
    _commit(stores, GUILD, ENTRIES[1:], FEEDS)
    _commit(stores, OTHER, ENTRIES[:2], [])
    assert [e.source.id for e in stores.registry.load(None).entries] == ["harbour"]  # type: ignore[union-attr]
    assert [e.source.id for e in stores.registry.load(GUILD).entries] == ["quake", "item-1"]  # type: ignore[union-attr]
    assert stores.registry.load(OTHER).feeds == []  # type: ignore[union-attr]
    assert stores.registry.spaces() == [GUILD, OTHER]  # the default space is not a server


def test_a_failed_write_leaves_the_registry_as_it_was(stores: Stores) -> None:
    _commit(stores, GUILD, ENTRIES, FEEDS)

    def broken(revision: int | None) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        stores.registry.commit(GUILD, ENTRIES[:1], [], broken)
    stored = stores.registry.load(GUILD)
    assert stored is not None and len(stored.entries) == 3 and stored.feeds == FEEDS


def test_the_generation_is_stamped_with_the_revision_it_was_built_from(stores: Stores) -> None:
    first = _commit(stores, GUILD, ENTRIES, FEEDS)
    second = _commit(stores, GUILD, ENTRIES[:1], FEEDS)
    assert stores.registry.revision(GUILD) == second["registry_revision"]
    if stores.registry.shared:
        assert (first["registry_revision"], second["registry_revision"]) == (1, 2)
        assert stores.registry.load(GUILD).revision == 2  # type: ignore[union-attr]
    else:  # the generation is the registry: nothing to compare it with
        assert first["registry_revision"] is None


def test_a_change_of_a_space_excludes_another_of_the_same_space(stores: Stores) -> None:
    with stores.registry.lock(GUILD):
        with pytest.raises(BusyError, match="already running"), stores.registry.lock(GUILD):
            pass
        with stores.registry.lock(OTHER):  # another server is not held up
            pass
    with stores.registry.lock(GUILD):  # released
        pass


# -- the embedding cache --------------------------------------------------------------------
def test_the_cache_embeds_each_text_once(stores: Stores) -> None:
    embedder = FakeEmbedder()
    texts = ["one text", "two texts", "one text"]
    first, computed = stores.cache.embed(embedder, texts)
    assert computed == 2 and embedder.texts_embedded == 2
    again, computed = stores.cache.embed(embedder, [*texts, "three"])
    assert computed == 1 and embedder.texts_embedded == 3
    assert np.array_equal(again[:3], first)
    assert first.dtype == np.float32 and first.shape == (3, embedder.dimension)
    assert stores.cache.count() == 3


def test_cached_vectors_are_kept_per_model(stores: Stores) -> None:
    vec = np.arange(4, dtype=np.float32)
    stores.cache.store("model-a", [("h1", vec), ("h2", vec * 2)])
    stores.cache.store("model-a", [("h1", vec)])  # stored again: no error, no duplicate
    stores.cache.store("model-b", [("h1", vec * 3)])
    found = stores.cache.lookup("model-a", ["h1", "h2", "h3"])
    assert sorted(found) == ["h1", "h2"] and np.array_equal(found["h2"], vec * 2)
    assert np.array_equal(stores.cache.lookup("model-b", ["h1"])["h1"], vec * 3)
    assert [(m, h) for m, h, _ in stores.cache.rows()] == [("model-a", "h1"), ("model-a", "h2"), ("model-b", "h1")]
    assert stores.cache.count() == 3


# -- the bot's records ----------------------------------------------------------------------
def test_answers_are_kept_per_server(stores: Stores) -> None:
    rec = stores.records
    a = rec.save_answer(GUILD, 7, 70, "Who?", {"question": "Who?", "answer": "Nobody.", "n": "é"})
    b = rec.save_answer(None, 8, None, "DM?", {"question": "DM?", "answer": "Yes."})
    assert b > a > 0
    assert rec.answer(a, GUILD) == {"question": "Who?", "answer": "Nobody.", "n": "é"}
    assert rec.answer(a, OTHER) is None and rec.answer(a, None) is None
    assert rec.answer(b, None) == {"question": "DM?", "answer": "Yes."}
    assert rec.answer(b + 100, None) is None


def test_thread_history_follows_the_answer_a_thread_started_from(stores: Stores) -> None:
    rec = stores.records
    first = rec.save_answer(GUILD, 7, 70, "Q1", {"question": "Q1", "answer": "A1"})
    rec.set_message(first, 5000)
    for n in range(2, 8):
        rec.save_answer(GUILD, 7, 5000, f"Q{n}", {"question": f"Q{n}", "answer": f"A{n}"})
    rec.save_answer(OTHER, 7, 5000, "elsewhere", {"question": "elsewhere", "answer": "-"})
    history = rec.thread_history(5000, GUILD)
    assert [h["question"] for h in history] == [f"Q{n}" for n in range(8 - records_module.HISTORY, 8)]
    assert rec.thread_history(5000, OTHER) == [] and rec.thread_history(None, GUILD) == []
    assert rec.thread_history(70, GUILD) == []  # a channel, not a thread from an answer


def test_votes_are_stored_changed_and_read_per_server(stores: Stores) -> None:
    rec = stores.records
    a = rec.save_answer(GUILD, 7, 70, "Q", {"question": "Q", "answer": "A"})
    assert rec.save_feedback(a, 11, "up", GUILD)
    assert rec.save_feedback(a, 12, "down", GUILD)
    assert rec.save_feedback(a, 11, "down", GUILD)  # changed, not added
    assert not rec.save_feedback(a, 13, "up", OTHER)  # not that server's answer
    assert not rec.save_feedback(a + 50, 13, "up", GUILD)
    assert sorted(map(tuple, rec.feedback(GUILD))) == [(a, 11, "down", "Q", "A"), (a, 12, "down", "Q", "A")]
    assert rec.feedback(OTHER) == []
    asked = rec.asked_since(GUILD, "2000-01-01T00:00:00Z")
    assert [tuple(r[:4]) + (r[5],) for r in asked] == [(a, asked[0][1], 7, "Q", 2)]
    assert rec.asked_since(GUILD, "2999-01-01T00:00:00Z") == []


def test_the_audit_log_is_kept_in_order(stores: Stores) -> None:
    rec = stores.records
    rec.audit(1, "mod#1", GUILD, "/source add", "a.txt", "added: a")
    rec.audit(2, "mod#2", OTHER, "/source remove", "b", "x" * 3000)
    rec.audit(1, "mod#1", GUILD, "/reindex", "", "nothing changed")
    assert [tuple(r[1:4]) for r in rec.audit_log(GUILD)] == [(1, "/source add", "a.txt"), (1, "/reindex", "")]
    every = rec.audit_log()
    assert len(every) == 3 and len(every[1][4]) == 2000  # outcomes are capped


def _age(stores: Stores, table: str, days: float) -> None:
    """Make every row of ``table`` ``days`` old (what waiting would do)."""
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - days * 86400))
    if stores.database is None:
        import sqlite3

        with sqlite3.connect(stores.records.path) as db:
            db.execute(f"UPDATE {table} SET at = ?", (when,))
    else:
        with stores.database.connection() as conn:
            conn.execute(f"UPDATE {table} SET at = %s", (when,))


def test_pruning_deletes_what_is_past_retention(stores: Stores) -> None:
    rec = stores.records
    old = rec.save_answer(GUILD, 7, 70, "old", {"question": "old", "answer": "A"})
    rec.save_feedback(old, 11, "up", GUILD)
    for n in range(5):
        rec.audit(1, "mod", GUILD, f"a{n}", "", "ok")
    rec.audit(1, "mod", OTHER, "b", "", "ok")
    _age(stores, "answers", 40)
    _age(stores, "feedback", 40)
    new = rec.save_answer(GUILD, 7, 70, "new", {"question": "new", "answer": "B"})
    assert rec.prune(30, 0, 2) == 1 + 1 + 3  # the vote, the old answer, GUILD's 3 oldest audit rows
    assert rec.answer(old, GUILD) is None and rec.answer(new, GUILD) is not None
    assert [r[2] for r in rec.audit_log(GUILD)] == ["a3", "a4"] and len(rec.audit_log(OTHER)) == 1
    _age(stores, "audit", 400)
    assert rec.prune(30, 365, 0) == 3


def test_pruning_runs_once_in_its_interval_whoever_asks(stores: Stores) -> None:
    rec = stores.records
    rec.save_answer(GUILD, 7, 70, "old", {"question": "old", "answer": "A"})
    _age(stores, "answers", 40)
    assert rec.prune(30, once_every=3600) == 1
    rec.save_answer(GUILD, 7, 70, "old2", {"question": "old2", "answer": "A"})
    _age(stores, "answers", 40)
    assert rec.prune(30, once_every=3600) is None  # pruned less than an hour ago: skipped
    assert rec.prune(30) == 1  # no interval: always


def test_records_survive_reopening(stores: Stores, tmp_path: Path) -> None:
    a = stores.records.save_answer(GUILD, 7, 70, "Q", {"question": "Q", "answer": "A"})
    if stores.database is None:
        again = records_module.Records(stores.records.path)
    else:
        from bot.db import Database
        from bot.db.records import PostgresRecords

        again = PostgresRecords(Database(stores.database.url, pool_size=1))
    assert again.answer(a, GUILD) == {"question": "Q", "answer": "A"}
