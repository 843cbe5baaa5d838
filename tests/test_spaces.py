"""Each server its own space: isolation, sharing what can be shared, the LRU of loaded spaces."""

from __future__ import annotations

from pathlib import Path

import pytest

import bot.service
from bot.config import GuildSettings, Settings, SourceSettings
from bot.reading import read_paths
from bot.spaces import Spaces
from index.errors import InputError, SourceError
from tests.conftest import DATA, FakeEmbedder

A, B = 111111111111111111, 222222222222222222


@pytest.fixture
def spaces(tmp_path: Path) -> Spaces:
    made = Spaces.create(Settings(), tmp_path / "data", embedder=FakeEmbedder())
    made.default.catalog.build(made.default.catalog.configured_sources())
    return made


def test_a_server_starts_from_the_default_space_without_building_anything(spaces: Spaces) -> None:
    guild = spaces.for_guild(A)
    assert not guild.own_index
    assert guild.ask("What did Scholz say?").found
    assert [s.id for s in guild.list_sources()] == [s.id for s in spaces.default.list_sources()]
    assert not spaces.guild_dir(A).exists()


def test_a_change_in_one_server_leaves_the_others_and_the_default_alone(spaces: Spaces) -> None:
    b = spaces.for_guild(B)
    bundled = b.list_sources()[0].id
    b.catalog.remove_source(bundled)
    harbour = read_paths([DATA / "harbour.txt"])
    b.catalog.add_sources(harbour, added_by="mod of B")
    assert b.own_index and (spaces.guild_dir(B) / "CURRENT").exists()
    assert [s.id for s in b.list_sources()] == [harbour[0].id]
    assert b.ask("What did Mayor Tomas Eriksen say?").found
    assert not b.ask("What did Scholz say?").found
    a = spaces.for_guild(A)
    assert a.ask("What did Scholz say?").found
    assert not a.ask("What did Mayor Tomas Eriksen say?").found
    assert [s.id for s in spaces.default.list_sources()] == [bundled]


