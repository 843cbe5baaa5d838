"""Stage 2, the plan: which strategy answers the question, among which sentences, favouring
which speakers, from how many candidates, and the gates that decline before any search.

The strategies, in the order they are tried:

| strategy | when | searched among | speakers | candidates |
|---|---|---|---|---|
| ``unquoted`` | "what did X say?", X quoted nowhere but named | every sentence | none | k |
| ``own_words`` | "what did X say?", X quoted somewhere | X's sentences | X | k |
| ``about`` | "what did X propose?" (not say/tell), X quoted | every sentence | X | 2k |
| ``role_holder`` | "who is Ukraine's foreign minister?", a sentence names a holder | those sentences | none | k |
| ``general`` | anything else | the sources naming its names | none | k |

A speaker question whose X names no one ("what is commonly believed?") is a general question; one
whose X no source holds in any form is declined before searching (``unknown_name``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from index.answering import scope
from index.answering.decide import Decline, DeclineReason
from index.question import Question
from index.retriever import Retriever


class Strategy(Enum):
    GENERAL = "general"
    ROLE_HOLDER = "role_holder"
    OWN_WORDS = "own_words"
    ABOUT = "about"
    UNQUOTED = "unquoted"


@dataclass(frozen=True)
class Plan:
    """What to search for a question, and how the answer is chosen."""

    strategy: Strategy
    k: int  # candidates kept after ranking
    rows: list[int] | None = None  # searched among (None: every sentence)
    speakers: frozenset[str] = frozenset()  # the ``speaker`` feature's people
    sources: set[str] | None = None  # the sources naming every name (None: no narrowing)
    unknown: tuple[str, ...] = ()  # names no source holds: declined once the closest passages are known
    spoken: tuple[int, ...] = ()  # rows of the asked-about speaker's words
    mentioning: frozenset[int] = field(default_factory=frozenset)  # rows naming them (last word)
    decline: Decline | None = None  # declined before any search


def _general(q: Question, r: Retriever, k: int) -> Plan:
    sources = scope.sources_naming(q, r.vocabulary)
    return Plan(Strategy.GENERAL, k, r.state.rows_of(sources), sources=sources,
                unknown=tuple(scope.unknown_names(q, r.vocabulary)))


def _speaker(q: Question, r: Retriever, k: int) -> Plan:
    asked = q.speaker
    assert asked is not None
    people = r.people
    # "What did the US and the EU warn about?": each of the names, as one speaker together
    whos = [asked.who] if people.speakers_named(asked.who) else list(asked.parts)
    rows = sorted({row for who in whos for row in people.rows_spoken_by(who)})
    named = frozenset(name for who in whos for name in people.speakers_named(who))
    if not rows:
        if not asked.names_a_speaker:
            # "What is commonly believed?", "How did the currency react?": no one is asked about
            return _general(q, r, k)
        missing = r.vocabulary.absent(asked.display)
        if missing:  # true only if no form of the name is in any source
            return Plan(Strategy.UNQUOTED, k, decline=Decline(
                DeclineReason.UNKNOWN_NAME, f"I couldn't find {', '.join(missing)} in the indexed sources."))
        mentioning = frozenset(row for who in whos for row in people.rows_mentioning(who))
        return Plan(Strategy.UNQUOTED, k, mentioning=mentioning)
    if not asked.strict:
        names = people.speakers_named(asked.who) or {asked.who}
        mentioning = frozenset(row for name in [*names, asked.who] for row in people.rows_mentioning(name))
        return Plan(Strategy.ABOUT, 2 * k, speakers=frozenset(names), spoken=tuple(rows), mentioning=mentioning)
    return Plan(Strategy.OWN_WORDS, k, rows, speakers=named, spoken=tuple(rows))


def route(q: Question, r: Retriever, k: int) -> Plan:
    """The plan for this question over this generation."""
    named_role = r.people.rows_naming_role(q.role) if q.role else []
    if q.role and not named_role:
        named_role = r.people.rows_naming_title(q.role)
    if q.speaker is not None:
        return _speaker(q, r, k)
    if named_role:
        # "Who is Ukraine's foreign minister?": the sentences that name whoever holds it
        return Plan(Strategy.ROLE_HOLDER, k, named_role)
    return _general(q, r, k)
