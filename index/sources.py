"""Read .txt, .md and .html files (or directories of them) into Sources."""

from __future__ import annotations

import hashlib
import re
import stat
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

from index.errors import SourceError
from index.types import Source

if TYPE_CHECKING:
    from index.deadline import Deadline

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")
MAX_FILE_BYTES = 20 * 1024 * 1024


def content_hash(text: str) -> str:
    """Stable hash of a source's stored text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def slugify(value: str, limit: int = 40) -> str:
    """Lower-case ASCII slug, safe for ids typed in Discord."""
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
    return slug[:limit].strip("-") or "source"


ID_DIGITS = 16  # hex digits of the location's digest in an id: 64 bits (indexes before held 6)
LONG_ID_DIGITS = 40  # the longer form, for when another location holds an id


def _digest(location: str) -> str:
    return hashlib.sha256(location.encode("utf-8")).hexdigest()


def source_id_for(location: str, stem: str) -> str:
    """A readable id that stays the same for the same location: a slug of the title and 64 bits of
    the location's sha256 (finding another location with the same id takes about 2**64 tries)."""
    return f"{slugify(stem, 30)}-{_digest(location)[:ID_DIGITS]}"


def longer_id(source_id: str, location: str) -> str:
    """The id's longer form (160 bits of the location's digest), for when another location holds it."""
    return f"{source_id.rsplit('-', 1)[0]}-{_digest(location)[:LONG_ID_DIGITS]}"


_LINE_BREAKS = str.maketrans({"\u2028": "\n", "\u2029": "\n\n", "\x85": "\n", "\t": " "})


def clean_text(text: str) -> str:
    """NFC text without control, bidi-override or zero-width characters (Unicode Cc and Cf):
    they can hide or reorder what a reader sees, and a terminal runs escape sequences."""
    text = unicodedata.normalize("NFC", text.translate(_LINE_BREAKS))
    return "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cf"))


