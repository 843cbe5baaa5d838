"""Bot behaviour in process with SimCord: the real discord.py machinery against a simulated Discord."""

from __future__ import annotations

from pathlib import Path

import discord
import pytest

from bot.config import DiscordSettings, Settings
from bot.discord.client import QABot
from bot.service import QAService
from tests.conftest import DATA, FakeEmbedder

simcord = pytest.importorskip("simcord")
# Parsing and embedding run for real in worker threads; a loaded CI machine needs more than 5 s.
SETTLE = 60.0
pytestmark = pytest.mark.simcord(settle_timeout=SETTLE)


def make_bot(tmp_path: Path, **discord_options: object) -> QABot:
    settings = Settings(discord=DiscordSettings(**discord_options))  # type: ignore[arg-type]
    service = QAService(settings, tmp_path / "index", embedder=FakeEmbedder())
    service.catalog.build(service.catalog.configured_sources())
    return QABot(service, guild_ready_timeout=0.1, shard_count=1)  # SimCord needs an AutoShardedBot's count


@pytest.fixture
def simcord_bot(tmp_path: Path) -> QABot:
    return make_bot(tmp_path)


@pytest.fixture
def world(simcord_env):  # noqa: ANN001, ANN201
    guild = simcord_env.create_guild()
    channel = guild.create_text_channel("news")
    mods = guild.create_role("Mods", permissions=discord.Permissions(manage_guild=True))
    mod = guild.add_member(simcord_env.create_user("mod"), roles=[mods])
    alice = guild.add_member(simcord_env.create_user("alice"))
    return simcord_env, guild, channel, mod, alice


def _bodies(env) -> list[dict]:  # noqa: ANN001
    return [e.json for e in env.http_requests if isinstance(e.json, dict)]


def _reply(result):  # noqa: ANN001, ANN202
    """What the user finally sees: the followup after a deferral, else the direct response."""
    return result.followups[0] if result.followups else result.response


def _deferred_first(env) -> bool:  # noqa: ANN001
    """The interaction was acknowledged with a deferral (type 5) before anything else."""
    callbacks = [e.json for e in env.http_requests if e.path.endswith("/callback")]
    return bool(callbacks) and callbacks[-1].get("type") == 5


async def test_ask_defers_then_answers_with_cited_embed(world) -> None:  # noqa: ANN001
    env, _, channel, _, alice = world
    result = await alice.slash(channel, "ask", question="Where will the US relocate its embassy?")
    assert _deferred_first(env)
    message = result.followups[0] if result.followups else result.response
    embed = message.embeds[0]
    assert embed.title == "Where will the US relocate its embassy?"  # the channel sees what was asked
    assert "**Lviv**" in embed.description and "[1]" in embed.description  # the asked-for place in bold
    assert [f.name for f in embed.fields] == ["Source"]  # one compact line, not the passage again
    assert embed.fields[0].value.startswith("[1] ¶") and "Russia says ready" in embed.fields[0].value
    assert "chars" not in embed.fields[0].value and "ms" not in embed.footer.text
    assert "searched 1 source" in embed.footer.text
    labels = [c.get("label") for row in message.components for c in row.get("components", [])]
    assert "Show passages" in labels


async def test_a_decline_after_ask_is_private_without_votes_or_passages(world) -> None:  # noqa: ANN001
    env, _, channel, mod, alice = world
    result = await alice.slash(channel, "ask", question="What did Angela Merkel say?")
    message = _reply(result)
    assert message.flags.ephemeral  # only the asker sees it
    assert any(e.method == "DELETE" for e in env.http_requests)  # the public "thinking" message is gone
    embed = message.embeds[0]
    assert "couldn't find Angela Merkel" in embed.description
    assert not embed.fields  # no passages on the card
    assert not message.components  # the name is in no source: nothing closer to offer, no votes, no thread
    assert channel.history(viewer=mod) == []  # another member sees nothing of it


async def test_mention_is_answered_as_a_reply(world) -> None:  # noqa: ANN001
    env, _, channel, _, alice = world
    bot_user = env.bot.user
    await alice.send(channel, f"<@{bot_user.id}> Where will the US relocate its embassy?")
    reply = channel.last_message
    assert reply.author.id == bot_user.id
    assert reply.reference is not None
    assert "Lviv" in reply.embeds[0].description


async def test_cooldown_and_long_questions_are_refused_politely(tmp_path: Path) -> None:
    bot = make_bot(tmp_path, cooldown_questions=2, cooldown_seconds=60.0, max_question_length=40)
    async with simcord.run(bot, settle_timeout=SETTLE) as env:
        guild = env.create_guild()
        channel = guild.create_text_channel("news")
        alice = guild.add_member(env.create_user("alice"))
        long = await alice.slash(channel, "ask", question="x" * 41)
        assert long.ephemeral and "under 40" in long.response.content
        for _ in range(2):
            await alice.slash(channel, "ask", question="Where is Lviv?")
            assert _deferred_first(env)
        limited = await alice.slash(channel, "ask", question="Where is Lviv?")
        assert limited.ephemeral and "try again in" in limited.response.content


