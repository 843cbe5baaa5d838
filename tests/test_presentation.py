"""What an answer shows: the asked-for words marked, the sentence an "It" refers to, each [n] linked."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.discord.render import answer_embed
from bot.presentation import sentences
from bot.render import render_answer
from bot.service import QAService
from index.emphasis import answer_spans

EMBASSY = ("On Monday, the US announced it would temporarily relocate its embassy in Kyiv to the western Ukrainian "
           "city of Lviv near the Polish border.")
GUTERRES = ("Guterres expressed “serious concern” during his phone calls with Russia’s Lavrov and Ukraine’s Foreign "
            "Minister Dmytro Kuleba on Monday, UN spokesman Stephane Dujarric said.")


def _marked(sentence: str, spans: list[tuple[int, int]]) -> list[str]:
    return [sentence[s:e] for s, e in spans]


@pytest.mark.parametrize("sentence, entities, types, question, expected", [
    (EMBASSY, [["DATE", "Monday"], ["GPE", "US"], ["GPE", "Ukrainian"], ["GPE", "Lviv"], ["NORP", "Polish"]],
     ["GPE", "LOC", "FAC"], "Where will the US relocate its embassy?", ["Lviv"]),  # not the US it names
    (GUTERRES, [["ORG", "Guterres"], ["PERSON", "Dmytro Kuleba"], ["PERSON", "Stephane Dujarric"]],
     ["PERSON"], "Who is Ukraine's foreign minister?", ["Dmytro Kuleba"]),  # the one the title introduces
    ("It also supported rebels in a war in which more than 14,000 people have already been killed.",
     [["CARDINAL", "more than 14,000"]], ["CARDINAL"], "How many people have been killed?", ["more than 14,000"]),
    (EMBASSY, [["GPE", "Lviv"]], [], "What did the US announce?", []),  # nothing asked for: nothing marked
    ("Paris, Lyon, Nice and Lille voted.", [["GPE", "Paris"], ["GPE", "Lyon"], ["GPE", "Nice"], ["GPE", "Lille"]],
     ["GPE"], "Where was the vote?", []),  # four candidates: no signal, none marked
])
def test_the_words_that_answer_are_marked(sentence: str, entities: list[list[str]], types: list[str], question: str,
                                          expected: list[str]) -> None:
    assert _marked(sentence, answer_spans(sentence, entities, types, question)) == expected


def test_an_it_sentence_comes_with_the_sentence_it_refers_to(built_fake_service: QAService) -> None:
    answer = built_fake_service.ask("How many people have been killed?")
    assert answer.found and answer.answer.startswith("It also supported")
    (sentence,) = answer.citations[0].sentences
    context = sentence["context"]
    text = built_fake_service.loaded().sources[answer.citations[0].source_id].source.text
    assert text[context["start"] : context["end"]] == context["text"]  # verified, at its offsets
    assert context["text"].startswith("Faced with the ascendancy")
    assert context["text"] not in answer.answer  # context, not a cited sentence
    (said,) = sentences(answer.to_json()) or []
    assert said.context == context["text"] and said.text[slice(*said.emphasis[0])] == "more than 14,000"
    description = answer_embed(answer.to_json(), 1).description or ""
    assert description.startswith("*Faced with the ascendancy") and "**more than 14,000**" in description
    terminal = render_answer(answer)
    assert terminal.startswith("(context: Faced with") and "[1]" in terminal


def test_each_marker_links_to_its_own_sentence(built_fake_service: QAService) -> None:
    answer = built_fake_service.ask("What did Lavrov tell Putin?")
    citations = [replace(c, url="https://news.example/lavrov") for c in answer.citations]
    data = replace(answer, citations=citations).to_json()
    said = sentences(data) or []
    assert len(said) >= 2 and len({s.link for s in said}) == len(said)  # one link per sentence
    description = answer_embed(data, 1).description or ""
    assert all(f"[[{s.n}]]({s.link})" in description for s in said)
    assert answer_embed(answer.to_json(), 1).description.count("](") == 0  # no URL: plain [n]


def test_an_old_stored_answer_without_the_new_fields_still_renders(built_fake_service: QAService) -> None:
    data = built_fake_service.ask("Where will the US relocate its embassy?").to_json()
    del data["answer_types"]
    for c in data["citations"]:
        for s in c["sentences"]:
            s.pop("entities"), s.pop("context", None)
    embed = answer_embed(data, 1)
    assert "Lviv" in (embed.description or "") and "**" not in (embed.description or "")
