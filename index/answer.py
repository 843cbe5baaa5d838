"""Question -> Answer made only of the sources' own sentences, each cited and verified.

``Answerer.ask`` runs the stages in order, one module each under ``index/answering/``:

1. analysis (``index.question.analyse``): the only reader of the question's text;
2. plan (``answering/plan.py``): the strategy, which rows and speakers, how many candidates,
   the gates that decline before searching;
3. candidates (``search/candidates.py``) and 4. features (``features/``), ranked by
   ``answering/rank.py``;
5. decision (``answering/decide.py``): the named gates and the fitted verdict;
6. composition (``answering/compose.py``): pick, verify, cite.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

from index.answering.compose import Composer
from index.answering.decide import (
    Decline,
    Verdict,
    low_confidence,
    no_passage,
    not_quoted,
    off_topic,
    off_topic_decline,
    unknown_name,
    verdict,
)
from index.answering.plan import Plan, Strategy, route
from index.answering.rank import Ranked, rank
from index.answering.records import Answer, AnswerSettings, Citation
from index.model import AnswerModel
from index.query import tokenize
from index.question import Question, analyse
from index.retriever import Retriever
from index.speakers import load_parser
from index.types import Hit, SentenceRecord

__all__ = ["Answerer", "Trace"]


@dataclass
class Trace:
    """What one question's stages measured and decided, for the Answer and ``--explain``."""

    started: float = field(default_factory=time.perf_counter)
    timings_ms: dict[str, float] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)  # the last ranking's hits
    verdict: Verdict | None = None  # the last fitted decision

    def lap(self, name: str, since: float) -> None:
        self.timings_ms[name] = (time.perf_counter() - since) * 1000


Outcome = list[Hit] | Decline  # the sentences to compose, or why not


