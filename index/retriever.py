"""Question -> ranked sentences: dense (FAISS) and BM25 candidates scored by the fitted ranker."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace

import numpy as np

from index import derived
from index.bm25 import BM25
from index.embedder import Embedder
from index.features import Pool, ranking_features
from index.lexicon import (
    BODY_ALIASES,
    NEGATIONS,
    QUESTION_WORDS,
    STOPWORDS,
    TALK_WORDS,
    TITLE_WORDS,
    acronym,
    acronyms_in,
)
from index.model import AnswerModel, load_model
from index.people import People
from index.postings import PerRow, Postings
from index.query import (
    JointQuestion,
    canonical_name,
    fold,
    goes_by,
    name_parts,
    spellings,
    tokenize,
    tokenize_with_pairs,
    without_possessive,
    word_match,
    words,
)
from index.question import Question
from index.reader import Reader, shared_reader
from index.store import LoadedIndex
from index.types import ANSWER_ROLES, Hit

CANDIDATES = 50


@dataclass
class Retrieval:
    """Ranked hits plus what the answer step needs to judge them."""

    hits: list[Hit]
    query_vector: np.ndarray
    timings_ms: dict[str, float] = field(default_factory=dict)
    spread: float = 0.0  # the best cosine minus the mean of the candidates' (how much it stands out)


# Sentences that lean on the one before: "They also reviewed ...", "He added ...", "Both ...".
_ANAPHOR = re.compile(r"^[“\"‘'(\[]?(?:(?P<plural>They|Their|Both|The two|The pair)|He|She|It|His|Her|Its)\b")
_NAME_WORD = re.compile(r"(?<![.!?“\"]\s)(?<!^)\b[A-Z][\w’'\-]+")
CONTEXT_WEIGHT = 0.5


def _names(sentence: str) -> list[str]:
    """Capitalised words past the sentence's first, likely names ("Tom Becker", "Halbrook")."""
    return [m.group(0) for m in _NAME_WORD.finditer(sentence) if fold(m.group(0)) not in STOPWORDS]


def _top(rows: np.ndarray, scores: np.ndarray, k: int) -> list[tuple[int, int]]:
    """(position, row) of the k highest scores, ties in the order given, without sorting every
    score (a common word is in most of an archive's sentences)."""
    at = np.arange(len(rows))
    if len(rows) > k:
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        at = at[scores >= kth]  # every score tied with the k-th stays: the stable sort picks among them
    order = at[np.argsort(-scores[at], kind="stable")[:k]]
    return [(int(i), int(rows[i])) for i in order]


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


# What ``Retriever._derive`` computes from the text: saved beside the generation by index.derived.
DERIVED = ("antecedent", "_speaker_words", "context_rows", "bm25", "carried_tokens",
           "carried_words", "speaker_rows", "token_rows", "source_rows", "source_words", "source_stems",
           "vocabulary", "stem_vocabulary", "speakers", "idf", "max_idf", "capitals", "acronyms")


