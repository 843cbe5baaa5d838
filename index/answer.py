"""Question -> Answer made only of the sources' own sentences, each cited and verified."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote

from index.details import count_terms, names_someone
from index.query import (
    SpeakerQuestion,
    generic_topic,
    joint_question,
    name_runs,
    role_question,
    speaker_question,
    tokenize,
    without_measure_word,
)
from index.retriever import Retriever
from index.speakers import load_parser
from index.types import ANSWER_ROLES, Hit

NOT_FOUND = "I couldn't find that in the indexed sources."
SPEAKER_BONUS = 0.15  # on the fused score, for sentences the asked-about speaker said
MENTION_BONUS = 0.05  # for sentences that name them
COUNT_SIMILARITY = 0.5  # word similarity at which "troops" answers "how many soldiers"
UNKNOWN_KIND_MARGIN = 0.35  # above min_similarity, for "the flu vaccine" when only vaccines are known


@dataclass(frozen=True)
class AnswerSettings:
    """The ``[answer]`` table of the config file."""

    top_k: int = 10
    max_sentences: int = 3
    max_chars: int = 320
    min_similarity: float = 0.25


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
    sentences: list[dict[str, Any]] = field(default_factory=list)  # the cited sentences: start, end, text
    link: str | None = None
    speakers: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Answer:
    """What a user reads (``answer``, with [n] markers) and what backs it."""

    question: str
    answer: str
    found: bool
    citations: list[Citation]
    timings_ms: dict[str, float]
    closest: list[Citation] = field(default_factory=list)  # shown when not found, marked as such

    def to_json(self) -> dict[str, Any]:
        """The documented JSON schema (plus the extra keys ``closest``)."""
        data = asdict(self)
        data["timings_ms"] = {k: round(v, 2) for k, v in self.timings_ms.items()}
        return data


def text_fragment_link(url: str | None, sentence: str) -> str | None:
    """URL with a #:~:text= fragment that highlights the sentence in browsers."""
    if not url:
        return None
    tokens = sentence.split()
    enc = lambda s: quote(s, safe="")  # noqa: E731
    if len(tokens) <= 8:
        fragment = enc(" ".join(tokens))
    else:
        fragment = f"{enc(' '.join(tokens[:4]))},{enc(' '.join(tokens[-4:]))}"
    return f"{url.split('#')[0]}#:~:text={fragment}"


