"""The 11 SQuAD 2.0 development articles indexed together, and XQuAD's translations of their
questions, as docs/eval.md reports them.

    QABOT_SHARED=/work/shared python bench/squad11.py [--model index/model.json] [--work DIR]
        [--xquad de,es,ru,zh] [--baselines]

Real e5, spaCy, FAISS and reader. One index of the 11 articles (built once in --work). For each
model: key phrase in the answer, false declines (answerable declined) and the unanswerable ones
declined, for all 11 articles, the 9 that bench/fit.py never fits on, the 5 the reader never
trained on (train/reader.toml trains on the other 6) and the 3 that are neither; then each
XQuAD language next to the same questions asked in English, for the reader's 5 held-out
articles. --baselines adds, on those 5, e5's, BM25's and the reader's own top sentence among the
e5 + BM25 candidates (never declining) and how well the reader's best score tells the
unanswerable questions apart (AUC).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tomllib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from bot.evaluate import Case, load_cases  # noqa: E402
from bot.service import QAService  # noqa: E402
from index.answer import Answerer  # noqa: E402
from index.embedder import E5Embedder  # noqa: E402
from index.model import load_model  # noqa: E402
from index.query import tokenize  # noqa: E402
from index.reader import shared_reader  # noqa: E402
from index.sources import read_file  # noqa: E402

SHARED = Path(os.environ.get("QABOT_SHARED", ROOT.parent / "shared")) / "benchmarks"
FITTED = {"Normans", "Computational_complexity_theory"}  # bench/fit.py's SQuAD articles
# the reader trains on these development articles (train/reader.toml); its figures are on the others
READER_READ = frozenset(tomllib.loads((ROOT / "train" / "reader.toml").read_text(encoding="utf-8"))["data"]
                        .get("squad_dev_articles", []))


def norm(text: str) -> str:
    return " ".join(text.replace("’", "'").lower().split())


def scores(outcomes: list[tuple[Case, bool, str]]) -> str:
    answerable = [(c, f, a) for c, f, a in outcomes if not c.out_of_scope]
    unanswerable = [(c, f, a) for c, f, a in outcomes if c.out_of_scope]
    key = sum(f and any(norm(k) in norm(a) for k in c.key) for c, f, a in answerable) / max(1, len(answerable))
    false = sum(not f for _, f, _ in answerable) / max(1, len(answerable))
    declined = sum(not f for _, f, _ in unanswerable) / max(1, len(unanswerable))
    return (f"{len(answerable):5d} {len(unanswerable):5d}  key {key:6.1%}  false declines {false:5.1%}  "
            f"unanswerable declined {declined:5.1%}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, action="append", help="answer model file(s); default the shipped one")
    parser.add_argument("--work", type=Path, default=Path("/tmp/qabot-squad11"))
    parser.add_argument("--xquad", default="de,es,ru,zh")
    parser.add_argument("--baselines", action="store_true")
    parser.add_argument("--only-baselines", action="store_true", help="the baselines alone (no answer model run)")
    parser.add_argument("--every", type=int, default=1, help="ask every n-th question of each article (a sample)")
    args = parser.parse_args()
    started = time.time()
    squad = SHARED / "squad2"
    articles = sorted(p.stem for p in squad.glob("*.txt"))
    service = QAService(Settings(), args.work, embedder=E5Embedder())
    try:
        service.loaded()
    except Exception:  # noqa: BLE001 - no index yet: build it
        service.catalog.build([read_file(squad / f"{a}.txt") for a in articles])
    retriever = service.answerer().retriever
    cases = {a: load_cases(squad / f"{a}.jsonl")[:: args.every] for a in articles}
    english = {e: c for cs in cases.values() for c in cs if not c.out_of_scope for e in c.evidence}
    print(f"{sum(map(len, cases.values()))} questions over {len(articles)} articles, index ready "
          f"in {time.time() - started:.0f} s")
    for path in [] if args.only_baselines else args.model or [None]:
        model = load_model(path) if path else retriever.model
        answerer = Answerer(retriever, service.settings.answer, model)
        label = f"{path or 'shipped model'} (reads {model.reader_candidates})"
        runs: dict[str, list[tuple[Case, bool, str]]] = {}
        t = time.time()
        for article, cs in cases.items():
            runs[article] = []
            for c in cs:
                a = answerer.ask(c.question)
                runs[article].append((c, a.found, a.answer))
        every = [r for rs in runs.values() for r in rs]
        print(f"\n{label}: {len(every)} questions in {time.time() - t:.0f} s")
        print(f"  {'all 11 articles':32} {scores(every)}")
        print(f"  {'the 9 never fitted on':32} {scores([r for a, rs in runs.items() if a not in FITTED for r in rs])}")
        unread = [a for a in runs if a not in READER_READ]
        neither = [a for a in unread if a not in FITTED]
        print(f"  {f'the {len(unread)} the reader never read':32} {scores([r for a in unread for r in runs[a]])}")
        print(f"  {f'the {len(neither)} neither fitted nor read':32} {scores([r for a in neither for r in runs[a]])}")
        for article, rs in runs.items():
            print(f"    {article:30} {scores(rs)}")
        by_evidence = {c.evidence[0]: (f, ans) for c, f, ans in every if not c.out_of_scope}
        held = {e: c for a, cs in cases.items() if a not in READER_READ
                for c in cs if not c.out_of_scope for e in c.evidence}
        for lang in [x for x in args.xquad.split(",") if x]:
            xs = load_cases(SHARED / "xquad" / f"{lang}.jsonl")
            # only questions about the articles the reader never read: their English twins are held out
            matched = [x for x in xs if any(e in held for e in x.evidence)]
            out = [(x, *answerer_outcome(answerer, x)) for x in matched]
            same = []
            for x in matched:
                c = next(english[e] for e in x.evidence if e in english)
                f, ans = by_evidence.get(c.evidence[0], (False, ""))
                same.append((c, f, ans))
            print(f"  XQuAD {lang}: {scores(out)}   | same questions in English: {scores(same)}")
    if args.baselines or args.only_baselines:
        baselines(retriever, cases)
    print(f"done in {time.time() - started:.0f} s")
    return 0


def answerer_outcome(answerer: Answerer, case: Case) -> tuple[bool, str]:
    a = answerer.ask(case.question)
    return a.found, a.answer


def baselines(retriever, cases: dict[str, list[Case]]) -> None:  # type: ignore[no-untyped-def]
    """e5 top sentence, BM25 top sentence, and the reader's top among e5's and BM25's top 20."""
    sentences = retriever.state.sentences
    texts = [s.text for s in sentences]
    vectors = retriever.state.vectors
    reader = shared_reader()
    hit: dict[str, list[int]] = {"e5 top sentence": [], "BM25 top sentence": [], "reader, top of e5+BM25 20": []}
    best: dict[bool, list[float]] = {True: [], False: []}  # the reader's best log-odds: answerable or not
    for article, cs in cases.items():
        if article in READER_READ:
            continue
        for c in cs:
            qv = retriever.embed_query(c.question)
            dense = vectors @ qv
            lexical = retriever.state.derived.bm25.get_scores(tokenize(c.question) or ["_"])
            pool = list(dict.fromkeys([*np.argsort(-dense)[:20].tolist(), *np.argsort(-lexical)[:20].tolist()]))
            logits = reader.logits(c.question, [(retriever.state.previous_text(r), texts[r]) for r in pool])
            best[not c.out_of_scope].append(float(np.max(logits)))
            if c.out_of_scope:
                continue
            tops = (("e5 top sentence", int(np.argmax(dense))), ("BM25 top sentence", int(np.argmax(lexical))),
                    ("reader, top of e5+BM25 20", pool[int(np.argmax(logits))]))
            for name, row in tops:
                hit[name].append(int(any(norm(k) in norm(texts[row]) for k in c.key)))
    print(f"  baselines on the {sum(a not in READER_READ for a in cases)} articles the reader never read:")
    for name, h in hit.items():
        print(f"  {name:32} key in the sentence {np.mean(h):6.1%} ({len(h)} answerable questions, never declining)")
    pos, neg = np.array(best[True]), np.array(best[False])
    auc = float(((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum())
                / max(1, pos.size * neg.size))
    print(f"  reader's best log-odds, answerable vs unanswerable: AUC {auc:.3f} ({pos.size} vs {neg.size})")


if __name__ == "__main__":
    raise SystemExit(main())
