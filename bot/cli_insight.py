"""`qabot gaps` and `qabot brief`: the moderators' and members' views of /gaps and /brief, in a terminal."""

from __future__ import annotations

import json
import shutil
import textwrap

import click

import bot.cli as cli
from bot.discord.records import Records
from bot.gaps import DEFAULT_DAYS, Gaps, coverage_gaps, window_days
from bot.render import printable
from index.brief import Brief, Newest, Statement, brief, newest


def _width() -> int:
    return max(40, min(100, shutil.get_terminal_size((88, 24)).columns))


def _fill(text: str, indent: str = "  ") -> str:
    return textwrap.fill(text, width=_width(), initial_indent=indent, subsequent_indent=indent)


def _said(statements: list[Statement]) -> str:
    return " ".join(f"{printable(s.text)} [{s.n}]" for s in statements)


def render_brief(made: Brief) -> str:
    """Lead, who said what, then where each [n] is."""
    lines = [printable(made.title) + (f" ({printable(made.date)})" if made.date else ""), "", "Lead",
             _fill(_said(made.lead) or "No sentence of this source carries news.")]
    if made.speakers:
        lines += ["", "Who said what"]
        for speaker in made.speakers:
            lines += [f"  {printable(speaker.name)} ({speaker.count} sentence(s) attributed)",
                      _fill(_said(speaker.statements), "    ")]
    lines.append("")
    for c in made.citations:
        where = " · ".join([*([printable(c.section)] if c.section else []), *([f"p. {c.page}"] if c.page else []),
                            f"paragraph {c.paragraph}", f"chars {c.start}-{c.end}"])
        lines.append(f"[{c.n}] {where}" + (f"  {printable(c.link)}" if c.link else ""))
    return "\n".join(lines)


def render_newest(made: Newest) -> str:
    lines = []
    for sid, title, date, lead in made.items:
        lines += [f"{printable(title)}" + (f" ({printable(date)})" if date else "") + f"  [{sid}]",
                  _fill(_said([lead])), ""]
    return "\n".join(lines).rstrip() or "No sources are indexed."


def render_gaps(gaps: Gaps, where: str) -> str:
    days = f"{gaps.days:g} day(s)"
    if not gaps.groups:
        return f"No question was declined or got a 👎 in {where} in the last {days}."
    lines = [f"Coverage gaps in {where}, last {days}: {gaps.questions} question(s) declined or voted 👎, "
             f"in {gaps.found} group(s)" + (f" (the first {len(gaps.groups)} shown)" if gaps.found > len(gaps.groups)
                                            else ""), ""]
    for i, gap in enumerate(gaps.groups, 1):
        state = ""
        if gap.answered:
            state = " · answered now" + (f" (from {', '.join(gap.answered_by)})" if gap.answered_by else "")
        lines.append(f"{i}. {gap.members} member(s) · asked {gap.asked}× · last {gap.last_asked}{state}")
        lines.append(f"   “{printable(gap.representative)}”")
        others = [q for q in gap.questions if q != gap.representative]
        if others:
            lines.append("   also: " + "; ".join(f"“{printable(q)}”" for q in others[:5]))
        lines.append("   why: " + ", ".join(f"{r} ×{n}" for r, n in gap.reasons.items()))
    return "\n".join(lines)


@click.command("gaps")
@cli.common
@cli.guild_option
@click.option("--days", type=float, default=DEFAULT_DAYS, show_default=True, help="How many days back.")
@click.option("--json", "as_json", is_flag=True, help="Print the groups as JSON.")
def gaps_cmd(config_path: str | None, index_dir: str | None, guild: int | None, days: float, as_json: bool) -> None:
    """Questions the Discord bot declined or that got a 👎, grouped by meaning (of one server with
    --guild, else of direct messages). Read from bot.sqlite in the index directory; `qabot ask`
    records nothing."""
    service = cli.make_service(config_path, index_dir, guild)
    path = (service.base or service).index_dir / "bot.sqlite"
    retention = service.settings.records.retention_days
    stores = service.stores
    if path.exists() or stores is not None and stores.database is not None:
        cli.ensure_index(service, explicit_dir=index_dir is not None)
        records = stores.records if stores is not None and stores.database is not None else Records(path)
        found = coverage_gaps(records, service, guild, days, retention_days=retention)
    else:
        click.echo(f"No questions are recorded at {path} (the Discord bot records them; `qabot ask` does not).",
                   err=True)
        found = Gaps(guild, window_days(days, retention), "", 0, [])
    if as_json:
        click.echo(json.dumps(found.to_json(), ensure_ascii=False))
    else:
        click.echo(render_gaps(found, f"server {guild}" if guild is not None else "direct messages"))


@click.command("brief")
@cli.common
@cli.guild_option
@click.argument("source_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the brief as JSON.")
def brief_cmd(config_path: str | None, index_dir: str | None, guild: int | None, source_id: str | None,
              as_json: bool) -> None:
    """A source's lead and who said what in it (only its own sentences, each cited and verified);
    without SOURCE_ID, the lead sentence of each of the newest sources."""
    service = cli.make_service(config_path, index_dir, guild)
    cli.ensure_index(service, explicit_dir=index_dir is not None)
    answerer = service.answerer()
    made = brief(answerer, source_id.strip()) if source_id and source_id.strip() else newest(answerer)
    if as_json:
        click.echo(json.dumps(made.to_json(), ensure_ascii=False))
    else:
        click.echo(render_brief(made) if isinstance(made, Brief) else render_newest(made))
