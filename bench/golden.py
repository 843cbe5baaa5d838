"""Golden answers: record what `qabot ask --json --explain` prints for every evaluation question,
and compare two recordings line by line. A behaviour-preserving change must compare equal.

    python bench/golden.py record DIR [--squad N] [--work DIR]   # one DIR/<set>.jsonl per question set
    python bench/golden.py compare A B [--common]               # exit 1 if any line differs

Questions: every eval/*.jsonl, asked over the project articles as bench/fit.py indexes them (the
bundled article, tests/data/harbour.txt, tests/data/quake.md and eval/data/*), and every SQuAD 2.0
file in ../shared/benchmarks/squad2 (QABOT_SHARED / QABOT_SQUAD as bench/fit.py), each asked over
its own article with the bundled one. ``--squad N`` keeps the first N questions of each SQuAD file
(0: none, default: all): all 4,299 take far longer than the project's 414 on a loaded machine, so
a quick check records the first N and compares with ``--common`` (only the lines both recordings
have) against a full one. ``--sets`` keeps only the sets it names (building the index of every
SQuAD article takes long on a loaded machine too).

Each line is the JSON `qabot ask --json --explain` prints for the question (the same
QAService.ask and Answer.to_json, in process), except that the values of ``timings_ms`` are
dropped (its keys are kept): they are wall-clock times and differ on every run.

Indexes are built afresh in a temporary directory on each recording (so a change to the indexer
shows), with the embeddings cached in ``--cache`` (default /tmp/qabot-golden-cache.sqlite) so
that a rerun does not embed again; ``--work DIR`` keeps the indexes there and reuses them (for
changes that leave the indexer alone: parsing 11 SQuAD articles again is most of a recording).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from bot.evaluate import load_cases  # noqa: E402
from bot.reading import bundled_source  # noqa: E402
from bot.service import QAService  # noqa: E402
from index.sources import read_file  # noqa: E402

SQUAD = Path(os.environ.get("QABOT_SQUAD", Path(os.environ.get("QABOT_SHARED", ROOT.parent / "shared"))
                            / "benchmarks" / "squad2"))
PROJECT_ARTICLES = [ROOT / "tests/data/harbour.txt", ROOT / "tests/data/quake.md",
                    *sorted((ROOT / "eval/data").iterdir())]


def question_sets(squad: int | None, only: str | None = None) -> list[tuple[str, str, list[str]]]:
    """(set name, corpus name, questions) for every set (or those ``only`` matches), in a fixed order."""
    sets = [(p.stem, "project", [c.question for c in load_cases(p)]) for p in sorted((ROOT / "eval").glob("*.jsonl"))]
    if squad != 0 and SQUAD.is_dir():
        for path in sorted(SQUAD.glob("*.jsonl")):
            questions = [c.question for c in load_cases(path)]
            sets.append((f"squad-{path.stem}", path.stem, questions[:squad] if squad else questions))
    if only:
        sets = [s for s in sets if any(fnmatch.fnmatch(s[0], pattern) for pattern in only.split(","))]
    return sets


def corpus(name: str) -> list:
    if name == "project":
        return [bundled_source(), *(read_file(p) for p in PROJECT_ARTICLES)]
    return [read_file(SQUAD / f"{name}.txt"), bundled_source()]


def golden_line(service: QAService, question: str) -> str:
    """What `qabot ask --json --explain QUESTION` prints, timings' values dropped."""
    data = service.ask(question, None, explain=True).to_json()
    data["timings_ms"] = sorted(data["timings_ms"])
    return json.dumps(data, ensure_ascii=False)


def record(out: Path, squad: int | None, cache: Path, work: Path | None, only: str | None = None) -> int:
    from index.embedder import E5Embedder

    started = time.time()
    out.mkdir(parents=True, exist_ok=True)
    embedder = E5Embedder()
    services: dict[str, QAService] = {}
    total = 0
    with tempfile.TemporaryDirectory(prefix="qabot-golden-") as tmp:
        for set_name, corpus_name, questions in question_sets(squad, only):
            service = services.get(corpus_name)
            if service is None:
                service = QAService(Settings(), (work or Path(tmp)) / corpus_name, embedder=embedder,
                                    cache_path=cache)
                try:
                    if work is None:
                        raise FileNotFoundError
                    service.loaded()
                except Exception:  # noqa: BLE001 - not built yet (or unreadable): build it
                    service.catalog.build(corpus(corpus_name))
                services[corpus_name] = service
            lines = [golden_line(service, q) for q in questions]
            (out / f"{set_name}.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
            total += len(lines)
            print(f"{set_name}: {len(lines)} questions ({time.time() - started:.0f} s)", flush=True)
    print(f"recorded {total} questions in {time.time() - started:.0f} s into {out}")
    return 0


def compare(a: Path, b: Path, common: bool = False, show: int = 5) -> int:
    names = sorted({p.name for p in a.glob("*.jsonl")} | {p.name for p in b.glob("*.jsonl")})
    differing = compared = 0
    for name in names:
        left, right = a / name, b / name
        if not left.is_file() or not right.is_file():
            print(f"{name}: only in {a if left.is_file() else b}")
            differing += 1
            continue
        la, lb = left.read_text(encoding="utf-8").splitlines(), right.read_text(encoding="utf-8").splitlines()
        if len(la) != len(lb):
            print(f"{name}: {len(la)} lines against {len(lb)}" + (" (comparing the first lines of both)" * common))
        diffs = [i for i, (x, y) in enumerate(zip(la, lb, strict=False)) if x != y]
        compared += min(len(la), len(lb))
        differing += len(diffs) + (0 if common else abs(len(la) - len(lb)))
        for i in diffs[:show]:
            print(f"{name}:{i + 1}: {json.loads(la[i])['question']}\n  - {la[i][:400]}\n  + {lb[i][:400]}")
        if len(diffs) > show:
            print(f"{name}: ... and {len(diffs) - show} more")
    print(f"{differing} differing lines ({compared} lines compared in {len(names)} files)")
    return 1 if differing else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="write DIR/<set>.jsonl")
    rec.add_argument("dir", type=Path)
    rec.add_argument("--squad", type=int, default=None, help="first N questions of each SQuAD file (0: none)")
    rec.add_argument("--cache", type=Path, default=Path("/tmp/qabot-golden-cache.sqlite"),
                     help="embedding cache kept between recordings")
    rec.add_argument("--work", type=Path, default=None, help="keep the indexes here and reuse them")
    rec.add_argument("--sets", default=None,
                     help="only these sets (comma-separated patterns: 'blind*,squad-Normans')")
    cmp = sub.add_parser("compare", help="report differing lines; exit 1 if any")
    cmp.add_argument("a", type=Path)
    cmp.add_argument("b", type=Path)
    cmp.add_argument("--common", action="store_true", help="compare only the lines both have (a --squad N run)")
    args = parser.parse_args()
    if args.command == "record":
        return record(args.dir, args.squad, args.cache, args.work, args.sets)
    return compare(args.a, args.b, args.common)


if __name__ == "__main__":
    raise SystemExit(main())
