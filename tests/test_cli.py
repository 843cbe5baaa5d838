"""The CLI through its entry point: commands, JSON schema and a table of error cases."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

import bot.cli as cli
from bot.config import load_settings
from bot.service import QAService
from bot.spaces import Spaces
from tests.conftest import DATA, FakeEmbedder

SCHEMA_KEYS = {"question", "answer", "found", "citations", "timings_ms"}
CITATION_KEYS = {"n", "source_id", "title", "url", "section", "paragraph", "start", "end", "text", "score"}


@pytest.fixture(autouse=True)
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every CLI run in this module uses the fake embedder (the real one is tested elsewhere)."""

    def make_service(config_path: str | None, index_dir: str | None, guild: int | None = None) -> QAService:
        settings = load_settings(config_path)
        return Spaces.create(settings, settings.index_dir(index_dir), embedder=FakeEmbedder()).for_guild(guild)

    monkeypatch.setattr(cli, "make_service", make_service)


def run(args: list[str], capsys: pytest.CaptureFixture[str], stdin: str | None = None,
        monkeypatch: pytest.MonkeyPatch | None = None) -> tuple[int, str, str]:
    if stdin is not None and monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cli.run(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_ask_builds_the_default_index_first_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["ask", "Where will the US relocate its embassy?"], capsys)
    assert code == 0
    assert "building it from the configured sources first" in err
    assert "Lviv" in out and "[1]" in out
    code, out, err = run(["ask", "Where will the US relocate its embassy?"], capsys)
    assert code == 0 and "building" not in err


def test_ask_json_follows_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["ask", "--json", "What did Blinken say?"], capsys)
    assert code == 0
    data = json.loads(out)
    assert SCHEMA_KEYS <= set(data)
    assert data["found"] is True
    assert data["citations"]
    for c in data["citations"]:
        assert CITATION_KEYS <= set(c)
        assert f"[{c['n']}]" in data["answer"]


def test_ask_file_from_stdin_prints_one_json_object_per_line_in_order(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    questions = ["What did Scholz say?", "", "Where is the US embassy moving?", "What did Macron say?"]
    code, out, _ = run(["ask", "--json", "--file", "-"], capsys, stdin="\n".join(questions), monkeypatch=monkeypatch)
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["question"] for r in rows] == [q for q in questions if q]
    assert rows[-1]["found"] is False


def test_index_sources_and_listing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    index_dir = str(tmp_path / "idx")
    code, out, err = run(["index", "--index-dir", index_dir, str(DATA / "harbour.txt")], capsys)
    assert code == 0, err
    assert "Indexed 1 source(s)" in out
    code, out, _ = run(["sources", "--index-dir", index_dir], capsys)
    assert code == 0
    assert "Dockworkers strike shuts Port Alder" in out
    assert "Russia says" not in out
    code, out, _ = run(["ask", "--index-dir", index_dir, "What did the mayor say?"], capsys)
    assert code == 0 and "Eriksen" in out


def test_index_rebuild_recovers_after_damage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    index_dir = tmp_path / "idx"
    assert run(["index", "--index-dir", str(index_dir)], capsys)[0] == 0
    for faiss_file in index_dir.glob("gen-*/index.faiss"):
        faiss_file.write_bytes(b"junk")
    code, _, err = run(["ask", "--index-dir", str(index_dir), "Where is the embassy moving?"], capsys)
    assert code == 1 and "qabot index --rebuild" in err and "Traceback" not in err
    code, _, err = run(["index", "--index-dir", str(index_dir), "--rebuild"], capsys)
    assert code == 0, err
    assert run(["ask", "--index-dir", str(index_dir), "Where is the embassy moving?"], capsys)[0] == 0


@pytest.mark.parametrize("pointer", [b"garbage", b"../outside", b"\xff\xfe\x00", b"", b"gen-x/../../outside",
                                     b"gen-20261202T011957-abcdef"])
