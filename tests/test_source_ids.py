"""Source ids cannot be turned against the bot: 64 bits wide, owned by their location, stable across versions."""

from __future__ import annotations

import email.utils
import hashlib
import http.server
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import index.sources
from bot.config import FetchSettings, Settings
from bot.ids import assign_ids, own_feed_id
from bot.reading import read_paths
from bot.service import QAService
from index.errors import SourceError
from index.sources import longer_id, read_file, source_id_for
from index.store import FeedEntry, SourceEntry
from index.types import Source
from tests.conftest import DATA, FakeEmbedder
from tests.local_web import QuietHandler, start

TRUSTED = ("<html><head><title>Bridge closed for works</title></head><body><article><h1>Bridge closed for works</h1>"
           "<p>Engineer Sofia Lind said the old bridge will stay closed until the spring thaw.</p>"
           "<p>Officials gave no further details on the matter yesterday.</p></article></body></html>")
FORGED = ("<html><head><title>Bridge closed for works</title></head><body><article><h1>Bridge closed for works</h1>"
          "<p>Engineer Sofia Lind said the old bridge was sold to a private buyer for one euro.</p>"
          "<p>Nobody at the council answered questions about the sale.</p></article></body></html>")


class Web:
    """A local web server: a trusted article, a forged one, and a feed that lists the forged one."""

    def __init__(self) -> None:
        self.items: list[str] = ["/forged.html"]
        self.server, self.base = start(self._handler())

    def rss(self) -> bytes:
        when = email.utils.formatdate(time.time() - 3600, usegmt=True)
        items = "".join(f"<item><title>Bridge closed for works</title><link>{self.base}{path}</link>"
                        f"<pubDate>{when}</pubDate></item>" for path in self.items)
        return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Forger Daily</title>'
                f"<link>{self.base}/</link>{items}</channel></rss>").encode()

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        web = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802
                kind, body = {
                    "/trusted.html": ("text/html", TRUSTED.encode()),
                    "/forged.html": ("text/html", FORGED.encode()),
                    "/rss.xml": ("application/rss+xml", web.rss()),
                }.get(self.path, ("text/plain", b""))
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


@pytest.fixture
def web() -> Iterator[Web]:
    site = Web()
    yield site
    site.server.shutdown()


class Colliding:
    """``hashlib`` as index.sources sees it, except that the given locations all hash alike: a
    forced collision, as a publisher who brute-forced one would have (texts hash as usual)."""

    def __init__(self, locations: set[str]) -> None:
        self.locations = {loc.encode() for loc in locations}

    def __getattr__(self, name: str) -> Callable[..., Any]:
        real = getattr(hashlib, name)

        def digest(data: bytes = b"", *args: Any, **kwargs: Any) -> Any:
            return real(b"one location" if data in self.locations else data, *args, **kwargs)

        return digest


def _service(tmp_path: Path) -> QAService:
    settings = Settings(fetch=FetchSettings(allowed_hosts=["127.0.0.1"], timeout_seconds=5.0))
    service = QAService(settings, tmp_path / "index", embedder=FakeEmbedder())
    service.catalog.build(service.catalog.configured_sources())
    return service


def test_ids_carry_64_bits_of_the_location() -> None:
    sid = source_id_for("https://example.org/a", "A story")
    assert re.fullmatch(r"a-story-[0-9a-f]{16}", sid)
    assert source_id_for("https://example.org/b", "A story") != sid


def test_a_feed_item_with_a_trusted_sources_id_leaves_it_untouched(
    tmp_path: Path, web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index.sources, "hashlib", Colliding({web.base + "/trusted.html", web.base + "/forged.html"}))
    service = _service(tmp_path)
    trusted = service.catalog.add_urls([web.base + "/trusted.html"], added_by="moderator").added[0]
    assert source_id_for(web.base + "/forged.html", "Bridge closed for works") == trusted  # the forced collision

    report = service.catalog.add_urls([web.base + "/rss.xml"])
    entry = service.loaded().sources[trusted]
    assert entry.source.kind == "url" and entry.source.location == web.base + "/trusted.html"
    assert "spring thaw" in entry.source.text and entry.added_by == "moderator"
    (item,) = report.added  # the item is added under an id of its own
    assert item != trusted and service.loaded().sources[item].source.feed == web.base + "/rss.xml"
    assert "spring thaw" in service.ask("What did Sofia Lind say about the old bridge?").answer

    web.items = []  # the item leaves the feed: its id goes, the trusted source stays
    report = service.catalog.reindex()
    assert report.removed == [item]
    assert set(service.loaded().sources) >= {trusted} and item not in service.loaded().sources
    assert "spring thaw" in service.loaded().sources[trusted].source.text


