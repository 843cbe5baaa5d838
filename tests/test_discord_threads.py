"""Follow-ups in Discord threads, over real sockets: a thread from an answer reads each question with the ones before."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import DiscordSettings, Settings
from bot.discord.client import QABot
from bot.spaces import Spaces
from tests.conftest import FakeEmbedder
from tests.fake_discord import GUILD_ID, FakeDiscord, connected


def _bot(tmp_path: Path, mode: str) -> QABot:
    spaces = Spaces.create(Settings(discord=DiscordSettings(followups=mode)), tmp_path / "data", embedder=FakeEmbedder())
    spaces.default.catalog.build(spaces.default.catalog.configured_sources())
    return QABot(spaces, guild_ready_timeout=0.1)


@pytest.fixture
async def button_mode(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncIterator[tuple[FakeDiscord, QABot]]:
    bot = _bot(tmp_path, "button")
    async with connected(monkeypatch, FakeDiscord(), bot) as fake:
        yield fake, bot


def _description(item: dict[str, Any]) -> str:
    """The embeds' text, or the message's own (a declined mention gets one line, no embed)."""
    body = item["body"] or {}
    return " ".join(e.get("description") or "" for e in body.get("embeds") or []) or body.get("content") or ""


def _buttons(item: dict[str, Any]) -> dict[str, str]:
    return {c.get("label") or c.get("emoji", {}).get("name", ""): c["custom_id"]
            for row in (item["body"] or {}).get("components") or [] for c in row.get("components", [])}


async def _ask(fake: FakeDiscord, question: str, channel: str | None = None, uid: str = "42") -> dict[str, Any]:
    iid = await fake.slash("ask", [{"name": "question", "type": 3, "value": question}], uid=uid, channel=channel)
    return await fake.reply_to(iid)


async def test_continue_in_thread_then_follow_ups_are_understood(button_mode) -> None:  # noqa: ANN001
    fake, bot = button_mode
    first = await _ask(fake, "What did Scholz say?")
    assert "Olaf Scholz" in _description(first)
    thread_button = _buttons(first)["Continue in thread"]
    iid = await fake.click(thread_button, first["id"], uid="42")
    said = await fake.reply_to(iid)
    thread = first["id"]  # a thread started from a message has the message's id
    assert fake.threads == {thread: fake.channel_of(GUILD_ID)}
    assert f"<#{thread}>" in (said["body"].get("content") or "")
    intro = await fake.wait_for(lambda m: m["via"] == "channel" and m.get("channel") == thread)
    assert "follow-up" in intro["body"]["content"]

    second = await _ask(fake, "what did he say about the troops?", channel=thread, uid="43")
    text = _description(second)
    assert "Understood as: what did Olaf Scholz say about the troops?" in text
    assert "no reasonable justification" in text
    assert "Continue in thread" not in _buttons(second)  # already in one

    await fake.mention("and Johnson?", uid="44", channel=thread)
    reply = await fake.wait_for(lambda m: m["via"] == "channel" and m.get("channel") == thread
                                and "Understood as" in _description(m))
    assert "Understood as: what did Johnson say about the troops?" in _description(reply)

    # the same question outside the thread stands alone
    plain = await _ask(fake, "what did he say about the troops?", uid="45")
    assert "Understood as" not in _description(plain)

    again = await fake.click(thread_button, first["id"], uid="46")  # a second thread for the same answer
    assert "couldn't start a thread" in ((await fake.reply_to(again))["body"].get("content") or "")


async def test_thread_mode_answers_in_a_new_thread(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    async with connected(monkeypatch, FakeDiscord(), _bot(tmp_path, "thread")) as fake:
        first = await _ask(fake, "What did Scholz say?")
        assert "Continue in thread" not in _buttons(first)
        for _ in range(200):
            if fake.threads:
                break
            await asyncio.sleep(0.02)
        assert list(fake.threads) == [first["id"]]
        second = await _ask(fake, "and Blinken?", channel=first["id"], uid="43")
        assert "Understood as: What did Blinken say?" in _description(second)
