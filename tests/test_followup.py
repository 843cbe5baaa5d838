"""Follow-up questions read with the ones before them: pronouns, ellipsis, references back."""

from __future__ import annotations

import io

import pytest

import bot.cli as cli
from bot.service import QAService
from index.followup import Turn, resolve, turn_for
from index.speakers import load_parser


@pytest.fixture(scope="module")
def parser():  # noqa: ANN201
    return load_parser()


SCHOLZ = [Turn("What did Scholz say?", ("Olaf Scholz",))]


@pytest.mark.parametrize("question, understood", [
    ("what did he say about NATO?", "what did Olaf Scholz say about NATO?"),
    ("and Johnson?", "What did Johnson say?"),
    ("What about Zelenskyy?", "What did Zelenskyy say?"),
    ("and about NATO?", "What did Scholz say about NATO?"),
    ("What did his government decide?", "What did Olaf Scholz's government decide?"),
    ("when was that?", "when was that — What did Scholz say?"),
    ("Where will the US relocate its embassy?", "Where will the US relocate its embassy?"),
])
def test_follow_ups_are_resolved_from_the_previous_turns(parser, question: str, understood: str) -> None:  # noqa: ANN001
    assert resolve(question, SCHOLZ, parser) == understood


def test_her_as_object_and_as_possessive(parser) -> None:  # noqa: ANN001
    truss = [Turn("What did Liz Truss say?", ("Liz Truss",))]
    assert resolve("Who did her ministers meet?", truss, parser) == "Who did Liz Truss's ministers meet?"
    assert resolve("Who met her?", truss, parser) == "Who met Liz Truss?"


def test_a_question_without_history_stands_alone(parser) -> None:  # noqa: ANN001
    assert resolve("What did he say?", [], parser) == "What did he say?"


def test_turns_take_full_names_from_the_cited_speakers() -> None:
    assert turn_for("What did Scholz say?", ["Olaf Scholz", "Volodymyr Zelenskyy"]).names == ("Olaf Scholz",)
    assert turn_for("What did Blinken say?", []).names == ("Blinken",)


def test_a_chain_over_the_bundled_article(built_fake_service: QAService) -> None:
    service = built_fake_service
    first = service.ask("What did Scholz say?")
    assert first.found and first.understood_as is None
    history = [service.turn_of(first)]
    second = service.ask("what did he say about the troops?", history=history)
    assert second.question == "what did he say about the troops?"
    assert second.understood_as == "what did Olaf Scholz say about the troops?"
    assert second.found and "no reasonable justification" in second.answer
    assert second.to_json()["understood_as"] == second.understood_as
    history.append(service.turn_of(second.to_json()))  # also from a stored answer
    third = service.ask("and Johnson?", history=history)
    assert third.understood_as == "what did Johnson say about the troops?"
    assert not third.found  # nobody called Johnson in the article: declined, not guessed
    fourth = service.ask("what did he say about NATO?", history=history)
    assert fourth.understood_as == "what did Olaf Scholz say about NATO?"
    assert not fourth.found  # Scholz says nothing about NATO in the article
    assert service.ask("what did he say about the troops?").understood_as is None  # `ask` alone is stateless


def test_qabot_chat_reads_follow_ups(built_fake_service: QAService, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cli, "make_service", lambda *args, **kwargs: built_fake_service)
    monkeypatch.setattr("sys.stdin", io.StringIO("What did Scholz say?\nwhat did he say about NATO?\n\n"))
    assert cli.run(["chat"]) == 0
    out = capsys.readouterr().out
    assert out.count("Understood as:") == 1
    assert "Understood as: what did Olaf Scholz say about NATO?" in out


def _said(answer) -> set[tuple[str, int]]:  # noqa: ANN001
    return {(c.source_id, s["start"]) for c in answer.citations for s in c.sentences}


def _asks_for_another_detail_gets_no_replay(service: QAService) -> None:
    first = service.ask("What did Scholz say?")
    assert first.found
    when = service.ask("when was that?", history=[service.turn_of(first)])
    assert when.answer != first.answer  # never the previous answer unchanged
    if when.found:  # only the sentences that say when, the date in them
        assert _said(when) < _said(first)
        assert all(any(label in ("DATE", "TIME") for label, _ in s["entities"])
                   for c in when.citations for s in c.sentences)
    else:
        assert when.declined_by == "no_new_detail" and "when that was" in when.answer
    then = service.ask("and Lavrov?", history=[service.turn_of(first), service.turn_of(when)])
    assert then.understood_as == "What did Lavrov say?"  # built on the question, not the composite


def _a_follow_up_the_sources_cannot_answer_is_declined(service: QAService) -> None:
    first = service.ask("What did Lavrov tell Putin?")
    assert first.found
    blinken = service.ask("and Blinken?", history=[service.turn_of(first)])
    assert blinken.understood_as == "What did Blinken tell Putin?"
    assert not blinken.found and blinken.declined_by == "unresolved_followup"
    assert "What did Blinken tell Putin?" in blinken.answer and not blinken.citations


def test_a_detail_follow_up_never_replays_the_answer(built_fake_service: QAService) -> None:
    _asks_for_another_detail_gets_no_replay(built_fake_service)


def test_and_blinken_is_not_answered_with_what_blinken_never_said(built_fake_service: QAService) -> None:
    _a_follow_up_the_sources_cannot_answer_is_declined(built_fake_service)


def test_follow_ups_with_the_real_model(real_service: QAService) -> None:
    _asks_for_another_detail_gets_no_replay(real_service)
    _a_follow_up_the_sources_cannot_answer_is_declined(real_service)
    # a follow-up whose kept name is in the answer still gets it
    first = real_service.ask("What did Scholz say?")
    troops = real_service.ask("what did he say about the troops?", history=[real_service.turn_of(first)])
    assert troops.found and "no reasonable justification" in troops.answer
