"""Answers as plain terminal text."""

from __future__ import annotations

import textwrap

from index.answer import Answer, Citation


def _where(c: Citation) -> str:
    parts = [c.title]
    if c.section:
        parts.append(c.section)
    parts.append(f"paragraph {c.paragraph}")
    parts.append(f"chars {c.start}-{c.end}")
    return " · ".join(parts)


def _passage(c: Citation, width: int) -> str:
    body = " ".join(c.text.split())
    return textwrap.fill(body, width=width, initial_indent="    ", subsequent_indent="    ")


def render_answer(answer: Answer, width: int = 88) -> str:
    """The answer, then each citation with where it is and the passage itself."""
    lines = [textwrap.fill(" ".join(answer.answer.split()), width=width), ""]
    for c in answer.citations:
        lines.append(f"[{c.n}] {_where(c)}")
        if c.link:
            lines.append(f"    {c.link}")
        lines.append(_passage(c, width))
        lines.append("")
    if not answer.found and answer.closest:
        lines.append("Closest passages (not an answer):")
        for c in answer.closest:
            lines.append(f"  - {_where(c)}")
            lines.append(_passage(c, width))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
