"""Answers as terminal text: wrapped to the terminal, emphasis only when it is one."""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from dataclasses import dataclass
from typing import Any, TextIO

import click

from bot.presentation import place, sentences
from index.answering.records import Answer
from index.sources import clean_text

MAX_WIDTH = 100  # longer lines are hard to read even in a wide terminal
PIPED_WIDTH = 88  # when the output is no terminal


def printable(text: str) -> str:
    """One line with no control or escape characters: source text must never drive the terminal."""
    return " ".join(clean_text(text).split())


def terminal_width(stream: TextIO | None = None) -> int:
    """The width to wrap at: the terminal's (at most ``MAX_WIDTH``), or ``PIPED_WIDTH`` when piped."""
    stream = stream or sys.stdout
    if not _is_tty(stream):
        return PIPED_WIDTH
    return max(40, min(MAX_WIDTH, shutil.get_terminal_size((PIPED_WIDTH, 24)).columns))


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def wants_style(stream: TextIO | None = None) -> bool:
    """Bold and dim only on a terminal, and never with NO_COLOR set (https://no-color.org)."""
    return _is_tty(stream or sys.stdout) and not os.environ.get("NO_COLOR")


@dataclass(frozen=True)
class _Style:
    on: bool

    def __call__(self, text: str, **how: Any) -> str:
        return click.style(text, **how) if self.on and text and any(how.values()) else text


def _words(runs: list[tuple[str, dict[str, Any]]]) -> list[list[tuple[str, dict[str, Any]]]]:
    """Words made of styled pieces: a run that does not start with a space continues the word
    before it ("**Lviv**," stays one word)."""
    words: list[list[tuple[str, dict[str, Any]]]] = []
    open_word = False  # the text so far ends inside a word
    for text, how in runs:
        text = clean_text(text)
        glued = open_word and bool(text) and not text[0].isspace()
        if text:
            open_word = not text[-1].isspace()
        for i, word in enumerate(text.split()):
            if i == 0 and glued and words:
                words[-1].append((word, how))
            else:
                words.append([(word, how)])
    return words


def _fill(runs: list[tuple[str, dict[str, Any]]], width: int, style: _Style, indent: str = "",
          hanging: str | None = None) -> list[str]:
    """Wrap runs of (text, style) at ``width`` visible characters, styling each piece."""
    lines: list[str] = []
    line, visible = indent, len(indent)
    start = len(indent)
    for word in _words(runs):
        size = sum(len(t) for t, _ in word)
        if visible > start and visible + 1 + size > width:
            lines.append(line)
            line = hanging if hanging is not None else indent
            visible = start = len(line)
        if visible > start:
            line += " "
            visible += 1
        line += "".join(style(t, **how) for t, how in word)
        visible += size
    if visible > start:
        lines.append(line)
    return lines


def _answer_runs(answer: Answer) -> list[tuple[str, dict[str, Any]]]:
    """The answer as runs: context dimmed, the asked-for words and the [n] bold."""
    said = sentences(answer.to_json())
    if said is None:
        return [(answer.answer, {})]
    runs: list[tuple[str, dict[str, Any]]] = []
    for one in said:
        if one.context:
            runs.append((f" (context: {one.context})", {"dim": True}))
        text = " " + one.text  # each sentence starts a new word
        cursor = 0
        for s, e in one.emphasis:
            runs += [(text[cursor : s + 1], {}), (text[s + 1 : e + 1], {"bold": True})]
            cursor = e + 1
        runs += [(text[cursor:], {}), (f" [{one.n}]", {"bold": True})]
    return runs


def _where(c: dict[str, Any]) -> str:
    parts = [printable(c["title"])]
    if c.get("section"):
        parts.append(printable(c["section"]))
    parts.append(place(c))
    return " · ".join(parts)


def _passage_runs(c: dict[str, Any], cited: bool) -> list[tuple[str, dict[str, Any]]]:
    """The passage with its cited sentences bold (``cited``), in the source's own words."""
    text, base = c["text"], c["start"]
    spans = sorted((s["start"] - base, s["end"] - base) for s in c.get("sentences", [])) if cited else []
    runs, cursor = [], 0
    for s, e in spans:
        if s >= cursor:
            runs += [(text[cursor:s], {}), (text[s:e], {"bold": True})]
            cursor = e
    return runs + [(text[cursor:], {})]


