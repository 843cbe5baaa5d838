"""/ask, @mentions, and the buttons under an answer (passages, feedback)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.answer_channel import channel_question
from bot.discord.client import BUSY
from bot.discord.common import NO_PINGS
from bot.discord.render import answer_embed, clip, decline_line, error_text, passages_embed
from index.errors import QABotError

if TYPE_CHECKING:
    from bot.discord.client import QABot

GONE = "That answer is no longer available."
THREAD_INTRO = ("Ask follow-up questions here (mention me or use /ask): I read each one with the questions "
                "before it, so \"and Johnson?\" or \"what did he say about NATO?\" work.")
PRIVATE_DECLINE = "I couldn't answer that from the indexed sources (details only for the asker)."
log = logging.getLogger("qabot.discord")


class _OnAnswer:
    """What a button on an answer is made of: its label and an id naming the stored answer
    (``qabot:<kind>:<answer id>``), so it still works after the bot restarts."""

    kind = ""
    label = ""

    def __init__(self, answer_id: int) -> None:
        super().__init__(discord.ui.Button(label=self.label, style=discord.ButtonStyle.secondary,  # type: ignore[call-arg]
                                           custom_id=f"qabot:{self.kind}:{answer_id}"))
        self.answer_id = answer_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str]) -> Any:
        return cls(int(match["id"]))


class PassagesButton(_OnAnswer, discord.ui.DynamicItem[discord.ui.Button], template=r"qabot:passages:(?P<id>[0-9]+)"):
    """Shows the full passages of an answer, privately."""

    kind, label = "passages", "Show passages"

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        bot: QABot = interaction.client  # type: ignore[assignment]
        stored = await _stored_answer(bot, interaction, self.answer_id)
        if stored is None:
            return
        service = bot.space(interaction.guild_id)
        citations = stored.get("citations") or stored.get("closest", [])
        statuses = await bot.run_blocking(
            lambda: [service.citation_status(c["source_id"], c["start"], c["end"], c["text"]) for c in citations]
        )
        await interaction.followup.send(embed=passages_embed(stored, statuses), ephemeral=True,
                                        allowed_mentions=NO_PINGS)


class ClosestButton(PassagesButton, template=r"qabot:closest:(?P<id>[0-9]+)"):
    """Under a decline: the passages closest to the question (not an answer), privately."""

    kind, label = "closest", "Closest passages"


class FeedbackButton(discord.ui.DynamicItem[discord.ui.Button], template=r"qabot:fb:(?P<vote>up|down):(?P<id>[0-9]+)"):
    """👍/👎 on an answer; stored with the question, the answer and the user id."""

    def __init__(self, vote: str, answer_id: int) -> None:
        super().__init__(discord.ui.Button(emoji="👍" if vote == "up" else "👎", style=discord.ButtonStyle.secondary,
                                           custom_id=f"qabot:fb:{vote}:{answer_id}"))
        self.vote = vote
        self.answer_id = answer_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str]) -> FeedbackButton:
        return cls(match["vote"], int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        bot: QABot = interaction.client  # type: ignore[assignment]
        if await _refused(bot, interaction):
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        saved = await bot.run_blocking(bot.records.save_feedback, self.answer_id, interaction.user.id, self.vote,
                                       interaction.guild_id)
        await interaction.followup.send("Thanks, your feedback was recorded." if saved else GONE, ephemeral=True)


class ThreadButton(_OnAnswer, discord.ui.DynamicItem[discord.ui.Button], template=r"qabot:thread:(?P<id>[0-9]+)"):
    """Starts a thread from the answer; questions asked there are read with the ones before."""

    kind, label = "thread", "Continue in thread"

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        bot: QABot = interaction.client  # type: ignore[assignment]
        stored = await _stored_answer(bot, interaction, self.answer_id)
        if stored is None:
            return
        if interaction.message is None:  # Discord always sends it with a button press
            await interaction.followup.send(GONE, ephemeral=True)
            return
        await bot.run_blocking(bot.records.set_message, self.answer_id, interaction.message.id)
        thread = await start_thread(interaction.channel, interaction.message.id, stored["question"])
        text = f"Ask your follow-up questions in {thread.mention}." if thread else \
            "I couldn't start a thread here (there may already be one for this answer)."
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_PINGS)


async def start_thread(channel: Any, message_id: int, question: str) -> discord.Thread | None:
    """A thread from an answer's message in a text channel, with a line saying how to use it; None if
    that is not possible here (a DM, already a thread) or Discord refused."""
    if not isinstance(channel, discord.TextChannel):
        return None
    try:
        thread = await channel.create_thread(name=clip(" ".join(question.split()) or "Follow-ups", 90),
                                             message=discord.Object(id=message_id), auto_archive_duration=1440)
        await thread.send(THREAD_INTRO, allowed_mentions=NO_PINGS)
    except discord.HTTPException:
        log.info("could not start a thread from message %s", message_id, exc_info=True)
        return None
    return thread


async def _stored_answer(bot: QABot, interaction: discord.Interaction, answer_id: int) -> dict[str, Any] | None:
    """For a button under an answer: refuse servers not served, acknowledge privately, then load the
    answer (of this server only); None once the user has been told why not."""
    if await _refused(bot, interaction):
        return None
    await interaction.response.defer(ephemeral=True, thinking=True)
    stored = await bot.run_blocking(bot.records.answer, answer_id, interaction.guild_id)
    if stored is None:
        await interaction.followup.send(GONE, ephemeral=True)
    return stored


async def _refused(bot: QABot, interaction: discord.Interaction) -> bool:
    """Buttons do not pass the command tree's check: refuse servers that are not served here too."""
    refusal = bot.refusal_for(interaction.guild_id)
    if refusal is not None:
        await interaction.response.send_message(refusal, ephemeral=True, allowed_mentions=NO_PINGS)
    return refusal is not None


