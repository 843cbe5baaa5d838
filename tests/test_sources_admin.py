"""Sources moderators can trust: add/remove/update, incremental reindex, URL safety, faults that lose nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import FetchSettings, Settings
from bot.reading import read_paths
from bot.service import QAService
from index.errors import BusyError, SourceError
from index.fetch import check_url
from index.sources import MAX_FILE_BYTES, read_file
from index.speakers import annotate
from index.store import current_generation
from tests.conftest import DATA, FakeEmbedder
from tests.local_web import QuietHandler, start

ROOT = Path(__file__).resolve().parent.parent
ARTICLE_HTML = """<html><head><title>Port strike ends</title><meta property="og:site_name" content="Coastal Wire">
<meta property="article:published_time" content="2026-11-20"></head><body><article><h1>Port strike ends</h1>
<p>Dockworkers at Port Alder returned to work on Friday after the union accepted a new offer.</p>
<p>The deal raises pay by seven percent over two years, union leader Marta Kowalczyk said.</p>
<p>Cargo traffic is expected to return to normal by the end of next week, officials said.</p>
</article></body></html>"""


class Handler(QuietHandler):
    routes: dict[str, tuple[int, str, bytes, float]] = {}

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/drip":  # a server that sends one byte every 0.2 s: no single read times out
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "100")
            self.end_headers()
            try:
                for _ in range(100):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.2)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        status, ctype, body, delay = self.routes.get(self.path, (404, "text/plain", b"not found", 0.0))
        if delay:
            time.sleep(delay)
        self.send_response(status)
        if status in (301, 302):
            self.send_header("Location", body.decode())
            body = b""
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture
def web() -> Iterator[str]:
    Handler.routes = {
        "/story.html": (200, "text/html; charset=utf-8", ARTICLE_HTML.encode(), 0.0),
        "/notes.txt": (200, "text/plain", b"Notes\n\nThe harbour reopened on Friday morning.\n", 0.0),
        "/gone": (404, "text/html", b"<h1>gone</h1>", 0.0),
        "/broken": (500, "text/html", b"<h1>oops</h1>", 0.0),
        "/slow": (200, "text/html", ARTICLE_HTML.encode(), 3.0),
        "/huge": (200, "text/html", b"<p>" + b"word " * 300_000 + b"</p>", 0.0),
        "/image": (200, "image/png", b"\x89PNG\r\n", 0.0),
        "/to-metadata": (302, "text/html", b"http://169.254.169.254/latest/meta-data", 0.0),
        "/no-type": (200, "", ARTICLE_HTML.encode(), 0.0),
        "/hop1": (302, "text/html", b"/hop2", 0.6),  # each step within the budget, the sum not
        "/hop2": (302, "text/html", b"/story.html", 0.6),
    }
    server, base = start(Handler)
    yield base
    server.shutdown()


def service_for(tmp_path: Path, embedder: FakeEmbedder | None = None, **fetch: object) -> QAService:
    fetch_settings = FetchSettings(**{"allowed_hosts": ["127.0.0.1"], "timeout_seconds": 1.0, **fetch})  # type: ignore[arg-type]
    return QAService(Settings(fetch=fetch_settings), tmp_path / "index", embedder=embedder or FakeEmbedder())


def test_url_is_fetched_and_extracted(tmp_path: Path, web: str) -> None:
    service = service_for(tmp_path)
    source = service.catalog.reader.fetch(f"{web}/story.html")
    assert source.title == "Port strike ends"
    assert source.publisher == "Coastal Wire"
    assert source.url == f"{web}/story.html"
    assert "seven percent" in source.text
    report = service.catalog.add_sources([source])
    assert report.added == [source.id]
    answer = service.ask("What did Marta Kowalczyk say?")
    assert answer.found and "seven percent" in answer.answer
    assert answer.citations[0].link is not None and "#:~:text=" in answer.citations[0].link


@pytest.mark.parametrize(
    "path, message",
    [
        ("/gone", "returned HTTP 404"),
        ("/broken", "returned HTTP 500"),
        ("/slow", "did not finish within 1 seconds"),
        ("/drip", "did not finish within 1 seconds"),
        ("/hop1", "did not finish within 1 seconds"),
        ("/no-type", "no Content-Type"),
        ("/huge", "larger than"),
        ("/image", "image/png, not an HTML or text page"),
        ("/to-metadata", "internal address"),
    ],
)
def test_url_failures_are_clear(tmp_path: Path, web: str, path: str, message: str) -> None:
    service = service_for(tmp_path, max_bytes=1024 * 1024)
    with pytest.raises(SourceError, match=message):  # /drip would take 20 s, /hop1 1.2 s without one budget
        service.catalog.reader.fetch(web + path)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/x", "http://localhost/x", "http://10.0.0.1/x", "http://169.254.169.254/latest",
     "http://[::1]/x", "http://192.168.1.1/", "http://[::127.0.0.1]/x", "http://[64:ff9b::7f00:1]/x",
     "http://[2002:7f00:1::]/x", "http://[::ffff:10.0.0.1]/x"],
)
def test_internal_addresses_are_refused_by_default(url: str) -> None:
    with pytest.raises(SourceError, match="internal address"):
        check_url(url)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://x", "not a url"])
def test_only_http_urls(url: str) -> None:
    with pytest.raises(SourceError, match="Only http and https"):
        check_url(url)


def test_update_replaces_old_passages_and_duplicates_are_refused(tmp_path: Path) -> None:
    service = service_for(tmp_path)
    story = tmp_path / "story.txt"
    story.write_text("Harbour news\n\nThe old crane was painted red on Monday.\n")
    service.catalog.add_sources(read_paths([story]))
    story.write_text("Harbour news\n\nThe new crane was painted blue on Tuesday.\n")
    report = service.catalog.add_sources(read_paths([story]))
    assert report.updated and "1 edited" in report.revisions[report.updated[0]]
    texts = [s.text for s in service.loaded().sentences]
    assert "The new crane was painted blue on Tuesday." in texts
    assert not any("painted red" in t for t in texts)  # no stale passage left behind
    copy = tmp_path / "copy.txt"
    copy.write_text(story.read_text())
    report = service.catalog.add_sources(read_paths([copy]))
    assert report.duplicates and not report.added
    assert len(service.list_sources()) == 2  # bundled article + story


def test_remove_makes_a_source_disappear_from_answers(tmp_path: Path) -> None:
    service = service_for(tmp_path)
    service.catalog.add_sources(read_paths([DATA / "harbour.txt"]))
    assert service.ask("What did Mayor Tomas Eriksen say?").found
    sid = next(s.id for s in service.list_sources() if s.kind == "file")
    service.catalog.remove_source(sid)
    assert not service.ask("What did Mayor Tomas Eriksen say?").found
    with pytest.raises(SourceError, match="No source with id"):
        service.catalog.remove_source("no-such-id")


def test_reindex_is_incremental(tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    parsed: list[str] = []

    def counting_annotate(text, chunks):  # noqa: ANN001, ANN202
        parsed.append(text[:20])
        return annotate(text, chunks)

    service = QAService(Settings(), tmp_path / "index", embedder=embedder, annotator=counting_annotate)
    files = []
    for i in range(5):
        f = tmp_path / f"s{i}.txt"
        f.write_text(f"Story {i}\n\nThe council of town {i} approved budget number {i * 7} today.\n")
        files.append(f)
    service.catalog.build(service.catalog.configured_sources() + read_paths(files))
    embedded, parses = embedder.texts_embedded, len(parsed)
    files[2].write_text(files[2].read_text() + "\nA second paragraph about bridge repairs followed.\n")
    report = service.catalog.reindex()
    assert report.updated == [next(s.id for s in service.list_sources() if s.location.endswith("s2.txt"))]
    assert len(report.unchanged) == 5
    assert embedder.texts_embedded - embedded == 1  # only the new sentence
    assert len(parsed) - parses == 1  # only the changed source was parsed again


def test_failed_url_keeps_serving_its_last_version(tmp_path: Path, web: str) -> None:
    service = service_for(tmp_path)
    service.catalog.add_sources([service.catalog.reader.fetch(f"{web}/story.html")])
    Handler.routes["/story.html"] = (500, "text/html", b"down", 0.0)
    story = tmp_path / "other.txt"
    story.write_text("Other\n\nThe ferry timetable changed on Sunday.\n")
    service.catalog.add_sources(read_paths([story]))
    story.write_text("Other\n\nThe ferry timetable changed again on Monday.\n")
    report = service.catalog.reindex()
    url_id = next(s.id for s in service.list_sources() if s.kind == "url")
    assert "HTTP 500" in report.failed[url_id]
    rows = {s.id: s for s in service.list_sources()}
    assert rows[url_id].status == "failed" and "HTTP 500" in (rows[url_id].last_error or "")
    assert service.ask("What did Marta Kowalczyk say?").found  # old version still served
    assert any("again on Monday" in s.text for s in service.loaded().sentences)  # the other source updated


class SlowEmbedder(FakeEmbedder):
    def __init__(self, started: threading.Event, release: threading.Event) -> None:
        super().__init__()
        self.started = started
        self.release = release

    def embed(self, texts, progress=None):  # noqa: ANN001, ANN201
        self.started.set()
        self.release.wait(60)
        return super().embed(texts, progress)


def test_questions_during_a_reindex_use_the_old_index_and_a_second_reindex_is_refused(tmp_path: Path) -> None:
    reader = service_for(tmp_path)
    reader.catalog.build(reader.catalog.configured_sources())
    started, release = threading.Event(), threading.Event()
    writer = service_for(tmp_path, embedder=SlowEmbedder(started, release))
    new = tmp_path / "new.txt"
    new.write_text("Volcano\n\nThe volcano erupted twice overnight, officials said.\n")
    errors: list[BaseException] = []

    def run() -> None:
        try:
            writer.catalog.add_sources(read_paths([new]))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    assert started.wait(60)
    before = current_generation(tmp_path / "index")
    assert "volcano" not in reader.ask("Did the volcano erupt?").answer.lower()  # served from the old generation
    with pytest.raises(BusyError, match="already running"):
        reader.catalog.reindex()
    release.set()
    thread.join(60)
    assert not errors
    assert current_generation(tmp_path / "index") != before
    assert "twice" in reader.ask("How many times did the volcano erupt overnight?").answer  # picked up, no restart


KILL_SCRIPT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {root!r})
    from tests.conftest import FakeEmbedder
    from bot.config import Settings
    from bot.service import QAService

    class Stuck(FakeEmbedder):
        def embed(self, texts, progress=None):
            Path({flag!r}).write_text("embedding")
            time.sleep(60)

    service = QAService(Settings(), Path({index!r}), embedder=Stuck())
    service.catalog.reindex()
""")


