"""Through Discord: one bad feed item is that item's failure, the moderator is told why, and the
scheduled refresh of the server keeps working."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import bot.reading
from bot.config import DiscordSettings, FeedSettings, FetchSettings, Settings
from bot.discord.client import QABot
from bot.spaces import Spaces
from tests.conftest import FakeEmbedder
from tests.fake_discord import FakeDiscord, connected
from tests.test_refresh_faults import Site, site  # noqa: F401 - the web server fixture

A = "900000000000000100"


def _text(reply: dict[str, Any]) -> str:
    body = reply["body"] or {}
    return (body.get("content") or "") + " ".join(e.get("description") or "" for e in body.get("embeds") or [])


async def test_a_bad_item_never_breaks_a_servers_refresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                         site: Site) -> None:  # noqa: F811
    real = bot.reading.article
    broken = f"{site.base}/news/beta"

    def reader(got: object, url: str, **options: object) -> object:
        if url == broken:
            raise NotImplementedError("unsupported filter /JBIG2Decode")  # like pypdf on an unknown filter
        return real(got, url, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(bot.reading, "article", reader)
    site.pages["/news/gamma"] = lambda: (500, "text/html", b"down")
    fake = FakeDiscord(guild_ids=[A])
    settings = Settings(discord=DiscordSettings(answer_dms=False), feeds=FeedSettings(refresh_minutes=0),
                        fetch=FetchSettings(guild_allowed_hosts=["127.0.0.1"]))
    spaces = Spaces.create(settings, tmp_path / "data", embedder=FakeEmbedder())
    spaces.default.catalog.build(spaces.default.catalog.configured_sources())
    qabot = QABot(spaces, guild_ready_timeout=0.1)
    async with connected(monkeypatch, fake, qabot):
        iid = await fake.slash("source add", [{"name": "url", "type": 3, "value": f"{site.base}/rss.xml"}],
                               uid="7", moderator=True, guild=A)
        reply = _text(await fake.wait_for(lambda m: f"tok-{iid}" in m["via"] and "done" in _text(m), 60))
        assert "1 new item(s)" in reply
        assert "NotImplementedError" in reply and "HTTP 500" in reply  # the moderator sees why
        site.items.append(("/news/delta", time.time()))
        outcomes = await qabot.refresh_remote_sources()
        assert outcomes[int(A)].startswith("ok:") and "1 new item" in outcomes[int(A)]
        site.items.append(("/news/epsilon", time.time()))
        again = await qabot.refresh_remote_sources()
        assert again[int(A)].startswith("ok:") and "1 new item" in again[int(A)]
        iid = await fake.slash("sources", [], uid="8", guild=A)
        listed = _text(await fake.reply_to(iid))
        assert "Item /news/delta" in listed and "Item /news/epsilon" in listed


async def test_a_server_cannot_use_the_operators_allowed_hosts_nor_see_resolved_addresses(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = FakeDiscord(guild_ids=[A])
    fake.files["intranet.html"] = "<html><body><article><p>The payroll server is at 10.1.2.3.</p></article></body></html>"
    settings = Settings(discord=DiscordSettings(answer_dms=False), feeds=FeedSettings(refresh_minutes=0),
                        fetch=FetchSettings(allowed_hosts=["localhost"]))  # the operator's intranet host
    spaces = Spaces.create(settings, tmp_path / "data", embedder=FakeEmbedder())
    spaces.default.catalog.build(spaces.default.catalog.configured_sources())
    qabot = QABot(spaces, guild_ready_timeout=0.1)
    async with connected(monkeypatch, fake, qabot):
        url = fake.file_url("intranet.html").replace("127.0.0.1", "localhost")
        iid = await fake.slash("source add", [{"name": "url", "type": 3, "value": url}], uid="7", moderator=True,
                               guild=A)
        reply = _text(await fake.wait_for(lambda m: f"tok-{iid}" in m["via"] and "failed" in _text(m), 60))
        assert "internal address" in reply
        assert "127.0.0.1" not in reply and "::1" not in reply and "allowed_hosts" not in reply
        audit = " ".join(str(row) for row in qabot.records.audit_log(int(A)))
        assert "127.0.0.1" not in audit