def test_a_damaged_current_pointer_is_refused_clearly_and_rebuild_recovers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pointer: bytes
) -> None:
    index_dir = tmp_path / "idx"
    assert run(["index", "--index-dir", str(index_dir), str(DATA / "harbour.txt")], capsys)[0] == 0
    notes = tmp_path / "notes.txt"
    notes.write_text("Ferry notes\n\nThe night ferry to the islands was cancelled after the storm.\n")
    assert run(["sources", "add", "--index-dir", str(index_dir), str(notes)], capsys)[0] == 0
    newest = (index_dir / "CURRENT").read_text().strip()
    shutil.copytree(index_dir / newest, tmp_path / "outside")  # a valid generation, but not inside the index
    (index_dir / "CURRENT").write_bytes(pointer)
    for args in (["sources"], ["ask", "What happened to the night ferry?"]):
        code, out, err = run([args[0], "--index-dir", str(index_dir), *args[1:]], capsys)
        assert code == 1 and "Traceback" not in err + out and len(err.strip().splitlines()) == 1
        assert "qabot index --rebuild" in err and "night ferry" not in out
    code, _, err = run(["index", "--index-dir", str(index_dir), "--rebuild"], capsys)
    assert code == 0 and f"the sources stored in {newest}" in err and "Traceback" not in err
    code, out, _ = run(["sources", "--index-dir", str(index_dir)], capsys)
    assert code == 0 and "Ferry notes" in out and "Dockworkers strike" in out


@pytest.mark.parametrize(
    "args, message, exit_code",
    [
        (["ask", ""], "The question is empty", 1),
        (["ask", "   "], "The question is empty", 1),
        (["ask"], "Give a QUESTION or --file", 1),
        (["ask", "--top-k", "0", "hi there"], "--top-k must be at least 1", 1),
        (["ask", "--file", "/nonexistent/q.txt"], "does not exist", 1),
        (["ask", "--index-dir", "{tmp}/missing", "What?"], "There is no index at", 1),
        (["ask", "--bogus", "x"], "No such option '--bogus'", 2),
        (["index", "--index-dir", "{tmp}/i", "{tmp}/missing.txt"], "does not exist", 1),
        (["index", "--index-dir", "{tmp}/i", "{tmp}/binary.txt"], "binary", 1),
        (["index", "--index-dir", "{tmp}/i", "{tmp}/empty.txt"], "is empty", 1),
        (["index", "--index-dir", "{tmp}/i", "{tmp}/picture.png"], "not a supported file type", 1),
        (["sources", "--index-dir", "{tmp}/missing"], "There is no index at", 1),
        (["ask", "--config", "{tmp}/bad.toml", "What?"], "Unknown setting answer.nope", 1),
        (["frobnicate"], "No such command", 2),
    ],
)
def test_bad_input_gives_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str, exit_code: int
) -> None:
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "picture.png").write_bytes(b"\x89PNG")
    (tmp_path / "bad.toml").write_text("[answer]\nnope = 1\n")
    code, out, err = run([a.replace("{tmp}", str(tmp_path)) for a in args], capsys)
    assert code == exit_code
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err + out


