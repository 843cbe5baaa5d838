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
