"""The reader's cost per question for N candidates (index/reader.py, int8 ONNX), to choose N.

    python bench/reader.py [--repeat 30]

Real sentences of the bundled article and the dev questions; each question's pairs are the
first N sentences (with the one before each as context), as the answer core reads them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.reading import bundled_source  # noqa: E402
from index.chunking import split_sentences  # noqa: E402
from index.reader import Reader  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    text = bundled_source().text
    sentences = [text[s:e] for s, e in split_sentences(text, 0, len(text)) if e - s > 40]
    questions = [json.loads(line)["question"] for line in (ROOT / "eval" / "dev.jsonl").read_text().splitlines()
                 if line][: args.repeat]
    print("| threads | candidates | p50 | p95 |")
    print("|---|---|---|---|")
    for threads in (1, 2):
        reader = Reader(threads=threads)
        reader.warm()
        for n in (1, 2, 4, 6, 8, 12):
            times = []
            for i, q in enumerate(questions):
                start = (i * 7) % max(1, len(sentences) - n)
                pairs = [(sentences[j - 1] if j else "", sentences[j]) for j in range(start, start + n)]
                t = time.perf_counter()
                reader.score(q, pairs)
                times.append((time.perf_counter() - t) * 1000)
            times.sort()
            p95 = times[int(0.95 * (len(times) - 1))]
            print(f"| {threads} | {n} | {statistics.median(times):.1f} ms | {p95:.1f} ms |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
