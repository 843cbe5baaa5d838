"""Question -> Answer made only of the sources' own sentences, each cited and verified."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from index.features import Unseen, answer_features
from index.lexicon import PEOPLE_NOUNS, TITLE_WORDS
from index.links import public_url, text_fragment_link
from index.model import AnswerModel, sigmoid
from index.query import SpeakerQuestion, generic_topic, name_parts, tokenize, words
from index.question import Question, analyse
from index.retriever import Retrieval, Retriever
from index.speakers import load_parser
from index.store import text_digest
from index.types import ANSWER_ROLES, Hit, SentenceRecord

NOT_FOUND = "I couldn't find that in the indexed sources."


@dataclass(frozen=True)
class AnswerSettings:
    """The ``[answer]`` table of the config file."""

    top_k: int = 10
    max_sentences: int = 3
    max_chars: int = 320
    min_similarity: float = 0.80  # e5 cosine below which a speaker's words are off the asked topic


@dataclass(frozen=True)
class Citation:
    """One cited passage; ``text`` is exactly ``source_text[start:end]``."""

    n: int
    source_id: str
    title: str
    url: str | None
    section: str | None
    paragraph: int
    start: int
    end: int
    text: str
    score: float
    # the cited sentences: start, end, text, entities ([label, text]) and, for one opening "It"/"They",
    # the sentence before it as "context" (start, end, text; shown, not cited)
    sentences: list[dict[str, Any]] = field(default_factory=list)
    link: str | None = None
    speakers: list[str] = field(default_factory=list)
    page: int | None = None  # for a PDF: the page the (first) cited sentence is on


@dataclass(frozen=True)
class Answer:
    """What a user reads (``answer``, with [n] markers) and what backs it."""

    question: str
    answer: str
    found: bool
    citations: list[Citation]
    timings_ms: dict[str, float]
    closest: list[Citation] = field(default_factory=list)  # shown when not found, marked as such
    declined_by: str | None = None  # why it was not answered: unknown_name, low_confidence, ...
    confidence: float | None = None  # the fitted probability that the best passage answers
    explanation: dict[str, Any] | None = None  # with explain=True: every feature and weight
    understood_as: str | None = None  # a follow-up read with the questions before it, when that changed it
    answer_types: list[str] = field(default_factory=list)  # entity labels the question asks for ("GPE": where)
    reader: float | None = None  # the reader's probability that the best passage answers (None: not read)

    def to_json(self) -> dict[str, Any]:
        """The documented JSON schema (``explanation`` only when asked for)."""
        data = asdict(self)
        data["timings_ms"] = {k: round(v, 2) for k, v in self.timings_ms.items()}
        for name in ("confidence", "reader"):
            if data[name] is not None:
                data[name] = round(data[name], 4)
        if self.explanation is None:
            del data["explanation"]
        return data


def _names_a_speaker(who: str) -> bool:
    """True if the phrase could name someone who speaks: a capitalised name, a title ("the
    mayor") or people ("scientists"), not a thing ("the way integers are commonly ...")."""
    folded = words(who)
    return any(w[:1].isupper() for w in who.split()) or bool(set(folded) & TITLE_WORDS) or (
        bool(folded) and folded[-1] in PEOPLE_NOUNS)


class Answerer:
    """Turns questions into verified, cited answers over one Retriever."""

    def __init__(self, retriever: Retriever, settings: AnswerSettings, model: AnswerModel | None = None) -> None:
        self.retriever = retriever
        self.settings = settings
        self.model = model or retriever.model

    # -- deciding --------------------------------------------------------------------------
    def ask(self, question: str, top_k: int | None = None, explain: bool = False) -> Answer:
        """Answer one question; never raises for a well-formed question."""
        started = time.perf_counter()
        k = top_k or self.settings.top_k
        timings: dict[str, float] = {}
        q = analyse(question, load_parser())
        timings["analyse"] = (time.perf_counter() - started) * 1000
        trace: dict[str, Any] = {}
        named_role = self.retriever.rows_naming_role(q.role) if q.role else []
        if q.role and not named_role:
            named_role = self.retriever.rows_naming_title(q.role)
        if q.speaker is not None:
            answer = self._speaker_answer(q, q.speaker, k, timings, trace)
        elif named_role:
            # "Who is Ukraine's foreign minister?": the sentences that name whoever holds it
            retrieval = self._search(q, k, timings, trace, rows=named_role)
            answer = self._compose(q.text, self._pick(retrieval.hits))
        else:
            answer = self._general_answer(q, k, timings, trace)
        timings["total"] = (time.perf_counter() - started) * 1000
        return Answer(answer.question, answer.answer, answer.found, answer.citations, timings, answer.closest,
                      answer.declined_by, trace.get("confidence"), self._explain(q, trace) if explain else None,
                      answer_types=sorted(q.answer_types), reader=trace.get("reader"))

    def _search(
        self, q: Question, k: int, timings: dict[str, float], trace: dict[str, Any], **options: Any
    ) -> Retrieval:
        retrieval = self.retriever.search(q, k, model=self.model, **options)
        timings.update(retrieval.timings_ms)
        trace["hits"] = retrieval.hits
        return retrieval

    def _confident(self, q: Question, retrieval: Retrieval, hits: list[Hit], trace: dict[str, Any],
                   sources: set[str] | None = None) -> bool:
        """The fitted probability that the best of ``hits`` answers, against the fitted threshold."""
        r = self.retriever
        unseen_anywhere = r.unseen_words(q)
        unseen = r.unseen_words(q, sources) if sources is not None else unseen_anywhere
        topic = q.asked - q.name_stems
        signals = Unseen(
            len(unseen) / max(1, len(q.asked)), len(set(unseen) & topic) / max(1, len(topic)),
            r.unknown_kind(q, unseen_anywhere),
        )
        top = hits[0] if hits else None
        read = [h.features["reader"] for h in hits if "reader" in h.features]
        if top is not None and read and "reader" not in top.features:
            read = [min(read), *read]  # the best of these was not read: as low as the lowest read
        features = answer_features(
            q, [h.score for h in hits[:2]], top.features if top else {}, retrieval.spread, signals,
            r.missing_rarity(set(q.content), top.sentence.row) if top else 1.0,
            top is not None and q.negated != r.negated(top.sentence.row), read or None,
        )
        probability = self.model.probability(features, q.english)
        trace.update(confidence=probability, answer_features=features,
                     reader=sigmoid(read[0]) if read else None)
        return self.model.answers(features, q.english)

    def _general_answer(self, q: Question, k: int, timings: dict[str, float], trace: dict[str, Any]) -> Answer:
        sources = self.retriever.sources_naming(q)
        retrieval = self._search(q, k, timings, trace, rows=self.retriever.rows_of(sources))
        hits = retrieval.hits
        unknown = self.retriever.unknown_names(q)
        if unknown:
            missing = ", ".join(unknown)
            return self._not_found(q.text, hits[:3], f"I couldn't find {missing} in the indexed sources.",
                                   "unknown_name")
        if not hits:
            return self._not_found(q.text, [], NOT_FOUND, "no_passage")
        if not self._confident(q, retrieval, hits, trace, sources):
            return self._not_found(q.text, hits[:3], NOT_FOUND, "low_confidence")
        return self._compose(q.text, self._pick(hits))

    def _speaker_answer(
        self, q: Question, asked: SpeakerQuestion, k: int, timings: dict[str, float], trace: dict[str, Any]
    ) -> Answer:
        r = self.retriever
        # "What did the US and the EU warn about?": each of the names, as one speaker together
        whos = [asked.who] if r.speakers_named(asked.who) else name_parts(asked.who)
        rows = sorted({row for who in whos for row in r.rows_spoken_by(who)})
        named = frozenset(name for who in whos for name in r.speakers_named(who))
        if not rows:
            if not _names_a_speaker(asked.who):
                # "What is commonly believed?", "How did the currency react?": no one is asked about
                return self._general_answer(q, k, timings, trace)
            missing = r.absent(asked.display)
            if missing:  # true only if no form of the name is in any source
                return self._not_found(q.text, [], f"I couldn't find {', '.join(missing)} in the indexed sources.",
                                       "unknown_name")
            retrieval = self._search(q, k, timings, trace)
            mentioning = {row for who in whos for row in r.rows_mentioning(who)}
            near = [h for h in retrieval.hits if h.sentence.row in mentioning]
            describable = not asked.strict or asked.verb.lower() in ("react", "respond")
            if describable and near and self._confident(q, retrieval, near, trace):
                # "What did the US propose?", "How did scientists react?" (when they are not
                # quoted): what the sources report about it, from whoever.
                return self._compose(q.text, self._pick(near))
            # "The sources mention X" only when X itself is there, not only a part of it
            said = (f"The sources mention {asked.display}, but I couldn't find anything {asked.display} said."
                    if r.mentioned(asked.display) else
                    f"I couldn't find anything {asked.display} said in the indexed sources.")
            return self._not_found(q.text, near, said, "not_quoted")
        topic = asked.topic
        if not asked.strict:
            return self._about_answer(q, asked, rows, k, timings, trace)
        retrieval = self._search(q, k, timings, trace, rows=rows, speakers=named)
        hits = retrieval.hits
        if hits and self._off_topic(topic, rows):
            return self._not_found(
                q.text, hits[:3],
                f"I couldn't find anything {asked.display} said about {topic} in the indexed sources.",
                "off_topic",
            )

        # Their own words first: sentences where they are the main speaker, direct quotes first.
        def key(hit: Hit) -> tuple[int, int, float]:
            primary = bool(hit.sentence.speakers) and hit.sentence.speakers[0] in named
            return (0 if primary else 1, 0 if hit.sentence.is_quote else 1, -hit.score)

        top = max(hits, key=lambda h: h.score, default=None)
        if len(named) > 1 and top is not None and top.sentence.speakers and top.sentence.speakers[0] in named:
            holders = self._holders_apart(set(named), hits)
            if not asked.rest and len(holders) > 1:
                # "What did the chief executive say?" and two articles each have one: the best
                # statement of each, rather than a guess at which one was meant
                chosen = sorted(holders, key=lambda h: -h.score)[: self.settings.max_sentences]
                return self._compose(q.text, chosen)
            # with a topic ("What did the mayor warn about?"): the one most relevant to it
            first = top.sentence.speakers[0]
            hits = [h for h in hits if first in h.sentence.speakers]
        hits.sort(key=key)
        chosen = self._pick(hits, same_speaker=True)
        if not asked.rest:
            # "What did X say?" reads best in the article's order (the sentence naming them first);
            # with a topic or an addressee, the most relevant statement comes first.
            surnames = {tokenize(n)[-1] for n in named if tokenize(n)}

            def reading_order(h: Hit) -> tuple[int, str, int]:
                names_them = bool(surnames & self.retriever.token_sets[h.sentence.row])
                return (0 if names_them else 1, h.sentence.source_id, h.sentence.start)

            chosen.sort(key=reading_order)
        return self._compose(q.text, chosen)

    @staticmethod
    def _holders_apart(named: set[str], hits: list[Hit]) -> list[Hit]:
        """The best own statement (as main speaker, quotes first) of each person the title names,
        when they are in different sources; one person or one source: just theirs."""
        best: dict[str, Hit] = {}
        for hit in sorted(hits, key=lambda h: (0 if h.sentence.is_quote else 1, -h.score)):
            speaker = hit.sentence.speakers[0] if hit.sentence.speakers else None
            if speaker in named and speaker not in best:
                best[speaker] = hit
        sources = {h.sentence.source_id for h in best.values()}
        return list(best.values()) if len(sources) > 1 else []

    def _off_topic(self, topic: str, rows: Iterable[int]) -> bool:
        """True if the question restricts X's words to a topic ("about NATO", "on immigration")
        that none of these sentences (all of X's, not only the best ranked, so that the decline's
        "I couldn't find anything X said about T" holds) is close to in meaning or shares a word with."""
        rows = list(rows)
        if not topic or generic_topic(topic) or not rows:
            return False
        topic_vector = self.retriever.embed_query(topic)
        closest = float(np.max(self.retriever.vectors[rows] @ topic_vector))
        topic_words = set(tokenize(topic))
        lexical = any(topic_words & self.retriever.token_sets[row] for row in rows)
        return closest < self.settings.min_similarity and not lexical

    def _about_answer(
        self, q: Question, asked: SpeakerQuestion, rows: list[int], k: int, timings: dict[str, float],
        trace: dict[str, Any],
    ) -> Answer:
        """ "What did the US propose?", "... according to X": X's words first, but reports of
        what X proposed or thinks, by whoever, count too."""
        names = self.retriever.speakers_named(asked.who) or {asked.who}
        retrieval = self._search(q, 2 * k, timings, trace, speakers=frozenset(names))
        spoken = set(rows)
        mentioning = {row for name in [*names, asked.who] for row in self.retriever.rows_mentioning(name)}
        hits = list(retrieval.hits)  # their own words weigh through the fitted "speaker" feature
        related = [h for h in hits if h.sentence.row in spoken or h.sentence.row in mentioning]
        if related and self._off_topic(asked.topic, spoken | mentioning):
            # "What is Anand's position on immigration?" and nothing of hers is about immigration
            return self._not_found(
                q.text, related[:3],
                f"I couldn't find anything from {asked.display} on {asked.topic} in the indexed sources.",
                "off_topic",
            )
        # the question is about X: X's words and reports about X, never a neighbour's words
        hits = related or hits
        if not hits or not self._confident(q, retrieval, hits, trace):
            return self._not_found(q.text, hits[:3], NOT_FOUND, "low_confidence")
        lead = hits[0].sentence.speakers[:1]
        if len(names) > 1 and lead and lead[0] in names:
            # "the mayor" names two people: keep to the one the best sentence is about
            hits = [h for h in hits if not (h.sentence.speakers[:1] and h.sentence.speakers[0] in names
                                            and h.sentence.speakers[0] != lead[0])]
        return self._compose(q.text, self._pick(hits))

    def _pick(self, hits: list[Hit], same_speaker: bool = False) -> list[Hit]:
        """1 to max_sentences sentences: the best, then close runners-up that add something."""
        answerable = [h for h in hits if h.sentence.role in ANSWER_ROLES] or hits
        # "What did X say?" deserves their main statements even if that runs a little longer.
        limit = int(self.settings.max_chars * (1.5 if same_speaker else 1.0))
        margin = self.model.pick_margin
        chosen = [answerable[0]]
        length = len(answerable[0].sentence.text)
        for hit in answerable[1:]:
            if len(chosen) >= self.settings.max_sentences:
                break
            if not same_speaker and hit.score < chosen[0].score - margin:
                continue
            if length + len(hit.sentence.text) > limit:
                continue
            tokens = self.retriever.token_sets[hit.sentence.row]
            shared = (len(tokens & self.retriever.token_sets[c.sentence.row]) / max(1, len(tokens)) for c in chosen)
            if any(share >= 0.5 for share in shared):
                continue  # says mostly the same as a sentence already chosen
            chosen.append(hit)
            length += len(hit.sentence.text)
        return chosen

    def _explain(self, q: Question, trace: dict[str, Any]) -> dict[str, Any]:
        """Every feature of the top hits with its weight and contribution, and the answer decision."""
        hits: list[Hit] = trace.get("hits", [])[:5]

        def weights(hit: Hit) -> dict[str, float]:  # a hit the reader read was scored by the reranker
            return (self.model.reranker if "reader" in hit.features else self.model.ranker).weights

        out: dict[str, Any] = {
            "question": {"kind": q.kind, "answer_types": sorted(q.answer_types), "names": [n.text for n in q.names],
                         "content": sorted(q.content)},
            "hits": [
                {"text": h.sentence.text, "score": round(h.score, 4),
                 "features": {name: {"value": round(value, 4), "weight": round(weights(h).get(name, 0.0), 4),
                                     "contribution": round(weights(h).get(name, 0.0) * value, 4)}
                              for name, value in h.features.items()}}
                for h in hits
            ],
        }
        if "answer_features" in trace:
            answerer = self.model.answerer if q.english else self.model.crosslingual
            threshold = self.model.threshold if q.english else self.model.crosslingual_threshold
            out["decision"] = {
                "probability": round(trace["confidence"], 4), "threshold": threshold,
                "reader": None if trace.get("reader") is None else round(trace["reader"], 4),
                "features": {name: {"value": round(value, 4), "weight": round(answerer.weights.get(name, 0.0), 4),
                                    "contribution": round(answerer.weights.get(name, 0.0) * value, 4)}
                             for name, value in trace["answer_features"].items()},
            }
        return out

    # -- composing -------------------------------------------------------------------------
    def _verified(self, text: str, hit: Hit) -> bool:
        """The sentence's words at its offsets are still the words that were indexed."""
        s = hit.sentence
        return 0 <= s.start < s.end <= len(text) and text_digest(text[s.start : s.end]) == s.digest

    def _context(self, text: str, hit: Hit) -> dict[str, Any]:
        """For a sentence opening with "It"/"They"/"He": the sentence before it, which it refers to,
        shown as context (not cited), verified like a cited one; {} when there is none."""
        before = self.retriever.antecedent.get(hit.sentence.row, [])
        if not before:
            return {}
        s = self.retriever.sentences[before[0]]
        if not (0 <= s.start < s.end <= len(text) and text_digest(text[s.start : s.end]) == s.digest):
            return {}
        return {"context": {"start": s.start, "end": s.end, "text": text[s.start : s.end]}}

    def _citation(self, n: int, chunk_id: int, hits: list[Hit]) -> Citation | None:
        index = self.retriever.index
        chunk = index.chunks[chunk_id]
        entry = index.sources[chunk.source_id]
        text = entry.source.text
        sentences: list[dict[str, Any]] = [
            {"start": h.sentence.start, "end": h.sentence.end, "text": text[h.sentence.start : h.sentence.end],
             "entities": [list(e) for e in h.sentence.entities], **self._context(text, h)}
            for h in hits
            if self._verified(text, h) and chunk.start <= h.sentence.start < h.sentence.end <= chunk.end
        ]
        if not sentences:
            return None
        speakers = sorted({s for h in hits for s in h.sentence.speakers[:1]})
        return Citation(
            n=n, source_id=chunk.source_id, title=entry.source.title,
            url=public_url(entry.source.url) if entry.source.url else None,
            section=chunk.section, paragraph=chunk.paragraph, start=chunk.start, end=chunk.end,
            text=text[chunk.start : chunk.end], score=round(max(h.score for h in hits), 4), sentences=sentences,
            link=text_fragment_link(entry.source.url, str(sentences[0]["text"])), speakers=speakers,
            page=entry.source.page_at(sentences[0]["start"]),
        )

    def _citations(self, hits: list[Hit]) -> tuple[list[Citation], dict[int, int]]:
        order: list[int] = []
        groups: dict[int, list[Hit]] = {}
        for hit in hits:
            cid = hit.sentence.chunk_id
            if cid not in groups:
                order.append(cid)
                groups[cid] = []
            groups[cid].append(hit)
        citations: list[Citation] = []
        numbers: dict[int, int] = {}
        for cid in order:
            citation = self._citation(len(citations) + 1, cid, groups[cid])
            if citation is not None:
                citations.append(citation)
                numbers[cid] = citation.n
        return citations, numbers

    def cite(self, sentences: list[SentenceRecord]) -> tuple[list[Citation], dict[int, int]]:
        """Citations of indexed sentences chosen by someone else (a brief), numbered in order and
        verified exactly like an answer's; and the [n] of each sentence (by row) that verified."""
        citations, numbers = self._citations([Hit(s, 0.0, 0.0, 0.0) for s in sentences])
        verified = {(c.source_id, s["start"], s["end"]) for c in citations for s in c.sentences}
        return citations, {s.row: numbers[s.chunk_id] for s in sentences
                           if (s.source_id, s.start, s.end) in verified and s.chunk_id in numbers}

    def _compose(self, question: str, hits: list[Hit]) -> Answer:
        """The answer text: each verified sentence, as it stands in the source, with its [n]."""
        citations, numbers = self._citations(hits)
        verified = {(s["start"], s["end"]): s["text"] for c in citations for s in c.sentences}
        parts = [
            f"{verified[(h.sentence.start, h.sentence.end)]} [{numbers[h.sentence.chunk_id]}]"
            for h in hits
            if h.sentence.chunk_id in numbers and (h.sentence.start, h.sentence.end) in verified
        ]
        if not parts:
            return self._not_found(question, [], NOT_FOUND, "unverified")
        return Answer(question, " ".join(parts), True, citations, {})

    def _not_found(self, question: str, near: list[Hit], message: str, reason: str) -> Answer:
        closest, _ = self._citations(near[:3])
        return Answer(question, message, False, [], {}, closest, reason)
