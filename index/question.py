"""One analysis per question: what it asks for, about whom, with which words.

``analyse`` runs once at the entrance (spaCy parse + the rules in ``index.lexicon``); every
later step reads the ``Question`` it returns and never re-parses the string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from index.details import counted_noun
from index.lexicon import ANSWER_TYPE_RULES, ENGLISH_WORDS, FOREIGN_WORDS, HEAD_NOUN_TYPES, NEGATIONS, acronym
from index.query import (
    JointQuestion,
    SpeakerQuestion,
    canonical_name,
    content_words,
    joint_question,
    measure_nouns,
    name_runs,
    role_question,
    speaker_question,
    spellings,
    tokenize,
    tokenize_with_pairs,
    without_measure_word,
    words,
)

_YEAR = re.compile(r"\b(?:1[0-9]|20)\d\d\b")


@dataclass(frozen=True)
class Name:
    """A name the question uses, with the other ways a text may write it."""

    text: str  # as written: "EU", "Judge Castellano"
    forms: tuple[tuple[str, ...], ...]  # folded word sequences: ("eu",), ("european", "union")
    nationality: bool = False  # a word of nationality or religion ("American", "Catholic"), not a place


@dataclass(frozen=True)
class Question:
    """Everything downstream needs to know about a question."""

    text: str
    kind: str  # speaker | role | joint | count | measure | when | where | who_did | who | open
    answer_types: frozenset[str]  # spaCy entity labels an answer should contain; empty: any
    names: tuple[Name, ...]
    years: tuple[str, ...]
    content: frozenset[str]  # stems an answer should hold (not question words, not "what year")
    asked: frozenset[str]  # stems of every word that says what is asked (for unseen-word checks)
    tokens: tuple[str, ...]  # BM25 query: stems, adjacent pairs, the noun of "how deep" (depth)
    words: frozenset[str]  # folded words of the question (an answer's entity must bring others)
    speaker: SpeakerQuestion | None = None
    role: str | None = None
    joint: JointQuestion | None = None
    counted: tuple[str, ...] = ()  # "how many soldiers" -> ("soldiers",)
    qualified: tuple[tuple[str, str], ...] = ()  # (modifier, head) stems: "flu vaccine" -> ("flu", "vaccin")
    name_stems: frozenset[str] = frozenset()  # stems of the words of its names
    negated: bool = False  # says not/never/no
    english: bool = True  # False: German, French, Spanish...: read by meaning alone


def _answer_types(text: str, parse: Any) -> tuple[str, frozenset[str]]:
    """The question's kind and the entity labels its answer should hold, from the rule table
    and, for "what/which X", the head noun X."""
    for pattern, kind, labels in ANSWER_TYPE_RULES:
        if pattern.search(text):
            return kind, labels
    if parse is not None:
        for token in parse:
            if token.lower_ in ("what", "which") and token.dep_ == "det" and token.head.pos_ == "NOUN":
                wanted = HEAD_NOUN_TYPES.get(token.head.lemma_.lower())
                if wanted:
                    return "open", wanted
    return "open", frozenset()


# Without a parse, the endings of words of nationality ("Russian", "Chinese", "British"); the
# parse's NORP label is the better signal (the endings also fit Helsinki, Miami, Republic).
_NATIONALITY_ENDING = re.compile(r"(?:ian|ean|can|ese|ish|ic|i)$")


def _nationalities(parse: Any) -> set[str] | None:
    """The words spaCy labels NORP (nationalities, religious and political groups), or None
    without a parse."""
    if parse is None:
        return None
    return {token.text for ent in parse.ents if ent.label_ == "NORP" for token in ent}


def _names(text: str, parse: Any = None) -> tuple[Name, ...]:
    norp = _nationalities(parse)
    names = []
    for run in name_runs(text):
        joined = " ".join(run)
        forms = {tuple(f) for f in spellings(canonical_name(joined)) if f}
        forms.add(tuple(words(joined)))
        short = acronym(run)
        if short:
            forms.add((short,))
        nationality = all(w in norp for w in run) if norp is not None else bool(
            len(run) == 1 and _NATIONALITY_ENDING.search(run[0]))
        names.append(Name(joined, tuple(sorted(forms)), nationality))
    return tuple(names)


def _qualified(parse: Any) -> tuple[tuple[str, str], ...]:
    """Compound modifiers of nouns ("the flu vaccine", "the unemployment rate")."""
    if parse is None:
        return ()
    pairs = []
    for token in parse:
        head_noun = token.head.pos_ in ("NOUN", "PROPN") and not token.head.text.lower().endswith("ing")
        if token.dep_ != "compound" or token.head.i == token.i or not head_noun:
            continue
        word, head = tokenize(token.text), tokenize(token.head.text)
        if word and head:
            pairs.append((word[0], head[0]))
    return tuple(pairs)


def is_english(text: str) -> bool:
    """False for a question in German, French, Spanish (more of their function words than English ones)."""
    folded = words(text)
    foreign = sum(w in FOREIGN_WORDS and w not in ENGLISH_WORDS for w in folded)
    return foreign < 2 or foreign <= sum(w in ENGLISH_WORDS for w in folded)


def analyse(text: str, parser: Any | None = None) -> Question:
    """The Question for this text; ``parser`` is a spaCy pipeline (None: rules only)."""
    if not is_english(text):
        # the embedding model is multilingual; English word rules would only misread it
        return Question(text=text, kind="open", answer_types=frozenset(), names=(), years=(),
                        content=frozenset(), asked=frozenset(), tokens=(), words=frozenset(words(text)),
                        english=False)
    parse = parser(text) if parser is not None else None
    speaker = speaker_question(text)
    role = role_question(text) if speaker is None else None
    joint = joint_question(text)
    kind, labels = _answer_types(text, parse)
    if speaker is not None:
        kind, labels = "speaker", frozenset()
    elif role is not None:
        kind, labels = "role", frozenset({"PERSON"})
    elif joint is not None and kind == "open":
        kind = "joint"
    counted = tuple(counted_noun(text))
    tokens = tokenize_with_pairs(without_measure_word(text)) + tokenize(" ".join(measure_nouns(text)))
    names = _names(text, parse)
    return Question(
        text=text,
        kind=kind,
        answer_types=labels,
        names=names,
        years=tuple(_YEAR.findall(text)),
        content=frozenset(content_words(text)),
        asked=frozenset(tokenize(without_measure_word(text))),
        tokens=tuple(tokens),
        words=frozenset(words(text)),
        speaker=speaker,
        role=role,
        joint=joint,
        counted=counted,
        qualified=_qualified(parse),
        name_stems=frozenset(tokenize(" ".join(n.text for n in names))),
        negated=bool(set(words(text)) & NEGATIONS),
    )


def entity_answers(question: Question, entities: tuple[tuple[str, str], ...]) -> bool:
    """True if the sentence holds an entity of an expected type that the question does not name."""
    if not question.answer_types:
        return False
    for label, value in entities:
        if label in question.answer_types and not set(words(value)) <= question.words:
            return True
    return False

