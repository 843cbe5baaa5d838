"""Answers as Discord embeds, within Discord's limits, with quoted text made harmless."""

from __future__ import annotations

from typing import Any

import discord

from bot.presentation import cited_sources, plural, sentences
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


def _safe_run(text: str) -> str:
    """``safe`` for a piece of a sentence: keeps one space at either end, where the piece had one."""
    if not text.strip():
        return " " if text else ""
    return (" " if text[0].isspace() else "") + safe(text) + (" " if text[-1].isspace() else "")


def _marked(text: str, spans: list[tuple[int, int]] | None) -> str:
    """The text made harmless, with the ``spans`` (offsets into ``text``) in bold."""
    pieces, cursor = [], 0
    for s, e in sorted(spans or []):
        if s < cursor or e <= s:
            continue
        pieces += [_safe_run(text[cursor:s]), f"**{safe(text[s:e])}**"]
        cursor = e
    pieces.append(_safe_run(text[cursor:]))
    return "".join(pieces).strip()


def _passage(citation: dict[str, Any], limit: int, bold: bool = True) -> str:
    """The passage, its cited sentences in bold (``bold``), trimmed around the first cited sentence to fit."""
    text: str = citation["text"]
    base = citation["start"]
    spans = [(s["start"] - base, s["end"] - base) for s in citation.get("sentences", [])] if bold else []
    rendered = _marked(text, spans)
    if len(rendered) <= limit:
        return rendered
    first = sorted(spans)[:1]
    bolded = " ".join(f"**{clip(safe(text[s:e]), limit - 8)}**" for s, e in first)
    return clip(bolded, limit) if bolded else clip(safe(text), limit)


LOCATION_LIMIT = 200  # the "section · paragraph · chars" line of a private passage
LINK_LIMIT = 512  # a longer link is dropped rather than cut (a cut link is a broken link)
LINK_LABEL = "Open at the cited sentence"
TITLE_LIMIT = 200  # a source's title on the card
SOURCES_LIMIT = 5  # source lines on the card; the rest are counted
SOURCE_LINE_LIMIT = (FIELD_LIMIT - 40) // SOURCES_LIMIT


