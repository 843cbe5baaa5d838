"""Every decline states only what is true: each eval set's questions asked over its sources (real
model), and the claim of each ``unknown_name`` ("I couldn't find X") and ``not_quoted`` ("The sources
mention X") decline checked against the source text by ``bot.claims``.

Corpora as in bench/fit.py (``--work`` may point at its indexes, they are the same): our news
articles indexed together for eval/*.jsonl (not the sets of fit.UNSEEN, whose first run is not yet
made), and each SQuAD 2.0 article of ../shared (QABOT_SQUAD) indexed with the bundled one for its
questions. Exit status 1 if any claim is false.

    python bench/declines.py                                  # every question (about 4,300)
    python bench/declines.py --sample 20                      # the first 20 of each set
    python bench/declines.py --squad Normans --work /tmp/qabot-fit   # one SQuAD article, fit.py's indexes
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fit import PROJECT_ARTICLES, SQUAD, UNSEEN  # noqa: E402

from bot.claims import Texts, false_claim  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.evaluate import Case, load_cases  # noqa: E402
from bot.reading import bundled_source  # noqa: E402
from bot.service import QAService  # noqa: E402
from index.sources import read_file  # noqa: E402


def sets(sample: int | None, squad: list[str]) -> dict[str, tuple[str, list[Case]]]:
    """Set name -> (corpus name, its questions)."""
    found: dict[str, tuple[str, list[Case]]] = {}
    for path in sorted((ROOT / "eval").glob("*.jsonl")):
        if path.stem not in UNSEEN:
            found[path.stem] = ("project", load_cases(path)[:sample])
    for name in squad:
        found[f"squad2/{name}"] = (name, load_cases(SQUAD / f"{name}.jsonl")[:sample])
    return found


def corpora(squad: list[str]) -> dict[str, list]:
    found = {"project": [bundled_source(), *(read_file(p) for p in PROJECT_ARTICLES)]}
    return found | {name: [read_file(SQUAD / f"{name}.txt"), bundled_source()] for name in squad}


def check(services: dict[str, QAService], texts: dict[str, Texts], chosen: dict[str, tuple[str, list[Case]]],
          ) -> tuple[list[tuple[str, Counter]], list[str]]:
    """Per set: how many questions and declines of each kind, and every false claim."""
    rows, wrong = [], []
    for name, (corpus, cases) in chosen.items():
        counts: Counter = Counter()
        for case in cases:
            answer = services[corpus].ask(case.question)
            counts["questions"] += 1
            counts[answer.declined_by or "answered"] += 1
            problem = false_claim(answer.answer, answer.declined_by, texts[corpus])
            if problem:
                counts["false"] += 1
                wrong.append(f"{name}: {case.question!r} -> {answer.answer!r}: {problem}")
                print(wrong[-1], file=sys.stderr, flush=True)
        rows.append((name, counts))
        print(f"{name}: {dict(counts)}", file=sys.stderr, flush=True)
    return rows, wrong


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=int, default=None, help="only the first N questions of each set")
    parser.add_argument("--work", type=Path, default=Path("/tmp/qabot-declines"), help="where the indexes are built")
    parser.add_argument("--squad", nargs="*", default=sorted(p.stem for p in SQUAD.glob("*.txt")),
                        help="which SQuAD articles (default: all in QABOT_SQUAD)")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    from index.embedder import E5Embedder

    embedder = E5Embedder()
    sources = corpora(args.squad)
    services, texts = {}, {}
    for name, docs in sources.items():
        service = QAService(Settings(), args.work / name, embedder=embedder)
        try:
            ready = len(service.loaded().sources) == len(docs)
        except Exception:  # noqa: BLE001 - no index yet, or from another version: build it
            ready = False
        if not ready:
            service.catalog.build(docs)
        services[name] = service
        texts[name] = Texts.of(s.source.text for s in service.loaded().sources.values())
    started = time.perf_counter()
    rows, wrong = check(services, texts, sets(args.sample, args.squad))
    print("| set | questions | unknown_name | not_quoted | off_topic | false claims |")
    print("|---|---|---|---|---|---|")
    total: Counter = Counter()
    for name, c in [*rows, ("all", total)]:
        if name != "all":
            total.update(c)
        print(f"| {name} | " + " | ".join(str(c[k]) for k in ("questions", "unknown_name", "not_quoted", "off_topic",
                                                                "false")) + " |")
    print(f"\n{total['questions']} questions in {time.perf_counter() - started:.0f} s")
    for line in wrong:
        print(line)
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
