"""Plain baselines on the same questions and corpora as bench/fit.py, side by side.

    python bench/baselines.py

- tutorial RAG: 500-character chunks, all-MiniLM-L6-v2, the top chunk is the answer
- MiniLM top sentence, BM25 top sentence, e5 (multilingual-e5-small) top sentence
- the reader alone (index/reader.py): its best among e5's top 10 and BM25's top 10 sentences
None of them ever declines. Metric: the key phrase is in the answer (as `qabot eval` counts it).
"""

from __future__ import annotations

import logging
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from baseline import chunk_500  # noqa: E402
from fit import load_items, norm  # noqa: E402

from index.chunking import chunk_source  # noqa: E402
from index.embedder import E5Embedder, SentenceTransformerEmbedder  # noqa: E402
from index.query import tokenize  # noqa: E402
from index.reader import shared_reader  # noqa: E402
from index.types import ANSWER_ROLES  # noqa: E402


def sentences(sources: list) -> list[str]:
    return [s.text for src in sources for c in chunk_source(src.id, src.text) if c.role in ANSWER_ROLES
            for s in c.sentences]


def main() -> int:
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    items, corpora = load_items()
    minilm, e5 = SentenceTransformerEmbedder(), E5Embedder()
    systems = ["tutorial RAG (500-char chunk)", "MiniLM top sentence", "BM25 top sentence", "e5 top sentence",
               "reader (e5+BM25 top 10)"]
    reader = shared_reader()
    hits: dict[str, dict[str, list[int]]] = {s: defaultdict(list) for s in systems}
    for corpus, sources in corpora.items():
        chunks = [c for src in sources for c in chunk_500(src.text)]
        sents = sentences(sources)
        chunk_vectors, sent_minilm, sent_e5 = minilm.embed(chunks), minilm.embed(sents), e5.embed(sents)
        bm25 = bm25s.BM25()
        bm25.index([tokenize(s) or ["_"] for s in sents], show_progress=False)
        mine = [i for i in items if i.corpus == corpus and not i.case.out_of_scope]
        questions = [i.case.question for i in mine]
        q_minilm, q_e5 = minilm.embed_query(questions), e5.embed_query(questions)
        for n, item in enumerate(mine):
            lexical = bm25.get_scores(tokenize(item.case.question) or ["_"])
            dense = sent_e5 @ q_e5[n]
            pool = list(dict.fromkeys([*np.argsort(-dense)[:10].tolist(), *np.argsort(-lexical)[:10].tolist()]))
            logits = reader.logits(item.case.question, [(sents[i - 1] if i else "", sents[i]) for i in pool])
            answers = {
                systems[0]: chunks[int(np.argmax(chunk_vectors @ q_minilm[n]))],
                systems[1]: sents[int(np.argmax(sent_minilm @ q_minilm[n]))],
                systems[2]: sents[int(np.argmax(lexical))],
                systems[3]: sents[int(np.argmax(dense))],
                systems[4]: sents[pool[int(np.argmax(logits))]],
            }
            groups = [item.fold] if corpus != "project" else ["project articles", f"  {item.fold}"]
            for system, text in answers.items():
                hit = int(any(norm(k) in norm(text) for k in item.case.key))
                for group in [*groups, "all"]:
                    hits[system][group].append(hit)
    print(f"{'set':34} " + " ".join(f"{s[:16]:>16}" for s in systems))
    for group in sorted(hits[systems[0]], key=lambda g: (g == "all", g.startswith(" "), g)):
        print(f"{group:34} " + " ".join(f"{np.mean(hits[s][group]):16.1%}" for s in systems))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
