"""Shards over real sockets: the real discord.py AutoShardedBot against the fake Discord, which sends
each shard only the guilds it owns and each guild's events only to its shard."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest
import yarl

from bot.config import DiscordSettings, Settings
from bot.discord.client import QABot
from bot.service import QAService
from bot.shards import shard_of
from tests.conftest import FakeEmbedder
from tests.fake_discord import TOKEN, FakeDiscord, spread_guilds

QUESTION = "Where will the US relocate its embassy?"


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord(guild_ids=spread_guilds(6))
    await server.start()
    monkeypatch.setattr(discord.http.Route, "BASE", server.base)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(server.gateway_url))
    yield server
    await server.stop()


def make_bot(tmp_path: Path, name: str, settings: Settings | None = None, **options: Any) -> QABot:
    service = QAService(settings or Settings(), tmp_path / name, embedder=FakeEmbedder())
    service.catalog.build(service.catalog.configured_sources())
    bot = QABot(service, guild_ready_timeout=0.1, **options)

    async def no_wait(shard_id: int | None, *, initial: bool = False) -> None:
        """Discord spaces IDENTIFYs 5 s apart; the fake does not."""

    bot.before_identify_hook = no_wait  # type: ignore[method-assign]
    return bot


@contextlib.asynccontextmanager
async def running(fake: FakeDiscord, *bots: QABot) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(bot.start(TOKEN)) for bot in bots]
    try:
        for bot in bots:
            await asyncio.wait_for(bot.wait_until_ready(), 30)
        while not fake.commands:
            await asyncio.sleep(0.02)
        yield
    finally:
        for bot in bots:
            await bot.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _text(reply: dict[str, Any]) -> str:
    body = reply["body"] or {}
    return (body.get("content") or "") + " ".join(
        (e.get("description") or "") + " " + ((e.get("footer") or {}).get("text") or "")
        for e in body.get("embeds") or [])


async def _ask(fake: FakeDiscord, guild: str, uid: str) -> tuple[str, str]:
    iid = await fake.slash("ask", [{"name": "question", "type": 3, "value": QUESTION}], uid=uid, guild=guild)
    return iid, _text(await fake.reply_to(iid))


def _answered_guilds(bot: QABot) -> list[int]:
    db = sqlite3.connect(bot.records.path)
    try:
        return sorted(row[0] for row in db.execute("SELECT guild_id FROM answers"))
    finally:
        db.close()


async def test_two_shards_in_one_process_each_serve_their_guilds(fake: FakeDiscord, tmp_path: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="qabot")
    bot = make_bot(tmp_path, "one", shard_count=2)
    async with running(fake, bot):
        assert sorted(fake.identifies) == [(0, 2), (1, 2)]
        assert {str(g.id): g.shard_id for g in bot.guilds} == {g: fake.owner(g) for g in fake.guild_ids}
        assert sorted({fake.owner(g) for g in fake.guild_ids}) == [0, 1]  # the guilds really are spread
        for n, guild in enumerate(fake.guild_ids):
            iid, answer = await _ask(fake, guild, uid=str(100 + n))
            assert "Lviv" in answer
            assert fake.delivered[iid] == shard_of(int(guild), 2)
            iid = await fake.slash("sources", [], uid=str(200 + n), guild=guild)
            assert f"Served by shard {shard_of(int(guild), 2)} of 2" in _text(await fake.reply_to(iid))
    assert "shard 0 of 2 ready: 3 server(s)" in caplog.text
    assert "shard 1 of 2 ready: 3 server(s)" in caplog.text
    assert TOKEN not in caplog.text


async def test_two_clients_with_their_own_shards_answer_only_their_guilds(fake: FakeDiscord, tmp_path: Path) -> None:
    first = make_bot(tmp_path, "first", shard_count=2, shard_ids=[0])
    # the second as an operator would configure a second machine: discord.shard_count / shard_ids
    second = make_bot(tmp_path, "second", Settings(discord=DiscordSettings(shard_count=2, shard_ids=[1])))
    async with running(fake, first, second):
        assert (first.shard_count, second.shard_count) == (2, 2)
        assert {g.id for g in first.guilds} == {int(g) for g in fake.guild_ids if fake.owner(g) == 0}
        assert {g.id for g in second.guilds} == {int(g) for g in fake.guild_ids if fake.owner(g) == 1}
        for n, guild in enumerate(fake.guild_ids):
            assert "Lviv" in (await _ask(fake, guild, uid=str(100 + n)))[1]
        for _ in range(100):  # answers are recorded just after the reply
            if len(_answered_guilds(first)) + len(_answered_guilds(second)) == len(fake.guild_ids):
                break
            await asyncio.sleep(0.05)
    assert _answered_guilds(first) == sorted(int(g) for g in fake.guild_ids if fake.owner(g) == 0)
    assert _answered_guilds(second) == sorted(int(g) for g in fake.guild_ids if fake.owner(g) == 1)


async def test_a_guild_on_a_shard_nobody_runs_gets_nothing_and_nothing_breaks(fake: FakeDiscord,
                                                                              tmp_path: Path) -> None:
    bot = make_bot(tmp_path, "partial", shard_count=3, shard_ids=[0, 1])
    orphan = next(g for g in fake.guild_ids if shard_of(int(g), 3) == 2)
    async with running(fake, bot):
        assert int(orphan) not in {g.id for g in bot.guilds}
        iid = await fake.slash("ask", [{"name": "question", "type": 3, "value": QUESTION}], guild=orphan)
        assert iid not in fake.delivered and fake.undelivered[-1][1]["id"] == iid
        served = next(g for g in fake.guild_ids if shard_of(int(g), 3) == 1)
        assert "Lviv" in (await _ask(fake, served, uid="43"))[1]  # the others are still answered
        await asyncio.sleep(0.2)
        assert not [c for c in fake.callbacks if c["interaction_id"] == iid]
        assert not [m for m in fake.messages if f"tok-{iid}" in m["via"]]
        assert not bot.is_closed()


async def test_without_a_shard_count_discord_py_asks_and_runs_them_all(fake: FakeDiscord, tmp_path: Path) -> None:
    fake.recommended_shards = 2
    bot = make_bot(tmp_path, "picks")
    async with running(fake, bot):
        assert ("GET", "/gateway/bot", None) in fake.requests
        assert bot.shard_count == 2 and sorted(fake.identifies) == [(0, 2), (1, 2)]
        assert len(bot.guilds) == len(fake.guild_ids)
        assert "Lviv" in (await _ask(fake, fake.guild_ids[0], uid="42"))[1]


async def test_a_small_bot_stays_one_shard_as_before(fake: FakeDiscord, tmp_path: Path) -> None:
    bot = make_bot(tmp_path, "small")
    async with running(fake, bot):
        assert fake.identifies == [(0, 1)] and bot.shard_count == 1
        iid = await fake.slash("sources", [], guild=fake.guild_ids[3])
        assert "Served by shard 0 of 1" in _text(await fake.reply_to(iid))


async def test_hundreds_of_guilds_over_four_shards(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    many = FakeDiscord(guild_ids=spread_guilds(400))
    await many.start()
    monkeypatch.setattr(discord.http.Route, "BASE", many.base)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(many.gateway_url))
    bot = make_bot(tmp_path, "many", shard_count=4)
    try:
        async with running(many, bot):
            per_shard = {shard: sum(1 for g in bot.guilds if g.shard_id == shard) for shard in range(4)}
            assert per_shard == {0: 100, 1: 100, 2: 100, 3: 100}
            for shard in range(4):  # the last guild each shard was sent is served
                guild = [g for g in many.guild_ids if many.owner(g) == shard][-1]
                iid, answer = await _ask(many, guild, uid=str(300 + shard))
                assert "Lviv" in answer and many.delivered[iid] == shard
    finally:
        await many.stop()
