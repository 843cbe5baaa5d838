"""Fit the answer model (index/model.json) and measure it leave-one-article-out.

    python bench/fit.py                 # leave-one-article-out report, then in-sample, nothing written
    python bench/fit.py --write         # ... and write index/model.json fitted on every article
    python bench/fit.py --ablate bm25   # leave-one-article-out with that feature left out of the fit

Data: every project question set (eval/*.jsonl, over the bundled article, tests/data and
eval/data) and the SQuAD 2.0 subset in ../shared/benchmarks/squad2 (each article indexed with
the bundled article). Each question belongs to one article (its evidence's); out-of-scope ones
to the article set they were written for. Real model, real spaCy, real FAISS.

Three fits (numpy + scipy's L-BFGS): a listwise ranker over each question's candidate sentences
(softmax; the right ones hold the evidence), a listwise reranker over the ranker's top
--read candidates with the reader's log-odds added (index/reader.py: the reader was trained on
SQuAD train and ReQA only, so it never saw any of these articles), then a logistic regression for the probability
that the composed answer holds the key (out-of-scope questions: 0), our articles and SQuAD
weighing the same, each weight kept on the side of zero that its feature's spec gives it
(index/features/decision.py). The threshold is the highest probability that declines at most --target of the
answerable training questions.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from bot.evaluate import Case, load_cases  # noqa: E402
from bot.reading import bundled_source  # noqa: E402
from bot.service import QAService  # noqa: E402
from index.answer import Answerer  # noqa: E402
from index.answering.plan import route  # noqa: E402
from index.answering.rank import rank  # noqa: E402
from index.embedder import E5Embedder  # noqa: E402
from index.features import CROSSLINGUAL, DECISION, RANKING, SIGNS  # noqa: E402
from index.model import MODEL_FILE, AnswerModel, Linear  # noqa: E402
from index.question import analyse  # noqa: E402
from index.reader import Reader  # noqa: E402
from index.sources import read_file  # noqa: E402
from index.speakers import load_parser  # noqa: E402

# ../shared beside the clone, or wherever QABOT_SHARED says (a git worktree has no ../shared);
# QABOT_SQUAD points at the SQuAD files themselves
SQUAD = Path(os.environ.get("QABOT_SQUAD", Path(os.environ.get("QABOT_SHARED", ROOT.parent / "shared"))
                            / "benchmarks" / "squad2"))
# Sets written for a first run not yet made: nothing is fitted or measured on them (nor their articles
# indexed) before it; move them into BLIND once their first run is recorded in docs/eval.md.
UNSEEN: dict[str, str] = {}  # blind10/blind11 had their first run on 2026-12-02 (docs/eval.md)
PROJECT_ARTICLES = [ROOT / "tests/data/harbour.txt", ROOT / "tests/data/quake.md",
                    *sorted(p for p in (ROOT / "eval/data").iterdir() if p.stem not in UNSEEN.values())]
BLIND = {"blind": "wildfire", "blind2": "court", "blind3": "measles", "blind4": "election", "blind5": "rates",
         "blind6": "breach", "blind7": "lander", "blind8": "ferry", "blind9": "fossil",
         "blind10": "strike", "blind11": "gallery"}


def norm(text: str) -> str:
    return " ".join(text.replace("’", "'").lower().split())


@dataclass
class Item:
    """One question with the article (fold) it belongs to and the corpus it is asked over."""

    case: Case
    fold: str
    corpus: str
    candidates: list[tuple[dict[str, float], int]] = field(default_factory=list)  # features, label


def _article_of(case: Case, texts: dict[str, str]) -> str | None:
    for name, text in texts.items():
        if any(norm(e) in text for e in case.evidence) and any(norm(k) in text for k in case.key):
            return name
    return None


def load_items(squad: bool = True) -> tuple[list[Item], dict[str, list]]:
    sources = {"bundled": bundled_source()} | {p.stem: read_file(p) for p in PROJECT_ARTICLES}
    texts = {name: norm(s.text) for name, s in sources.items()}
    items: list[Item] = []
    for path in sorted((ROOT / "eval").glob("*.jsonl")):
        if path.stem in UNSEEN:
            continue
        cases = load_cases(path)
        own = BLIND.get(path.stem)
        home = [own] if own else ["bundled", "harbour", "quake"]
        for i, case in enumerate(cases):
            fold = own or (_article_of(case, {h: texts[h] for h in home}) if not case.out_of_scope else None)
            items.append(Item(case, fold or home[i % len(home)], "project"))
    corpora: dict[str, list] = {"project": list(sources.values())}
    if squad:
        for name in ("Normans", "Computational_complexity_theory"):
            corpora[name] = [read_file(SQUAD / f"{name}.txt"), bundled_source()]
            items += [Item(c, name, name) for c in load_cases(SQUAD / f"{name}.jsonl")]
    return items, corpora


class CachedReader(Reader):
    """The shipped reader, each (question, previous, sentence) read once per run: every fold
    reads the same candidates again."""

    def __init__(self) -> None:
        super().__init__()
        self.cache: dict[tuple[str, str, str], float] = {}

    def logits(self, question: str, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        todo = list(dict.fromkeys(p for p in pairs if (question, *p) not in self.cache))
        if todo:
            for pair, value in zip(todo, super().logits(question, todo), strict=True):
                self.cache[(question, *pair)] = float(value)
        return np.array([self.cache[(question, *p)] for p in pairs], dtype=np.float32)


def build_services(corpora: dict[str, list], work: Path) -> dict[str, QAService]:
    embedder = E5Embedder()
    reader = CachedReader()
    services = {}
    for name, sources in corpora.items():
        service = QAService(Settings(), work / name, embedder=embedder)
        try:
            service.loaded()
        except Exception:  # noqa: BLE001 - no index yet, or from another version: build it
            service.catalog.build(sources)
        service.answerer().retriever.reader = reader
        services[name] = service
    return services


def label(case: Case, text: str, chunk: str) -> int:
    s, c = norm(text), norm(chunk)
    if any(norm(e) in s for e in case.evidence):
        return 1
    keys = [norm(k) for k in case.key]
    return int(any(k in s for k in keys) and any(norm(e) in c for e in case.evidence))


def collect_candidates(items: list[Item], services: dict[str, QAService]) -> None:
    """Every candidate sentence's features and label, from the serving plan and ranking (the
    first 40, unread: the reader's log-odds are added below for the first READ_POOL)."""
    parser = load_parser()
    for item in items:
        if item.case.out_of_scope:
            continue
        answerer = services[item.corpus].answerer()
        r = answerer.retriever
        q = analyse(item.case.question, parser)
        plan = route(q, r, 40)
        if plan.decline is not None:  # declined before any search: nothing to rank
            continue
        hits = rank(r.state, q, r.embed_query(q.text), plan.k, replace(r.model, reader_candidates=0), None,
                    plan.rows, plan.speakers).hits
        item.candidates = [
            (h.features, label(item.case, h.sentence.text, r.index.chunks[h.sentence.chunk_id].text)) for h in hits
        ]
        if q.english and hits:  # the reader's log-odds of the first READ_POOL (the reranker reads the top few)
            reader = r.reader or Reader()
            pool = hits[:READ_POOL]
            logits = reader.logits(q.text, [(r.state.previous_text(h.sentence.row), h.sentence.text) for h in pool])
            for (features, _), logit in zip(item.candidates[:READ_POOL], logits, strict=True):
                features["reader"] = float(np.clip(logit, -12.0, 12.0))