class Answerer:
    """Turns questions into verified, cited answers over one Retriever."""

    def __init__(self, retriever: Retriever, settings: AnswerSettings) -> None:
        self.retriever = retriever
        self.settings = settings

    # -- deciding --------------------------------------------------------------------------
    def ask(self, question: str, top_k: int | None = None) -> Answer:
        """Answer one question; never raises for a well-formed question."""
        started = time.perf_counter()
        k = top_k or self.settings.top_k
        timings: dict[str, float] = {}
        asked = speaker_question(question)
        role = role_question(question)
        named_role = self.retriever.rows_naming_role(role) if role and asked is None else []
        if role and asked is None and not named_role:
            named_role = self.retriever.rows_naming_title(role)
        if asked is not None:
            answer = self._speaker_answer(question, asked, k, timings)
        elif named_role:
            # "Who is Ukraine's foreign minister?": the sentences that name whoever holds it
            retrieval = self.retriever.search(question, k, rows=named_role)
            timings.update(retrieval.timings_ms)
            answer = self._compose(question, self._pick(retrieval.hits))
        else:
            answer = self._general_answer(question, k, timings)
        timings["total"] = (time.perf_counter() - started) * 1000
        return Answer(answer.question, answer.answer, answer.found, answer.citations, timings, answer.closest)

    def _general_answer(self, question: str, k: int, timings: dict[str, float]) -> Answer:
        sources = self.retriever.sources_naming(question)
        retrieval = self.retriever.search(question, k, rows=self.retriever.rows_of(sources))
        timings.update(retrieval.timings_ms)
        hits = retrieval.hits
        unknown = self.retriever.unknown_names(question)
        if unknown:
            missing = ", ".join(unknown)
            return self._not_found(question, hits[:3], f"I couldn't find {missing} in the indexed sources.")
        unseen = self.retriever.unseen_words(question)
        # words that the sources naming the question's names lack ("weather" for "the weather in Carden")
        unseen_there = self.retriever.unseen_words(question, sources) if sources is not None else []
        if not hits or not self._relevant(question, hits[0], unseen, unseen_there):
            return self._not_found(question, hits[:3], NOT_FOUND)
        if self._names_someone(question, hits) is False:
            # "Who hacked Hollis?": no close passage names anyone who did it
            return self._not_found(question, hits[:3], NOT_FOUND)
        joint = joint_question(question)
        if joint is not None:
            # "What did Okafor and Marsh agree?": where they agreed, over where they are named
            together = {h.sentence.row: self.retriever.joint_score(joint, h.sentence.row) for h in hits}
            best = max(together.values())
            if best >= 0.5 and together[hits[0].sentence.row] < best:
                hits = sorted(hits, key=lambda h: -together[h.sentence.row])  # stable: by score within
        if self._counts(question, hits[0]) is False:
            # a runner-up that counts them ("about 2.3 million customers")
            counted = [h for h in hits[1:6] if self._counts(question, h) and self._relevant(question, h, unseen)]
            if not counted:
                # "How many buses does Veltra own?": no close passage gives a number of buses
                return self._not_found(question, hits[:3], NOT_FOUND)
            hits = counted + [h for h in hits if h not in counted]
        return self._compose(question, self._pick(hits))

    def _speaker_answer(self, question: str, asked: SpeakerQuestion, k: int, timings: dict[str, float]) -> Answer:
        rows = self.retriever.rows_spoken_by(asked.who)
        if not rows:
            if not self.retriever.mentioned(asked.who):
                return self._not_found(question, [], f"I couldn't find {asked.display} in the indexed sources.")
            retrieval = self.retriever.search(question, k)
            timings.update(retrieval.timings_ms)
            mentioning = set(self.retriever.rows_mentioning(asked.who))
            near = [h for h in retrieval.hits if h.sentence.row in mentioning]
            describable = not asked.strict or asked.verb.lower() in ("react", "respond")
            if describable and near and self._relevant(question, near[0]):
                # "What did the US propose?", "How did scientists react?" (when they are not
                # quoted): what the sources report about it, from whoever.
                return self._compose(question, self._pick(near))
            return self._not_found(
                question, near,
                f"The sources mention {asked.display}, but I couldn't find anything {asked.display} said.",
            )
        topic = asked.topic
        if not asked.strict:
            return self._about_answer(question, asked, rows, k, timings)
        retrieval = self.retriever.search(question, k, rows=rows)
        timings.update(retrieval.timings_ms)
        hits = retrieval.hits
        if self._off_topic(topic, hits):
            return self._not_found(
                question, hits[:3],
                f"I couldn't find anything {asked.display} said about {topic} in the indexed sources.",
            )
        # Their own words first: sentences where they are the main speaker, direct quotes first.
        named = self.retriever.speakers_named(asked.who)

        def key(hit: Hit) -> tuple[int, int, float]:
            primary = bool(hit.sentence.speakers) and hit.sentence.speakers[0] in named
            return (0 if primary else 1, 0 if hit.sentence.is_quote else 1, -hit.score)

        top = max(hits, key=lambda h: h.score, default=None)
        if len(named) > 1 and top is not None and top.sentence.speakers and top.sentence.speakers[0] in named:
            holders = self._holders_apart(named, hits)
            if not asked.rest and len(holders) > 1:
                # "What did the chief executive say?" and two articles each have one: the best
                # statement of each, rather than a guess at which one was meant
                chosen = sorted(holders, key=lambda h: -h.score)[: self.settings.max_sentences]
                return self._compose(question, chosen)
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
        return self._compose(question, chosen)

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

    def _off_topic(self, topic: str, hits: list[Hit]) -> bool:
        """True if the question restricts X's words to a topic ("about NATO", "on immigration")
        that none of these sentences is close to in meaning or shares a word with."""
        if not topic or generic_topic(topic) or not hits:
            return False
        topic_vector = self.retriever.embed_query(topic)
        closest = max(float(self.retriever.vectors[h.sentence.row] @ topic_vector) for h in hits)
        topic_words = set(tokenize(topic))
        lexical = any(topic_words & self.retriever.token_sets[h.sentence.row] for h in hits)
        return closest < self.settings.min_similarity and not lexical

    def _about_answer(
        self, question: str, asked: SpeakerQuestion, rows: list[int], k: int, timings: dict[str, float]
    ) -> Answer:
        """ "What did the US propose?", "... according to X": X's words first, but reports of
        what X proposed or thinks, by whoever, count too."""
        retrieval = self.retriever.search(question, 2 * k)
        timings.update(retrieval.timings_ms)
        spoken = set(rows)
        names = self.retriever.speakers_named(asked.who) or {asked.who}
        mentioning = {row for name in [*names, asked.who] for row in self.retriever.rows_mentioning(name)}
        hits = [
            Hit(h.sentence, h.score + (SPEAKER_BONUS if h.sentence.row in spoken
                                       else MENTION_BONUS if h.sentence.row in mentioning else 0.0),
                h.dense, h.lexical)
            for h in retrieval.hits
        ]
        hits.sort(key=lambda h: -h.score)
        related = [h for h in hits if h.sentence.row in spoken or h.sentence.row in mentioning]
        if self._off_topic(asked.topic, related):
            # "What is Anand's position on immigration?" and nothing of hers is about immigration
            return self._not_found(
                question, related[:3],
                f"I couldn't find anything from {asked.display} on {asked.topic} in the indexed sources.",
            )
        if related and self._relevant(question, related[0]):
            hits = related  # the question is about X: not someone else's words, nor padding about them
        if not hits or not self._relevant(question, hits[0]):
            return self._not_found(question, hits[:3], NOT_FOUND)
        lead = hits[0].sentence.speakers[:1]
        if len(names) > 1 and lead and lead[0] in names:
            # "the mayor" names two people: keep to the one the best sentence is about
            hits = [h for h in hits if not (h.sentence.speakers[:1] and h.sentence.speakers[0] in names
                                            and h.sentence.speakers[0] != lead[0])]
        return self._compose(question, self._pick(hits))

    def _unknown_kind(self, question: str, unseen: list[str]) -> bool:
        """True if a word no source holds qualifies a noun they do hold ("flu" in "the flu
        vaccine", "unemployment" in "the unemployment rate"), read from the question's parse."""
        if not unseen:
            return False
        vocabulary = self.retriever.stem_vocabulary
        for token in load_parser()(question):
            head_noun = token.head.pos_ in ("NOUN", "PROPN") and not token.head.text.lower().endswith("ing")
            if token.dep_ != "compound" or token.head.i == token.i or not head_noun:
                continue  # "the new rate" is that rate; "the army helping" is a misparse
            word, head = tokenize(token.text), tokenize(token.head.text)
            if word and head and word[0] in unseen and head[0] not in unseen and head[0] in vocabulary:
                return True
        return False

    def _names_someone(self, question: str, hits: list[Hit]) -> bool | None:
        """For "who did X": does the best passage name someone the question does not? None otherwise."""
        return names_someone(question, hits[0].sentence.text) if hits else None

    def _counts(self, question: str, hit: Hit) -> bool | None:
        """For "how many X": does the sentence give a number of X or of something close in
        meaning ("100,000 troops" for soldiers)? None for other questions."""
        terms = count_terms(question, hit.sentence.text)
        if terms is None:
            return None
        wanted, counted = terms
        if not counted:
            return False
        if set(tokenize(" ".join(wanted))) & set(tokenize(" ".join(counted))):
            return True
        vectors = self.retriever.embedder.embed(wanted + counted)
        similarity = vectors[: len(wanted)] @ vectors[len(wanted) :].T
        return bool(similarity.max() >= COUNT_SIMILARITY)

    def _relevant(
        self, question: str, top: Hit, unseen: list[str] | None = None, unseen_there: list[str] | None = None
    ) -> bool:
        """Abstain unless the best sentence is close in meaning or shares the question's key words.

        A question with words that no source contains ("population", "restaurants") needs a
        clearly closer match: the sources may mention Lviv without answering about its population.
        Words missing only from the sources that hold the question's names need a closer match too.
        """
        q = set(tokenize(without_measure_word(question)))
        tokens = self.retriever.tokens_in_context(top.sentence.row)
        overlap = self.retriever.coverage(q, top.sentence.row)
        floor = self.settings.min_similarity
        if unseen:
            share = len(unseen) / max(1, len(q))
            if self._unknown_kind(question, unseen):
                # an unknown kind of a known thing ("the flu vaccine", "the unemployment rate"):
                # a passage about that thing is about another kind, unless it is very close
                return top.dense >= floor + UNKNOWN_KIND_MARGIN
            if top.dense >= floor + 0.2:
                return True
            named = set(tokenize(" ".join(w for run in name_runs(question) for w in run)))
            asked = q - named - set(tokenize(" ".join(unseen)))
            if share <= 0.34 and asked and asked <= tokens and top.dense >= floor:
                return True  # all the other words, beyond names, are there ("Which court did Judge X sit on?")
            return share <= 0.34 and top.dense >= floor + 0.1 and overlap >= 0.33
        if unseen_there and overlap < 0.66:
            return top.dense >= floor + 0.1
        if overlap >= 0.66 and top.dense >= floor - 0.15:
            return True  # nearly every key word of the question is in the sentence
        if top.dense >= floor + 0.1:
            return True
        return top.dense >= floor and overlap >= 0.25

    def _pick(self, hits: list[Hit], same_speaker: bool = False) -> list[Hit]:
        """1 to max_sentences sentences: the best, then close runners-up that add something."""
        answerable = [h for h in hits if h.sentence.role in ANSWER_ROLES] or hits
        # "What did X say?" deserves their main statements even if that runs a little longer.
        limit = int(self.settings.max_chars * (1.5 if same_speaker else 1.0))
        chosen = [answerable[0]]
        length = len(answerable[0].sentence.text)
        for hit in answerable[1:]:
            if len(chosen) >= self.settings.max_sentences:
                break
            close = same_speaker or (hit.dense >= chosen[0].dense - 0.04 and hit.score >= chosen[0].score - 0.12)
            if not close:
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

    # -- composing -------------------------------------------------------------------------
    def _citation(self, n: int, chunk_id: int, hits: list[Hit]) -> Citation | None:
        index = self.retriever.index
        chunk = index.chunks[chunk_id]
        entry = index.sources[chunk.source_id]
        text = entry.source.text
        if text[chunk.start : chunk.end] != chunk.text:
            return None
        sentences = [
            {"start": h.sentence.start, "end": h.sentence.end, "text": h.sentence.text}
            for h in hits
            if text[h.sentence.start : h.sentence.end] == h.sentence.text
            and chunk.start <= h.sentence.start < h.sentence.end <= chunk.end
        ]
        if not sentences:
            return None
        speakers = sorted({s for h in hits for s in h.sentence.speakers[:1]})
        return Citation(
            n=n, source_id=chunk.source_id, title=entry.source.title, url=entry.source.url,
            section=chunk.section, paragraph=chunk.paragraph, start=chunk.start, end=chunk.end,
            text=chunk.text, score=round(max(h.score for h in hits), 4), sentences=sentences,
            link=text_fragment_link(entry.source.url, str(sentences[0]["text"])), speakers=speakers,
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

    def _compose(self, question: str, hits: list[Hit]) -> Answer:
        citations, numbers = self._citations(hits)
        verified = {(s["start"], s["end"]) for c in citations for s in c.sentences}
        parts = [
            f"{h.sentence.text} [{numbers[h.sentence.chunk_id]}]"
            for h in hits
            if h.sentence.chunk_id in numbers and (h.sentence.start, h.sentence.end) in verified
        ]
        if not parts:
            return self._not_found(question, [], NOT_FOUND)
        return Answer(question, " ".join(parts), True, citations, {})

    def _not_found(self, question: str, near: list[Hit], message: str) -> Answer:
        closest, _ = self._citations(near[:3])
        return Answer(question, message, False, [], {}, closest)

