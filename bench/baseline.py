"""The typical RAG-tutorial baseline, scored on the same dev set as qabot.

500-character chunks (paragraphs packed up to 500 characters, long ones cut), all-MiniLM-L6-v2,
exact inner-product search (what a flat FAISS index computes), the top chunk shown as the answer,
never abstaining. Usage: python bench/baseline.py eval/dev.jsonl [extra source files...]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.evaluate import Outcome, evaluate, load_cases  # noqa: E402
from bot.reading import bundled_source  # noqa: E402
from index.embedder import SentenceTransformerEmbedder  # noqa: E402
from index.sources import read_file  # noqa: E402

CHUNK_CHARS = 500


def chunk_500(text: str) -> list[str]:
    chunks: list[str] = []
    current = ""
    for para in (p.strip() for p in text.split("\n\n")):
        if not para:
            continue
        while len(para) > CHUNK_CHARS:
            chunks.append(para[:CHUNK_CHARS])
            para = para[CHUNK_CHARS:]
        if len(current) + len(para) + 2 > CHUNK_CHARS and current:
            chunks.append(current)
            current = ""
        current = f"{current}\n\n{para}" if current else para
    if current:
        chunks.append(current)
    return chunks


def main(argv: list[str]) -> int:
    cases = load_cases(Path(argv[0]))
    sources = [bundled_source()] + [read_file(Path(p)) for p in argv[1:]]
    chunks = [c for s in sources for c in chunk_500(s.text)]
    embedder = SentenceTransformerEmbedder()
    matrix = embedder.embed(chunks)

    def run(question: str) -> Outcome:
        scores = matrix @ embedder.embed([question])[0]
        order = np.argsort(-scores)[:3]
        return Outcome(True, chunks[order[0]], [chunks[i] for i in order])

    report = evaluate("naive baseline (500-char chunks, top chunk)", cases, run)
    print("\n".join(report.lines()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
