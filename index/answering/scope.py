"""What of a question the sources hold: its names no source contains, the sources naming all its
names, its words no source holds. Read by the plan (which sources to search, which names to
decline for) and by the decision (unseen words)."""

from __future__ import annotations

from index.lexicon import QUESTION_WORDS, TITLE_WORDS
from index.query import without_possessive, words
from index.question import Question
from index.search.state import RetrievalState
from index.search.vocabulary import Vocabulary


def unknown_names(q: Question, vocabulary: Vocabulary) -> list[str]:
    """Names in the question (past its first word) that no source contains in any of their
    forms (aliases, long forms, acronyms, spelling variants), and years no source mentions."""
    unknown = []
    for name in q.names:
        run = name.text.split()
        if any(vocabulary.mentioned(t) for t in run) or vocabulary.known_in_some_form(name.forms):
            continue
        # A lone adjective of nationality ("American") whose country the sources name.
        if name.nationality and len(run) == 1 and vocabulary.nation_known(run[0]):
            continue
        unknown.append(name.text)
    # a year no source mentions ("in 1974"): measured on every labelled set, no answerable
    # question has one, while 12 unanswerable ones do
    return unknown + [year for year in q.years if year not in vocabulary.vocabulary]


def sources_naming(q: Question, vocabulary: Vocabulary) -> set[str] | None:
    """The sources that contain every name and year in the question ("the weather in Carden",
    "deaths in 2019": only an article that mentions Carden, or 2019, can answer), or None when
    that does not narrow things."""
    allowed: set[str] | None = None
    runs = [(name.text.split(), name.nationality) for name in q.names]
    for run, nationality in runs + [([year], False) for year in q.years]:
        parts = [w for t in run for w in words(without_possessive(t)) if w not in TITLE_WORDS and len(w) > 1]
        if not parts or (len(run) == 1 and nationality):
            continue
        having = set(vocabulary.source_words)
        for w in parts:
            having &= vocabulary.sources_with(w)
        if not having and len(parts) > 1:
            having = set(vocabulary.sources_with("".join(w[0] for w in parts)))  # spelled out as an acronym
        if having:  # a name no source holds is for unknown_names() to report
            allowed = having if allowed is None else allowed & having
    if not allowed or len(allowed) == len(vocabulary.source_words):
        return None
    return allowed


def unseen_words(q: Question, state: RetrievalState, vocabulary: Vocabulary,
                 sources: set[str] | None = None) -> list[str]:
    """Words of the question that appear in no source, or in none of ``sources`` (after
    stemming and spelling slack)."""
    d = state.derived
    stems = d.stem_vocabulary if sources is None else set().union(*(d.source_stems[s] for s in sources))
    unseen = []
    for word in sorted(q.asked):  # "how big a fine": the fine
        if word in stems or word in QUESTION_WORDS or len(word) < 3:
            continue
        if sources is None and vocabulary.mentioned(word):
            continue
        if sources is not None and vocabulary.sources_with(word) & sources:
            continue
        unseen.append(word)
    return unseen


def unknown_kind(q: Question, state: RetrievalState, unseen: list[str]) -> bool:
    """A word no source holds qualifies a noun they do hold ("flu" in "the flu vaccine")."""
    return any(m in unseen and h not in unseen and h in state.derived.stem_vocabulary for m, h in q.qualified)
