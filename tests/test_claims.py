"""A decline states only what is true: "I couldn't find X" only when no form of X is in the sources
(case, apostrophes, possessives, lists of names, aliases and long forms), checked by bot.claims."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.claims import Texts, false_claim, forms, occurs
from bot.config import Settings
from bot.evaluate import load_cases
from bot.reading import read_paths
from bot.service import QAService

ROOT = Path(__file__).resolve().parent.parent
SQUAD = Path(os.environ.get("QABOT_SQUAD", ROOT.parent / "shared" / "benchmarks" / "squad2"))

TEXT = ("Russia’s foreign minister met the European Union’s envoy. Judge Maria Castellano said the "
        "North Atlantic Treaty Organization would meet in 2019, and the US agreed.")


@pytest.mark.parametrize(("name", "there"), [
    ("Russia's", True), ("Russia’s", True), ("russia", True), ("the EU", True), ("European Union", True),
    ("NATO", True), ("Castellano", True), ("Judge Castellano", True), ("the United States", True), ("America", True),
    ("2019", True), ("Helsinki", False), ("Judge Okafor", False), ("the UN", False), ("1974", False),
])
def test_forms_of_a_name_are_found_in_the_text(name: str, there: bool) -> None:
    assert occurs(name, Texts.of([TEXT])) is there, forms(name)


def test_a_claim_is_checked_name_by_name() -> None:
    texts = Texts.of([TEXT])
    assert false_claim("I couldn't find Helsinki, Okafor in the indexed sources.", "unknown_name", texts) is None
    assert "the EU" in (false_claim("I couldn't find Helsinki, the EU in the indexed sources.", "unknown_name", texts)
                        or "")
    assert false_claim("The sources mention Castellano, but I couldn't find anything Castellano said.", "not_quoted",
                       texts) is None
    assert false_claim("The sources mention Okafor, but I couldn't find anything Okafor said.", "not_quoted", texts)
    assert false_claim("I couldn't find that in the indexed sources.", "low_confidence", texts) is None


def _texts(service: QAService) -> Texts:
    return Texts.of(s.source.text for s in service.loaded().sources.values())


def test_two_names_in_a_list_are_each_found(built_fake_service: QAService) -> None:
    answer = built_fake_service.ask("What did the US and the EU warn Russia about?")
    assert answer.declined_by != "unknown_name", answer.answer
    assert false_claim(answer.answer, answer.declined_by, _texts(built_fake_service)) is None


def test_a_plain_apostrophe_reads_as_the_curly_one(built_fake_service: QAService) -> None:
    plain = built_fake_service.ask("Did Russia's foreign minister meet Putin?")
    curly = built_fake_service.ask("Did Russia’s foreign minister meet Putin?")
    assert plain.declined_by != "unknown_name", plain.answer
    assert (plain.answer, plain.declined_by) == (curly.answer, curly.declined_by)


@pytest.mark.parametrize("question", ["What is the weather in Helsinki?", "Did anyone visit Nairobi?",
                                      "What happened in Miami?"])
def test_a_place_no_source_names_is_declined_by_name(built_fake_service: QAService, question: str) -> None:
    """Place names ending like nationalities (Helsinki, Nairobi, Miami) are names to look for."""
    answer = built_fake_service.ask(question)
    assert answer.declined_by == "unknown_name", answer.answer
    assert false_claim(answer.answer, answer.declined_by, _texts(built_fake_service)) is None


@pytest.mark.parametrize("question", ["What did American officials say?", "What did the European Union say?",
                                      "What did the EU say about the talks?"])
def test_a_nationality_or_alias_of_a_named_country_is_not_unknown(built_fake_service: QAService, question: str) -> None:
    answer = built_fake_service.ask(question)
    assert answer.declined_by != "unknown_name", answer.answer
    assert false_claim(answer.answer, answer.declined_by, _texts(built_fake_service)) is None


@pytest.mark.slow
def test_every_decline_claim_on_a_sample_of_the_eval_sets_is_true(real_service: QAService, tmp_path: Path) -> None:
    """The real model over the dev articles with the dev and held-out questions, and one SQuAD article
    with its first questions; bench/declines.py runs every set in full."""
    runs = [(real_service, [c.question for name in ("dev", "heldout") for c in load_cases(ROOT / "eval" / f"{name}.jsonl")]
             + ["What did the US and the EU warn Russia about?", "Did Russia's foreign minister meet Putin?"])]
    if (SQUAD / "Normans.txt").exists():
        squad = QAService(Settings(), tmp_path / "squad", embedder=real_service.embedder)
        squad.catalog.build(read_paths([SQUAD / "Normans.txt"]))
        runs.append((squad, [c.question for c in load_cases(SQUAD / "Normans.jsonl")[:80]]))
    checked, wrong = 0, []
    for service, questions in runs:
        texts = _texts(service)
        for question in questions:
            answer = service.ask(question)
            checked += answer.declined_by in ("unknown_name", "not_quoted")
            problem = false_claim(answer.answer, answer.declined_by, texts)
            if problem:
                wrong.append(f"{question!r}: {problem}")
    assert checked  # some declines of these kinds were made, and so checked
    assert wrong == []