def _where(citation: dict[str, Any]) -> str:
    """Section, page, paragraph and character offsets: for the private passages (and checking by hand)."""
    parts = []
    if citation.get("section"):
        parts.append(clip(safe(citation["section"]), LOCATION_LIMIT // 2))
    if citation.get("page"):
        parts.append(f"p. {citation['page']}")
    parts.append(f"paragraph {citation['paragraph']}")
    parts.append(f"chars {citation['start']}–{citation['end']}")
    return clip(" · ".join(parts), LOCATION_LIMIT)


def _url(link: str | None) -> str:
    """A URL usable in a markdown link, or "" when there is none or it is too long to fit whole."""
    url = (link or "").replace("(", "%28").replace(")", "%29")
    if not url or len(url) > LINK_LIMIT or any(ch.isspace() or ch in "<>[]" for ch in url):
        return ""
    return url


def _link(citation: dict[str, Any]) -> str:
    """The markdown link line, or "" when there is none or it is too long to fit whole."""
    url = _url(citation.get("link"))
    return f"\n[{LINK_LABEL}]({url})" if url else ""


def _marker(n: int, link: str | None, linked: bool) -> str:
    """[n], as a link to the cited sentence when the source has a URL (Discord renders [[1]](url))."""
    url = _url(link) if linked else ""
    return f"[[{n}]]({url})" if url else f"[{n}]"


def _answer_text(answer: dict[str, Any], linked: bool = True, marked: bool = True) -> str:
    """The answer's sentences with clickable [n], the asked-for words in bold and, before a
    sentence opening with "It"/"They", the sentence it refers to in italics."""
    said = sentences(answer)
    if said is None:
        return safe(answer["answer"])
    parts = []
    for one in said:
        context = f"*{safe(one.context)}* " if one.context and marked else ""
        body = _marked(one.text, one.emphasis if marked else [])
        parts.append(f"{context}{body} {_marker(one.n, one.link, linked)}")
    return " ".join(parts)


def _sources_value(citations: list[dict[str, Any]]) -> str:
    """One line per cited source: "[1] ¶20 · [2] ¶21 · <title, linked once>"."""
    groups = cited_sources(citations)
    lines = []
    for g in groups[:SOURCES_LIMIT]:
        where = " ".join(f"[{n}] {p}" for n, p in g.places[:10])
        title = clip(safe(g.title), TITLE_LIMIT)
        url = _url(g.url)
        line = f"{where} · " + (f"[{title}]({url})" if url else title)
        if len(line) > SOURCE_LINE_LIMIT:  # never cut a link: drop it, then cut
            line = clip(f"{where} · {title}", SOURCE_LINE_LIMIT)
        lines.append(line)
    if len(groups) > SOURCES_LIMIT:
        lines.append(f"and {plural(len(groups) - SOURCES_LIMIT, 'more source')}")
    return clip("\n".join(lines), FIELD_LIMIT)


def _understood(answer: dict[str, Any]) -> str:
    understood = answer.get("understood_as")
    return f"*Understood as: {clip(safe(understood), 300)}*\n\n" if understood else ""


def answer_embed(answer: dict[str, Any], sources_searched: int) -> discord.Embed:
    """The public card of a found answer: the question as title, the answer once with clickable
    [n], one compact source line; the passages themselves stay behind "Show passages".
    A decline gets the same shape without sources (it is shown privately, see ``decline_line``)."""
    found = bool(answer["found"])
    colour = discord.Colour.blue() if found else discord.Colour.light_grey()
    title = clip(safe(answer.get("question") or ""), FIELD_NAME_LIMIT) or None
    embed = discord.Embed(title=title, colour=colour)
    for linked, marked in ((True, True), (False, True), (False, False)):
        text = _understood(answer) + _answer_text(answer, linked, marked)
        if len(text) <= DESCRIPTION_LIMIT:  # fits whole: a cut could split a link or a bold run
            break
    embed.description = clip(text, DESCRIPTION_LIMIT)
    citations = answer["citations"] if found else []
    if citations:
        groups = cited_sources(citations)
        embed.add_field(name="Source" if len(groups) == 1 else "Sources", value=_sources_value(citations),
                        inline=False)
        footer = f"Quoted word for word · searched {plural(sources_searched, 'source')}"
    else:
        footer = f"Searched {plural(sources_searched, 'source')} · /sources lists them"
    embed.set_footer(text=clip(footer, FOOTER_LIMIT))
    _fit_total(embed)
    check_limits(embed)
    return embed


def decline_line(answer: dict[str, Any]) -> str:
    """A decline as one line of text (a reply to a mention)."""
    return clip(_understood(answer).replace("\n\n", " ") + safe(answer["answer"]), 2000)


def _fit_total(embed: discord.Embed) -> None:
    """Cut the description (then the source lines) until the whole embed is within 6000 characters."""
    over = len(embed) - TOTAL_LIMIT
    if over > 0 and embed.description:
        embed.description = clip(embed.description, max(1, len(embed.description) - over))
    over = len(embed) - TOTAL_LIMIT
    if over > 0 and embed.fields:
        field = embed.fields[0]
        embed.set_field_at(0, name=field.name, value=clip(field.value or "", max(1, len(field.value or "") - over)),
                           inline=False)


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
    """Each citation in full, privately (the "Show passages" / "Closest passages" buttons): where it
    is (with its offsets, for checking), a link to it, and the passage with the cited sentences in bold.
    The closest passages of a decline are not an answer: they are not bold, and grey."""
    found = bool(answer.get("citations"))
    embed = discord.Embed(title="Cited passages" if found else "Closest passages (not an answer)",
                          colour=discord.Colour.blue() if found else discord.Colour.light_grey())
    parts = []
    citations = answer.get("citations") or answer.get("closest", [])
    for i, c in enumerate(citations):
        note = STATUS_NOTES.get((statuses or [])[i] if statuses and i < len(statuses) else "", "")
        note = f"\n*{note}*" if note else ""
        link = _link(c)
        parts.append(f"**[{c['n']}] {clip(safe(c['title']), 200)}** — {_where(c)}{note}{link}\n"
                     f"{_passage(c, 1500, bold=found)}")
    embed.description = clip("\n\n".join(parts) or "No passages.", DESCRIPTION_LIMIT)
    check_limits(embed)
    return embed


def sources_embed(rows: list[Any], details: bool = False, feeds: list[Any] | None = None,
                  shard: tuple[int, int] | None = None) -> discord.Embed:
    """The feeds followed and the indexed sources, one line each; why something failed only for
    moderators (``details``): an error can name internal hosts or paths. ``shard`` (id, count):
    the shard serving this server, named in the footer."""
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
    if shard is not None:
        embed.set_footer(text=f"Served by shard {shard[0]} of {shard[1]}")
    check_limits(embed)
    return embed