async def _let_everyone_see_mod_commands(env, guild, member) -> None:  # noqa: ANN001
    """A server admin can override command visibility in Discord; the bot must still check."""
    for command in await env.bot.tree.fetch_commands():
        if command.name in ("reindex", "source"):
            guild.set_command_permissions(command, {member: True})


async def test_non_moderators_are_refused_and_nothing_changes(world) -> None:  # noqa: ANN001
    env, guild, channel, _, alice = world
    await _let_everyone_see_mod_commands(env, guild, alice)
    before = env.bot.space(guild.id).list_sources()
    for name, options in [("reindex", {}), ("source remove", {"id": before[0].id})]:
        result = await alice.slash(channel, name, **options)
        assert result.ephemeral
        assert "Only moderators" in result.response.content
    assert env.bot.space(guild.id).list_sources() == before
    assert [row[4] for row in env.bot.records.audit_log()] == ["refused: not a moderator"] * 2
    assert [type(e).__name__ for e in env.errors] == ["NotModerator", "NotModerator"]  # handled, shown


async def test_moderator_adds_attachment_then_ask_sees_it_then_removes_it(world) -> None:  # noqa: ANN001
    env, guild, channel, mod, alice = world
    data = (DATA / "harbour.txt").read_bytes()
    result = await mod.slash(channel, "source add", attachment=("harbour.txt", data))
    assert _deferred_first(env)
    assert "done" in result.response.content and "added" in result.response.content
    answer = await alice.slash(channel, "ask", question="What did Mayor Tomas Eriksen say?")
    message = answer.followups[0] if answer.followups else answer.response
    assert "cranes" in message.embeds[0].description
    added = [s for s in env.bot.space(guild.id).list_sources() if s.kind == "attachment"]
    assert len(added) == 1
    choices = await mod.autocomplete(channel, "source remove", "id", "dock")
    assert [c["value"] for c in choices] == [added[0].id]
    removed = await mod.slash(channel, "source remove", id=added[0].id)
    assert "removed" in removed.response.content
    again = await alice.slash(channel, "ask", question="What did Mayor Tomas Eriksen say?")
    message = again.followups[0] if again.followups else again.response
    assert message.flags.ephemeral and "couldn't find" in message.embeds[0].description
    actions = [(row[2], row[4].split(":")[0]) for row in env.bot.records.audit_log()]
    assert actions == [("Add source", "ok"), ("Remove source", "ok")]


async def test_bad_attachment_is_refused(world) -> None:  # noqa: ANN001
    _, _, channel, mod, _ = world
    result = await mod.slash(channel, "source add", attachment=("photo.png", b"\x89PNG"))
    assert result.ephemeral and "not a .txt" in result.response.content
    result = await mod.slash(channel, "source add", attachment=("empty.txt", b"  "))
    assert "failed" in result.response.content and "empty" in result.response.content


async def test_moderator_reindex_reports_unchanged(world) -> None:  # noqa: ANN001
    _, _, channel, mod, _ = world
    result = await mod.slash(channel, "reindex")
    assert "Reindex** done" in result.response.content
    assert "unchanged" in result.response.content


async def test_feedback_is_stored_privately(world) -> None:  # noqa: ANN001
    env, guild, channel, _, alice = world
    result = await alice.slash(channel, "ask", question="Where is Lviv?")
    message = result.followups[0] if result.followups else result.response
    up = [c for row in message.components for c in row.get("components", []) if c.get("emoji", {}).get("name") == "👍"]
    click = await alice.click(message, custom_id=up[0]["custom_id"])
    assert click.ephemeral and "feedback was recorded" in _reply(click).content
    rows = env.bot.records.feedback(guild.id)
    assert len(rows) == 1 and rows[0][1] == alice.id and rows[0][2] == "up"
    assert rows[0][3] == "Where is Lviv?"
    passages = await alice.click(message, label="Show passages")
    assert passages.ephemeral and _reply(passages).embeds[0].title == "Cited passages"


async def test_everyone_in_a_source_pings_nobody_and_embeds_stay_in_limits(world) -> None:  # noqa: ANN001
    env, _, channel, mod, alice = world
    sentence = "The council said @everyone and @here must read the enormous volcano report now. "
    huge = ("Volcano report\n\n" + (sentence * 30 + "\n\n") * 4).encode()
    await mod.slash(channel, "source add", attachment=("volcano.txt", huge))
    result = await alice.slash(channel, "ask", question="What did the council say about the volcano report?")
    message = result.followups[0] if result.followups else result.response
    embed = message.embeds[0]
    assert len(embed) <= 6000 and len(embed.description) <= 4096
    assert all(len(f.value) <= 1024 for f in embed.fields)
    assert "@everyone" not in embed.description  # broken with a zero-width space
    for body in _bodies(env):
        if "allowed_mentions" in body:
            assert body["allowed_mentions"].get("parse") == []


