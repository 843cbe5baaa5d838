"""What retrieval derives from one generation's text, frozen: BM25, postings, vocabularies, idf,
the sentences an opening "They"/"He" leans on, and the per-sentence word sets read from it.

``RetrievalState.of(index)`` loads it from the cache beside the generation (``index.derived``,
keyed by this module's code and the text rules it uses) or derives it once. Nothing here reads
a question: candidates, look-ups and features read this state.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from index import derived
from index.bm25 import BM25
from index.lexicon import NEGATIONS, STOPWORDS, acronyms_in
from index.postings import PerRow, Postings
from index.query import fold, tokenize, tokenize_with_pairs, words
from index.store import LoadedIndex
from index.types import ANSWER_ROLES, SentenceRecord

# Sentences that lean on the one before: "They also reviewed ...", "He added ...", "Both ...".
ANAPHOR = re.compile(r"^[“\"‘'(\[]?(?:(?P<plural>They|Their|Both|The two|The pair)|He|She|It|His|Her|Its)\b")
_NAME_WORD = re.compile(r"(?<![.!?“\"]\s)(?<!^)\b[A-Z][\w’'\-]+")
# How much of the sentence before an opening "They" a sentence's meaning in context takes: an
# even blend under-weighted the sentence itself on the project questions.
CONTEXT_WEIGHT = 0.5


@dataclass(frozen=True)
class Derived:
    """The part of the state kept beside the generation (``index.derived``): plain data."""

    antecedent: dict[int, list[int]]  # row of an anaphoric sentence -> rows before it, nearest first
    context_rows: np.ndarray  # the rows of antecedent, sorted
    bm25: BM25
    carried_tokens: dict[int, set[str]]  # stems of the names an opening "They" stands for
    carried_words: dict[int, set[str]]  # ... their folded words
    speaker_rows: dict[str, list[int]]  # speaker -> rows they are reported saying, in order
    token_rows: Postings  # stem -> rows holding it, in order
    source_rows: dict[str, list[int]]  # source id -> its rows, in order
    source_words: dict[str, set[str]]  # source id -> its folded words (text and title)
    source_stems: dict[str, set[str]]  # source id -> its stems
    vocabulary: set[str]
    stem_vocabulary: set[str]
    speakers: list[str]  # every speaker, sorted
    idf: dict[str, float]
    max_idf: float
    capitals: set[str]  # words written in capitals ("EU", "NATO"), folded
    acronyms: dict[str, set[str]]  # "nasa" -> the sources that spell it out


def _names(sentence: str) -> list[str]:
    """Capitalised words past the sentence's first, likely names ("Tom Becker", "Halbrook")."""
    return [m.group(0) for m in _NAME_WORD.finditer(sentence) if fold(m.group(0)) not in STOPWORDS]


def _antecedents(sentences: Sequence[SentenceRecord]) -> dict[int, list[int]]:
    """Row of each anaphoric body sentence -> rows of the body sentences before it, nearest
    first: one for "he"/"she"/"it", two for "they"/"both" (groups are often named earlier)."""
    found: dict[int, list[int]] = {}
    previous: dict[str, list[int]] = {}
    for s in sentences:
        if s.role not in ANSWER_ROLES:
            continue
        before = previous.setdefault(s.source_id, [])
        anaphor = ANAPHOR.match(s.text)
        if before and anaphor:
            found[s.row] = before[::-1][: 2 if anaphor.group("plural") else 1]
        before.append(s.row)
        del before[:-2]
    return found


def _carried(sentences: Sequence[SentenceRecord], antecedent: dict[int, list[int]], speaker_words: set[str],
             row: int) -> list[str]:
    """Names an anaphoric sentence refers back to."""
    carried = []
    for before in antecedent.get(row, []):
        text = sentences[before].text
        first = re.match(r"[“\"‘']?([A-Z][\w’'\-]+)", text)
        if first and first.group(1) in speaker_words:  # "Okafor and Marsh met ..."
            carried.append(first.group(1))
        carried += [*_names(text), *sentences[before].speakers]
    return carried


