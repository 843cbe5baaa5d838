"""Follow-up questions: read a question with the ones asked before it in the same conversation.

Three things are resolved, from the previous turns only (never from the sources):
- a pronoun for a person or body ("what did *he* say about NATO?") becomes the last name asked
  about, in its full form when the last answer cited that person ("Olaf Scholz");
- an elliptical question ("and Johnson?", "what about NATO?") becomes the previous question
  with the new name (or topic) in place of the old one;
- a bare reference to what was asked ("when was that?") keeps the previous question as context.

The result is shown to the user ("Understood as: ..."), so a wrong reading is visible. After the
resolved question is answered, ``settle`` checks the answer against the conversation: a follow-up
that asks for another detail ("when was that?") never gets the previous sentences back unchanged
(only those holding that detail, or a decline), and one whose kept part ("tell Putin" in "and
Blinken?" after "What did Lavrov tell Putin?") no cited sentence holds is declined.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from index.answering.records import Answer, Citation
from index.lexicon import BACK_REFERENCES, ELLIPSIS_OPENERS, TOPIC_REFERENCES
from index.links import text_fragment_link
from index.query import words
from index.question import analyse

HISTORY = 5  # how many previous turns are looked at
_ABOUT = re.compile(r"\s+about\s+.+$", re.IGNORECASE)
JOIN = " — "  # between a bare reference ("when was that") and the question it refers to
DETAILS = {"when": "when that was", "where": "where that was", "count": "how many", "measure": "how much",
           "who": "who that was", "who_did": "who did that"}


@dataclass(frozen=True)
class Turn:
    """A previous question as it was understood, whom it was about (full names first), and the
    sentences its answer quoted (``source_id:start``)."""

    question: str
    names: tuple[str, ...] = ()
    said: tuple[str, ...] = ()


def turn_for(question: str, cited_speakers: Sequence[str] = (), said: Sequence[str] = ()) -> Turn:
    """The turn for an answered question: its names, each in the full form a cited speaker has.
    A bare reference ("when was that — What did Scholz say?") is remembered as the question it
    referred to, so the next follow-up builds on that question, not on the composite."""
    question = question.split(JOIN)[-1]
    names = []
    for name in analyse(question).names:
        last = name.text.split()[-1].lower()
        full = next((s for s in cited_speakers if s.split()[-1].lower() == last), None)
        names.append(full or name.text)
    return Turn(question, tuple(dict.fromkeys(names)), tuple(said))


def turn_of_json(data: dict[str, Any]) -> Turn:
    """The turn for an answer as JSON (``Answer.to_json()`` or a stored answer)."""
    citations = data.get("citations") or []
    speakers = [s for c in citations for s in c.get("speakers") or []]
    said = [f"{c['source_id']}:{s['start']}" for c in citations for s in c.get("sentences") or []]
    return turn_for(data.get("understood_as") or data["question"], speakers, said)


def _last_name(history: Sequence[Turn]) -> str | None:
    for turn in reversed(history[-HISTORY:]):
        if turn.names:
            return turn.names[0]
    return None


def _elliptical(question: str, history: Sequence[Turn]) -> str | None:
    """ "and Johnson?" -> the previous question about Johnson; "and about NATO?" -> ... about NATO."""
    text = question.strip().rstrip("?").strip()
    low = text.lower()
    opener = next((o for o in ELLIPSIS_OPENERS if low.startswith(o + " ")), None)
    if opener is None or not history:
        return None
    rest = text[len(opener):].strip()
    if not rest or len(rest.split()) > 6:
        return None
    previous = history[-1]
    base = previous.question.rstrip("?").strip()
    if rest.lower().startswith("about "):
        return f"{_ABOUT.sub('', base)} {rest}?"
    names = analyse(previous.question).names
    if names and names[0].text in base:
        return base.replace(names[0].text, rest, 1) + "?"
    return None


def resolve(question: str, history: Sequence[Turn], parser: Any | None = None) -> str:
    """The question as it should be read after ``history`` (the question itself when it stands alone)."""
    if not history:
        return question
    elliptical = _elliptical(question, history)
    if elliptical:
        return elliptical
    tokens = list(parser(question)) if parser is not None else []
    words = re.findall(r"\w+|\W+", question)
    antecedent = _last_name(history)
    changed = False
    if antecedent:
        for i, word in enumerate(words):
            role = BACK_REFERENCES.get(word.lower())
            if role is None:
                continue
            if role == "name or possessive":
                tag = next((t.tag_ for t in tokens if t.text.lower() == "her"), "PRP")
                role = "possessive" if tag == "PRP$" else "name"
            words[i] = f"{antecedent}'s" if role == "possessive" else antecedent
            changed = True
    resolved = "".join(words)
    lowered = {w.lower() for w in words if w.strip()}
    if not changed and lowered & TOPIC_REFERENCES and not analyse(question).names and len(question.split()) <= 6:
        return f"{question.rstrip().rstrip('?')}{JOIN}{history[-1].question}"
    return resolved


def _ordered(answer: Answer) -> list[tuple[Citation, dict[str, Any]]]:
    """The answer's (citation, sentence) pairs in the order the answer text has them."""
    found = [(answer.answer.find(f"{s['text']} [{c.n}]"), c, s) for c in answer.citations for s in c.sentences]
    return [(c, s) for at, c, s in sorted(found, key=lambda t: t[0]) if at >= 0]


