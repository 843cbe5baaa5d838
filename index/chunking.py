"""Pure text -> blocks -> sentence-aware chunks, every piece with exact character offsets.

The invariant every caller relies on: ``text[c.start:c.end] == c.text`` for each chunk and
``text[s.start:s.end] == s.text`` for each sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from index.types import ANSWER_ROLES, Block, Chunk, Sentence

CHUNKER_VERSION = "4"
MAX_CHUNK_WORDS = 150  # all-MiniLM-L6-v2 reads 256 word pieces; news words average ~1.3 pieces
# Hard caps, whatever the text: an unpunctuated 5 MB attachment becomes many bounded pieces,
# never one "sentence" that the parser (spaCy refuses over 1,000,000 characters) or the
# embedder would choke on. A news sentence is rarely over 500 characters.
MAX_SENTENCE_CHARS = 1000
MAX_CHUNK_CHARS = 3000

_TERMINAL = tuple(".!?”\"’')…:;。！？」")
_CREDIT_LINE = re.compile(r"^\((?:[^()]{1,60})\)$")
_SOURCE_LINE = re.compile(
    r"^(?:Source|Sources|Additional reporting|Reporting by|Editing by|Written by)\b[^:]{0,20}:\s",
    re.IGNORECASE,
)
# "By Daniel Ochoa", "By Jane Roe and John Doe, Reuters", "Published 14 Feb 2022"
_BYLINE = re.compile(
    r"^(?:B[yY]\s+[A-Z][\w'’.\-]*(?:\s+(?:[A-Z][\w'’.\-]*|and|&|de|da|van|von|bin|al)|,\s*[A-Z][\w'’.\-]*)*"
    r"|(?:Published|Updated|Posted|Last updated)\b[^.!?]*)$"
)
_LABEL_LINE = re.compile(
    r"^(?:INTERACTIVE|GRAPHIC|INFOGRAPHIC|VIDEO|WATCH|READ MORE|LISTEN|RELATED|ADVERTISEMENT|"
    r"Advertisement|Read more|Watch|Related)\b[\s:\-–—]"
)
_TRAILING_CREDIT = re.compile(r"\s\[[^\[\]]{2,200}(?:\]|$)\s*$")
_MD_HEADING = re.compile(r"^(#{1,6})\s+")
_MD_IMAGE = re.compile(r"^!\[[^\]]*\]\([^)]*\)\s*$")


def _lines(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """(start, end) of each non-empty line between start and end, trimmed of spaces."""
    pos = start
    for line in text[start:end].split("\n"):
        stripped = line.strip()
        if stripped:
            left = pos + (len(line) - len(line.lstrip()))
            yield left, left + len(stripped)
        pos += len(line) + 1


def _raw_blocks(text: str) -> Iterator[list[tuple[int, int]]]:
    """Groups of lines separated by blank lines."""
    for match in re.finditer(r"(?:[^\n]|\n(?![ \t]*\n))+", text):
        lines = list(_lines(text, match.start(), match.end()))
        if lines:
            yield lines


def _ends_sentence(line: str) -> bool:
    return line.rstrip().endswith(_TERMINAL)


def _classify_line(line: str) -> str | None:
    """A role decided by the line alone, or None when context is needed."""
    if _CREDIT_LINE.match(line) or _SOURCE_LINE.match(line) or _MD_IMAGE.match(line):
        return "credit"
    if len(line.split()) <= 12 and _BYLINE.match(line.strip()):
        return "credit"
    if _LABEL_LINE.match(line):
        return "label"
    if _TRAILING_CREDIT.search(line):
        return "caption"
    return None


_EMPHASIS = ("**", "__", "*", "_")


def _unwrap(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop Markdown emphasis that wraps a whole block (*standfirst*), keeping offsets exact."""
    for mark in _EMPHASIS:
        n = len(mark)
        if end - start > 2 * n and text.startswith(mark, start) and text.endswith(mark, 0, end):
            return start + n, end - n
    return start, end