def fit_logistic(x: np.ndarray, y: np.ndarray, weights: np.ndarray, signs: list[int], l2: float = 1.0,
                 ) -> tuple[np.ndarray, float]:
    """L2-regularised, sample-weighted logistic regression on standardised features, each weight
    kept on the side of zero its sign says (0: free); returns weights and bias on the raw features."""
    from scipy.optimize import minimize

    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std < 1e-9] = 1.0
    z = (x - mean) / std

    def loss(p: np.ndarray) -> tuple[float, np.ndarray]:
        prob = 1 / (1 + np.exp(-np.clip(z @ p[:-1] + p[-1], -30, 30)))
        nll = -(weights * (y * np.log(prob + 1e-12) + (1 - y) * np.log(1 - prob + 1e-12))).sum()
        residual = weights * (prob - y)
        return nll + l2 * p[:-1] @ p[:-1], np.append(z.T @ residual + 2 * l2 * p[:-1], residual.sum())

    bounds = [(0, None) if s > 0 else (None, 0) if s < 0 else (None, None) for s in signs] + [(None, None)]
    p = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B", bounds=bounds).x
    raw = p[:-1] / std
    return raw, float(p[-1] - (raw * mean).sum())


def fit_listwise(groups: list[tuple[np.ndarray, np.ndarray]], l2: float = 0.01) -> np.ndarray:
    """Linear weights that maximise, per question, the softmax probability of its right
    sentences among its candidates (a listwise ranker; L-BFGS on standardised features)."""
    from scipy.optimize import minimize

    stacked = np.vstack([x for x, _ in groups])
    mean, std = stacked.mean(axis=0), stacked.std(axis=0)
    std[std < 1e-9] = 1.0
    scaled = [((x - mean) / std, y) for x, y in groups]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.0, np.zeros_like(w)
        for x, y in scaled:
            s = x @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            right = p * y
            mass = right.sum()
            total -= np.log(mass + 1e-12)
            grad -= (x * (right / mass)[:, None]).sum(axis=0) - (x * p[:, None]).sum(axis=0)
        return total / len(scaled) + l2 * w @ w, grad / len(scaled) + 2 * l2 * w

    w = minimize(loss, np.zeros(stacked.shape[1]), jac=True, method="L-BFGS-B").x
    return w / std


