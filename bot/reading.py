"""Reading sources: the configured files, the bundled article, URLs (articles or feeds), and
reading a source again from where it came from, each with the configured limits."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from bot.change import Running, public_reason
from bot.config import Settings
from index.errors import QABotError, SourceError
from index.feeds import FEED_TYPES, XML_TYPES, FeedDoc, is_feed, parse_feed
from index.fetch import ACCEPTED_TYPES, Deadline, Fetched, article, fetch
from index.pdf import PDF_SECONDS
from index.sources import expand_paths, read_file, slugify
from index.store import SourceEntry
from index.types import Source

log = logging.getLogger(__name__)

BUNDLED_ARTICLE = Path(__file__).parent / "data" / "article.txt"
BUNDLED_META: dict[str, str | None] = {"publisher": "Al Jazeera", "date": "2022-02-14"}


def bundled_source() -> Source:
    """The article that ships with qabot, with its publication metadata."""
    source = read_file(BUNDLED_ARTICLE, kind="bundled", meta=BUNDLED_META)
    return Source(**{**source.__dict__, "id": slugify(source.title, 40), "location": "bundled:article.txt"})


def read_paths(paths: list[Path]) -> list[Source]:
    """Read files and directories of files; the first unreadable one stops the build."""
    seen: set[str] = set()
    unique = []
    for src in (read_file(p) for p in expand_paths(paths)):
        if src.content_hash in seen:
            continue  # the same text named twice is indexed once
        seen.add(src.content_hash)
        unique.append(src)
    return unique


def configured_sources(settings: Settings) -> list[Source]:
    """The sources named in the config (the bundled article unless turned off)."""
    sources = [bundled_source()] if settings.sources.include_bundled else []
    if settings.sources.paths:
        sources.extend(read_paths([settings.resolve(p) for p in settings.sources.paths]))
    if not sources:
        raise SourceError("No sources are configured: name some in sources.paths or pass them on the command line.")
    return sources


def failure_reason(exc: Exception, location: str) -> str:
    """One item's failure, in one short line (anything unexpected also goes to the log, in full)."""
    if isinstance(exc, QABotError):
        return str(exc)
    log.error("reading %s failed", location, exc_info=exc)
    return f"{location} could not be read ({type(exc).__name__}); the error has been logged."


class SourceReader:
    """Fetches and reads for one space; during a change, each read gets at most the time it has left."""

    def __init__(self, settings: Settings, for_server: bool, running: Running) -> None:
        self.settings = settings
        self.for_server = for_server  # a server sees no address the bot resolved; the operator does
        self.running = running

    def _fetch_options(self) -> dict[str, Any]:
        """The configured limits; a fetch during a change gets at most the time it has left.
        ``fetch.allowed_hosts`` (the operator's intranet) is for the default space only."""
        settings = self.settings.fetch
        timeout = settings.timeout_seconds
        if self.running.now is not None:
            timeout = self.running.now.timeout(timeout)
        hosts = settings.guild_allowed_hosts if self.for_server else settings.allowed_hosts
        return {"timeout": timeout, "max_bytes": settings.max_bytes, "allowed_hosts": tuple(hosts)}

    def _reading(self) -> dict[str, Any]:
        """A PDF read during a change gets its own budget (``PDF_SECONDS``) or, if less, what the
        change has left; outside a change, its own budget."""
        change = self.running.now
        if change is None or change.deadline is None:
            return {}
        return {"deadline": Deadline(change.timeout(PDF_SECONDS))}

    def get(self, url: str, accept: tuple[str, ...], etag: str | None = None,
            last_modified: str | None = None) -> Fetched:
        """One download with the configured limits (a conditional request given the validators)."""
        try:
            return fetch(url, **self._fetch_options(), accept=accept, etag=etag, last_modified=last_modified)
        except SourceError as exc:
            raise (SourceError(public_reason(str(exc), url)) if self.for_server else exc) from None

    def fetch(self, url: str) -> Source:
        """Fetch an article with the configured limits."""
        return article(self.get(url, ACCEPTED_TYPES), url, **self._reading())

    def read_url(self, url: str) -> Source | FeedDoc:
        """An article, or an RSS/Atom feed (recognised by content type or root element)."""
        got = self.get(url, ACCEPTED_TYPES + FEED_TYPES + XML_TYPES)
        if is_feed(got.content_type, got.data):
            return parse_feed(got.data, url, got.etag, got.last_modified)
        if got.content_type.startswith(XML_TYPES + FEED_TYPES):
            raise SourceError(f"{url} is XML but not an RSS or Atom feed.")
        return article(got, url, **self._reading())

    def read_feed(self, url: str, etag: str | None, last_modified: str | None) -> FeedDoc | None:
        """A followed feed read again with a conditional request (None: not modified)."""
        got = self.get(url, FEED_TYPES + XML_TYPES, etag, last_modified)
        return None if got.not_modified else parse_feed(got.data, url, got.etag, got.last_modified)

    def reread(self, entry: SourceEntry) -> tuple[Source | None, tuple[str | None, str | None]]:
        """The source read again (None: cannot be, or not modified) and the URL's new validators."""
        source = entry.source
        if source.kind == "bundled":
            return bundled_source(), (None, None)
        if source.kind == "file":
            return read_file(Path(source.location), **self._reading()), (None, None)
        if source.kind == "url":
            got = self.get(source.location, ACCEPTED_TYPES, entry.etag, entry.last_modified)
            if got.not_modified:
                return None, (got.etag, got.last_modified)
            return article(got, source.location, **self._reading()), (got.etag, got.last_modified)
        return None, (None, None)  # attachments cannot be read again; feed items come with their feed