async def test_configured_moderator_role_may_reindex(tmp_path: Path) -> None:
    bot = make_bot(tmp_path)
    async with simcord.run(bot, settle_timeout=SETTLE) as env:
        guild = env.create_guild()
        channel = guild.create_text_channel("news")
        helpers = guild.create_role("Helpers")
        helper = guild.add_member(env.create_user("helper"), roles=[helpers])
        object.__setattr__(bot.settings.discord, "moderator_role_ids", [helpers.id])
        await _let_everyone_see_mod_commands(env, guild, helper)
        result = await helper.slash(channel, "reindex")
        assert "Reindex** done" in result.response.content


async def test_sources_lists_privately(world) -> None:  # noqa: ANN001
    _, _, channel, _, alice = world
    result = await alice.slash(channel, "sources")
    assert result.ephemeral
    embed = (result.followups[0] if result.followups else result.response).embeds[0]
    assert "Russia says ready to continue diplomacy" in embed.description


async def test_mentions_only_in_allowed_channels(tmp_path: Path) -> None:
    bot = make_bot(tmp_path)
    async with simcord.run(bot, settle_timeout=SETTLE) as env:
        guild = env.create_guild()
        allowed = guild.create_text_channel("questions")
        other = guild.create_text_channel("chat")
        object.__setattr__(bot.settings.discord, "allowed_channel_ids", [allowed.id])
        alice = guild.add_member(env.create_user("alice"))
        await alice.send(other, f"<@{bot.user.id}> Where is Lviv?")
        assert other.last_message.author.id == alice.id  # no reply there
        await alice.send(allowed, f"<@{bot.user.id}> Where is Lviv?")
        assert allowed.last_message.author.id == bot.user.id


class BrokenService:
    """Stands in for QAService when asking blows up unexpectedly."""

    def __init__(self, real: QAService) -> None:
        self._real = real

    def __getattr__(self, name: str) -> object:
        return getattr(self._real, name)

    def ask(self, question: str, top_k: int | None = None, **options: object) -> None:
        raise RuntimeError("disk on fire")


async def test_unexpected_errors_show_one_private_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    bot = make_bot(tmp_path)
    async with simcord.run(bot, settle_timeout=SETTLE) as env:
        broken = BrokenService(bot.service)
        bot.spaces.for_guild = lambda guild_id: broken  # type: ignore[method-assign,assignment,return-value]
        guild = env.create_guild()
        channel = guild.create_text_channel("news")
        alice = guild.add_member(env.create_user("alice"))
        await alice.slash(channel, "ask", question="Where is Lviv?")
        posts = [e for e in env.http_requests if e.method == "POST" and e.path.startswith("/webhooks/")]
        deleted = [e for e in env.http_requests if e.method == "DELETE" and e.path.endswith("@original")]
        assert deleted  # the public "thinking" placeholder is removed
        body = posts[-1].json
        assert body["content"] == "Something went wrong on my side; the error has been logged."
        assert body["flags"] & 64  # ephemeral
        assert any("disk on fire" in str(e) for e in env.errors)
    assert any(r.exc_info and "disk on fire" in str(r.exc_info[1]) for r in caplog.records)


async def test_old_answers_say_when_their_source_changed(world, tmp_path: Path) -> None:  # noqa: ANN001
    env, _, channel, mod, alice = world
    await mod.slash(channel, "source add", attachment=("harbour.txt", (DATA / "harbour.txt").read_bytes()))
    result = await alice.slash(channel, "ask", question="What did Mayor Tomas Eriksen say?")
    message = result.followups[0] if result.followups else result.response
    changed = (DATA / "harbour.txt").read_text().replace("costs this city money", "costs this town money")
    await mod.slash(channel, "source add", attachment=("harbour.txt", changed.encode()))
    passages = await alice.click(message, label="Show passages")
    assert "changed since this answer" in _reply(passages).embeds[0].description


async def test_not_found_offers_the_closest_passages_marked_as_such(world) -> None:  # noqa: ANN001
    _, _, channel, _, alice = world
    result = await alice.slash(channel, "ask", question="What did Biden say?")
    message = _reply(result)
    assert message.flags.ephemeral and "never" not in message.embeds[0].description
    labels = [c.get("label") for row in message.components for c in row.get("components", [])]
    assert labels == ["Closest passages"]  # no 👍/👎, no thread on a non-answer
    shown = await alice.click(message, label="Closest passages")
    assert shown.ephemeral
    assert _reply(shown).embeds[0].title == "Closest passages (not an answer)"
    assert "Biden" in _reply(shown).embeds[0].description


