"""Language data used by question analysis and ranking, kept apart from the code that uses it.

Word lists for stemming, stop words, titles and speech live in ``index.query`` and
``index.speakers`` beside the matching code; the tables here say what a question asks for.
"""

from __future__ import annotations

import re

PERSON_LIKE = frozenset({"PERSON", "ORG", "NORP", "GPE"})
TIME = frozenset({"DATE", "TIME"})
PLACE = frozenset({"GPE", "LOC", "FAC"})
NUMBER = frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"})

# (pattern, kind, entity labels an answer should hold), first match wins.
ANSWER_TYPE_RULES: tuple[tuple[re.Pattern[str], str, frozenset[str]], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), kind, labels)
    for pattern, kind, labels in (
        (r"\bhow many\b", "count", frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"})),
        (r"\bwhat (?:percentage|percent|share|proportion)\b", "measure", frozenset({"PERCENT", "CARDINAL"})),
        (r"\bhow much\b", "measure", NUMBER),
        (r"\bhow (?:long|far|old|big|large|deep|high|tall|wide|heavy|fast|often)\b", "measure",
         NUMBER | TIME),
        (r"\bwhen\b|\b(?:what|which) (?:year|date|day|month|time|century|decade|era|period)\b",
         "when", TIME),
        (r"^\s*(?:from\s+|to\s+|in\s+)?where\b|\b(?:what|which) (?:country|city|town|region|place|state|"
         r"continent|province|village|island|location|area|nation)\b", "where", PLACE),
        (r"^\s*who\s+(?!is\b|was\b|are\b|were\b|’s\b|'s\b)[a-z]+", "who_did", PERSON_LIKE),
        (r"^\s*(?:who|whom|whose)\b|\b(?:to|by|with|from|for) whom\b", "who", PERSON_LIKE),
    )
)

# The head noun of "what/which X" -> entity labels an answer should hold.
HEAD_NOUN_TYPES: dict[str, frozenset[str]] = {
    **{n: TIME for n in "year date day month time century decade era period season week".split()},
    **{n: PLACE for n in "country city town region place state continent province village island location "
       "area nation capital port river mountain sea".split()},
    **{n: frozenset({"PERSON"}) for n in "person man woman king queen leader president minister official "
       "ruler emperor duke scientist player author writer judge mayor chief general".split()},
    **{n: frozenset({"ORG"}) for n in "company organization organisation group firm agency party team "
       "institution university bank body union court".split()},
    **{n: frozenset({"NORP", "ORG", "GPE"}) for n in "nationality tribe people religion".split()},
    **{n: frozenset({"LANGUAGE", "NORP"}) for n in "language".split()},
    **{n: NUMBER for n in "number amount price cost rate total sum figure percentage".split()},
}

# Small words that may sit inside a name without ending it ("Bank of Norland", "Food and Drug ...").
_NAME_JOINERS = frozenset({"of", "and", "the", "for", "de", "du", "la", "on"})


def acronym(run: list[str]) -> str | None:
    """The initials of a multi-word name ("European Union" -> "eu"), or None."""
    letters = [w[0] for w in run if w.lower() not in _NAME_JOINERS and w[:1].isalpha()]
    return "".join(letters).lower() if len(letters) >= 2 else None


_CAPITAL_RUN = re.compile(
    r"\b[A-Z][\w’'\-]*(?:\s+(?:(?:of|and|the|for|de|du|la|on)\s+)*[A-Z][\w’'\-]*)+"
)


def acronyms_in(text: str) -> dict[str, str]:
    """Acronym -> the long form a text spells out ("nasa" -> "National Aeronautics and Space
    Administration"), for every run of two or more capitalised words."""
    found: dict[str, str] = {}
    for match in _CAPITAL_RUN.finditer(text):
        run = match.group(0).split()
        while run and run[0].lower() in _NAME_JOINERS:
            run = run[1:]  # "The National ..."
        short = acronym(run)
        if short and len(short) <= 8:
            found.setdefault(short, " ".join(run))
    return found
