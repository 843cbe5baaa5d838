"""/ask, @mentions, and the buttons under an answer (passages, feedback)."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.client import BUSY
from bot.discord.render import answer_embed, error_text, passages_embed
from index.errors import QABotError

if TYPE_CHECKING:
    from bot.discord.client import QABot

NO_PINGS = discord.AllowedMentions.none()
GONE = "That answer is no longer available."
log = logging.getLogger("qabot.discord")


class PassagesButton(discord.ui.DynamicItem[discord.ui.Button], template=r"qabot:passages:(?P<id>[0-9]+)"):
    """Shows the full passages of an answer, privately."""

    def __init__(self, answer_id: int) -> None:
        super().__init__(discord.ui.Button(label="Show passages", style=discord.ButtonStyle.secondary,
                                           custom_id=f"qabot:passages:{answer_id}"))
        self.answer_id = answer_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
                             match: re.Match[str]) -> PassagesButton:
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:  # type: ignore[override]
        bot: QABot = interaction.client  # type: ignore[assignment]
        if await _refused(bot, interaction):
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        stored = await bot.run_blocking(bot.records.answer, self.answer_id, interaction.guild_id)
        if stored is None:
            await interaction.followup.send(GONE, ephemeral=True)
            return
        service = bot.space(interaction.guild_id)
        citations = stored.get("citations") or stored.get("closest", [])
        statuses = await bot.run_blocking(
            lambda: [service.citation_status(c["source_id"], c["start"], c["end"], c["text"]) for c in citations]
        )
        await interaction.followup.send(embed=passages_embed(stored, statuses), ephemeral=True,
                                        allowed_mentions=NO_PINGS)


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


async def _refused(bot: QABot, interaction: discord.Interaction) -> bool:
    """Buttons do not pass the command tree's check: refuse servers that are not served here too."""
    refusal = bot.refusal_for(interaction.guild_id)
    if refusal is not None:
        await interaction.response.send_message(refusal, ephemeral=True, allowed_mentions=NO_PINGS)
    return refusal is not None


def answer_view(answer_id: int, has_passages: bool) -> discord.ui.View:
    """Buttons under an answer: passages (cited, or the closest ones when not found) and feedback."""
    view = discord.ui.View(timeout=None)
    if has_passages:
        view.add_item(PassagesButton(answer_id))
    view.add_item(FeedbackButton("up", answer_id))
    view.add_item(FeedbackButton("down", answer_id))
    return view


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

    async def _answer(
        self, question: str, user_id: int, channel_id: int | None, guild_id: int | None
    ) -> tuple[discord.Embed, discord.ui.View]:
        space = self.bot.space(guild_id)
        answer = await self.bot.run_blocking(space.ask, question)
        data: dict[str, Any] = answer.to_json()
        answer_id = await self.bot.run_blocking(self.bot.records.save_answer, guild_id, user_id, channel_id,
                                                answer.question, data)
        sources = await self.bot.run_blocking(lambda: len(space.loaded().sources))
        return answer_embed(data, sources), answer_view(answer_id, bool(answer.citations or answer.closest))

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
            embed, view = await self._answer(question, interaction.user.id, interaction.channel_id, guild)
        finally:
            self.bot.work.leave(guild)
        await interaction.followup.send(embed=embed, view=view, allowed_mentions=NO_PINGS)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Answer a question that @mentions the bot, as a reply; any failure gets a short reply too."""
        me = self.bot.user
        if me is None or message.author.bot or not any(u.id == me.id for u in message.mentions):
            return
        settings = self.bot.settings.discord
        if not settings.answer_mentions:
            return
        if settings.allowed_channel_ids and message.channel.id not in settings.allowed_channel_ids:
            return
        guild = message.guild.id if message.guild else None
        refusal = self.bot.refusal_for(guild)
        if refusal is None:
            question = re.sub(rf"<@!?{me.id}>", " ", message.content).strip()
            refusal = self._refusal(message.author.id, question)
        if refusal is None and not self.bot.work.enter(guild):
            refusal = BUSY
        if refusal:
            await self._reply(message, refusal)
            return
        try:
            async with message.channel.typing():
                embed, view = await self._answer(question, message.author.id, message.channel.id, guild)
        except QABotError as exc:
            await self._reply(message, error_text(exc))
            return
        except Exception:
            log.exception("answering a mention failed")
            await self._reply(message, "Something went wrong on my side; the error has been logged.")
            return
        finally:
            self.bot.work.leave(guild)
        await message.reply(embed=embed, view=view, mention_author=False, allowed_mentions=NO_PINGS)

    @staticmethod
    async def _reply(message: discord.Message, text: str) -> None:
        try:
            await message.reply(text, mention_author=False, allowed_mentions=NO_PINGS)
        except discord.HTTPException:
            log.warning("could not reply to a mention", exc_info=True)


async def setup(bot: QABot) -> None:
    bot.add_dynamic_items(PassagesButton, FeedbackButton)
    await bot.add_cog(AskCog(bot))
