"""Choose bot.gaps.THRESHOLD: cluster labelled paraphrase groups at each threshold, score the pairs.

Data: bench/paraphrases.json (groups of questions that mean one thing, with close neighbours:
the same verb about another person, the same person on another topic). The questions are shuffled
(arrival order matters to a one-pass clustering) with --shuffles seeds; for each threshold it
reports pairwise precision (pairs put together that belong together), recall (pairs that belong
together and were put together), F1, the number of groups made (the truth is the number of
labelled groups), and marks the best F1 and the shipped value.
Usage: python bench/gap_threshold.py [--shuffles 5]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from bot.gaps import THRESHOLD, cluster, names_of  # noqa: E402
from index.embedder import E5Embedder  # noqa: E402


def pair_scores(labels: list[int], groups: list[list[int]]) -> tuple[float, float]:
    predicted = [0] * len(labels)
    for g, members in enumerate(groups):
        for i in members:
            predicted[i] = g
    tp = fp = fn = 0
    for i in range(len(labels)):
        for j in range(i + 1, len(labels)):
            same, together = labels[i] == labels[j], predicted[i] == predicted[j]
            tp += same and together
            fp += together and not same
            fn += same and not together
    return tp / max(1, tp + fp), tp / max(1, tp + fn)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shuffles", type=int, default=5)
    args = parser.parse_args()
    data = json.loads((ROOT / "bench" / "paraphrases.json").read_text(encoding="utf-8"))
    questions = [q for group in data["groups"] for q in group]
    labels = [g for g, group in enumerate(data["groups"]) for _ in group]
    vectors = E5Embedder().embed_query(questions)
    print(f"{len(questions)} questions in {len(data['groups'])} labelled groups, {args.shuffles} orders")
    names = [names_of(q) for q in questions]
    for label, use_names in (("meaning alone", False), ("meaning and the same names (shipped)", True)):
        print(f"\n{label}\nthreshold  precision  recall   F1     groups")
        results = []
        for threshold in np.arange(0.80, 0.975, 0.01):
            p = r = n = 0.0
            for seed in range(args.shuffles):
                order = [int(i) for i in np.random.default_rng(seed).permutation(len(questions))]
                kept = [names[i] for i in order] if use_names else None
                groups = [[order[i] for i in g] for g in cluster(vectors[order], float(threshold), kept)]
                pi, ri = pair_scores(labels, groups)
                p, r, n = p + pi, r + ri, n + len(groups)
            p, r, n = p / args.shuffles, r / args.shuffles, n / args.shuffles
            f1 = 2 * p * r / max(1e-9, p + r)
            results.append((float(threshold), p, r, f1, n))
        best = max(results, key=lambda x: x[3])
        for t, p, r, f1, n in results:
            shipped = use_names and abs(t - THRESHOLD) < 1e-6
            mark = (" <- best F1" if t == best[0] else "") + (" <- shipped" if shipped else "")
            print(f"  {t:.2f}      {p:.3f}     {r:.3f}   {f1:.3f}   {n:5.1f}{mark}")


if __name__ == "__main__":
    main()
