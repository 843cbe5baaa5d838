"""What an answer shows, whatever the face (terminal or Discord): its sentences one by one, each
with its citation number, its own link, the words that answer the question and, for one opening
"It"/"They", the sentence before it; and one compact line per cited source.

Everything is read from the answer's JSON (``Answer.to_json()`` or a stored answer), so an answer
stored before a field existed still renders (without that field's help).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from index.emphasis import answer_spans
from index.links import text_fragment_link


@dataclass(frozen=True)
class Said:
    """One sentence of an answer, verbatim, with what helps to read it."""

    text: str
    n: int
    link: str | None  # the source at this very sentence (text fragment), when the source has a URL
    emphasis: list[tuple[int, int]] = field(default_factory=list)  # offsets into ``text`` to make bold
    context: str | None = None  # the sentence before, which an opening "It"/"They" refers to (not cited)


@dataclass(frozen=True)
class Cited:
    """A cited source, once: its title, URL and where in it each [n] points."""

    title: str
    url: str | None
    places: list[tuple[int, str]]  # (n, "¶20" / "p. 4 ¶20")


def place(citation: dict[str, Any]) -> str:
    """Where a citation is, for a reader: "¶20", or "p. 4 ¶20" in a PDF (offsets stay in the JSON)."""
    paragraph = f"¶{citation['paragraph']}"
    return f"p. {citation['page']} {paragraph}" if citation.get("page") else paragraph


def sentences(answer: dict[str, Any]) -> list[Said] | None:
    """The answer's sentences in order, or None when its text is not made of cited sentences (a
    decline, or text this version cannot take apart: then show ``answer["answer"]`` as it is)."""
    if not answer.get("found") or not answer.get("citations"):
        return None
    text: str = answer["answer"]
    question = answer.get("understood_as") or answer.get("question") or ""
    types = answer.get("answer_types") or []
    shown = {(c["source_id"], s["start"]) for c in answer["citations"] for s in c.get("sentences", [])}
    candidates = [(c, s) for c in answer["citations"] for s in c.get("sentences", [])]
    out: list[Said] = []
    pos = 0
    while pos < len(text):
        for c, s in candidates:
            token = f"{s['text']} [{c['n']}]"
            if text.startswith(token, pos):
                break
        else:
            return None
        pos += len(token)
        if text[pos : pos + 1] == " ":
            pos += 1
        context = s.get("context")
        before = context["text"] if context and (c["source_id"], context["start"]) not in shown else None
        if before and out and out[-1].text == before:
            before = None
        link = text_fragment_link(c.get("url"), s["text"]) if c.get("url") else None
        out.append(Said(s["text"], c["n"], link, answer_spans(s["text"], s.get("entities") or [], types, question),
                        before))
    return out


def cited_sources(citations: list[dict[str, Any]]) -> list[Cited]:
    """The cited sources in the order first cited, each once, with its [n] places."""
    groups: dict[str, Cited] = {}
    for c in citations:
        key = c["source_id"]
        if key not in groups:
            groups[key] = Cited(c["title"], c.get("url"), [])
        groups[key].places.append((c["n"], place(c)))
    return list(groups.values())


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
