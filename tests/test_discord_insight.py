"""/gaps, /brief and answer channels over real sockets, with the real discord.py client."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest
import yarl

from bot.config import DiscordSettings, FetchSettings, Settings
from bot.discord.client import INTENT_REFUSED, QABot, _serve
from bot.spaces import Spaces
from index.errors import QABotError
from tests.conftest import FakeEmbedder
from tests.fake_discord import TOKEN, FakeDiscord, connected

A, B = "900000000000000100", "900000000000001100"
MACRON_HTML = ("<html><head><title>Paris talks</title></head><body><article>"
               "<p>French President Emmanuel Macron said on Monday that Europe must take charge of its own security "
               "and keep talking to Moscow.</p>"
               "<p>“We will not give up on dialogue,” Macron told reporters in Paris after the meeting.</p>"
               "</article></body></html>")


def _world_settings() -> Settings:
    return Settings(discord=DiscordSettings(allowed_guild_ids=[int(A), int(B)],
                                            answer_channel_ids=[int(FakeDiscord.channel_of(A)),
                                                                int(FakeDiscord.forum_of(A))]),
                    fetch=FetchSettings(allowed_hosts=["127.0.0.1"], guild_allowed_hosts=["127.0.0.1"]))


@pytest.fixture
async def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncIterator[tuple[FakeDiscord, QABot]]:
    fake = FakeDiscord(guild_ids=[A, B])
    fake.files["macron.html"] = MACRON_HTML
    spaces = Spaces.create(_world_settings(), tmp_path / "data", embedder=FakeEmbedder())
    spaces.default.catalog.build(spaces.default.catalog.configured_sources())
    bot = QABot(spaces, guild_ready_timeout=0.1)
    async with connected(monkeypatch, fake, bot):
        yield fake, bot


def _embed(reply: dict[str, Any]) -> dict[str, Any]:
    return ((reply["body"] or {}).get("embeds") or [{}])[0]


def _all_text(embed: dict[str, Any]) -> str:
    return " ".join([embed.get("title") or "", embed.get("description") or "",
                     *(f["name"] + " " + f["value"] for f in embed.get("fields", []))])


async def _ask(fake: FakeDiscord, question: str, guild: str, uid: str) -> dict[str, Any]:
    iid = await fake.slash("ask", [{"name": "question", "type": 3, "value": question}], uid=uid, guild=guild)
    return await fake.reply_to(iid)


async def _gaps(fake: FakeDiscord, guild: str, uid: str = "7") -> dict[str, Any]:
    iid = await fake.slash("gaps", [], uid=uid, moderator=True, guild=guild)
    reply = await fake.reply_to(iid)
    assert reply["body"]["flags"] & 64  # private to the moderator
    return _embed(reply)


async def test_gaps_show_each_server_its_own_grouped_and_a_new_source_closes_one(world) -> None:  # noqa: ANN001
    fake, bot = world
    for question, uid in (("What did Macron say?", "51"), ("what did macron say", "52"),
                          ("What did Macron say??", "53"), ("What did Macron say?", "51"),
                          ("Who is Jacinda Ardern?", "54")):
        assert "couldn't find" in _all_text(_embed(await _ask(fake, question, A, uid)))
    scholz = await _ask(fake, "What did Scholz say?", A, "55")
    answer_id = int(re.search(r"qabot:fb:down:(\d+)", str(scholz["body"]["components"]))[1])  # type: ignore[index]
    vote = await fake.click(f"qabot:fb:down:{answer_id}", scholz["id"], uid="56", guild=A)
    assert "recorded" in (await fake.reply_to(vote))["body"]["content"]
    for question, uid in (("What did Merkel say?", "61"), ("What did Macron say?", "62")):
        await _ask(fake, question, B, uid)

    iid = await fake.slash("gaps", [], uid="57", moderator=False, guild=A)
    assert "Only moderators" in (await fake.reply_to(iid))["body"]["content"]

    in_a = await _gaps(fake, A)
    fields = in_a["fields"]
    assert len(fields) == 3 and "Merkel" not in _all_text(in_a)
    assert fields[0]["name"].startswith("3 member(s) · asked 4×") and "macron" in fields[0]["value"].lower()
    why = fields[0]["value"].split("why: ")[1]
    assert "a name in no source ×" in why and sum(map(int, re.findall(r"×(\d+)", why))) == 4  # one per ask
    assert "✅" not in fields[0]["name"]
    scholz_gap = next(f for f in fields if "Scholz" in f["value"])
    assert "👎 on the answer ×1" in scholz_gap["value"] and "✅" not in scholz_gap["name"]
    in_b = await _gaps(fake, B)
    assert [f["name"][:22] for f in in_b["fields"]] == ["1 member(s) · asked 1×"] * 2
    assert "Ardern" not in _all_text(in_b) and "Scholz" not in _all_text(in_b)

    iid = await fake.slash("source add", [{"name": "url", "type": 3, "value": fake.file_url("macron.html")}],
                           uid="7", moderator=True, guild=A)
    await fake.wait_for(lambda m: f"tok-{iid}" in m["via"] and "done" in str(m["body"]), 60)
    after = await _gaps(fake, A)
    assert after["fields"][0]["name"].endswith("✅ answered now") and "paris-talks" in after["fields"][0]["value"]
    assert all("✅" not in f["name"] for f in (await _gaps(fake, B))["fields"])  # B has no such source


async def test_brief_names_who_said_what_in_their_own_words(world) -> None:  # noqa: ANN001
    fake, bot = world
    bundled = bot.service.list_sources()[0].id
    iid = await fake.slash("brief", [{"name": "source", "type": 3, "value": "", "focused": True}], uid="42",
                           guild=A, kind=4)  # autocomplete: for everyone
    assert [c["value"] for c in (await fake.reply_to(iid))["body"]["choices"]] == [bundled]
    iid = await fake.slash("brief", [{"name": "source", "type": 3, "value": bundled}], uid="42", guild=A)
    reply = await fake.reply_to(iid)
    embed = _embed(reply)
    assert not (reply["body"].get("flags") or 0) & 64 and reply["body"]["allowed_mentions"] == {"parse": []}
    said = {f["name"]: f["value"] for f in embed["fields"]}
    for name, words in (("Olaf Scholz", "no reasonable justification"), ("Sergey Lavrov", "I would suggest continuing"),
                        ("Stephane Dujarric", "no alternative to diplomacy"), ("Vadym Prystaiko", "many concessions"),
                        ("Antony Blinken", "The path for diplomacy"), ("Stephen Nix", "It remains to be seen"),
                        ("Natacha Butler", "show of unity")):
        assert words in said[name], name
    assert embed["description"].startswith("Russian Foreign Minister Sergey Lavrov urges")
    assert len(discord.Embed.from_dict(embed)) <= 6000
    iid = await fake.slash("brief", [], uid="42", guild=A)
    newest = _embed(await fake.reply_to(iid))
    assert newest["title"] == "Newest sources" and "Russia says ready" in newest["description"]
    iid = await fake.slash("brief", [{"name": "source", "type": 3, "value": "nope"}], uid="42", guild=A)
    assert "No source with id 'nope'" in (await fake.reply_to(iid))["body"]["content"]


def _replies(fake: FakeDiscord, to: str) -> list[dict[str, Any]]:
    return [m for m in fake.messages if m["via"] == "channel"
            and str(((m["body"] or {}).get("message_reference") or {}).get("message_id")) == to]


async def test_answer_channel_answers_questions_and_ignores_chatter(world) -> None:  # noqa: ANN001
    fake, bot = world
    assert bot.intents.message_content  # requested only because answer_channel_ids is set
    chatter = await fake.say("good morning everyone", guild=A)
    elsewhere = await fake.say("What did Scholz say?", guild=B)  # not an answer channel
    asked = await fake.say("Was hat Scholz gesagt", guild=A, uid="44")  # a question word, no "?"
    reply = await fake.wait_for(lambda m: _replies(fake, asked) and m in _replies(fake, asked))
    body = reply["body"]
    assert body["embeds"] and body["allowed_mentions"] == {"parse": [], "replied_user": False}  # answered, no ping
    asked2 = await fake.say("Where will the US relocate its embassy?", guild=A, uid="45")
    reply2 = await fake.wait_for(lambda m: m in _replies(fake, asked2))
    assert "Lviv" in _all_text(reply2["body"]["embeds"][0])
    assert _replies(fake, chatter) == [] and _replies(fake, elsewhere) == []

    post = await fake.forum_post("Scholz in Kyiv", "What did Scholz say there?", guild=A)
    first = await fake.wait_for(lambda m: m["via"] == "channel" and m["channel"] == post)
    assert "Scholz" in _all_text(first["body"]["embeds"][0]) and first["body"]["allowed_mentions"]["parse"] == []
    post2 = await fake.forum_post("What did Blinken say?", "I read about the embassy.", guild=A)
    first2 = await fake.wait_for(lambda m: m["via"] == "channel" and m["channel"] == post2)
    assert "diplomacy" in _all_text(first2["body"]["embeds"][0])


async def test_the_bot_refuses_to_start_when_discord_refuses_the_intent(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Path) -> None:
    fake = FakeDiscord(guild_ids=[A])
    fake.refused_intents = discord.Intents(message_content=True).value  # not enabled in the developer portal
    await fake.start()
    monkeypatch.setattr(discord.http.Route, "BASE", fake.base)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url))
    spaces = Spaces.create(_world_settings(), tmp_path / "data", embedder=FakeEmbedder())
    spaces.default.catalog.build(spaces.default.catalog.configured_sources())
    try:
        with pytest.raises(QABotError) as refused:
            await asyncio.wait_for(_serve(QABot(spaces), TOKEN), 60)
        assert str(refused.value) == INTENT_REFUSED and "\n" not in INTENT_REFUSED
        plain = QABot(Spaces.create(Settings(), tmp_path / "plain", embedder=FakeEmbedder()))
        assert not plain.intents.message_content  # off by default: no privileged intent requested
    finally:
        await fake.stop()


def test_a_brief_too_long_for_one_embed_keeps_the_most_quoted_and_names_the_rest() -> None:
    from bot.discord.cogs.insight import brief_embed
    from index.brief import Brief, Speaker, Statement

    def said(n: int) -> Statement:
        return Statement(n, "s", n * 1000, n * 1000 + 900, f"Статья {n}: " + "слово " * 148 + "@everyone.", True)

    speakers = [Speaker(f"Speaker {i}" + " very long name" * 20, [said(2 * i), said(2 * i + 1)], 30 - i)
                for i in range(30)]
    embed = brief_embed(Brief("s", "T" * 400, None, None, [said(99)], speakers, []))  # check_limits inside
    assert len(embed) <= 6000 and 1 <= len(embed.fields) <= 25
    assert embed.fields[0].name.startswith("Speaker 0")  # the most quoted kept
    assert "Speaker 29" in (embed.footer.text or "") and "@everyone" not in str(embed.to_dict())