def answer_view(answer_id: int, has_passages: bool, thread_button: bool = False) -> discord.ui.View:
    """Buttons under a found answer: its passages, feedback, and "Continue in thread" when
    follow-ups are offered that way."""
    view = discord.ui.View(timeout=None)
    if has_passages:
        view.add_item(PassagesButton(answer_id))
    view.add_item(FeedbackButton("up", answer_id))
    view.add_item(FeedbackButton("down", answer_id))
    if thread_button:
        view.add_item(ThreadButton(answer_id))
    return view


def decline_view(answer_id: int, answer: dict[str, Any]) -> discord.ui.View | None:
    """Under a decline only "Closest passages", and only when they can be relevant: none when the
    name asked about is in no source (``unknown_name``). No votes or thread on a non-answer."""
    if not answer.get("closest") or answer.get("declined_by") == "unknown_name":
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(ClosestButton(answer_id))
    return view


def _with(view: discord.ui.View | None) -> dict[str, Any]:
    """The ``view`` argument of a send, when there is a view."""
    return {"view": view} if view is not None else {}


@dataclass
class Shown:
    """An answer ready to post, and what happens after it is posted."""

    embed: discord.Embed
    view: discord.ui.View | None  # None: nothing to press (a decline with no relevant passages)
    answer_id: int
    question: str
    start_thread: bool  # followups = "thread" and not already in one of our threads
    found: bool = True
    line: str = ""  # a decline as one line (the reply to a mention)


