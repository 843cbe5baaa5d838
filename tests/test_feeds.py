"""RSS and Atom feeds from a real web server on 127.0.0.1: items added, kept, dropped; refresh is conditional."""

from __future__ import annotations

import email.utils
import http.server
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import bot.cli as cli
from bot.config import FeedSettings, FetchSettings, Settings
from bot.service import QAService
from index.errors import SourceError
from index.feeds import is_feed
from tests.conftest import FakeEmbedder
from tests.local_web import QuietHandler, start

DAY = 86400.0
STORIES = {
    "crane": ("Crane repairs finished", "The harbour master said the cranes on berth four were repaired after the storm."),
    "ferry": ("Ferry timetable changes", "Ferry captain Lars Berg said the winter timetable starts on the first of December."),
    "budget": ("Council budget approved", "Mayor Tomas Eriksen said the budget pays for two new schools and a library."),
    "bridge": ("Bridge closed for works", "Engineer Sofia Lind said the old bridge will stay closed until the spring thaw."),
}


@dataclass
class Site:
    """What the test web server serves; tests change it between refreshes."""

    items: list[tuple[str, float]] = field(default_factory=list)  # (story key, published time)
    feed_status: int = 200
    requests: Counter[str] = field(default_factory=Counter)
    not_modified: Counter[str] = field(default_factory=Counter)
    base: str = ""

    def rss(self) -> bytes:
        entries = "".join(
            f"<item><title>{STORIES[key][0]}</title><link>{self.base}/news/{key}.html</link>"
            f"<guid>{self.base}/news/{key}.html</guid><pubDate>{email.utils.formatdate(when, usegmt=True)}</pubDate>"
            f"<description>{STORIES[key][1][:40]}</description></item>"
            for key, when in self.items)
        return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Harbour Gazette</title>'
                f"<link>{self.base}/</link><description>Local news</description>{entries}</channel></rss>").encode()

    def atom(self) -> bytes:
        entries = "".join(
            f'<entry><title>{STORIES[key][0]}</title><link href="{self.base}/news/{key}.html"/>'
            f"<id>{self.base}/news/{key}.html</id>"
            f"<updated>{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(when))}</updated></entry>"
            for key, when in self.items)
        return ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
                f"<title>Harbour Atom</title><id>{self.base}/atom</id>"
                f"<updated>2026-11-28T00:00:00Z</updated>{entries}</feed>").encode()


