"""The Discord layer's pure parts: embeds within every limit, the work queue, records kept and pruned."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.discord.limits import WorkQueue
from bot.discord.records import Records
from bot.discord.render import LINK_LABEL, answer_embed, check_limits, passages_embed, sources_embed
from index.links import public_url, text_fragment_link

CJK = "德国总理朔尔茨周一在基辅表示，乌克兰加入北约的问题目前并不在议程上，各方应当继续通过外交途径解决危机。"


def _citation(n: int, url: str | None, text: str) -> dict[str, Any]:
    return {"n": n, "source_id": f"s{n}", "title": "标题 " * 200, "section": "节" * 500, "paragraph": 3,
            "start": 0, "end": len(text), "text": text, "url": public_url(url) if url else None,
            "sentences": [{"start": 0, "end": len(text), "text": text, "entities": [["GPE", "基辅"]]}],
            "link": text_fragment_link(url, text)}


def _answer(citations: list[dict[str, Any]]) -> dict[str, Any]:
    return {"question": "问题" * 300, "found": True, "answer_types": ["GPE"],
            "answer": " ".join(f"{c['sentences'][0]['text']} [{c['n']}]" for c in citations),
            "citations": citations, "timings_ms": {"total": 12.0}}


def test_a_long_non_latin_url_and_cjk_text_never_break_discord_limits() -> None:
    long_url = "https://例え.jp/ニュース/" + "記事" * 400 + "?token=SECRET#top"
    short_url = "https://user:pw@news.example/ukraine/朔尔茨?session=SECRET"
    citations = [_citation(1, long_url, CJK * 30), _citation(2, short_url, CJK * 30), _citation(3, None, CJK)]
    embed = answer_embed(_answer(citations), 3)
    check_limits(embed)  # raises on any breach
    text = embed.description or ""
    assert "[[1]](" not in text and "記事" not in text  # too long to fit whole: dropped, not cut
    assert "[[2]](https://news.example/ukraine/" in text  # [2] opens its sentence
    assert "SECRET" not in str(embed.to_dict()) and "user:pw" not in str(embed.to_dict())
    assert "**基辅**" in text  # the asked-for place, bold even in CJK text
    assert len(embed.title or "") <= 256 and embed.title.startswith("问题")
    (sources,) = embed.fields  # one compact field: a line per source, titles clipped
    assert sources.name == "Sources" and len((sources.value or "").splitlines()) == 3
    assert all(len(line) <= 1024 // 5 for line in (sources.value or "").splitlines())
    assert "chars" not in str(embed.to_dict())  # offsets stay in the JSON and the private passages
    private = passages_embed(_answer(citations))
    check_limits(private)
    assert "chars 0–" in (private.description or "") and LINK_LABEL in (private.description or "")


def test_many_long_citations_are_fitted_into_6000_characters() -> None:
    citations = [_citation(n, "https://news.example/a", CJK * 40) for n in range(1, 10)]
    embed = answer_embed(_answer(citations), 9)
    assert len(embed) <= 6000
    check_limits(embed)


def test_check_limits_fails_on_a_breach() -> None:
    import discord

    embed = discord.Embed(description="x")
    embed.add_field(name="n", value="v" * 1025)
    with pytest.raises(ValueError, match="Discord's limits"):
        check_limits(embed)


def test_public_urls_drop_credentials_and_secret_query_parameters() -> None:
    assert public_url("https://u:p@Example.com:8443/a/b?key=1#x") == "https://example.com:8443/a/b"
    assert public_url("http://[2001:db8::1]/x?y") == "http://[2001:db8::1]/x?y"  # a plain parameter is kept


def test_failure_details_only_for_moderators() -> None:
    row = SimpleNamespace(id="feed-1", title="Feed", chunks=3, indexed_at="2026-11-28", status="failed",
                          last_error="could not reach http://intranet.local/secret")
    assert "intranet" not in (sources_embed([row]).description or "")
    assert "intranet" in (sources_embed([row], details=True).description or "")


def test_work_queue_bounds_per_server_and_in_total() -> None:
    queue = WorkQueue(total=3, per_key=2)
    assert queue.enter(1) and queue.enter(1)
    assert not queue.enter(1)  # server 1 is at its bound
    assert queue.enter(2)
    assert not queue.enter(3)  # the whole bot is at its bound
    queue.leave(1)
    assert queue.enter(3)
    for key in (1, 2, 3):
        queue.leave(key)
    assert queue.running == 0 and queue.enter(1)


def test_records_are_pruned_after_the_retention_period(tmp_path: Path) -> None:
    records = Records(tmp_path / "bot.sqlite")
    old = records.save_answer(1, 42, 7, "old question", {"question": "old question", "answer": "a"})
    new = records.save_answer(1, 42, 7, "new question", {"question": "new question", "answer": "b"})
    records.save_feedback(old, 42, "up", 1)
    records.save_feedback(new, 42, "down", 1)
    records.audit(42, "mod", 1, "Reindex", "", "ok")
    db = sqlite3.connect(tmp_path / "bot.sqlite")
    with db:
        db.execute("UPDATE answers SET at = '2020-01-01T00:00:00Z' WHERE id = ?", (old,))
    db.close()
    assert records.prune(30) == 2  # the old answer and the vote on it
    assert records.answer(old, 1) is None and records.answer(new, 1) is not None
    assert [r[3] for r in records.feedback(1)] == ["new question"]
    assert len(records.audit_log()) == 1  # the moderation log is kept
    assert records.prune(0) == 0  # 0 keeps everything


def test_a_database_from_before_servers_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite"
    db = sqlite3.connect(path)
    with db:
        db.executescript("""
            CREATE TABLE answers (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, user_id INTEGER,
                channel_id INTEGER, question TEXT NOT NULL, answer_json TEXT NOT NULL);
            CREATE TABLE feedback (answer_id INTEGER NOT NULL, user_id INTEGER NOT NULL, vote TEXT NOT NULL,
                question TEXT NOT NULL, answer TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (answer_id, user_id));
            INSERT INTO answers (at, user_id, channel_id, question, answer_json)
                VALUES ('2026-11-27T00:00:00Z', 1, 2, 'q', '{"question": "q", "answer": "a"}');
        """)
    db.close()
    records = Records(path)
    assert records.answer(1, None) == {"question": "q", "answer": "a"}  # old rows belong to no server
    assert records.answer(1, 5) is None
    assert records.save_answer(5, 1, 2, "q2", {"question": "q2", "answer": "b"}) == 2
