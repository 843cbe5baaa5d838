"""Training pairs for the reader, mined from the committed data with the project's retrievers.

SQuAD 2.0 train: each article's sentences (index.chunking.split_sentences per paragraph);
a question's positive is the sentence holding its answer's start; its negatives are the
sentences BM25 (index.bm25 over index.query.tokenize) and e5 (index.embedder) rank highest
that hold no form of the answer. An unanswerable question has no positive: its negatives are
the sentence with its plausible answer, then the top ones. ReQA: the question's sentence is
the positive, BM25's top other sentence of the whole pool the negative (no context there).
Rows: (question, previous sentence, sentence, label, group).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from index.bm25 import BM25
from index.chunking import split_sentences
from index.query import tokenize

Row = tuple[str, str, str, int, str]


def _article_sentences(article: dict[str, Any]) -> list[tuple[int, int, int, str]]:
    out = []
    for p, paragraph in enumerate(article["paragraphs"]):
        text = paragraph["context"]
        for s, e in split_sentences(text, 0, len(text)):
            out.append((p, s, e, text[s:e]))
    return out


def _interleave(*rankings: np.ndarray) -> list[int]:
    seen: set[int] = set()
    out: list[int] = []
    for tier in zip(*rankings, strict=False):
        for i in tier:
            if int(i) not in seen:
                seen.add(int(i))
                out.append(int(i))
    return out


def squad_rows(path: Path, negatives: int, unanswerable_negatives: int, e5: bool, log: Any = print,
               articles: list[str] | None = None) -> list[Row]:
    """articles: only these titles of the file (all of them when None)."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    if articles is not None:
        missing = set(articles) - {a["title"] for a in data}
        if missing:
            raise SystemExit(f"{path}: no article titled {', '.join(sorted(missing))}")
        data = [a for a in data if a["title"] in articles]
    embedder = None
    if e5:
        from index.embedder import E5Embedder

        embedder = E5Embedder()
    rows: list[Row] = []
    for article in data:
        sentences = _article_sentences(article)
        texts = [t for *_, t in sentences]
        previous = [""] + texts[:-1]
        bm25 = BM25([tokenize(t) for t in texts])
        questions = [(p, qa) for p, par in enumerate(article["paragraphs"]) for qa in par["qas"]]
        if embedder is not None:
            vectors = embedder.embed(texts)
            qvectors = embedder.embed_query([qa["question"] for _, qa in questions])
            cosines = qvectors @ vectors.T
        log(f"{article['title']}: {len(texts)} sentences, {len(questions)} questions")
        for k, (p, qa) in enumerate(questions):
            rankings = [np.argsort(-bm25.get_scores(tokenize(qa["question"])), kind="stable")[:30]]
            if embedder is not None:
                rankings.insert(0, np.argsort(-cosines[k], kind="stable")[:30])
            order = _interleave(*rankings)
            group = qa["id"]
            impossible = qa.get("is_impossible", False)
            spans = qa["plausible_answers"] if impossible else qa["answers"]
            answer_rows = {
                i for i, (sp, s, e, _) in enumerate(sentences)
                for a in spans if sp == p and s <= a["answer_start"] < e
            }
            answer_texts = [a["text"].lower() for a in spans if a["text"].strip()]
            if not impossible:
                for i in sorted(answer_rows)[:1]:
                    rows.append((qa["question"], previous[i], texts[i], 1, group))
                limit = negatives
                chosen: list[int] = []
            else:
                limit = unanswerable_negatives
                chosen = sorted(answer_rows)[:1]
            for i in order:
                if len(chosen) >= limit:
                    break
                holds = i in answer_rows or any(a in texts[i].lower() for a in answer_texts)
                if i in chosen or (not impossible and holds):
                    continue
                chosen.append(i)
            rows.extend((qa["question"], previous[i], texts[i], 0, group) for i in chosen)
    return rows


def reqa_rows(path: Path, questions: int, negatives: int) -> list[Row]:
    data = json.loads(path.read_text(encoding="utf-8"))
    pool = sorted(set(data["answers"]))
    index = {t: i for i, t in enumerate(pool)}
    bm25 = BM25([tokenize(t) for t in pool])
    rows: list[Row] = []
    for q, answer, qid in list(zip(data["questions"], data["answers"], data["question_ids"], strict=True))[:questions]:
        rows.append((q, "", answer, 1, f"reqa-{qid}"))
        own = index[answer]
        scores = bm25.get_scores(tokenize(q))
        picked = [int(i) for i in np.argsort(-scores, kind="stable")[: negatives + 1] if int(i) != own][:negatives]
        rows.extend((q, "", pool[i], 0, f"reqa-{qid}") for i in picked)
    return rows
