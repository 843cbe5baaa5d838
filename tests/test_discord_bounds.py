"""What the bot keeps per user and per server stays bounded: the cooldown map and the audit log."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.discord.limits import Cooldown
from bot.discord.records import Records


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_cooldown_forgets_users_whose_uses_have_expired() -> None:
    clock = Clock()
    cooldown = Cooldown(2, 60.0, clock)
    for user in range(10_000):  # a crowd, each asking once
        assert cooldown.hit(user) is None
    assert len(cooldown) == 10_000
    clock.now += 30
    assert cooldown.hit(1) is None and cooldown.hit(1) is not None  # still limited within the window
    clock.now += 31  # past the window of the crowd, not of user 1's latest use
    assert cooldown.hit(5) is None
    assert len(cooldown) == 2  # users 1 and 5
    # user 1 is remembered: one use left in the window (at +30 s), then refused
    assert cooldown.hit(1) is None and cooldown.hit(1) is not None


def _age(path: Path, days: int, where: str) -> None:
    db = sqlite3.connect(path)
    with db:
        db.execute(f"UPDATE audit SET at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-{days} days') WHERE {where}")
    db.close()


def test_the_audit_log_is_pruned_by_age_and_by_rows_per_server(tmp_path: Path) -> None:
    records = Records(tmp_path / "bot.sqlite")
    records.audit(1, "mod", 1, "Reindex", "all sources", "ok: long ago")
    _age(tmp_path / "bot.sqlite", 400, "outcome = 'ok: long ago'")
    records.audit(1, "mod", 1, "Reindex", "all sources", "ok: last month")
    _age(tmp_path / "bot.sqlite", 30, "outcome = 'ok: last month'")
    for n in range(50):  # a busy server
        records.audit(2, "spammer", 2, "Reindex", "all sources", f"refused: already running {n}")
    records.audit(3, "mod", None, "Add source", "url", "ok: from a DM space")
    assert records.prune(30) == 0  # answers' retention leaves the audit log alone
    assert len(records.audit_log()) == 53

    assert records.prune(30, audit_retention_days=365, audit_max_rows=20) == 1 + 30
    assert [r[4] for r in records.audit_log(1)] == ["ok: last month"]  # only the one past a year went
    busy = [r[4] for r in records.audit_log(2)]
    assert len(busy) == 20 and busy[-1] == "refused: already running 49"  # its newest kept
    assert [r[4] for r in records.audit_log() if r[4].endswith("DM space")] == ["ok: from a DM space"]
    assert records.prune(30, audit_retention_days=0, audit_max_rows=0) == 0  # 0 keeps