def split_blocks(text: str) -> list[tuple[Block, int]]:
    """Blocks with their role and section, each paired with its 1-based paragraph number."""
    result: list[tuple[Block, int]] = []
    section: str | None = None
    seen_title = False
    body_seen = 0
    for number, lines in enumerate(_raw_blocks(text), start=1):
        strings = [text[s:e] for s, e in lines]
        heading = _MD_HEADING.match(strings[0])
        if len(lines) == 1 and heading:
            s, e = lines[0]
            s += heading.end()
            role = "title" if not seen_title and len(heading.group(1)) == 1 else "heading"
            seen_title = True
            if role == "heading":
                section = text[s:e].strip()
            result.append((Block(s, e, role, section), number))
            continue
        if not seen_title and len(lines) == 1 and not _ends_sentence(strings[0]):
            seen_title = True
            result.append((Block(*lines[0], "title", None), number))
            continue
        seen_title = True
        roles = [_classify_line(s) for s in strings]
        if any(roles) or len(lines) > 1 and all(not _ends_sentence(s) for s in strings[:-1]) and any(
            _TRAILING_CREDIT.search(s) for s in strings
        ):
            # A picture block: alt text, caption with [credit], labels, credits, line by line.
            for i, ((s, e), line) in enumerate(zip(lines, strings, strict=True)):
                line_role = roles[i]
                if line_role == "caption":
                    credit = _TRAILING_CREDIT.search(line)
                    assert credit is not None
                    result.append((Block(s, s + credit.start(), "caption", section), number))
                    result.append((Block(s + credit.start() + 1, e, "credit", section), number))
                elif line_role:
                    result.append((Block(s, e, line_role, section), number))
                elif not _ends_sentence(line) and i + 1 < len(lines) and roles[i + 1] == "caption":
                    result.append((Block(s, e, "caption", section), number))
                elif not _ends_sentence(line):
                    result.append((Block(s, e, "label", section), number))
                else:
                    result.append((Block(s, e, "body", section), number))
            continue
        if len(lines) == 1 and not _ends_sentence(strings[0]) and len(strings[0].split()) <= 12:
            section = strings[0].strip()
            result.append((Block(*lines[0], "heading", section), number))
            continue
        if len(lines) > 1 and all(_ends_sentence(s) for s in strings) and min(len(s) for s in strings) > 60:
            # One paragraph per line (text exported without blank lines between paragraphs).
            for s, e in lines:
                role = "standfirst" if body_seen == 0 and section is None else "body"
                body_seen += 1
                result.append((Block(s, e, role, section), number))
            continue
        role = "standfirst" if body_seen == 0 and section is None and len(lines) == 1 else "body"
        body_seen += 1
        result.append((Block(*_unwrap(text, lines[0][0], lines[-1][1]), role, section), number))
    return result


def _segment(text: str) -> list[str]:
    from sentencex import segment

    return list(segment("en", text))


def split_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans within text[start:end], trimmed of surrounding white space."""
    piece = text[start:end]
    spans: list[tuple[int, int]] = []
    cursor = 0
    for sentence in _segment(piece):
        stripped = sentence.strip()
        if not stripped:
            continue
        found = piece.find(stripped, cursor)
        if found < 0:  # the segmenter changed the text; fall back to the whole rest
            found = cursor
            stripped = piece[cursor:].strip()
        s, e = found, found + len(stripped)
        # A fragment starting in lower case (e.g. after "approx.") continues the sentence.
        if spans and (stripped[0].islower() or stripped[0] in ",;)") and not stripped[0].isdigit():
            spans[-1] = (spans[-1][0], e)
        else:
            spans.append((s, e))
        cursor = e
        if not stripped or cursor >= len(piece):
            break
    tail = piece[cursor:].strip()
    if tail:
        s = piece.find(tail, cursor)
        spans.append((s, s + len(tail)))
    return [capped for s, e in spans for capped in _cap(text, start + s, start + e)]


def _cap(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """A span cut into pieces of at most MAX_SENTENCE_CHARS, at the last space where there is one."""
    while end - start > MAX_SENTENCE_CHARS:
        cut = text.rfind(" ", start + MAX_SENTENCE_CHARS // 2, start + MAX_SENTENCE_CHARS)
        cut = cut if cut > start else start + MAX_SENTENCE_CHARS
        yield start, cut
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        yield start, end


def _group(sentences: list[tuple[int, int]], text: str) -> Iterator[list[tuple[int, int]]]:
    """Consecutive sentences grouped so that no group exceeds MAX_CHUNK_WORDS (bar one long sentence)."""
    group: list[tuple[int, int]] = []
    words = 0
    for s, e in sentences:
        n = len(text[s:e].split())
        if group and (words + n > MAX_CHUNK_WORDS or e - group[0][0] > MAX_CHUNK_CHARS):
            yield group
            group, words = [], 0
        group.append((s, e))
        words += n
    if group:
        yield group


def chunk_source(source_id: str, text: str) -> list[Chunk]:
    """Every block that carries text, as chunks of whole sentences with offsets."""
    chunks: list[Chunk] = []
    for block, number in split_blocks(text):
        if block.role in ("title", "heading", "credit", "label"):
            continue
        spans = split_sentences(text, block.start, block.end)
        if block.role not in ANSWER_ROLES:
            spans = list(_cap(text, block.start, block.end))
        for group in _group(spans, text):
            start, end = group[0][0], group[-1][1]
            chunks.append(
                Chunk(
                    source_id=source_id,
                    section=block.section,
                    paragraph=number,
                    start=start,
                    end=end,
                    text=text[start:end],
                    role=block.role,
                    sentences=tuple(Sentence(s, e, text[s:e]) for s, e in group),
                )
            )
    return chunks
