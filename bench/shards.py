"""Two `qabot serve` processes, two shards each (shard count 4), against the fake Discord with 2,000 guilds.

The fake Discord (tests/fake_discord.py) runs in this process; each bot is a real `qabot serve`
child process (the CLI entry point, with discord.py pointed at the fake, see `--child`). 400
`/ask` go to 400 different guilds, spread over the four shards, at --rate per second. Checks:
every interaction acknowledged within 3 s, each delivered to the shard that owns its guild only,
answered (or, past discord.max_pending, told "busy") by the process running that shard, each
answer recorded in that process's own records and no other's, none lost. Reports ack latency
p50 / p95 / max.

Embedder: by default the deterministic hashed-words fake embedder of tests/conftest.py (cheap, no
model); `--embedder e5` uses the configured e5 model. Sources: the bundled article in both.

With `--database-url URL` (or `--postgres`: a throwaway server from .ci/postgres), both processes
use `database.url`, and the kill-and-rebuild half runs too: before the asks a moderator of
--own-sources servers (half in each process) adds a page of their own with `/source add` (served
by the fake, audited); some answers get a vote. Then process B is killed with SIGKILL, the page is
taken off the fake (a fetch would fail), and a replacement starts for the same shard ids with a
FRESH index directory. Checks: each of B's servers with their own page answers from it again
(its members are told "getting ready" until then), the replacement embedded zero sentences (its
fake embedder logs every document batch; the rebuild log gives the count too), and every
answer, vote and audit row in PostgreSQL before the kill is still there after. Reports the time
from the replacement's start to all of those servers answering again.

Usage: python bench/shards.py [--guilds 2000] [--questions 400] [--rate 20] [--embedder fake|e5]
                              [--max-pending N] [--database-url URL | --postgres] [--own-sources 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

SHARD_COUNT = 4
PROCESSES = {"A": "0-1", "B": "2-3"}  # process name -> the --shard-ids it runs
QUESTION = "Where will the US relocate its embassy?"
READY = re.compile(r"shard (\d+) of (\d+) ready: (\d+) server")


def child(argv: list[str]) -> int:
    """`qabot ARGV` with discord.py pointed at the fake Discord on $QABOT_BENCH_PORT (and the fake
    embedder when $QABOT_BENCH_EMBEDDER is "fake")."""
    import logging

    import discord
    import yarl

    import index.embedder

    logging.getLogger("bot.replica").setLevel(logging.INFO)  # "space S rebuilt ...: N sentence(s) embedded anew"
    if os.environ.get("QABOT_BENCH_EMBEDDER") == "fake":
        from tests.conftest import FakeEmbedder

        class CountingEmbedder(FakeEmbedder):
            """Logs every batch of sentences it embeds (questions, embedded one at a time, apart)."""

            def embed(self, texts, progress=None):  # type: ignore[no-untyped-def]
                print(f"bench-embedder: {len(texts)} sentence(s) embedded", file=sys.stderr, flush=True)
                return super().embed(texts, progress)

            def embed_query(self, texts):  # type: ignore[no-untyped-def]
                return FakeEmbedder.embed(self, texts)

        # before bot.* imports it by name, so every module that makes an embedder gets this one
        index.embedder.make_embedder = lambda *args, **kwargs: CountingEmbedder()  # type: ignore[assignment]
    import bot.cli
    import bot.service

    if os.environ.get("QABOT_BENCH_EMBEDDER") == "fake" and hasattr(bot.service, "make_embedder"):
        bot.service.make_embedder = index.embedder.make_embedder
    port = os.environ["QABOT_BENCH_PORT"]
    discord.http.Route.BASE = f"http://127.0.0.1:{port}/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(f"ws://127.0.0.1:{port}/")
    return bot.cli.run(argv)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _answered_guilds(index_dir: Path) -> list[int]:
    db = sqlite3.connect(index_dir / "bot.sqlite")
    try:
        return [row[0] for row in db.execute("SELECT guild_id FROM answers")]
    finally:
        db.close()


async def _wait_ready(logs: dict[str, Path], procs: dict[str, subprocess.Popen[bytes]],
                      timeout: float) -> dict[int, int]:
    """Shard id -> servers, once every shard of every process has logged that it is ready."""
    deadline = time.monotonic() + timeout
    while True:
        ready = {int(m[1]): int(m[3]) for log in logs.values() for m in READY.finditer(log.read_text())}
        if len(ready) == SHARD_COUNT:
            return ready
        dead = [name for name, proc in procs.items() if proc.poll() is not None]
        if dead or time.monotonic() > deadline:
            tail = "\n".join(line for log in logs.values() for line in log.read_text().splitlines()[-15:])
            why = f"process {dead[0]} exited" if dead else f"not ready after {timeout:.0f} s"
            raise SystemExit(f"{why} (shards ready: {sorted(ready)}); the logs end:\n{tail}")
        await asyncio.sleep(0.2)


def _text(item: dict[str, Any]) -> str:
    body = item.get("body") or {}
    return str(body.get("content") or "") + " " + str(body.get("embeds") or "")


def _rows(url: str) -> dict[str, set[tuple[int, ...]]]:
    """The keys of every answer, vote and audit row in PostgreSQL."""
    import psycopg

    with psycopg.connect(url) as db:
        return {table: {tuple(row) for row in db.execute(query).fetchall()} for table, query in (
            ("answers", "SELECT id FROM answers"), ("votes", "SELECT answer_id, user_id FROM feedback"),
            ("audit", "SELECT id FROM audit"))}


def _pg_answered_guilds(url: str) -> list[int]:
    import psycopg

    with psycopg.connect(url) as db:
        return [row[0] for row in db.execute("SELECT guild_id FROM answers WHERE question = %s", (QUESTION,))]


async def _wait_shards(log: Path, proc: subprocess.Popen[bytes], shards: set[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while {int(m[1]) for m in READY.finditer(log.read_text())} < shards:
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = "\n".join(log.read_text().splitlines()[-20:])
            raise SystemExit(f"the replacement is not ready (exit {proc.poll()}); its log ends:\n{tail}")
        await asyncio.sleep(0.2)


async def _add_own_source(fake: Any, guild: str) -> bool:
    iid = await fake.slash("source add", [{"name": "url", "type": 3, "value": fake.file_url("harbour.html")}],
                           uid="7", moderator=True, guild=guild)
    done = await fake.wait_for(lambda m: f"tok-{iid}" in m["via"] and "done" in _text(m), 600)
    return "added" in _text(done)


async def main(guilds: int, questions: int, rate: float, embedder: str, max_pending: int | None,
               database_url: str | None = None, own_sources: int = 16) -> int:
    from tests.fake_discord import TOKEN, FakeDiscord, spread_guilds
    from tests.test_discord_guilds import HARBOUR_HTML

    fake = FakeDiscord(guild_ids=spread_guilds(guilds))
    fake.files["harbour.html"] = HARBOUR_HTML
    await fake.start()
    procs: dict[str, subprocess.Popen[bytes]] = {}
    kill: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        env = {**os.environ, "QABOT_BENCH_PORT": str(fake.port), "QABOT_BENCH_EMBEDDER": embedder,
               "DISCORD_TOKEN": TOKEN, "PYTHONPATH": str(ROOT)}
        dirs = {name: Path(tmp) / name for name in PROCESSES}
        logs = {name: Path(tmp) / f"{name}.log" for name in PROCESSES}
        config = ""
        if max_pending is not None:  # else the defaults: beyond 100 waiting, askers are told "busy" at once
            config += f"[discord]\nmax_pending = {max_pending}\n"
        if database_url:  # servers' own pages come from the fake on 127.0.0.1
            config += f"[database]\nurl = {json.dumps(database_url)}\n[fetch]\nguild_allowed_hosts = [\"127.0.0.1\"]\n"
        if config:
            (Path(tmp) / "qabot.toml").write_text(config, encoding="utf-8")
            env["QABOT_CONFIG"] = str(Path(tmp) / "qabot.toml")
        me = [sys.executable, str(Path(__file__).resolve()), "--child"]
        try:
            started = time.perf_counter()
            first, *others = dirs.values()  # the bundled article, indexed once; each process gets a copy
            subprocess.run([*me, "index", "--index-dir", str(first)], env=env, check=True, stdout=subprocess.DEVNULL)
            for directory in others:
                shutil.copytree(first, directory)
            built = time.perf_counter() - started
            started = time.perf_counter()
            for name, shard_ids in PROCESSES.items():
                with logs[name].open("wb") as log:
                    procs[name] = subprocess.Popen(
                        [*me, "serve", "--index-dir", str(dirs[name]), "--shard-count", str(SHARD_COUNT),
                         "--shard-ids", shard_ids], env=env, stdout=log, stderr=subprocess.STDOUT)
            ready = await _wait_ready(logs, procs, 300)
            up = time.perf_counter() - started
            asked = fake.guild_ids[:: max(1, guilds // questions)][:questions]
            own: list[str] = []
            if database_url:  # a moderator of own_sources servers, as many per shard, adds a page of its own
                rest = [g for g in fake.guild_ids if g not in set(asked)]
                own = [g for shard in range(SHARD_COUNT)
                       for g in [g for g in rest if fake.owner(g) == shard][: own_sources // SHARD_COUNT]]
                added = await asyncio.gather(*(_add_own_source(fake, g) for g in own))
                kill["added"] = sum(added)
            ids = []
            started = time.perf_counter()
            for i, guild in enumerate(asked):
                ids.append(await fake.slash("ask", [{"name": "question", "type": 3, "value": QUESTION}],
                                            uid=str(5000 + i), guild=guild))
                await asyncio.sleep(max(0.0, started + (i + 1) / rate - time.perf_counter()))
            replies = await asyncio.gather(*(fake.reply_to(iid, timeout=300) for iid in ids), return_exceptions=True)
            elapsed = time.perf_counter() - started
            await asyncio.sleep(1.0)  # answers are recorded just after the reply
            if database_url:  # counted now: the replacement's servers are asked again below
                pg_answered = [g for g in _pg_answered_guilds(database_url) if str(g) in set(asked)]
                kill.update(await _kill_and_rebuild(fake, database_url, asked, replies, own, procs, me, env, tmp))
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in procs.values():
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
            await fake.stop()
        if database_url:
            recorded = len(pg_answered)
            wrong_process = 0  # one shared database: the shard each was delivered to is the check
        else:
            answered_by = {name: _answered_guilds(directory) for name, directory in dirs.items()}
            shards_of = {name: set(range(int(run[0]), int(run[-1]) + 1)) for name, run in PROCESSES.items()}
            wrong_process = sum(1 for name, got in answered_by.items() for g in got
                                if fake.owner(str(g)) not in shards_of[name])
            recorded = sum(len(got) for got in answered_by.values())

    acks = [(fake.acked[iid] - fake.times[iid]) * 1000 for iid in ids if iid in fake.acked]
    good = [r for r in replies if isinstance(r, dict) and "Lviv" in str((r["body"] or {}).get("embeds"))]
    busy = sum(1 for r in replies if isinstance(r, dict) and "answering a lot" in str((r["body"] or {}).get("content")))
    right_shard = sum(1 for iid, guild in zip(ids, asked, strict=True) if fake.delivered.get(iid) == fake.owner(guild))
    print(f"| measure ({questions} /ask over {len(asked)} of {guilds} guilds, {rate:g}/s; 2 processes x 2 shards, "
          f"embedder: {embedder}, max_pending {max_pending or 'default'}"
          f"{', database: PostgreSQL' if database_url else ''}) | result |")
    print("|---|---|")
    print(f"| indexing the bundled article / start until all 4 shards ready | {built:.1f} s / {up:.1f} s |")
    print(f"| servers per shard at ready | {', '.join(f'{k}: {v}' for k, v in sorted(ready.items()))} |")
    print(f"| acknowledged | {len(acks)} of {questions} |")
    if acks:
        print(f"| time to acknowledge, p50 / p95 / max | {_pct(acks, 0.5):.0f} / {_pct(acks, 0.95):.0f} / "
              f"{max(acks):.0f} ms |")
    print(f"| answered (cited answer) / told busy | {len(good)} / {busy} |")
    print(f"| delivered to the guild's shard / recorded by the owning process / by the wrong one | "
          f"{right_shard} / {recorded - wrong_process} / {'n/a (one database)' if database_url else wrong_process} |")
    print(f"| undelivered events | {len(fake.undelivered)} |")
    print(f"| wall time until every reply | {elapsed:.1f} s |")
    # every reply is an answer or the polite "busy"; only the process running the guild's shard
    # received it, and each answer is recorded there and nowhere else
    ok = (len(acks) == questions and max(acks) < 3000 and len(good) + busy == questions
          and right_shard == questions and recorded == len(good) and wrong_process == 0 and not fake.undelivered)
    if database_url:
        ok = _report_kill(kill, own) and ok
    print("ok" if ok else "FAILED")
    return 0 if ok else 1


async def _kill_and_rebuild(fake: Any, url: str, asked: list[str], replies: list[Any], own: list[str],
                            procs: dict[str, subprocess.Popen[bytes]], me: list[str], env: dict[str, str],
                            tmp: str) -> dict[str, Any]:
    """Votes and own-page answers, then SIGKILL B and start a replacement on a fresh directory."""
    out: dict[str, Any] = {}
    uids = iter(range(6000, 1_000_000))  # one asker per question: no one meets the per-user cooldown
    harbour = "What did Mayor Tomas Eriksen say?"
    # each server with a page of its own answers from it; some answers get a vote
    own_ids = [await fake.slash("ask", [{"name": "question", "type": 3, "value": harbour}],
                                 uid=str(next(uids)), guild=g)
               for g in own]
    own_replies = await asyncio.gather(*(fake.reply_to(iid, timeout=300) for iid in own_ids), return_exceptions=True)
    out["own_before"] = sum(1 for r in own_replies if isinstance(r, dict) and "cranes" in _text(r))
    votes = []
    for reply, guild in [*zip(own_replies, own, strict=True), *zip(replies, asked, strict=True)][:40]:
        found = re.search(r"qabot:fb:up:(\d+)", str((reply["body"] or {}).get("components"))) \
            if isinstance(reply, dict) else None
        if found:
            votes.append(await fake.click(f"qabot:fb:up:{found[1]}", reply["id"], uid=str(next(uids)),
                                         guild=guild))
    voted = await asyncio.gather(*(fake.reply_to(v, timeout=120) for v in votes), return_exceptions=True)
    out["votes"] = sum(1 for r in voted if isinstance(r, dict) and "recorded" in _text(r))
    await asyncio.sleep(1.0)
    before = _rows(url)
    out["before"] = {table: len(keys) for table, keys in before.items()}

    procs["B"].send_signal(signal.SIGKILL)
    procs["B"].wait(30)
    del fake.files["harbour.html"]  # a page fetched again would fail now: the replacement must not need it
    fresh, log = Path(tmp) / "B-replacement", Path(tmp) / "B-replacement.log"
    fresh.mkdir()
    started = time.perf_counter()
    with log.open("wb") as handle:
        procs["B2"] = subprocess.Popen(
            [*me, "serve", "--index-dir", str(fresh), "--shard-count", str(SHARD_COUNT), "--shard-ids",
             PROCESSES["B"]], env=env, stdout=handle, stderr=subprocess.STDOUT)
    b_shards = set(range(int(PROCESSES["B"][0]), int(PROCESSES["B"][-1]) + 1))
    await _wait_shards(log, procs["B2"], b_shards, 300)
    out["ready"] = time.perf_counter() - started
    # B's servers: those with their own page, and one that answers from the default space
    waiting = [(g, harbour, "cranes") for g in own if fake.owner(g) in b_shards]
    waiting += [(g, QUESTION, "Lviv") for g in asked if fake.owner(g) in b_shards][:2]
    out["b_servers"], out["getting_ready"], answered_at = len(waiting), 0, {}
    deadline = time.monotonic() + 600
    while waiting and time.monotonic() < deadline:
        iids = [await fake.slash("ask", [{"name": "question", "type": 3, "value": q}], uid=str(next(uids)),
                                  guild=g)
                for g, q, _ in waiting]
        got = await asyncio.gather(*(fake.reply_to(i, timeout=120) for i in iids), return_exceptions=True)
        still = []
        for (g, q, want), reply in zip(waiting, got, strict=True):
            text = _text(reply) if isinstance(reply, dict) else ""
            if want in text:
                answered_at[g] = time.perf_counter() - started
            else:
                out["getting_ready"] += "getting this server's sources ready" in text
                still.append((g, q, want))
        waiting = still
        if waiting:
            await asyncio.sleep(1.0)
    out["answering"] = max(answered_at.values()) if answered_at else None
    out["answered_again"] = len(answered_at)
    text = log.read_text()
    out["embedded_batches"] = sum(int(n) for n in re.findall(r"bench-embedder: (\d+) sentence", text))
    out["rebuilt"] = [int(n) for n in re.findall(r"rebuilt from the shared registry .*?: (\d+) sentence", text)]
    await asyncio.sleep(1.0)
    after = _rows(url)
    out["after"] = {table: len(keys) for table, keys in after.items()}
    out["missing"] = {table: len(before[table] - after[table]) for table in before}
    return out


def _report_kill(kill: dict[str, Any], own: list[str]) -> bool:
    b, a, missing = kill["before"], kill["after"], kill["missing"]
    print(f"| servers given a page of their own (`/source add`, audited) / answering from it | "
          f"{kill['added']} of {len(own)} / {kill['own_before']} |")
    print(f"| votes recorded | {kill['votes']} |")
    print(f"| replacement for B (SIGKILL, fresh index directory): start until shards ready | {kill['ready']:.1f} s |")
    answering = "never" if kill["answering"] is None else f"{kill['answering']:.1f} s"
    print(f"| start until all {kill['b_servers']} of B's servers checked answer again | {answering} "
          f"({kill['answered_again']} answered; {kill['getting_ready']} \"getting ready\" replies meanwhile) |")
    print(f"| spaces rebuilt from PostgreSQL / sentences embedded anew (rebuild log) | {len(kill['rebuilt'])} / "
          f"{sum(kill['rebuilt'])} |")
    print(f"| sentences the replacement's embedder embedded (questions apart) | {kill['embedded_batches']} |")
    print(f"| rows before the kill / after / missing: answers | {b['answers']} / {a['answers']} / "
          f"{missing['answers']} |")
    print(f"| votes | {b['votes']} / {a['votes']} / {missing['votes']} |")
    print(f"| audit | {b['audit']} / {a['audit']} / {missing['audit']} |")
    return (kill["added"] == len(own) and kill["own_before"] == len(own) and kill["answering"] is not None
            and kill["answered_again"] == kill["b_servers"] and sum(kill["rebuilt"]) == 0
            and kill["embedded_batches"] == 0 and not any(missing.values()) and b["votes"] > 0 and b["audit"] > 0)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        raise SystemExit(child(sys.argv[2:]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guilds", type=int, default=2000)
    parser.add_argument("--questions", type=int, default=400)
    parser.add_argument("--rate", type=float, default=20.0, help="/ask per second (default 20)")
    parser.add_argument("--embedder", choices=("fake", "e5"), default="fake")
    parser.add_argument("--max-pending", type=int, default=None,
                        help="discord.max_pending of each process (default: the default, 100)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--database-url", default=None,
                       help="both processes use this PostgreSQL database; adds the kill-and-rebuild half")
    where.add_argument("--postgres", action="store_true",
                       help="the same, on a throwaway server started (and removed) with .ci/postgres")
    parser.add_argument("--own-sources", type=int, default=16,
                        help="with PostgreSQL: servers whose moderator adds a page of their own (default 16)")
    args = parser.parse_args()
    url = args.database_url
    if args.postgres:
        started = subprocess.run([str(ROOT / ".ci" / "postgres"), "start"], capture_output=True, text=True)
        if started.returncode != 0:
            raise SystemExit(f"--postgres: no server could be started: {started.stderr.strip()}")
        url = started.stdout.strip()
    if url:
        try:
            import psycopg
        except ImportError:
            raise SystemExit("--database-url needs psycopg: pip install 'qabot[postgres]'") from None
        try:
            psycopg.connect(url, connect_timeout=10).close()
        except psycopg.Error as exc:
            raise SystemExit(f"--database-url: cannot connect to {url}: {str(exc).strip()}") from None
    try:
        code = asyncio.run(main(args.guilds, args.questions, args.rate, args.embedder, args.max_pending,
                                url, args.own_sources))
    finally:
        if args.postgres and url:
            subprocess.run([str(ROOT / ".ci" / "postgres"), "stop", url], check=False)
    raise SystemExit(code)
