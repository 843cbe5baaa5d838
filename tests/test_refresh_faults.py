"""Refreshes that one bad item cannot break, against a real web server on 127.0.0.1: failures stay the
item's, failed items wait before the next attempt, a change has a deadline, and the caps hold on refresh."""

from __future__ import annotations

import email.utils
import http.server
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import bot.cli as cli
import bot.reading
import bot.retry
from bot.config import FeedSettings, FetchSettings, GuildSettings, Settings, SourceSettings
from bot.service import QAService
from bot.spaces import Spaces
from index.errors import SourceError
from tests.conftest import FakeEmbedder
from tests.local_web import QuietHandler, start

DAY = 86400.0
GUILD = 900000000000000100
WORDS = ("harbour", "ferry", "council", "bridge", "school", "market", "river", "tower", "museum", "garden")


def story(key: str) -> str:
    """A page with sentences of its own (each key's text differs from every other's)."""
    word = WORDS[sum(map(ord, key)) % len(WORDS)]
    return (f"<html><head><title>Story {key}</title></head><body><article><h1>Story {key}</h1>"
            f"<p>Reporter {key.title()} Hansen said the {word} {key} plan was approved on Monday.</p>"
            f"<p>Officials said the {key} works will start in the spring.</p></article></body></html>")


@dataclass
class Site:
    """What the test server serves; tests change it between refreshes."""

    items: list[tuple[str, float]] = field(default_factory=list)  # (path of the item, published time)
    pages: dict[str, Callable[[], tuple[int, str, bytes]]] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)
    base: str = ""

    def rss(self) -> bytes:
        entries = "".join(
            f"<item><title>Item {path}</title><link>{self.base}{path}</link>"
            f"<pubDate>{email.utils.formatdate(when, usegmt=True)}</pubDate></item>" for path, when in self.items)
        return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Test Wire</title>'
                f"<link>{self.base}/</link>{entries}</channel></rss>").encode()


def _handler(site: Site) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:  # noqa: N802
            site.requests[self.path] += 1
            time.sleep(site.delays.get(self.path, 0.0))
            if self.path.startswith("/rss"):
                status, kind, body = 200, "application/rss+xml", site.rss()
            elif self.path in site.pages:
                status, kind, body = site.pages[self.path]()
            elif self.path.startswith("/news/"):
                status, kind, body = 200, "text/html; charset=utf-8", story(self.path[6:]).encode()
            else:
                status, kind, body = 404, "text/plain", b"not found"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler


