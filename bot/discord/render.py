"""Answers as Discord embeds, within Discord's limits, with quoted text made harmless."""

from __future__ import annotations

from typing import Any

import discord

from index.errors import IndexMismatchError

DESCRIPTION_LIMIT = 4096
FIELD_LIMIT = 1024
FIELD_NAME_LIMIT = 256
FIELDS_LIMIT = 25
TOTAL_LIMIT = 6000
FOOTER_LIMIT = 2048
ZWSP = "\u200b"


def error_text(exc: Exception) -> str:
    """A domain error as Discord users should read it: the CLI's fix becomes the moderators' one."""
    if isinstance(exc, IndexMismatchError):
        return ("The index needs rebuilding (it was made by another qabot version or is damaged): "
                "a moderator can run /reindex.")
    return str(exc)


def safe(text: str) -> str:
    """Escape Discord markdown and break @everyone/@here/<@id> so nothing can ping or format."""
    text = discord.utils.escape_markdown(" ".join(text.split()))
    return text.replace("@", "@" + ZWSP).replace("<#", "<" + ZWSP + "#")


def clip(text: str, limit: int) -> str:
    """Cut at a word boundary, ending with an ellipsis, never over the limit."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - 1)]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip("\\") + "…"


def _passage_with_bold(citation: dict[str, Any], limit: int) -> str:
    """The passage, cited sentences in bold, trimmed around the first cited sentence to fit."""
    text: str = citation["text"]
    base = citation["start"]
    spans = sorted((s["start"] - base, s["end"] - base) for s in citation.get("sentences", []))
    pieces: list[str] = []
    cursor = 0
    for s, e in spans:
        if s < cursor:
            continue
        pieces.append(safe(text[cursor:s]) + (" " if s > cursor and text[s - 1].isspace() else ""))
        pieces.append(f"**{safe(text[s:e])}**")
        cursor = e
    tail = text[cursor:]
    pieces.append((" " if tail[:1].isspace() else "") + safe(tail))
    rendered = "".join(pieces).strip()
    if len(rendered) <= limit:
        return rendered
    bolded = " ".join(f"**{clip(safe(text[s:e]), limit - 8)}**" for s, e in spans[:1])
    return clip(bolded, limit) if bolded else clip(rendered, limit)


LOCATION_LIMIT = 200  # the "section · paragraph · chars" line
LINK_LIMIT = 512  # a longer link is dropped rather than cut (a cut link is a broken link)
LINK_LABEL = "Open at the cited sentence"


def _where(citation: dict[str, Any]) -> str:
    parts = []
    if citation.get("section"):
        parts.append(clip(safe(citation["section"]), LOCATION_LIMIT // 2))
    if citation.get("page"):
        parts.append(f"p. {citation['page']}")
    parts.append(f"paragraph {citation['paragraph']}")
    parts.append(f"chars {citation['start']}–{citation['end']}")
    return clip(" · ".join(parts), LOCATION_LIMIT)


def _link(citation: dict[str, Any]) -> str:
    """The markdown link line, or "" when there is none or it is too long to fit whole."""
    url = (citation.get("link") or "").replace("(", "%28").replace(")", "%29")
    if not url or len(url) > LINK_LIMIT or any(ch.isspace() or ch in "<>[]" for ch in url):
        return ""
    return f"\n[{LINK_LABEL}]({url})"


def _field_value(citation: dict[str, Any], limit: int = FIELD_LIMIT) -> str:
    """Location, passage (cited sentences bold) and link, within ``limit``; the link goes first if needed."""
    head = _where(citation)
    link = _link(citation)
    if limit - len(head) - len(link) - 1 < 80:
        link = ""
    room = max(1, limit - len(head) - len(link) - 1)
    return clip(f"{head}\n{_passage_with_bold(citation, room)}{link}", limit)


def answer_embed(answer: dict[str, Any], sources_searched: int) -> discord.Embed:
    """The answer with [n] markers, one field per citation, and a footer."""
    found = answer["found"]
    colour = discord.Colour.blue() if found else discord.Colour.light_grey()
    understood = answer.get("understood_as")
    lead = f"*Understood as: {clip(safe(understood), 300)}*\n\n" if understood else ""
    embed = discord.Embed(description=clip(lead + safe(answer["answer"]), DESCRIPTION_LIMIT), colour=colour)
    citations = answer["citations"] if found else answer.get("closest", [])
    if not found:
        embed.title = "I couldn't find that"
        if citations:
            note = "\n\nClosest passages (not an answer):"
            embed.description = clip((embed.description or "") + note, DESCRIPTION_LIMIT)
    shown = citations[:FIELDS_LIMIT]
    for c in shown:
        prefix = f"[{c['n']}] " if found else "• "
        name = clip(prefix + safe(c["title"]), FIELD_NAME_LIMIT)
        embed.add_field(name=name, value=_field_value(c), inline=False)
    ms = answer.get("timings_ms", {}).get("total", 0.0)
    embed.set_footer(text=clip(f"Searched {sources_searched} source(s) · {ms:.0f} ms", FOOTER_LIMIT))
    _fit_total(embed, shown)
    check_limits(embed)
    return embed


def _fit_total(embed: discord.Embed, citations: list[dict[str, Any]]) -> None:
    """Rebuild field texts smaller (longest first) until the whole embed is within 6000 characters."""
    while len(embed) > TOTAL_LIMIT:
        fields = embed.fields
        if not fields:
            description = embed.description or ""
            embed.description = clip(description, max(0, len(description) - (len(embed) - TOTAL_LIMIT)))
            break
        i = max(range(len(fields)), key=lambda k: len(fields[k].value or ""))
        value = fields[i].value or ""
        new_len = max(20, len(value) - (len(embed) - TOTAL_LIMIT))
        if new_len >= len(value):
            embed.remove_field(len(fields) - 1)
            continue
        embed.set_field_at(i, name=fields[i].name, value=_field_value(citations[i], new_len), inline=False)


def check_limits(embed: discord.Embed) -> None:
    """Every limit Discord enforces on an embed, checked after fitting: a bug here fails loudly in
    tests instead of as a 400 from Discord in a server."""
    problems = []
    if len(embed) > TOTAL_LIMIT:
        problems.append(f"total {len(embed)}")
    if len(embed.description or "") > DESCRIPTION_LIMIT:
        problems.append("description")
    if len(embed.title or "") > FIELD_NAME_LIMIT:
        problems.append("title")
    if len(embed.fields) > FIELDS_LIMIT:
        problems.append("field count")
    for f in embed.fields:
        if not f.name or not f.value or len(f.name) > FIELD_NAME_LIMIT or len(f.value) > FIELD_LIMIT:
            problems.append(f"field {f.name!r}")
    if len(embed.footer.text or "") > FOOTER_LIMIT:
        problems.append("footer")
    if problems:
        raise ValueError(f"embed breaks Discord's limits: {', '.join(problems)}")


STATUS_NOTES = {
    "changed": "⚠ The source has changed since this answer; this is the text that was cited.",
    "removed": "⚠ This source has since been removed.",
}


def passages_embed(answer: dict[str, Any], statuses: list[str] | None = None) -> discord.Embed:
    """Full context of each citation (for the ephemeral "Show passages" button)."""
    found = bool(answer.get("citations"))
    embed = discord.Embed(title="Cited passages" if found else "Closest passages (not an answer)",
                          colour=discord.Colour.blue())
    parts = []
    citations = answer.get("citations") or answer.get("closest", [])
    for i, c in enumerate(citations):
        note = STATUS_NOTES.get((statuses or [])[i] if statuses and i < len(statuses) else "", "")
        note = f"\n*{note}*" if note else ""
        parts.append(f"**[{c['n']}] {clip(safe(c['title']), 200)}** — {_where(c)}{note}\n{_passage_with_bold(c, 1500)}")
    embed.description = clip("\n\n".join(parts) or "No passages.", DESCRIPTION_LIMIT)
    check_limits(embed)
    return embed


def sources_embed(rows: list[Any], details: bool = False, feeds: list[Any] | None = None) -> discord.Embed:
    """The feeds followed and the indexed sources, one line each; why something failed only for
    moderators (``details``): an error can name internal hosts or paths."""
    embed = discord.Embed(title="Indexed sources", colour=discord.Colour.blue())
    lines = []
    for feed in feeds or []:
        status = ""
        if feed.status != "ok":
            why = f": {clip(safe(feed.last_error or ''), 300)}" if details else ""
            status = f" — ⚠ {safe(feed.status)}{why}"
        lines.append(f"📰 `{feed.id}` · {clip(safe(feed.title), 200)} · {feed.items} items · "
                     f"refreshed {feed.refreshed_at or 'never'}{status}")
    for row in rows:
        status = ""
        if row.status != "ok":
            why = f": {clip(safe(row.last_error or ''), 300)}" if details else ""
            status = f" — ⚠ {safe(row.status)}{why}"
        lines.append(f"`{row.id}` · {clip(safe(row.title), 200)} · {row.chunks} passages · {row.indexed_at}{status}")
    embed.description = clip("\n".join(lines) or "No sources are indexed.", DESCRIPTION_LIMIT)
    check_limits(embed)
    return embed
