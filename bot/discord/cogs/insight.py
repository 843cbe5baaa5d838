"""/gaps for moderators (what members could not get answered) and /brief for everyone."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.cogs.admin import moderator_only
from bot.discord.render import (
    DESCRIPTION_LIMIT,
    FIELD_LIMIT,
    FIELD_NAME_LIMIT,
    FIELDS_LIMIT,
    FOOTER_LIMIT,
    TOTAL_LIMIT,
    check_limits,
    clip,
    safe,
)
from bot.gaps import DEFAULT_DAYS, Gaps, coverage_gaps
from index.brief import Brief, Newest, Statement, brief, newest

if TYPE_CHECKING:
    from bot.discord.client import QABot

NO_PINGS = discord.AllowedMentions.none()
GAPS_SHOWN = 10
SENTENCE_LIMIT = 600  # one quoted sentence in a field (the index cuts sentences at 1,000 characters)


def _marker(n: int, link: str | None) -> str:
    """[n], a link to the cited sentence when the source has a URL that fits whole."""
    if link and len(link) <= 512 and not any(ch.isspace() or ch in "<>[]()" for ch in link):
        return f"[[{n}]]({link})"
    return f"[{n}]"


def _said(statements: list[Statement], links: dict[int, str | None]) -> str:
    return " ".join(f"{clip(safe(s.text), SENTENCE_LIMIT)} {_marker(s.n, links.get(s.n))}" for s in statements)


BRIEF_FOOTER = "Only the source's own sentences, each checked against the indexed text."
ALSO_QUOTED = " Also quoted (see qabot brief): "


def brief_embed(made: Brief) -> discord.Embed:
    """The lead, then one field per speaker with their statements; within every limit (second
    statements go first, then the speakers quoted least, named in the footer)."""
    links = {c.n: c.link for c in made.citations}
    embed = discord.Embed(title=clip(safe(made.title), FIELD_NAME_LIMIT), colour=discord.Colour.blue())
    if made.url and len(made.url) <= 512:
        embed.url = made.url
    lead = _said(made.lead, links) or "No sentence of this source carries news."
    embed.description = clip(f"{lead}\n\n**Who said what**" if made.speakers else lead, DESCRIPTION_LIMIT)
    speakers = made.speakers
    names = [clip(safe(s.name), 80) for s in speakers]
    kept = [list(s.statements) for s in speakers]
    least_quoted = sorted(range(len(speakers)), key=lambda k: (speakers[k].count, -k))

    def size() -> int:
        shown = sum(len(names[i]) + min(FIELD_LIMIT, len(_said(kept[i], links))) for i in range(len(kept)) if kept[i])
        dropped = sum(len(names[i]) + 2 for i in range(len(kept)) if not kept[i])
        return len(embed.title or "") + len(embed.description or "") + len(BRIEF_FOOTER + ALSO_QUOTED) + shown + dropped

    for i in least_quoted[: max(0, len(speakers) - FIELDS_LIMIT)]:
        kept[i] = []
    for i in least_quoted:
        if size() <= TOTAL_LIMIT:
            break
        kept[i] = kept[i][:1]
    for i in least_quoted:
        if size() <= TOTAL_LIMIT:
            break
        kept[i] = []
    for name, statements in zip(names, kept, strict=True):
        if statements:
            embed.add_field(name=name, value=clip(_said(statements, links), FIELD_LIMIT), inline=False)
    dropped = [clip(name, 40) for name, statements in zip(names, kept, strict=True) if not statements]
    embed.set_footer(text=clip(BRIEF_FOOTER + (ALSO_QUOTED + ", ".join(dropped) if dropped else ""), FOOTER_LIMIT))
    check_limits(embed)
    return embed


def newest_embed(made: Newest) -> discord.Embed:
    """One lead sentence per newest source."""
    links = {c.n: c.link for c in made.citations}
    lines = [f"**{clip(safe(title), 200)}**{f' ({safe(date)})' if date else ''}: {_said([lead], links)}"
             for _, title, date, lead in made.items]
    embed = discord.Embed(title="Newest sources", colour=discord.Colour.blue(),
                          description=clip("\n\n".join(lines) or "No sources are indexed.", DESCRIPTION_LIMIT))
    embed.set_footer(text="/brief source:<id> for one source's lead and who said what.")
    check_limits(embed)
    return embed


def gaps_embed(gaps: Gaps) -> discord.Embed:
    """The groups most members asked first, each with its count, wordings, reasons and state now."""
    days = f"{gaps.days:g} day{'s' if gaps.days != 1 else ''}"
    embed = discord.Embed(title=f"Coverage gaps · last {days}", colour=discord.Colour.orange())
    if not gaps.groups:
        embed.description = f"No question was declined or got a 👎 in the last {days}."
        return embed
    embed.description = (f"{gaps.questions} question(s) declined or voted 👎, in {gaps.found} group(s) "
                         "by meaning; most members first. ✅ = the sources answer it now.")
    for gap in gaps.groups[:GAPS_SHOWN]:
        state = " · ✅ answered now" if gap.answered else ""
        name = f"{gap.members} member(s) · asked {gap.asked}× · last {gap.last_asked.replace('T', ' ')}{state}"
        lines = [f"“{clip(safe(gap.representative), 300)}”"]
        others = [q for q in gap.questions if q != gap.representative][:3]
        if others:
            lines.append("also: " + "; ".join(f"“{clip(safe(q), 120)}”" for q in others))
        lines.append("why: " + ", ".join(f"{r} ×{n}" for r, n in gap.reasons.items()))
        if gap.answered and gap.answered_by:
            lines.append("now from: " + ", ".join(f"`{safe(s)}`" for s in gap.answered_by[:3]))
        embed.add_field(name=clip(name, FIELD_NAME_LIMIT), value=clip("\n".join(lines), FIELD_LIMIT), inline=False)
    if gaps.found > GAPS_SHOWN:
        embed.set_footer(text=f"{gaps.found - GAPS_SHOWN} more group(s): `qabot gaps --guild ID` lists up to 25.")
    check_limits(embed)
    return embed


class InsightCog(commands.Cog):
    """What the bot could not answer, and briefs of what the sources say."""

    def __init__(self, bot: QABot) -> None:
        self.bot = bot

    @app_commands.command(name="gaps", description="Questions members could not get answered (moderators, private)")
    @app_commands.describe(days=f"How many days back (default {DEFAULT_DAYS})")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @moderator_only()
    async def gaps(self, interaction: discord.Interaction,
                   days: app_commands.Range[int, 1, 365] = DEFAULT_DAYS) -> None:
        """This server's declined or 👎 questions, grouped by meaning, shown only to the moderator."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        bot = self.bot
        found = await bot.run_blocking(coverage_gaps, bot.records, bot.space(interaction.guild_id),
                                       interaction.guild_id, days,
                                       retention_days=bot.settings.records.retention_days, limit=GAPS_SHOWN)
        await interaction.followup.send(embed=gaps_embed(found), ephemeral=True, allowed_mentions=NO_PINGS)

    @app_commands.command(name="brief", description="A source's lead and who said what (or the newest sources)")
    @app_commands.describe(source="A source id (see /sources); leave empty for the newest sources")
    async def brief(self, interaction: discord.Interaction, source: str | None = None) -> None:
        """Only the sources' own sentences, each cited and checked like an answer."""
        await interaction.response.defer(thinking=True)
        space = self.bot.space(interaction.guild_id)
        made: Any = await self.bot.run_blocking(
            lambda: brief(space.answerer(), source.strip()) if source and source.strip() else newest(space.answerer()))
        embed = brief_embed(made) if isinstance(made, Brief) else newest_embed(made)
        await interaction.followup.send(embed=embed, allowed_mentions=NO_PINGS)

    @brief.autocomplete("source")
    async def brief_autocomplete(self, interaction: discord.Interaction,
                                 current: str) -> list[app_commands.Choice[str]]:
        """This server's source ids (everyone may read them, as in /sources), from memory."""
        space = self.bot.space(interaction.guild_id)
        rows = self.bot.spaces.loaded_sources(interaction.guild_id)
        if rows is None:  # not in memory yet: load it for the next keystroke
            self.bot.in_background(self.bot.run_blocking(space.loaded))
            return []
        low = current.lower()
        return [app_commands.Choice(name=clip(f"{r.id} · {r.title}", 100), value=r.id)
                for r in rows if low in r.id.lower() or low in r.title.lower()][:25]


async def setup(bot: QABot) -> None:
    await bot.add_cog(InsightCog(bot))
