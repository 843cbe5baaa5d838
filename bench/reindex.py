"""Incremental reindex (one changed source among 100) next to a full rebuild, with the real model.

Usage: python bench/reindex.py [--sources 100]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bot.config import Settings  # noqa: E402
from bot.reading import read_paths  # noqa: E402
from bot.service import QAService  # noqa: E402
from index.embedder import E5Embedder  # noqa: E402

TOWNS = ["Alder", "Birch", "Cedar", "Dunmore", "Elmsworth", "Fairhaven", "Glenrock", "Hartwell", "Ivybridge", "Juniper"]


def write_sources(folder: Path, n: int) -> list[Path]:
    """n distinct articles made by varying the second dev article (names, numbers, towns)."""
    base = (ROOT / "tests" / "data" / "harbour.txt").read_text()
    paths = []
    for i in range(n):
        town = f"{TOWNS[i % len(TOWNS)]}-{i}"
        text = base.replace("Alder", town).replace("2,400", f"{1000 + 37 * i:,}")
        text = text.replace("9 percent", f"{3 + i % 9} percent")
        path = folder / f"article-{i:03d}.txt"
        path.write_text(text)
        paths.append(path)
    return paths


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sources", type=int, default=100)
    args = parser.parse_args()
    embedder = E5Embedder()
    embedder.warm()
    with tempfile.TemporaryDirectory() as tmp:
        files = write_sources(Path(tmp), args.sources)
        service = QAService(Settings(), Path(tmp) / "index", embedder=embedder)
        sources = read_paths(files)
        t = time.perf_counter()
        manifest = service.catalog.build(sources)
        full = time.perf_counter() - t
        files[args.sources // 2].write_text(files[args.sources // 2].read_text()
                                            + "\nThe harbour master said a new tugboat arrived on Friday.\n")
        t = time.perf_counter()
        report = service.catalog.reindex()
        incremental = time.perf_counter() - t
        t = time.perf_counter()
        service.catalog.reindex()
        nothing = time.perf_counter() - t
        questions = ["What did the mayor say?", "How many dockworkers are on strike?", "What did Raman warn about?",
                     "What is the capital of France?", "When do talks resume?", "Who is Priya Raman?",
                     "What did the union leader say about pay?", "Where are ships being rerouted?"] * 10
        service.ask("warm up")
        latencies = []
        for q in questions:
            t = time.perf_counter()
            service.ask(q)
            latencies.append((time.perf_counter() - t) * 1000)
        latencies.sort()
    counts = manifest["counts"]
    print("| measure | result |")
    print("|---|---|")
    print(f"| full build, {counts['sources']} sources, {counts['sentences']} sentences (no cache) | {full:.1f} s |")
    print(f"| reindex, 1 of {args.sources} changed ({report.manifest['embedded']} sentence embedded) "  # type: ignore[index]
          f"| {incremental:.1f} s |")
    print(f"| reindex, nothing changed | {nothing:.1f} s |")
    print(f"| warm question over {args.sources} sources, p50 / p95 of {len(latencies)} | "
          f"{latencies[len(latencies) // 2]:.1f} ms / {latencies[int(len(latencies) * 0.95)]:.1f} ms |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
