"""Chunking: structure roles, sentence boundaries and the offset invariant."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.reading import BUNDLED_ARTICLE
from index.chunking import (
    MAX_CHUNK_CHARS,
    MAX_CHUNK_WORDS,
    MAX_SENTENCE_CHARS,
    chunk_source,
    split_blocks,
    split_sentences,
)

DATA = Path(__file__).parent / "data"
ARTICLE = BUNDLED_ARTICLE.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", [BUNDLED_ARTICLE, DATA / "harbour.txt"])
def test_every_chunk_and_sentence_is_an_exact_slice(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    chunks = chunk_source("s", text)
    assert chunks
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        for sentence in chunk.sentences:
            assert text[sentence.start : sentence.end] == sentence.text
            assert chunk.start <= sentence.start < sentence.end <= chunk.end


def _roles(text: str) -> dict[str, str]:
    return {text[b.start : b.end]: b.role for b, _ in split_blocks(text)}


def test_news_page_structure_is_recognised() -> None:
    roles = _roles(ARTICLE)
    assert roles["Russia says ready to continue diplomacy amid Ukraine crisis"] == "title"
    assert roles["Scholz urges dialogue"] == "heading"
    assert roles["NATO membership"] == "heading"
    assert roles["(Al Jazeera)"] == "credit"
    assert roles["Source: Al Jazeera and news agencies"] == "credit"
    assert roles["INTERACTIVE- NATO members in Europe expand eastwards"] == "label"
    assert roles["[Aleksey Nikolskyi/Sputnik/Kremlin via Reuters]"] == "credit"
    assert roles["[Valentyn Ogirenko"] == "credit"  # unclosed bracket in the source
    caption = next(k for k in roles if k.startswith("Russian Foreign Minister Sergey Lavrov has advised"))
    assert roles[caption] == "caption"
    assert roles["Russian Foreign Minister Sergey Lavrov"] == "caption"


def test_headings_become_the_section_of_what_follows() -> None:
    chunks = chunk_source("s", ARTICLE)
    scholz = next(c for c in chunks if c.text.startswith("During a news conference"))
    assert scholz.section == "Scholz urges dialogue"
    kremlin = next(c for c in chunks if c.text.startswith("The Kremlin said"))
    assert kremlin.section == "NATO membership"
    first = next(c for c in chunks if c.text.startswith("Russia has said"))
    assert first.section is None


def test_paragraph_numbers_count_blocks_of_the_source() -> None:
    chunks = chunk_source("s", ARTICLE)
    blocks = [b for b in ARTICLE.split("\n\n") if b.strip()]
    for chunk in chunks:
        assert chunk.text in blocks[chunk.paragraph - 1]


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "Dr. Smith met U.S. officials on Feb. 14 in Washington. They agreed.",
            ["Dr. Smith met U.S. officials on Feb. 14 in Washington.", "They agreed."],
        ),
        (
            "“I would suggest continuing,” Lavrov said in televised remarks. “Fine,” Putin replied.",
            ["“I would suggest continuing,” Lavrov said in televised remarks.", "“Fine,” Putin replied."],
        ),
        ("He said “no.” Then he left.", ["He said “no.”", "Then he left."]),
        ("Prices rose 3.5 percent in Jan. and fell in Feb.", ["Prices rose 3.5 percent in Jan. and fell in Feb."]),
    ],
)
def test_sentence_splitting_respects_abbreviations_and_quotes(text: str, expected: list[str]) -> None:
    spans = split_sentences(text, 0, len(text))
    assert [text[s:e] for s, e in spans] == expected


def test_long_paragraphs_are_split_at_sentence_boundaries() -> None:
    sentence = "The committee reviewed the budget proposal in considerable detail on Monday. "
    text = "Headline here\n\n" + sentence * 60
    chunks = chunk_source("s", text)
    assert len(chunks) > 1
    for chunk in chunks:
        assert len(chunk.text.split()) <= MAX_CHUNK_WORDS
        assert chunk.text.endswith(".")
    assert len({c.paragraph for c in chunks}) == 1


def test_markdown_headings_and_images() -> None:
    text = "# Big news\n\nIntro sentence here.\n\n## Details\n\n![a photo](x.jpg)\n\nThe body says this.\n"
    chunks = chunk_source("s", text)
    body = next(c for c in chunks if c.text == "The body says this.")
    assert body.section == "Details"
    assert all("photo" not in c.text for c in chunks)
    assert all(c.text != "Big news" for c in chunks)


def test_captions_are_not_answer_roles_but_body_is() -> None:
    chunks = chunk_source("s", ARTICLE)
    captions = [c for c in chunks if c.role == "caption"]
    assert len(captions) == 6
    assert all(c.role in ("body", "standfirst", "caption") for c in chunks)


def test_bylines_and_publication_lines_are_credits_not_headings() -> None:
    text = (
        "Storm closes ferry routes\n\nBy Jane Roe and John Doe, Reuters\n\nPublished 3 March 2024\n\n"
        "Ferries stayed in port on Monday. By noon, winds reached 90 km/h.\n\nBy Monday\n\nMore text follows here."
    )
    roles = _roles(text)
    assert roles["By Jane Roe and John Doe, Reuters"] == "credit"
    assert roles["Published 3 March 2024"] == "credit"
    body = next(c for c in chunk_source("s", text) if c.text.startswith("Ferries"))
    assert body.section is None  # a byline does not become the section of what follows


@pytest.mark.parametrize("body", [
    "word " * 300_000 + "end.",  # 1.5 MB with no sentence end
    "x" * 1_500_000 + ".",  # no space at all
    "中文句子没有标点" * 100_000 + "。",  # CJK without spaces or stops
])
def test_unpunctuated_text_becomes_bounded_pieces_with_exact_offsets(body: str) -> None:
    text = f"Title\n\n{body}\n"
    chunks = chunk_source("big", text)
    sentences = [s for c in chunks for s in c.sentences]
    assert sentences and max(len(s.text) for s in sentences) <= MAX_SENTENCE_CHARS
    assert max(len(c.text) for c in chunks) <= MAX_CHUNK_CHARS
    assert all(text[s.start:s.end] == s.text for s in sentences)
    covered = sum(len(s.text) for s in sentences)
    assert covered >= len(body.replace(" ", "")) * 0.99  # nothing dropped but spaces