def test_text_is_embedded_once_for_every_space(tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    spaces = Spaces.create(Settings(), tmp_path / "data", embedder=embedder)
    spaces.default.catalog.build(spaces.default.catalog.configured_sources())
    first = embedder.texts_embedded
    for gid in (A, B):  # each server adds the same article: one embedding pass in all
        guild = spaces.for_guild(gid)
        guild.catalog.add_sources(read_paths([DATA / "harbour.txt"]))
    after_a_and_b = embedder.texts_embedded
    assert after_a_and_b > first
    c = spaces.for_guild(333)
    report = c.catalog.add_sources(read_paths([DATA / "harbour.txt"]))
    assert report.manifest and report.manifest["embedded"] == 0
    assert embedder.texts_embedded == after_a_and_b
    assert not list(spaces.guild_dir(A).glob("cache.sqlite"))  # the cache lives once, at the root


class BatchedEmbedder(FakeEmbedder):
    """Reports progress every few texts, as the real embedders do per batch."""

    def embed(self, texts, progress=None):  # noqa: ANN001, ANN201
        for i in range(0, len(texts), 4):
            super().embed(texts[i : i + 4])
            if progress:
                progress(len(texts[i : i + 4]))
        return FakeEmbedder().embed(texts)


class Shown:
    """A bot.progress.Progress that records what it is told."""

    def __init__(self) -> None:
        self.calls: list[object] = []

    def total(self, n: int) -> None:
        self.calls.append(("total", n))

    def step(self, n: int) -> None:
        self.calls.append(n)


def _what_b_sees(root: Path, a_first: bool) -> tuple[str, list[object], int]:
    """Server B adds an article: its report, the progress it is shown, and how many sentences
    the article has, with or without server A having indexed the same article before (the
    embedding cache is shared)."""
    spaces = Spaces.create(Settings(), root, embedder=BatchedEmbedder())
    spaces.default.catalog.build(spaces.default.catalog.configured_sources())
    if a_first:
        a = spaces.for_guild(A)
        a.catalog.add_sources(read_paths([DATA / "harbour.txt"]))
    b = spaces.for_guild(B)
    shown = Shown()
    report = b.catalog.add_sources(read_paths([DATA / "harbour.txt"]), progress=shown)
    (added,) = report.added
    return report.summary(), shown.calls, sum(1 for s in b.loaded().sentences if s.source_id == added)


def test_a_server_cannot_tell_what_another_indexed(tmp_path: Path) -> None:
    alone = _what_b_sees(tmp_path / "alone", a_first=False)
    after_a = _what_b_sees(tmp_path / "after-a", a_first=True)
    assert after_a == alone
    summary, shown, harbour = alone
    assert shown[0] == ("total", sum(n for n in shown[1:] if isinstance(n, int)))  # every sentence counts
    assert f"{harbour} sentence(s) indexed by this change" in summary and "embedded" not in summary


def test_only_the_most_recently_used_server_indexes_stay_loaded(tmp_path: Path) -> None:
    settings = Settings(guilds=GuildSettings(max_loaded=2))
    spaces = Spaces.create(settings, tmp_path / "data", embedder=FakeEmbedder())
    spaces.default.catalog.build(spaces.default.catalog.configured_sources())
    services = {}
    for gid in (1, 2, 3):
        services[gid] = spaces.for_guild(gid)
        services[gid].catalog.add_sources(read_paths([DATA / "harbour.txt"]))
        services[gid].ask("What did Mayor Tomas Eriksen say?")
    assert spaces.loaded_guilds() == [2, 3]
    assert spaces.loaded_sources(1) is None  # unloaded: memory given back
    assert spaces.loaded_sources(3) is not None
    again = spaces.for_guild(1)  # comes back from disk with its own sources
    assert spaces.loaded_sources(1) is None  # known to be its own, not the default's, and not loaded
    assert again.ask("What did Mayor Tomas Eriksen say?").found
    assert spaces.loaded_guilds() == [3, 1]


def test_caps_on_sources_per_space_and_bytes_per_source(tmp_path: Path) -> None:
    settings = Settings(sources=SourceSettings(max_sources=2, max_source_bytes=4000))
    spaces = Spaces.create(settings, tmp_path / "data", embedder=FakeEmbedder())
    guild = spaces.for_guild(A)
    big = tmp_path / "big.txt"
    big.write_text("Title\n\n" + "A sentence of words. " * 400, encoding="utf-8")
    with pytest.raises(SourceError, match="max_source_bytes"):
        guild.catalog.add_sources(read_paths([big]))
    small = [tmp_path / f"s{i}.txt" for i in range(2)]
    for i, path in enumerate(small):
        path.write_text(f"Note {i}\n\nThe council met on day {i} and voted.\n", encoding="utf-8")
    with pytest.raises(SourceError, match="max_sources"):
        guild.catalog.add_sources(read_paths(small))  # bundled + 2 = 3 > 2
    assert not guild.own_index  # nothing half-done


def test_server_ids_are_checked() -> None:
    spaces = Spaces.create(Settings(), Path("/nonexistent"), embedder=FakeEmbedder())
    with pytest.raises(InputError, match="not a Discord server id"):
        spaces.for_guild(-5)
    assert spaces.for_guild(None) is spaces.default


def test_listing_sources_reads_the_registry_without_building_retrieval(
    spaces: Spaces, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_retrieval(*args: object, **kwargs: object) -> None:
        raise AssertionError("listing built retrieval's state")

    monkeypatch.setattr(bot.service, "Retriever", no_retrieval)
    fresh = Spaces.create(Settings(), spaces.root, embedder=FakeEmbedder())  # as a new process
    (row,) = fresh.for_guild(A).list_sources()
    assert fresh.for_guild(A).list_feeds() == []
    entry = fresh.default.loaded().sources[row.id]
    assert fresh.default.citation_status(row.id, 0, 40, entry.source.text[:40]) == "current"


def test_a_server_indexed_by_another_process_is_listed_from_its_own_index(spaces: Spaces) -> None:
    guild = spaces.for_guild(A)
    guild.ask("What did Scholz say?")
    default_rows = spaces.loaded_sources(A)
    assert default_rows is not None and [r.id for r in default_rows] == [s.id for s in spaces.default.list_sources()]
    other = Spaces.create(Settings(), spaces.root, embedder=FakeEmbedder())  # the CLI's `--guild A`
    other.for_guild(A).catalog.add_sources(read_paths([DATA / "harbour.txt"]))
    assert guild.ask("What did Mayor Tomas Eriksen say?").found  # this process looks and sees it
    rows = spaces.loaded_sources(A)
    assert rows is not None and len(rows) == len(default_rows) + 1
    assert spaces.loaded_sources(None) == default_rows  # the default space is untouched