def test_chat_answers_until_an_empty_line(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run(["chat"], capsys, stdin="Where will the US relocate its embassy?\n\n", monkeypatch=monkeypatch)
    assert code == 0
    assert "Lviv" in out and "[1]" in out
    assert "an empty line or Ctrl-D quits" in err


def test_chat_reports_bad_questions_and_goes_on(capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = run(["chat"], capsys, stdin=("x" * 3000) + "\nWhere will the US relocate its embassy?\n",
                         monkeypatch=monkeypatch)
    assert code == 0
    assert "too long" in err
    assert "Lviv" in out


def test_sources_add_and_remove_from_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    index_dir = str(tmp_path / "idx")
    code, out, err = run(["sources", "--index-dir", index_dir, "add", str(DATA / "harbour.txt")], capsys)
    assert code == 0, err
    assert "added: " in out
    code, out, _ = run(["sources", "list", "--index-dir", index_dir], capsys)
    harbour = next(line.split()[0] for line in out.splitlines() if "Dockworkers strike" in line)
    assert "Russia says ready" in out  # the configured article was kept
    code, out, _ = run(["sources", "--index-dir", index_dir, "remove", harbour], capsys)
    assert code == 0 and f"removed: {harbour}" in out
    code, _, err = run(["sources", "--index-dir", index_dir, "remove", harbour], capsys)
    assert code == 1 and "No source with id" in err


def test_ask_explain_shows_features_weights_and_the_decision(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["ask", "--explain", "Where will the US relocate its embassy?"], capsys)
    assert code == 0
    assert "question: kind=where" in out
    assert "dense" in out and "idf_coverage" in out and " x " in out  # value x weight = contribution
    assert "decision: probability" in out and "threshold" in out
    code, out, _ = run(["ask", "--json", "--explain", "Where will the US relocate its embassy?"], capsys)
    data = json.loads(out)
    assert data["explanation"]["hits"][0]["features"]["dense"]["weight"] != 0
    code, out, _ = run(["ask", "--json", "Where will the US relocate its embassy?"], capsys)
    assert "explanation" not in json.loads(out) and "declined_by" in json.loads(out)


def test_eval_scores_a_set_and_ablate_reruns_without_a_feature(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = tmp_path / "set.jsonl"
    cases.write_text(
        '{"question": "Where will the US relocate its embassy?", "evidence": "Lviv", "key": "Lviv"}\n'
        '{"question": "How do I bake sourdough bread?", "out_of_scope": true}\n', encoding="utf-8")
    code, out, err = run(["eval", str(cases)], capsys)
    assert code == 0, err
    assert "system: qabot\n" in out and "questions: 1 in scope, 1 out of scope" in out
    code, out, err = run(["eval", str(cases), "--ablate", "bm25"], capsys)
    assert code == 0, err
    assert "system: qabot without bm25" in out
    code, out, err = run(["eval", str(cases), "--ablate", "nonsense"], capsys)
    assert code == 1 and "Unknown feature 'nonsense'" in err and "Traceback" not in err


def test_guild_option_acts_on_exactly_what_that_server_sees(capsys: pytest.CaptureFixture[str]) -> None:
    gid = "900000000000000777"
    code, out, _ = run(["ask", "What did Mayor Tomas Eriksen say?"], capsys)
    assert code == 0 and "couldn't find" in out.lower()
    code, out, _ = run(["sources", "--guild", gid], capsys)
    assert code == 0 and f"Server {gid} uses the default sources" in out
    code, out, _ = run(["sources", "add", "--guild", gid, str(DATA / "harbour.txt")], capsys)
    assert code == 0 and "added" in out
    code, out, _ = run(["ask", "--guild", gid, "What did Mayor Tomas Eriksen say?"], capsys)
    assert code == 0 and "[1]" in out
    code, out, _ = run(["ask", "What did Mayor Tomas Eriksen say?"], capsys)
    assert code == 0 and "couldn't find" in out.lower()  # the default space never saw it
    code, out, _ = run(["sources", "list", "--guild", gid], capsys)
    assert "its own sources" in out and "harbour" in out
    code, out, _ = run(["reindex", "--guild", gid], capsys)
    assert code == 0 and "unchanged" in out
    code, _, err = run(["ask", "--guild", "-3", "Who?"], capsys)
    assert code == 1 and "not a Discord server id" in err


def test_index_with_guild_builds_that_server_only(capsys: pytest.CaptureFixture[str]) -> None:
    gid = "900000000000000888"
    code, out, _ = run(["index", "--guild", gid, str(DATA / "harbour.txt")], capsys)
    assert code == 0 and "Indexed 1 source(s)" in out and f"guilds/{gid}" in out
    code, out, _ = run(["sources", "--guild", gid], capsys)
    assert "its own sources" in out and "Russia says ready" not in out
    code, out, err = run(["ask", "Where will the US relocate its embassy?"], capsys)
    assert code == 0 and "Lviv" in out  # the default space is built from the configured sources, untouched