@pytest.fixture
def site() -> Iterator[Site]:
    state = Site()
    server, state.base = start(_handler(state))
    now = time.time()
    state.items = [("/news/alpha", now - DAY), ("/news/beta", now - 2 * DAY), ("/news/gamma", now - 3 * DAY)]
    yield state
    server.shutdown()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The time back-off reads; a test moves it by changing now[0]."""
    now = [time.time()]
    monkeypatch.setattr(bot.retry, "clock", lambda: now[0])
    return now


def settings(**groups: object) -> Settings:
    fetch = FetchSettings(allowed_hosts=["127.0.0.1"], guild_allowed_hosts=["127.0.0.1"], timeout_seconds=5.0)
    return Settings(**{"fetch": fetch, **groups})  # type: ignore[arg-type]


def default_space(tmp_path: Path, **groups: object) -> QAService:
    service = QAService(settings(**groups), tmp_path / "index", embedder=FakeEmbedder())
    service.catalog.build(service.catalog.configured_sources())
    return service


def guild_space(tmp_path: Path, **groups: object) -> QAService:
    spaces = Spaces.create(settings(**groups), tmp_path / "data", embedder=FakeEmbedder())
    spaces.default.catalog.build(spaces.default.catalog.configured_sources())
    return spaces.for_guild(GUILD)


def items_of(service: QAService) -> list[str]:
    return sorted(s.title for s in service.list_sources() if s.kind == "feed")


def test_an_item_whose_reader_raises_anything_fails_alone_and_the_next_refresh_works(
    tmp_path: Path, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = bot.reading.article
    broken = f"{site.base}/news/beta"

    def reader(got: object, url: str, **options: object) -> object:
        if url == broken:  # what an unfixed reader does with a non-ASCII redirect or a damaged PDF
            raise UnicodeEncodeError("ascii", "caf\xe9", 3, 4, "ordinal not in range(128)")
        return real(got, url, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(bot.reading, "article", reader)
    site.items.append((f"/news/caf\u00e9-{chr(0x263a)}", time.time()))  # a real non-ASCII link
    service = default_space(tmp_path)
    report = service.catalog.add_urls([f"{site.base}/rss.xml"])
    assert {"Item /news/alpha", "Item /news/gamma"} <= set(items_of(service))
    assert "UnicodeEncodeError" in report.items_failed[broken] and not report.failed
    assert "feed item" in report.summary() and "UnicodeEncodeError" in report.summary()
    (feed,) = service.list_feeds()
    assert feed.status == "ok"
    site.items.append(("/news/delta", time.time()))
    again = service.catalog.reindex(remote_only=True)  # the scheduled refresh: not broken for good
    assert [service.loaded().sources[i].source.title for i in again.added] == ["Item /news/delta"]
    assert service.ask("What did Reporter Delta Hansen say?").found


def test_a_url_source_whose_reader_raises_keeps_its_last_version(
    tmp_path: Path, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = default_space(tmp_path)
    service.catalog.add_urls([f"{site.base}/news/alpha", f"{site.base}/news/beta"])
    alpha = next(s.id for s in service.list_sources() if s.title == "Story alpha")
    real = bot.reading.article

    def reader(got: object, url: str, **options: object) -> object:
        if url.endswith("/alpha"):
            raise ValueError("Invalid IPv6 URL")  # what a malformed Location did
        return real(got, url, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(bot.reading, "article", reader)
    site.pages["/news/beta"] = lambda: (200, "text/html", story("beta").replace("Monday", "Tuesday").encode())
    report = service.catalog.reindex(remote_only=True)
    assert "ValueError" in report.failed[alpha] and len(report.updated) == 1  # beta was still refreshed
    row = next(s for s in service.list_sources() if s.id == alpha)
    assert row.status == "failed" and "ValueError" in (row.last_error or "")
    assert service.ask("What did Reporter Alpha Hansen say?").found  # the last good version serves


def test_failed_feed_items_wait_doubling_and_are_remembered_across_restarts(
    tmp_path: Path, site: Site, clock: list[float]
) -> None:
    site.pages["/news/beta"] = lambda: (500, "text/html", b"down")
    service = default_space(tmp_path, sources=SourceSettings(retry_minutes=60, retry_max_hours=24))
    service.catalog.add_urls([f"{site.base}/rss.xml"])
    assert site.requests["/news/beta"] == 1
    site.items.append(("/news/delta", time.time()))  # the feed changed: items are looked at again
    report = service.catalog.reindex()
    assert site.requests["/news/beta"] == 1  # not fetched again at once
    assert "1 failed or duplicated before, waiting" in report.summary()
    restarted = QAService(service.settings, service.index_dir, embedder=FakeEmbedder())
    site.items.append(("/news/epsilon", time.time()))
    clock[0] += 59 * 60
    restarted.catalog.reindex()
    assert site.requests["/news/beta"] == 1  # the memory is in the registry, not in the process
    clock[0] += 2 * 60
    restarted.catalog.reindex()
    assert site.requests["/news/beta"] == 2  # an hour later: tried again, failed again
    site.items.append(("/news/zeta", time.time()))
    clock[0] += 61 * 60
    restarted.catalog.reindex()
    assert site.requests["/news/beta"] == 2  # second failure: two hours
    site.pages["/news/beta"] = lambda: (200, "text/html", story("beta").encode())
    site.items.append(("/news/eta", time.time()))
    clock[0] += 60 * 60
    restarted.catalog.reindex()
    assert site.requests["/news/beta"] == 3 and "Item /news/beta" in items_of(restarted)


def test_duplicate_feed_items_are_not_fetched_at_every_refresh(tmp_path: Path, site: Site) -> None:
    site.pages["/news/copy"] = lambda: (200, "text/html", story("alpha").encode())
    site.items.append(("/news/copy", time.time() - 4 * DAY))
    service = default_space(tmp_path)
    report = service.catalog.add_urls([f"{site.base}/rss.xml"])
    assert len(report.duplicates) == 1
    site.items.append(("/news/delta", time.time()))
    again = service.catalog.reindex()
    assert site.requests["/news/copy"] == 1 and not again.duplicates


def test_a_failing_url_source_waits_before_it_is_fetched_again(tmp_path: Path, site: Site, clock: list[float]) -> None:
    service = default_space(tmp_path)
    service.catalog.add_urls([f"{site.base}/news/alpha"])
    (sid,) = [s.id for s in service.list_sources() if s.kind == "url"]
    site.pages["/news/alpha"] = lambda: (503, "text/html", b"busy")
    assert sid in service.catalog.reindex(remote_only=True).failed
    waited = service.catalog.reindex(remote_only=True)
    assert site.requests["/news/alpha"] == 2 and "not read again yet" in waited.waiting[sid]
    assert sid not in waited.failed
    clock[0] += 3601
    service.catalog.reindex(remote_only=True)
    assert site.requests["/news/alpha"] == 3
    service.catalog.reindex([sid])  # named: tried at once
    assert site.requests["/news/alpha"] == 4


def test_a_change_stops_at_its_deadline_and_the_next_refresh_goes_on(tmp_path: Path, site: Site) -> None:
    for path, _ in site.items:
        site.delays[path] = 0.6
    service = default_space(tmp_path, sources=SourceSettings(change_deadline_seconds=1.0))
    report = service.catalog.add_urls([f"{site.base}/rss.xml"])
    held = items_of(service)
    assert 1 <= len(held) < 3 and "left for the next refresh" in report.summary()
    for _ in range(3):
        if len(items_of(service)) == 3:
            break
        service.catalog.reindex()
    assert len(items_of(service)) == 3  # later refreshes pick up what was left


def test_url_sources_a_change_did_not_reach_come_first_in_the_next(tmp_path: Path, site: Site) -> None:
    service = default_space(tmp_path)
    pages = [f"/news/u{i}" for i in range(3)]
    service.catalog.add_urls([site.base + p for p in pages])
    # the same index, read by a space whose changes may take a second each
    service = QAService(Settings(**{**service.settings.__dict__,
                                    "sources": SourceSettings(change_deadline_seconds=1.0)}),
                        service.index_dir, embedder=service.embedder)
    for path in pages:
        site.delays[path] = 0.7
        site.pages[path] = lambda path=path: (200, "text/html", story(path[6:] + "x").encode())  # changed
    before = Counter(site.requests)
    for _ in range(3):
        report = service.catalog.reindex(remote_only=True)
        assert len(report.updated) <= 2
    read = Counter(site.requests) - before
    assert all(read[p] >= 1 for p in pages), read  # none starved by the ones listed first


def test_a_fetch_gets_at_most_the_time_the_change_has_left(tmp_path: Path, site: Site) -> None:
    site.delays["/news/alpha"] = 4.0
    service = default_space(tmp_path, sources=SourceSettings(change_deadline_seconds=1.0))
    with pytest.raises(SourceError, match=r"did not finish within (0\.\d+|1) seconds"):  # not the 5 s fetch limit
        service.catalog.add_urls([f"{site.base}/news/alpha"])


def test_feed_items_failing_do_not_make_cli_reindex_fail(tmp_path: Path, site: Site, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    site.pages["/news/beta"] = lambda: (500, "text/html", b"down")
    service = default_space(tmp_path)
    service.catalog.add_urls([f"{site.base}/rss.xml"])
    monkeypatch.setattr(cli, "make_service", lambda *args, **kwargs: service)
    site.items.append(("/news/delta", time.time()))
    (feed,) = service.list_feeds()
    assert cli.run(["reindex", feed.id]) == 0  # the item is tried again, fails again: the feed is fine
    assert "not added" in capsys.readouterr().out
    service.catalog.add_urls([f"{site.base}/news/solo"])
    site.pages["/news/solo"] = lambda: (500, "text/html", b"down")
    assert cli.run(["reindex"]) == 1  # a source itself failing still does
    assert "FAILED" in capsys.readouterr().out


def test_a_growing_page_is_held_to_the_size_cap_on_refresh(tmp_path: Path, site: Site) -> None:
    service = default_space(tmp_path, sources=SourceSettings(max_source_bytes=8000))  # the bundled article fits
    service.catalog.add_urls([f"{site.base}/news/alpha"])
    (sid,) = [s.id for s in service.list_sources() if s.kind == "url"]
    grown = story("alpha").replace("</article>", "<p>Officials said more.</p>" * 400 + "</article>")
    site.pages["/news/alpha"] = lambda: (200, "text/html", grown.encode())
    report = service.catalog.reindex([sid])
    assert "sources.max_source_bytes" in report.failed[sid]
    entry = service.loaded().sources[sid]
    assert entry.status == "failed" and len(entry.source.text.encode()) < 1000  # the previous version
    assert service.ask("What did Reporter Alpha Hansen say?").found


def test_a_feed_past_max_sources_keeps_its_newest_items_and_is_marked(tmp_path: Path, site: Site) -> None:
    space = guild_space(tmp_path, sources=SourceSettings(max_sources=3))  # the bundled article + 2
    space.catalog.add_urls([f"{site.base}/rss.xml"])
    assert items_of(space) == ["Item /news/alpha", "Item /news/beta"]  # the newest two of three
    (feed,) = space.list_feeds()
    assert feed.status == "limited" and "sources.max_sources" in (feed.last_error or "")
    site.items.append(("/news/delta", time.time()))
    report = space.catalog.reindex(remote_only=True)  # not aborted: the newest that fit
    assert items_of(space) == ["Item /news/alpha", "Item /news/delta"]
    assert "sources.max_sources" in report.summary()


def test_a_removed_feed_item_is_not_added_again(tmp_path: Path, site: Site) -> None:
    service = default_space(tmp_path)
    service.catalog.add_urls([f"{site.base}/rss.xml"])
    beta = next(s.id for s in service.list_sources() if s.title == "Item /news/beta")
    service.catalog.remove_source(beta)
    site.items.append(("/news/delta", time.time()))
    report = service.catalog.reindex()
    assert "Item /news/beta" not in items_of(service) and "Item /news/delta" in items_of(service)
    assert "1 removed by a moderator" in report.summary()
    assert site.requests["/news/beta"] == 1


def test_a_feed_of_old_items_says_why_nothing_was_added(tmp_path: Path, site: Site) -> None:
    site.items = [(path, when - 90 * DAY) for path, when in site.items]
    service = default_space(tmp_path, feeds=FeedSettings(max_age_days=30))
    summary = service.catalog.add_urls([f"{site.base}/rss.xml"]).summary()
    assert "0 new item(s)" in summary and "3 skipped as older than feeds.max_age_days" in summary


def test_a_server_follows_at_most_max_feeds(tmp_path: Path, site: Site) -> None:
    space = guild_space(tmp_path, feeds=FeedSettings(max_feeds=1))
    space.catalog.add_urls([f"{site.base}/rss.xml"])
    with pytest.raises(SourceError, match=r"feeds\.max_feeds"):
        space.catalog.add_urls([f"{site.base}/rss-two.xml"])
    assert len(space.list_feeds()) == 1
    space.catalog.add_urls([f"{site.base}/rss.xml"])  # following the same feed again is no new feed


def test_a_server_holds_at_most_max_text_bytes(tmp_path: Path, site: Site) -> None:
    bundled = len(bot.reading.bundled_source().text.encode())
    space = guild_space(tmp_path, guilds=GuildSettings(max_text_bytes=bundled + 200))  # room for one story
    site.items = []
    space.catalog.add_urls([f"{site.base}/rss.xml"])
    assert len(space.catalog.add_urls([f"{site.base}/news/alpha"]).added) == 1
    with pytest.raises(SourceError, match=r"guilds\.max_text_bytes"):
        space.catalog.add_urls([f"{site.base}/news/beta"])
    assert [s.title for s in space.list_sources() if s.kind == "url"] == ["Story alpha"]
    site.items = [("/news/gamma", time.time())]
    report = space.catalog.reindex()  # a feed item that does not fit is that item's failure
    assert "guilds.max_text_bytes" in report.items_failed[f"{site.base}/news/gamma"]


def test_operator_allowed_hosts_are_the_default_space_only_and_servers_see_no_address(tmp_path: Path,
                                                                                      site: Site) -> None:
    scoped = Settings(fetch=FetchSettings(allowed_hosts=["localhost"], timeout_seconds=5.0))
    spaces = Spaces.create(scoped, tmp_path / "data", embedder=FakeEmbedder())
    spaces.default.catalog.build(spaces.default.catalog.configured_sources())
    url = site.base.replace("127.0.0.1", "localhost") + "/news/alpha"
    assert spaces.default.catalog.add_urls([url]).added  # the operator's intranet host
    with pytest.raises(SourceError) as refused:
        spaces.for_guild(GUILD).catalog.add_urls([url])
    message = str(refused.value)
    assert "internal address" in message
    assert "127.0.0.1" not in message and "::1" not in message and "allowed_hosts" not in message


def test_a_pdf_read_in_a_change_gets_no_more_than_the_time_the_change_has_left(
    tmp_path: Path, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    from index.deadline import Deadline

    given: list[object] = []
    real = bot.reading.article

    def reader(got: object, url: str, **options: object) -> object:
        given.append(options.get("deadline"))
        return real(got, url, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(bot.reading, "article", reader)
    service = default_space(tmp_path, sources=SourceSettings(change_deadline_seconds=20))
    service.catalog.add_urls([f"{site.base}/news/alpha"])
    (deadline,) = given
    assert isinstance(deadline, Deadline) and 0 < deadline.remaining() <= 20
    service.catalog.reader.fetch(f"{site.base}/news/beta")  # outside a change: the PDF reader's own budget
    assert given[-1] is None
