"""The index on disk: generations, manifest checks, atomicity, cache and the FAISS reference."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.config import IndexSettings, Settings
from bot.reading import read_paths
from bot.service import QAService
from index import postings, store
from index.embedder import DEFAULT_MODEL
from index.errors import BusyError, IndexMismatchError, IndexMissingError
from index.speakers import ATTRIBUTION_VERSION
from index.store import VERIFIED, build_lock, current_generation, open_index
from tests.conftest import DATA, FakeEmbedder


def _open(service: QAService):  # noqa: ANN202
    return open_index(service.index_dir, service.embedder.name, ATTRIBUTION_VERSION)


def test_build_writes_faiss_sqlite_and_manifest(built_fake_service: QAService) -> None:
    gen = current_generation(built_fake_service.index_dir)
    assert gen is not None
    names = {p.name for p in gen.iterdir()}
    # the build loads what it wrote, so retrieval's derived state is ready for the first question
    assert {"index.faiss", "meta.sqlite", "manifest.json", VERIFIED} <= names
    assert len([n for n in names if n.startswith("derived-")]) == 1 and len(names) == 5
    manifest = json.loads((gen / "manifest.json").read_text())
    assert manifest["model"] == DEFAULT_MODEL
    assert manifest["dimension"] == 64
    assert manifest["normalized"] is True
    loaded = _open(built_fake_service)
    assert manifest["counts"]["sentences"] == loaded.faiss.ntotal == len(loaded.sentences)
    assert manifest["counts"]["chunks"] == len(loaded.chunks)
    with sqlite3.connect(gen / "meta.sqlite") as db:
        assert db.execute("SELECT count(*) FROM sources").fetchone()[0] == 1


def test_stored_offsets_point_at_the_stored_text(built_fake_service: QAService) -> None:
    loaded = _open(built_fake_service)
    for sentence in loaded.sentences:
        text = loaded.sources[sentence.source_id].source.text
        assert text[sentence.start : sentence.end] == sentence.text
        chunk = loaded.chunks[sentence.chunk_id]
        assert chunk.start <= sentence.start and sentence.end <= chunk.end


def test_rows_read_when_used_are_the_stored_rows(built_fake_service: QAService) -> None:
    loaded = _open(built_fake_service)
    with sqlite3.connect(loaded.path / "meta.sqlite") as db:
        stored = db.execute('SELECT row, source_id, chunk_id, start, "end", role, speakers, is_quote, entities '
                            "FROM sentences ORDER BY row").fetchall()
        passages = db.execute('SELECT id, source_id, start, "end" FROM chunks ORDER BY id').fetchall()
    in_order = list(loaded.sentences)  # one pass, in batches
    assert [s.row for s in in_order] == [r[0] for r in stored] == list(range(len(loaded.sentences)))
    for sentence, row in zip(in_order, stored, strict=True):
        assert (sentence.source_id, sentence.chunk_id, sentence.start, sentence.end, sentence.role) == row[1:6]
        assert list(sentence.speakers) == json.loads(row[6]) and sentence.is_quote == bool(row[7])
        assert [list(e) for e in sentence.entities] == json.loads(row[8])
    assert any(s.speakers for s in in_order) and any(s.entities for s in in_order)
    for row in (0, len(stored) // 2, len(stored) - 1, -1):
        assert loaded.sentences[row] == in_order[row]  # one at a time, as a question reads them
    assert loaded.sentences[1:3] == in_order[1:3]
    with pytest.raises(IndexError):
        loaded.sentences[len(stored)]
    records = list(loaded.chunks.records())
    assert [(c.id, c.source_id, c.start, c.end) for c in records] == passages
    assert list(loaded.chunks) == [c.id for c in records] and loaded.chunks[records[-1].id] == records[-1]
    sid = records[0].source_id
    assert loaded.chunks.of_source(sid) == sorted((c for c in records if c.source_id == sid), key=lambda c: c.start)
    assert loaded.chunks.counts() == {sid: len(records)}
    with pytest.raises(KeyError):
        loaded.chunks[records[-1].id + 1]


def test_rows_kept_in_memory_are_bounded(built_fake_service: QAService, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postings, "KEEP", 5)
    loaded = _open(built_fake_service)
    in_order = list(loaded.sentences)
    assert [loaded.sentences[row] for row in range(len(in_order))] == in_order  # made again when forgotten
    assert len(loaded.sentences._made) <= 5


def test_checksums_are_checked_once_and_again_after_a_change(
    built_fake_service: QAService, monkeypatch: pytest.MonkeyPatch
) -> None:
    gen = _open(built_fake_service).path
    manifest = json.loads((gen / "manifest.json").read_text())
    assert set(json.loads((gen / VERIFIED).read_text())) == set(manifest["files"])
    real, hashed = store._sha256, []
    monkeypatch.setattr(store, "_sha256", lambda path: hashed.append(path.name) or real(path))
    _open(built_fake_service)
    assert hashed == []  # noted as verified: not hashed again
    data = bytearray((gen / "index.faiss").read_bytes())
    data[-1] ^= 0xFF  # same size, new content (and modification time)
    (gen / "index.faiss").write_bytes(bytes(data))
    with pytest.raises(IndexMismatchError, match="checksum mismatch"):
        _open(built_fake_service)
    assert hashed == ["index.faiss"]


def test_from_the_configured_size_search_uses_an_hnsw_graph_over_the_same_vectors(
    built_fake_service: QAService, tmp_path: Path
) -> None:
    settings = replace(Settings(), index=IndexSettings(approximate_from=30))
    large = QAService(settings, tmp_path / "large", embedder=FakeEmbedder())
    manifest = large.catalog.build(large.catalog.configured_sources())
    assert manifest["counts"]["sentences"] >= 30 and manifest["search"] == "hnsw"
    assert json.loads((current_generation(built_fake_service.index_dir) / "manifest.json").read_text())["search"] \
        == "exact"
    graph, exact = _open(large), _open(built_fake_service)
    assert hasattr(graph.faiss, "hnsw") and not hasattr(exact.faiss, "hnsw")
    assert np.array_equal(graph.vectors(), exact.vectors())  # read where the graph keeps them
    for question in ["What did Scholz say?", "embassy Lviv", "troops border"]:
        q = FakeEmbedder().embed([question])[0]
        assert [r for r, _ in graph.search(q, 10)] == [r for r, _ in exact.search(q, 10)]
        assert large.ask(question).answer == built_fake_service.ask(question).answer
    small = QAService(replace(Settings(), index=IndexSettings(approximate_from=10**6)), tmp_path / "small",
                      embedder=FakeEmbedder())
    assert small.catalog.build(small.catalog.configured_sources())["search"] == "exact"


def test_faiss_top_k_equals_numpy_brute_force(built_fake_service: QAService, fake_embedder: FakeEmbedder) -> None:
    loaded = _open(built_fake_service)
    matrix = loaded.faiss.reconstruct_n(0, loaded.faiss.ntotal)
    for question in ["What did Scholz say?", "embassy Lviv", "troops border", "NATO constitution"]:
        q = fake_embedder.embed([question])[0]
        got = loaded.search(q, 5)
        reference = matrix @ q
        kth = np.sort(reference)[-5]
        assert len(got) == 5
        for row, score in got:
            assert score == pytest.approx(float(reference[row]), abs=1e-5)
            assert reference[row] >= kth - 1e-5  # ties at the boundary may be ordered either way
        assert got[0][1] == pytest.approx(float(reference.max()), abs=1e-5)


def test_loading_refuses_another_model(built_fake_service: QAService) -> None:
    with pytest.raises(IndexMismatchError, match="embedding model.*qabot index --rebuild"):
        open_index(built_fake_service.index_dir, "other-model", ATTRIBUTION_VERSION)


def test_loading_refuses_another_chunker_version(built_fake_service: QAService) -> None:
    gen = current_generation(built_fake_service.index_dir)
    assert gen is not None
    manifest = json.loads((gen / "manifest.json").read_text())
    manifest["chunker_version"] = "0"
    (gen / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="chunker version"):
        _open(built_fake_service)


def test_reindex_after_an_upgrade_keeps_every_source(built_fake_service: QAService) -> None:
    """An index built by an older qabot is refused for questions; `reindex` (also /reindex in
    Discord) rebuilds it from the stored sources, moderators' additions included."""
    service = built_fake_service
    service.catalog.add_sources(read_paths([DATA / "harbour.txt"]), added_by="mod#1")
    gen = current_generation(service.index_dir)
    assert gen is not None
    manifest = json.loads((gen / "manifest.json").read_text())
    manifest["attribution_version"] = "1"
    (gen / "manifest.json").write_text(json.dumps(manifest))
    service.unload()  # as a new process would start (the build had loaded it)
    with pytest.raises(IndexMismatchError):
        service.ask("Who leads the union?")
    service.catalog.reindex()
    infos = {i.id: i for i in service.list_sources()}
    assert len(infos) == 2 and any(i.id.startswith("harbour") for i in infos.values())
    harbour = next(e for e in service.loaded().sources.values() if e.source.id.startswith("harbour"))
    assert harbour.added_by == "mod#1"
    assert service.loaded().manifest["attribution_version"] == ATTRIBUTION_VERSION
    service.ask("Who leads the union?")  # answered from the rebuilt index, no error


