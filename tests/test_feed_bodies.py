"""A feed body is only ever parsed as a document: never opened as a local path, whatever it says.

A real web server on 127.0.0.1 answers ``Content-Type: application/rss+xml`` with bodies that name
an endless device, a FIFO and a local feed file; each must be refused as "not a readable feed",
promptly, without reading the path.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import FetchSettings, Settings
from bot.service import QAService
from index.errors import SourceError
from index.feeds import FeedDoc, parse_feed
from tests.conftest import FakeEmbedder
from tests.local_web import QuietHandler, start

LOCAL_FEED = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>Operator Private Feed</title>'
              b"<item><title>Private salary list</title><link>http://intranet.test/salaries</link></item>"
              b"</channel></rss>")
RELATIVE_FEED = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour Gazette</title>'
                 b"<item><title>Crane repairs</title><link>news/crane.html</link></item>"
                 b"<item><title>Ferry timetable</title><link>/news/ferry.html</link></item></channel></rss>")


class Handler(QuietHandler):
    bodies: dict[str, bytes] = {}

    def do_GET(self) -> None:  # noqa: N802
        body = self.bodies.get(self.path, b"")
        self.send_response(200 if self.path in self.bodies else 404)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def web() -> Iterator[str]:
    server, base = start(Handler)
    yield base
    server.shutdown()


def _within(seconds: float, work: Callable[[], Any]) -> Any:
    """``work()``'s result or exception, failing the test if it has not finished in ``seconds``."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    return outcome[0]


def _read(tmp_path: Path, url: str) -> Any:
    service = QAService(Settings(fetch=FetchSettings(allowed_hosts=["127.0.0.1"], timeout_seconds=5.0)),
                        tmp_path / "index", embedder=FakeEmbedder())
    return _within(10.0, lambda: service.catalog.reader.read_url(url))


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    yield path
    with contextlib.suppress(OSError):  # a reader blocked on it (the unsafe code) gets end of file
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))


@pytest.mark.parametrize("body", ["endless device", "fifo", "local feed file", "missing file"])
def test_a_body_naming_a_local_path_is_refused_as_not_a_feed(tmp_path: Path, web: str, fifo: Path,
                                                             body: str) -> None:
    local = tmp_path / "private.xml"
    local.write_bytes(LOCAL_FEED)
    named = {"endless device": "/dev/zero", "fifo": str(fifo), "local feed file": str(local),
             "missing file": str(tmp_path / "absent.xml")}[body]
    Handler.bodies = {"/feed.xml": named.encode()}
    outcome = _read(tmp_path, f"{web}/feed.xml")
    assert isinstance(outcome, SourceError), outcome
    message = str(outcome)
    assert message.startswith(f"{web}/feed.xml is not a readable RSS or Atom feed")
    assert "Private" not in message and "salar" not in message


def test_an_existing_and_a_missing_path_get_the_same_refusal(tmp_path: Path, web: str) -> None:
    local = tmp_path / "private.xml"
    local.write_bytes(LOCAL_FEED)
    Handler.bodies = {"/a.xml": str(local).encode(), "/b.xml": str(tmp_path / "absent.xml").encode()}
    refusals = [str(_read(tmp_path, f"{web}/{name}")).replace(f"{web}/{name}", "URL") for name in ("a.xml", "b.xml")]
    assert refusals[0] == refusals[1]


def test_relative_item_links_resolve_against_the_feed_url(tmp_path: Path, web: str) -> None:
    Handler.bodies = {"/feeds/harbour.xml": RELATIVE_FEED}
    doc = _read(tmp_path, f"{web}/feeds/harbour.xml")
    assert isinstance(doc, FeedDoc), doc
    assert sorted(item.link for item in doc.items) == [f"{web}/feeds/news/crane.html", f"{web}/news/ferry.html"]


def test_parse_feed_reads_only_the_bytes_it_is_given(tmp_path: Path) -> None:
    local = tmp_path / "private.xml"
    local.write_bytes(LOCAL_FEED)
    with pytest.raises(SourceError, match="not a readable RSS or Atom feed"):
        parse_feed(str(local).encode(), "http://news.test/feed.xml")
    doc = parse_feed(LOCAL_FEED, "http://news.test/feed.xml")  # the same text as bytes is a feed
    assert doc.title == "Operator Private Feed" and len(doc.items) == 1


RSS = (b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Harbour Gazette</title>'
       b"<item><title>Crane repairs</title><link>http://news.test/crane</link>"
       b"<pubDate>Mon, 30 Nov 2026 10:00:00 GMT</pubDate></item>"
       b"<item><title>Ferry timetable</title><link>ferry.html</link><pubDate>2026-11-28T00:00:00Z</pubDate></item>"
       b"</channel></rss>")


def test_a_date_out_of_range_leaves_the_item_undated() -> None:
    body = RSS.replace(b"2026-11-28T00:00:00Z", b"0000-01-01T00:00:00Z")
    doc = parse_feed(body, "http://news.test/feed.xml")
    assert [(i.title, i.published) for i in doc.items] == [("Crane repairs", "2026-11-30"), ("Ferry timetable", None)]


def test_a_broken_encoding_declaration_is_a_refusal() -> None:
    body = b'<?xml version="\xda.0" encoding="ut\x98-8"?>' + RSS.split(b"?>", 1)[1]
    with pytest.raises(SourceError, match=r"^http://news\.test/feed\.xml is not a readable RSS or Atom feed"):
        parse_feed(body, "http://news.test/feed.xml")


def test_mutated_feeds_are_read_or_refused_never_anything_else() -> None:
    import random

    rng = random.Random(18)
    escaped = []
    outcomes = set()
    for case in range(300):
        data = bytearray(RSS)
        kind = rng.randrange(3)
        if kind == 0:
            for _ in range(rng.randint(1, 10)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif kind == 1:
            data = data[: rng.randrange(len(data))]
        else:
            at = rng.randrange(len(data))
            data[at:at] = data[at: at + rng.randint(1, 50)] * rng.randint(1, 5)
        try:
            parse_feed(bytes(data), "http://news.test/feed.xml")
            outcomes.add("read")
        except SourceError:
            outcomes.add("refused")
        except Exception as exc:  # noqa: BLE001 - what the test looks for
            escaped.append(f"case {case}: {type(exc).__name__}: {exc}"[:200])
    assert not escaped, escaped
    assert outcomes == {"read", "refused"}
