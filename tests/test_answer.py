"""The answer step: the question-level signals, each decline's reason, and verification."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from bot.reading import read_paths
from bot.service import QAService
from index.answer import Answerer
from index.answering.scope import unknown_kind, unseen_words
from index.model import AnswerModel, Linear, load_model
from index.question import analyse
from index.speakers import load_parser
from index.store import SourceEntry

TEXT = (
    "Clinic news\n\n"
    "Pharmacies will make the MMR vaccine available from October, the minister said.\n\n"
    "No deaths have been reported.\n"
)


def _service(service: QAService, tmp_path: Path) -> QAService:
    (tmp_path / "clinic.txt").write_text(TEXT, encoding="utf-8")
    service.catalog.build(read_paths([tmp_path / "clinic.txt"]))
    return service


def _with_model(service: QAService, model: AnswerModel) -> Answerer:
    answerer = service.answerer()
    return Answerer(answerer.retriever, answerer.settings, model)


def test_an_unknown_kind_of_a_known_thing_is_a_signal(fake_service: QAService, tmp_path: Path) -> None:
    retriever = _service(fake_service, tmp_path).answerer().retriever
    parser = load_parser()
    flu = analyse("Is the flu vaccine available at pharmacies?", parser)
    unseen = unseen_words(flu, retriever.state, retriever.vocabulary)
    assert unseen == ["flu"]
    assert unknown_kind(flu, retriever.state, unseen)  # "flu" qualifies "vaccine": another vaccine
    rate = analyse("What is the unemployment rate at pharmacies?", parser)  # no "rate" here either
    assert not unknown_kind(rate, retriever.state, unseen_words(rate, retriever.state, retriever.vocabulary))
    odd = analyse("Is the experimental vaccine available?", parser)  # an adjective is not a kind
    assert not unknown_kind(odd, retriever.state, unseen_words(odd, retriever.state, retriever.vocabulary))


def test_the_measure_word_of_how_big_is_not_a_word_the_sources_must_hold(
    fake_service: QAService, tmp_path: Path
) -> None:
    retriever = _service(fake_service, tmp_path).answerer().retriever
    assert unseen_words(analyse("How big a vaccine stock do pharmacies hold?"), retriever.state, retriever.vocabulary) == ["hold", "stock"]
    assert unseen_words(analyse("How big is the flu vaccine?"), retriever.state, retriever.vocabulary) == ["flu"]


def test_every_decline_names_its_reason(fake_service: QAService, tmp_path: Path) -> None:
    service = _service(fake_service, tmp_path)
    unknown = service.ask("What did Marta Kowalczyk announce in Oslo?")
    assert not unknown.found and unknown.declined_by == "unknown_name"
    assert "Marta Kowalczyk" in unknown.answer
    year = service.ask("Was the MMR vaccine available in 1998?")  # a year no source mentions
    assert not year.found and year.declined_by == "unknown_name" and "1998" in year.answer
    never = _with_model(service, dataclasses.replace(load_model(), threshold=1.0))  # declines everything
    low = never.ask("When will the MMR vaccine be available?")
    assert not low.found and low.declined_by == "low_confidence"
    assert low.confidence is not None and low.confidence < 1.0
    assert low.closest and "Pharmacies" in low.closest[0].text  # shown, marked as not an answer
    always = _with_model(service, dataclasses.replace(load_model(), threshold=0.0))
    answer = always.ask("When will the MMR vaccine be available?")
    assert answer.found and answer.declined_by is None and "October" in answer.answer
    assert answer.to_json()["declined_by"] is None


def test_the_probability_comes_from_the_fitted_answer_weights(fake_service: QAService, tmp_path: Path) -> None:
    service = _service(fake_service, tmp_path)
    question = "When will the MMR vaccine be available?"
    base = dataclasses.replace(load_model(), threshold=0.5)
    sure = _with_model(service, dataclasses.replace(base, decision=Linear({}, 5.0))).ask(question)
    unsure = _with_model(service, dataclasses.replace(base, decision=Linear({}, -5.0))).ask(question)
    assert sure.found and sure.confidence and sure.confidence > 0.99
    assert not unsure.found and unsure.declined_by == "low_confidence"


def test_an_abbreviation_the_sources_spell_out_is_not_an_unknown_name(
    fake_service: QAService, tmp_path: Path
) -> None:
    (tmp_path / "eu.txt").write_text(
        "Trade talks\n\nThe European Union agreed new tariffs on steel on Monday, officials said.\n",
        encoding="utf-8",
    )
    service = fake_service
    service.catalog.build(read_paths([tmp_path / "eu.txt"]))
    answer = service.ask("What did the EU agree on Monday?")
    assert answer.declined_by != "unknown_name"
    assert "EU" not in answer.answer or answer.found
    (tmp_path / "eu.txt").write_text(
        "Trade talks\n\nThe EU agreed new tariffs on steel on Monday, officials said.\n", encoding="utf-8")
    service.catalog.build(read_paths([tmp_path / "eu.txt"]))
    for question in ("What did the European Union agree on Monday?", "What did the European Union say?"):
        long_form = service.ask(question)
        assert "couldn't find European Union" not in long_form.answer, long_form.answer


def test_verification_fails_when_the_stored_text_no_longer_matches_what_was_indexed(
    fake_service: QAService, tmp_path: Path
) -> None:
    service = _service(fake_service, tmp_path)
    always = _with_model(service, dataclasses.replace(load_model(), threshold=0.0))
    question = "When will the MMR vaccine be available?"
    assert always.ask(question).found
    index = always.retriever.index
    for sid, entry in list(index.sources.items()):  # the source text changes under the index
        tampered = entry.source.text.replace("October", "November").upper()  # same offsets, other words
        index.sources[sid] = SourceEntry(dataclasses.replace(entry.source, text=tampered))
    answer = always.ask(question)
    assert "NOVEMBER" not in answer.answer.upper()
    assert not answer.found and answer.declined_by == "unverified"
