"""One bot, many servers, over real sockets: each server's sources, moderators and records are its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import DiscordSettings, FetchSettings, Settings
from bot.discord.client import QABot
from bot.spaces import Spaces
from tests.conftest import DATA, FakeEmbedder
from tests.fake_discord import FakeDiscord, connected

A, B, C = "900000000000000100", "900000000000001100", "900000000000002100"  # C is not allowed
HARBOUR_HTML = "<html><head><title>Port strike</title></head><body><article>" + "".join(
    f"<p>{p}</p>" for p in (DATA / "harbour.txt").read_text(encoding="utf-8").split("\n\n")[1:]
) + "</article></body></html>"


@pytest.fixture
async def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncIterator[tuple[FakeDiscord, QABot]]:
    fake = FakeDiscord(guild_ids=[A, B, C])
    fake.files["harbour.html"] = HARBOUR_HTML
    settings = Settings(discord=DiscordSettings(allowed_guild_ids=[int(A), int(B)], answer_dms=False),
                        fetch=FetchSettings(guild_allowed_hosts=["127.0.0.1"]))
    spaces = Spaces.create(settings, tmp_path / "data", embedder=FakeEmbedder())
    spaces.default.catalog.build(spaces.default.catalog.configured_sources())
    bot = QABot(spaces, guild_ready_timeout=0.1)
    async with connected(monkeypatch, fake, bot):
        yield fake, bot


def _text(reply: dict[str, Any]) -> str:
    body = reply["body"] or {}
    embeds = body.get("embeds") or []
    return (body.get("content") or "") + " ".join(
        (e.get("title") or "") + " " + (e.get("description") or "") for e in embeds)


async def _ask(fake: FakeDiscord, question: str, guild: str | None, uid: str = "42") -> str:
    iid = await fake.slash("ask", [{"name": "question", "type": 3, "value": question}], uid=uid, guild=guild)
    return _text(await fake.reply_to(iid))


async def test_a_moderator_of_b_changes_b_only(world) -> None:  # noqa: ANN001
    fake, bot = world
    bundled = bot.service.list_sources()[0].id
    iid = await fake.slash("source remove", [{"name": "id", "type": 3, "value": bundled}], uid="7",
                           moderator=True, guild=B)
    assert "removed" in _text(await fake.wait_for(lambda m: f"tok-{iid}" in m["via"] and "done" in _text(m), 30))
    iid = await fake.slash("source add", [{"name": "url", "type": 3, "value": fake.file_url("harbour.html")}],
                           uid="7", moderator=True, guild=B)
    assert "added" in _text(await fake.wait_for(lambda m: f"tok-{iid}" in m["via"] and "done" in _text(m), 30))

    in_a = await _ask(fake, "What did Scholz say?", A)
    assert "Scholz" in in_a and "couldn't find" not in in_a  # A still has the bundled article
    assert "couldn't find" in await _ask(fake, "What did Scholz say?", B, uid="43")
    in_b = await _ask(fake, "What did Mayor Tomas Eriksen say?", B, uid="44")
    assert "cranes" in in_b
    assert "couldn't find" in await _ask(fake, "What did Mayor Tomas Eriksen say?", A, uid="45")
    assert [s.id for s in bot.service.list_sources()] == [bundled]  # the default space is untouched

    # /sources shows each server its own list
    iid = await fake.slash("sources", [], uid="46", guild=A)
    assert "Russia says ready" in _text(await fake.reply_to(iid))
    iid = await fake.slash("sources", [], uid="46", guild=B)
    listed_b = _text(await fake.reply_to(iid))
    assert "Port strike" in listed_b and "Russia says ready" not in listed_b


async def test_a_moderator_of_a_is_nobody_in_b(world) -> None:  # noqa: ANN001
    fake, bot = world
    bundled = bot.service.list_sources()[0].id
    iid = await fake.slash("source remove", [{"name": "id", "type": 3, "value": bundled}], uid="7",
                           moderator=False, guild=B)  # user 7 moderates A, not B
    assert "Only moderators of this server" in _text(await fake.reply_to(iid))
    assert not bot.spaces.for_guild(int(B)).own_index
    # autocomplete of source ids: only for moderators, answered from memory
    iid = await fake.slash("source remove", [{"name": "id", "type": 3, "value": "", "focused": True}],
                           uid="7", moderator=False, guild=B, kind=4)
    assert (await fake.reply_to(iid))["body"]["choices"] == []
    iid = await fake.slash("source remove", [{"name": "id", "type": 3, "value": "", "focused": True}],
                           uid="7", moderator=True, guild=A, kind=4)
    assert [c["value"] for c in (await fake.reply_to(iid))["body"]["choices"]] == [bundled]
    for _ in range(100):  # the refusal is audited just after the reply
        if bot.records.audit_log(int(B)):
            break
        await asyncio.sleep(0.05)
    assert [row[4] for row in bot.records.audit_log(int(B))] == ["refused: not a moderator"]
    assert bot.records.audit_log(int(A)) == []


async def test_servers_not_allowed_are_refused_and_left_and_dms_follow_the_setting(world) -> None:  # noqa: ANN001
    fake, bot = world
    for _ in range(100):
        if fake.left:
            break
        await asyncio.sleep(0.05)
    assert fake.left == [C]
    assert "not enabled for this server" in await _ask(fake, "What did Scholz say?", C)
    assert "only answer questions in servers" in await _ask(fake, "What did Scholz say?", None)
    await fake.mention("What did Scholz say?", guild=C)
    reply = await fake.wait_for(lambda m: m["via"] == "channel" and m.get("channel") == fake.channel_of(C))
    assert "not enabled" in reply["body"]["content"]


async def test_feedback_and_passages_stay_in_their_server(world) -> None:  # noqa: ANN001
    fake, bot = world
    await _ask(fake, "Where will the US relocate its embassy?", A)
    answer_id = max(row[0] for row in _answers(bot))
    bot.records.save_feedback(answer_id, 42, "down", int(A))
    assert not bot.records.save_feedback(answer_id, 43, "up", int(B))  # an id from A means nothing in B
    assert bot.records.answer(answer_id, int(B)) is None
    iid = await fake.slash("feedback", [], uid="7", moderator=True, guild=B)
    assert _text(await fake.reply_to(iid)).startswith("👍 0 · 👎 0")
    iid = await fake.slash("feedback", [], uid="7", moderator=True, guild=A)
    assert _text(await fake.reply_to(iid)).startswith("👍 0 · 👎 1")


def _answers(bot: QABot) -> list[tuple[int, int]]:
    import sqlite3

    db = sqlite3.connect(bot.records.path)
    try:
        return db.execute("SELECT id, guild_id FROM answers").fetchall()
    finally:
        db.close()
