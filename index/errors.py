"""Errors raised by the core, each with a message meant for the person using the bot."""

from __future__ import annotations


class QABotError(Exception):
    """Base class: the message is shown to users as is."""


class SourceError(QABotError):
    """A source could not be read, fetched or understood."""


class IndexMissingError(QABotError):
    """There is no index where one was expected."""


class IndexMismatchError(QABotError):
    """The index on disk cannot be used (other model, other version, damaged files)."""


class BusyError(QABotError):
    """Another reindex is already running."""


class InputError(QABotError):
    """A question or option is not usable."""
