"""What kind of detail a question asks for, and whether a sentence holds it: a number for
"how many", a measure or money for "how long/much", a time for "when", a place for "where",
a name for "who". Pure text functions, used to rank sentences and check answers."""

from __future__ import annotations

import re

from index.lexicon import STOPWORDS, TITLE_WORDS
from index.query import fold, tokenize, words

_QUANTITY_Q = re.compile(
    r"\bhow (?:many|much|far|long|big|large|old|deep|high|tall|wide|heavy|strong|fast|often)\b"
    r"|\bwhat (?:percentage|share|number|proportion)\b",
    re.IGNORECASE,
)
_MEASURE_Q = re.compile(r"\bhow (?:far|long|tall|high|deep|wide|heavy|fast|big|large|old)\b", re.IGNORECASE)
_NUMBER_WORD = (r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|"
                r"fifty|sixty|seventy|eighty|ninety|hundred|dozen)")
_MEASURE = re.compile(
    r"(?:\d[\d,.]*|\b" + _NUMBER_WORD + r")[\s-]?"
    r"(?:km|kilometres?|kilometers?|m|cm|mm|metres?|meters?|miles?|feet|foot|ft|inch(?:es)?|kg|"
    r"tonnes?|tons?|litres?|liters?|seconds?|hours?|minutes?|days?|weeks?|months?|years?(?: old)?|mph|km/h|%|"
    r"percent|per cent|degrees?|pages?|words?|storeys?|stories|floors?|C|F)\b",
    re.IGNORECASE,
)
_MONEY_Q = re.compile(r"\bhow much\b.*\b(?:worth|cost|costs|pay|paid|price|value|spend|spent|owe|raise|fee)\b"
                      r"|\bwhat (?:price|fee|sum|amount)\b", re.IGNORECASE)
_MONEY = re.compile(r"[$€£¥]\s?\d|\d[\d,.]*\s?(?:million|billion|bn|m|k)?\s?(?:dollars?|euros?|pounds?|yen|yuan|"
                    r"rupees?|francs?|USD|EUR|GBP)\b", re.IGNORECASE)
_TIME_Q = re.compile(r"\bwhen\b|\bwhat (?:day|date|year|time|month)\b", re.IGNORECASE)
_PLACE_Q = re.compile(r"^\s*where\b|\bwhat (?:place|city|town|country|region)\b", re.IGNORECASE)
_PLACE = re.compile(r"\b(?:in|at|near|outside|inside|to|from|into)\s+(?:the\s+)?(?:[A-Z]\w+|(?:a|an)\s+\w+)")
_NUMBER = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|dozen|hundred|thousand|"
                     r"hundreds|thousands|million|millions|billion)\b", re.IGNORECASE)
_TIME = re.compile(r"\b(?:\d{4}|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|January|February|"
                   r"March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|"
                   r"Jul|Aug|Sept?|Oct|Nov|Dec|ago|yesterday|today|tomorrow)\b")
_DURATION = re.compile(r"\b(?:weeks?|months?|years?|decades?)\b")  # "for 30 years": a span, not a when


_APPOSITIVE = re.compile(r"\s*,\s*(?:a|an|the|of|who|from)\b")
_WHO_Q = re.compile(r"^\s*who\b|\bwhich (?:person|official|minister|leader)\b", re.IGNORECASE)
_NAME = re.compile(r"\b[A-Z][\w’'\-]+(?:\s+[A-Z][\w’'\-]+)+")
# a number and the words after it; matches may overlap ("seven of the nine members": "nine members")
_COUNTED = re.compile(r"(?<![\w.])(?=(\d[\d,.]*|dozens|hundreds|thousands|millions|no|one|two|three|four|five|six|"
                      r"seven|eight|nine|ten|eleven|twelve|twenty|fifty|a hundred|a thousand)"
                      r"\s+((?:[\w’'\-]+\s+){0,2}[\w’'\-]+))",
                      re.IGNORECASE)


def detail_score(question: str, sentence: str, question_tokens: list[str]) -> float:
    """0 to 2: does the sentence hold the kind of detail the question asks for?

    "How many X" wants a number, best one counting X ("2,400 dockworkers"); "when" wants a time;
    "who" wants a name the question does not already contain.
    """
    if _MEASURE_Q.search(question):
        return 2.0 if _MEASURE.search(sentence) else 1.0 if _NUMBER.search(sentence) else 0.0
    if _MONEY_Q.search(question):
        return 2.0 if _MONEY.search(sentence) else 1.0 if _NUMBER.search(sentence) else 0.0
    if _QUANTITY_Q.search(question):
        wanted = set(question_tokens)
        counted = any(set(tokenize(m.group(2))) & wanted for m in _COUNTED.finditer(sentence))
        return 2.0 if counted else 1.0 if _NUMBER.search(sentence) else 0.0
    if _TIME_Q.search(question):
        return 2.0 if _TIME.search(sentence) else 1.0 if _DURATION.search(sentence) else 0.0
    if _PLACE_Q.search(question):
        return 1.0 if _PLACE.search(sentence) else 0.0
    if _WHO_Q.search(question):
        return _who_score(question, sentence, set(question_tokens))
    return 0.0


_HOW_MANY = re.compile(r"\bhow many\s+(?:of\s+(?:the\s+)?)?(?P<noun>(?:[\w’'\-]+\s*){1,3})", re.IGNORECASE)


def count_terms(question: str, sentence: str) -> tuple[list[str], list[str]] | None:
    """For "how many X" questions: the words of X, and the words the sentence counts
    ("8,000 residents", "no deaths"). None for other questions."""
    match = _HOW_MANY.search(question)
    if not match:
        return None
    wanted = [w for w in words(match.group("noun")) if w not in STOPWORDS]
    if not wanted:
        return None
    counted = [w for m in _COUNTED.finditer(sentence) for w in words(m.group(2)) if w not in STOPWORDS]
    if re.search(r"\b(?:once|twice|thrice)\b", sentence, re.IGNORECASE):
        counted.append("times")  # "erupted twice" answers "how many times"
    return wanted, counted


def _who_score(question: str, sentence: str, wanted: set[str]) -> float:
    """2 if the sentence names someone right after words of the question ("UN spokesman
    Stephane Dujarric") or describes the asked-about name ("Priya Raman, a researcher");
    1 if it names someone the question does not; else 0."""
    asked = set(words(question))
    best = 0.0
    for match in _NAME.finditer(sentence):
        parts = match.group(0).split()
        # the name is what follows the titles, possessives and asked-about words at its start
        k = 0
        while k < len(parts) - 1 and (fold(parts[k]).rstrip("s’'") in TITLE_WORDS or parts[k].endswith(("’s", "'s"))
                                      or set(words(parts[k])) & asked):
            k += 1
        name = parts[k:]
        name_words = set(words(" ".join(name)))
        before = tokenize(sentence[: match.start()].split()[-1]) if sentence[: match.start()].split() else []
        lead = set(tokenize(" ".join(parts[:k]))) | set(before)
        if name_words and not name_words & asked:
            single = {w for w in wanted if "_" not in w}
            best = max(best, 1.0 + len(lead & single) / max(1, len(single)))
        elif name_words and name_words <= asked and _APPOSITIVE.match(sentence[match.end():]):
            best = 2.0
    return best
