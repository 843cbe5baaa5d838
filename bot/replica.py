"""Indexes are caches (``database.url``): a space's local generation is rebuilt from the shared
registry whenever it is missing or was built from another revision of it.

A process handed a server it has no index for (a shard moved, a machine was replaced) builds
it from PostgreSQL: the registry gives every source's text and the feeds, the shared embedding
cache every vector, so nothing is fetched or embedded again. While that runs in the background
(the bot), the server's members are told politely that it is getting ready; the CLI waits.
A stale generation keeps answering until its replacement is live.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from index.errors import BusyError, QABotError
from index.speakers import ATTRIBUTION_VERSION
from index.store import build_lock, live_generation, write_generation

if TYPE_CHECKING:
    from bot.live import LiveIndex

log = logging.getLogger(__name__)

CHECK_EVERY_SECONDS = 60.0  # how often a loaded space asks whether the shared registry moved on
REVISION = "registry_revision"


class PreparingError(QABotError):
    """The space's index is being built on this machine; ask again shortly."""


GETTING_READY = ("I'm getting this server's sources ready on this machine; that takes a minute or so. "
                 "Please ask again shortly.")


def local_revision(index_dir: Path) -> int | None:
    """The registry revision the live local generation was built from (None: none, or unstamped)."""
    import json

    gen = live_generation(index_dir)
    if gen is None:
        return None
    try:
        value = json.loads((gen / "manifest.json").read_text()).get(REVISION)
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None


def rebuild(service: LiveIndex) -> dict[str, object] | None:
    """Write the space's generation from the shared registry (None: it has no registry there)."""
    stores = service.stores
    assert stores is not None
    stored = stores.registry.load(service.space)
    if stored is None:
        return None
    # a change of this space (which holds its lock) found the index missing: it is rebuilt inside it
    inside = service.locked_by == threading.get_ident()
    with contextlib.nullcontext() if inside else build_lock(service.index_dir):
        if local_revision(service.index_dir) == stored.revision:
            return None  # built meanwhile (by another thread of this process)
        assert service.prepare is not None, "bot.building.Builder sets it"
        inputs = [service.prepare(entry) for entry in stored.entries]
        manifest = write_generation(
            service.index_dir, inputs, service.embedder, attribution_version=ATTRIBUTION_VERSION,
            cache=stores.cache, feeds=stored.feeds, approximate_from=service.settings.index.approximate_from,
            stamp={REVISION: stored.revision},
        )
    log.info("space %s rebuilt from the shared registry (revision %s): %s sentence(s) embedded anew",
             service.space or "default", stored.revision, manifest["embedded"])
    return manifest


class Readiness:
    """Per space: when the registry was last compared, and the background rebuild, if one runs."""

    def __init__(self) -> None:
        self.checked_at = 0.0
        self.thread: threading.Thread | None = None
        self.failed: str | None = None
        self.lock = threading.Lock()


def ensure_ready(service: LiveIndex, readiness: Readiness, *, loaded: bool) -> None:
    """Before answering from the local generation: rebuild it if the shared registry moved on.

    ``loaded``: a generation is already in memory (then the registry is asked at most every
    ``CHECK_EVERY_SECONDS``). With ``service.background`` (the bot) a missing index is built in
    a thread and PreparingError raised meanwhile; a stale one keeps answering until replaced.
    """
    stores = service.stores
    if stores is None or not stores.registry.shared:
        return
    now = time.monotonic()
    if loaded and now - readiness.checked_at < CHECK_EVERY_SECONDS:
        return
    try:
        wanted = stores.registry.revision(service.space)
    except QABotError:
        if live_generation(service.index_dir) is None:
            raise  # nothing to answer from: the member is told the database cannot be reached
        log.warning("cannot ask PostgreSQL whether space %s changed; answering from the local index",
                    service.space or "default", exc_info=True)
        readiness.checked_at = now
        return
    readiness.checked_at = now
    if wanted is None or wanted == local_revision(service.index_dir):
        return  # nothing shared for this space yet (a first build makes it), or up to date
    present = live_generation(service.index_dir) is not None
    # the default space answers DMs and every server without sources of its own: the bot builds
    # it before it serves (at warm-up); a change of this space rebuilds inside its lock
    if not service.background or service.locked_by == threading.get_ident() or (service.space is None
                                                                                 and not present):
        rebuild(service)
        return
    with readiness.lock:
        if readiness.thread is None or not readiness.thread.is_alive():
            readiness.failed = None
            readiness.thread = threading.Thread(target=_rebuild_quietly, args=(service, readiness), daemon=True,
                                                name=f"qabot-ready-{service.space or 'default'}")
            readiness.thread.start()
    if not present:
        raise PreparingError(GETTING_READY)


def _rebuild_quietly(service: LiveIndex, readiness: Readiness) -> None:
    try:
        rebuild(service)
    except BusyError:
        readiness.checked_at = 0.0  # a change of this space is writing it: look again next time
    except Exception as exc:  # noqa: BLE001 - logged; the next question tries again
        readiness.failed = str(exc)
        readiness.checked_at = 0.0
        log.exception("rebuilding space %s from the shared registry failed", service.space or "default")
