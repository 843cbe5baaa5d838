"""Pure text helpers for questions: tokens for BM25, speaker questions, name matching."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not now of off on once only or other our ours ourselves out over
    own same she should so some such than that the their theirs them themselves then there these
    they this those through to too under until up very was we were what when where which while who
    whom why will with would you your yours yourself yourselves s t don also said say says tell told
    according""".split()
)
QUESTION_WORDS = frozenset("what who whom whose when where why how which did does do is are was were".split())

_SPEECH = (
    r"say|said|tell|told|think|thought|argue|warn|announce|urge|suggest|claim|respond|react|reply|"
    r"add|propose|believe|advise|state|mean|want|describe|call|ask|express|predict|make of|vow|"
    r"promise|pledge|deny|accuse|welcome|stress|insist|note|explain|confirm|report|hope"
)
_SPEAKER_PATTERNS = [
    re.compile(
        r"\b(?:what|how)\s+(?:else\s+)?(?:exactly\s+)?(?:did|does|do|has|have|had|was|is|were|would)\s+"
        rf"(?P<x>.+?)\s+(?:(?:have|had|got)\s+to\s+|just\s+|actually\s+|really\s+)?(?:{_SPEECH})\w*\b(?P<rest>.*)",
        re.IGNORECASE,
    ),
    re.compile(
        r"\bwhat\s+(?:was|is|were|are)\s+(?P<x>.+?)(?:’s|'s|’|')\s+(?:view|views|position|response|reaction|"
        r"message|statement|comment|comments|stance|assessment|warning|argument|remarks|words|take|"
        r"proposal|advice|answer|reply)\b(?P<rest>.*)",
        re.IGNORECASE,
    ),
    re.compile(r"\baccording\s+to\s+(?P<x>[^,?]+?)(?:,|\?|$)(?P<rest>.*)", re.IGNORECASE),
    re.compile(
        r"\bwhat\s+(?:message|warning|advice|proposal|statement|words)\s+did\s+(?P<x>.+?)\s+"
        r"(?:give|deliver|send|have|bring|offer|issue|make)\b(?P<rest>.*)",
        re.IGNORECASE,
    ),
    re.compile(r"\b(?:quote|quotes)\s+(?:from|by)\s+(?P<x>[^,?]+)(?P<rest>.*)", re.IGNORECASE),
]


def fold(text: str) -> str:
    """Lower-case ASCII form used for comparing words."""
    value = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return value.lower()


def _stem(word: str) -> str:
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", "e"), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: len(word) - len(suffix)] + repl
    return word


def words(text: str) -> list[str]:
    """Folded words; numbers lose their thousands separators ("14,000" -> "14000")."""
    text = re.sub(r"(?<=\d)[,.](?=\d{3}\b)", "", fold(text))
    return re.findall(r"[a-z0-9]+", text)


def tokenize(text: str) -> list[str]:
    """BM25 tokens: folded, stop words dropped, light suffix stripping."""
    return [_stem(w) for w in words(text) if w not in STOPWORDS]


@dataclass(frozen=True)
class SpeakerQuestion:
    """A "what did X say (about Y)?" question."""

    who: str
    rest: str


def speaker_question(question: str) -> SpeakerQuestion | None:
    """The person or body the question asks about, if it asks what they said."""
    for pattern in _SPEAKER_PATTERNS:
        match = pattern.search(question)
        if match:
            who = re.sub(r"^(?:the|a|an)\s+", "", match.group("x").strip(), flags=re.IGNORECASE)
            who = who.strip(" ?.!,\"“”'")
            if not who or fold(who) in QUESTION_WORDS or len(who.split()) > 6:
                continue
            if fold(who) in ("you", "i", "we", "they", "it", "he", "she", "people", "this", "that"):
                continue
            return SpeakerQuestion(who=who, rest=match.group("rest").strip(" ?.!"))
    return None


def _word_match(a: str, b: str) -> bool:
    if a == b:
        return True
    if len(a) >= 5 and len(b) >= 5 and a[:5] == b[:5] and abs(len(a) - len(b)) <= 2:
        return True  # Zelenskyy/Zelenskiy, Sergey/Sergei
    return len(a) >= 4 and len(b) >= 4 and SequenceMatcher(None, a, b).ratio() >= 0.85


TITLE_WORDS = frozenset(
    """president minister foreign prime chancellor secretary general secretary-general ambassador
    spokesman spokeswoman spokesperson senator governor mayor king queen prince chief director
    envoy commissioner chairman chairwoman chair leader deputy vice head official officer
    colonel admiral pope state defence defense interior finance mr mrs ms dr sir dame lord lady
    representative rep sen gov correspondent reporter analyst professor""".split()
)
TITLE_HINTS = TITLE_WORDS | frozenset("the german russian ukrainian us british un".split())


def name_matches(query_name: str, speaker: str) -> bool:
    """True if the name in a question refers to this speaker (surname only, spelling variants, any case)."""
    q = [w for w in words(query_name) if w not in STOPWORDS]
    s = words(speaker)
    if not q or not s:
        return False
    if " ".join(q) == " ".join(s):
        return True
    core = [w for w in q if w not in TITLE_HINTS] or q
    return all(any(_word_match(w, t) for t in s) for w in core)
