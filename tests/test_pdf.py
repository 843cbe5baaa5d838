"""PDF sources: text per page, furniture dropped, citations with their page; bad PDFs refused cleanly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import bot.cli as cli
from bot.reading import read_paths
from bot.render import render_answer
from bot.service import QAService
from index.errors import SourceError
from index.sources import read_file
from tests.pdfs import image_only_pdf, make_pdf

PAGES = [
    ["The harbour master said the cranes on berth four were repaired in March after the storm damaged "
     "their motors and the control cabins.",
     "Traffic through the port resumed within two weeks of the repairs."],
    ["Board chair Ingrid Solberg said the port would invest forty million crowns in flood barriers "
     "along the northern quay."],
    ["Revenue rose by twelve percent in the year, the finance director said, mostly from container traffic."],
]


@pytest.fixture
def report(tmp_path: Path) -> Path:
    return make_pdf(tmp_path / "report.pdf", PAGES, title="Harbour Board Annual Report 2026")


def test_pdf_text_is_read_per_page_without_running_headers_or_page_numbers(report: Path) -> None:
    src = read_file(report)
    assert src.title == "Harbour Board Annual Report 2026"
    assert "Annual Report\n" not in src.text and "Harbour Board - Annual Report" not in src.text
    assert "Page 1" not in src.text and "Page 2" not in src.text
    assert len(src.pages) == 3
    solberg = src.text.index("Board chair Ingrid Solberg")
    assert src.page_at(0) == 1 and src.page_at(solberg) == 2
    assert src.page_at(src.text.index("Revenue rose")) == 3
    assert "control cabins" in src.text  # lines rejoined into one paragraph


def test_citations_carry_the_page(fake_service: QAService, report: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake_service.catalog.build(read_paths([report]))
    answer = fake_service.ask("What did Ingrid Solberg say about flood barriers?")
    assert answer.found
    assert answer.citations[0].page == 2
    assert answer.to_json()["citations"][0]["page"] == 2
    assert "p. 2 ¶" in render_answer(answer)
    assert fake_service.list_sources()[0].title == "Harbour Board Annual Report 2026"


@pytest.mark.parametrize("kind, message", [
    ("broken", "not a readable PDF"),
    ("encrypted", "encrypted PDF"),
    ("image", "no text layer"),
    ("empty", "is empty|not a readable PDF"),
])
def test_bad_pdfs_get_one_clear_line_and_change_nothing(
    built_fake_service: QAService, tmp_path: Path, kind: str, message: str,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / f"{kind}.pdf"
    if kind == "broken":
        good = make_pdf(tmp_path / "good.pdf", PAGES).read_bytes()
        path.write_bytes(good[: len(good) // 3])
    elif kind == "encrypted":
        make_pdf(path, PAGES, password="s3cret")
    elif kind == "image":
        image_only_pdf(path)
    else:
        path.write_bytes(b"%PDF-1.7\n")
    with pytest.raises(SourceError, match=message):
        read_file(path)
    before = built_fake_service.list_sources()
    monkeypatch.setattr(cli, "make_service", lambda *args, **kwargs: built_fake_service)
    code = cli.run(["sources", "add", str(path)])
    _, err = capsys.readouterr()
    assert code == 1 and err.count("\n") == 1 and err.startswith("error: ")
    assert built_fake_service.list_sources() == before


def test_pdf_page_is_in_the_cli_json(built_fake_service: QAService, report: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cli, "make_service", lambda *args, **kwargs: built_fake_service)
    assert cli.run(["sources", "add", str(report)]) == 0
    capsys.readouterr()
    assert cli.run(["ask", "--json", "How much did revenue rise?"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["found"] and data["citations"][0]["page"] == 3
