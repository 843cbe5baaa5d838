"""Event-loop responsiveness of the Discord bot under load (the real model, the real discord.py client).

While a moderator /reindex (with new text to parse and embed) and 20 concurrent /ask run against the
fake Discord from tests/fake_discord.py, a probe measures how late the event loop wakes up.
Usage: python bench/loop_lag.py
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest  # noqa: E402
from lag import LagProbe  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.discord.client import QABot  # noqa: E402
from bot.reading import read_paths  # noqa: E402
from bot.service import QAService  # noqa: E402
from tests.fake_discord import FakeDiscord, connected  # noqa: E402

QUESTIONS = 20


async def main() -> int:
    if os.environ.get("LOOP_DEBUG"):
        import logging
        logging.basicConfig(level=logging.WARNING)
        loop = asyncio.get_running_loop()
        loop.set_debug(True)
        loop.slow_callback_duration = 0.05
    fake = FakeDiscord()
    # the bot may still be saving a generation's derived state in a worker thread as it closes
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp, pytest.MonkeyPatch.context() as patch:
        story = Path(tmp) / "story.txt"
        story.write_text((ROOT / "tests" / "data" / "harbour.txt").read_text())
        service = QAService(Settings(), Path(tmp) / "index")
        service.catalog.build(service.catalog.configured_sources() + read_paths([story]))
        bot = QABot(service, guild_ready_timeout=0.1)
        async with connected(patch, fake, bot):
            probe = LagProbe()
            probe.start()
            extra = "\n\n".join(f"Paragraph {i}: the port authority said berth {i} would reopen after repairs to "
                                f"crane {i}." for i in range(200))
            story.write_text(story.read_text() + "\n\n" + extra + "\n")
            started = time.perf_counter()
            await fake.slash("reindex", [], uid="7", moderator=True)
            for i in range(QUESTIONS):
                await fake.slash("ask", [{"name": "question", "type": 3, "value": "What did the mayor say?"}],
                                 uid=str(1000 + i))
            await fake.wait_for(lambda m: "done" in ((m["body"] or {}).get("content") or ""), timeout=300)

            async def answered() -> None:
                while sum(1 for m in fake.messages if (m["body"] or {}).get("embeds")) < QUESTIONS:
                    fake.changed.clear()
                    await fake.changed.wait()

            await asyncio.wait_for(answered(), 300)
            elapsed = time.perf_counter() - started
            await probe.stop()
            lags = probe.lags
    print("| measure | result |")
    print("|---|---|")
    print(f"| reindex (200 new paragraphs) + {QUESTIONS} concurrent /ask, wall time | {elapsed:.1f} s |")
    print(f"| event-loop lag, median | {statistics.median(lags):.1f} ms |")
    print(f"| event-loop lag, max | {max(lags):.1f} ms |")
    return 0 if max(lags) <= 100 else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
