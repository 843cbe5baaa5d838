"""Extractive briefs: a source's lead and who said what in it, or the lead of each newest source.

Only the sources' own sentences, chosen from what the index already holds (roles from the
chunker, speakers from attribution at index time, vectors from the embedder) and cited through
the answer core, so each one is verified at its offsets exactly like an answer's.
"""

from __future__ import annotations

import time
from calendar import timegm
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from index.answer import Answerer
from index.answering.records import Citation
from index.errors import InputError
from index.links import public_url
from index.types import ANSWER_ROLES, SentenceRecord

LEAD_SENTENCES = 2
LEAD_CHARS = 420
LEAD_MIN_WORDS = 8  # shorter sentences ("Fine," Putin replied.) rarely carry the news
STATEMENTS = 2  # per speaker
NEWEST_HOURS = 24.0
NEWEST_AT_LEAST = 3  # fewer sources in the last day: the newest few anyway
NEWEST_AT_MOST = 10


@dataclass(frozen=True)
class Statement:
    """One cited sentence of a brief: ``text`` is exactly the source's text at ``start:end``."""

    n: int
    source_id: str
    start: int
    end: int
    text: str
    quote: bool


@dataclass(frozen=True)
class Speaker:
    """Someone the index attributes words to, with their most central statements (in reading order)."""

    name: str
    statements: list[Statement]
    count: int  # how many of the source's sentences are attributed to them


@dataclass(frozen=True)
class Brief:
    """The brief of one source."""

    source_id: str
    title: str
    url: str | None
    date: str | None
    lead: list[Statement]
    speakers: list[Speaker]
    citations: list[Citation]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Newest:
    """The lead sentence of each of the newest sources."""

    items: list[tuple[str, str, str | None, Statement]]  # source id, title, date, its lead sentence
    citations: list[Citation] = field(default_factory=list)
    hours: float = NEWEST_HOURS

    def to_json(self) -> dict[str, Any]:
        return {"hours": self.hours, "citations": [asdict(c) for c in self.citations],
                "items": [{"source_id": sid, "title": title, "date": date, "lead": asdict(lead)}
                          for sid, title, date, lead in self.items]}


def _answerable(answerer: Answerer, source_id: str) -> list[SentenceRecord]:
    retriever = answerer.retriever
    rows = retriever.state.rows_of({source_id}) or []
    sentences = [retriever.state.sentences[row] for row in rows]
    return sorted((s for s in sentences if s.role in ANSWER_ROLES), key=lambda s: s.start)


def _lead(sentences: list[SentenceRecord], limit: int = LEAD_SENTENCES) -> list[SentenceRecord]:
    """The first news-bearing sentences: body or standfirst (never a heading, caption or credit),
    long enough to say something, within LEAD_CHARS (the first one always)."""
    news = [s for s in sentences if len(s.text.split()) >= LEAD_MIN_WORDS] or sentences
    chosen: list[SentenceRecord] = []
    for s in news:
        if len(chosen) >= limit or chosen and sum(len(c.text) for c in chosen) + len(s.text) > LEAD_CHARS:
            break
        chosen.append(s)
    return chosen


def _central(answerer: Answerer, own: list[SentenceRecord], centre: np.ndarray) -> list[SentenceRecord]:
    """A speaker's most central statements: their direct quotes first, then by cosine to the mean
    of their own sentences plus the mean of the whole source; shown in reading order."""
    vectors = answerer.retriever.state.vectors
    mine = np.asarray(vectors[[s.row for s in own]], dtype=np.float32)
    theirs = mine.mean(axis=0)
    scores = mine @ theirs + mine @ centre
    ranked = sorted(range(len(own)), key=lambda i: (not own[i].is_quote, -float(scores[i]), own[i].start))
    return sorted((own[i] for i in ranked[:STATEMENTS]), key=lambda s: s.start)


def _statement(s: SentenceRecord, numbers: dict[int, int]) -> Statement | None:
    n = numbers.get(s.row)
    return None if n is None else Statement(n, s.source_id, s.start, s.end, s.text, s.is_quote)


def brief(answerer: Answerer, source_id: str) -> Brief:
    """The lead of ``source_id``, then each speaker (in order of first appearance) with their one or
    two most central statements; every sentence cited and verified (one that fails is left out)."""
    index = answerer.retriever.index
    entry = index.sources.get(source_id)
    if entry is None:
        known = ", ".join(sorted(index.sources)[:10]) or "none"
        raise InputError(f"No source with id {source_id!r} (known: {known}).")
    sentences = _answerable(answerer, source_id)
    lead = _lead(sentences)
    lead_rows = {s.row for s in lead}
    by_speaker: dict[str, list[SentenceRecord]] = {}
    for s in sentences:
        if s.speakers:
            by_speaker.setdefault(s.speakers[0], []).append(s)
    picked: list[tuple[str, list[SentenceRecord]]] = []
    if by_speaker:
        vectors = answerer.retriever.state.vectors
        centre = np.asarray(vectors[[s.row for s in sentences]], dtype=np.float32).mean(axis=0)
        for name, own in by_speaker.items():
            fresh = [s for s in own if s.row not in lead_rows] or own  # not the lead again, if they said more
            picked.append((name, _central(answerer, fresh, centre)))
    chosen = lead + [s for _, own in picked for s in own]
    citations, numbers = answerer.cite(list({s.row: s for s in chosen}.values()))
    speakers = []
    for name, own in picked:
        statements = [st for st in (_statement(s, numbers) for s in own) if st is not None]
        if statements:
            speakers.append(Speaker(name, statements, len(by_speaker[name])))
    source = entry.source
    return Brief(source.id, source.title, public_url(source.url) if source.url else None, source.date,
                 [st for st in (_statement(s, numbers) for s in lead) if st is not None], speakers, citations)


def _when(value: str | None) -> float | None:
    """Seconds since the epoch of an ISO date or date-time (UTC when no zone is given), or None."""
    if not value:
        return None
    for size, pattern in ((19, "%Y-%m-%dT%H:%M:%S"), (10, "%Y-%m-%d")):
        try:
            return float(timegm(time.strptime(value[:size].replace(" ", "T"), pattern)))
        except ValueError:
            continue
    return None


def newest(answerer: Answerer, hours: float = NEWEST_HOURS, now: float | None = None) -> Newest:
    """The sources published (or, without a date, added) in the last ``hours``, newest first; at
    least the newest NEWEST_AT_LEAST, at most NEWEST_AT_MOST; one lead sentence each, cited."""
    now = time.time() if now is None else now
    entries = list(answerer.retriever.index.sources.values())
    timed = [(_when(e.source.date) or _when(e.added_at) or 0.0, e) for e in entries]
    timed.sort(key=lambda te: (-te[0], te[1].source.id))
    recent = [te for te in timed if te[0] >= now - hours * 3600]
    shown = (recent if len(recent) >= NEWEST_AT_LEAST else timed[:NEWEST_AT_LEAST])[:NEWEST_AT_MOST]
    leads: list[tuple[str, SentenceRecord]] = []
    for _, entry in shown:
        first = _lead(_answerable(answerer, entry.source.id), limit=1)
        if first:
            leads.append((entry.source.id, first[0]))
    citations, numbers = answerer.cite([s for _, s in leads])
    items = []
    for sid, s in leads:
        statement = _statement(s, numbers)
        if statement is not None:
            source = answerer.retriever.index.sources[sid].source
            items.append((sid, source.title, source.date, statement))
    return Newest(items, citations, hours)
