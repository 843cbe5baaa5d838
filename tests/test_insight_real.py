"""Briefs and coverage gaps with the real model: the shipped threshold groups paraphrases, not neighbours."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.discord.records import Records
from bot.gaps import coverage_gaps
from bot.service import QAService
from index.brief import brief

pytestmark = pytest.mark.slow
GUILD = 900000000000000100


def test_the_brief_of_the_bundled_article_with_the_real_model(real_service: QAService) -> None:
    sid = next(s.id for s in real_service.list_sources() if s.kind == "bundled")
    made = brief(real_service.answerer(), sid)
    said = {s.name: " ".join(st.text for st in s.statements) for s in made.speakers}
    assert "no reasonable justification" in said["Olaf Scholz"]
    assert "I would suggest continuing" in said["Sergey Lavrov"]
    assert "no alternative to diplomacy" in said["Stephane Dujarric"]
    assert "Guterres" in said["Stephane Dujarric"]  # the spokesman speaks for the secretary-general


def test_paraphrases_group_and_neighbours_stay_apart(real_service: QAService, tmp_path: Path) -> None:
    records = Records(tmp_path / "bot.sqlite")
    asked = [("What did Macron say?", 1), ("What did Emmanuel Macron say?", 2), ("Has Macron said anything?", 3),
             ("What did Merkel say?", 4), ("How many people died in the earthquake in Turkey?", 5),
             ("What is the death toll of the Turkish earthquake?", 6), ("Who won the football match?", 7)]
    for question, user in asked:
        answer = {"question": question, "answer": "-", "found": False, "citations": [], "declined_by": "unknown_name"}
        records.save_answer(GUILD, user, 1, question, answer)
    gaps = coverage_gaps(records, real_service, GUILD, retention_days=30, ask_again=False)
    groups = sorted(sorted(g.questions) for g in gaps.groups)
    assert ["Has Macron said anything?", "What did Emmanuel Macron say?", "What did Macron say?"] in groups
    assert ["What did Merkel say?"] in groups and ["Who won the football match?"] in groups
    assert gaps.groups[0].members == 3