def fit_ranker(items: list[Item], names: list[str]) -> Linear:
    groups = [
        (np.array([[f.get(n, 0.0) for n in names] for f, _ in item.candidates]),
         np.array([lab for _, lab in item.candidates], float))
        for item in items if item.candidates and any(lab for _, lab in item.candidates)
    ]
    w = fit_listwise(groups)
    return Linear({f: round(float(v), 5) for f, v in zip(names, w, strict=True)}, 0.0)


def read_top(item: Item, ranker: Linear, n: int) -> list[tuple[dict[str, float], int]]:
    """The ranker's top n candidates of an item among those the reader read (English questions)."""
    read = [c for c in item.candidates if "reader" in c[0]]
    return sorted(read, key=lambda c: -ranker.score(c[0]))[:n] if n else []


def fit_reranker(items: list[Item], ranker: Linear, names: list[str], n: int) -> Linear:
    """The ranker's top n candidates of each question scored again with the reader's log-odds."""
    tops = [read_top(item, ranker, n) for item in items]
    groups = [(np.array([[f.get(name, 0.0) for name in names] for f, _ in top]),
               np.array([lab for _, lab in top], float)) for top in tops if any(lab for _, lab in top)]
    if not groups:
        return Linear({}, 0.0)
    w = fit_listwise(groups)
    return Linear({f: round(float(v), 5) for f, v in zip(names, w, strict=True)}, 0.0)


def ranking_loao(items: list[Item], folds: list[str], names: list[str], read: int = 0,
                 rerank: list[str] | None = None) -> tuple[float, float]:
    """Leave-one-article-out share of answerable questions whose top-ranked candidate is right
    (with ``read``: after the reranker over the ranker's top ``read`` with ``rerank``'s features)."""
    right: dict[bool, list[int]] = {True: [], False: []}
    for fold in folds:
        train = [i for i in items if i.fold != fold]
        ranker = fit_ranker(train, names)
        reranker = fit_reranker(train, ranker, rerank, read) if read and rerank else None
        for item in items:
            if item.fold != fold or item.case.out_of_scope:
                continue
            top = read_top(item, ranker, read) if reranker else []
            if top:
                best = max(top, key=lambda c: reranker.score(c[0]))  # type: ignore[union-attr]
            else:
                best = max(item.candidates, key=lambda c: ranker.score(c[0]), default=({}, 0))
            right[item.corpus == "project"].append(best[1])
    return float(np.mean(right[True])), float(np.mean(right[False]))


@dataclass
class Run:
    """What the answerer did with one question when it was never allowed to decline."""

    item: Item
    found: bool  # answered at all (gates other than the probability may still decline)
    correct: bool  # the key is in the answer
    length: int
    declined_by: str | None
    features: dict[str, float] | None
    answered: bool = False  # as decided by the model that scores it


def decide(runs: list[Run], model: AnswerModel) -> list[Run]:
    for r in runs:
        r.answered = r.found and (r.features is None or model.answers(r.features))
    return runs


