"""Stage 6, composition: the sentences to say (the best, then close runners-up that add
something), each verified against the indexed text and cited; or the declined answer with the
closest passages."""

from __future__ import annotations

from typing import Any

from index.answering.decide import Decline, unverified
from index.answering.records import Answer, AnswerSettings, Citation
from index.links import public_url, text_fragment_link
from index.search.state import RetrievalState
from index.store import text_digest
from index.types import ANSWER_ROLES, Hit, SentenceRecord

# A runner-up that shares this much of its stems with a sentence already chosen says mostly the same.
_REPEATS = 0.5
# "What did X say?" deserves their main statements even if that runs a little longer than max_chars.
_OWN_WORDS_LENGTH = 1.5


class Composer:
    """Picks, verifies and cites sentences of one generation."""

    def __init__(self, state: RetrievalState, settings: AnswerSettings, pick_margin: float) -> None:
        self.state = state
        self.index = state.index
        self.settings = settings
        self.pick_margin = pick_margin

    def pick(self, hits: list[Hit], same_speaker: bool = False) -> list[Hit]:
        """1 to max_sentences sentences: the best, then close runners-up that add something."""
        answerable = [h for h in hits if h.sentence.role in ANSWER_ROLES] or hits
        limit = int(self.settings.max_chars * (_OWN_WORDS_LENGTH if same_speaker else 1.0))
        chosen = [answerable[0]]
        length = len(answerable[0].sentence.text)
        token_sets = self.state.token_sets
        for hit in answerable[1:]:
            if len(chosen) >= self.settings.max_sentences:
                break
            if not same_speaker and hit.score < chosen[0].score - self.pick_margin:
                continue
            if length + len(hit.sentence.text) > limit:
                continue
            tokens = token_sets[hit.sentence.row]
            shared = (len(tokens & token_sets[c.sentence.row]) / max(1, len(tokens)) for c in chosen)
            if any(share >= _REPEATS for share in shared):
                continue  # says mostly the same as a sentence already chosen
            chosen.append(hit)
            length += len(hit.sentence.text)
        return chosen

    def _verified(self, text: str, hit: Hit) -> bool:
        """The sentence's words at its offsets are still the words that were indexed."""
        s = hit.sentence
        return 0 <= s.start < s.end <= len(text) and text_digest(text[s.start : s.end]) == s.digest

    def _context(self, text: str, hit: Hit) -> dict[str, Any]:
        """For a sentence opening with "It"/"They"/"He": the sentence before it, which it refers to,
        shown as context (not cited), verified like a cited one; {} when there is none."""
        before = self.state.derived.antecedent.get(hit.sentence.row, [])
        if not before:
            return {}
        s = self.state.sentences[before[0]]
        if not (0 <= s.start < s.end <= len(text) and text_digest(text[s.start : s.end]) == s.digest):
            return {}
        return {"context": {"start": s.start, "end": s.end, "text": text[s.start : s.end]}}

    def _citation(self, n: int, chunk_id: int, hits: list[Hit]) -> Citation | None:
        chunk = self.index.chunks[chunk_id]
        entry = self.index.sources[chunk.source_id]
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

    def citations(self, hits: list[Hit]) -> tuple[list[Citation], dict[int, int]]:
        """The verified citations of these hits, one per passage in order of first use, and the
        [n] of each passage (by chunk id)."""
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
        citations, numbers = self.citations([Hit(s, 0.0, 0.0, 0.0) for s in sentences])
        verified = {(c.source_id, s["start"], s["end"]) for c in citations for s in c.sentences}
        return citations, {s.row: numbers[s.chunk_id] for s in sentences
                           if (s.source_id, s.start, s.end) in verified and s.chunk_id in numbers}

    def answer(self, question: str, hits: list[Hit]) -> Answer:
        """The answer text: each verified sentence, as it stands in the source, with its [n]."""
        citations, numbers = self.citations(hits)
        verified = {(s["start"], s["end"]): s["text"] for c in citations for s in c.sentences}
        parts = [
            f"{verified[(h.sentence.start, h.sentence.end)]} [{numbers[h.sentence.chunk_id]}]"
            for h in hits
            if h.sentence.chunk_id in numbers and (h.sentence.start, h.sentence.end) in verified
        ]
        if not parts:
            return self.declined(question, unverified())
        return Answer(question, " ".join(parts), True, citations, {})

    def declined(self, question: str, decline: Decline) -> Answer:
        """The honest not-found: the message and up to three closest passages, marked as such."""
        closest, _ = self.citations(decline.near[:3])
        return Answer(question, decline.message, False, [], {}, closest, decline.reason.value)
