"""Coverage gaps: the questions a server's members could not get answered, grouped by meaning.

Read from the records the Discord bot keeps (``bot.sqlite``: each answer shown, each 👍/👎);
the CLI reads the same file. A question counts when it was declined or got a 👎. Questions are
embedded with the space's own embedder and grouped by a one-pass threshold clustering: each joins
the group whose mean is closest, if its cosine is at least THRESHOLD and the two do not name
different people or places, else starts one. The threshold was chosen on labelled paraphrase
groups by ``bench/gap_threshold.py`` (see docs/eval.md). Each group's representative is asked
again against the current index, so a gap that a source added since then closes is shown as
answered.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from bot.discord.records import Records
from bot.service import QAService
from index.errors import InputError
from index.question import analyse

THRESHOLD = 0.92  # multilingual-e5-small, question to question; measured in docs/eval.md
DEFAULT_DAYS = 7
MAX_GROUPS = 25
REASONS = {  # Answer.declined_by -> what a moderator reads
    "unknown_name": "a name in no source",
    "not_quoted": "that person is never quoted",
    "off_topic": "nothing from them on that topic",
    "low_confidence": "no passage answered it well enough",
    "no_passage": "no passage close enough",
    "unverified": "a citation failed verification",
}
DOWNVOTE = "👎 on the answer"


@dataclass(frozen=True)
class Gap:
    """Questions that mean the same thing and were not (well) answered."""

    representative: str
    questions: list[str]  # the distinct wordings, most asked first
    asked: int  # how many times
    members: int  # by how many distinct members (askers without a recorded id count once each)
    reasons: dict[str, int]
    last_asked: str
    answered: bool | None = None  # asked again now (None: not asked again); an answer that got a 👎 is not one
    answered_by: list[str] = field(default_factory=list)  # source ids of the answer it gets now


@dataclass(frozen=True)
class Gaps:
    """The coverage gaps of one server over a window."""

    guild_id: int | None
    days: float
    since: str
    questions: int  # declined or 👎 questions in the window
    groups: list[Gap]  # the first ``limit``
    found: int = 0  # how many groups there are in all

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def window_days(days: float, retention_days: int) -> float:
    """The window actually readable: records older than records.retention_days are gone (or going)."""
    if days <= 0:
        raise InputError("--days must be more than 0.")
    return min(days, retention_days) if retention_days > 0 else days


Names = tuple[frozenset[str], ...]


def names_of(question: str) -> Names:
    """The names an English question uses, each as the ways it may be written and its last word
    ("Emmanuel Macron" also as "macron"; "EU" also as "european union"; "Lviv's" as "lviv");
    none for a question in another language (German capitalises every noun): grouped by meaning alone."""
    q = analyse(question)
    if not q.english:
        return ()
    out = []
    for name in q.names:
        forms = [tuple(w for w in f if w != "s") for f in name.forms]
        out.append(frozenset({" ".join(f) for f in forms if f} | {f[-1] for f in forms if f}))
    return tuple(out)


def same_names(a: Names, b: Names) -> bool:
    """False only when both questions name someone or something and no name is shared ("the mayor of
    Lviv" and "the mayor of Kyiv"); a name missed by the analysis must not split a group."""
    if not a or not b:
        return True
    return any(x & y for x in a for y in b)


def cluster(vectors: np.ndarray, threshold: float = THRESHOLD, names: list[Names] | None = None) -> list[list[int]]:
    """Groups of row indices: each row joins the group whose (unit) mean vector is closest, if that
    cosine is at least ``threshold`` (and, with ``names``, if it names the same people and places as
    every member: "the mayor of Lviv" is not "the mayor of Kyiv", however close in meaning), else
    starts a new group. Rows are taken in order."""
    groups: list[list[int]] = []
    sums: list[np.ndarray] = []
    for i, v in enumerate(np.asarray(vectors, dtype=np.float32)):
        best, best_cos = -1, threshold
        for g, total in enumerate(sums):
            if names is not None and not all(same_names(names[i], names[j]) for j in groups[g]):
                continue
            cos = float(v @ total) / (float(np.linalg.norm(total)) or 1.0)
            if cos > best_cos or best < 0 and cos >= threshold:  # a tie goes to the older group
                best, best_cos = g, cos
        if best < 0:
            groups.append([i])
            sums.append(v.copy())
        else:
            groups[best].append(i)
            sums[best] += v
    return groups


@dataclass(frozen=True)
class _Asked:
    at: str
    user_id: int | None
    question: str
    reasons: tuple[str, ...]
    disliked: str | None  # the answer text that got a 👎


def _unanswered(rows: list[tuple[int, str, int | None, str, str, int]]) -> list[_Asked]:
    out = []
    for _, at, user_id, question, answer_json, downs in rows:
        try:
            answer = json.loads(answer_json)
        except json.JSONDecodeError:
            continue
        reasons = []
        if not answer.get("found", True):
            code = answer.get("declined_by") or ""
            reasons.append(REASONS.get(code, code or "declined"))
        if downs:
            reasons.append(DOWNVOTE)
        if reasons:
            # a follow-up in a thread is grouped as it was understood ("and Blinken?" alone means nothing)
            out.append(_Asked(at, user_id, answer.get("understood_as") or question, tuple(reasons),
                              answer.get("answer") if downs else None))
    return out


def coverage_gaps(records: Records, space: QAService, guild_id: int | None, days: float = DEFAULT_DAYS, *,
                  retention_days: int = 0, threshold: float = THRESHOLD, limit: int = MAX_GROUPS,
                  ask_again: bool = True, now: float | None = None) -> Gaps:
    """The gaps of ``guild_id`` (None: direct messages) over the last ``days``, most members first.

    Only that server's records are read. Blocking (embeds, and asks each shown group again).
    """
    days = window_days(days, retention_days)
    now = time.time() if now is None else now
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - days * 86400))
    asked = _unanswered(records.asked_since(guild_id, since))
    if not asked:
        return Gaps(guild_id, days, since, 0, [])
    vectors = space.embedder.embed_query([a.question for a in asked])
    groups = []
    for members in cluster(vectors, threshold, [names_of(a.question) for a in asked]):
        items = [asked[i] for i in members]
        mean = np.asarray(vectors[members], dtype=np.float32).mean(axis=0)
        central = max(members, key=lambda i: (float(vectors[i] @ mean), asked[i].at))
        wordings = Counter(a.question for a in items)
        askers = {a.user_id for a in items if a.user_id is not None}
        reasons = Counter(r for a in items for r in a.reasons)
        disliked = {a.disliked for a in items if a.disliked is not None}
        groups.append((disliked, Gap(asked[central].question, [q for q, _ in wordings.most_common()], len(items),
                          len(askers) + sum(1 for a in items if a.user_id is None), dict(reasons.most_common()),
                          max(a.at for a in items))))
    groups.sort(key=lambda dg: (-dg[1].members, -dg[1].asked, _desc(dg[1].last_asked)))
    shown = [_asked_again(space, gap, disliked) if ask_again else gap for disliked, gap in groups[:limit]]
    return Gaps(guild_id, days, since, len(asked), shown, len(groups))


def _desc(at: str) -> tuple[int, ...]:
    return tuple(-ord(c) for c in at)


def _asked_again(space: QAService, gap: Gap, disliked: set[str]) -> Gap:
    """The representative asked against the current index: answered now (by something else than
    an answer that got a 👎), and from which sources."""
    try:
        answer = space.ask(gap.representative)
    except InputError:
        return gap
    answered = answer.found and answer.answer not in disliked
    sources = list(dict.fromkeys(c.source_id for c in answer.citations)) if answered else []
    return Gap(**{**asdict(gap), "answered": answered, "answered_by": sources})
