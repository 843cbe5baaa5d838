"""Scoring answers against a JSONL dev set: key phrases, citation ranks, abstention, length."""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index.errors import InputError


@dataclass(frozen=True)
class Case:
    """One dev-set question: in scope (evidence + key phrase) or out of scope."""

    question: str
    evidence: tuple[str, ...]  # any of these in the first citation counts
    key: tuple[str, ...]  # any of these in the answer counts
    kind: str
    out_of_scope: bool


@dataclass(frozen=True)
class Outcome:
    """What a system returned for a case, reduced to what is scored."""

    found: bool
    answer: str
    cited: list[str]  # citation texts, in order


@dataclass
class Report:
    """The metrics `qabot eval` prints."""

    system: str
    in_scope: int = 0
    out_of_scope: int = 0
    key_in_answer: float = 0.0
    hit1: float = 0.0
    hit3: float = 0.0
    mrr: float = 0.0
    abstained_out_of_scope: float = 0.0
    false_abstentions: float = 0.0
    median_answer_chars: float = 0.0
    failures: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"system: {self.system}",
            f"questions: {self.in_scope} in scope, {self.out_of_scope} out of scope",
            f"key phrase in answer:        {self.key_in_answer:6.1%}",
            f"first citation has evidence: {self.hit1:6.1%}  (hit@1)",
            f"evidence in first 3:         {self.hit3:6.1%}  (hit@3)",
            f"MRR of citations:            {self.mrr:6.3f}",
            f"out-of-scope abstained:      {self.abstained_out_of_scope:6.1%}",
            f"false abstentions:           {self.false_abstentions:6.1%}",
            f"median answer length:        {self.median_answer_chars:6.0f} chars",
        ]


def _alternatives(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise TypeError("evidence and key are strings or lists of strings")


def load_cases(path: Path) -> list[Case]:
    """Read a dev set; each line a JSON object with question and evidence/key or out_of_scope."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(f"Eval file {path} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Eval file {path} cannot be read: {exc}.") from None
    cases = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            out = bool(data.get("out_of_scope", False))
            case = Case(data["question"], _alternatives(data.get("evidence")), _alternatives(data.get("key")),
                        data.get("type", ""), out)
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
            raise InputError(f"{path}:{number}: expected an object with \"question\" and \"evidence\"/\"key\" "
                             "or \"out_of_scope\": true.") from None
        if not out and not (case.evidence and case.key):
            raise InputError(f"{path}:{number}: an in-scope question needs \"evidence\" and \"key\".")
        cases.append(case)
    if not cases:
        raise InputError(f"Eval file {path} holds no questions.")
    return cases


def _norm(text: str) -> str:
    return " ".join(text.replace("’", "'").lower().split())


def evaluate(system: str, cases: Iterable[Case], run: Callable[[str], Outcome]) -> Report:
    """Run every case through ``run`` and compute the metrics."""
    report = Report(system)
    keys = hits1 = hits3 = 0
    rr = 0.0
    abstained = false_abst = 0
    lengths: list[int] = []
    for case in cases:
        outcome = run(case.question)
        if case.out_of_scope:
            report.out_of_scope += 1
            if not outcome.found:
                abstained += 1
            else:
                report.failures.append(f"answered out-of-scope: {case.question}")
            continue
        report.in_scope += 1
        if not outcome.found:
            false_abst += 1
            report.failures.append(f"abstained: {case.question}")
            continue
        lengths.append(len(outcome.answer))
        if any(_norm(k) in _norm(outcome.answer) for k in case.key):
            keys += 1
        else:
            report.failures.append(f"no key {case.key!r}: {case.question} -> {outcome.answer[:120]}")
        ranks = [i for i, text in enumerate(outcome.cited, start=1)
                 if any(_norm(e) in _norm(text) for e in case.evidence)]
        if ranks:
            hits1 += ranks[0] == 1
            hits3 += ranks[0] <= 3
            rr += 1.0 / ranks[0]
        if not ranks or ranks[0] != 1:
            report.failures.append(f"evidence not first: {case.question}")
    n = max(report.in_scope, 1)
    report.key_in_answer = keys / n
    report.hit1 = hits1 / n
    report.hit3 = hits3 / n
    report.mrr = rr / n
    report.abstained_out_of_scope = abstained / max(report.out_of_scope, 1)
    report.false_abstentions = false_abst / n
    report.median_answer_chars = statistics.median(lengths) if lengths else 0.0
    return report


def report_json(report: Report) -> dict[str, Any]:
    """The report as a plain dict."""
    return dict(report.__dict__)
