"""The answering path runs without torch, sentence-transformers or transformers (the default
install has none of them), and asking for the MiniLM embedder without them names the extra."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from index.embedder import MINILM, SentenceTransformerEmbedder, make_embedder
from index.errors import QABotError

ROOT = Path(__file__).resolve().parent.parent

# Put first on sys.meta_path: any import of these (or their submodules) fails, as in an install without them.
BLOCKER = """
import sys
BLOCKED = {"torch", "sentence_transformers", "transformers"}
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked: the answering path must not need it")
        return None
sys.meta_path.insert(0, Blocker())
"""

FAKE_INDEX_AND_ASK = BLOCKER + """
import json
from pathlib import Path
from bot.config import Settings
from bot.service import QAService
from tests.conftest import FakeEmbedder
service = QAService(Settings(), Path(sys.argv[1]), embedder=FakeEmbedder())
service.catalog.build(service.catalog.configured_sources())
answer = service.ask("What did Scholz say?")
print(json.dumps({"found": answer.found, "answer": answer.answer,
                  "loaded": sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)}))
"""

CLI = BLOCKER + """
import runpy
sys.argv = ["qabot", *sys.argv[1:]]
runpy.run_module("bot", run_name="__main__")
"""


def _run(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=600)


def test_the_blocker_blocks() -> None:
    """The check can fail: importing torch under the blocker is an error."""
    run = _run(BLOCKER + "import sentence_transformers")
    assert run.returncode != 0 and "is blocked" in run.stderr


def test_index_and_answer_without_torch(tmp_path: Path) -> None:
    run = _run(FAKE_INDEX_AND_ASK, str(tmp_path / "idx"))
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.splitlines()[-1])
    assert result["found"] and "[1]" in result["answer"]  # a cited answer
    assert result["loaded"] == []


@pytest.mark.slow
def test_the_cli_indexes_and_answers_with_the_default_model_without_torch(tmp_path: Path) -> None:
    index = str(tmp_path / "idx")
    built = _run(CLI, "index", "--index-dir", index)
    assert built.returncode == 0, built.stderr
    asked = _run(CLI, "ask", "--index-dir", index, "What did Scholz say?")
    assert asked.returncode == 0, asked.stderr
    assert "[1]" in asked.stdout


def test_minilm_without_sentence_transformers_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("sentence_transformers", "transformers"):
        monkeypatch.setitem(sys.modules, name, None)  # "import sentence_transformers" raises ImportError
    embedder = make_embedder(MINILM)
    assert isinstance(embedder, SentenceTransformerEmbedder)
    with pytest.raises(QABotError, match=r"baselines"):
        embedder.embed(["a sentence"])