def _handler(site: Site) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:  # noqa: N802
            site.requests[self.path] += 1
            if self.path in ("/rss.xml", "/atom.xml", "/feed-as-xml"):
                if site.feed_status != 200:
                    return self._send(site.feed_status, "text/plain", b"down")
                body = site.atom() if self.path == "/atom.xml" else site.rss()
                etag = f'"{hash(body) & 0xFFFFFFFF:x}"'
                if self.headers.get("If-None-Match") == etag:
                    site.not_modified[self.path] += 1
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return None
                kind = {"/rss.xml": "application/rss+xml", "/atom.xml": "application/atom+xml"}.get(
                    self.path, "text/xml")
                return self._send(200, kind, body, etag)
            if self.path == "/note.xml":
                return self._send(200, "text/xml", b'<?xml version="1.0"?><note>not a feed</note>')
            key = self.path.removeprefix("/news/").removesuffix(".html")
            if key in STORIES:
                title, text = STORIES[key]
                page = (f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
                        f"<p>{text}</p><p>Officials gave no further details on the matter yesterday.</p>"
                        "</article></body></html>")
                return self._send(200, "text/html; charset=utf-8", page.encode())
            return self._send(404, "text/plain", b"not found")

        def _send(self, status: int, kind: str, body: bytes, etag: str | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            if etag:
                self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture
def site() -> Iterator[Site]:
    state = Site()
    server, state.base = start(_handler(state))
    now = time.time()
    state.items = [("crane", now - 1 * DAY), ("ferry", now - 2 * DAY)]
    yield state
    server.shutdown()


def service_for(tmp_path: Path, **feeds: object) -> QAService:
    settings = Settings(fetch=FetchSettings(allowed_hosts=["127.0.0.1"], timeout_seconds=5.0),
                        feeds=FeedSettings(**feeds))  # type: ignore[arg-type]
    service = QAService(settings, tmp_path / "index", embedder=FakeEmbedder())
    service.catalog.build(service.catalog.configured_sources())
    return service


def _articles(site: Site) -> Counter[str]:
    return Counter({p: n for p, n in site.requests.items() if p.startswith("/news/")})


def test_feeds_are_recognised_by_type_or_root() -> None:
    assert is_feed("application/rss+xml", b"")
    assert is_feed("text/xml", b'<?xml version="1.0"?>\n<rss version="2.0"><channel/></rss>')
    assert is_feed("application/xml", b'<feed xmlns="http://www.w3.org/2005/Atom">')
    assert not is_feed("text/xml", b"<note>hello</note>")
    assert not is_feed("text/html", b"<rss>")


@pytest.mark.parametrize("path", ["/rss.xml", "/atom.xml", "/feed-as-xml"])
def test_a_feed_adds_each_item_as_its_own_source(tmp_path: Path, site: Site, path: str) -> None:
    service = service_for(tmp_path)
    report = service.catalog.add_urls([site.base + path], added_by="test")
    assert len(report.added) == 2
    items = [s for s in service.list_sources() if s.kind == "feed"]
    assert sorted(s.title for s in items) == ["Crane repairs finished", "Ferry timetable changes"]
    entry = service.loaded().sources[items[0].id].source
    assert entry.feed == site.base + path and entry.url and entry.date and entry.publisher
    (feed,) = service.list_feeds()
    assert feed.items == 2 and feed.refreshed_at and feed.status == "ok"
    answer = service.ask("What did Lars Berg say about the timetable?")
    assert answer.found and "winter timetable" in answer.answer


@pytest.mark.parametrize("path", ["/rss.xml", "/atom.xml"])
def test_refresh_adds_new_items_keeps_known_ones_unfetched_and_drops_removed(
    tmp_path: Path, site: Site, path: str
) -> None:
    service = service_for(tmp_path)
    service.catalog.add_urls([site.base + path])
    fetched = _articles(site)
    now = time.time()
    site.items = [("budget", now - 0.5 * DAY), ("crane", now - 1 * DAY)]  # ferry left the feed
    report = service.catalog.reindex()
    assert [service.loaded().sources[i].source.title for i in report.added] == ["Council budget approved"]
    assert len(report.removed) == 1
    new_fetches = _articles(site) - fetched
    assert list(new_fetches) == ["/news/budget.html"]  # the crane story was not fetched again
    titles = sorted(s.title for s in service.list_sources() if s.kind == "feed")
    assert titles == ["Council budget approved", "Crane repairs finished"]  # each once
    assert service.ask("What did Mayor Tomas Eriksen say about the budget?").found
    assert not service.ask("What did Lars Berg say about the timetable?").found
    # nothing changed since: a conditional request, answered 304, and no article fetched
    before = _articles(site)
    again = service.catalog.reindex()
    assert site.not_modified[path] == 1
    assert _articles(site) == before and not again.added and not again.removed
    assert "not modified" in again.summary()


def test_old_items_and_items_beyond_the_limit_are_dropped(tmp_path: Path, site: Site) -> None:
    now = time.time()
    site.items = [("budget", now - 1 * DAY), ("crane", now - 2 * DAY), ("ferry", now - 3 * DAY),
                  ("bridge", now - 90 * DAY)]
    service = service_for(tmp_path, max_items=2, max_age_days=30)
    service.catalog.add_urls([f"{site.base}/rss.xml"])
    titles = sorted(s.title for s in service.list_sources() if s.kind == "feed")
    assert titles == ["Council budget approved", "Crane repairs finished"]
    assert "/news/bridge.html" not in site.requests  # too old: never fetched


def test_a_failing_feed_keeps_its_items_and_records_the_error(tmp_path: Path, site: Site) -> None:
    service = service_for(tmp_path)
    service.catalog.add_urls([f"{site.base}/rss.xml"])
    site.feed_status = 500
    report = service.catalog.reindex()
    (feed,) = service.list_feeds()
    assert feed.status == "failed" and "HTTP 500" in (feed.last_error or "")
    assert feed.id in report.failed
    assert len([s for s in service.list_sources() if s.kind == "feed"]) == 2
    assert service.ask("What did Lars Berg say about the timetable?").found
    site.feed_status = 200
    asked = site.requests["/rss.xml"]
    waiting = service.catalog.reindex()  # a failed feed waits before it is fetched again
    assert site.requests["/rss.xml"] == asked and "not read again yet" in waiting.waiting[feed.id]
    assert service.list_feeds()[0].status == "failed"
    service.catalog.reindex([feed.id])  # named: tried now
    assert service.list_feeds()[0].status == "ok"


def test_removing_a_feed_removes_its_items(tmp_path: Path, site: Site) -> None:
    service = service_for(tmp_path)
    service.catalog.add_urls([f"{site.base}/rss.xml"])
    (feed,) = service.list_feeds()
    service.catalog.remove_source(feed.id)
    assert service.list_feeds() == [] and not [s for s in service.list_sources() if s.kind == "feed"]


def test_scheduled_refresh_rereads_only_remote_sources(tmp_path: Path, site: Site) -> None:
    service = service_for(tmp_path)
    service.catalog.add_urls([f"{site.base}/rss.xml"])
    site.items.append(("bridge", time.time()))
    report = service.catalog.reindex(remote_only=True)
    assert [service.loaded().sources[i].source.title for i in report.added] == ["Bridge closed for works"]
    assert report.unchanged == []  # the bundled article was not re-read
    assert service.follows_remote()
    live = service.loaded().path
    quiet = service.catalog.reindex(remote_only=True)  # nothing new: no new generation
    assert quiet.manifest is None and service.loaded().path == live


def test_xml_that_is_not_a_feed_is_refused(tmp_path: Path, site: Site) -> None:
    service = service_for(tmp_path)
    with pytest.raises(SourceError, match="XML but not an RSS or Atom feed"):
        service.catalog.reader.read_url(f"{site.base}/note.xml")


def test_cli_lists_feeds_with_item_counts(tmp_path: Path, site: Site, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    service = service_for(tmp_path)
    monkeypatch.setattr(cli, "make_service", lambda *args, **kwargs: service)
    assert cli.run(["sources", "add", f"{site.base}/rss.xml"]) == 0
    assert "2 new item(s)" in capsys.readouterr().out
    assert cli.run(["reindex"]) == 0
    capsys.readouterr()
    assert cli.run(["sources"]) == 0
    out = capsys.readouterr().out
    assert "Harbour Gazette" in out and out.count("Crane repairs finished") == 1
    feed_line = next(line for line in out.splitlines() if "Harbour Gazette" in line)
    assert " 2 " in feed_line


async def test_discord_moderator_follows_a_feed_and_a_refresh_picks_up_new_items(tmp_path: Path, site: Site) -> None:
    import discord

    from bot.discord.client import QABot
    from bot.spaces import Spaces

    simcord = pytest.importorskip("simcord")
    settings = Settings(fetch=FetchSettings(guild_allowed_hosts=["127.0.0.1"], timeout_seconds=5.0),
                        feeds=FeedSettings(refresh_minutes=0))  # the schedule itself: the next test
    spaces = Spaces.create(settings, tmp_path / "data", embedder=FakeEmbedder())
    spaces.default.catalog.build(spaces.default.catalog.configured_sources())
    bot = QABot(spaces, guild_ready_timeout=0.1, shard_count=1)  # SimCord needs an AutoShardedBot's count
    async with simcord.run(bot, settle_timeout=60) as env:
        guild = env.create_guild()
        channel = guild.create_text_channel("news")
        mods = guild.create_role("Mods", permissions=discord.Permissions(manage_guild=True))
        mod = guild.add_member(env.create_user("mod"), roles=[mods])
        alice = guild.add_member(env.create_user("alice"))
        added = await mod.slash(channel, "source add", url=f"{site.base}/rss.xml")
        assert "2 new item(s)" in added.response.content
        listed = await alice.slash(channel, "sources")
        description = (listed.followups[0] if listed.followups else listed.response).embeds[0].description
        assert "Harbour Gazette" in description and "2 items" in description
        site.items.append(("budget", time.time()))
        outcomes = await bot.refresh_remote_sources()
        assert list(outcomes) == [guild.id]  # the default space follows nothing remote
        assert "1 new item" in outcomes[guild.id]
        answer = await alice.slash(channel, "ask", question="What did Mayor Tomas Eriksen say about the budget?")
        embed = (answer.followups[0] if answer.followups else answer.response).embeds[0]
        assert "two new schools" in embed.description
        assert [r[2] for r in bot.records.audit_log(guild.id)] == ["Add source", "Scheduled refresh"]


async def test_the_bot_refreshes_on_its_schedule(tmp_path: Path, site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from bot.discord.client import QABot
    from tests.fake_discord import FakeDiscord, connected

    service = service_for(tmp_path, refresh_minutes=0.005)  # every 0.3 s
    service.catalog.add_urls([f"{site.base}/rss.xml"])
    bot = QABot(service, guild_ready_timeout=0.1)
    async with connected(monkeypatch, FakeDiscord(), bot):
        site.items.append(("budget", time.time()))
        for _ in range(600):  # the audit row is written just after the new generation is live
            if (service.ask("What did Mayor Tomas Eriksen say about the budget?").found
                    and any(r[2] == "Scheduled refresh" for r in bot.records.audit_log())):
                break
            await asyncio.sleep(0.05)
        assert service.ask("What did Mayor Tomas Eriksen say about the budget?").found
        for _ in range(100):  # the audit row is written just after the new index goes live
            if any(r[2] == "Scheduled refresh" for r in bot.records.audit_log()):
                break
            await asyncio.sleep(0.05)
        assert any(r[2] == "Scheduled refresh" for r in bot.records.audit_log())
