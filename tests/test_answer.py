"""The answer step's abstention rules, on hand-made hits over a small fake-embedded index."""

from __future__ import annotations

from pathlib import Path

from bot.service import QAService
from index.types import Hit

TEXT = (
    "Clinic news\n\n"
    "Pharmacies will make the MMR vaccine available from October, the minister said.\n\n"
    "No deaths have been reported.\n"
)


def _setup(service: QAService, tmp_path: Path) -> tuple[QAService, Hit]:
    (tmp_path / "clinic.txt").write_text(TEXT, encoding="utf-8")
    service.build(service.read_paths([tmp_path / "clinic.txt"]))
    sentence = next(s for s in service.answerer().retriever.sentences if s.text.startswith("Pharmacies"))
    return service, Hit(sentence, 1.0, 0.40, 1.0)


def test_an_unknown_kind_of_a_known_thing_needs_a_clearly_close_match(
    fake_service: QAService, tmp_path: Path
) -> None:
    service, hit = _setup(fake_service, tmp_path)
    answerer = service.answerer()
    question = "Is the flu vaccine available at pharmacies?"
    unseen = answerer.retriever.unseen_words(question)
    assert unseen == ["flu"]
    assert not answerer._relevant(question, hit, unseen)  # "flu" qualifies "vaccine": another vaccine
    assert not answerer._relevant(question, Hit(hit.sentence, hit.score, 0.5, hit.lexical), unseen)
    close = Hit(hit.sentence, hit.score, 0.65, hit.lexical)  # only a very close match
    assert answerer._relevant(question, close, unseen)
    rate = "What is the unemployment rate at pharmacies?"  # "unemployment" qualifies "rate"...
    assert answerer._unknown_kind(rate, answerer.retriever.unseen_words(rate)) is False  # ...no "rate" here
    assert answerer._unknown_kind("Is the new vaccine available?", []) is False  # nothing unseen
    odd = "Is the experimental vaccine available?"  # an adjective is a state of the thing, not a kind
    assert answerer._unknown_kind(odd, answerer.retriever.unseen_words(odd)) is False
    # an unseen word that qualifies nothing is judged by how much else matches
    other = "Are pharmacies giving the MMR vaccine?"
    assert answerer._relevant(other, hit, answerer.retriever.unseen_words(other))


def test_the_measure_word_of_how_big_is_not_a_word_the_sources_must_hold(
    fake_service: QAService, tmp_path: Path
) -> None:
    service, _ = _setup(fake_service, tmp_path)
    retriever = service.answerer().retriever
    assert retriever.unseen_words("How big a vaccine stock do pharmacies hold?") == ["stock", "hold"]
    assert retriever.unseen_words("How big is the flu vaccine?") == ["flu"]
