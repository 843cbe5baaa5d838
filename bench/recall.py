"""Recall@10 of the HNSW search (index.approximate_from) against exact search, on real e5 vectors.

Passages: every sentence of the project's articles (the bundled one, tests/data, eval/data, the
SQuAD articles), then prose sentences of the package descriptions installed here and of the
docstrings of Python's standard library and packages, up to --sentences. Queries: the questions
of every eval set. Vectors go through an embedding cache (--cache), so only the first run pays
for e5 (about 35 sentences a second).
For graph shapes (M, efConstruction) and search depths (efSearch) it reports recall@10 and
recall@50 (the share of exact search's top 10 / top 50 found: the retriever asks for 50) and the
search time; qabot's settings in index/store.py (HNSW_*) are marked.
Usage: python bench/recall.py [--sentences 20000] [--cache FILE] [--quick]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import faiss  # noqa: E402
import numpy as np  # noqa: E402

from index import store  # noqa: E402
from index.cache import EmbeddingCache  # noqa: E402
from index.chunking import chunk_source  # noqa: E402
from index.embedder import E5Embedder  # noqa: E402
from index.search.candidates import CANDIDATES  # noqa: E402

SQUAD = ROOT.parent / "shared" / "benchmarks" / "squad2"
_PROSE = re.compile(r"^[A-Z][A-Za-z0-9 ,;:'’()\-\"]+[.!?]$")


def _sentences(text: str) -> list[str]:
    return [s.text for chunk in chunk_source("x", text) for s in chunk.sentences]


def passages(limit: int) -> list[str]:
    """Real sentences: the articles first, then prose from installed documentation."""
    articles = [ROOT / "bot" / "data" / "article.txt", *sorted((ROOT / "tests" / "data").glob("*.*")),
                *sorted((ROOT / "eval" / "data").glob("*")), *sorted(SQUAD.glob("*.txt"))]
    seen: dict[str, None] = {}
    for path in articles:
        if path.suffix in (".txt", ".md"):
            seen.update(dict.fromkeys(_sentences(path.read_text(encoding="utf-8", errors="replace"))))
    for text in _documentation():
        for sentence in _sentences(text):
            if len(sentence.split()) >= 6 and _PROSE.match(sentence):
                seen[sentence] = None
        if len(seen) >= limit:
            break
    return list(seen)[:limit]


def _documentation() -> Iterator[str]:
    """Package descriptions, then the docstrings of the standard library and installed packages."""
    yield from (p.read_text(encoding="utf-8", errors="replace")
                for p in sorted(Path(sys.prefix).glob("lib/python*/site-packages/*.dist-info/METADATA")))
    for base in (Path(os.__file__).parent, *Path(sys.prefix).glob("lib/python*/site-packages")):
        for path in sorted(base.rglob("*.py")):
            try:
                tree = ast.parse(path.read_text(encoding="utf-8"))
            except (SyntaxError, UnicodeDecodeError, ValueError, OSError):
                continue
            nodes = [tree, *(n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef)))]
            docs = [ast.get_docstring(n) for n in nodes]
            yield "\n\n".join(" ".join(d.split()) for d in docs if d)


def questions() -> list[str]:
    files = [*sorted((ROOT / "eval").glob("*.jsonl")), *sorted(SQUAD.glob("*.jsonl"))]
    found = [json.loads(line)["question"] for f in files for line in f.read_text().splitlines() if line.strip()]
    return list(dict.fromkeys(found))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=20000)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/qabot-recall-cache.sqlite"))
    parser.add_argument("--quick", action="store_true", help="only qabot's graph shape (M, efConstruction)")
    args = parser.parse_args()
    texts = passages(args.sentences)
    asked = questions()
    embedder = E5Embedder()
    started = time.perf_counter()
    vectors, computed = EmbeddingCache(args.cache).embed(embedder, texts)
    print(f"{len(texts)} passages ({computed} embedded now, {time.perf_counter() - started:.0f} s), "
          f"{len(asked)} questions")
    queries = embedder.embed_query(asked)
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    _, truth = exact.search(queries, CANDIDATES)
    faiss.omp_set_num_threads(1)  # one question at a time, as the bot asks
    started = time.perf_counter()
    for q in queries[:100]:
        exact.search(q.reshape(1, -1), CANDIDATES)
    flat_ms = (time.perf_counter() - started) * 1000 / min(100, len(queries))
    print(f"exact search: {flat_ms:.2f} ms per question\n")
    print("| M | efConstruction | build | efSearch | recall@10 | recall@50 | ms per question |")
    print("|---|---|---|---|---|---|---|")
    shapes = [(16, 80), (32, 80), (32, 200), (48, 200)]
    if args.quick:
        shapes = [(store.HNSW_NEIGHBOURS, store.HNSW_BUILD_DEPTH)]
    for neighbours, build_depth in shapes:
        faiss.omp_set_num_threads(2)
        started = time.perf_counter()
        graph = faiss.IndexHNSWFlat(vectors.shape[1], neighbours, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efConstruction = build_depth
        graph.add(vectors)
        built = time.perf_counter() - started
        faiss.omp_set_num_threads(1)
        for depth in sorted({64, 128, 256, 512, 1024, store.HNSW_SEARCH_DEPTH}):
            graph.hnsw.efSearch = depth
            timings, at10, at50 = [], 0, 0
            for i, q in enumerate(queries):
                t = time.perf_counter()
                _, got = graph.search(q.reshape(1, -1), CANDIDATES)
                timings.append(time.perf_counter() - t)
                at10 += len(set(got[0][:10].tolist()) & set(truth[i][:10].tolist()))
                at50 += len(set(got[0].tolist()) & set(truth[i].tolist()))
            ours = (neighbours, build_depth, depth) == (store.HNSW_NEIGHBOURS, store.HNSW_BUILD_DEPTH,
                                                         store.HNSW_SEARCH_DEPTH)
            print(f"| {neighbours} | {build_depth} | {built:.1f} s | {depth}{' (qabot)' if ours else ''} | "
                  f"{at10 / (10 * len(queries)):.4f} | {at50 / (CANDIDATES * len(queries)):.4f} | "
                  f"{1000 * float(np.median(timings)):.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
