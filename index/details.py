"""What a "how many" question counts, and what a sentence counts ("2,400 dockworkers").
Pure text functions, used by the ``counts`` feature."""

from __future__ import annotations

import re

from index.lexicon import STOPWORDS
from index.query import words

# a number and the words after it; matches may overlap ("seven of the nine members": "nine members")
_COUNTED = re.compile(r"(?<![\w.])(?=(\d[\d,.]*|dozens|hundreds|thousands|millions|no|one|two|three|four|five|six|"
                      r"seven|eight|nine|ten|eleven|twelve|twenty|fifty|a hundred|a thousand)"
                      r"\s+((?:[\w’'\-]+\s+){0,2}[\w’'\-]+))",
                      re.IGNORECASE)


_HOW_MANY = re.compile(r"\bhow many\s+(?:of\s+(?:the\s+)?)?(?P<noun>(?:[\w’'\-]+\s*){1,3})", re.IGNORECASE)


def counted_noun(question: str) -> list[str]:
    """The words of X in "how many X" ("how many of the soldiers" -> ["soldiers"]); [] otherwise."""
    match = _HOW_MANY.search(question)
    return [w for w in words(match.group("noun")) if w not in STOPWORDS] if match else []


def counted_in(sentence: str) -> list[str]:
    """The words a sentence counts: "8,000 residents" -> residents, "no deaths" -> deaths;
    "erupted twice" counts times."""
    counted = [w for m in _COUNTED.finditer(sentence) for w in words(m.group(2)) if w not in STOPWORDS]
    if re.search(r"\b(?:once|twice|thrice)\b", sentence, re.IGNORECASE):
        counted.append("times")
    return counted
