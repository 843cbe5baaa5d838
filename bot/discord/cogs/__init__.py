"""Cogs: `ask` (questions, mentions, feedback) and `admin` (sources, reindex)."""
