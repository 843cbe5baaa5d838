"""The PostgreSQL schema, as numbered migrations: never edit one that has shipped, add the next.

A space is the default space (0) or a Discord server (its id). Times are ISO 8601 text in UTC,
as in the SQLite files, so that both backends compare and order them alike.
"""

from __future__ import annotations

_V1 = """
CREATE TABLE spaces (
    space BIGINT PRIMARY KEY, revision BIGINT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE sources (
    space BIGINT NOT NULL REFERENCES spaces(space) ON DELETE CASCADE,
    id TEXT NOT NULL, kind TEXT NOT NULL, location TEXT NOT NULL, title TEXT NOT NULL,
    url TEXT, publisher TEXT, date TEXT, content_hash TEXT NOT NULL, text TEXT NOT NULL,
    added_by TEXT, added_at TEXT NOT NULL, indexed_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'ok', last_error TEXT, previous_text TEXT,
    feed TEXT, pages TEXT, etag TEXT, last_modified TEXT, failures INTEGER NOT NULL DEFAULT 0,
    retry_at DOUBLE PRECISION,
    PRIMARY KEY (space, id)
);
CREATE TABLE feeds (
    space BIGINT NOT NULL REFERENCES spaces(space) ON DELETE CASCADE,
    url TEXT NOT NULL, id TEXT NOT NULL, title TEXT NOT NULL, etag TEXT, last_modified TEXT,
    refreshed_at TEXT, status TEXT NOT NULL DEFAULT 'ok', last_error TEXT, added_by TEXT, added_at TEXT NOT NULL,
    items TEXT,
    PRIMARY KEY (space, url)
);
CREATE TABLE embeddings (
    model TEXT NOT NULL, hash TEXT NOT NULL, vec BYTEA NOT NULL, PRIMARY KEY (model, hash)
);
CREATE TABLE answers (
    id BIGSERIAL PRIMARY KEY, at TEXT NOT NULL, user_id BIGINT, channel_id BIGINT,
    question TEXT NOT NULL, answer_json TEXT NOT NULL, guild_id BIGINT, message_id BIGINT
);
CREATE INDEX answers_guild_at ON answers (guild_id, at);
CREATE INDEX answers_message ON answers (message_id);
CREATE INDEX answers_channel ON answers (channel_id);
CREATE TABLE feedback (
    answer_id BIGINT NOT NULL REFERENCES answers(id), user_id BIGINT NOT NULL, vote TEXT NOT NULL,
    question TEXT NOT NULL, answer TEXT NOT NULL, at TEXT NOT NULL, guild_id BIGINT,
    PRIMARY KEY (answer_id, user_id)
);
CREATE INDEX feedback_guild_at ON feedback (guild_id, at);
CREATE TABLE audit (
    id BIGSERIAL PRIMARY KEY, at TEXT NOT NULL, user_id BIGINT, user_name TEXT,
    guild_id BIGINT, action TEXT NOT NULL, detail TEXT, outcome TEXT NOT NULL
);
CREATE INDEX audit_guild ON audit (guild_id, id);
CREATE TABLE maintenance (
    name TEXT PRIMARY KEY, last_run TEXT NOT NULL
);
"""

# (version, what it does, SQL); applied in order, each once, by bot.db.postgres.Database.migrate
MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "spaces, sources, feeds, embeddings, answers, feedback, audit", _V1),
]
