"""The bot: client setup, off-loop execution, command sync, the one error handler, `qabot serve`."""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.builds import BuildQueue
from bot.discord.common import NO_PINGS
from bot.discord.limits import Cooldown, WorkQueue
from bot.discord.records import Records
from bot.discord.render import error_text
from bot.service import QAService
from bot.shards import describe, shard_of
from bot.spaces import Spaces
from index.errors import BusyError, QABotError

log = logging.getLogger("qabot.discord")
T = TypeVar("T")


class NotModerator(app_commands.CheckFailure):
    """A moderator command used by someone who is not one."""


INTENT_REFUSED = ("discord.answer_channel_ids needs the Message Content intent, which this bot does not have: "
                  "enable it in the Discord developer portal (Bot > Privileged Gateway Intents) or remove "
                  "discord.answer_channel_ids.")
BUSY = "I'm answering a lot of questions right now; please ask again in a moment."
PRUNE_EVERY_SECONDS = 6 * 3600


class GuardedTree(app_commands.CommandTree):
    """Refuses every interaction from a server not in discord.allowed_guild_ids (and DMs, if off)."""

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        bot: QABot = interaction.client  # type: ignore[assignment]
        refusal = bot.refusal_for(interaction.guild_id)
        if refusal is None:
            return True
        if interaction.type is discord.InteractionType.autocomplete:
            await interaction.response.autocomplete([])
        else:
            await interaction.response.send_message(refusal, ephemeral=True, allowed_mentions=NO_PINGS)
        return False


