"""Question parsing and name matching (pure)."""

from __future__ import annotations

import pytest

from index.query import (
    generic_topic,
    joint_question,
    name_matches,
    role_question,
    role_variants,
    speaker_question,
    tokenize,
    without_measure_word,
)


@pytest.mark.parametrize(
    "question, who, rest",
    [
        ("What did Scholz say?", "Scholz", ""),
        ("what did lavrov tell putin?", "lavrov", "putin"),
        ("How did the Kremlin respond?", "Kremlin", ""),
        ("What did the German chancellor say about Russia?", "German chancellor", "about Russia"),
        ("What was Blinken's message?", "Blinken", ""),
        ("According to the White House, what did the leaders discuss?", "White House", "what did the leaders discuss"),
        ("What has the British government said?", "British government", ""),
        ("What does Raman think will happen?", "Raman", "will happen"),
        ("What did the judge write?", "judge", ""),
        ("What did the judge fear would happen to travellers?", "judge", "would happen to travellers"),
    ],
)
def test_speaker_questions_are_recognised(question: str, who: str, rest: str) -> None:
    asked = speaker_question(question)
    assert asked is not None
    assert asked.who == who
    assert asked.rest == rest


def test_written_words_are_their_own_words_but_fears_may_be_reported() -> None:
    written, feared = speaker_question("What did the judge write?"), speaker_question("What did the judge fear?")
    assert written is not None and written.strict
    assert feared is not None and not feared.strict


def test_the_measure_word_of_how_questions_is_not_a_topic() -> None:
    assert tokenize(without_measure_word("How long is the ruling?")) == ["rule"]
    assert tokenize(without_measure_word("How many long queues formed?")) == ["long", "queue", "form"]


@pytest.mark.parametrize(
    "question",
    ["Where is the US embassy moving?", "How many troops has Russia positioned?", "Who said there is always a chance?",
     "What did you say?", "When did Russia annex Crimea?"],
)
def test_other_questions_are_not_speaker_questions(question: str) -> None:
    assert speaker_question(question) is None


@pytest.mark.parametrize(
    "query, speaker, expected",
    [
        ("Scholz", "Olaf Scholz", True),
        ("olaf scholz", "Olaf Scholz", True),
        ("Zelenskiy", "Volodymyr Zelenskyy", True),
        ("Sergei Lavrov", "Sergey Lavrov", True),
        ("the Kremlin", "Kremlin", True),
        ("Putin", "Vladimir Putin", True),
        ("Biden", "Antony Blinken", False),
        ("Johnson", "Boris Jonson", True),
        ("Lavrov", "Vladimir Putin", False),
        ("White House", "British government", False),
    ],
)
def test_name_matching(query: str, speaker: str, expected: bool) -> None:
    assert name_matches(query, speaker) is expected


def test_tokenize_folds_case_accents_numbers_and_inflections() -> None:
    assert tokenize("More than 14,000 were KILLED") == tokenize("14000 kill")
    assert tokenize("announced") == tokenize("announcing") == tokenize("Announce")
    assert tokenize("Kyiv’s officials") == tokenize("kyiv official")
    assert tokenize("Stéphane") == tokenize("stephane")
    assert tokenize("what did the") == []


@pytest.mark.parametrize(
    "question, role",
    [
        ("Who is Ukraine's foreign minister?", "Ukraine's foreign minister"),
        ("who's the spokesman for the UN", "the spokesman for the UN"),
        ("Who was the director of the hospital?", "the director of the hospital"),
        ("Who is Anna Lindqvist?", None),  # a name, not a role
        ("Who declared a state of emergency?", None),
    ],
)
def test_role_questions(question: str, role: str | None) -> None:
    assert role_question(question) == role


def test_role_variants_cover_how_news_writes_a_role() -> None:
    un = {" ".join(v) for v in role_variants("the spokesman for the UN")}
    assert {"un spokesman", "united nations spokesman", "spokesman for the un"} <= un
    hospital = {" ".join(v) for v in role_variants("the hospital's director")}
    assert {"hospital s director", "director of the hospital", "hospital director"} <= hospital
    assert role_variants("the minister") == [["minister"]]
    party = {" ".join(v) for v in role_variants("the leader of the Harbourside Party")}
    assert {"harbourside party leader", "harbourside leader"} <= party  # "Harbourside leader Omar Haddad"


def test_word_families_the_stemmer_splits_share_a_stem() -> None:
    assert tokenize("Has anyone died?") == tokenize("No deaths were reported")[:1] == ["death"]
    assert set(tokenize("injured")) == set(tokenize("injuries"))
    assert set(tokenize("They spoke")) == set(tokenize("they speak"))
    assert tokenize("it took four hours") == tokenize("it takes four hours")  # irregular past tenses
    assert tokenize("the party had held Marlow") == tokenize("the party holds Marlow")
    assert tokenize("the attackers got in") == tokenize("the attackers get in")


@pytest.mark.parametrize(
    "topic, generic",
    [("the cause", True), ("it", True), ("the situation", True), ("NATO", False), ("the ruling", False),
     ("the cause of the fire", False)],
)
def test_generic_topics(topic: str, generic: bool) -> None:
    assert generic_topic(topic) is generic


def test_two_people_asked_about_together() -> None:
    joint = joint_question("What did Biden and Johnson review?")
    assert joint is not None and joint.names == ("biden", "johnson")
    assert joint.predicate == {"review"} and not joint.talk
    talk = joint_question("Did Scholz and Olaf Putin discuss gas prices?")
    assert talk is not None and talk.names == ("scholz", "putin") and talk.talk
    assert talk.predicate == {"gas", "price"}
    assert joint_question("What did Scholz say about Biden and Johnson?") is None  # one speaker
    assert joint_question("What did the Kremlin and the White House say?") is None  # not two names
