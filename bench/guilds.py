"""200 /ask at once across 3 servers, each with its own sources (the real model, the real discord.py client).

Server A uses the default space (the bundled article); B and C have their own sources. Every
interaction is dispatched by the fake Discord from tests/fake_discord.py as fast as it can send,
from a different user. Reports how soon each was acknowledged (Discord allows 3 s), how many
were answered and how many got the polite "busy", and the largest event-loop stall.
Usage: python bench/guilds.py [--questions N] [--max-pending N] [--per-guild N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
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

from bot.config import DiscordSettings, Settings  # noqa: E402
from bot.discord.client import QABot  # noqa: E402
from bot.reading import read_paths  # noqa: E402
from bot.spaces import Spaces  # noqa: E402
from tests.fake_discord import FakeDiscord, connected  # noqa: E402

GUILDS = {"900000000000000100": None, "900000000000001100": "harbour.txt", "900000000000002100": "quake.md"}
QUESTIONS = ["What did Scholz say?", "Where will the US relocate its embassy?", "What did the mayor say?",
             "How many cranes were damaged?", "What did Blinken say?", "Who ordered the evacuation?"]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(total: int, max_pending: int | None, per_guild: int | None) -> int:
    fake = FakeDiscord(guild_ids=list(GUILDS))
    # the bot may still be saving a generation's derived state in a worker thread as it closes
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp, pytest.MonkeyPatch.context() as patch:
        limits = {k: v for k, v in (("max_pending", max_pending), ("max_pending_per_guild", per_guild)) if v}
        spaces = Spaces.create(Settings(discord=DiscordSettings(**limits)), Path(tmp) / "data")
        spaces.default.catalog.build(spaces.default.catalog.configured_sources())
        for gid, name in GUILDS.items():
            if name:
                space = spaces.for_guild(int(gid))
                space.catalog.add_sources(read_paths([ROOT / "tests" / "data" / name]))
        bot = QABot(spaces, guild_ready_timeout=0.1)
        async with connected(patch, fake, bot):
            for gid in GUILDS:  # load each server's index once, as a running bot would have
                await bot.run_blocking(bot.space(int(gid)).ask, "warm up")
            probe = LagProbe()
            probe.start()
            started = time.perf_counter()
            ids = []
            guild_ids = list(GUILDS)
            for i in range(total):
                question = QUESTIONS[i % len(QUESTIONS)]
                ids.append(await fake.slash("ask", [{"name": "question", "type": 3, "value": question}],
                                            uid=str(5000 + i), guild=guild_ids[i % len(guild_ids)]))
            replies = await asyncio.gather(*(fake.reply_to(iid, timeout=600) for iid in ids))
            elapsed = time.perf_counter() - started
            await probe.stop()
            lags = probe.lags
    acks = [(fake.acked[iid] - fake.times[iid]) * 1000 for iid in ids if iid in fake.acked]
    answered = sum(1 for r in replies if (r["body"] or {}).get("embeds"))
    busy = sum(1 for r in replies if "answering a lot" in ((r["body"] or {}).get("content") or ""))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"| measure ({total} /ask at once across {len(GUILDS)} servers) | result |")
    print("|---|---|")
    print(f"| acknowledged | {len(acks)} of {total} |")
    print(f"| time to acknowledge, p50 / p95 / max | {_pct(acks, 0.5):.0f} / {_pct(acks, 0.95):.0f} / "
          f"{max(acks):.0f} ms |")
    print(f"| answered / told busy | {answered} / {busy} |")
    print(f"| wall time until every reply | {elapsed:.1f} s |")
    print(f"| event-loop stall, median / max | {statistics.median(lags):.1f} / {max(lags):.1f} ms |")
    print(f"| peak RSS | {rss:.0f} MB |")
    ok = len(acks) == total and max(acks) < 3000 and max(lags) <= 100 and answered + busy == total
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--max-pending", type=int, default=None, help="discord.max_pending (default: the default)")
    parser.add_argument("--per-guild", type=int, default=None, help="discord.max_pending_per_guild")
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.questions, args.max_pending, args.per_guild)))
