"""Is a chat message a question? Question marks and question words of the languages e5 serves best.

Data first, then the one test that uses it (the answer channel of the Discord bot). A message is a
question when it ends with a question mark (Latin, full-width, Arabic) or starts with a question
word or phrase of one of these languages. Words that are also common words of another listed
language at the start of a statement are left out on purpose (Italian "come" and "dove" are
English verbs; Arabic "من" and "ما" also mean "from" and "not"): a question written with them
still ends with a question mark almost always.
"""

from __future__ import annotations

import re

QUESTION_MARKS = ("?", "？", "؟", "⸮")

QUESTION_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("what", "what's", "whats", "who", "who's", "whom", "whose", "when", "where", "where's", "why", "how",
           "how's", "which", "is", "are", "was", "were", "did", "does", "can", "could", "should", "would",
           "will", "has", "isn't", "aren't", "didn't", "doesn't"),
    "de": ("was", "wer", "wen", "wem", "wessen", "wann", "wo", "wohin", "woher", "warum", "wieso", "weshalb",
           "wie", "welche", "welcher", "welches", "welchen", "hat", "ist", "sind", "gibt"),
    "fr": ("que", "qu'est-ce", "quoi", "qui", "quand", "où", "pourquoi", "comment", "quel", "quelle", "quels",
           "quelles", "combien", "est-ce"),
    "es": ("qué", "quién", "quiénes", "cuándo", "dónde", "por qué", "cómo", "cuál", "cuáles", "cuánto",
           "cuánta", "cuántos", "cuántas"),
    "it": ("che cosa", "cosa", "chi", "quando", "perché", "quale", "quali", "quanto", "quanti", "quante"),
    "pt": ("o que", "quem", "quando", "onde", "por que", "porque é", "como", "qual", "quais", "quanto", "quantos"),
    "nl": ("wat", "wie", "wanneer", "waar", "waarom", "hoe", "welke", "welk", "hoeveel"),
    "pl": ("co", "kto", "kiedy", "gdzie", "dlaczego", "jak", "który", "która", "które", "ile", "czy"),
    "ru": ("что", "кто", "когда", "где", "почему", "зачем", "как", "какой", "какая", "какие", "сколько", "ли"),
    "uk": ("що", "хто", "коли", "де", "чому", "навіщо", "як", "який", "яка", "які", "скільки", "чи"),
    "tr": ("ne", "kim", "ne zaman", "nerede", "neden", "niçin", "nasıl", "hangi", "kaç"),
    "ar": ("ماذا", "متى", "أين", "لماذا", "كيف", "هل", "كم"),
    "hi": ("क्या", "कौन", "कब", "कहाँ", "क्यों", "कैसे", "कितना", "कितने"),
}
# Scripts written without spaces: a question starts with one of these, or ends with a particle.
QUESTION_PREFIXES = ("什么", "什麼", "为什么", "為什麼", "谁", "誰", "哪", "怎么", "怎麼", "如何", "多少",
                     "なぜ", "何", "どこ", "いつ", "どう", "どの", "どれ", "いくら", "무엇", "누가", "언제",
                     "어디", "왜", "어떻게", "어느", "몇")
QUESTION_ENDINGS = ("吗", "嗎", "ですか", "ますか", "ましたか", "でしたか", "까")

_WORDS = frozenset(w for words in QUESTION_WORDS.values() for w in words)
_LONGEST = max(len(w.split()) for w in _WORDS)
_EDGE = re.compile(r"^[\s¿¡\"'“”‘’«»(\[*_>~-]+|[\s\"'“”‘’«»)\]*_.!…~]+$")


def is_question(text: str) -> bool:
    """True if ``text`` ends with a question mark or starts with a question word (see the lists)."""
    text = _EDGE.sub("", text)
    if not text:
        return False
    if text.endswith(QUESTION_MARKS) or text.startswith(QUESTION_PREFIXES) or text.endswith(QUESTION_ENDINGS):
        return True
    words = text.casefold().replace("’", "'").split()
    for n in range(min(_LONGEST, len(words)), 0, -1):
        if " ".join(words[:n]).strip(",:;") in _WORDS:
            return True
    return False