class QABot(commands.AutoShardedBot):
    """discord.py Bot wired to a QAService. Blocking work runs in a thread pool, never on the loop.

    It runs the shards of discord.shard_ids out of discord.shard_count (or the ``shard_count`` /
    ``shard_ids`` options); without a count, discord.py asks Discord how many shards the bot
    needs and runs them all in this process (one, for a bot in fewer than 2,500 servers)."""

    def __init__(self, service: QAService | Spaces, *, records: Records | None = None, **options: Any) -> None:
        intents = discord.Intents.default()  # no privileged intents: mentions carry their content anyway
        # ... except for answer channels, where questions come without a mention (privileged, opt-in)
        intents.message_content = bool(service.settings.discord.answer_channel_ids)
        options.setdefault("guild_ready_timeout", 2.0)
        configured = service.settings.discord
        if configured.shard_count and "shard_count" not in options:
            options["shard_count"] = configured.shard_count
            options.setdefault("shard_ids", list(configured.shard_ids) or None)
        super().__init__(
            command_prefix=commands.when_mentioned, intents=intents, allowed_mentions=NO_PINGS,
            help_command=None, tree_cls=GuardedTree, **options,
        )
        self.spaces = service if isinstance(service, Spaces) else Spaces(service)
        self.service = self.spaces.default  # the default space: DMs, and servers that changed nothing
        self.settings = self.service.settings
        stores = self.service.stores
        self.records = records or (stores.records if stores else Records(self.service.index_dir / "bot.sqlite"))
        self.service.background = True  # a server's index missing here is rebuilt while members are told to wait
        self.executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="qabot-work")
        # Source changes run one at a time in their own thread, so questions never queue behind them;
        # servers are served in turn (bot/discord/builds.py).
        self.builds = BuildQueue()
        discord_settings = self.settings.discord
        self.cooldown = Cooldown(discord_settings.cooldown_questions, discord_settings.cooldown_seconds)
        self.work = WorkQueue(discord_settings.max_pending, discord_settings.max_pending_per_guild)
        self.tree.on_error = self.on_app_command_error  # type: ignore[method-assign]
        self._background: set[asyncio.Task[Any]] = set()

    def shard_for(self, guild_id: int | None) -> int:
        """The shard Discord sends this server's events to (DMs: shard 0)."""
        return shard_of(guild_id, self.shard_count or 1)

    def running_shards(self) -> list[int]:
        """The shard ids this process runs (known once connected when discord.py picks the count)."""
        return sorted(self.shards) if self.shards else list(self.shard_ids or range(self.shard_count or 1))

    def space(self, guild_id: int | None) -> QAService:
        """The sources and index a server's commands act on (DMs: the default space)."""
        return self.spaces.for_guild(guild_id)

    def refusal_for(self, guild_id: int | None) -> str | None:
        """Why this server (or a DM) is not served, or None when it is."""
        settings = self.settings.discord
        if guild_id is None:
            return None if settings.answer_dms else "I only answer questions in servers."
        if settings.allowed_guild_ids and guild_id not in settings.allowed_guild_ids:
            return "This bot is not enabled for this server."
        return None

    async def run_blocking(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking work (model, FAISS, disk) in the pool and await it."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(func, *args, **kwargs))

    async def run_build(self, func: Callable[..., T], *args: Any, space: int | None = None, **kwargs: Any) -> T:
        """Run a source change (parse, embed, write) of ``space`` (a server id; None: the default
        space) in the build thread, in that server's turn, and await it."""
        return await asyncio.wrap_future(self.builds.submit(space, functools.partial(func, *args, **kwargs)))

    def in_background(self, coro: Awaitable[Any]) -> None:
        """Run a coroutine after the reply has gone out, keeping a reference until it ends."""
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def audit_later(self, interaction: discord.Interaction, action: str, detail: str, outcome: str) -> None:
        """Write an audit row off the loop without holding up the reply."""
        self.in_background(self.run_blocking(self.records.audit, interaction.user.id, str(interaction.user),
                                             interaction.guild_id, action, detail, outcome))

    async def setup_hook(self) -> None:
        await self.load_extension("bot.discord.cogs.ask")
        await self.load_extension("bot.discord.cogs.admin")
        await self.load_extension("bot.discord.cogs.insight")
        await self.run_blocking(self.service.warm)  # model, index and parser loaded before the first event
        self.in_background(self._prune_records())
        self.in_background(self._refresh_on_schedule())
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

    async def _prune_records(self) -> None:
        """Delete answers and feedback past records.retention_days and audit rows past
        records.audit_retention_days or records.audit_max_rows, at start and every six hours."""
        kept = self.settings.records
        while not self.is_closed():
            try:
                # once per interval across every process sharing the records (an advisory lock in PostgreSQL)
                gone = await self.run_blocking(self.records.prune, kept.retention_days, kept.audit_retention_days,
                                               kept.audit_max_rows, once_every=PRUNE_EVERY_SECONDS * 0.9)
                if gone:
                    log.info("pruned %d old record(s)", gone)
            except Exception:  # noqa: BLE001 - pruning must never stop the bot
                log.warning("pruning records failed", exc_info=True)
            await asyncio.sleep(PRUNE_EVERY_SECONDS)

    async def _refresh_on_schedule(self) -> None:
        """Every feeds.refresh_minutes: new feed items, changed URL sources, in every space."""
        minutes = self.settings.feeds.refresh_minutes
        if minutes <= 0:
            return
        while not self.is_closed():
            await asyncio.sleep(minutes * 60)
            try:
                await self.refresh_remote_sources()
            except Exception:  # noqa: BLE001 - the schedule must outlive one bad round
                log.exception("scheduled refresh failed")

    async def refresh_remote_sources(self) -> dict[int | None, str]:
        """Re-read feeds and URL sources of every space that has any, in the build thread (questions
        are answered meanwhile), one server at a time, each in that server's turn: a moderator's
        change waits for at most one server's refresh. Each outcome is audited as the bot's own action."""
        outcomes: dict[int | None, str] = {}
        mine = {guild.id for guild in self.guilds}
        for guild_id in await self.run_blocking(self.spaces.with_own_index):
            if self.spaces.shared and guild_id is not None and guild_id not in mine:
                continue  # another process's shard: its owner refreshes it
            space = self.space(guild_id)
            try:
                if not await self.run_blocking(space.follows_remote):
                    continue
                report = await self.run_build(space.catalog.reindex, remote_only=True, space=guild_id)
                outcome = "ok: " + report.summary().replace("\n", "; ")
            except BusyError:
                outcome = "skipped: a change was running"
            except QABotError as exc:
                outcome = f"failed: {exc}"
            except Exception:  # noqa: BLE001 - one space's failure must not stop the others
                log.exception("scheduled refresh of %s failed", guild_id or "the default space")
                outcome = "error: unexpected (see the log)"
            outcomes[guild_id] = outcome
            log.info("scheduled refresh of %s: %s", guild_id or "the default space", outcome)
            await self.run_blocking(self.records.audit, 0, "qabot (schedule)", guild_id, "Scheduled refresh",
                                    "feeds and URL sources", outcome)
        return outcomes

    async def on_ready(self) -> None:
        for guild in list(self.guilds):
            await self._leave_if_not_allowed(guild)

    def _shard_name(self, shard_id: int) -> str:
        return f"shard {shard_id} of {self.shard_count}"

    async def on_shard_ready(self, shard_id: int) -> None:
        servers = sum(1 for guild in self.guilds if guild.shard_id == shard_id)
        log.info("%s ready: %d server(s)", self._shard_name(shard_id), servers)

    async def on_shard_resumed(self, shard_id: int) -> None:
        log.info("%s resumed", self._shard_name(shard_id))

    async def on_shard_disconnect(self, shard_id: int) -> None:
        log.info("%s disconnected", self._shard_name(shard_id))

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self._leave_if_not_allowed(guild)

    async def _leave_if_not_allowed(self, guild: discord.Guild) -> None:
        if self.refusal_for(guild.id) is None:
            return
        log.warning("leaving server %s: not in discord.allowed_guild_ids", guild.id)
        try:
            await guild.leave()
        except discord.HTTPException:
            log.warning("could not leave server %s", guild.id, exc_info=True)

    async def on_message(self, message: discord.Message) -> None:
        """Mentions are handled by the ask cog; there are no prefix commands to process."""

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await super().close()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.builds.shutdown()

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
            message = "Only moderators of this server (Manage Server or a moderator role) can do that."
            name = interaction.command.qualified_name if interaction.command else "?"
            self.audit_later(interaction, name, "", "refused: not a moderator")
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
            raise QABotError(INTENT_REFUSED) from None


def serve(service: QAService, token: str, shard_count: int | None = None, shard_ids: list[int] | None = None) -> None:
    """`qabot serve`: run until SIGINT/SIGTERM; ``shard_count`` / ``shard_ids`` (from the command
    line) replace discord.shard_count / discord.shard_ids."""
    logging.getLogger("discord").setLevel(logging.INFO)
    logging.getLogger("qabot").setLevel(logging.INFO)
    options: dict[str, Any] = {}
    if shard_count:
        options = {"shard_count": shard_count, "shard_ids": shard_ids or None}
    bot = QABot(service, **options)
    if bot.shard_count:
        log.info("running shard(s) %s of %d", describe(bot.running_shards()), bot.shard_count)
    else:
        log.info("running as many shards as Discord recommends, all in this process")
    asyncio.run(_serve(bot, token))