def run_all(items: list[Item], services: dict[str, QAService], model: AnswerModel) -> list[Run]:
    always = replace(model, threshold=-1.0)
    runs = []
    answerers = {name: Answerer(s.answerer().retriever, s.settings.answer, always) for name, s in services.items()}
    for item in items:
        answer, trace = answerers[item.corpus].run(item.case.question)
        features = dict(trace.verdict.features) if trace.verdict is not None else None
        correct = answer.found and not item.case.out_of_scope and any(
            norm(k) in norm(answer.answer) for k in item.case.key)
        runs.append(Run(item, answer.found, correct, len(answer.answer), answer.declined_by, features))
    return runs


READ_POOL = 16  # candidates read while collecting: the shipped ranker's first, among which a refit one picks
READ = 6  # candidates the reader reads: see docs/eval.md (--read-sweep) and docs/benchmarks.md


def fit_decision(runs: list[Run], target: float, names: tuple[str, ...] = DECISION) -> tuple[Linear, float]:
    """Logistic regression for "the answer holds the key", each corpus (ours, SQuAD) weighing
    the same; the threshold declines at most ``target`` of the answerable training questions."""
    scored = [r for r in runs if r.features is not None]
    x = np.array([[r.features.get(f, 0.0) for f in names] for r in scored])  # type: ignore[union-attr]
    y = np.array([1.0 if r.correct else 0.0 for r in scored])
    ours = sum(1 for r in scored if r.item.corpus == "project")
    share = {True: len(scored) / 2 / max(1, ours), False: len(scored) / 2 / max(1, len(scored) - ours)}
    w, b = fit_logistic(x, y, np.array([share[r.item.corpus == "project"] for r in scored]),
                        [SIGNS.get(f, 0) for f in names])
    linear = Linear({f: round(float(v), 5) for f, v in zip(names, w, strict=True)}, round(b, 5))
    answerable = sorted(AnswerModel("", Linear({}), linear, 0).probability(r.features)  # type: ignore[arg-type]
                        for r in scored if not r.item.case.out_of_scope)
    allowed = int(target * sum(1 for r in runs if not r.item.case.out_of_scope))
    threshold = answerable[allowed] if allowed < len(answerable) else 1.0
    return linear, round(float(threshold) - 1e-6, 6)


def score(runs: list[Run]) -> dict[str, float]:
    """key in answer, false abstentions, out-of-scope declined, as qabot eval counts them."""
    inscope = [r for r in runs if not r.item.case.out_of_scope]
    oos = [r for r in runs if r.item.case.out_of_scope]

    def answered(r: Run) -> bool:
        return r.answered

    lengths = [r.length for r in inscope if answered(r)]
    return {
        "n": len(inscope), "oos": len(oos),
        "key": sum(answered(r) and r.correct for r in inscope) / max(1, len(inscope)),
        "false_abst": sum(not answered(r) for r in inscope) / max(1, len(inscope)),
        "declined": sum(not answered(r) for r in oos) / max(1, len(oos)),
        "median_chars": statistics.median(lengths) if lengths else 0,
    }


def fit(items: list[Item], services: dict[str, QAService], names: list[str], target: float,
        margin: float, read: int = 0) -> tuple[AnswerModel, list[Run]]:
    ranker = fit_ranker(items, names)
    rerank = [*names, "reader"]
    reranker = fit_reranker(items, ranker, rerank, read) if read else Linear({}, 0.0)
    model = AnswerModel("fitting", ranker, Linear({}), 0.0, {"pick_margin": margin}, reranker=reranker,
                        reader_candidates=read if reranker.weights else 0)
    runs = run_all(items, services, model)
    decision, threshold = fit_decision(runs, target)
    crosslingual, cross_threshold = fit_decision(runs, target, CROSSLINGUAL)
    return replace(model, decision=decision, threshold=threshold, crosslingual=crosslingual,
                   crosslingual_threshold=cross_threshold), runs


def table(title: str, groups: dict[str, dict[str, float]]) -> str:
    header = f"{'set':34} {'in':>4} {'oos':>4} {'key':>7} {'false-abst':>10} {'declined':>9} {'chars':>6}"
    lines = [f"\n{title}", header]
    for name, m in groups.items():
        lines.append(f"{name:34} {m['n']:4d} {m['oos']:4d} {m['key']:7.1%} {m['false_abst']:10.1%} "
                     f"{m['declined']:9.1%} {m['median_chars']:6.0f}")
    return "\n".join(lines)