def normalize_text(text: str) -> str:
    """Unify line endings and Unicode form, drop invisible characters; offsets refer to the result."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = clean_text(text)
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n") + "\n"


def decode_bytes(data: bytes, name: str) -> str:
    """Decode UTF-8 text, refusing binary data with a clear message."""
    if not data.strip():
        raise SourceError(f"{name} is empty.")
    if b"\x00" in data[:8192]:
        raise SourceError(f"{name} looks like a binary file, not text.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{name} is not UTF-8 text (bad byte at position {exc.start}); "
            "convert it to UTF-8 first."
        ) from None
    if not text.strip():
        raise SourceError(f"{name} has no text.")
    return text


def html_to_source_text(html: str, name: str) -> tuple[str, dict[str, str | None]]:
    """Extract the article text (as Markdown, keeping headings) and metadata from HTML."""
    import trafilatura  # heavy; only needed for HTML

    body = trafilatura.extract(
        html,
        output_format="markdown",
        include_comments=False,
        include_tables=False,
        include_images=False,
        include_links=False,
        favor_precision=True,
    )
    if not body or not body.strip():
        raise SourceError(f"{name}: no article text could be extracted from the HTML.")
    meta = trafilatura.extract_metadata(html)
    info: dict[str, str | None] = {
        "title": getattr(meta, "title", None) if meta else None,
        "publisher": getattr(meta, "sitename", None) if meta else None,
        "date": getattr(meta, "date", None) if meta else None,
    }
    # trafilatura separates paragraphs by one newline; blank lines mark them here.
    text = re.sub(r"\n+", "\n\n", body.strip())
    if info["title"] and not text.startswith(("#", info["title"])):
        text = f"# {info['title']}\n\n{text}"
    return text, info


def first_line_title(text: str) -> str:
    """The first non-empty line, without Markdown heading marks."""
    for line in text.splitlines():
        if line.strip():
            return line.strip().lstrip("#").strip()[:200]
    return "Untitled"


def source_from_bytes(
    data: bytes,
    name: str,
    *,
    kind: str,
    location: str,
    url: str | None = None,
    content_type: str | None = None,
    meta: dict[str, str | None] | None = None,
    max_pages: int | None = None,
    deadline: Deadline | None = None,
) -> Source:
    """Build a Source from raw bytes; the format is chosen by name or content type.

    A PDF may have at most ``max_pages`` pages (None: ``index.pdf.MAX_PDF_PAGES``) and must be read
    within ``deadline`` (None: ``index.pdf.PDF_SECONDS``), checked between pages."""
    if len(data) > MAX_FILE_BYTES:
        raise SourceError(f"{name} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB.")
    lower = name.lower()
    if lower.endswith(".pdf") or (content_type or "").startswith("application/pdf") or data.startswith(b"%PDF-"):
        return _pdf_source(data, name, kind=kind, location=location, url=url, meta=meta, max_pages=max_pages,
                           deadline=deadline)
    raw = decode_bytes(data, name)
    is_html = lower.endswith((".html", ".htm")) or (content_type or "").startswith(
        ("text/html", "application/xhtml")
    )
    info: dict[str, str | None] = {}
    if is_html:
        raw, info = html_to_source_text(raw, name)
    text = normalize_text(raw)
    if not re.search(r"\w", text):
        raise SourceError(f"{name} has no words in it.")
    info.update({k: v for k, v in (meta or {}).items() if v})
    stem = Path(name).stem if not url else (info.get("title") or name)
    return Source(
        id=source_id_for(location, stem or name),
        kind=kind,
        location=location,
        title=clean_text(info.get("title") or "").replace("\n", " ").strip() or first_line_title(text),
        text=text,
        content_hash=content_hash(text),
        url=url,
        publisher=info.get("publisher"),
        date=info.get("date"),
    )


def _pdf_source(data: bytes, name: str, *, kind: str, location: str, url: str | None,
                meta: dict[str, str | None] | None, max_pages: int | None = None,
                deadline: Deadline | None = None) -> Source:
    """A PDF's text, pages separated by a blank line, with where each page starts."""
    from index.pdf import MAX_PDF_PAGES, pdf_pages

    page_texts, title = pdf_pages(data, name, max_pages=MAX_PDF_PAGES if max_pages is None else max_pages,
                                  deadline=deadline)
    parts: list[str] = []
    starts: list[int] = []
    offset = 0
    for page in page_texts:
        page = "\n".join(line.rstrip() for line in clean_text(page).split("\n")).strip("\n")
        starts.append(offset)
        if page:
            parts.append(page)
            offset += len(page) + 2
    text = "\n\n".join(parts) + "\n"
    starts = [min(s, len(text) - 1) for s in starts]
    if normalize_text(text) != text:  # pragma: no cover - the pieces are normalised already
        raise SourceError(f"{name}: the PDF text could not be laid out consistently.")
    info = {k: v for k, v in (meta or {}).items() if v}
    stem = Path(name).stem if not url else name
    return Source(
        id=source_id_for(location, title or stem or name), kind=kind, location=location,
        title=clean_text(title or "").strip() or first_line_title(text), text=text, content_hash=content_hash(text),
        url=url, publisher=info.get("publisher"), date=info.get("date"), pages=tuple(starts),
    )


def read_file(path: Path, *, kind: str = "file", meta: dict[str, str | None] | None = None,
              max_pages: int | None = None, deadline: Deadline | None = None) -> Source:
    """Read one supported file (a PDF within ``max_pages`` and ``deadline``, as in source_from_bytes)."""
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise SourceError(
            f"{path} is not a supported file type (use {', '.join(SUPPORTED_SUFFIXES)})."
        )
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError
        if not stat.S_ISREG(info.st_mode):  # a pipe would block the build, a device be read forever
            raise SourceError(f"{path} is not a regular file.")
        size = info.st_size
        if size > MAX_FILE_BYTES:
            raise SourceError(f"{path} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB.")
        data = path.read_bytes()
    except FileNotFoundError:
        raise SourceError(f"{path} does not exist.") from None
    except IsADirectoryError:
        raise SourceError(f"{path} is a directory.") from None
    except PermissionError:
        raise SourceError(f"{path} cannot be read (permission denied).") from None
    except OSError as exc:
        raise SourceError(f"{path} cannot be read: {exc.strerror or exc}.") from None
    return source_from_bytes(data, str(path), kind=kind, location=str(path.resolve()), meta=meta,
                             max_pages=max_pages, deadline=deadline)


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files named directly, plus supported files found in named directories."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
            )
            if not inside:
                raise SourceError(f"{path} holds no .txt, .md, .html or .pdf files.")
            found.extend(inside)
        elif path.exists():
            found.append(path)
        else:
            raise SourceError(f"{path} does not exist.")
    return found
