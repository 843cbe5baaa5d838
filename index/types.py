"""Plain, immutable records passed between the stages of the pipeline."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

# Roles a block of a news page can play. Only "body" and "standfirst" text may answer.
ANSWER_ROLES = frozenset({"body", "standfirst"})


@dataclass(frozen=True)
class Source:
    """A document as stored: ``text`` is what every offset points into."""

    id: str
    kind: str  # file | url | attachment | bundled | feed (an item of an RSS/Atom feed)
    location: str
    title: str
    text: str
    content_hash: str
    url: str | None = None
    publisher: str | None = None
    date: str | None = None
    feed: str | None = None  # the feed's URL, for an item of a feed
    pages: tuple[int, ...] = ()  # for a PDF: where each page starts in ``text`` (page 1 at pages[0])

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding character ``offset`` (None when the source has no pages)."""
        if not self.pages:
            return None
        return max(1, bisect.bisect_right(self.pages, offset))


@dataclass(frozen=True)
class Block:
    """A paragraph-level piece of a source with its structural role."""

    start: int
    end: int
    role: str  # title | standfirst | body | heading | caption | credit | label
    section: str | None = None


@dataclass(frozen=True)
class Sentence:
    """One sentence with its character offsets into the source text."""

    start: int
    end: int
    text: str
    speakers: tuple[str, ...] = ()  # who is reported as saying it, primary first
    is_quote: bool = False
    entities: tuple[tuple[str, str], ...] = ()  # (spaCy label, text): ("PERSON", "Olaf Scholz")


@dataclass(frozen=True)
class Chunk:
    """A passage (one paragraph, or part of a long one) that citations point to."""

    source_id: str
    section: str | None
    paragraph: int  # 1-based count of body paragraphs in the source
    start: int
    end: int
    text: str
    role: str
    sentences: tuple[Sentence, ...] = field(default=())


@dataclass(frozen=True)
class SentenceRecord:
    """A sentence as loaded back from the index, with what it needs for citing."""

    row: int  # position in the FAISS index
    source_id: str
    chunk_id: int
    start: int
    end: int
    text: str
    role: str
    speakers: tuple[str, ...]
    is_quote: bool
    entities: tuple[tuple[str, str], ...] = ()
    digest: str = ""  # sha256 of the sentence text as indexed: what citations are verified against


@dataclass(frozen=True)
class Hit:
    """A retrieved sentence with its ranking score and the named features behind it."""

    sentence: SentenceRecord
    score: float
    dense: float
    lexical: float
    features: dict[str, float] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class ChunkRecord:
    """A passage as loaded back: what a citation shows."""

    id: int
    source_id: str
    section: str | None
    paragraph: int
    start: int
    end: int
    role: str
    text: str
