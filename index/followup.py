"""Follow-up questions: read a question with the ones asked before it in the same conversation.

Three things are resolved, from the previous turns only (never from the sources):
- a pronoun for a person or body ("what did *he* say about NATO?") becomes the last name asked
  about, in its full form when the last answer cited that person ("Olaf Scholz");
- an elliptical question ("and Johnson?", "what about NATO?") becomes the previous question
  with the new name (or topic) in place of the old one;
- a bare reference to what was asked ("when was that?") keeps the previous question as context.

The result is shown to the user ("Understood as: ..."), so a wrong reading is visible.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from index.lexicon import BACK_REFERENCES, ELLIPSIS_OPENERS, TOPIC_REFERENCES
from index.question import analyse

HISTORY = 5  # how many previous turns are looked at
_ABOUT = re.compile(r"\s+about\s+.+$", re.IGNORECASE)


@dataclass(frozen=True)
class Turn:
    """A previous question as it was understood, and whom it was about (full names first)."""

    question: str
    names: tuple[str, ...] = ()


def turn_for(question: str, cited_speakers: Sequence[str] = ()) -> Turn:
    """The turn for an answered question: its names, each in the full form a cited speaker has."""
    names = []
    for name in analyse(question).names:
        last = name.text.split()[-1].lower()
        full = next((s for s in cited_speakers if s.split()[-1].lower() == last), None)
        names.append(full or name.text)
    return Turn(question, tuple(dict.fromkeys(names)))


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
        return f"{question.rstrip().rstrip('?')} — {history[-1].question}"
    return resolved
