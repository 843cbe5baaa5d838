"""Answer channels (discord.answer_channel_ids): which messages there are questions to answer."""

from __future__ import annotations

import re
from collections.abc import Collection

import discord

from index.interrogatives import is_question

_MENTION = re.compile(r"<(?:@[!&]?|#)\d+>")  # a user, role or channel mention: not part of the question


def channel_question(message: discord.Message, channel_ids: Collection[int]) -> str | None:
    """The question to answer for a message that does not mention the bot, or None (not an answer
    channel, or chatter). In a forum among ``channel_ids``, a new post is always answered (its
    title, or its text when only that is a question); in a channel, or a thread in one, a
    message is answered when it is a question (index.interrogatives)."""
    if not channel_ids:
        return None
    channel = message.channel
    parent_id = getattr(channel, "parent_id", None) if isinstance(channel, discord.Thread) else None
    if channel.id not in channel_ids and parent_id not in channel_ids:
        return None
    content = " ".join(_MENTION.sub(" ", message.content).split())
    if isinstance(channel, discord.Thread) and message.id == channel.id and \
            isinstance(channel.parent, discord.ForumChannel):
        title = channel.name.strip()
        return title if is_question(title) or not is_question(content) else content
    return content if content and is_question(content) else None