@pytest.mark.parametrize("damage", ["truncate-faiss", "delete-db", "garbage-db", "garbage-manifest"])
def test_damaged_files_are_reported_and_rebuild_recovers(built_fake_service: QAService, damage: str) -> None:
    gen = current_generation(built_fake_service.index_dir)
    assert gen is not None
    before = {s.id for s in built_fake_service.list_sources()}
    if damage == "truncate-faiss":
        data = (gen / "index.faiss").read_bytes()
        (gen / "index.faiss").write_bytes(data[: len(data) // 2])
    elif damage == "delete-db":
        (gen / "meta.sqlite").unlink()
    elif damage == "garbage-db":
        (gen / "meta.sqlite").write_bytes(b"not a database" * 100)
    else:
        (gen / "manifest.json").write_text("{oops")
    with pytest.raises(IndexMismatchError, match="qabot index --rebuild"):
        _open(built_fake_service)
    sources, _origin, _feeds = built_fake_service.catalog.recover_sources()
    built_fake_service.catalog.build(sources)
    assert {s.id for s in built_fake_service.list_sources()} == before


def test_missing_index_says_how_to_build(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match="qabot index"):
        open_index(tmp_path / "nothing", DEFAULT_MODEL, ATTRIBUTION_VERSION)


class ExplodingEmbedder(FakeEmbedder):
    def embed(self, texts, progress=None):  # noqa: ANN001, ANN201
        raise RuntimeError("power cut")


def test_a_failed_build_leaves_the_previous_index_serving(built_fake_service: QAService, tmp_path: Path) -> None:
    before = current_generation(built_fake_service.index_dir)
    answer_before = built_fake_service.ask("Where is the US embassy moving?")
    broken = QAService(built_fake_service.settings, built_fake_service.index_dir, embedder=ExplodingEmbedder())
    new_text = tmp_path / "new.txt"
    new_text.write_text("Brand new story\n\nA completely different sentence about volcanoes erupting.\n")
    with pytest.raises(RuntimeError):
        broken.catalog.build(read_paths([new_text]))
    assert current_generation(built_fake_service.index_dir) == before
    assert not list(built_fake_service.index_dir.glob("*.partial"))
    assert built_fake_service.ask("Where is the US embassy moving?").answer == answer_before.answer


def test_a_failed_current_write_leaves_no_orphaned_generation(
    built_fake_service: QAService, monkeypatch: pytest.MonkeyPatch
) -> None:
    import index.store as store

    index_dir = built_fake_service.index_dir
    before = current_generation(index_dir)
    gens_before = sorted(p.name for p in index_dir.glob("gen-*"))

    def disk_full(directory: Path, name: str) -> None:
        (directory / "CURRENT.tmp").write_text("half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "_point_current", disk_full)
    with pytest.raises(OSError, match="No space"):
        built_fake_service.catalog.build(built_fake_service.catalog.configured_sources())
    assert current_generation(index_dir) == before
    assert sorted(p.name for p in index_dir.glob("gen-*")) == gens_before
    assert not (index_dir / "CURRENT.tmp").exists()


def test_second_build_while_one_runs_is_refused(fake_service: QAService) -> None:
    with build_lock(fake_service.index_dir):
        with pytest.raises(BusyError, match="already running"):
            fake_service.catalog.build(fake_service.catalog.configured_sources())


def test_rebuild_reuses_cached_embeddings(fake_service: QAService, fake_embedder: FakeEmbedder) -> None:
    fake_service.catalog.build(fake_service.catalog.configured_sources())
    first = fake_embedder.texts_embedded
    assert first > 0
    fake_service.catalog.build(fake_service.catalog.configured_sources() + read_paths([DATA / "harbour.txt"]))
    harbour_sentences = fake_embedder.texts_embedded - first
    fake_service.catalog.build(fake_service.catalog.configured_sources())
    assert fake_embedder.texts_embedded - first == harbour_sentences  # nothing re-embedded
    assert 0 < harbour_sentences < first + 30


def test_old_generations_are_cleaned_up(fake_service: QAService) -> None:
    for _ in range(4):
        fake_service.catalog.build(fake_service.catalog.configured_sources())
    gens = [p for p in fake_service.index_dir.glob("gen-*")]
    assert len(gens) == 2  # the live one and the one before it


def test_service_picks_up_a_new_generation_without_restart(built_fake_service: QAService, tmp_path: Path) -> None:
    reader = QAService(built_fake_service.settings, built_fake_service.index_dir, embedder=FakeEmbedder())
    assert not reader.ask("What did Marta Kowalczyk say?").found
    both = built_fake_service.catalog.configured_sources() + read_paths([DATA / "harbour.txt"])
    built_fake_service.catalog.build(both)
    answer = reader.ask("What did Marta Kowalczyk say?")
    assert answer.found
    assert all("Marta Kowalczyk" in c.speakers for c in answer.citations)


def test_vectors_are_a_view_of_the_faiss_index_not_a_copy(built_fake_service: QAService) -> None:
    index = built_fake_service.loaded()
    view = index.vectors()
    assert view.shape == (index.faiss.ntotal, index.faiss.d)
    assert not view.flags.owndata and not view.flags.writeable
    assert np.allclose(view, index.faiss.reconstruct_n(0, index.faiss.ntotal))


def test_the_embedding_cache_counts_repeated_texts_in_its_progress(tmp_path: Path) -> None:
    from index.cache import EmbeddingCache

    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    texts = ["a harbour strike", "the ferry budget", "a harbour strike", "a harbour strike", "rents rose"]
    reported: list[int] = []
    vectors, computed = cache.embed(FakeEmbedder(), texts, reported.append)
    assert computed == 3 and sum(reported) == len(texts)
    assert np.allclose(vectors, FakeEmbedder().embed(texts))
    again: list[int] = []
    assert cache.embed(FakeEmbedder(), texts, again.append)[1] == 0 and sum(again) == len(texts)
