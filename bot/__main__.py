"""`python -m bot` does what `qabot` does."""

from bot.cli import entry

entry()