class Answerer:
    """Turns questions into verified, cited answers over one Retriever."""

    def __init__(self, retriever: Retriever, settings: AnswerSettings, model: AnswerModel | None = None) -> None:
        self.retriever = retriever
        self.settings = settings
        self.model = model or retriever.model
        self.composer = Composer(retriever.state, settings, self.model.pick_margin)

    def ask(self, question: str, top_k: int | None = None, explain: bool = False) -> Answer:
        """Answer one question; never raises for a well-formed question."""
        return self.run(question, top_k, explain)[0]

    def run(self, question: str, top_k: int | None = None, explain: bool = False) -> tuple[Answer, Trace]:
        """``ask``, with the trace of what each stage found (bench/fit.py fits on its verdict)."""
        trace = Trace()
        q = analyse(question, load_parser())  # 1
        trace.lap("analyse", trace.started)
        plan = route(q, self.retriever, top_k or self.settings.top_k)  # 2
        outcome = plan.decline or self._decide(q, plan, self._rank(q, plan, trace), trace)  # 3, 4, 5
        answer = (self.composer.declined(q.text, outcome) if isinstance(outcome, Decline)
                  else self.composer.answer(q.text, outcome))  # 6
        trace.lap("total", trace.started)
        return replace(answer, timings_ms=trace.timings_ms, answer_types=sorted(q.answer_types),
                       confidence=trace.verdict.probability if trace.verdict else None,
                       reader=trace.verdict.reader if trace.verdict else None,
                       explanation=self._explain(q, trace) if explain else None), trace

    def cite(self, sentences: list[SentenceRecord]) -> tuple[list[Citation], dict[int, int]]:
        """Citations of sentences chosen by someone else (a brief): see ``Composer.cite``."""
        return self.composer.cite(sentences)

    # -- stages 3 and 4: candidates, ranked by their features ------------------------------------
    def _rank(self, q: Question, plan: Plan, trace: Trace) -> Ranked:
        started = time.perf_counter()
        qv = self.retriever.embed_query(q.text)
        trace.lap("embed", started)
        ranked = rank(self.retriever.state, q, qv, plan.k, self.model, self.retriever.reader, plan.rows,
                      plan.speakers)
        trace.timings_ms.update(ranked.timings_ms)
        trace.hits = ranked.hits
        return ranked

    def _verdict(self, q: Question, ranked: Ranked, hits: list[Hit], trace: Trace,
                 sources: set[str] | None = None) -> bool:
        trace.verdict = verdict(q, self.retriever, self.model, hits, ranked.spread, sources)
        return trace.verdict.answers

    # -- stage 5: the decision, by strategy ------------------------------------------------------
    def _decide(self, q: Question, plan: Plan, ranked: Ranked, trace: Trace) -> Outcome:
        return {Strategy.GENERAL: self._general, Strategy.ROLE_HOLDER: self._role_holder,
                Strategy.OWN_WORDS: self._own_words, Strategy.ABOUT: self._about,
                Strategy.UNQUOTED: self._unquoted}[plan.strategy](q, plan, ranked, trace)

    def _general(self, q: Question, plan: Plan, ranked: Ranked, trace: Trace) -> Outcome:
        hits = ranked.hits
        decline = unknown_name(plan.unknown, hits[:3]) or no_passage(hits)
        if decline is not None:
            return decline
        if not self._verdict(q, ranked, hits, trace, plan.sources):
            return low_confidence(hits[:3])
        return self.composer.pick(hits)

    def _role_holder(self, q: Question, plan: Plan, ranked: Ranked, trace: Trace) -> Outcome:
        return self.composer.pick(ranked.hits)

    def _unquoted(self, q: Question, plan: Plan, ranked: Ranked, trace: Trace) -> Outcome:
        """ "What did the US propose?", "How did scientists react?" when they are not quoted:
        what the sources report about it, from whoever; else not quoted."""
        asked = q.speaker
        assert asked is not None
        near = [h for h in ranked.hits if h.sentence.row in plan.mentioning]
        if asked.describable and near and self._verdict(q, ranked, near, trace):
            return self.composer.pick(near)
        return not_quoted(asked.display, self.retriever.vocabulary.mentioned(asked.display), near)

    def _about(self, q: Question, plan: Plan, ranked: Ranked, trace: Trace) -> Outcome:
        """ "What did the US propose?", "... according to X": X's words first, but reports of
        what X proposed or thinks, by whoever, count too."""
        asked = q.speaker
        assert asked is not None
        names = plan.speakers
        related = [h for h in ranked.hits if h.sentence.row in plan.spoken or h.sentence.row in plan.mentioning]
        if related and off_topic(self.retriever, asked.topic, asked.generic_topic, set(plan.spoken) | plan.mentioning,
                                 self.settings.min_similarity):
            # "What is Anand's position on immigration?" and nothing of hers is about immigration
            return off_topic_decline(
                f"I couldn't find anything from {asked.display} on {asked.topic} in the indexed sources.", related[:3])
        # the question is about X: X's words and reports about X, never a neighbour's words
        hits = related or list(ranked.hits)
        if not hits or not self._verdict(q, ranked, hits, trace):
            return low_confidence(hits[:3])
        lead = hits[0].sentence.speakers[:1]
        if len(names) > 1 and lead and lead[0] in names:
            # "the mayor" names two people: keep to the one the best sentence is about
            hits = [h for h in hits if not (h.sentence.speakers[:1] and h.sentence.speakers[0] in names
                                            and h.sentence.speakers[0] != lead[0])]
        return self.composer.pick(hits)

    def _own_words(self, q: Question, plan: Plan, ranked: Ranked, trace: Trace) -> Outcome:
        """ "What did X say (about T)?": X's own words, as main speaker first, direct quotes first."""
        asked = q.speaker
        assert asked is not None
        named, hits = plan.speakers, ranked.hits
        if hits and off_topic(self.retriever, asked.topic, asked.generic_topic, plan.spoken,
                              self.settings.min_similarity):
            return off_topic_decline(
                f"I couldn't find anything {asked.display} said about {asked.topic} in the indexed sources.", hits[:3])

        def key(hit: Hit) -> tuple[int, int, float]:
            primary = bool(hit.sentence.speakers) and hit.sentence.speakers[0] in named
            return (0 if primary else 1, 0 if hit.sentence.is_quote else 1, -hit.score)

        top = max(hits, key=lambda h: h.score, default=None)
        if len(named) > 1 and top is not None and top.sentence.speakers and top.sentence.speakers[0] in named:
            holders = _holders_apart(set(named), hits)
            if not asked.rest and len(holders) > 1:
                # "What did the chief executive say?" and two articles each have one: the best
                # statement of each, rather than a guess at which one was meant
                return sorted(holders, key=lambda h: -h.score)[: self.settings.max_sentences]
            # with a topic ("What did the mayor warn about?"): the one most relevant to it
            first = top.sentence.speakers[0]
            hits = [h for h in hits if first in h.sentence.speakers]
        hits.sort(key=key)
        chosen = self.composer.pick(hits, same_speaker=True)
        if not asked.rest:
            # "What did X say?" reads best in the article's order (the sentence naming them first);
            # with a topic or an addressee, the most relevant statement comes first.
            surnames = {tokenize(n)[-1] for n in named if tokenize(n)}
            token_sets = self.retriever.state.token_sets

            def reading_order(h: Hit) -> tuple[int, str, int]:
                names_them = bool(surnames & token_sets[h.sentence.row])
                return (0 if names_them else 1, h.sentence.source_id, h.sentence.start)

            chosen.sort(key=reading_order)
        return chosen

    # -- explaining ------------------------------------------------------------------------------
    def _explain(self, q: Question, trace: Trace) -> dict[str, Any]:
        """Every feature of the top hits with its weight and contribution, and the answer decision."""
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
                for h in trace.hits[:5]
            ],
        }
        if trace.verdict is not None:
            decision = self.model.decision if q.english else self.model.crosslingual
            threshold = self.model.threshold if q.english else self.model.crosslingual_threshold
            out["decision"] = {
                "probability": round(trace.verdict.probability, 4), "threshold": threshold,
                "reader": None if trace.verdict.reader is None else round(trace.verdict.reader, 4),
                "features": {name: {"value": round(value, 4), "weight": round(decision.weights.get(name, 0.0), 4),
                                    "contribution": round(decision.weights.get(name, 0.0) * value, 4)}
                             for name, value in trace.verdict.features.items()},
            }
        return out


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
