"""`qabot chat` and `qabot ask` as a terminal shows them (over a real pty) and as a pipe gets them."""

from __future__ import annotations

import fcntl
import io
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

import bot.cli as cli
from bot.service import QAService

ROOT = Path(__file__).resolve().parent.parent
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# The real CLI over the fake embedder (a pty child cannot be monkeypatched from here).
LAUNCH = """
import sys
from pathlib import Path
import bot.cli as cli
from bot.config import Settings
from bot.service import QAService
from tests.conftest import FakeEmbedder
service = QAService(Settings(), Path(sys.argv[1]), embedder=FakeEmbedder())
service.catalog.build(service.catalog.configured_sources())
cli.make_service = lambda *args, **kwargs: service
sys.exit(cli.run(sys.argv[2:]))
"""


class Terminal:
    """A child process on a pseudo-terminal of a given width; what it printed, as the screen got it."""

    def __init__(self, args: list[str], tmp: Path, columns: int = 60) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
        env.update(PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", HOME=str(tmp), XDG_STATE_HOME=str(tmp / "state"),
                   TERM="xterm")
        self.process = subprocess.Popen([sys.executable, "-c", LAUNCH, str(tmp / "index"), *args],
                                        stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
        os.close(slave)
        self.seen = b""

    def read_until(self, text: str, timeout: float = 120.0) -> str:
        deadline = time.monotonic() + timeout
        while text.encode() not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0 or self.process.poll() is not None and not select.select([self.master], [], [], 0)[0]:
                raise AssertionError(f"no {text!r} in:\n{self.seen.decode(errors='replace')}")
            if select.select([self.master], [], [], min(left, 0.5))[0]:
                try:
                    self.seen += os.read(self.master, 65536)
                except OSError:  # the child closed the terminal
                    break
        return self.seen.decode(errors="replace")

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def ask(self, keys: str) -> str:
        """Type a line and return what was shown until the next prompt."""
        self.seen = b""
        self.type(keys)
        return self.read_until("qabot> ")

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        os.close(self.master)


@pytest.fixture
def chat(tmp_path: Path):  # noqa: ANN201
    terminal = Terminal(["chat"], tmp_path)
    yield terminal
    terminal.close()


def test_chat_on_a_terminal_edits_lines_keeps_history_wraps_and_emphasises(chat: Terminal, tmp_path: Path) -> None:
    chat.read_until("qabot> ")  # keys typed before the prompt would be echoed by the terminal itself
    first = chat.ask("Where will the US relocate its embasy?\x1b[D\x1b[D\x1b[Ds\r")  # arrow keys fix the typo
    assert "Lviv" in first and "couldn't find" not in first
    again = chat.ask("\x1b[A\r")  # up: the question again, from the history
    assert "Lviv" in again and "^[[A" not in again
    assert "\x1b[1m" in again  # bold on a terminal
    lines = [ANSI.sub("", line) for line in again.replace("\r", "").split("\n")]
    assert max(len(line) for line in lines if "qabot>" not in line) <= 60  # the terminal's width
    chat.type(":q\r")
    assert chat.process.wait(timeout=30) == 0
    assert "embassy" in (tmp_path / "state" / "qabot" / "history").read_text()  # kept for next time


def test_chat_reset_forgets_the_conversation(chat: Terminal) -> None:
    chat.read_until("qabot> ")
    chat.ask("What did Scholz say?\r")
    assert "Understood as: what did Olaf Scholz" in ANSI.sub("", chat.ask("what did he say about the troops?\r"))
    assert "Starting over" in chat.ask(":reset\r")
    assert "Understood as" not in ANSI.sub("", chat.ask("what did he say about the troops?\r"))


def test_piped_chat_is_plain_and_wrapped_at_88(built_fake_service: QAService, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cli, "make_service", lambda *args, **kwargs: built_fake_service)
    monkeypatch.setattr("sys.stdin", io.StringIO("What did Scholz say?\n:reset\nwhat did he say?\n:q\n"))
    assert cli.run(["chat"]) == 0
    captured = capsys.readouterr()
    assert "\x1b[" not in captured.out and "qabot>" not in captured.out  # no escapes, no prompts in a pipe
    assert max(len(line) for line in captured.out.splitlines()) <= 88
    assert "Understood as" not in captured.out  # :reset came before "what did he say?"
    assert "Starting over" in captured.err


def test_explain_puts_the_verdict_first(built_fake_service: QAService, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cli, "make_service", lambda *args, **kwargs: built_fake_service)
    assert cli.run(["ask", "--explain", "What is the capital of France?"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "verdict: declined (unknown_name): I couldn't find France in the indexed sources."
    assert "Closest passages" not in out  # France is in no source: nothing near can be relevant
    assert cli.run(["ask", "--explain", "Where will the US relocate its embassy?"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("verdict: answered: p=")
    assert " 0.000 =" not in out  # features that add nothing are left out
