"""What a source change did: the report the CLI prints and the moderator's Discord reply shows."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from bot.feeds import FeedUpdate
from index.store import FeedEntry, SourceEntry


def revision_summary(old: str, new: str) -> str:
    """What changed between two versions, by paragraph: "2 added, 1 removed, 3 edited"."""
    a = [p.strip() for p in old.split("\n\n") if p.strip()]
    b = [p.strip() for p in new.split("\n\n") if p.strip()]
    added = removed = edited = 0
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "insert":
            added += j2 - j1
        elif op == "delete":
            removed += i2 - i1
        elif op == "replace":
            edited += min(i2 - i1, j2 - j1)
            added += max(0, (j2 - j1) - (i2 - i1))
            removed += max(0, (i2 - i1) - (j2 - j1))
    return f"{added} paragraph(s) added, {removed} removed, {edited} edited"


@dataclass
class ChangeReport:
    """What an add/remove/reindex did, for the CLI and the moderator's Discord reply."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    items_failed: dict[str, str] = field(default_factory=dict)  # feed item link -> why (the feed itself is fine)
    waiting: dict[str, str] = field(default_factory=dict)  # id -> why it was not read again this time
    duplicates: dict[str, str] = field(default_factory=dict)  # new id -> id already holding that text
    revisions: dict[str, str] = field(default_factory=dict)
    feeds: dict[str, str] = field(default_factory=dict)  # feed id -> what its refresh did
    manifest: dict[str, object] | None = None

    def merge_feed(self, fid: str, update: FeedUpdate) -> None:
        """One feed's refresh in this report: its new and dropped items, and the failures."""
        self.added.extend(update.added)
        self.removed.extend(update.removed)
        self.duplicates.update(update.duplicates)
        self.items_failed.update(update.failed)
        left_out = "".join(f"; {n} {why}" for n, why in _left_out(update) if n)
        self.feeds[fid] = (f"{len(update.added)} new item(s), {len(update.kept)} unchanged (not fetched again), "
                           f"{len(update.removed)} dropped{left_out}")

    def summary(self) -> str:
        """Short human-readable lines."""
        lines = []
        for label, ids in (("added", self.added), ("updated", self.updated), ("removed", self.removed),
                           ("unchanged", self.unchanged)):
            if ids:
                lines.append(f"{label}: {', '.join(ids)}")
        for sid, change in self.revisions.items():
            lines.append(f"{sid} changed: {change}")
        for fid, change in self.feeds.items():
            lines.append(f"feed {fid}: {change}")
        for sid, other in self.duplicates.items():
            lines.append(f"{sid}: same text as {other}, not added again")
        for sid, error in self.failed.items():
            lines.append(f"{sid} FAILED (previous version still served): {error}")
        for link, error in self.items_failed.items():
            lines.append(f"feed item {link} not added: {error}")
        for sid, why in self.waiting.items():
            lines.append(f"{sid}: {why}")
        if self.manifest:
            counts = self.manifest["counts"]
            assert isinstance(counts, dict)
            lines.append(f"index: {counts['sources']} source(s), {counts['chunks']} passages, "
                         f"{self.manifest['indexed']} sentence(s) indexed by this change")
        return "\n".join(lines) or "nothing changed"


def _left_out(update: FeedUpdate) -> list[tuple[int, str]]:
    """The feed's items not held, by reason, for the moderator."""
    return [
        (update.too_old, "skipped as older than feeds.max_age_days"),
        (update.beyond_max_items, "skipped past the newest feeds.max_items"),
        (update.over_limit, "skipped: this server holds at most sources.max_sources sources"),
        (update.waiting, "failed or duplicated before, waiting to be tried again"),
        (update.moderator_removed, "removed by a moderator, not added again"),
        (update.not_reached, "left for the next refresh (sources.change_deadline_seconds reached)"),
    ]


def registry_state(entries: dict[str, SourceEntry], feeds: dict[str, FeedEntry]) -> tuple[object, ...]:
    """What a refresh can change that is worth a new generation (not the time it was checked)."""
    return (tuple((k, e.source.content_hash, e.status, e.last_error, e.etag, e.last_modified, e.failures, e.retry_at)
                  for k, e in sorted(entries.items())),
            tuple((u, f.title, f.etag, f.last_modified, f.status, f.last_error, f.items)
                  for u, f in sorted(feeds.items())))
