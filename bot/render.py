"""Answers as plain terminal text."""

from __future__ import annotations

import textwrap
from typing import Any

from index.answer import Answer, Citation
from index.sources import clean_text


def printable(text: str) -> str:
    """One line with no control or escape characters: source text must never drive the terminal."""
    return " ".join(clean_text(text).split())


def _where(c: Citation) -> str:
    parts = [printable(c.title)]
    if c.section:
        parts.append(printable(c.section))
    if c.page:
        parts.append(f"p. {c.page}")
    parts.append(f"paragraph {c.paragraph}")
    parts.append(f"chars {c.start}-{c.end}")
    return " · ".join(parts)


def _passage(c: Citation, width: int) -> str:
    body = " ".join(c.text.split())
    return textwrap.fill(body, width=width, initial_indent="    ", subsequent_indent="    ")


def render_answer(answer: Answer, width: int = 88) -> str:
    """The answer, then each citation with where it is and the passage itself."""
    lines = [f"Understood as: {printable(answer.understood_as)}", ""] if answer.understood_as else []
    lines += [textwrap.fill(" ".join(answer.answer.split()), width=width), ""]
    for c in answer.citations:
        lines.append(f"[{c.n}] {_where(c)}")
        if c.link:
            lines.append(f"    {printable(c.link)}")
        lines.append(_passage(c, width))
        lines.append("")
    if not answer.found and answer.closest:
        lines.append("Closest passages (not an answer):")
        for c in answer.closest:
            lines.append(f"  - {_where(c)}")
            lines.append(_passage(c, width))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _terms(features: dict[str, dict[str, float]]) -> list[str]:
    """One line per feature, largest contribution first: name, value, weight, contribution."""
    ordered = sorted(features.items(), key=lambda kv: -abs(kv[1]["contribution"]))
    return [f"      {name:<18} {t['value']:>8.3f} x {t['weight']:>8.3f} = {t['contribution']:>8.3f}"
            for name, t in ordered]


def render_explanation(explanation: dict[str, Any]) -> str:
    """How the answer was chosen: the question's analysis, each top passage's features and
    weights, and the decision to answer (probability against threshold)."""
    q = explanation["question"]
    lines = [f"question: kind={q['kind']} answer types={','.join(q['answer_types']) or '-'} "
             f"names={', '.join(q['names']) or '-'} words={', '.join(q['content']) or '-'}"]
    for n, hit in enumerate(explanation["hits"], start=1):
        lines.append(f"  #{n} score {hit['score']:.3f}: {textwrap.shorten(hit['text'], 80)}")
        lines.extend(_terms(hit["features"]))
    decision = explanation.get("decision")
    if decision:
        verdict = "answer" if decision["probability"] >= decision["threshold"] else "decline (low_confidence)"
        read = f" (reader {decision['reader']:.3f})" if decision.get("reader") is not None else ""
        lines.append(f"  decision: probability {decision['probability']:.3f}{read} vs threshold "
                     f"{decision['threshold']:.3f} -> {verdict}")
        lines.extend(_terms(decision["features"]))
    return "\n".join(lines) + "\n"
