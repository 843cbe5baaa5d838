"""Reading files: formats, metadata, and clear refusals of bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.reading import bundled_source
from index.errors import SourceError
from index.sources import expand_paths, read_file


def test_bundled_article_has_its_metadata() -> None:
    src = bundled_source()
    assert src.title == "Russia says ready to continue diplomacy amid Ukraine crisis"
    assert src.publisher == "Al Jazeera"
    assert src.date == "2022-02-14"
    assert src.kind == "bundled"


def test_html_is_extracted_with_title_and_headings(tmp_path: Path) -> None:
    html = """<html><head><title>Harbour strike ends</title>
    <meta property="og:site_name" content="Coastal Wire"></head><body>
    <nav>Home | World | Sport</nav>
    <article><h1>Harbour strike ends</h1>
    <p>Dockworkers returned to work on Friday after a deal was reached with the operators.</p>
    <h2>What the deal says</h2>
    <p>The agreement raises pay by seven percent over two years, union leader Marta Kowalczyk said.</p>
    <p>Cargo traffic is expected to return to normal by the end of next week, officials said.</p>
    </article><footer>Copyright 2026</footer></body></html>"""
    path = tmp_path / "strike.html"
    path.write_text(html, encoding="utf-8")
    src = read_file(path)
    assert src.title == "Harbour strike ends"
    assert "seven percent" in src.text
    assert "Home | World" not in src.text
    assert "<p>" not in src.text


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("empty.txt", b"", "is empty"),
        ("blank.txt", b"   \n\n  ", "is empty"),
        ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary"),
        ("latin1.txt", "Caf\u00e9 cr\u00e8me".encode("latin-1"), "not UTF-8"),
        ("notes.pdf", b"%PDF-1.4", "not a readable PDF"),
        ("notes.docx", b"PK\x03\x04", "not a supported file type"),
        ("dots.txt", b"... --- ...", "no words"),
    ],
)
def test_bad_files_are_refused_with_a_clear_message(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(SourceError, match=message):
        read_file(path)


def test_missing_file_and_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        expand_paths([tmp_path / "nope.txt"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="holds no"):
        expand_paths([tmp_path / "empty"])


def test_directories_are_expanded_to_supported_files(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Alpha story.\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text("# Beta\n\nBeta story.\n")
    (tmp_path / "sub" / "c.jpg").write_bytes(b"\xff\xd8")
    found = expand_paths([tmp_path])
    assert sorted(p.name for p in found) == ["a.txt", "b.md"]


def test_windows_line_endings_are_normalised(tmp_path: Path) -> None:
    path = tmp_path / "crlf.txt"
    path.write_bytes(b"Title line\r\n\r\nFirst paragraph here.\r\n")
    src = read_file(path)
    assert "\r" not in src.text
    assert src.text.startswith("Title line\n\nFirst")


def test_control_bidi_and_zero_width_characters_are_stripped(tmp_path: Path) -> None:
    path = tmp_path / "tricky.txt"
    path.write_text("Ti\u200btle \x1b[31mred\x1b[0m\n\nThe mayor said the \u202eknil\u202c port re\u00adopens "
                    "on Monday.\u2028Second line.\n", encoding="utf-8")
    src = read_file(path)
    assert src.title == "Title [31mred[0m"
    for bad in ("\x1b", "\u200b", "\u202e", "\u202c", "\u00ad", "\u2028"):
        assert bad not in src.text and bad not in src.title
    assert "port reopens on Monday.\nSecond line." in src.text


def test_questions_are_nfc_and_without_invisible_characters(built_fake_service) -> None:  # noqa: ANN001
    decomposed = "Where will the US rel\u200bocate its embassy? Cafe\u0301"
    answer = built_fake_service.ask(decomposed)
    assert answer.question == "Where will the US relocate its embassy? Caf\u00e9"
