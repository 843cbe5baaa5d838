"""`qabot sources`: list, add and remove what a space's index holds (the CLI face of bot.catalog)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

import bot.cli as cli
from bot.reading import read_paths
from bot.render import printable
from bot.service import QAService


@click.group("sources", invoke_without_command=True)
@cli.common
@cli.guild_option
@click.pass_context
def sources_cmd(ctx: click.Context, config_path: str | None, index_dir: str | None, guild: int | None) -> None:
    """List what the index holds (id, title, passages, when indexed)."""
    ctx.obj = (config_path, index_dir, guild)
    if ctx.invoked_subcommand is None:
        _list_sources(cli.make_service(config_path, index_dir, guild))


def _sources_service(ctx: click.Context, config_path: str | None, index_dir: str | None,
                     guild: int | None) -> QAService:
    """A `sources` subcommand's service: its own options, else those given before the subcommand."""
    parent_config, parent_dir, parent_guild = ctx.obj or (None, None, None)
    return cli.make_service(config_path or parent_config, index_dir or parent_dir,
                        guild if guild is not None else parent_guild)


def _list_sources(service: QAService) -> None:
    if service.base is not None:
        state = "its own sources" if service.own_index else "the default sources (none of its own yet)"
        click.echo(f"Server {service.index_dir.name} uses {state}.")
    feeds = service.list_feeds()
    if feeds:  # ids are up to 47 characters: a 30-character slug, "-" and 16 hex digits
        click.echo(f"{'FEED':<47} {'ITEMS':>8}  {'REFRESHED':<20}  TITLE")
        for feed in feeds:
            status = "" if feed.status == "ok" else f"  [{feed.status}: {printable(feed.last_error or '')}]"
            click.echo(f"{feed.id:<47} {feed.items:>8}  {feed.refreshed_at or '-':<20}  "
                       f"{printable(feed.title)}{status}")
        click.echo("")
    rows = service.list_sources()
    if not rows:
        click.echo("The index holds no sources.")
        return
    click.echo(f"{'ID':<47} {'PASSAGES':>8}  {'INDEXED':<20}  TITLE")
    for row in rows:
        status = "" if row.status == "ok" else f"  [{row.status}: {printable(row.last_error or '')}]"
        click.echo(f"{row.id:<47} {row.chunks:>8}  {row.indexed_at:<20}  {printable(row.title)}{status}")


@sources_cmd.command("list")
@cli.common
@cli.guild_option
@click.pass_context
def sources_list_cmd(ctx: click.Context, config_path: str | None, index_dir: str | None,
                     guild: int | None) -> None:
    """List what the index holds."""
    _list_sources(_sources_service(ctx, config_path, index_dir, guild))


def _split_items(items: tuple[str, ...]) -> tuple[list[str], list[Any]]:
    """URLs (articles or feeds, read by the service) and the files/directories read here."""
    urls, sources = [], []
    for item in items:
        if item.startswith(("http://", "https://")) or "://" in item:
            urls.append(item)
        else:
            sources.extend(read_paths([Path(item)]))
    return urls, sources


@sources_cmd.command("add")
@cli.common
@cli.guild_option
@click.argument("items", nargs=-1, required=True)
@click.pass_context
def sources_add_cmd(ctx: click.Context, config_path: str | None, index_dir: str | None, guild: int | None,
                    items: tuple[str, ...]) -> None:
    """Add files, directories, http(s) articles or RSS/Atom feeds to the index."""
    service = _sources_service(ctx, config_path, index_dir, guild)
    urls, files = _split_items(items)
    progress = cli.ProgressBar("Embedding")
    try:
        report = service.catalog.add_urls(urls, extra=files, added_by="cli", progress=progress)
    finally:
        progress.close()
    click.echo(report.summary())


@sources_cmd.command("remove")
@cli.common
@cli.guild_option
@click.argument("source_id")
@click.pass_context
def sources_remove_cmd(ctx: click.Context, config_path: str | None, index_dir: str | None, guild: int | None,
                       source_id: str) -> None:
    """Remove a source by id (see `qabot sources`)."""
    service = _sources_service(ctx, config_path, index_dir, guild)
    click.echo(service.catalog.remove_source(source_id).summary())
