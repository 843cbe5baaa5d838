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
from bot.discord.common import NO_PINGS
from bot.discord.render import clip, error_text, safe, sources_embed
from bot.progress import Progress
from bot.report import ChangeReport
from index.errors import BusyError, QABotError, SourceError
from index.sources import SUPPORTED_SUFFIXES, source_from_bytes

if TYPE_CHECKING:
    from bot.discord.client import QABot

log = logging.getLogger("qabot.discord")
MOD_PERMISSIONS = discord.Permissions(manage_guild=True)


def moderator_only() -> Any:
    """A check that lets moderators through and refuses (and audits) everyone else."""

    async def predicate(interaction: discord.Interaction) -> bool:
        bot: QABot = interaction.client  # type: ignore[assignment]
        if bot.is_moderator(interaction):
            return True
        raise NotModerator()  # the error handler replies first, then audits

    return app_commands.check(predicate)


class AdminCog(commands.Cog):
    """Source management from Discord; every action goes through QAService and is audited."""

    source = app_commands.Group(name="source", description="Manage the indexed sources (moderators)",
                                guild_only=True, default_permissions=MOD_PERMISSIONS)

    def __init__(self, bot: QABot) -> None:
        self.bot = bot
        # one change at a time per server in this process; the file lock covers other processes
        self.busy: dict[int | None, asyncio.Lock] = {}

    @app_commands.command(name="sources", description="List the indexed sources")
    async def sources(self, interaction: discord.Interaction) -> None:
        """This server's sources (title, passages, indexed at); failure details for moderators only."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        space = self.bot.space(interaction.guild_id)
        rows, feeds = await self.bot.run_blocking(lambda: (space.list_sources(), space.list_feeds()))
        shard = (self.bot.shard_for(interaction.guild_id), self.bot.shard_count or 1)
        embed = sources_embed(rows, details=self.bot.is_moderator(interaction), feeds=feeds, shard=shard)
        await interaction.followup.send(embed=embed, ephemeral=True, allowed_mentions=NO_PINGS)

    async def _change(self, interaction: discord.Interaction, action: str, detail: str,
                      work: Callable[[Progress], ChangeReport],
                      before: Callable[[], Awaitable[None]] | None = None) -> None:
        """Acknowledge, run one change in the build thread with progress shown by editing the reply,
        and audit the outcome, whatever it was."""
        lock = self.busy.setdefault(interaction.guild_id, asyncio.Lock())
        if lock.locked():
            await interaction.response.send_message("A change to this server's sources is already running; "
                                                    "try again when it has finished.", ephemeral=True)
            self.bot.audit_later(interaction, action, detail, "refused: already running")
            return
        outcome = "error: unexpected (see the log)"
        async with lock:
            await interaction.response.defer(thinking=True)
            edit = _progress_editor(interaction, asyncio.get_running_loop(), action)
            try:
                if before is not None:
                    await before()
                report = await self.bot.run_build(lambda: work(edit), space=interaction.guild_id)
                # load the new generation now, so the next question and autocomplete find it warm
                self.bot.in_background(self.bot.run_blocking(self.bot.space(interaction.guild_id).answerer))
                summary = report.summary()
                outcome = "ok: " + summary.replace("\n", "; ")
                reply = clip(f"**{action}** done.\n{safe(summary)}", 2000)
            except BusyError as exc:
                outcome = "refused: already running"
                reply = str(exc)
            except QABotError as exc:
                outcome = f"failed: {exc}"
                reply = clip(f"{action} failed: {safe(error_text(exc))}", 2000)
            finally:
                edit.done = True
                await self.bot.run_blocking(self.bot.records.audit, interaction.user.id, str(interaction.user),
                                            interaction.guild_id, action, detail, outcome)
            await interaction.edit_original_response(content=reply, allowed_mentions=NO_PINGS)

    @source.command(name="add",
                    description="Add a source: a URL (article or RSS/Atom feed) or a .txt/.md/.html/.pdf file")
    @app_commands.describe(url="An http(s) link to an article", attachment="A .txt, .md, .html or .pdf file")
    @moderator_only()
    async def add(self, interaction: discord.Interaction, url: str | None = None,
                  attachment: discord.Attachment | None = None) -> None:
        """Add (or update) a source; the next /ask sees it without a restart."""
        if (url is None) == (attachment is None):
            await interaction.response.send_message("Give either a url or an attachment.", ephemeral=True)
            return
        service = self.bot.space(interaction.guild_id)
        before = None
        if attachment is not None:
            suffix = PurePath(attachment.filename).suffix.lower()
            if suffix not in SUPPORTED_SUFFIXES:
                await interaction.response.send_message(
                    f"{safe(attachment.filename)} is not a .txt, .md, .html or .pdf file.", ephemeral=True)
                return
            if attachment.size > service.settings.fetch.max_bytes:
                await interaction.response.send_message("That file is too large.", ephemeral=True)
                return
            location = f"discord:{interaction.guild_id}/{attachment.filename}"
            detail = f"attachment {attachment.filename}"
            data = b""

            async def download() -> None:  # after the acknowledgement: a slow download cannot expire it
                nonlocal data
                try:
                    data = await attachment.read()
                except discord.HTTPException as exc:
                    raise SourceError(f"The attachment could not be downloaded ({exc.status}).") from None

            before = download
        else:
            assert url is not None
            detail = f"url {url}"
        added_by = f"{interaction.user} ({interaction.user.id})"

        def work(progress: Progress) -> ChangeReport:
            if attachment is not None:
                read = [source_from_bytes(data, attachment.filename, kind="attachment", location=location)]
                return service.catalog.add_sources(read, added_by=added_by, progress=progress)
            assert url is not None  # an article, or a feed whose items are added one by one
            return service.catalog.add_urls([url], added_by=added_by, progress=progress)

        await self._change(interaction, "Add source", detail, work, before)

    @source.command(name="remove", description="Remove an indexed source")
    @app_commands.describe(id="The source id (see /sources)")
    @moderator_only()
    async def remove(self, interaction: discord.Interaction, id: str) -> None:  # noqa: A002
        """Remove a source; answers stop using it as soon as the new index is live."""
        service = self.bot.space(interaction.guild_id)
        await self._change(interaction, "Remove source", f"id {id}",
                           lambda progress: service.catalog.remove_source(id))

    @remove.autocomplete("id")
    async def remove_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """This server's source ids, for moderators only, answered from memory (no disk, no wait)."""
        if not self.bot.is_moderator(interaction):
            return []  # checks do not run for autocomplete: without this anyone could list ids
        space = self.bot.space(interaction.guild_id)
        rows = self.bot.spaces.loaded_sources(interaction.guild_id)
        if rows is None:  # this server's index is not in memory: load it for the next keystroke
            self.bot.in_background(self.bot.run_blocking(space.loaded))
            return []
        low = current.lower()
        return [app_commands.Choice(name=clip(f"{r.id} · {r.title}", 100), value=r.id)
                for r in rows if low in r.id.lower() or low in r.title.lower()][:25]

    @app_commands.command(name="reindex", description="Re-read every source and rebuild the index (moderators)")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @moderator_only()
    async def reindex(self, interaction: discord.Interaction) -> None:
        """Re-read this server's sources; unchanged text is reused, questions keep being answered meanwhile."""
        service = self.bot.space(interaction.guild_id)
        await self._change(interaction, "Reindex", "all sources",
                           lambda progress: service.catalog.reindex(progress=progress))

    @app_commands.command(name="feedback", description="Feedback on answers so far (moderators, private)")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @moderator_only()
    async def feedback(self, interaction: discord.Interaction) -> None:
        """Counts of 👍/👎 in this server and its latest questions that got a 👎, shown only to the moderator."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        rows = await self.bot.run_blocking(self.bot.records.feedback, interaction.guild_id)
        up = sum(1 for r in rows if r[2] == "up")
        down = [r for r in rows if r[2] == "down"]
        lines = [f"👍 {up} · 👎 {len(down)}"]
        lines += [f"👎 {safe(clip(r[3], 150))}" for r in down[-5:]]
        await interaction.followup.send("\n".join(lines), ephemeral=True, allowed_mentions=NO_PINGS)


class _ProgressEditor:
    """Progress from the worker thread (a bot.progress.Progress), shown by editing the deferred
    reply at most once a second."""

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