def _keep(answer: Answer, kept: list[tuple[Citation, dict[str, Any]]]) -> Answer:
    """The answer with only ``kept`` sentences, renumbered [1], [2]... in order."""
    numbers: dict[int, int] = {}
    grouped: dict[int, list[dict[str, Any]]] = {}
    for c, s in kept:
        numbers.setdefault(c.n, len(numbers) + 1)
        grouped.setdefault(c.n, []).append(s)
    by_n = {c.n: c for c, _ in kept}
    citations = [replace(by_n[old], n=new, sentences=grouped[old],
                         link=text_fragment_link(by_n[old].url, grouped[old][0]["text"]))
                 for old, new in numbers.items()]
    text = " ".join(f"{s['text']} [{numbers[c.n]}]" for c, s in kept)
    return replace(answer, answer=text, citations=citations)


def _decline(answer: Answer, message: str, reason: str) -> Answer:
    return replace(answer, answer=message, found=False, citations=[], closest=[], declined_by=reason)


def _holds(entities: Sequence[Sequence[str]], labels: frozenset[str], asked: set[str]) -> bool:
    return any(label in labels and not set(words(value)) <= asked for label, value in entities)


def settle(answer: Answer, question: str, understood: str, history: Sequence[Turn]) -> Answer:
    """The answer to a follow-up, checked against the conversation (see the module's docstring)."""
    if not answer.found or not history:
        return answer
    pairs = _ordered(answer)
    if not pairs:
        return answer
    texts = [f"{s['text']} {' '.join(c.speakers)} {(s.get('context') or {}).get('text', '')}" for c, s in pairs]
    held = set(words(" ".join(texts)))
    own = set(words(question))
    for name in analyse(understood.split(JOIN)[-1]).names:
        surname = [w for w in words(name.text) if len(w) > 1][-1:] or [name.text.lower()]  # not the s of 's
        if not set(surname) <= own and not set(surname) <= held:
            # "and Blinken?" read as "What did Blinken tell Putin?", and no cited sentence has Putin
            return _decline(answer, f"I couldn't find an answer to \u201c{understood}\u201d in the indexed sources.",
                            "unresolved_followup")
    asked = analyse(question)
    previous = set(history[-1].said)
    if asked.answer_types and previous:
        again = {i for i, (c, s) in enumerate(pairs) if f"{c.source_id}:{s['start']}" in previous}
        if again:
            wanted = set(words(understood))
            kept = [p for i, p in enumerate(pairs)
                    if i not in again or _holds(p[1].get("entities") or [], asked.answer_types, wanted)]
            if not kept:
                detail = DETAILS.get(asked.kind, "that detail")
                return _decline(answer, f"I couldn't find {detail} in the indexed sources (the passages I "
                                        "found are the ones I quoted before).", "no_new_detail")
            if len(kept) < len(pairs):
                return _keep(answer, kept)
    return answer
