"""The bot: client setup, off-loop execution, command sync, the one error handler, `qabot serve`."""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import os
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.limits import Cooldown
from bot.discord.records import Records
from bot.discord.render import error_text
from bot.service import QAService
from index.errors import QABotError

log = logging.getLogger("qabot.discord")
T = TypeVar("T")
NO_PINGS = discord.AllowedMentions.none()


class NotModerator(app_commands.CheckFailure):
    """A moderator command used by someone who is not one."""


class QABot(commands.Bot):
    """discord.py Bot wired to a QAService. Blocking work runs in a thread pool, never on the loop."""

    def __init__(self, service: QAService, *, records: Records | None = None, **options: Any) -> None:
        intents = discord.Intents.default()  # no privileged intents: mentions carry their content anyway
        options.setdefault("guild_ready_timeout", 2.0)
        super().__init__(
            command_prefix=commands.when_mentioned, intents=intents, allowed_mentions=NO_PINGS,
            help_command=None, **options,
        )
        self.service = service
        self.settings = service.settings
        self.records = records or Records(service.index_dir / "bot.sqlite")
        self.executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="qabot-work")
        discord_settings = self.settings.discord
        self.cooldown = Cooldown(discord_settings.cooldown_questions, discord_settings.cooldown_seconds)
        self.tree.on_error = self.on_app_command_error  # type: ignore[method-assign]

    async def run_blocking(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking work (model, FAISS, disk) in the pool and await it."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(func, *args, **kwargs))

    async def setup_hook(self) -> None:
        await self.load_extension("bot.discord.cogs.ask")
        await self.load_extension("bot.discord.cogs.admin")
        await self.run_blocking(self.service.warm)  # model, index and parser loaded before the first event
        # Millions of long-lived objects (torch, spaCy) would make each full garbage collection
        # pause the event loop for ~250 ms; freezing them leaves collections only new objects.
        gc.collect()
        gc.freeze()
        guild_ids = self.settings.discord.guild_ids
        if guild_ids:
            for gid in guild_ids:
                guild = discord.Object(id=gid)
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()
        log.info("commands synced to %s", guild_ids or "all guilds (global)")

    async def on_message(self, message: discord.Message) -> None:
        """Mentions are handled by the ask cog; there are no prefix commands to process."""

    async def close(self) -> None:
        await super().close()
        self.executor.shutdown(wait=False, cancel_futures=True)

    def is_moderator(self, interaction: discord.Interaction) -> bool:
        """Manage Server, or one of the configured moderator roles. Checked here, not only by Discord."""
        member = interaction.user
        if not isinstance(member, discord.Member):
            return False
        if member.guild_permissions.manage_guild:
            return True
        allowed = set(self.settings.discord.moderator_role_ids)
        return any(role.id in allowed for role in member.roles)

    async def on_app_command_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """The one fallback handler: full traceback to the log, one short ephemeral line to the user."""
        original = getattr(error, "original", error)
        if isinstance(error, NotModerator):
            message = "Only moderators (Manage Server or a moderator role) can do that."
        elif isinstance(error, app_commands.NoPrivateMessage):
            message = "This command only works in a server."
        elif isinstance(original, QABotError):
            message = error_text(original)
        else:
            log.error("command %s failed", interaction.command and interaction.command.qualified_name,
                      exc_info=original)
            message = "Something went wrong on my side; the error has been logged."
        try:
            if interaction.response.is_done():
                # A public "thinking…" placeholder would turn the followup public: remove it first.
                try:
                    await interaction.delete_original_response()
                except discord.HTTPException:
                    pass
                await interaction.followup.send(message, ephemeral=True, allowed_mentions=NO_PINGS)
            else:
                await interaction.response.send_message(message, ephemeral=True, allowed_mentions=NO_PINGS)
        except discord.HTTPException:
            log.warning("could not report an error to the user", exc_info=True)


def read_token(service: QAService) -> str:
    """DISCORD_TOKEN, else the file named by discord.token_file. Never logged."""
    token = os.environ.get("DISCORD_TOKEN", "").strip()
    file = service.settings.discord.token_file
    if not token and file:
        path = service.settings.resolve(file)
        try:
            token = Path(path).read_text(encoding="utf-8").strip()
        except OSError:
            raise QABotError(f"The token file {path} cannot be read.") from None
    if not token:
        raise QABotError("No Discord token: set DISCORD_TOKEN or name a file in discord.token_file.")
    return token


async def _serve(bot: QABot, token: str) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(bot.close()))
    async with bot:
        try:
            await bot.start(token)
        except discord.LoginFailure:
            raise QABotError("Discord rejected the token (it is wrong or was reset).") from None
        except discord.PrivilegedIntentsRequired:
            raise QABotError("Discord refused the requested intents; enable them in the developer portal.") from None


def serve(service: QAService, token: str) -> None:
    """`qabot serve`: run until SIGINT/SIGTERM."""
    logging.getLogger("discord").setLevel(logging.INFO)
    logging.getLogger("qabot").setLevel(logging.INFO)
    asyncio.run(_serve(QABot(service), token))
