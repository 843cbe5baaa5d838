"""Which words of a cited sentence answer the question: the entities of the asked type.

"Where will the US relocate its embassy?" asks for a place, and the cited sentence names **Lviv**
in its 20th word; a reader should see it at once. The entities are the ones spaCy found at index
time (kept with each sentence); the sentence itself is never changed, only marked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from index.lexicon import PLACE
from index.query import role_question, split_role, words

MAX_SPANS = 2  # more candidates than this in one sentence: no signal, mark none
# A one-word "place" that is really a demonym used as an adjective ("the western Ukrainian city").
_DEMONYM = re.compile(r"[A-Z][a-z]+(?:ian|ean|ese|ish)")


def _spans_of(sentence: str, value: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(re.escape(value), sentence)]


def answer_spans(sentence: str, entities: Iterable[Sequence[str]], answer_types: Iterable[str],
                 question: str) -> list[tuple[int, int]]:
    """Offsets (into ``sentence``) of the entities of an asked type that the question does not
    already name, at most ``MAX_SPANS``; for "Who is Ukraine's foreign minister?" only the person
    the title introduces ("Foreign Minister **Dmytro Kuleba**")."""
    wanted = set(answer_types)
    if not wanted:
        return []
    asked = set(words(question))
    candidates: list[tuple[int, int]] = []
    for label, value in entities:
        folded = set(words(value))
        named = folded <= asked if folded else value in question  # words() folds no CJK
        if label not in wanted or not value.strip() or named:
            continue
        if label in PLACE and _DEMONYM.fullmatch(value):
            continue
        candidates += _spans_of(sentence, value)
    candidates = sorted(set(candidates))
    role = role_question(question)
    if role and candidates:
        title = split_role(role)[1]
        pattern = r"\b" + r"\W+".join(re.escape(w) for w in title) + r"\W+$"
        led = [(s, e) for s, e in candidates if title and re.search(pattern, sentence[:s], re.IGNORECASE)]
        return led[:1]
    kept = [span for span in candidates if not any(o != span and o[0] <= span[0] and span[1] <= o[1]
                                                    for o in candidates)]
    return kept if len(kept) <= MAX_SPANS else []
