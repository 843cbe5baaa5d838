"""PDF -> text with paragraphs rebuilt from lines, page furniture dropped, and where each page starts.

Text is extracted per page with pypdf. Lines that repeat on most pages (running headers and
footers, once digits are masked) and bare page numbers are dropped; lines are joined into
paragraphs (a paragraph ends at a blank line, or at a short line that ends a sentence), words
hyphenated across lines are rejoined. Pages are separated by a blank line, so no paragraph spans
two pages and every offset maps to one page.
"""

from __future__ import annotations

import io
import logging
import re
from collections import Counter
from typing import TYPE_CHECKING, Any

from index.errors import SourceError

if TYPE_CHECKING:
    from index.deadline import Deadline

log = logging.getLogger(__name__)
MAX_PDF_PAGES = 500
PDF_SECONDS = 60.0

_PAGE_NUMBER = re.compile(r"^(?:page\s*)?[-–—(\[]?\s*\d{1,4}\s*[-–—)\]]?(?:\s*(?:of|/)\s*\d{1,4})?$", re.IGNORECASE)
_ENDS_SENTENCE = re.compile(r"[.!?:;”\"')\]。！？]$")
_HYPHENATED = re.compile(r"[A-Za-zÀ-ÿ]-$")


def _mask(line: str) -> str:
    return re.sub(r"\d+", "#", line.strip().lower())


def _furniture(pages: list[list[str]]) -> set[str]:
    """Masked lines found at the top or bottom of at least half of the pages (3 pages or more;
    both pages of a 2-page document)."""
    if len(pages) < 2:
        return set()
    edges: Counter[str] = Counter()
    for lines in pages:
        edges.update({_mask(line) for line in lines[:2] + lines[-2:] if 0 < len(line.strip()) <= 120})
    need = max(2, (len(pages) + 1) // 2)
    return {line for line, n in edges.items() if n >= need}


def _paragraphs(lines: list[str]) -> list[str]:
    """Lines joined into paragraphs."""
    widths = sorted(len(line) for line in lines if line.strip())
    typical = widths[int(len(widths) * 0.8)] if widths else 0
    paragraphs: list[str] = []
    current = ""
    for raw in lines:
        line = " ".join(raw.split())
        if not line:
            if current:
                paragraphs.append(current)
            current = ""
            continue
        if current and _HYPHENATED.search(current) and line[:1].islower():
            current = current[:-1] + line
        else:
            current = f"{current} {line}" if current else line
        if _ENDS_SENTENCE.search(line) and len(raw.rstrip()) < 0.8 * typical:
            paragraphs.append(current)
            current = ""
    if current:
        paragraphs.append(current)
    return paragraphs


def pdf_pages(data: bytes, name: str, *, max_pages: int = MAX_PDF_PAGES,
              deadline: Deadline | None = None) -> tuple[list[str], str | None]:
    """Each page's text as paragraphs separated by blank lines, and the document title if it has one.

    A broken, encrypted or image-only PDF, one of more than ``max_pages`` pages (default 500) and
    one whose text is not read within ``deadline`` (checked between pages and at each drawing
    operation of a page; by default ``PDF_SECONDS``, 60 s) raise SourceError with one clear line.
    """
    from pypdf import PdfReader

    from index.deadline import Deadline

    budget = deadline or Deadline(PDF_SECONDS)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                opened = bool(reader.decrypt(""))  # some PDFs are "encrypted" with an empty password
            except Exception:  # noqa: BLE001 - pypdf raises several kinds here
                opened = False
            if not opened:
                raise SourceError(f"{name} is an encrypted PDF; save an unencrypted copy and add that.")
        count = len(reader.pages)
        if count > max_pages:
            raise SourceError(f"{name} has {count} pages; at most {max_pages} can be added. Split it into parts.")
        raw_pages = []

        def at_each_operation(operator: Any, operands: Any, cm: Any, tm: Any) -> None:
            budget.remaining()  # so that one heavy page stops too, not only the next one

        for page in reader.pages:
            budget.remaining()
            raw_pages.append(page.extract_text(visitor_operand_before=at_each_operation) or "")
        budget.remaining()
        title = reader.metadata.title if reader.metadata and reader.metadata.title else None
    except SourceError:
        raise
    except TimeoutError:
        raise SourceError(f"{name} took too long to read (more than {budget.seconds:g} seconds); "
                          "it was not added.") from None
    except Exception as exc:  # noqa: BLE001 - pypdf meets hostile input with many kinds of error
        log.info("PDF %s refused: %s: %s", name, type(exc).__name__, exc)
        raise SourceError(f"{name} is not a readable PDF ({type(exc).__name__}).") from None
    if not raw_pages:
        raise SourceError(f"{name} is a PDF with no pages.")
    pages = [[line.rstrip() for line in text.replace("\r", "\n").split("\n")] for text in raw_pages]
    furniture = _furniture(pages)
    texts = []
    for lines in pages:
        kept = [line for line in lines if _mask(line) not in furniture and not _PAGE_NUMBER.match(line.strip())]
        texts.append("\n\n".join(_paragraphs(kept)))
    if not any(re.search(r"\w", t) for t in texts):
        raise SourceError(f"{name} has no text layer (is it scanned images?); add a PDF with text in it.")
    return texts, (" ".join(title.split()) or None) if isinstance(title, str) else None
