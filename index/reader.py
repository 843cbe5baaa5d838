"""The reader: a small cross-encoder that reads a question and a candidate sentence (with the
tail of the sentence before it) and gives the probability that the sentence answers it.

The project trains it (``make train-reader``, train/train_reader.py; docs/reader.md is its
model card) and ships it as an int8 ONNX file; this module runs it with onnxruntime and the
``tokenizers`` package, so answering needs neither torch nor transformers. It is the only
module that imports onnxruntime. The session is loaded on first use, once, under a lock.

The encoding (``encode``) is shared with the training script, so both read the same tokens:
``[CLS] question [SEP] previous-tail [SEP] sentence [SEP]`` (the previous part and its
separator left out when there is none), at most ``MAX_TOKENS`` tokens.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import QABotError

DATA = Path(__file__).with_name("data")
MODEL_FILE = DATA / "reader-int8.onnx"
TOKENIZER_FILE = DATA / "reader-tokenizer.json"
MAX_TOKENS = 64
QUESTION_TOKENS = 24  # a question is cut to this many tokens
PREVIOUS_TOKENS = 12  # at most this many of the previous sentence's last tokens
CLS, SEP, PAD = 101, 102, 0


def encode(
    tokenizer: Any, question: str, pairs: Sequence[tuple[str, str]], max_tokens: int = MAX_TOKENS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """input_ids, attention_mask and token_type_ids (int64, padded to the longest row) for
    (previous sentence, sentence) pairs read against one question."""
    q = tokenizer.encode(question, add_special_tokens=False).ids[:QUESTION_TOKENS]
    texts = [t for pair in pairs for t in pair]
    encoded = tokenizer.encode_batch(texts, add_special_tokens=False) if texts else []
    rows: list[tuple[list[int], list[int]]] = []
    for i in range(len(pairs)):
        previous, sentence = encoded[2 * i].ids, encoded[2 * i + 1].ids
        sentence = sentence[: max_tokens - len(q) - 3]
        room = min(PREVIOUS_TOKENS, max_tokens - len(q) - len(sentence) - 4)
        tail = previous[-room:] if room > 0 and previous else []
        second = (tail + [SEP] if tail else []) + sentence + [SEP]
        rows.append(([CLS, *q, SEP, *second], [0] * (len(q) + 2) + [1] * len(second)))
    width = max((len(ids) for ids, _ in rows), default=0)
    ids = np.full((len(rows), width), PAD, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    types = np.zeros((len(rows), width), dtype=np.int64)
    for r, (row_ids, row_types) in enumerate(rows):
        ids[r, : len(row_ids)] = row_ids
        mask[r, : len(row_ids)] = 1
        types[r, : len(row_ids)] = row_types
    return ids, mask, types


def load_tokenizer(path: Path = TOKENIZER_FILE) -> Any:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


class Reader:
    """Probabilities that sentences answer a question, from the shipped int8 model."""

    def __init__(self, model: Path = MODEL_FILE, tokenizer: Path = TOKENIZER_FILE, threads: int = 1) -> None:
        self.model_path = Path(model)
        self.tokenizer_path = Path(tokenizer)
        self.threads = threads
        self._session: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._session is None:
                try:
                    import onnxruntime as ort
                except ImportError:
                    raise QABotError("The reader needs onnxruntime: `pip install onnxruntime`.") from None
                if not self.model_path.is_file() or not self.tokenizer_path.is_file():
                    raise QABotError(f"The reader model is missing: {self.model_path} (reinstall qabot).")
                options = ort.SessionOptions()
                options.intra_op_num_threads = self.threads
                options.inter_op_num_threads = 1
                self._tokenizer = load_tokenizer(self.tokenizer_path)
                self._session = ort.InferenceSession(
                    str(self.model_path), options, providers=["CPUExecutionProvider"]
                )
            return self._session, self._tokenizer

    def warm(self) -> None:
        """Load the model now rather than on the first question."""
        self.score("warm up", [("", "warm up")])

    def logits(self, question: str, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Raw scores (log-odds) of (previous sentence, sentence) pairs."""
        if not pairs:
            return np.zeros(0, dtype=np.float32)
        session, tokenizer = self._load()
        ids, mask, types = encode(tokenizer, question, pairs)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        (out,) = session.run(None, feed)
        return np.asarray(out, dtype=np.float32).reshape(len(pairs))

    def score(self, question: str, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Probabilities that each (previous sentence, sentence) pair's sentence answers question."""
        return (1.0 / (1.0 + np.exp(-self.logits(question, pairs)))).astype(np.float32)


_shared: Reader | None = None
_shared_lock = threading.Lock()


def shared_reader() -> Reader:
    """The one process-wide reader (its session is thread-safe for run())."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Reader()
        return _shared
