"""The one text normaliser, used at index time and at question time alike: folding, words,
BM25 tokens (stems) and word pairs, and when two words are the same word."""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher
from functools import lru_cache

import snowballstemmer

from index.lexicon import STOPWORDS, WORD_FAMILIES

_STEMMER = snowballstemmer.stemmer("english")

# Curly and other apostrophes read as the plain one, so "Russia’s" and "Russia's" fold alike
# (to "russia", "s") instead of the curly one vanishing ("russias").
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "′": "'", "`": "'", "´": "'"})


def fold(text: str) -> str:
    """Lower-case ASCII form used for comparing words (apostrophes of every kind as "'")."""
    value = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES)).encode("ascii", "ignore").decode()
    return value.lower()


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
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
    return [stem(w) for w in words(text) if w not in STOPWORDS]


def tokenize_with_pairs(text: str) -> list[str]:
    """Tokens plus adjacent pairs ("foreign_minist"), so phrases and names outrank scattered words."""
    tokens = tokenize(text)
    return tokens + [f"{a}_{b}" for a, b in zip(tokens, tokens[1:], strict=False)]


def word_match(a: str, b: str) -> bool:
    """Same word, or a spelling variant of a name (Zelenskyy/Zelenskiy, Sergey/Sergei)."""
    if a == b:
        return True
    if len(a) >= 5 and len(b) >= 5 and a[:5] == b[:5] and abs(len(a) - len(b)) <= 2:
        return True  # Zelenskyy/Zelenskiy, Sergey/Sergei
    return len(a) >= 4 and len(b) >= 4 and SequenceMatcher(None, a, b).ratio() >= 0.85
