"""PDFs made by the tests with fpdf2: running header and footer on every page, like real reports."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF


class _Report(FPDF):
    header_text = ""

    def header(self) -> None:
        self.set_font("Helvetica", size=9)
        self.cell(0, 8, self.header_text, new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", size=9)
        self.cell(0, 8, f"Page {self.page_no()}", align="C")


def make_pdf(path: Path, pages: list[list[str]], title: str = "", header: str = "Harbour Board - Annual Report",
             password: str | None = None) -> Path:
    """One page per list of paragraphs; ``password`` encrypts it (owner and user password)."""
    pdf = _Report()
    pdf.header_text = header
    if title:
        pdf.set_title(title)
    if password:
        pdf.set_encryption(owner_password=password, user_password=password)
    for paragraphs in pages:
        pdf.add_page()
        pdf.set_font("Helvetica", size=11)
        for paragraph in paragraphs:
            pdf.multi_cell(0, 6, paragraph)
            pdf.ln(4)
    pdf.output(str(path))
    return path


def image_only_pdf(path: Path) -> Path:
    """A page with nothing but a drawn shape: no text layer at all."""
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")
    pdf.output(str(path))
    return path


def raw_pdf(objects: list[bytes]) -> bytes:
    """A PDF written byte by byte: object 1 is the catalog; the cross-reference table is computed."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def stream_pdf(content: bytes, *, pages: int = 1, stream_dict: bytes = b"") -> bytes:
    """``pages`` pages that all draw the same content stream (object 4), in Helvetica as /F1;
    ``stream_dict`` adds entries to the stream's dictionary (a /Filter, say)."""
    kids = b" ".join(b"%d 0 R" % (5 + i) for i in range(pages))
    page = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents 4 0 R >>")
    return raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d %s >>\nstream\n%s\nendstream" % (len(content), stream_dict, content),
        *[page] * pages,
    ])


def heavy_shared_stream_pdf(pages: int = 100, operations: int = 100_000) -> bytes:
    """Many pages sharing one compressed content stream of many text operations: small on disk
    (100 pages of 100,000 operations are about 20 KB), slow to extract page after page."""
    import zlib

    content = b"BT /F1 12 Tf " + b"1 0 0 1 72 700 Tm (word) Tj " * operations + b"ET"
    return stream_pdf(zlib.compress(content, 9), pages=pages, stream_dict=b"/Filter /FlateDecode")
