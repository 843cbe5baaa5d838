"""The facts a decline states, checked against the text of the sources it was asked over.

"I couldn't find X in the indexed sources." (``unknown_name``) says that no form of X occurs in
any source; "The sources mention X, but ..." (``not_quoted``) says that X does. This reads the
source text its own way, with none of the retriever's rules (only the lexicon's list of aliases
and titles), so that a wrong claim shows: ``bench/declines.py`` runs it over every eval set and a
test over a sample of them.

A form of X: X itself; X without "the" and possessives; any of its capitalised words that is not
a title (a surname alone, "Castellano" for "Judge Castellano"); its aliases and long or short
forms ("EU"/"European Union", "US"/"United States"); its initials; and, for an acronym, a
capitalised run of words in a source whose initials spell it. Case, accents, curly or straight
apostrophes and possessives ("Russia's") are folded.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from index.lexicon import BODY_ALIASES, STOPWORDS, TITLE_WORDS

UNKNOWN = re.compile(r"^I couldn't find (?P<x>.+) in the indexed sources\.$", re.DOTALL)
MENTIONS = re.compile(r"^The sources mention (?P<x>.+?), but I couldn't find anything", re.DOTALL)
_ARTICLES = {"the", "a", "an"}
_RUN = re.compile(r"\b[A-Z][\w'’\-]*(?:\s+(?:(?:of|and|the|for|de|la)\s+)*[A-Z][\w'’\-]*)+")
_JOINERS = {"of", "and", "the", "for", "de", "la"}


def plain_words(text: str) -> list[str]:
    """Folded words: lower case, no accents, any apostrophe, possessives and thousands separators dropped."""
    text = re.sub(r"[’‘ʼ`´]", "'", text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"'s\b|(?<=s)'(?=\W|$)", "", text)
    text = re.sub(r"(?<=\d)[,.](?=\d{3}\b)", "", text)
    return re.findall(r"[a-z0-9]+", text)


@dataclass(frozen=True)
class Texts:
    """The indexed sources' text, as word sequences and as the initials of their capitalised runs."""

    joined: str  # " w1 w2 ... " over every source, a blank line's worth of space between sources
    initials: frozenset[str]

    @classmethod
    def of(cls, texts: Iterable[str]) -> Texts:
        texts = list(texts)
        joined = " " + "  |  ".join(" ".join(plain_words(t)) for t in texts) + " "
        initials = set()
        for text in texts:
            for match in _RUN.finditer(text):
                letters = [w[0] for w in match.group(0).split() if w.lower() not in _JOINERS]
                if len(letters) >= 2:
                    initials.add("".join(letters).lower())
        return cls(joined, frozenset(initials))

    def has(self, form: list[str]) -> bool:
        return bool(form) and f" {' '.join(form)} " in self.joined


def forms(name: str) -> list[list[str]]:
    """The ways a source may write the name (see the module's docstring)."""
    tokens = plain_words(name)
    while tokens and tokens[0] in _ARTICLES:
        tokens = tokens[1:]
    found = [tokens]
    capitalised = [w for w in name.split() if w[:1].isupper()]
    names = [plain_words(w) for w in capitalised]
    names = [n for n in names if n and not (set(n) & (TITLE_WORDS | STOPWORDS))]
    if len(tokens) > 1:
        found += names
    joined = " ".join(tokens)
    for long, short in BODY_ALIASES.items():
        if joined in (long, short):
            found += [long.split(), short.split()] + [lg.split() for lg, s in BODY_ALIASES.items() if s == short]
    if len(names) >= 2:
        found.append(["".join(n[0][0] for n in names)])
    return [f for f in found if f]


def occurs(name: str, texts: Texts) -> bool:
    """True if some form of the name is in the sources."""
    if any(texts.has(f) for f in forms(name)):
        return True
    letters = plain_words(name)
    return len(letters) == 1 and name.strip().isupper() and letters[0] in texts.initials


def false_claim(answer: str, declined_by: str | None, texts: Texts) -> str | None:
    """What is untrue in a decline's message ("Russia's occurs in the sources"), or None."""
    if declined_by == "unknown_name":
        match = UNKNOWN.match(answer)
        if not match:
            return f"unknown_name without a name: {answer!r}"
        present = [name for name in match.group("x").split(", ") if occurs(name, texts)]
        return f"{', '.join(present)} occurs in the sources" if present else None
    if declined_by == "not_quoted":
        match = MENTIONS.match(answer)
        if match and not occurs(match.group("x"), texts):
            return f"{match.group('x')} does not occur in the sources"
    return None
