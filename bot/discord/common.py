"""What every part of the Discord layer shares: replies never ping anyone."""

from __future__ import annotations

import discord

NO_PINGS = discord.AllowedMentions.none()