def _adds_context(c: dict[str, Any]) -> bool:
    """True if the passage says more than its cited sentences (news paragraphs mostly do not)."""
    cited = " ".join(printable(s["text"]) for s in c.get("sentences", []))
    return printable(c["text"]) != cited


def render_answer(answer: Answer, width: int | None = None, style: bool = False) -> str:
    """The answer once, then one line per citation (title, section, ¶ or page) with its link, and
    the passage only when it holds more than the quoted sentence; a decline says why, with the
    closest passages unless the name asked about is in no source."""
    width = width or PIPED_WIDTH
    paint = _Style(style)
    data = answer.to_json()
    lines = [paint(f"Understood as: {printable(answer.understood_as)}", dim=True), ""] if answer.understood_as else []
    lines += _fill(_answer_runs(answer), width, paint) + [""]
    for c in data["citations"]:
        lines += _fill([(f"[{c['n']}]", {"bold": True}), (" " + _where(c), {"dim": True})], width, paint,
                       hanging="    ")
        if c.get("link"):
            lines.append(f"    {paint(printable(c['link']), dim=True)}")
        if _adds_context(c):
            lines += _fill(_passage_runs(c, True), width, paint, indent="    ")
        lines.append("")
    if not answer.found:
        if answer.declined_by:
            lines += [paint(f"(declined: {answer.declined_by})", dim=True), ""]
        if data.get("closest") and answer.declined_by != "unknown_name":
            lines.append("Closest passages (not an answer):")
            for c in data["closest"]:
                lines += _fill([("-", {}), (" " + _where(c), {"dim": True})], width, paint, indent="  ",
                               hanging="    ")
                lines += _fill(_passage_runs(c, False), width, paint, indent="    ")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _terms(features: dict[str, dict[str, float]], everything: bool = False) -> list[str]:
    """One line per feature, largest contribution first: name, value, weight, contribution;
    features that contribute nothing are left out unless ``everything``."""
    ordered = sorted(features.items(), key=lambda kv: -abs(kv[1]["contribution"]))
    return [f"      {name:<18} {t['value']:>8.3f} x {t['weight']:>8.3f} = {t['contribution']:>8.3f}"
            for name, t in ordered if everything or t["contribution"] != 0]


def verdict(answer: Answer) -> str:
    """The first line of ``--explain``: answered or declined, and why."""
    decision = (answer.explanation or {}).get("decision")
    odds = f": p={decision['probability']:.3f} vs threshold {decision['threshold']:.3f}" if decision else ""
    if answer.found:
        return f"answered{odds}"
    reason = answer.declined_by or "declined"
    return f"declined ({reason}){odds}: {printable(answer.answer)}"


def render_explanation(explanation: dict[str, Any], answer: Answer | None = None, hits: int = 3) -> str:
    """How the answer was chosen, verdict first: the decision (probability against threshold),
    the question's analysis, then each top passage's features that count, with their weights."""
    q = explanation["question"]
    lines = [f"verdict: {verdict(answer)}"] if answer is not None else []
    decision = explanation.get("decision")
    if decision:
        read = f" (reader {decision['reader']:.3f})" if decision.get("reader") is not None else ""
        lines.append(f"  decision: probability {decision['probability']:.3f}{read} vs threshold "
                     f"{decision['threshold']:.3f}")
        lines.extend(_terms(decision["features"]))
    lines.append(f"question: kind={q['kind']} answer types={','.join(q['answer_types']) or '-'} "
                 f"names={', '.join(q['names']) or '-'} words={', '.join(q['content']) or '-'}")
    lines.append("      feature             value x   weight = contribution (zero contributions left out)")
    for n, hit in enumerate(explanation["hits"][:hits], start=1):
        lines.append(f"  #{n} score {hit['score']:.3f}: {textwrap.shorten(printable(hit['text']), 80)}")
        lines.extend(_terms(hit["features"]))
    return "\n".join(lines) + "\n"