def grouped(runs: list[Run]) -> dict[str, dict[str, float]]:
    by: dict[str, list[Run]] = defaultdict(list)
    for r in runs:
        by[r.item.fold if r.item.corpus != "project" else "project articles"].append(r)
        if r.item.corpus == "project":
            by[f"  {r.item.fold}"].append(r)
        by["all"].append(r)
    return {g: score(rs) for g, rs in sorted(by.items(), key=lambda kv: (kv[0] == "all", kv[0].startswith(" ")))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="write index/model.json fitted on every article")
    parser.add_argument("--ablate", default=None, help="leave this ranking or answer feature out of the fit")
    parser.add_argument("--target", type=float, default=0.03, help="false-abstention rate the threshold allows")
    parser.add_argument("--margin", type=float, default=1.0, help="ranker-score margin for runner-up sentences")
    parser.add_argument("--work", type=Path, default=Path("/tmp/qabot-fit"), help="where the indexes are built")
    parser.add_argument("--no-loao", action="store_true", help="skip leave-one-article-out")
    parser.add_argument("--read", type=int, default=READ, help="candidates the reader reads (0: no reader)")
    parser.add_argument("--read-sweep", action="store_true",
                        help="only the ranking: leave-one-article-out top-sentence accuracy for several --read")
    parser.add_argument("--candidates", type=Path, help="keep the collected candidates in this file and reuse them")
    parser.add_argument("--rank-ablation", action="store_true",
                        help="only the ranker: leave-one-article-out top-sentence accuracy without each feature")
    args = parser.parse_args()
    started = time.time()
    items, corpora = load_items()
    services = build_services(corpora, args.work)
    if args.candidates and args.candidates.is_file():
        kept = json.loads(args.candidates.read_text(encoding="utf-8"))
        for item, candidates in zip(items, kept, strict=True):
            item.candidates = [(f, int(lab)) for f, lab in candidates]
    else:
        collect_candidates(items, services)
        if args.candidates:
            args.candidates.write_text(json.dumps([i.candidates for i in items]), encoding="utf-8")
    names = [n for n in RANKING if n != args.ablate]
    rerank = [*names, "reader"]
    if args.ablate == "reader":
        args.read = 0
    folds = sorted({i.fold for i in items})
    print(f"{len(items)} questions, {len(folds)} articles; candidates collected in {time.time() - started:.0f} s")
    print(f"{'reader reads':28} {'ours':>7} {'SQuAD':>7}   (leave-one-article-out: top candidate holds the evidence)")
    for read in (0, 1, 2, 3, 4, 6, 8, 12, 20) if args.read_sweep else (0, args.read):
        ours, squad = ranking_loao(items, folds, names, read, rerank)
        print(f"{'no reader' if not read else f'top {read}':28} {ours:7.1%} {squad:7.1%}")
    if args.read_sweep:
        return 0
    if args.rank_ablation:
        print(f"{'ranking features':28} {'ours':>7} {'SQuAD':>7}   (best candidate holds the evidence)")
        for left_out in [None, *names]:
            kept = [n for n in names if n != left_out]
            ours, squad = ranking_loao(items, folds, kept)
            print(f"{'all' if left_out is None else 'without ' + left_out:28} {ours:7.1%} {squad:7.1%}")
        return 0
    results: list[Run] = []
    if not args.no_loao:
        for fold in folds:
            model, _ = fit([i for i in items if i.fold != fold], services, names, args.target, args.margin,
                           args.read)
            if args.ablate in DECISION:
                model = model.without(args.ablate)
            results += decide(run_all([i for i in items if i.fold == fold], services, model), model)
        print(table("LEAVE-ONE-ARTICLE-OUT (fit on the other articles, score the one left out)", grouped(results)))
    model, runs = fit(items, services, names, args.target, args.margin, args.read)
    if args.ablate in DECISION:
        model = model.without(args.ablate)
    print(table("IN-SAMPLE (fit on everything, scored on the same questions)", grouped(decide(runs, model))))
    print(json.dumps(model.to_json(), indent=1))
    if args.write:
        model = replace(model, version=time.strftime("%Y%m%d") + "-e5",
                        notes={**model.notes, "target_false_abstention": args.target,
                               "trained_on": f"{len(items)} questions over {len(folds)} articles"})
        MODEL_FILE.write_text(json.dumps(model.to_json(), indent=1) + "\n")
        print(f"wrote {MODEL_FILE}")
    print(f"done in {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
