"""The bot on a machine that has no index for a server PostgreSQL knows: members are told it is
getting ready, then answered; its records land in the shared database. Real discord.py client,
fake Discord over sockets, real PostgreSQL (QABOT_TEST_POSTGRES; skipped without one)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.config import DatabaseSettings, DiscordSettings, Settings
from bot.db import Database, postgres_stores
from bot.discord.client import QABot
from bot.reading import read_paths
from bot.service import QAService
from bot.spaces import Spaces
from tests.conftest import DATA, FakeEmbedder
from tests.fake_discord import FakeDiscord, connected
from tests.test_discord_guilds import _ask

GUILD = "900000000000001100"


def _machine(url: str, root: Path, database: Database, settings: Settings) -> Spaces:
    return Spaces(QAService(settings, root, FakeEmbedder(), stores=postgres_stores(database, root)))


async def test_a_server_moved_here_is_getting_ready_then_answered(
        postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(database=DatabaseSettings(url=postgres_url), discord=DiscordSettings(answer_dms=False))
    first_db, second_db = Database(postgres_url, pool_size=4), Database(postgres_url, pool_size=4)
    try:
        first = _machine(postgres_url, tmp_path / "first", first_db, settings)
        first.default.catalog.build(first.default.catalog.configured_sources())
        first.for_guild(int(GUILD)).catalog.add_sources(read_paths([DATA / "harbour.txt"]))

        second = _machine(postgres_url, tmp_path / "second", second_db, settings)  # an empty disk
        fake = FakeDiscord(guild_ids=[GUILD])
        bot = QABot(second, guild_ready_timeout=0.1)
        async with connected(monkeypatch, fake, bot):
            first_reply = await _ask(fake, "What did Mayor Tomas Eriksen say?", GUILD)
            assert "getting this server's sources ready" in first_reply
            thread = second.for_guild(int(GUILD)).live.readiness.thread
            assert thread is not None
            await asyncio.to_thread(thread.join, 60)
            assert "cranes" in await _ask(fake, "What did Mayor Tomas Eriksen say?", GUILD, uid="43")
        with first_db.connection() as conn:  # written by the second machine, readable by every one
            questions = [r[0] for r in conn.execute("SELECT question FROM answers WHERE guild_id = %s",
                                                    (int(GUILD),))]
        assert "What did Mayor Tomas Eriksen say?" in questions
    finally:
        first_db.close()
        second_db.close()
