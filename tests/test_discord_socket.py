"""The real discord.py client over real sockets against the fake Discord in tests/fake_discord.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import discord
import pytest
import yarl

import bot.cli as cli
from bot.config import Settings
from bot.discord.client import QABot, _serve
from bot.reading import read_paths
from bot.service import QAService
from index.errors import QABotError
from tests.conftest import DATA, FakeEmbedder
from tests.fake_discord import TOKEN, FakeDiscord


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord()
    await server.start()
    monkeypatch.setattr(discord.http.Route, "BASE", server.base)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(server.gateway_url))
    yield server
    await server.stop()


@pytest.fixture
async def running(fake: FakeDiscord, tmp_path: Path) -> AsyncIterator[tuple[FakeDiscord, QABot, Path]]:
    story = tmp_path / "story.txt"
    story.write_text((DATA / "harbour.txt").read_text(encoding="utf-8"), encoding="utf-8")
    service = QAService(Settings(), tmp_path / "index", embedder=FakeEmbedder())
    service.catalog.build(service.catalog.configured_sources() + read_paths([story]))
    bot = QABot(service, guild_ready_timeout=0.1)
    task = asyncio.create_task(bot.start(TOKEN))
    await asyncio.wait_for(fake.identified.wait(), 30)
    async def synced() -> None:
        while not fake.commands:
            await asyncio.sleep(0.02)
    await asyncio.wait_for(synced(), 30)
    await asyncio.wait_for(bot.wait_until_ready(), 30)
    yield fake, bot, story
    await bot.close()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def _embeds_with(text: str):  # noqa: ANN202
    def match(item: dict) -> bool:
        body = item["body"] or {}
        return any(text in (e.get("description") or "") for e in body.get("embeds") or [])
    return match


async def test_login_and_command_sync(running) -> None:  # noqa: ANN001
    fake, _, _ = running
    methods = [(m, p) for m, p, _ in fake.requests]
    assert ("GET", "/users/@me") in methods
    names = {c["name"]: c for c in fake.commands}
    assert {"ask", "sources", "source", "reindex"} <= set(names)
    assert str(names["source"]["default_member_permissions"]) == "32"  # Manage Server
    assert str(names["reindex"]["default_member_permissions"]) == "32"


async def test_ask_is_deferred_then_answered_without_pings(running) -> None:  # noqa: ANN001
    fake, _, _ = running
    await fake.slash("ask", [{"name": "question", "type": 3, "value": "Where will the US relocate its embassy?"}])
    reply = await fake.wait_for(_embeds_with("Lviv"))
    assert fake.callbacks[0]["type"] == 5  # deferred before the answer
    assert reply["body"]["allowed_mentions"]["parse"] == []


async def test_mention_is_answered(running) -> None:  # noqa: ANN001
    fake, _, _ = running
    await fake.mention("What did Mayor Tomas Eriksen say?")
    reply = await fake.wait_for(lambda item: item["via"] == "channel" and _embeds_with("cranes")(item))
    assert "message_id" in reply["body"]["message_reference"]  # a reply to the question
    assert reply["body"]["allowed_mentions"]["parse"] == []


async def test_moderator_reindex_then_ask_sees_the_new_text(running) -> None:  # noqa: ANN001
    fake, _, story = running
    story.write_text(story.read_text() + "\n\nThe harbour master said the flamingo colony had returned to the docks.\n")
    await fake.slash("reindex", [], uid="7", moderator=True)
    await fake.wait_for(lambda item: "done" in ((item["body"] or {}).get("content") or ""))
    done = next(item for item in fake.messages if "done" in ((item["body"] or {}).get("content") or ""))
    assert "changed: 1 paragraph(s) added" in done["body"]["content"]
    await fake.slash("ask", [{"name": "question", "type": 3, "value": "What did the harbour master say about flamingos?"}])
    await fake.wait_for(_embeds_with("flamingo"))


async def test_rejected_token_is_one_clear_error(fake: FakeDiscord, tmp_path: Path) -> None:
    service = QAService(Settings(), tmp_path / "index", embedder=FakeEmbedder())
    service.catalog.build(service.catalog.configured_sources())
    with pytest.raises(QABotError, match="rejected the token"):
        await _serve(QABot(service, guild_ready_timeout=0.1), "wrong-token")


def test_serve_without_token_exits_with_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = cli.run(["serve", "--index-dir", str(tmp_path / "nothing")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip() == "error: No Discord token: set DISCORD_TOKEN or name a file in discord.token_file."


def test_serve_without_token_on_a_built_index(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    service = QAService(Settings(), tmp_path / "index", embedder=FakeEmbedder())
    service.catalog.build(service.catalog.configured_sources())
    code = cli.run(["serve", "--index-dir", str(tmp_path / "index")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip() == "error: No Discord token: set DISCORD_TOKEN or name a file in discord.token_file."


async def test_a_second_reindex_while_one_runs_is_refused(fake: FakeDiscord, tmp_path: Path) -> None:
    import threading

    from index.speakers import annotate

    parsing, finish = threading.Event(), threading.Event()

    def slow_annotate(text, chunks):  # noqa: ANN001, ANN202
        if "tugboats" in text:  # the reindex: hold it until the second /reindex has been refused
            parsing.set()
            finish.wait(60)
        return annotate(text, chunks)

    story = tmp_path / "story.txt"
    story.write_text("Harbour\n\nThe harbour master said the cranes were back in service.\n")
    service = QAService(Settings(), tmp_path / "index", embedder=FakeEmbedder(), annotator=slow_annotate)
    service.catalog.build(service.catalog.configured_sources() + read_paths([story]))
    story.write_text(story.read_text() + "\nA new sentence about tugboats arrived.\n")
    bot = QABot(service, guild_ready_timeout=0.1)
    task = asyncio.create_task(bot.start(TOKEN))
    try:
        await asyncio.wait_for(bot.wait_until_ready(), 60)
        while not fake.commands:
            await asyncio.sleep(0.02)
        await fake.slash("reindex", [], uid="7", moderator=True)
        await asyncio.get_running_loop().run_in_executor(None, parsing.wait, 60)
        await fake.slash("reindex", [], uid="8", moderator=True)

        async def refused() -> None:
            while not any((c or {}).get("data", {}).get("content", "").startswith("A change to this server")
                          for c in fake.callbacks):
                fake.changed.clear()
                await fake.changed.wait()

        await asyncio.wait_for(refused(), 30)
        finish.set()
        await fake.wait_for(lambda item: "Reindex** done" in ((item["body"] or {}).get("content") or ""), 60)
        for _ in range(300):  # the audit row is written just after the reply
            if len(bot.records.audit_log()) == 2:
                break
            await asyncio.sleep(0.05)
        outcomes = [row[4].split(":")[0] for row in bot.records.audit_log()]
        assert sorted(outcomes) == ["ok", "refused"]
    finally:
        finish.set()
        await bot.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_sigterm_shuts_the_bot_down_cleanly(fake: FakeDiscord, tmp_path: Path) -> None:
    import os
    import signal

    service = QAService(Settings(), tmp_path / "index", embedder=FakeEmbedder())
    service.catalog.build(service.catalog.configured_sources())
    bot = QABot(service, guild_ready_timeout=0.1)
    serving = asyncio.create_task(_serve(bot, TOKEN))
    await asyncio.wait_for(bot.wait_until_ready(), 60)
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(serving, 30)  # returns instead of raising
    assert bot.is_closed()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(sig)


async def test_commands_sync_to_configured_guilds(fake: FakeDiscord, tmp_path: Path) -> None:
    from bot.config import DiscordSettings
    from tests.fake_discord import APP_ID, GUILD_ID

    settings = Settings(discord=DiscordSettings(guild_ids=[int(GUILD_ID)]))
    service = QAService(settings, tmp_path / "index", embedder=FakeEmbedder())
    service.catalog.build(service.catalog.configured_sources())
    bot = QABot(service, guild_ready_timeout=0.1)
    task = asyncio.create_task(bot.start(TOKEN))
    try:
        await asyncio.wait_for(bot.wait_until_ready(), 60)
        puts = [p for m, p, _ in fake.requests if m == "PUT"]
        assert f"/applications/{APP_ID}/guilds/{GUILD_ID}/commands" in puts
        assert {"ask", "source", "reindex"} <= {c["name"] for c in fake.commands}
    finally:
        await bot.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
