"""`qabot migrate-db`: move an installation's SQLite files into PostgreSQL (see bot/db/migrate.py)."""

from __future__ import annotations

import click

import bot.cli as cli
from bot.config import DATABASE_SCHEMES, load_settings
from index.errors import InputError


@click.command("migrate-db")
@cli.common
@click.option("--to", "url", required=True, metavar="URL",
              help="The PostgreSQL database to copy into (postgresql://user@host:5432/dbname), empty.")
def migrate_db_cmd(config_path: str | None, index_dir: str | None, url: str) -> None:
    """Copy every space's sources, feeds, the embedding cache and the records into PostgreSQL.

    All or nothing, checked by reading everything back; the SQLite files are left as they are.
    Then set database.url to the same URL in the config file.
    """
    from bot.db import Database
    from bot.db.migrate import copy_installation

    if not url.startswith(DATABASE_SCHEMES):
        raise InputError("--to: expected a postgresql:// URL, e.g. postgresql://qabot@db.internal:5432/qabot.")
    settings = load_settings(config_path)
    root = settings.index_dir(index_dir)
    if not root.is_dir():
        raise InputError(f"There is no installation at {root} to copy (see --index-dir).")
    with Database(url, pool_size=2) as db:
        copied = copy_installation(root, db)
        click.echo(copied.summary(db.where))
    click.echo("Set database.url to this URL in the config file of every qabot process to use it.")
