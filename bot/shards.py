"""Discord shards: which shard serves a server, and the shard ids a process runs (`0-3`, `0,2,5`).

Discord sends a server's events to shard ``(guild_id >> 22) % shard_count`` (direct messages to
shard 0), so while the shard count holds, a server is always served by the same process.
"""

from __future__ import annotations

MAX_SHARDS = 100_000  # far beyond any bot's need; keeps a typo like 0-99999999 from eating memory


def shard_of(guild_id: int | None, shard_count: int) -> int:
    """The shard Discord sends this server's events to (DMs: shard 0)."""
    if guild_id is None or shard_count <= 1:
        return 0
    return (guild_id >> 22) % shard_count


def parse_shard_ids(text: str) -> list[int]:
    """``0-3`` -> [0, 1, 2, 3]; ``0,2,5`` -> [0, 2, 5]; ranges and lists mix (``0-1,4``).
    Raises ValueError with a message for the user on anything else or on a repeated id."""
    ids: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise ValueError(f"{text.strip()!r} has an empty item: give shard ids like 0-3 or 0,2,5.")
        low, dash, high = part.partition("-")
        try:
            first, last = (int(low), int(high)) if dash else (int(part), int(part))
        except ValueError:
            raise ValueError(f"{part!r} is not a shard id or a range like 0-3 (use e.g. 0-3 or 0,2,5).") from None
        if first < 0 or last < 0:
            raise ValueError(f"{part!r}: shard ids are not negative.")
        if last < first:
            raise ValueError(f"{part!r}: a range runs from the lower id to the higher (e.g. 0-3).")
        if last >= MAX_SHARDS:
            raise ValueError(f"{part!r}: shard ids above {MAX_SHARDS - 1} are not supported.")
        ids.extend(range(first, last + 1))
    seen: set[int] = set()
    for i in ids:
        if i in seen:
            raise ValueError(f"shard {i} is listed twice.")
        seen.add(i)
    return sorted(ids)


def shard_problem(shard_count: int, shard_ids: list[int]) -> str | None:
    """Why these shard ids cannot run with this shard count, or None when they can."""
    if shard_count < 1:
        return f"the shard count must be at least 1, got {shard_count}."
    if len(set(shard_ids)) != len(shard_ids):
        return "a shard id is listed twice."
    outside = [i for i in shard_ids if not 0 <= i < shard_count]
    if outside:
        top = "0" if shard_count == 1 else f"0 to {shard_count - 1}"
        return f"shard {outside[0]} does not exist with {shard_count} shard(s): ids run from {top}."
    return None


def describe(shard_ids: list[int]) -> str:
    """[0, 1, 2, 5] -> '0-2, 5' (for logs)."""
    runs: list[str] = []
    for i in sorted(shard_ids):
        if runs and runs[-1].split("-")[-1] == str(i - 1):
            runs[-1] = runs[-1].split("-")[0] + f"-{i}"
        else:
            runs.append(str(i))
    return ", ".join(runs)
