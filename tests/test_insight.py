"""Coverage gaps, briefs and the question test of answer channels: through the service and the CLI."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import bot.cli as cli
from bot.config import load_settings
from bot.discord.records import Records
from bot.gaps import cluster, coverage_gaps, names_of
from bot.reading import read_paths
from bot.service import QAService
from bot.spaces import Spaces
from index.brief import brief, newest
from index.interrogatives import is_question
from tests.conftest import DATA, FakeEmbedder

A, B = 900000000000000100, 900000000000001100
SPEAKERS = {  # who the bundled article quotes, and words of theirs a brief must show
    "Olaf Scholz": "no reasonable justification",
    "Sergey Lavrov": "I would suggest continuing",
    "Stephane Dujarric": "no alternative to diplomacy",
    "Vadym Prystaiko": "ready for many concessions",
    "Antony Blinken": "The path for diplomacy remains available",
    "Stephen Nix": "It remains to be seen",
    "Natacha Butler": "show of unity",
}


@pytest.mark.parametrize("text", [
    "What did Scholz say?", "what did scholz say", "Did Lavrov meet Putin", "  **Who is Dujarric?**  ",
    "Was hat Scholz gesagt", "Pourquoi l'ambassade a-t-elle déménagé", "¿Qué dijo Scholz?", "Por qué se fue",
    "Что сказал Лавров", "Чи був Шольц у Києві", "Neden Scholz Kiev'e gitti", "Co powiedział Scholz",
    "哪位部长访问了基辅", "ショルツは何を言いましたか", "هل زار شولتس كييف", "क्या शोल्ज़ कीव गए",
    "Scholz said what?", "and Blinken?",
])
def test_questions_are_recognised_in_the_languages_listed(text: str) -> None:
    assert is_question(text)


@pytest.mark.parametrize("text", [
    "good morning everyone", "lol", "I think Scholz is right.", "Thanks!", "", "   ",
    "Come to the meeting at 5", "Have a nice day", "Scholz visited Kyiv on Monday", "https://example.com/a?b",
])
def test_chatter_is_not_a_question(text: str) -> None:
    assert not is_question(text)


def test_clustering_joins_close_vectors_and_keeps_apart_the_rest() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(16), rng.standard_normal(16)
    rows = [a, b, a + 0.05 * rng.standard_normal(16), b + 0.05 * rng.standard_normal(16), a]
    unit = np.array([v / np.linalg.norm(v) for v in rows], dtype=np.float32)
    assert cluster(unit, 0.9) == [[0, 2, 4], [1, 3]]
    assert cluster(unit, 1.01) == [[0], [1], [2], [3], [4]]  # a threshold above any cosine joins nothing


def test_questions_naming_different_places_stay_apart_however_close() -> None:
    questions = ["Who is the mayor of Lviv?", "Who runs the city of Kyiv?", "Who runs Lviv's city hall?",
                 "Wer ist Bürgermeister von Lviv?", "who is the mayor"]
    same = np.ones((len(questions), 4), dtype=np.float32) / 2  # as close in meaning as can be
    assert cluster(same, 0.9, [names_of(q) for q in questions]) == [[0, 2, 3, 4], [1]]
    assert cluster(same, 0.9) == [[0, 1, 2, 3, 4]]


def _bundled(service: QAService) -> str:
    return next(iter(service.loaded().sources))


def test_a_brief_names_each_speaker_with_their_own_words_each_verified(built_fake_service: QAService) -> None:
    answerer = built_fake_service.answerer()
    made = brief(answerer, _bundled(built_fake_service))
    text = built_fake_service.loaded().sources[made.source_id].source.text
    assert made.lead and made.lead[0].text.startswith("Russian Foreign Minister Sergey Lavrov urges")
    said = {s.name: " ".join(st.text for st in s.statements) for s in made.speakers}
    for name, words in SPEAKERS.items():
        assert words in said[name], name
    citations = {c.n: c for c in made.citations}
    statements = made.lead + [st for s in made.speakers for st in s.statements]
    assert all(1 <= len(s.statements) <= 2 for s in made.speakers)
    for st in statements:
        assert text[st.start:st.end] == st.text  # the source's own sentence, at its offsets
        c = citations[st.n]
        assert c.start <= st.start < st.end <= c.end
        assert (st.start, st.end, st.text) in [(s["start"], s["end"], s["text"]) for s in c.sentences]
    assert sorted(citations) == list(range(1, len(citations) + 1))


def test_a_sentence_that_no_longer_matches_its_digest_is_left_out_of_the_brief(built_fake_service: QAService) -> None:
    answerer = built_fake_service.answerer()
    index = built_fake_service.loaded()
    sid = _bundled(built_fake_service)
    entry = index.sources[sid]
    at = entry.source.text.index("no reasonable justification")
    tampered = entry.source.text[:at] + "no reasonable justificatioN" + entry.source.text[at + 27:]
    index.sources[sid] = replace(entry, source=replace(entry.source, text=tampered))
    made = brief(answerer, sid)
    shown = " ".join(st.text for s in made.speakers for st in s.statements)
    assert "no reasonable justification" not in shown and "justificatioN" not in shown
    assert "I would suggest continuing" in shown  # the others still verify


def test_newest_sources_lead_with_one_sentence_each_newest_first(fake_service: QAService) -> None:
    sources = fake_service.catalog.configured_sources() + read_paths([DATA / "harbour.txt", DATA / "quake.md"])
    dated = [replace(s, date=d) for s, d in zip(sources, ["2022-02-14", "2026-11-30T08:00:00Z", None], strict=True)]
    fake_service.catalog.build(dated)
    made = newest(fake_service.answerer(), now=1_900_000_000.0)  # 2030: nothing is from the last day
    assert [item[0] for item in made.items][:2] == [dated[2].id, dated[1].id]  # undated: when added (now)
    text = {sid: e.source.text for sid, e in fake_service.loaded().sources.items()}
    for sid, _, _, lead in made.items:
        assert text[sid][lead.start:lead.end] == lead.text and len(lead.text.split()) >= 8


def _record(records: Records, guild: int | None, user: int, question: str, found: bool, reason: str | None = None,
            down: bool = False, text: str = "x") -> int:
    answer = {"question": question, "answer": text, "found": found, "citations": [], "declined_by": reason}
    aid = records.save_answer(guild, user, 200, question, answer)
    if down:
        records.save_feedback(aid, user + 1000, "down", guild)
    return aid


def test_gaps_group_by_meaning_count_members_and_stay_in_their_server(built_fake_service: QAService,
                                                                     tmp_path: Path) -> None:
    records = Records(tmp_path / "bot.sqlite")
    for user in (1, 2, 3, 1):
        _record(records, A, user, "What did Macron say?" if user != 2 else "what did macron say", False, "unknown_name")
    _record(records, A, 4, "Who is Jacinda Ardern?", False, "unknown_name")
    shown = built_fake_service.ask("What did Scholz say?").answer
    _record(records, A, 5, "What did Scholz say?", True, down=True, text=shown)
    _record(records, A, 8, "What did Blinken say?", True, down=True, text="an answer since improved")
    _record(records, A, 6, "Where will the US relocate its embassy?", True)  # answered, no 👎: no gap
    _record(records, B, 7, "What did Merkel say?", False, "unknown_name")
    gaps = coverage_gaps(records, built_fake_service, A, retention_days=30)
    assert gaps.questions == 7
    top = gaps.groups[0]
    assert top.representative.lower().rstrip("?") == "what did macron say" and (top.asked, top.members) == (4, 3)
    assert top.reasons == {"a name in no source": 4} and top.answered is False
    assert [g.asked for g in gaps.groups] == [4, 1, 1, 1]
    scholz = next(g for g in gaps.groups if "Scholz" in g.representative)
    assert scholz.reasons == {"👎 on the answer": 1} and scholz.answered is False  # the same answer again
    blinken = next(g for g in gaps.groups if "Blinken" in g.representative)
    assert blinken.answered is True and blinken.answered_by == [_bundled(built_fake_service)]
    assert all("Merkel" not in q for g in gaps.groups for q in g.questions)
    in_b = coverage_gaps(records, built_fake_service, B, retention_days=30)
    assert [g.questions for g in in_b.groups] == [["What did Merkel say?"]]


def test_gaps_respect_the_window_and_the_retention(built_fake_service: QAService, tmp_path: Path) -> None:
    records = Records(tmp_path / "bot.sqlite")
    _record(records, A, 1, "What did Macron say?", False, "unknown_name")
    old = _record(records, A, 2, "Who is Jacinda Ardern?", False, "unknown_name")
    db = sqlite3.connect(records.path)
    with db:
        db.execute("UPDATE answers SET at = '2020-01-01T00:00:00Z' WHERE id = ?", (old,))
    db.close()
    gaps = coverage_gaps(records, built_fake_service, A, days=10_000, retention_days=30)
    assert gaps.days == 30 and [g.representative for g in gaps.groups] == ["What did Macron say?"]
    assert len(coverage_gaps(records, built_fake_service, A, days=10_000, retention_days=0).groups) == 2


# -- the CLI, through its entry point -------------------------------------------------------

@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    def make_service(config_path: str | None, index_dir: str | None, guild: int | None = None) -> QAService:
        settings = load_settings(config_path)
        return Spaces.create(settings, settings.index_dir(index_dir), embedder=FakeEmbedder()).for_guild(guild)

    monkeypatch.setattr(cli, "make_service", make_service)


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.run(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.usefixtures("fake_model")
def test_cli_brief_and_its_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    idx = str(tmp_path / "idx")
    assert _run(["index", "--index-dir", idx], capsys)[0] == 0
    code, out, _ = _run(["brief", "--index-dir", idx], capsys)
    assert code == 0 and "Russia says ready" in out and "[1]" in out
    sid = json.loads(_run(["brief", "--index-dir", idx, "--json"], capsys)[1])["items"][0]["source_id"]
    code, out, _ = _run(["brief", sid, "--index-dir", idx, "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and {s["name"] for s in data["speakers"]} >= set(SPEAKERS)
    code, out, _ = _run(["brief", sid, "--index-dir", idx], capsys)
    assert "Who said what" in out and "Stephane Dujarric" in out and "no alternative to" in out
    code, _, err = _run(["brief", "no-such-source", "--index-dir", idx], capsys)
    assert code == 1 and err.startswith("error: No source with id 'no-such-source'") and len(err.splitlines()) == 1


@pytest.mark.usefixtures("fake_model")
def test_cli_gaps_reads_what_the_bot_recorded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    idx = tmp_path / "idx"
    code, _, err = _run(["gaps", "--index-dir", str(idx)], capsys)
    assert code == 0 and "No questions are recorded" in err
    assert _run(["index", "--index-dir", str(idx)], capsys)[0] == 0
    records = Records(idx / "bot.sqlite")  # what the Discord bot writes
    for user in (1, 2):
        _record(records, A, user, "What did Macron say?", False, "unknown_name")
    _record(records, B, 3, "What did Merkel say?", False, "unknown_name")
    code, out, _ = _run(["gaps", "--index-dir", str(idx), "--guild", str(A), "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["guild_id"] == A and data["days"] == 7
    assert [(g["representative"], g["asked"], g["members"], g["answered"]) for g in data["groups"]] == [
        ("What did Macron say?", 2, 2, False)]
    code, out, _ = _run(["gaps", "--index-dir", str(idx), "--guild", str(B)], capsys)
    assert code == 0 and "Merkel" in out and "Macron" not in out and "1 member(s) · asked 1×" in out
    code, _, err = _run(["gaps", "--index-dir", str(idx), "--days", "0"], capsys)
    assert code == 1 and "--days must be more than 0" in err