class AskCog(commands.Cog):
    """Answering questions from slash commands and mentions."""

    def __init__(self, bot: QABot) -> None:
        self.bot = bot

    def _refusal(self, user_id: int, question: str) -> str | None:
        """Why a question cannot be asked now (too long, or the user is over the rate limit)."""
        limit = self.bot.settings.discord.max_question_length
        if len(question) > limit:
            return f"That question is {len(question)} characters long; please keep it under {limit}."
        if not question.strip():
            return "Please ask a question, for example: what did Scholz say?"
        retry = self.bot.cooldown.hit(user_id)
        if retry is not None:
            return f"You're asking quickly! Please try again in {max(1, round(retry))} seconds."
        return None

    async def _answer(self, question: str, user_id: int, channel_id: int | None, guild_id: int | None) -> Shown:
        """Answer (read with the thread's earlier questions when asked in one of our threads) and store it."""
        bot = self.bot
        space = bot.space(guild_id)
        earlier = await bot.run_blocking(bot.records.thread_history, channel_id, guild_id)
        history = [space.turn_of(a) for a in earlier]
        answer = await bot.run_blocking(space.ask, question, history=history)
        data: dict[str, Any] = answer.to_json()
        answer_id = await bot.run_blocking(bot.records.save_answer, guild_id, user_id, channel_id, question, data)
        sources = await bot.run_blocking(lambda: len(space.loaded().sources))
        if not answer.found:
            return Shown(answer_embed(data, sources), decline_view(answer_id, data), answer_id, question, False,
                         found=False, line=decline_line(data))
        mode = bot.settings.discord.followups if guild_id is not None and not earlier else "off"
        view = answer_view(answer_id, bool(answer.citations), thread_button=mode == "button")
        return Shown(answer_embed(data, sources), view, answer_id, question, mode == "thread")

    async def _posted(self, shown: Shown, message: discord.Message | None, channel: Any) -> None:
        """After posting: remember the message (a thread started from it continues this answer)."""
        if message is None:
            return
        try:
            await self.bot.run_blocking(self.bot.records.set_message, shown.answer_id, message.id)
            if shown.start_thread:
                await start_thread(channel, message.id, shown.question)
        except Exception:  # noqa: BLE001 - the answer is out; this must not turn it into an error
            log.exception("after posting answer %s", shown.answer_id)

    @app_commands.command(name="ask", description="Ask a question about the indexed news sources")
    @app_commands.describe(question="What you want to know, e.g. What did Scholz say?")
    async def ask(self, interaction: discord.Interaction, question: str) -> None:
        """Answer from this server's sources' own sentences, each cited."""
        refusal = self._refusal(interaction.user.id, question)
        if refusal:
            await interaction.response.send_message(refusal, ephemeral=True, allowed_mentions=NO_PINGS)
            return
        guild = interaction.guild_id
        if not self.bot.work.enter(guild):
            await interaction.response.send_message(BUSY, ephemeral=True, allowed_mentions=NO_PINGS)
            return
        try:
            await interaction.response.defer(thinking=True)
            shown = await self._answer(question, interaction.user.id, interaction.channel_id, guild)
        finally:
            self.bot.work.leave(guild)
        if not shown.found:
            await self._decline_privately(interaction, shown)
            return
        posted = await interaction.followup.send(embed=shown.embed, **_with(shown.view),
                                                 allowed_mentions=NO_PINGS, wait=True)
        await self._posted(shown, posted, interaction.channel)

    @staticmethod
    async def _decline_privately(interaction: discord.Interaction, shown: Shown) -> None:
        """A decline is for the asker only: the public "thinking" message goes, a private one comes.
        Discord turns the first followup after a deferral into an edit of that public message, so it
        is completed (with a line that is true should the removal fail) and removed first."""
        try:
            await interaction.edit_original_response(content=PRIVATE_DECLINE)
            await interaction.delete_original_response()
        except discord.HTTPException:
            log.info("could not remove the thinking message", exc_info=True)
        await interaction.followup.send(embed=shown.embed, **_with(shown.view),
                                        ephemeral=True, allowed_mentions=NO_PINGS)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Answer a question that @mentions the bot (or any question in an answer channel), as a
        reply; any failure gets a short reply too."""
        me = self.bot.user
        if me is None or message.author.bot:
            return
        settings = self.bot.settings.discord
        mentioned = any(u.id == me.id for u in message.mentions)
        # in an answer channel a question needs no mention (the same answer, as a reply)
        asked = None if mentioned else channel_question(message, settings.answer_channel_ids)
        if asked is None:
            if not mentioned or not settings.answer_mentions:
                return
            if settings.allowed_channel_ids and message.channel.id not in settings.allowed_channel_ids:
                return
        guild = message.guild.id if message.guild else None
        refusal = self.bot.refusal_for(guild)
        if refusal is None:
            question = asked if asked is not None else re.sub(rf"<@!?{me.id}>", " ", message.content).strip()
            refusal = self._refusal(message.author.id, question)
        if refusal is None and not self.bot.work.enter(guild):
            refusal = BUSY
        if refusal:
            await self._reply(message, refusal)
            return
        try:
            async with message.channel.typing():
                shown = await self._answer(question, message.author.id, message.channel.id, guild)
        except QABotError as exc:
            await self._reply(message, error_text(exc))
            return
        except Exception:
            log.exception("answering a mention failed")
            await self._reply(message, "Something went wrong on my side; the error has been logged.")
            return
        finally:
            self.bot.work.leave(guild)
        if not shown.found:  # one line, the closest passages one press away (privately)
            await message.reply(shown.line, mention_author=False, allowed_mentions=NO_PINGS, **_with(shown.view))
            return
        posted = await message.reply(embed=shown.embed, mention_author=False, allowed_mentions=NO_PINGS,
                                     **_with(shown.view))
        await self._posted(shown, posted, message.channel)

    @staticmethod
    async def _reply(message: discord.Message, text: str) -> None:
        try:
            await message.reply(text, mention_author=False, allowed_mentions=NO_PINGS)
        except discord.HTTPException:
            log.warning("could not reply to a mention", exc_info=True)


async def setup(bot: QABot) -> None:
    bot.add_dynamic_items(PassagesButton, ClosestButton, FeedbackButton, ThreadButton)
    await bot.add_cog(AskCog(bot))