def derive(index: LoadedIndex) -> Derived:
    """Everything retrieval derives from the generation's text."""
    sentences = index.sentences
    antecedent = _antecedents(sentences)
    speaker_words = {w for s in sentences for name in s.speakers for w in name.split() if w[:1].isupper()}
    carried_names = {row: _carried(sentences, antecedent, speaker_words, row) for row in antecedent}
    docs = []
    for s in sentences:
        chunk = index.chunks[s.chunk_id]
        docs.append(tokenize_with_pairs(s.text)
                    + tokenize(" ".join([*s.speakers, *carried_names.get(s.row, []), chunk.section or ""])))
    # per source: its words (for names) and its stems (for unseen words); the union of each
    source_words = {
        sid: set(words(entry.source.text)) | set(words(entry.source.title)) for sid, entry in index.sources.items()
    }
    source_stems: dict[str, set[str]] = {sid: set(tokenize(entry.source.title)) for sid, entry in index.sources.items()}
    speaker_rows: dict[str, list[int]] = {}
    source_rows: dict[str, list[int]] = {}
    token_rows: dict[str, list[int]] = {}
    for s in sentences:  # one pass; the word sets are not kept (token_sets makes them on demand)
        source_rows.setdefault(s.source_id, []).append(s.row)
        for speaker in dict.fromkeys(s.speakers):
            speaker_rows.setdefault(speaker, []).append(s.row)
        tokens_of = set(tokenize(s.text))
        for token in tokens_of:
            token_rows.setdefault(token, []).append(s.row)
        source_stems[s.source_id] |= tokens_of
    # how rare each stem is (for idf-weighted coverage and the rarest missing word)
    n = max(1, len(sentences))
    acronyms: dict[str, set[str]] = {}
    for sid, entry in index.sources.items():
        for short in acronyms_in(entry.source.text):
            acronyms.setdefault(short, set()).add(sid)
    return Derived(
        antecedent=antecedent,
        context_rows=np.array(sorted(antecedent), dtype=np.int64),
        bm25=BM25([d or ["_"] for d in docs]),
        # "They" stands for the people named before (kept apart: they are not the sentence's words)
        carried_tokens={row: set(tokenize(" ".join(names))) for row, names in carried_names.items()},
        carried_words={row: set(words(" ".join(names))) for row, names in carried_names.items()},
        speaker_rows=speaker_rows,
        token_rows=Postings(token_rows),
        source_rows=source_rows,
        source_words=source_words,
        source_stems=source_stems,
        vocabulary=set().union(*source_words.values()),
        stem_vocabulary=set().union(*source_stems.values()),
        speakers=sorted({name for s in sentences for name in s.speakers}),
        idf={t: float(np.log(1 + n / len(rows))) for t, rows in token_rows.items()},
        max_idf=float(np.log(1 + n)),
        capitals={w.lower() for entry in index.sources.values()
                  for w in re.findall(r"\b[A-Z]{2,}\b", entry.source.text)},
        acronyms=acronyms,
    )


DERIVED = tuple(f.name for f in fields(Derived))


def load_derived(index: LoadedIndex) -> Derived:
    """The generation's derived state from the cache beside it, else derived now (and kept)."""
    key = derived.key_for(index.path, index.manifest)
    saved: dict[str, Any] | None = derived.load(index.path, key)
    if saved is None or set(saved) != set(DERIVED):
        state = derive(index)
        derived.save(index.path, key, {name: getattr(state, name) for name in DERIVED})
        return state
    return Derived(**saved)


@dataclass(frozen=True)
class RetrievalState:
    """One generation as retrieval reads it: its sentences and vectors, the derived state, and
    word sets per sentence (made on first use). Built once per generation by ``of``."""

    index: LoadedIndex
    sentences: Sequence[SentenceRecord]
    vectors: np.ndarray  # a view: the vectors stay where FAISS holds them
    derived: Derived
    token_sets: PerRow[set[str]]
    folded_words: PerRow[set[str]]
    speaker_tokens: PerRow[set[str]]
    context_vectors: np.ndarray  # unit vectors of derived.context_rows read with the sentence before

    @classmethod
    def of(cls, index: LoadedIndex) -> RetrievalState:
        sentences = index.sentences
        vectors = index.vectors()
        d = load_derived(index)
        # A sentence opening with "They"/"He"/"Both" is read with the one before it: its
        # meaning in context is the blend of the two (used when that scores higher).
        if len(d.context_rows):
            before_rows = np.array([d.antecedent[r][0] for r in d.context_rows], dtype=np.int64)
            blend = vectors[d.context_rows] + CONTEXT_WEIGHT * vectors[before_rows]
            context_vectors = blend / np.linalg.norm(blend, axis=1, keepdims=True).clip(1e-9)
        else:
            context_vectors = np.zeros((0, vectors.shape[1]), np.float32)
        return cls(index, sentences, vectors, d,
                   PerRow(sentences, lambda s: set(tokenize(s.text))),
                   PerRow(sentences, lambda s: set(words(s.text))),
                   PerRow(sentences, lambda s: set(tokenize(" ".join(s.speakers)))),
                   context_vectors)

    def tokens_in_context(self, row: int) -> set[str]:
        """The sentence's tokens plus the names an opening "they"/"he" refers back to."""
        return self.token_sets[row] | self.derived.carried_tokens.get(row, set())

    def held(self, row: int) -> set[str]:
        """The sentence's tokens in context plus its speakers' (what it "holds" of a question)."""
        return self.tokens_in_context(row) | self.speaker_tokens[row]

    def words_in_context(self, row: int) -> set[str]:
        """The sentence's folded words plus its speakers' and the names an opening "They" stands for."""
        carried = self.derived.carried_words.get(row, set())
        return self.folded_words[row] | set(words(" ".join(self.sentences[row].speakers))) | carried

    def entities_in_context(self, row: int) -> tuple[tuple[str, str], ...]:
        """The sentence's entities, plus the people of the sentences an opening "He"/"They" refers to."""
        own = self.sentences[row].entities
        carried = tuple(e for before in self.derived.antecedent.get(row, [])
                        for e in self.sentences[before].entities if e[0] == "PERSON")
        return own + carried

    def negated(self, row: int) -> bool:
        """The sentence says not/never/no one."""
        return bool(self.folded_words[row] & NEGATIONS)

    def previous_text(self, row: int) -> str:
        """The sentence before this one in its source ("" for the first): the reader's context."""
        if row <= 0:
            return ""
        before = self.sentences[row - 1]
        return before.text if before.source_id == self.sentences[row].source_id else ""

    def rows_of(self, sources: set[str] | None) -> list[int] | None:
        """Rows of sentences from these sources (None: all)."""
        return None if sources is None else sorted(
            row for sid in sources for row in self.derived.source_rows.get(sid, ()))