def test_a_moderators_source_never_replaces_another_location_with_its_id(
    tmp_path: Path, web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index.sources, "hashlib", Colliding({web.base + "/trusted.html", web.base + "/forged.html"}))
    service = _service(tmp_path)
    feed = service.catalog.add_urls([web.base + "/rss.xml"])
    (item,) = feed.added
    report = service.catalog.add_urls([web.base + "/trusted.html"])  # same id as the feed's item, another location
    (added,) = report.added
    assert added != item
    sources = service.loaded().sources
    assert sources[item].source.location == web.base + "/forged.html"
    assert sources[added].source.location == web.base + "/trusted.html"
    again = service.catalog.add_urls([web.base + "/trusted.html"])  # the same location again: found by location
    assert again.unchanged == [added] and not again.added


def _with_old_ids(service: QAService, paths: list[Path]) -> dict[str, str]:
    """Index these files under 6-hex ids, as qabot did before: {location: old id}."""
    sources = [read_file(p) for p in paths]
    old = [replace(s, id=s.id.rsplit("-", 1)[0] + "-" + hashlib.sha1(s.location.encode()).hexdigest()[:6])
           for s in sources]
    service.catalog.build(old)
    return {s.location: s.id for s in old}


def test_sources_indexed_under_old_short_ids_keep_them(tmp_path: Path) -> None:
    service = QAService(Settings(), tmp_path / "index", embedder=FakeEmbedder())
    harbour = tmp_path / "harbour.txt"
    harbour.write_text((DATA / "harbour.txt").read_text())
    old = _with_old_ids(service, [harbour])
    (old_id,) = old.values()
    assert re.search(r"-[0-9a-f]{6}$", old_id)

    same = service.catalog.add_sources(read_paths([harbour]))  # re-added from the same place: nothing new
    assert same.unchanged == [old_id] and not same.added and not same.duplicates
    harbour.write_text(harbour.read_text() + "\nThe ferry to the islands will run twice a day from May.\n")
    changed = service.catalog.add_sources(read_paths([harbour]))
    assert changed.updated == [old_id] and not changed.added
    assert [s.id for s in service.list_sources()] == [old_id]
    harbour.write_text(harbour.read_text() + "\nThe mayor opened the new pier on Sunday.\n")
    assert service.catalog.reindex().updated == [old_id]
    service.catalog.build(read_paths([harbour]))  # `qabot index` with the same file keeps the id too
    assert [s.id for s in service.list_sources()] == [old_id]


def _entry(sid: str, location: str, feed: str | None = None) -> SourceEntry:
    text = f"Text from {location}.\n"
    return SourceEntry(Source(id=sid, kind="feed" if feed else "url", location=location, title="T", text=text,
                              content_hash=hashlib.sha256(text.encode()).hexdigest(), feed=feed))


def test_ids_taken_in_the_same_change_or_by_a_feed_get_their_longer_form() -> None:
    held = {"story-1": _entry("story-1", "https://a.example/1")}
    one, two, again = assign_ids([_entry("story-2", "https://b.example/2").source,
                                  _entry("story-2", "https://c.example/3").source,  # same id, another place
                                  _entry("story-9", "https://a.example/1").source], held)  # known place
    assert one.id == "story-2" and two.id == longer_id("story-2", "https://c.example/3") != "story-2"
    assert again.id == "story-1"
    with pytest.raises(SourceError, match="held by another source"):
        assign_ids([_entry("feed-x", "https://d.example/4").source], {}, reserved={"feed-x", longer_id(
            "feed-x", "https://d.example/4")})
    feed = own_feed_id(FeedEntry("https://e.example/rss", "story-1", "E"), held, {})
    assert feed.id == longer_id("story-1", "https://e.example/rss")  # a source holds the short one
    assert own_feed_id(FeedEntry("https://e.example/rss", "feed-e", "E"), held, {}).id == "feed-e"
