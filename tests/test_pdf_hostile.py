"""Hostile PDFs: every failure of the PDF reader is a clear refusal, and no PDF holds the build thread.

The PDFs are made here: real reports written with fpdf2 (tests/pdfs.py), PDFs written byte by
byte to reach one reader failure each, and seeded mutations of the real ones.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from index.deadline import Deadline
from index.errors import SourceError
from index.pdf import MAX_PDF_PAGES, pdf_pages
from index.sources import read_file, source_from_bytes
from tests.pdfs import heavy_shared_stream_pdf, make_pdf, stream_pdf

SENTENCES = [
    "The harbour master said the cranes on berth four were repaired in March after the storm.",
    "Board chair Ingrid Solberg said the port would invest forty million crowns in flood barriers.",
    "Revenue rose by twelve percent in the year, the finance director said, mostly from containers.",
]


@pytest.mark.parametrize("name, data", [
    ("unknown-filter.pdf", stream_pdf(b"xx", stream_dict=b"/Filter /FooDecode")),  # NotImplementedError
    ("removed-filter.pdf", stream_pdf(b"48656c6c6f>", stream_dict=b"/Filter /AHx")),  # DeprecationError
    ("huge-array.pdf", stream_pdf(b"BT /F1 12 Tf 72 700 Td [" + b"(a) " * 100_001 + b"] TJ ET")),  # LimitReached
])
def test_every_reader_failure_is_a_refusal_naming_the_pdf(name: str, data: bytes) -> None:
    with pytest.raises(SourceError, match=rf"^{name} is not a readable PDF \(") as refused:
        source_from_bytes(data, name, kind="attachment", location=f"attachment:{name}")
    assert "\n" not in str(refused.value)


def _mutations(seed: int, bases: list[bytes], count: int) -> list[bytes]:
    """Byte flips, truncations, splices of two PDFs and repeated slices, drawn with one seed."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        data = bytearray(rng.choice(bases))
        kind = rng.randrange(4)
        if kind == 0:
            for _ in range(rng.randint(1, 24)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif kind == 1:
            data = data[: rng.randrange(len(data))]
        elif kind == 2:
            other = rng.choice(bases)
            data = data[: rng.randrange(len(data))] + other[rng.randrange(len(other)):]
        else:
            start = rng.randrange(len(data))
            piece = data[start: start + rng.randint(1, 400)]
            at = rng.randrange(len(data))
            data[at:at] = piece * rng.randint(1, 8)
        out.append(bytes(data))
    return out


def test_mutated_pdfs_are_read_or_refused_never_anything_else(tmp_path: Path) -> None:
    bases = [
        make_pdf(tmp_path / "report.pdf", [[s] for s in SENTENCES], title="Harbour report").read_bytes(),
        make_pdf(tmp_path / "short.pdf", [SENTENCES[:2]]).read_bytes(),
        make_pdf(tmp_path / "locked.pdf", [SENTENCES[2:]], password="s3cret").read_bytes(),
    ]
    escaped: list[str] = []
    read = refused = 0
    for case, data in enumerate(_mutations(18, bases, 300)):
        try:
            source_from_bytes(data, f"case-{case}.pdf", kind="attachment", location=f"attachment:{case}")
            read += 1
        except SourceError as exc:
            assert "\n" not in str(exc)
            refused += 1
        except Exception as exc:  # noqa: BLE001 - what the test looks for
            escaped.append(f"case {case}: {type(exc).__name__}: {exc}"[:200])
    assert not escaped, escaped
    assert read and refused  # the mutations reach both outcomes, so the assertion above means something


PAGE = b"BT /F1 12 Tf 72 700 Td (The ferry captain said the winter timetable starts in December.) Tj ET"


def test_a_pdf_with_more_pages_than_the_cap_is_refused_before_its_text_is_read(tmp_path: Path) -> None:
    assert MAX_PDF_PAGES == 500
    pages = [[f"The {word} story said the ferry timetable changes in winter."] for word in
             ("first", "second", "third", "fourth", "fifth", "sixth")]
    five = make_pdf(tmp_path / "five.pdf", pages[:5]).read_bytes()
    assert len(pdf_pages(five, "five.pdf", max_pages=5)[0]) == 5
    six = make_pdf(tmp_path / "six.pdf", pages)
    with pytest.raises(SourceError, match=r"^six\.pdf has 6 pages; at most 5 can be added\."):
        pdf_pages(six.read_bytes(), "six.pdf", max_pages=5)
    with pytest.raises(SourceError, match="has 6 pages; at most 5"):
        read_file(six, max_pages=5)
    with pytest.raises(SourceError, match="has 6 pages; at most 5"):
        source_from_bytes(six.read_bytes(), "six.pdf", kind="attachment", location="a:six", max_pages=5)
    assert len(read_file(six).pages) == 6  # the default cap is far above


def test_the_time_budget_is_checked_between_pages() -> None:
    ticks = itertools.count()
    clock: Callable[[], float] = lambda: float(next(ticks))  # noqa: E731 - one second per look at the clock
    deadline = Deadline(3.0, clock=clock)
    with pytest.raises(SourceError, match=r"^many\.pdf took too long to read \(more than 3 seconds\)"):
        source_from_bytes(stream_pdf(PAGE, pages=40), "many.pdf", kind="attachment", location="a:many",
                          deadline=deadline)
    assert next(ticks) <= 5  # the clock was read between pages and reading stopped at the first expiry


def test_a_small_pdf_of_pages_sharing_one_heavy_stream_is_bounded(tmp_path: Path) -> None:
    """100 pages drawing one stream of 3,000 operations: about 20 s to extract here without a budget
    (100,000 operations, the reported case, 10 s a page). With a budget, reading stops at it."""
    data = heavy_shared_stream_pdf(pages=100, operations=3000)
    assert len(data) < 20_000
    with pytest.raises(SourceError, match="took too long to read"):
        pdf_pages(data, "heavy.pdf", deadline=Deadline(0.3))
    path = tmp_path / "heavy.pdf"
    path.write_bytes(data)
    with pytest.raises(SourceError, match="took too long to read"):
        read_file(path, deadline=Deadline(0.3))


def test_one_heavy_page_is_stopped_within_its_drawing_operations() -> None:
    """The budget is also checked at each operation of a page, so a single page of many
    operations cannot run far past it (only parsing its content stream, which pypdf bounds)."""
    ticks = itertools.count()
    deadline = Deadline(50.0, clock=lambda: float(next(ticks)))
    with pytest.raises(SourceError, match="took too long to read"):
        pdf_pages(heavy_shared_stream_pdf(pages=1, operations=3000), "one-page.pdf", deadline=deadline)
    assert next(ticks) < 100  # stopped at the 50th look, well before the 3,000 operations
