"""Local files are read only when they are regular files: a pipe or a device named like an article
is refused at once instead of blocking or being read forever."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import pytest

from index.errors import SourceError
from index.sources import read_file


def _refusal(path: Path) -> str:
    outcome: list[BaseException | object] = []

    def run() -> None:
        try:
            outcome.append(read_file(path))
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(5.0)
    if thread.is_alive():  # unblock the reader of the pipe before failing
        with contextlib.suppress(OSError):
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail(f"reading {path} still blocked after 5 s")
    assert isinstance(outcome[0], SourceError), outcome[0]
    return str(outcome[0])


def test_a_pipe_named_like_an_article_is_refused(tmp_path: Path) -> None:
    pipe = tmp_path / "story.txt"
    os.mkfifo(pipe)
    assert _refusal(pipe) == f"{pipe} is not a regular file."


def test_a_link_to_a_device_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "story.md"
    link.symlink_to("/dev/zero")
    assert _refusal(link) == f"{link} is not a regular file."


def test_a_directory_still_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "notes.txt"
    folder.mkdir()
    assert _refusal(folder) == f"{folder} is a directory."
