"""Opening the store at start: replay the journal into the emulator, start the kept mappings,
then journal from there on."""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from moto.dynamodb.models import dynamodb_backends

from ddbstream.emulator.esm import Engine
from ddbstream.emulator.runtime.logs import put_events
from ddbstream.emulator.server import Emulator
from ddbstream.emulator.store import sqs_hooks
from ddbstream.emulator.store.db import StoreFile, UnreadableStore
from ddbstream.emulator.store.http_journal import JournalingApp, replay_request
from ddbstream.emulator.store.journal import JOURNAL
from ddbstream.emulator.store.mappings import KeptMappings, restore_mappings
from ddbstream.emulator.streams import StreamRegistry

log = logging.getLogger("ddbstream.emulator.store")

UNREADABLE_SUFFIX = ".unreadable"
PROGRESS_EVERY = 500


def open_store(path: Path) -> tuple[StoreFile, str | None]:
    """The store at ``path`` (created when missing); an unreadable one is set aside for a new one.

    Also returns what to tell the user when the old file could not be read.
    """
    try:
        return StoreFile(path), None
    except UnreadableStore as exc:
        aside = path.with_name(path.name + UNREADABLE_SUFFIX)
        for suffix in ("", "-wal", "-shm"):
            source = path.with_name(path.name + suffix)
            if source.exists():
                os.replace(source, aside.with_name(aside.name + suffix))
        note = f"could not read the local store ({exc}): started empty (the old file is kept as {aside.name})"
        return StoreFile(path), note


def restore(
    file: StoreFile,
    emulator: Emulator,
    registry: StreamRegistry,
    engine: Engine,
    progress: Callable[[], None] = lambda: None,
) -> str | None:
    """Replay ``file`` into a daemon that serves nothing yet, then keep every change in it.

    ``progress`` is called every few hundred changes replayed. Returns what came back (None:
    nothing was kept).
    """
    sqs_hooks.install()
    _cache_moto_method_names()
    replayed = failed = 0
    started = time.monotonic()
    with JOURNAL.lock:
        progress()
        for entry in file.entries():
            try:
                JOURNAL.replay(entry, partial(_replay_http, emulator.moto_app))
            except Exception:  # one effect that cannot be redone must not lose the others
                log.exception("replaying a %s entry failed", entry.kind)
                failed += 1
            replayed += 1
            if replayed % PROGRESS_EVERY == 0:
                progress()
        mappings = restore_mappings(file, registry, engine)
        engine.store = KeptMappings(file)
        JOURNAL.file = file
        emulator.moto_entry = JournalingApp(emulator.moto_app, JOURNAL)
    log.info("replayed %d journaled change(s) in %.2f s", replayed, time.monotonic() - started)
    if failed:
        log.warning("%d of %d journaled change(s) could not be replayed", failed, replayed)
    if not replayed:
        return None
    tables = sum(len(backend.tables) for regions in dynamodb_backends.values() for backend in regions.values())
    return f"restored the local stack ({tables} table(s), {mappings} mapping(s))"


def close(file: StoreFile, engine: Engine) -> None:
    """Stop keeping changes (after the daemon drained) and close the file."""
    with JOURNAL.lock:
        JOURNAL.file = None
        engine.store = None
        file.close()


def _cache_moto_method_names() -> None:
    """moto lists a handler class's methods (inspect.getmembers) at every request; they do not
    change once the daemon's patches are in, and the replay makes thousands of requests."""
    import moto.core.responses as moto_responses

    names = moto_responses.method_names_from_class
    if not hasattr(names, "cache_info"):
        moto_responses.method_names_from_class = functools.lru_cache(maxsize=None)(names)


def _replay_http(app: Any, request: bytes) -> None:
    status = replay_request(app, request)
    if status >= 400:
        line = request.split(b"\n", 1)[0]
        raise RuntimeError(f"the replayed request answered {status}: {line[:200]!r}")


def _replay_log_events(written: dict) -> None:
    from moto.logs.models import logs_backends

    if written["account"] is not None:
        backend = logs_backends[written["account"]][written["region"]]
        put_events(backend, written["group"], written["stream"], written["events"])


JOURNAL.register("log-events", _replay_log_events)