class Retriever(People):
    """Hybrid search over one loaded index generation."""

    def __init__(self, index: LoadedIndex, embedder: Embedder, model: AnswerModel | None = None,
                 reader: Reader | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.model = model or load_model()
        self.reader = reader  # None: the shared one (index.reader), loaded on the first question it reads
        self.sentences = index.sentences
        self.vectors = index.vectors()  # a view: the vectors stay where FAISS holds them
        self._by_initial: dict[str, list[str]] | None = None  # built on first fuzzy look-up
        self._named: dict[str, frozenset[str]] = {}
        self._with_word: dict[str, frozenset[str]] = {}
        self._lead_words: dict[str, frozenset[str]] = {}
        self._spoken: set[int] | None = None
        self.token_sets = PerRow(self.sentences, lambda s: set(tokenize(s.text)))
        self.folded_words = PerRow(self.sentences, lambda s: set(words(s.text)))
        self.speaker_tokens = PerRow(self.sentences, lambda s: set(tokenize(" ".join(s.speakers))))
        key = derived.key_for(index.path, index.manifest)
        state = derived.load(index.path, key)
        if state is None or set(state) != set(DERIVED):
            state = self._derive()
            derived.save(index.path, key, state)
        self.__dict__.update(state)
        # A sentence opening with "They"/"He"/"Both" is read with the one before it: its
        # meaning in context is the blend of the two (used when that scores higher).
        if len(self.context_rows):
            before_rows = np.array([self.antecedent[r][0] for r in self.context_rows], dtype=np.int64)
            blend = self.vectors[self.context_rows] + CONTEXT_WEIGHT * self.vectors[before_rows]
            self.context_vectors = blend / np.linalg.norm(blend, axis=1, keepdims=True).clip(1e-9)
        else:
            self.context_vectors = np.zeros((0, self.vectors.shape[1]), np.float32)

    def _derive(self) -> dict[str, object]:
        """Everything retrieval derives from the generation's text (kept by ``index.derived``)."""
        index = self.index
        self.antecedent = self._antecedents()
        self._speaker_words = {
            w for s in self.sentences for name in s.speakers for w in name.split() if w[:1].isupper()
        }
        carried_names = {row: self._carried(row) for row in self.antecedent}
        docs = []
        for s in self.sentences:
            chunk = index.chunks[s.chunk_id]
            docs.append(tokenize_with_pairs(s.text)
                        + tokenize(" ".join([*s.speakers, *carried_names.get(s.row, []), chunk.section or ""])))
        self.context_rows = np.array(sorted(self.antecedent), dtype=np.int64)
        self.bm25 = BM25([d or ["_"] for d in docs])
        # "They" stands for the people named before (kept apart: they are not the sentence's words)
        self.carried_tokens = {row: set(tokenize(" ".join(names))) for row, names in carried_names.items()}
        self.carried_words = {row: set(words(" ".join(names))) for row, names in carried_names.items()}
        # per source: its words (for names) and its stems (for unseen words); the union of each
        self.source_words = {
            sid: set(words(entry.source.text)) | set(words(entry.source.title)) for sid, entry in index.sources.items()
        }
        self.source_stems: dict[str, set[str]] = {
            sid: set(tokenize(entry.source.title)) for sid, entry in index.sources.items()
        }
        self.speaker_rows: dict[str, list[int]] = {}
        self.source_rows: dict[str, list[int]] = {}
        token_rows: dict[str, list[int]] = {}
        for s in self.sentences:  # one pass; the word sets are not kept (token_sets makes them on demand)
            self.source_rows.setdefault(s.source_id, []).append(s.row)
            for speaker in dict.fromkeys(s.speakers):
                self.speaker_rows.setdefault(speaker, []).append(s.row)
            tokens_of = set(tokenize(s.text))
            for token in tokens_of:
                token_rows.setdefault(token, []).append(s.row)
            self.source_stems[s.source_id] |= tokens_of
        self.token_rows = Postings(token_rows)
        self.vocabulary: set[str] = set().union(*self.source_words.values())
        self.stem_vocabulary: set[str] = set().union(*self.source_stems.values())
        self.speakers = sorted({name for s in self.sentences for name in s.speakers})
        # how rare each stem is (for idf-weighted coverage and the rarest missing word)
        document_frequency = {token: len(rows) for token, rows in token_rows.items()}
        n = max(1, len(self.sentences))
        self.idf = {t: float(np.log(1 + n / df)) for t, df in document_frequency.items()}
        self.max_idf = float(np.log(1 + n))
        self.capitals = {  # words written in capitals ("EU", "NATO"), folded: what an acronym looks like
            w.lower() for entry in index.sources.values() for w in re.findall(r"\b[A-Z]{2,}\b", entry.source.text)
        }
        self.acronyms: dict[str, set[str]] = {}  # "nasa" -> the sources that spell it out
        for sid, entry in index.sources.items():
            for short in acronyms_in(entry.source.text):
                self.acronyms.setdefault(short, set()).add(sid)
        return {name: getattr(self, name) for name in DERIVED}

    def _antecedents(self) -> dict[int, list[int]]:
        """Row of each anaphoric body sentence -> rows of the body sentences before it, nearest
        first: one for "he"/"she"/"it", two for "they"/"both" (groups are often named earlier)."""
        found: dict[int, list[int]] = {}
        previous: dict[str, list[int]] = {}
        for s in self.sentences:
            if s.role not in ANSWER_ROLES:
                continue
            before = previous.setdefault(s.source_id, [])
            anaphor = _ANAPHOR.match(s.text)
            if before and anaphor:
                found[s.row] = before[::-1][: 2 if anaphor.group("plural") else 1]
            before.append(s.row)
            del before[:-2]
        return found

    def _carried(self, row: int) -> list[str]:
        """Names an anaphoric sentence refers back to."""
        carried = []
        for before in self.antecedent.get(row, []):
            text = self.sentences[before].text
            first = re.match(r"[“\"‘']?([A-Z][\w’'\-]+)", text)
            if first and first.group(1) in self._speaker_words:  # "Okafor and Marsh met ..."
                carried.append(first.group(1))
            carried += [*_names(text), *self.sentences[before].speakers]
        return carried

    def tokens_in_context(self, row: int) -> set[str]:
        """The sentence's tokens plus the names an opening "they"/"he" refers back to."""
        return self.token_sets[row] | self.carried_tokens.get(row, set())

    def dense_scores(self, qv: np.ndarray, rows: np.ndarray | None = None) -> dict[int, float]:
        """Cosine of each sentence in context, where context reads better than the sentence alone."""
        if not len(self.context_rows):
            return {}
        scores = self.context_vectors @ qv
        own = self.vectors[self.context_rows] @ qv
        better = scores > own
        if rows is not None:
            better &= np.isin(self.context_rows, rows)
        return {int(r): float(v) for r, v in zip(self.context_rows[better], scores[better], strict=True)}

    def embed_query(self, question: str) -> np.ndarray:
        """The question's unit vector."""
        return self.embedder.embed_query([question])[0]

    def search(
        self,
        question: Question,
        k: int = 10,
        *,
        rows: list[int] | None = None,
        query_vector: np.ndarray | None = None,
        speakers: frozenset[str] = frozenset(),
        model: AnswerModel | None = None,
    ) -> Retrieval:
        """Top-k answerable sentences for the question, optionally only among ``rows``: dense and
        BM25 candidates, each scored by the fitted ranker over its named features."""
        model = model or self.model
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        qv = self.embed_query(question.text) if query_vector is None else query_vector
        t1 = time.perf_counter()
        timings["embed"] = (t1 - t0) * 1000
        if not self.sentences:
            return Retrieval([], qv, timings)
        pool = None if rows is None else np.array(rows, dtype=np.int64)
        in_context = self.dense_scores(qv, pool)
        if pool is None:
            dense_scored = dict(self.index.search(qv, CANDIDATES))
        else:
            pool_scores = self.vectors[pool] @ qv
            dense_scored = {row: float(pool_scores[i]) for i, row in _top(pool, pool_scores, CANDIDATES)}
        dense_scored.update(in_context)
        dense_top = sorted(dense_scored, key=lambda r: -dense_scored[r])[:CANDIDATES]
        tokens = list(question.tokens)
        lexical = self.bm25.get_scores(tokens) if tokens else np.zeros(len(self.sentences))
        # only sentences holding a word of the question score above 0: sort those, not every row
        held = np.flatnonzero(lexical > 0) if pool is None else pool[lexical[pool] > 0]
        lex_top = [row for _, row in _top(held, lexical[held], CANDIDATES)]
        t2 = time.perf_counter()
        timings["search"] = (t2 - t1) * 1000
        candidates = list(dict.fromkeys(dense_top + lex_top))
        dense = {row: in_context.get(row, float(self.vectors[row] @ qv)) for row in candidates}
        facts = Pool(question, self, dense, {row: float(lexical[row]) for row in candidates}, set(in_context),
                     speakers)
        hits = []
        for row in candidates:
            features = ranking_features(facts, row)
            hits.append(Hit(self.sentences[row], model.ranker.score(features), dense[row], float(lexical[row]),
                            features))
        hits = self._collapse(hits)
        hits.sort(key=lambda h: -h.score)
        spread = max(dense.values()) - float(np.mean(list(dense.values()))) if dense else 0.0
        t3 = time.perf_counter()
        timings["fuse"] = (t3 - t2) * 1000
        hits = self.read(question, hits, model)
        if model.reader_candidates and question.english:
            timings["read"] = (time.perf_counter() - t3) * 1000
        return Retrieval(hits[:k], qv, timings, spread)

    def previous_text(self, row: int) -> str:
        """The sentence before this one in its source ("" for the first): the reader's context."""
        if row <= 0:
            return ""
        before = self.sentences[row - 1]
        return before.text if before.source_id == self.sentences[row].source_id else ""

    def read(self, question: Question, hits: list[Hit], model: AnswerModel) -> list[Hit]:
        """The reader (index.reader) reads the ranker's top candidates with the question; the
        fitted reranker scores them again with its log-odds as the feature ``reader``. Those come
        first; the rest keep their order below them, scored as if the reader rated them as low as
        the lowest it read. Questions not in English are not read (the reader knows English)."""
        n = model.reader_candidates
        if not n or not hits or not question.english:
            return hits
        top = hits[:n]
        reader = self.reader or shared_reader()
        logits = reader.logits(question.text, [(self.previous_text(h.sentence.row), h.sentence.text) for h in top])
        read = []
        for hit, logit in zip(top, logits, strict=True):
            features = {**hit.features, "reader": float(np.clip(logit, -12.0, 12.0))}
            read.append(replace(hit, score=model.reranker.score(features), features=features))
        read.sort(key=lambda h: -h.score)
        floor = min(float(np.clip(logits.min(), -12.0, 12.0)), 12.0)
        lowest = read[-1].score
        rest = [replace(h, score=min(lowest - 1e-3, model.reranker.score({**h.features, "reader": floor})))
                for h in hits[n:]]
        return read + rest

    def idf_coverage(self, content: set[str], row: int) -> float:
        """Share of the question's content words held in context, each weighted by its rarity."""
        if not content:
            return 0.0
        have = self._held(row)
        weight = {w: self.idf.get(w, self.max_idf) for w in content}
        held = sum(v for w, v in weight.items() if w in have or goes_by(w) & have)
        return held / sum(weight.values())

    def missing_rarity(self, content: set[str], row: int) -> float:
        """How rare (idf, 0-1) the rarest of the question's words is that the sentence lacks in
        context: a swapped name or qualifier is rare and missing."""
        have = self._held(row)
        missing = [self.idf.get(w, self.max_idf) for w in content if w not in have and not goes_by(w) & have]
        return max(missing, default=0.0) / self.max_idf

    def negated(self, row: int) -> bool:
        """The sentence says not/never/no one."""
        return bool(self.folded_words[row] & NEGATIONS)

    def words_in_context(self, row: int) -> set[str]:
        """The sentence's folded words plus its speakers' and the names an opening "They" stands for."""
        carried = self.carried_words.get(row, set())
        return self.folded_words[row] | set(words(" ".join(self.sentences[row].speakers))) | carried

    def entities_in_context(self, row: int) -> tuple[tuple[str, str], ...]:
        """The sentence's entities, plus the people of the sentences an opening "He"/"They" refers to."""
        own = self.sentences[row].entities
        carried = tuple(
            e for before in self.antecedent.get(row, []) for e in self.sentences[before].entities if e[0] == "PERSON"
        )
        return own + carried

    def _held(self, row: int) -> set[str]:
        """The sentence's tokens in context plus its speakers' (what it "holds" of a question)."""
        return self.tokens_in_context(row) | self.speaker_tokens[row]

    def coverage(self, content: set[str], row: int) -> float:
        """Share of the question's content words (``content_words``) the sentence holds, read in
        context: with its speakers and the names an opening "They" stands for; "Crimean" holds
        "Crimea"."""
        if not content:
            return 0.0
        have = self._held(row)
        covered = [
            w for w in content
            if w in have or goes_by(w) & have or (len(w) >= 5 and any(h.startswith(w[:5]) for h in have))
        ]
        return len(covered) / len(content)

    def joint_score(self, joint: JointQuestion, row: int) -> float:
        """0 to 1 for "What did A and B review?": the sentence has both (in context) and what
        they did; 1 when it also joins them ("A and B ...", "Both ...", an opening "They"),
        0.5 when it has both apart ("talks with A, B said")."""
        have = self._held(row)
        names = [(tokenize(n) or [n])[-1] for n in joint.names]
        if not all(n in have or any(word_match(n, h) for h in have) for n in names):
            return 0.0
        text = self.sentences[row].text
        folded = words(text)
        parts = []
        if joint.predicate:
            parts.append(self.coverage(set(joint.predicate), row))
        if joint.talk:
            parts.append(1.0 if set(folded) & TALK_WORDS or self.sentences[row].speakers else 0.0)
        done = sum(parts) / len(parts) if parts else 1.0
        a, b = joint.names
        anaphor = _ANAPHOR.match(text) if row in self.antecedent else None
        together = (
            re.search(rf"\b(?:{a}|{b})\b\W+(?:\w+\W+){{0,3}}?and\W+(?:\w+\W+){{0,3}}?(?:{a}|{b})\b", fold(text))
            or (anaphor is not None and anaphor.group("plural"))
            or "both" in folded
        )
        return done * (1.0 if together else 0.5)

    def _collapse(self, hits: list[Hit]) -> list[Hit]:
        """Drop captions that repeat body text (the ``furniture`` feature weighs the rest)."""
        body = [h for h in hits if h.sentence.role in ANSWER_ROLES]
        kept: list[Hit] = []
        for hit in hits:
            if hit.sentence.role in ANSWER_ROLES:
                kept.append(hit)
                continue
            mine = self.token_sets[hit.sentence.row]
            if any(_jaccard(mine, self.token_sets[b.sentence.row]) >= 0.4 for b in body):
                continue
            kept.append(hit)
        return kept

    def mentioned(self, name: str) -> bool:
        """True if every word of the name (spelling variants allowed) occurs in some source, or the
        name is an acronym a source spells out ("EU" for "European Union"), or an alias of one
        ("America" for "US"); a possessive ("Russia's", any apostrophe) is not part of the name."""
        name = without_possessive(name)
        parts = words(name)
        if len(parts) == 1 and parts[0] in self.acronyms:
            return True
        short = acronym(name.split()) if len(parts) > 1 else None
        canonical = canonical_name(name)
        if (short and short in self.capitals) or all(w in self.vocabulary for w in canonical.split()):
            return True  # "European Union" where the sources write "EU"
        if canonical and any(form and max(map(len, form)) > 1 and all(w in self.vocabulary for w in form)
                             for form in spellings(canonical)):
            return True  # "the EU" where the sources write "European Union"
        return bool(parts) and all(w in self.vocabulary or (len(w) > 1 and self._variant_known(w)) for w in parts)

    def absent(self, phrase: str) -> list[str]:
        """The names of a phrase that no source holds in any form: [] for "the US and the EU" when
        both are there (a list is read name by name), ["Mars"] for "the US and Mars"."""
        if self.mentioned(phrase):
            return []
        missing = []
        for part in name_parts(phrase):
            if self.mentioned(part):
                continue
            # "American officials", "Judge Castellano": its capitalised words are the name (a
            # surname alone is a form of it), the rest describes
            capitalised = [w for w in part.split() if w[:1].isupper() and fold(w) not in TITLE_WORDS | STOPWORDS]
            if any(self.mentioned(w) or self.nation_known(w) for w in capitalised):
                continue
            missing.append(part)
        return missing

    def nation_known(self, word: str) -> bool:
        """A word of nationality ("Kenyan", "American") whose country some source names, by the
        country's start ("Keny...") or an alias of it ("America" for "US")."""
        folded = fold(word)
        start = folded[: max(4, len(folded) - 4)]
        if any(v.startswith(start) for v in self._by_first(start[:1])):
            return True
        return any(long.startswith(start) and all(w in self.vocabulary for w in short.split())
                   for long, short in BODY_ALIASES.items())

    def _variant_known(self, word: str) -> bool:
        """A spelling variant of the word (Zelenskiy/Zelenskyy) is in the sources."""
        return bool(self._variants(word))

    def _by_first(self, letter: str) -> list[str]:
        """Words of the sources that start with this letter."""
        if self._by_initial is None:
            self._by_initial = {}
            for v in self.vocabulary:
                self._by_initial.setdefault(v[:1], []).append(v)
        return self._by_initial.get(letter, [])

    def _variants(self, word: str) -> list[str]:
        """Words of the sources that are spelling variants of this one."""
        return [v for v in self._by_first(word[:1]) if abs(len(v) - len(word)) <= 3 and word_match(word, v)]

    def _sources_with(self, word: str) -> frozenset[str]:
        """The sources containing the word, an alias of it (us/united states), an acronym they
        spell out or, failing those, a spelling variant (cached per generation)."""
        if word not in self._with_word:
            having = {
                sid for sid, vocab in self.source_words.items()
                if any(all(w in vocab for w in form) for form in spellings(word))
            } | self.acronyms.get(word, set())
            if not having and len(word) >= 5:
                variants = self._variants(word)
                having = {sid for sid, vocab in self.source_words.items() if any(v in vocab for v in variants)}
            if len(self._with_word) > 20000:
                self._with_word.clear()  # questions bring new words forever; keep the cache bounded
            self._with_word[word] = frozenset(having)
        return self._with_word[word]

    def _name_known(self, forms: tuple[tuple[str, ...], ...]) -> bool:
        return any(all(self.mentioned(w) for w in form) for form in forms)

    def unknown_names(self, question: Question) -> list[str]:
        """Names in the question (past its first word) that no source contains in any of their
        forms (aliases, long forms, acronyms, spelling variants), and years no source mentions."""
        unknown = []
        for name in question.names:
            run = name.text.split()
            if any(self.mentioned(t) for t in run) or self._name_known(name.forms):
                continue
            # A lone adjective of nationality ("American") whose country the sources name.
            if name.nationality and len(run) == 1 and self.nation_known(run[0]):
                continue
            unknown.append(name.text)
        # a year no source mentions ("in 1974"): measured on every labelled set, no answerable
        # question has one, while 12 unanswerable ones do
        return unknown + [year for year in question.years if year not in self.vocabulary]

    def sources_naming(self, question: Question) -> set[str] | None:
        """The sources that contain every name and year in the question ("the weather in Carden",
        "deaths in 2019": only an article that mentions Carden, or 2019, can answer), or None when
        that does not narrow things."""
        allowed: set[str] | None = None
        runs = [(name.text.split(), name.nationality) for name in question.names]
        for run, nationality in runs + [([year], False) for year in question.years]:
            parts = [w for t in run for w in words(without_possessive(t)) if w not in TITLE_WORDS and len(w) > 1]
            if not parts or (len(run) == 1 and nationality):
                continue
            having = set(self.source_words)
            for w in parts:
                having &= self._sources_with(w)
            if not having and len(parts) > 1:
                having = set(self._sources_with("".join(w[0] for w in parts)))  # spelled out as an acronym
            if having:  # a name no source holds is for unknown_names() to report
                allowed = having if allowed is None else allowed & having
        if not allowed or len(allowed) == len(self.source_words):
            return None
        return allowed

    def rows_of(self, sources: set[str] | None) -> list[int] | None:
        """Rows of sentences from these sources (None: all)."""
        return None if sources is None else sorted(row for sid in sources for row in self.source_rows.get(sid, ()))

    def unseen_words(self, question: Question, sources: set[str] | None = None) -> list[str]:
        """Words of the question that appear in no source, or in none of ``sources`` (after
        stemming and spelling slack)."""
        stems = self.stem_vocabulary if sources is None else set().union(*(self.source_stems[s] for s in sources))
        unseen = []
        for word in sorted(question.asked):  # "how big a fine": the fine
            if word in stems or word in QUESTION_WORDS or len(word) < 3:
                continue
            if sources is None and self.mentioned(word):
                continue
            if sources is not None and self._sources_with(word) & sources:
                continue
            unseen.append(word)
        return unseen

    def unknown_kind(self, question: Question, unseen: list[str]) -> bool:
        """A word no source holds qualifies a noun they do hold ("flu" in "the flu vaccine")."""
        return any(m in unseen and h not in unseen and h in self.stem_vocabulary for m, h in question.qualified)
