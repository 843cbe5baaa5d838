"""Index size against load time, memory and question latency, with generated news-length articles.

Builds N generated articles (30 paragraphs of 3 sentences, ~90 sentences each, distinct text),
then reports build time (which includes deriving retrieval's state), size on disk, two loads in
new services, peak RSS, warm question p50/p95, and for an HNSW index its recall@10 against exact
search over the questions.

By default the embedder is a deterministic stand-in of the real dimension (384) and speaker
attribution is skipped, so a run of thousands of articles takes minutes, not hours: e5 embeds
about 35 sentences a second on this machine (add ``--real`` for the real model and spaCy, for
small N). Question latency then excludes the ~9 ms e5 query embedding.
With ``--dir DIR`` the index is kept there and a later run with the same DIR skips the build.
Usage: python bench/scale.py --articles 1000 [--real] [--questions 50] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.service import QAService  # noqa: E402
from index.sources import source_from_bytes  # noqa: E402
from index.store import LoadedIndex, current_generation  # noqa: E402
from tests.conftest import FakeEmbedder  # noqa: E402

WORDS = ("harbour council mayor storm crane ferry budget school minister election court judge river bridge "
         "police report union strike talks market price energy hospital railway farmers drought festival "
         "museum airport tariff wages housing rents flood vaccine teachers nurses factory exports").split()
NAMES = ["Anna Berg", "Tomas Lind", "Sofia Holm", "Erik Dahl", "Maja Sand", "Olof Ek", "Lena Vik", "Karl Ros"]


class StandIn(FakeEmbedder):
    dimension = 384


def article(rng: random.Random, i: int) -> str:
    paragraphs = []
    for _ in range(30):
        sentences = []
        for _ in range(3):
            body = " ".join(rng.choice(WORDS) for _ in range(16))
            sentences.append(f"{rng.choice(NAMES)} said the {body} would change by {rng.randint(1, 99)} percent "
                             f"in week {rng.randint(1, 52)} of story {i}.")
        paragraphs.append(" ".join(sentences))
    return f"Story {i}: {rng.choice(WORDS)} {rng.choice(WORDS)}\n\n" + "\n\n".join(paragraphs) + "\n"


def _size(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def _recall(index: LoadedIndex, queries: np.ndarray) -> float:
    """Share of exact search's top 10 that the index's search returns."""
    vectors = index.vectors()
    found = 0
    for q in queries:
        exact = set(np.argpartition(-(vectors @ q), 10)[:10].tolist())
        found += len(exact & {row for row, _ in index.search(q, 10)})
    return found / (10 * len(queries))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--real", action="store_true", help="the real e5 model and spaCy attribution")
    parser.add_argument("--dir", type=Path, help="keep the index here; reuse it if it is already built")
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        root = (args.dir or Path(tmp)) / "index"
        options: dict[str, object] = {} if args.real else {"embedder": StandIn(), "annotator": lambda t, c: c}
        service = QAService(Settings(), root, **options)  # type: ignore[arg-type]
        build = None
        if current_generation(root) is None:
            sources = [source_from_bytes(article(rng, i).encode(), f"story-{i}.txt", kind="file",
                                         location=f"/archive/story-{i}.txt") for i in range(args.articles)]
            started = time.perf_counter()
            service.catalog.build(sources)
            build = time.perf_counter() - started
        generation = current_generation(root)
        assert generation is not None
        sentences = int(json.loads((generation / "manifest.json").read_text())["counts"]["sentences"])
        disk = _size(root)
        loads = []
        for _ in range(2):
            fresh = QAService(Settings(), root, **options)  # type: ignore[arg-type]
            started = time.perf_counter()
            fresh.answerer()
            loads.append(time.perf_counter() - started)
        questions = [f"What did {rng.choice(NAMES)} say about the {rng.choice(WORDS)} in story "
                     f"{rng.randrange(args.articles)}?" for _ in range(args.questions)]
        fresh.ask("warm up")
        timings = []
        for q in questions:
            started = time.perf_counter()
            fresh.ask(q)
            timings.append((time.perf_counter() - started) * 1000)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        index = fresh.loaded()
        search = str(index.manifest.get("search", "exact"))
        recall = _recall(index, StandIn().embed_query(questions)) if search == "hnsw" else None
    timings.sort()
    kind = "e5 + spaCy" if args.real else "stand-in embedder, no attribution"
    print(f"| {args.articles} articles ({sentences} sentences; {kind}) | result |")
    print("|---|---|")
    if build is not None:
        print(f"| full build (incl. deriving retrieval's state) | {build:.1f} s ({sentences / build:.0f} sent/s) |")
    print(f"| index on disk (incl. embedding cache) | {disk:.0f} MB |")
    print(f"| load in a new service (retrieval's state read back) | {loads[0]:.2f} s |")
    print(f"| load again | {loads[1]:.2f} s |")
    print(f"| warm question p50 / p95 over {len(timings)} | {statistics.median(timings):.1f} / "
          f"{timings[int(0.95 * (len(timings) - 1))]:.1f} ms |")
    print(f"| peak RSS | {rss:.0f} MB |")
    print(f"| vector search | {search} |")
    if recall is not None:
        print(f"| recall@10 of that search against exact, over the {len(timings)} questions | {recall:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
