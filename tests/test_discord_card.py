"""The answer card over real sockets: compact and within Discord's limits, declines kept private,
passages shown only to whoever asks for them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.config import Settings
from bot.discord.client import QABot
from bot.discord.render import check_limits
from bot.reading import read_paths
from bot.spaces import Spaces
from tests.conftest import FakeEmbedder
from tests.fake_discord import FakeDiscord, connected

EPHEMERAL = 64
LONG_TITLE = "Новый мост через Волгу: " + "мэр Анна Петрова о сроках, ценах и пробках — " * 8
BRIDGE = f"""{LONG_TITLE}

Mayor Anna Petrova said on Monday that the new bridge over the Volga will open in Kazan next spring.

The city council approved the budget for the bridge in March after a long debate.
"""


@pytest.fixture
async def running(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncIterator[FakeDiscord]:
    spaces = Spaces.create(Settings(), tmp_path / "data", embedder=FakeEmbedder())
    service = spaces.default
    (tmp_path / "bridge.txt").write_text(BRIDGE, encoding="utf-8")
    service.catalog.build(service.catalog.configured_sources() + read_paths([tmp_path / "bridge.txt"]))
    async with connected(monkeypatch, FakeDiscord(), QABot(spaces, guild_ready_timeout=0.1)) as fake:
        yield fake


def _buttons(body: dict[str, Any]) -> dict[str, str]:
    return {c.get("label") or c.get("emoji", {}).get("name", ""): c["custom_id"]
            for row in body.get("components") or [] for c in row.get("components", [])}


async def _ask(fake: FakeDiscord, question: str) -> tuple[str, dict[str, Any]]:
    iid = await fake.slash("ask", [{"name": "question", "type": 3, "value": question}])
    return iid, await fake.reply_to(iid)


def _public(fake: FakeDiscord, iid: str) -> list[dict[str, Any]]:
    """What the channel still sees of interaction ``iid``: posts and edits not deleted, not ephemeral."""
    return [m for m in fake.messages if f"/tok-{iid}" in m["via"] and not m["via"].startswith("DELETE")
            and not m.get("deleted") and not ((m["body"] or {}).get("flags", 0) & EPHEMERAL)]


async def test_the_card_is_the_question_the_answer_once_and_one_source_line(running: FakeDiscord) -> None:
    iid, reply = await _ask(running, "Where will the new bridge open?")
    (data,) = reply["body"]["embeds"]
    embed = discord.Embed.from_dict(data)
    check_limits(embed)
    assert embed.title == "Where will the new bridge open?"
    assert "**Kazan**" in (embed.description or "")  # the place asked for, in bold
    assert (embed.description or "").count("next spring") == 1  # not repeated in a field
    (source,) = embed.fields
    assert source.name == "Source" and (source.value or "").startswith("[1] ¶")
    assert "Новый мост" in (source.value or "") and len(source.value or "") < 250  # the long title, clipped
    assert "chars" not in str(data) and " ms" not in str(data)
    assert list(_buttons(reply["body"]))[:3] == ["Show passages", "👍", "👎"]
    assert _public(running, iid)  # a found answer is for the channel

    shown = await running.click(_buttons(reply["body"])["Show passages"], reply["id"])
    private = await running.reply_to(shown)
    ack = next(c for c in running.callbacks if c["interaction_id"] == shown)
    assert ack["type"] == 5 and ack["data"]["flags"] & EPHEMERAL  # acknowledged privately
    assert private["body"]["flags"] & EPHEMERAL
    assert "chars" in private["body"]["embeds"][0]["description"]  # offsets live here


async def test_a_decline_after_ask_posts_nothing_publicly(running: FakeDiscord) -> None:
    iid, reply = await _ask(running, "What is the capital of France?")
    assert reply["body"]["flags"] & EPHEMERAL
    assert "France" in reply["body"]["embeds"][0]["description"]
    assert not reply["body"].get("components")  # France is in no source: no passages to offer, no votes
    assert _public(running, iid) == []


async def test_a_declined_mention_gets_one_line_and_the_closest_passages_privately(running: FakeDiscord) -> None:
    await running.mention("What did Biden say?")
    reply = await running.wait_for(lambda m: m["via"] == "channel")
    body = reply["body"]
    assert not body.get("embeds") and "\n" not in body["content"] and "Biden" in body["content"]
    assert list(_buttons(body)) == ["Closest passages"]
    shown = await running.click(_buttons(body)["Closest passages"], reply["id"])
    private = await running.reply_to(shown)
    assert private["body"]["flags"] & EPHEMERAL
    assert private["body"]["embeds"][0]["title"] == "Closest passages (not an answer)"
    passages = private["body"]["embeds"][0]["description"].split("\n\n")
    assert all("**" not in p.split("\n")[-1] for p in passages)  # the passages are not bold: not evidence
