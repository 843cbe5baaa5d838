"""`qabot serve`: the Discord bot, with the shards this process runs (--shard-count, --shard-ids)."""

from __future__ import annotations

from typing import Any

import click

import bot.cli as cli
from bot.config import Settings
from bot.shards import parse_shard_ids, shard_problem


class ShardIds(click.ParamType):
    """``0-3``, ``0,2,5`` or a mix (``0-1,4``)."""

    name = "IDS"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> list[int]:
        if isinstance(value, list):
            return value
        try:
            return parse_shard_ids(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def chosen_shards(settings: Settings, shard_count: int | None,
                  shard_ids: list[int] | None) -> tuple[int | None, list[int] | None]:
    """--shard-count / --shard-ids, each replacing its config key; (None, None): discord.py picks."""
    count = shard_count or settings.discord.shard_count or None
    ids = shard_ids if shard_ids is not None else (list(settings.discord.shard_ids) or None)
    if count is None:
        if ids:
            raise click.UsageError("--shard-ids needs --shard-count (or discord.shard_count): how many shards "
                                   "the bot has in all, across every process.")
        return None, None
    problem = shard_problem(count, ids or [])
    if problem:
        raise click.UsageError(f"--shard-ids: {problem}")
    return count, ids


@click.command("serve")
@cli.common
@click.option("--shard-count", type=click.IntRange(min=1), default=None, metavar="N",
              help="How many shards the bot has in all, across every process (default: discord.shard_count, "
                   "else Discord's recommendation, all run here).")
@click.option("--shard-ids", type=ShardIds(), default=None,
              help="The shards this process runs, e.g. 0-3 or 0,2,5 (default: discord.shard_ids, else all).")
def serve_cmd(config_path: str | None, index_dir: str | None, shard_count: int | None,
              shard_ids: list[int] | None) -> None:
    """Run the Discord bot (token from DISCORD_TOKEN or discord.token_file)."""
    from bot.discord.client import read_token, serve

    service = cli.make_service(config_path, index_dir)
    count, ids = chosen_shards(service.settings, shard_count, shard_ids)
    token = read_token(service)  # fail fast, before any model loads
    cli.ensure_index(service, explicit_dir=index_dir is not None)
    serve(service, token, shard_count=count, shard_ids=ids)
