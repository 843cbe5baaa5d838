"""Retrieval details with the fake embedder: sentences read in context, look-ups, place questions."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bot.reading import read_paths
from bot.service import QAService
from index.answering.scope import sources_naming, unseen_words
from index.details import counted_in, counted_noun
from index.features import covered, joint_score
from index.query import content_words, goes_by, joint_question
from index.question import analyse
from index.retriever import Retriever
from index.search.candidates import dense_in_context, top

STORY = (
    "Families leave Ridgeford\n\n"
    "Residents queued on the highway for hours on Thursday.\n\n"
    "\"We grabbed the dog and the photo albums,\" said Tom Becker, a retired teacher who left with his wife. "
    "They spent the night in a school gymnasium in Halbrook, the Red Cross said.\n\n"
    "Fire chief Anna Lindqvist said the wind had changed. She said crews were ready. This fire is unusual.\n"
)
OTHER = "Port strike\n\nThey said the port would stay shut on Friday, as it did in 2019.\n"


def _index(service: QAService, tmp_path: Path, articles: dict[str, str]) -> Retriever:
    """The retriever over a fresh index of these articles (file name -> text)."""
    for name, text in articles.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    service.catalog.build(read_paths([tmp_path / name for name in articles]))
    return service.answerer().retriever


def _retriever(service: QAService, tmp_path: Path) -> Retriever:
    return _index(service, tmp_path, {"story.txt": STORY, "other.txt": OTHER})


def _row(retriever: Retriever, start: str) -> int:
    return next(s.row for s in retriever.state.sentences if s.text.startswith(start))


def test_anaphoric_sentences_know_what_they_refer_back_to(fake_service: QAService, tmp_path: Path) -> None:
    r = _retriever(fake_service, tmp_path)
    they, quote, queued = _row(r, "They spent"), _row(r, "\"We grabbed"), _row(r, "Residents queued")
    assert r.state.derived.antecedent[they] == [quote, queued]  # "they": the two sentences before, nearest first
    assert r.state.derived.antecedent[_row(r, "She said")] == [_row(r, "Fire chief")]  # "she": the one before
    assert _row(r, "This fire") not in r.state.derived.antecedent  # "this" is a determiner here, not a reference
    assert _row(r, "They said the port") not in r.state.derived.antecedent  # nothing before it in its own source
    assert {"tom", "becker"} <= r.state.tokens_in_context(they)
    assert "becker" not in r.state.token_sets[they]  # the sentence's own words stay its own


def test_a_sentence_is_scored_in_context_only_where_that_reads_better(
    fake_service: QAService, tmp_path: Path
) -> None:
    r = _retriever(fake_service, tmp_path)
    they, quote = _row(r, "They spent"), _row(r, "\"We grabbed")
    about_becker = r.state.vectors[quote]
    scores = dense_in_context(r.state, about_becker)
    assert scores[they] > float(r.state.vectors[they] @ about_becker)
    about_gym = r.state.vectors[they]
    assert they not in dense_in_context(r.state, about_gym)  # alone it matches better: its own score stands
    assert dense_in_context(r.state, about_becker, np.array([quote])) == {}  # restricted to other rows


def test_names_carried_into_a_sentence_do_not_make_its_speaker_theirs(
    fake_service: QAService, tmp_path: Path
) -> None:
    r = _retriever(fake_service, tmp_path)
    assert "Red Cross" in r.state.sentences[_row(r, "They spent")].speakers
    assert "Red Cross" not in r.people.speakers_named("Tom Becker")


def test_rows_naming_a_role_find_every_way_it_is_written(fake_service: QAService, tmp_path: Path) -> None:
    r = _index(fake_service, tmp_path, {
        "roles.txt": (
            "Talks resume\n\n"
            "Guterres spoke to Ukraine’s Foreign Minister Dmytro Kuleba on Monday, UN spokesman Stephane Dujarric said. "
            "A UN spokesman said the talks would go on. "
            "The hospital's director, Samuel Osei, said no one was hurt. "
            "Priya Raman, the port's harbour master, said ships were waiting.\n"
        ),
    })

    def naming(role: str) -> list[str]:
        return [r.state.sentences[row].text[:12] for row in r.people.rows_naming_role(role)]

    assert naming("Ukraine's foreign minister") == ["Guterres spo"]  # curly apostrophe in the text
    assert naming("the spokesman for the United Nations") == ["Guterres spo"]  # not "A UN spokesman said"
    assert naming("the director of the hospital") == ["The hospital"]
    assert naming("the harbour master of the port") == ["Priya Raman,"]
    assert naming("the mayor") == []


def test_names_in_a_question_narrow_it_to_the_sources_that_hold_them(
    fake_service: QAService, tmp_path: Path
) -> None:
    r = _retriever(fake_service, tmp_path)
    story = {s.source_id for s in r.state.sentences if s.text.startswith("Residents queued")}
    assert sources_naming(analyse("Where is Halbrook?"), r.vocabulary) == story
    assert sources_naming(analyse("What did the port do?"), r.vocabulary) is None  # no names: no narrowing
    assert sources_naming(analyse("Is it American?"), r.vocabulary) is None  # a lone nationality adjective does not narrow
    other = {s.source_id for s in r.state.sentences if s.text.startswith("They said the port")}
    assert sources_naming(analyse("How many deaths were there in 2019?"), r.vocabulary) == other  # a year narrows too
    assert "port" in unseen_words(analyse("Is the port in Halbrook?"), r.state, r.vocabulary, story)  # only the other source has it
    assert "port" not in unseen_words(analyse("Is the port in Halbrook?"), r.state, r.vocabulary)


def test_what_a_how_many_question_counts_and_what_a_sentence_counts() -> None:
    assert counted_noun("How many people were hurt?")[0] == "people"
    assert "people" in counted_in("At least 27 people were treated.")
    assert counted_in("No deaths have been reported.") == ["deaths"]
    assert counted_noun("How many buses does Veltra own?")[0] == "buses"
    assert "buses" not in counted_in("It controls 70 percent of bus routes.")
    assert counted_in("It erupted twice.") == ["times"] and counted_noun("How many times did it erupt?") == ["times"]
    assert counted_noun("Where is the port?") == []
    assert "members" in counted_in("Seven of the nine members voted.")  # "seven of the nine members"

def test_coverage_counts_the_question_words_a_sentence_holds_in_context(
    fake_service: QAService, tmp_path: Path
) -> None:
    r = _retriever(fake_service, tmp_path)
    they, quote = _row(r, "They spent"), _row(r, "\"We grabbed")
    asked = content_words("Did Becker sleep the night in Halbrook?")
    assert asked == {"becker", "sleep", "night", "halbrook"}
    # "They" brings Tom Becker along; night and Halbrook are its own words; "spent" is not "sleep"
    assert covered(r.state, asked, they) == 0.75
    assert covered(r.state, content_words("Did Becker spend the night in Halbrook?"), they) == 1.0
    assert covered(r.state, asked, quote) == 0.25  # Becker only as its speaker
    assert content_words("What year did the strike start?") == {"strike", "start"}
    assert content_words("How long did the strike last?") == {"strike", "last"}
    assert content_words("What did Becker grab?") == {"becker", "grab"}


def test_a_question_about_the_government_is_held_by_its_ministries_not_the_reverse(
    fake_service: QAService, tmp_path: Path
) -> None:
    r = _index(fake_service, tmp_path, {
        "port.txt": (
            "Port strike\n\nThe transport ministry said it had no plans to intervene. "
            "The government of the region said nothing.\n"
        ),
    })
    ministry, government = _row(r, "The transport ministry"), _row(r, "The government")
    assert covered(r.state, content_words("Will the government intervene?"), ministry) == 1.0
    assert covered(r.state, content_words("Will the minister intervene?"), government) == 0.0
    assert covered(r.state, content_words("Will the company intervene?"), ministry) == 0.5
    assert goes_by("busi") >= {"firm", "compani"}  # small businesses are small firms


def test_a_role_at_an_organisation_is_found_by_its_bare_title_in_articles_about_it(
    fake_service: QAService, tmp_path: Path
) -> None:
    r = _index(fake_service, tmp_path, {
        "bank.txt": (
            "Bank of Norland raises rates\n\nDeputy governor Lukas Brandt voted against the rise. "
            "Governor Elena Varga said the decision was not taken lightly.\n"
        ),
        "port.txt": "Port strike\n\nGovernor Ana Ruiz visited the port.\n",
    })
    assert r.people.rows_naming_role("the governor of the Bank of Norland") == []  # never written in full
    assert r.people.rows_naming_title("the governor of the Bank of Norland") == [_row(r, "Governor Elena Varga")]
    assert r.people.rows_naming_title("the governor of the Bank of Tessen") == []  # no article about it
    assert r.people.rows_naming_role("the governor") == [_row(r, "Governor Elena Varga"), _row(r, "Governor Ana Ruiz")]


def test_two_people_together_prefer_the_sentence_where_they_did_it_together(
    fake_service: QAService, tmp_path: Path
) -> None:
    r = _index(fake_service, tmp_path, {
        "talks.txt": (
            "Depot talks\n\nMayor Ana Ruiz met union leader Tom Hill on Tuesday. "
            "They reviewed plans to close the depot. Ruiz said Hill was a tough negotiator. "
            "Ruiz and Hill agreed to meet again. In a separate statement, Hill reviewed the union's accounts.\n"
        ),
    })
    review = joint_question("What did Ruiz and Hill review?")
    assert review is not None
    assert joint_score(r.state, review, _row(r, "They reviewed")) == 1.0  # "They": both, together, reviewing
    assert joint_score(r.state, review, _row(r, "Ruiz and Hill agreed")) == 0.0  # together, but not reviewing
    assert joint_score(r.state, review, _row(r, "In a separate")) == 0.0  # Hill alone
    talk = joint_question("What did Ruiz and Hill talk about?")
    assert talk is not None
    assert joint_score(r.state, talk, _row(r, "Ruiz said Hill")) == 0.5  # both, talking, but apart


def test_a_name_opening_the_sentence_before_is_carried_when_it_is_a_speakers(
    fake_service: QAService, tmp_path: Path
) -> None:
    r = _index(fake_service, tmp_path, {
        "talks.txt": (
            "Depot talks\n\nMayor Ana Ruiz said the depot would close. Ruiz and Hill met on Tuesday. "
            "They agreed to meet again. Residents protested outside. They carried banners.\n"
        ),
    })
    assert {"ruiz", "hill"} <= r.state.tokens_in_context(_row(r, "They agreed"))
    assert "resid" not in r.state.tokens_in_context(_row(r, "They carried"))  # not a name: not carried
    agree = joint_question("What did Ruiz and Hill agree?")
    assert agree is not None and joint_score(r.state, agree, _row(r, "They agreed")) == 1.0


def test_top_k_equals_a_stable_sort_of_every_score() -> None:
    rng = np.random.default_rng(1)
    for n in (0, 3, 10, 60, 1000):
        for _ in range(20):
            scores = rng.integers(0, 5, n).astype(np.float32)  # many ties, as BM25 has
            rows = np.arange(n) * 3
            expected = [(int(i), int(rows[i])) for i in np.argsort(-scores, kind="stable")[:10]]
            assert top(rows, scores, 10) == expected
