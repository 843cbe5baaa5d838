"""Question analysis, table-driven: kind, expected answer type, names with their other forms."""

from __future__ import annotations

import pytest

from index.lexicon import acronyms_in
from index.question import analyse
from index.speakers import load_parser

CASES = [
    # question, kind, an expected answer label (None: none expected)
    ("What did Scholz say?", "speaker", None),
    ("Who is Ukraine's foreign minister?", "role", "PERSON"),
    ("How many troops has Russia massed?", "count", "CARDINAL"),
    ("How much was the merger worth?", "measure", "MONEY"),
    ("How long did the attack go unnoticed?", "measure", "DATE"),
    ("When will the lander launch?", "when", "DATE"),
    ("In what year did the Normans conquer England?", "when", "DATE"),
    ("Where is the US embassy moving?", "where", "GPE"),
    ("Which country did the Normans come from?", "where", "GPE"),
    ("Who hacked Hollis?", "who_did", "PERSON"),
    ("Who were the Normans?", "who", "PERSON"),
    ("What did Biden and Johnson review?", "joint", None),
    ("Which company made the valve?", "open", "ORG"),
    ("What caused the fire?", "open", None),
]


@pytest.mark.parametrize(("text", "kind", "label"), CASES)
def test_kind_and_expected_answer_type(text: str, kind: str, label: str | None) -> None:
    q = analyse(text, load_parser())
    assert q.kind == kind
    if label is None:
        assert not q.answer_types
    else:
        assert label in q.answer_types


def test_names_carry_their_aliases_long_forms_and_acronyms() -> None:
    q = analyse("What did the European Union and the US agree?")
    forms = {n.text: set(n.forms) for n in q.names}
    assert ("eu",) in forms["European Union"]
    assert ("united", "states") in forms["US"] and ("us",) in forms["US"]
    assert acronyms_in("The National Aeronautics and Space Administration said.")["nasa"].startswith("National")


def test_words_years_counts_and_qualifiers() -> None:
    q = analyse("How many soldiers died in 2019 in the flu outbreak?", load_parser())
    assert q.years == ("2019",)
    assert q.counted[0] == "soldiers"
    assert "soldier" in q.content and "how" not in q.content
    assert ("flu", "outbreak") in q.qualified
    depth = analyse("How deep was the earthquake?")
    assert "depth" in depth.tokens and "deep" not in depth.content  # the measure's noun, not its adjective


def test_a_speaker_question_keeps_who_and_topic() -> None:
    q = analyse("What did the German chancellor say about NATO?")
    assert q.speaker is not None and q.speaker.who == "German chancellor" and q.speaker.topic == "NATO"
    assert q.role is None