def test_sigkill_mid_reindex_loses_nothing(tmp_path: Path) -> None:
    service = service_for(tmp_path)
    story = tmp_path / "story.txt"
    story.write_text("Harbour\n\nThe harbour master said the cranes were back in service.\n")
    service.catalog.build(service.catalog.configured_sources() + read_paths([story]))
    before = current_generation(tmp_path / "index")
    story.write_text(story.read_text() + "\nA brand-new sentence about seagulls nesting on crane four.\n")
    flag = tmp_path / "flag"
    script = KILL_SCRIPT.format(root=str(ROOT), flag=str(flag), index=str(tmp_path / "index"))
    proc = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 60
        while not flag.exists():
            assert proc.poll() is None, "the reindex process ended early"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert current_generation(tmp_path / "index") == before
    fresh = service_for(tmp_path)
    assert fresh.ask("What did the harbour master say?").found  # previous index, intact
    report = fresh.catalog.reindex()  # and a new reindex completes
    assert report.updated
    assert any("seagulls" in s.text for s in fresh.loaded().sentences)
    assert not list((tmp_path / "index").glob("*.partial"))


def test_enormous_and_sentence_less_files(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    with big.open("wb") as fh:
        fh.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(SourceError, match="larger than"):
        read_file(big)
    headline = tmp_path / "headline.txt"
    headline.write_text("Just a headline\n")
    service = service_for(tmp_path)
    service.catalog.build(service.catalog.configured_sources())
    with pytest.raises(SourceError, match="no sentences"):
        service.catalog.add_sources(read_paths([headline]))
    assert service.ask("What did Scholz say?").found  # nothing was lost


def test_the_checked_address_is_the_one_connected_to(tmp_path: Path, web: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The host is resolved once: a second, different DNS answer (rebinding) is never used."""
    import socket as socket_module

    import index.fetch as fetch_module

    real = socket_module.getaddrinfo
    calls: list[str] = []

    def resolve(host, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        calls.append(host)
        return real("127.0.0.1", *args, **kwargs)

    monkeypatch.setattr(fetch_module.socket, "getaddrinfo", resolve)
    port = web.rsplit(":", 1)[1]
    service = service_for(tmp_path, allowed_hosts=["news.test"])
    source = service.catalog.reader.fetch(f"http://news.test:{port}/story.html")
    assert source.title == "Port strike ends"
    assert [c for c in calls if c == "news.test"] == ["news.test"]  # the name is looked up once
    assert set(calls) - {"news.test"} <= {"127.0.0.1"}  # then only the checked address is used
