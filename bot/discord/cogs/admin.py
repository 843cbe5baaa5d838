"""/sources for everyone; /source add, /source remove and /reindex for moderators."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.client import NotModerator
from bot.discord.render import clip, error_text, safe, sources_embed
from bot.service import ChangeReport
from index.errors import BusyError, QABotError
from index.sources import SUPPORTED_SUFFIXES, source_from_bytes

if TYPE_CHECKING:
    from bot.discord.client import QABot

log = logging.getLogger("qabot.discord")
NO_PINGS = discord.AllowedMentions.none()
MOD_PERMISSIONS = discord.Permissions(manage_guild=True)


def moderator_only() -> Any:
    """A check that lets moderators through and refuses (and audits) everyone else."""

    async def predicate(interaction: discord.Interaction) -> bool:
        bot: QABot = interaction.client  # type: ignore[assignment]
        if bot.is_moderator(interaction):
            return True
        name = interaction.command.qualified_name if interaction.command else "?"
        await bot.run_blocking(bot.records.audit, interaction.user.id, str(interaction.user), interaction.guild_id,
                               name, "", "refused: not a moderator")
        raise NotModerator()

    return app_commands.check(predicate)


class AdminCog(commands.Cog):
    """Source management from Discord; every action goes through QAService and is audited."""

    source = app_commands.Group(name="source", description="Manage the indexed sources (moderators)",
                                guild_only=True, default_permissions=MOD_PERMISSIONS)

    def __init__(self, bot: QABot) -> None:
        self.bot = bot
        self.busy = asyncio.Lock()  # one change at a time in this process; the file lock covers others

    @app_commands.command(name="sources", description="List the indexed sources")
    async def sources(self, interaction: discord.Interaction) -> None:
        """The indexed sources (title, passages, indexed at)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        rows = await self.bot.run_blocking(self.bot.service.list_sources)
        await interaction.followup.send(embed=sources_embed(rows), ephemeral=True, allowed_mentions=NO_PINGS)

    async def _change(self, interaction: discord.Interaction, action: str, detail: str,
                      work: Callable[[Callable[[int], None], Callable[[int], None]], ChangeReport]) -> None:
        """Defer, run one change off the loop with progress shown by editing the reply, audit the outcome."""
        if self.busy.locked():
            await interaction.response.send_message("A reindex is already running; try again when it has finished.",
                                                    ephemeral=True)
            await self._audit(interaction, action, detail, "refused: already running")
            return
        async with self.busy:
            await interaction.response.defer(thinking=True)
            edit = _progress_editor(interaction, asyncio.get_running_loop(), action)
            try:
                report = await self.bot.run_blocking(work, edit.step, edit.total)
            except BusyError as exc:
                edit.done = True
                await interaction.edit_original_response(content=str(exc), allowed_mentions=NO_PINGS)
                await self._audit(interaction, action, detail, "refused: already running")
                return
            except QABotError as exc:
                edit.done = True
                failed = clip(f"{action} failed: {safe(error_text(exc))}", 2000)
                await interaction.edit_original_response(content=failed, allowed_mentions=NO_PINGS)
                await self._audit(interaction, action, detail, f"failed: {exc}")
                return
            edit.done = True
            summary = report.summary()
            await interaction.edit_original_response(content=clip(f"**{action}** done.\n{safe(summary)}", 2000),
                                                     allowed_mentions=NO_PINGS)
            await self._audit(interaction, action, detail, "ok: " + summary.replace("\n", "; "))

    async def _audit(self, interaction: discord.Interaction, action: str, detail: str, outcome: str) -> None:
        await self.bot.run_blocking(self.bot.records.audit, interaction.user.id, str(interaction.user),
                                    interaction.guild_id, action, detail, outcome)

    @source.command(name="add", description="Add a source from a URL or an attached .txt/.md/.html file")
    @app_commands.describe(url="An http(s) link to an article", attachment="A .txt, .md or .html file")
    @moderator_only()
    async def add(self, interaction: discord.Interaction, url: str | None = None,
                  attachment: discord.Attachment | None = None) -> None:
        """Add (or update) a source; the next /ask sees it without a restart."""
        if (url is None) == (attachment is None):
            await interaction.response.send_message("Give either a url or an attachment.", ephemeral=True)
            return
        service = self.bot.service
        if attachment is not None:
            suffix = PurePath(attachment.filename).suffix.lower()
            if suffix not in SUPPORTED_SUFFIXES:
                await interaction.response.send_message(
                    f"{safe(attachment.filename)} is not a .txt, .md or .html file.", ephemeral=True)
                return
            if attachment.size > service.settings.fetch.max_bytes:
                await interaction.response.send_message("That file is too large.", ephemeral=True)
                return
            data = await attachment.read()
            location = f"discord:{interaction.guild_id}/{attachment.filename}"
            detail = f"attachment {attachment.filename}"

            def load() -> list:  # type: ignore[type-arg]
                return [source_from_bytes(data, attachment.filename, kind="attachment", location=location)]
        else:
            assert url is not None
            detail = f"url {url}"

            def load() -> list:  # type: ignore[type-arg]
                return [service.fetch(url)]

        added_by = f"{interaction.user} ({interaction.user.id})"
        await self._change(interaction, "Add source", detail,
                           lambda step, total: service.add_sources(load(), added_by=added_by,
                                                                   progress=step, on_total=total))

    @source.command(name="remove", description="Remove an indexed source")
    @app_commands.describe(id="The source id (see /sources)")
    @moderator_only()
    async def remove(self, interaction: discord.Interaction, id: str) -> None:  # noqa: A002
        """Remove a source; answers stop using it as soon as the new index is live."""
        await self._change(interaction, "Remove source", f"id {id}",
                           lambda step, total: self.bot.service.remove_source(id))

    @remove.autocomplete("id")
    async def remove_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        rows = await self.bot.run_blocking(self.bot.service.list_sources)
        low = current.lower()
        return [app_commands.Choice(name=clip(f"{r.id} · {r.title}", 100), value=r.id)
                for r in rows if low in r.id.lower() or low in r.title.lower()][:25]

    @app_commands.command(name="reindex", description="Re-read every source and rebuild the index (moderators)")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @moderator_only()
    async def reindex(self, interaction: discord.Interaction) -> None:
        """Re-read all sources; unchanged text is reused, questions keep being answered meanwhile."""
        await self._change(interaction, "Reindex", "all sources",
                           lambda step, total: self.bot.service.reindex(progress=step, on_total=total))


    @app_commands.command(name="feedback", description="Feedback on answers so far (moderators, private)")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @moderator_only()
    async def feedback(self, interaction: discord.Interaction) -> None:
        """Counts of 👍/👎 and the latest questions that got a 👎, shown only to the moderator."""
        rows = await self.bot.run_blocking(self.bot.records.feedback)
        up = sum(1 for r in rows if r[2] == "up")
        down = [r for r in rows if r[2] == "down"]
        lines = [f"👍 {up} · 👎 {len(down)}"]
        lines += [f"👎 {safe(clip(r[3], 150))}" for r in down[-5:]]
        await interaction.response.send_message("\n".join(lines), ephemeral=True, allowed_mentions=NO_PINGS)


