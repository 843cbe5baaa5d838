"""Fair builds: one build thread, each server's changes in order, servers served in turn."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from bot.config import DiscordSettings, FetchSettings, Settings
from bot.discord.builds import BuildQueue
from bot.discord.client import QABot
from bot.spaces import Spaces
from tests.conftest import DATA, FakeEmbedder
from tests.fake_discord import FakeDiscord, connected

A, B = "900000000000000100", "900000000000001100"


def test_servers_are_served_in_turn_and_each_servers_changes_in_order() -> None:
    queue = BuildQueue()
    gate = threading.Event()
    ran: list[str] = []

    def job(name: str) -> str:
        if name == "a0":
            gate.wait(10)
        ran.append(name)
        return name

    futures = [queue.submit("a", lambda i=i: job(f"a{i}")) for i in range(10)]  # type: ignore[misc]
    while queue.pending().get("a", 0) != 9:  # a0 is running, held by the gate
        time.sleep(0.01)
    futures += [queue.submit("b", lambda: job("b0")), queue.submit("c", lambda: job("c0")),
                queue.submit("b", lambda: job("b1"))]
    gate.set()
    assert [f.result(10) for f in futures][-1] == "b1"
    assert ran[:6] == ["a0", "a1", "b0", "c0", "a2", "b1"]  # not all of a's ten before b's first
    assert [r for r in ran if r.startswith("a")] == [f"a{i}" for i in range(10)]
    queue.shutdown()


def test_a_failing_change_reaches_its_caller_and_the_queue_goes_on() -> None:
    queue = BuildQueue()

    def boom() -> None:
        raise ValueError("bad item")

    failed = queue.submit(None, boom)
    after = queue.submit(None, lambda: "next")
    with pytest.raises(ValueError, match="bad item"):
        failed.result(10)
    assert after.result(10) == "next"
    queue.shutdown()
    with pytest.raises(RuntimeError):
        queue.submit(None, lambda: None)


async def test_server_b_is_not_stuck_behind_server_as_queued_changes(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    fake = FakeDiscord(guild_ids=[A, B])
    fake.files["harbour.html"] = "<html><head><title>Port strike</title></head><body><article>" + "".join(
        f"<p>{p}</p>" for p in (DATA / "harbour.txt").read_text(encoding="utf-8").split("\n\n")[1:]
    ) + "</article></body></html>"
    settings = Settings(discord=DiscordSettings(answer_dms=False), fetch=FetchSettings(guild_allowed_hosts=["127.0.0.1"]))
    spaces = Spaces.create(settings, tmp_path / "data", embedder=FakeEmbedder())
    spaces.default.catalog.build(spaces.default.catalog.configured_sources())
    bot = QABot(spaces, guild_ready_timeout=0.1)
    done: list[int] = []

    def slow_change_of_a(i: int) -> None:  # a long change of A (a slow feed, a big PDF)
        time.sleep(1.0)
        done.append(i)

    async with connected(monkeypatch, fake, bot):
        pile: list[Any] = [asyncio.ensure_future(bot.run_build(slow_change_of_a, i, space=int(A))) for i in range(6)]
        while bot.builds.pending().get(int(A), 0) < 5:
            await asyncio.sleep(0.01)
        iid = await fake.slash("source add", [{"name": "url", "type": 3, "value": fake.file_url("harbour.html")}],
                               uid="7", moderator=True, guild=B)
        reply = await fake.wait_for(lambda m: f"tok-{iid}" in m["via"] and "done" in str(m["body"]), 60)
        assert "added" in str(reply["body"])
        assert len(done) <= 3  # served in turn, not after all six of A's changes
        await asyncio.gather(*pile)
        assert done == list(range(6))
