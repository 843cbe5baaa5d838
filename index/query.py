"""Pure text helpers for questions: tokens for BM25, speaker questions, name matching."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

import snowballstemmer

from index.lexicon import (
    BODY_ALIASES,
    GOES_BY,
    MEASURE_NOUNS,
    ORG_SUFFIXES,
    PEOPLE_NOUNS,
    QUESTION_WORDS,
    SAID_NOUNS,
    SAY_VERBS,
    STOPWORDS,
    TALK_WORDS,
    TITLE_WORDS,
    WORD_FAMILIES,
)

_STEMMER = snowballstemmer.stemmer("english")

_SPEECH = (
    r"say|said|tell|told|think|thought|argue|warn|announce|urge|suggest|claim|respond|react|reply|"
    r"add|propose|believe|advise|describe|call|ask|express|predict|make of|vow|"
    r"promise|pledge|deny|accuse|welcome|stress|insist|note|explain|confirm|report|hope|write|wrote|"
    r"fear|worry|expect|want|find|found|rule|conclude|decide|recommend|criticise|criticize"
)
_SPEAKER_PATTERNS = [
    re.compile(
        r"\b(?:what|how)\s+(?:else\s+)?(?:exactly\s+)?(?:did|does|do|has|have|had|was|is|were|would)\s+"
        rf"(?P<x>.+?)\s+(?:(?:have|had|got)\s+to\s+|just\s+|actually\s+|really\s+)?(?P<verb>{_SPEECH})(?:s|es|ed|d|ing)?\b(?P<rest>.*)",
        re.IGNORECASE,
    ),
    re.compile(
        r"\bwhat\s+(?:was|is|were|are)\s+(?P<x>.+?)(?:’s|'s|’|')\s+(?P<noun>view|views|position|response|reaction|"
        r"message|statement|comment|comments|stance|assessment|warning|argument|remarks|words|take|"
        r"proposal|advice|answer|reply)\b(?P<rest>.*)",
        re.IGNORECASE,
    ),
    re.compile(r"\b(?P<verb>according)\s+to\s+(?P<x>[^,?]+?)(?:,|\?|$)(?P<rest>.*)", re.IGNORECASE),
    re.compile(
        r"\bwhat\s+(?:message|warning|advice|proposal|statement|words)\s+did\s+(?P<x>.+?)\s+"
        r"(?:give|deliver|send|have|bring|offer|issue|make)\b(?P<rest>.*)",
        re.IGNORECASE,
    ),
    re.compile(r"\b(?:quote|quotes)\s+(?:from|by)\s+(?P<x>[^,?]+)(?P<rest>.*)", re.IGNORECASE),
]


# Curly and other apostrophes read as the plain one, so "Russia’s" and "Russia's" fold alike
# (to "russia", "s") instead of the curly one vanishing ("russias").
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "′": "'", "`": "'", "´": "'"})


def fold(text: str) -> str:
    """Lower-case ASCII form used for comparing words (apostrophes of every kind as "'")."""
    value = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES)).encode("ascii", "ignore").decode()
    return value.lower()


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    """Snowball (Porter 2) stem: announce/announced/announcing -> announc; words of one family
    that the stemmer keeps apart (died/death, injured/injuries, children/child) share one."""
    if word.isdigit():
        return word
    stem = word if len(word) <= 3 else str(_STEMMER.stemWord(word))
    return WORD_FAMILIES.get(stem, stem)


def words(text: str) -> list[str]:
    """Folded words; numbers lose their thousands separators ("14,000" -> "14000")."""
    text = re.sub(r"(?<=\d)[,.](?=\d{3}\b)", "", fold(text))
    return re.findall(r"[a-z0-9]+", text)


def tokenize(text: str) -> list[str]:
    """BM25 tokens: folded, stop words dropped, light suffix stripping."""
    return [_stem(w) for w in words(text) if w not in STOPWORDS]


_HOW_ADJECTIVE = re.compile(
    r"\bhow\s+(?:long|far|big|large|old|deep|high|tall|wide|heavy|strong|fast|often|soon|close|severe|bad)\b",
    re.IGNORECASE,
)


def measure_nouns(question: str) -> list[str]:
    """The noun a "how deep/far/old" question asks for ("depth"), which the answer often uses."""
    return [MEASURE_NOUNS[m.group(0).split()[-1].lower()] for m in _HOW_ADJECTIVE.finditer(question)
            if m.group(0).split()[-1].lower() in MEASURE_NOUNS]


def without_measure_word(question: str) -> str:
    """The question without the measure word of "how long/far/big": "How long is the ruling?"
    asks about the ruling, not about anything long."""
    return _HOW_ADJECTIVE.sub("how", question)


# "What year ...", "Which country ...": the kind of thing asked for, rarely among the answer's words
_ASKED_KIND = re.compile(
    r"^\s*(?:what|which)\s+(?!(?:did|does|do|is|are|was|were|has|have|had|will|would|can|could|should|else|about|if)\b)"
    r"[a-z]+\b",
    re.IGNORECASE,
)


def goes_by(word: str) -> frozenset[str]:
    """Other stems for the institution a question word names ("govern" -> "ministri", ...)."""
    return GOES_BY.get(word, frozenset())


def content_words(question: str) -> set[str]:
    """The question's words an answer should hold (stemmed): not its question words, the kind
    of thing asked for ("what year") or the measure of "how long"."""
    asked_kind = _ASKED_KIND.match(question)
    rest = question[asked_kind.end():] if asked_kind else question
    return set(tokenize(without_measure_word(rest))) - QUESTION_WORDS


def tokenize_with_pairs(text: str) -> list[str]:
    """Tokens plus adjacent pairs ("foreign_minist"), so phrases and names outrank scattered words."""
    tokens = tokenize(text)
    return tokens + [f"{a}_{b}" for a, b in zip(tokens, tokens[1:], strict=False)]


_TOPIC = re.compile(r"^(?:about|on|regarding|concerning|of)\s+(?P<topic>.+)$", re.IGNORECASE)


# Topics that name no subject of their own: "what did X say about the cause?" asks for X's view
# of whatever the article is about, so it is not held to having words in common with X's.
_GENERIC_TOPICS = frozenset(
    _stem(w) for w in """cause causes reason reasons situation issue issues problem problems matter it
    this that these those future development developments""".split()
)


def generic_topic(topic: str) -> bool:
    """True for "the cause", "it", "the situation": a topic that names nothing specific."""
    return all(t in _GENERIC_TOPICS for t in tokenize(topic)) if topic.strip() else True


@dataclass(frozen=True)
class SpeakerQuestion:
    """A "what did X say (about Y)?" question, read once (``speaker_question``)."""

    who: str
    rest: str
    verb: str = "say"
    display: str = ""  # as the question wrote it ("the prime minister"), for messages
    strict: bool = True  # a say/tell question: only X's own words will do
    topic: str = ""  # what the question restricts X's words to ("about NATO" -> "NATO"), if anything
    generic_topic: bool = True  # the topic names nothing specific ("the cause", "it"), or there is none
    parts: tuple[str, ...] = ()  # the names ``who`` lists ("the US and the EU": "the US", "the EU")
    names_a_speaker: bool = True  # ``who`` could name someone who speaks (not "the way integers are ...")
    describable: bool = False  # what the sources report about X (by whoever) may answer it


def _names_a_speaker(who: str) -> bool:
    """True if the phrase could name someone who speaks: a capitalised name, a title ("the
    mayor") or people ("scientists"), not a thing ("the way integers are commonly ...")."""
    folded = words(who)
    return any(w[:1].isupper() for w in who.split()) or bool(set(folded) & TITLE_WORDS) or (
        bool(folded) and folded[-1] in PEOPLE_NOUNS)


def _speaker(who: str, rest: str, verb: str, display: str) -> SpeakerQuestion:
    strict = verb.lower() in SAY_VERBS
    match = _TOPIC.match(rest.strip())
    topic = match.group("topic").strip() if match else ""
    return SpeakerQuestion(who, rest, verb, display, strict, topic, generic_topic(topic), tuple(name_parts(who)),
                           _names_a_speaker(who), not strict or verb.lower() in ("react", "respond"))


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
            verb = match.groupdict().get("verb") or "say"
            if match.groupdict().get("noun"):
                verb = "say" if match.group("noun").lower() in SAID_NOUNS else match.group("noun")
            display = match.group("x").strip(" ?.!,\"“”'")
            return _speaker(who, match.group("rest").strip(" ?.!"), verb, display)
    return None


def word_match(a: str, b: str) -> bool:
    """Same word, or a spelling variant of a name (Zelenskyy/Zelenskiy, Sergey/Sergei)."""
    if a == b:
        return True
    if len(a) >= 5 and len(b) >= 5 and a[:5] == b[:5] and abs(len(a) - len(b)) <= 2:
        return True  # Zelenskyy/Zelenskiy, Sergey/Sergei
    return len(a) >= 4 and len(b) >= 4 and SequenceMatcher(None, a, b).ratio() >= 0.85


_TITLE_STEMS = frozenset(_stem(w) for w in TITLE_WORDS)
TITLE_HINTS = TITLE_WORDS | frozenset("the german russian ukrainian us british un".split())


@lru_cache(maxsize=65536)
def _canonical_words(name: str) -> tuple[str, ...]:
    joined = " ".join(words(name))
    for long, short in BODY_ALIASES.items():
        joined = re.sub(rf"\b{long}\b", short, joined)
    return tuple(joined.split())


def spellings(word: str) -> list[list[str]]:
    """The word and the other ways of writing the body it names: "us" -> us, united states, usa, america, ..."""
    short = canonical_name(word)
    forms = [[word], short.split()]
    forms += [long.split() for long, s in BODY_ALIASES.items() if s == short]
    return forms


def canonical_name(name: str) -> str:
    """Folded name with common short forms unified ("the United States" -> "us")."""
    return " ".join(w for w in _canonical_words(name) if w not in ("the", "a", "an"))


@lru_cache(maxsize=65536)
def name_matches(query_name: str, speaker: str) -> bool:
    """True if the name in a question refers to this speaker (surname only, spelling variants, any case)."""
    q = [w for w in _canonical_words(query_name) if w not in STOPWORDS]
    s = _canonical_words(speaker)
    if not q or not s:
        return False
    if " ".join(q) == " ".join(s):
        return True
    core = [w for w in q if w not in TITLE_HINTS] or q
    return all(any(word_match(w, t) for t in s) for w in core)


_ROLE_QUESTION = re.compile(r"^\s*who(?:’s|'s|\s+is|\s+was|\s+are|\s+were)\s+(?P<role>[^?]+?)\s*\??\s*$", re.IGNORECASE)


def role_question(question: str) -> str | None:
    """The role asked about in "Who is Ukraine's foreign minister?" (not "Who is Anna Lindqvist?")."""
    match = _ROLE_QUESTION.match(question)
    if not match:
        return None
    role = match.group("role")
    return role if any(_stem(w) in _TITLE_STEMS for w in words(role)) else None


def split_role(role: str) -> tuple[list[str], list[str]]:
    """A role's organisation and title, as folded words: "the director of the hospital" ->
    (["hospital"], ["director"]); "Ukraine's foreign minister" -> (["ukraine"], ["foreign", "minister"])."""
    w = words(role)
    while w and w[0] in ("the", "a", "an"):
        w = w[1:]
    for i, word in enumerate(w):
        if word == "s" and i:  # "Ukraine's foreign minister"
            return w[:i], w[i + 1 :]
        if word in ("of", "for", "at") and i:  # "the director of the hospital"
            return [x for x in w[i + 1 :] if x not in ("the", "a", "an")], w[:i]
    k = next((i for i, x in enumerate(w) if _stem(x) in _TITLE_STEMS), 0)  # "the UN spokesman"
    return w[:k], w[k:]


def role_variants(role: str) -> list[list[str]]:
    """Ways a news text writes a role, as folded word sequences: "the spokesman for the UN" ->
    "un spokesman", "united nations spokesman", "spokesman for the un", "un s spokesman", ...
    ("s" is a possessive: words() splits "UN's" into "un", "s")."""
    org, title = split_role(role)
    if not org or not title:
        w = org + title
        return [w] if w else []
    orgs = [org]
    if len(org) > 1 and org[-1] in ORG_SUFFIXES:
        orgs.append(org[:-1])  # "the Harbourside Party" is also "Harbourside" ("Harbourside leader X")
    joined = " ".join(org)
    for long, short in BODY_ALIASES.items():
        if joined == short:
            orgs.append(long.split())
        elif joined == long:
            orgs.append(short.split())
    variants: list[list[str]] = []
    for o in orgs:
        variants += [o + title, o + ["s"] + title, title + ["of", "the"] + o, title + ["for", "the"] + o,
                     title + ["of"] + o, title + ["for"] + o, title + ["at", "the"] + o]
    return variants


_LIST_SEPARATOR = re.compile(r"\s*(?:,|;|&|\band\b|\bor\b|\bnor\b|\bas well as\b|\bplus\b)\s*", re.IGNORECASE)
_POSSESSIVE = re.compile(r"(?:['’]s|(?<=s)['’])(?=\W|$)", re.IGNORECASE)


def without_possessive(name: str) -> str:
    """ "Russia's" (any apostrophe) -> "Russia"; "the Smiths'" -> "the Smiths"."""
    return _POSSESSIVE.sub("", name)


def name_parts(phrase: str) -> list[str]:
    """The names a phrase lists, as written: "the US and the EU" -> ["the US", "the EU"]; one
    part for a single name."""
    parts = [p.strip(" .!?\"“”") for p in _LIST_SEPARATOR.split(phrase)]
    parts = [p for p in parts if words(p)]
    return parts or [phrase]


def name_runs(question: str) -> list[list[str]]:
    """Runs of capitalised words past the question's first word: [["Judge", "Castellano"], ["Carden"]]."""
    runs: list[list[str]] = []
    previous_capital = False
    for i, token in enumerate(re.findall(r"[A-Za-zÀ-ÿ][\w’'\-]*", question)):
        capital = i > 0 and token[:1].isupper() and fold(token) != "i"
        if capital:
            if previous_capital:
                runs[-1].append(token)
            else:
                runs.append([token])
        previous_capital = capital
    return runs


# "What did Biden and Johnson discuss?": two people asked about together
_JOINT = re.compile(r"\b(?i:did|do|does|have|has|had|will|would|were|are)\s+"
                    r"(?P<a>(?:[A-Z][\w’'\-]*\s+)*?[A-Z][\w’'\-]*)\s+and\s+(?P<b>(?:[A-Z][\w’'\-]*\s+)*?[A-Z][\w’'\-]*)\s+(?P<rest>[a-z].*)$")


@dataclass(frozen=True)
class JointQuestion:
    """Two people asked about together, and what the question asks they did."""

    names: tuple[str, str]  # the last word of each name, folded ("biden", "johnson")
    predicate: frozenset[str]  # stems of the rest, without stop words ("review")
    talk: bool  # the rest asks what they said ("talk about", "discuss")


def joint_question(question: str) -> JointQuestion | None:
    """ "What did Zelenskyy and Scholz talk about?" -> names zelenskyy/scholz, talk."""
    match = _JOINT.search(question)
    if not match:
        return None
    a, b = (words(match.group(n))[-1] for n in ("a", "b"))
    rest = words(match.group("rest"))
    talk = bool(set(rest) & TALK_WORDS)
    predicate = frozenset(_stem(w) for w in rest if w not in STOPWORDS and w not in TALK_WORDS)
    return JointQuestion((a, b), predicate, talk)