class _ProgressEditor:
    """Progress from the worker thread, shown by editing the deferred reply at most once a second."""

    def __init__(self, edit: Callable[[str], Awaitable[object]], loop: asyncio.AbstractEventLoop, action: str) -> None:
        self.edit = edit
        self.loop = loop
        self.action = action
        self.count = 0
        self.total_count = 0
        self.last = 0.0
        self.done = False

    def total(self, n: int) -> None:
        self.total_count = n
        self._show()

    def step(self, n: int) -> None:
        self.count += n
        self._show()

    def _show(self) -> None:
        now = time.monotonic()
        if self.done or now - self.last < 1.0 and self.count < self.total_count:
            return
        self.last = now
        text = f"{self.action}: embedding {self.count}/{self.total_count} sentences…"
        asyncio.run_coroutine_threadsafe(self._safe_edit(text), self.loop)

    async def _safe_edit(self, text: str) -> None:
        if self.done:
            return
        try:
            await self.edit(text)
        except discord.HTTPException:
            log.debug("progress edit failed", exc_info=True)


def _progress_editor(interaction: discord.Interaction, loop: asyncio.AbstractEventLoop, action: str) -> _ProgressEditor:
    return _ProgressEditor(lambda text: interaction.edit_original_response(content=text), loop, action)


async def setup(bot: QABot) -> None:
    await bot.add_cog(AdminCog(bot))
