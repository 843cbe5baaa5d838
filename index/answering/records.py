"""What answering returns: the Answer and its Citations (the documented JSON schema), and the
``[answer]`` settings it runs with."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


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
