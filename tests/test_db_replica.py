"""Indexes are caches: a machine handed a server it has no index for builds it from PostgreSQL,
embedding and fetching nothing again; members are told it is getting ready meanwhile.

Each "machine" is a Spaces over its own empty index directory and its own connection pool to the
same real PostgreSQL database (QABOT_TEST_POSTGRES); skipped without one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import replica
from bot.config import DatabaseSettings, Settings
from bot.db import Database, postgres_stores
from bot.reading import read_paths
from bot.replica import PreparingError
from bot.service import QAService
from bot.spaces import Spaces
from index.types import Source
from tests.conftest import DATA, FakeEmbedder

GUILD = 900000000000000101


class Machine:
    """One qabot process: its own disk, its own embedder (to count what it embeds), one database."""

    def __init__(self, url: str, root: Path) -> None:
        self.embedder = FakeEmbedder()
        self.database = Database(url, pool_size=4)
        settings = Settings(database=DatabaseSettings(url=url))
        self.spaces = Spaces(QAService(settings, root, self.embedder, stores=postgres_stores(self.database, root)))

    def close(self) -> None:
        self.database.close()


@pytest.fixture
def machines(postgres_url: str, tmp_path: Path) -> Iterator[list[Machine]]:
    made: list[Machine] = []

    def machine() -> Machine:
        made.append(Machine(postgres_url, tmp_path / f"machine-{len(made)}"))
        return made[-1]

    machine()
    yield made
    for m in made:
        m.close()


def _new(machines: list[Machine]) -> Machine:
    m = Machine(machines[0].database.url, machines[0].spaces.root.parent / f"machine-{len(machines)}")
    machines.append(m)
    return m


def _attachment(name: str, text: str) -> Source:
    from index.sources import content_hash

    return Source(id=name, kind="attachment", location=f"upload:{name}.txt", title=name, text=text,
                  content_hash=content_hash(text))


def _set_up(first: Machine) -> None:
    """A server with a file and an attachment (which cannot be read again), on the first machine."""
    first.spaces.default.catalog.build(first.spaces.default.catalog.configured_sources())
    guild = first.spaces.for_guild(GUILD)
    harbour = read_paths([DATA / "harbour.txt"])
    memo = _attachment("memo", "The council memo said the ferry will run on Sundays from June.\n")
    guild.catalog.add_sources([*harbour, memo], added_by="mod#1")


def test_another_machine_rebuilds_a_server_without_embedding_or_fetching(
        machines: list[Machine], monkeypatch: pytest.MonkeyPatch) -> None:
    _set_up(machines[0])
    before = machines[0].spaces.for_guild(GUILD).list_sources()
    second = _new(machines)  # a fresh disk: no index at all
    monkeypatch.setattr("bot.reading.fetch", lambda *a, **k: pytest.fail("nothing may be fetched"))
    monkeypatch.setattr("bot.reading.read_file", lambda *a, **k: pytest.fail("nothing may be read again"))
    guild = second.spaces.for_guild(GUILD)
    assert guild.own_index and not (second.spaces.guild_dir(GUILD) / "CURRENT").exists()
    index = guild.loaded()  # built here, from PostgreSQL
    assert second.embedder.calls == 0  # every vector came from the shared cache
    assert index.manifest["embedded"] == 0
    assert [(s.id, s.title, s.kind, s.chunks) for s in guild.list_sources()] == \
        [(s.id, s.title, s.kind, s.chunks) for s in before]
    assert guild.ask("What did the council memo say about the ferry?").found  # the attachment's text is there
    assert guild.ask("What did Mayor Tomas Eriksen say?").found


def test_the_default_space_is_not_rebuilt_from_the_configured_sources(machines: list[Machine]) -> None:
    first = machines[0]
    default = first.spaces.default
    default.catalog.build(default.catalog.configured_sources())
    default.catalog.add_sources(read_paths([DATA / "quake.md"]))
    second = _new(machines)
    assert second.spaces.default.own_index  # PostgreSQL holds it: `qabot serve` builds nothing from config
    assert [s.id for s in second.spaces.default.list_sources()] == [s.id for s in default.list_sources()]
    assert second.embedder.calls == 0


def test_members_are_told_it_is_getting_ready_while_the_bot_rebuilds(machines: list[Machine]) -> None:
    _set_up(machines[0])
    second = _new(machines)
    second.spaces.default.background = True  # as the bot does
    guild = second.spaces.for_guild(GUILD)
    with pytest.raises(PreparingError, match="getting this server's sources ready"):
        guild.ask("What did Mayor Tomas Eriksen say?")
    thread = guild.live.readiness.thread
    assert thread is not None
    thread.join(60)
    assert guild.ask("What did Mayor Tomas Eriksen say?").found
    assert second.embedder.texts_embedded <= 2  # the questions only


def test_a_stale_index_catches_up_with_a_change_made_elsewhere(
        machines: list[Machine], monkeypatch: pytest.MonkeyPatch) -> None:
    _set_up(machines[0])
    second = _new(machines)
    assert second.spaces.for_guild(GUILD).ask("What did Mayor Tomas Eriksen say?").found
    # the shard moves back: the first machine's moderators change the server
    first_guild = machines[0].spaces.for_guild(GUILD)
    first_guild.catalog.add_sources(read_paths([DATA / "quake.md"]))
    monkeypatch.setattr(replica, "CHECK_EVERY_SECONDS", 0.0)
    again = second.spaces.for_guild(GUILD)
    assert {s.id for s in again.list_sources()} == {s.id for s in first_guild.list_sources()}


def test_a_change_on_the_new_machine_lands_in_the_shared_registry(machines: list[Machine]) -> None:
    _set_up(machines[0])
    second = _new(machines)
    guild = second.spaces.for_guild(GUILD)
    report = guild.catalog.remove_source("memo")  # the index is rebuilt first, inside the change
    assert report.removed == ["memo"]
    stored = machines[0].spaces.default.stores.registry.load(GUILD)  # type: ignore[union-attr]
    assert stored is not None and "memo" not in {e.source.id for e in stored.entries}
    assert second.spaces.with_own_index() == [None, GUILD]


def test_a_loaded_server_keeps_answering_when_postgresql_is_unreachable(
        machines: list[Machine], monkeypatch: pytest.MonkeyPatch) -> None:
    _set_up(machines[0])
    second = _new(machines)
    guild = second.spaces.for_guild(GUILD)
    assert guild.ask("What did Mayor Tomas Eriksen say?").found
    second.database.close()  # its connections are gone, as when the database server is down
    monkeypatch.setattr(replica, "CHECK_EVERY_SECONDS", 0.0)
    assert guild.ask("What did Mayor Tomas Eriksen say?").found  # from the local index, a warning logged