async def test_moderators_see_feedback_counts_privately(world) -> None:  # noqa: ANN001
    _, _, channel, mod, alice = world
    result = await alice.slash(channel, "ask", question="Where is Lviv?")
    message = result.followups[0] if result.followups else result.response
    down = [c for row in message.components for c in row.get("components", []) if c.get("emoji", {}).get("name") == "👎"]
    await alice.click(message, custom_id=down[0]["custom_id"])
    summary = await mod.slash(channel, "feedback")
    assert summary.ephemeral
    assert _reply(summary).content.startswith("👍 0 · 👎 1")
    assert "Where is Lviv?" in _reply(summary).content


async def test_an_outdated_index_tells_users_a_moderator_can_reindex(tmp_path: Path) -> None:
    import json

    from index.store import current_generation

    bot = make_bot(tmp_path)
    gen = current_generation(bot.service.index_dir)
    assert gen is not None
    manifest = json.loads((gen / "manifest.json").read_text())
    manifest["chunker_version"] = "0"  # as if built by an older qabot
    (gen / "manifest.json").write_text(json.dumps(manifest))
    bot.service.unload()  # and this a new process: the build had loaded it
    async with simcord.run(bot, settle_timeout=SETTLE) as env:
        guild = env.create_guild()
        channel = guild.create_text_channel("news")
        mods = guild.create_role("Mods", permissions=discord.Permissions(manage_guild=True))
        mod = guild.add_member(env.create_user("mod"), roles=[mods])
        alice = guild.add_member(env.create_user("alice"))
        await alice.slash(channel, "ask", question="Where is Lviv?")
        posts = [e for e in env.http_requests if e.method == "POST" and e.path.startswith("/webhooks/")]
        assert "a moderator can run /reindex" in posts[-1].json["content"]
        assert "qabot index" not in posts[-1].json["content"]
        assert any("chunker version" in str(e) for e in env.errors)  # logged in full for the operator
        result = await mod.slash(channel, "reindex")
        assert "Reindex** done" in result.response.content
        answer = await alice.slash(channel, "ask", question="Where will the US relocate its embassy?")
        message = answer.followups[0] if answer.followups else answer.response
        assert "Lviv" in message.embeds[0].description


async def test_a_full_queue_gets_a_polite_busy_not_a_failed_interaction(world) -> None:  # noqa: ANN001
    env, guild, channel, _, alice = world
    bot = env.bot
    taken = 0
    while bot.work.enter(guild.id):  # every place for this server is taken by questions in flight
        taken += 1
    assert taken == bot.settings.discord.max_pending_per_guild
    result = await alice.slash(channel, "ask", question="Where is Lviv?")
    assert result.ephemeral and "answering a lot of questions" in result.response.content
    await alice.send(channel, f"<@{bot.user.id}> Where is Lviv?")
    assert "answering a lot of questions" in channel.last_message.content
    for _ in range(taken):
        bot.work.leave(guild.id)
    answered = await alice.slash(channel, "ask", question="Where will the US relocate its embassy?")
    assert "Lviv" in _reply(answered).embeds[0].description


async def test_an_unexpected_error_in_the_mention_path_gets_the_short_reply(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bot = make_bot(tmp_path)
    async with simcord.run(bot, settle_timeout=SETTLE) as env:
        broken = BrokenService(bot.service)
        bot.spaces.for_guild = lambda guild_id: broken  # type: ignore[method-assign,assignment,return-value]
        guild = env.create_guild()
        channel = guild.create_text_channel("news")
        alice = guild.add_member(env.create_user("alice"))
        await alice.send(channel, f"<@{bot.user.id}> Where is Lviv?")
        reply = channel.last_message
        assert reply.author.id == bot.user.id
        assert reply.content == "Something went wrong on my side; the error has been logged."
        assert bot.work.running == 0  # its place in the queue was given back
    assert any(r.exc_info and "disk on fire" in str(r.exc_info[1]) for r in caplog.records)


async def test_a_pdf_attachment_is_indexed_and_cited_with_its_page(world, tmp_path: Path) -> None:  # noqa: ANN001
    from tests.pdfs import make_pdf
    from tests.test_pdf import PAGES

    env, _, channel, mod, alice = world
    data = make_pdf(tmp_path / "report.pdf", PAGES, title="Harbour Board Annual Report 2026").read_bytes()
    added = await mod.slash(channel, "source add", attachment=("report.pdf", data))
    assert "added" in added.response.content
    result = await alice.slash(channel, "ask", question="What did Ingrid Solberg say about flood barriers?")
    field = _reply(result).embeds[0].fields[0]
    assert field.value.startswith("[1] p. 2 ¶") and "Harbour Board Annual Report 2026" in field.value
