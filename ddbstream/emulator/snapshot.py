"""The daemon's resources across `down` and `up`: a snapshot written when the daemon stops
gracefully, read (and then deleted) by the next daemon started for the project.

What is kept: every moto backend the pipeline uses (tables and their items and streams,
queues and their messages, functions, log groups and events, topics, buckets, alarms, roles)
and each event source mapping with its settings and checkpoint. What is not: in-flight
retries (a mapping resumes from its lowest checkpoint, so those records are delivered
again: at-least-once, as on AWS), and anything after a daemon is killed (no snapshot then;
the next daemon starts empty, never from an older snapshot).

The file is a pickle of moto's objects: it is only read back by the same ddbstream, moto and
Python versions (otherwise the daemon starts empty and says why). It lives, mode 0600, in the
project's .ddbstream/ directory, beside the handler code the daemon runs anyway.
"""

from __future__ import annotations

import collections
import copyreg
import logging
import os
import pickle
import sys
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("ddbstream.emulator")

FORMAT = 1


@dataclass
class SavedMapping:
    """What restores one event source mapping: its identity, settings, state and checkpoint."""

    uuid: str
    stream_arn: str
    api: dict
    settings: Any  # esm.MappingSettings
    cursor: int  # the lowest checkpoint of its lanes: the next record not yet done
    enabled: bool


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    return {
        "format": str(FORMAT),
        "ddbstream": version("ddbstream"),
        "moto": version("moto"),
        "python": ".".join(map(str, sys.version_info[:2])),
    }


# moto's objects hold a few things pickle cannot take as they are: locks (new ones will do),
# weak-value maps (their values are held elsewhere in the same backend) and defaultdicts made
# with a lambda (the lambdas build empty builtin containers).
def _new_rlock() -> Any:
    return threading.RLock()


def _new_lock() -> Any:
    return threading.Lock()


def _defaultdict(factory: Any, items: dict) -> collections.defaultdict:
    rebuilt = collections.defaultdict(factory)
    rebuilt.update(items)
    return rebuilt


def _reduce_defaultdict(value: collections.defaultdict) -> tuple:
    factory = value.default_factory
    if factory is not None and getattr(factory, "__name__", "") == "<lambda>":
        factory = type(factory())
    return _defaultdict, (factory, dict(value))


class _Pickler(pickle.Pickler):
    dispatch_table = copyreg.dispatch_table.copy()
    dispatch_table[type(threading.RLock())] = lambda _: (_new_rlock, ())
    dispatch_table[type(threading.Lock())] = lambda _: (_new_lock, ())
    dispatch_table[weakref.WeakValueDictionary] = lambda value: (weakref.WeakValueDictionary, (dict(value),))
    dispatch_table[collections.defaultdict] = _reduce_defaultdict


def save(emulator: Any, path: Path) -> bool:
    """Write the snapshot (after the engine drained); False when the project directory is gone."""
    from moto.backends import get_backend

    from ddbstream.emulator.server import PIPELINE_SERVICES

    if not path.parent.is_dir():
        return False  # the project was deleted: nothing to come back to
    mappings = [
        SavedMapping(m.uuid, m.stream.arn, m.api, m.settings, min(lane.cursor for lane in m.lanes), m.enabled)
        for m in emulator.components["esm"].all()
    ]
    document = {
        "versions": _versions(),
        "backends": {service: dict(get_backend(service)) for service in PIPELINE_SERVICES},
        "mappings": mappings,
    }
    partial = path.with_name(path.name + ".tmp")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        _Pickler(handle, protocol=pickle.HIGHEST_PROTOCOL).dump(document)
    os.replace(partial, path)
    log.info("saved %d bytes to %s for the next 'up'", path.stat().st_size, path)
    return True


def restore(emulator: Any, path: Path) -> str | None:
    """Load the snapshot into a daemon that serves nothing yet, then delete it.

    Returns what to tell the user: what came back, or why nothing did (None: no snapshot).
    """
    if not path.is_file():
        return None
    try:
        try:
            document = pickle.loads(path.read_bytes())
            saved, wanted = document["versions"], _versions()
        except Exception as exc:  # a truncated or foreign file: start empty, say so
            return f"could not read the saved stack ({type(exc).__name__}): started empty"
        if saved != wanted:
            return (
                f"the saved stack was written by ddbstream {saved.get('ddbstream')} / moto "
                f"{saved.get('moto')} / Python {saved.get('python')}: started empty"
            )
        _restore_backends(document["backends"])
        restored = _restore_streams_and_mappings(emulator, document["mappings"])
        return f"restored the stack saved by 'down' ({restored})"
    finally:
        path.unlink(missing_ok=True)  # consumed: a crash later must not bring this state back


def _restore_backends(backends: dict[str, dict]) -> None:
    from moto.backends import get_backend

    for service, accounts in backends.items():
        backend = get_backend(service)
        backend.clear()
        backend.update(accounts)


def _restore_streams_and_mappings(emulator: Any, mappings: list[SavedMapping]) -> str:
    from moto.dynamodb.models import dynamodb_backends

    from ddbstream.emulator.esm import Mapping

    registry = emulator.components["streams"]
    tables = 0
    for regions in dynamodb_backends.values():
        for backend in regions.values():
            for table in backend.tables.values():
                tables += 1
                stream = getattr(table.stream_shard, "_ddbstream", None) if table.stream_shard else None
                if stream is not None:
                    registry.add(stream)
    engine = emulator.components["esm"]
    count = 0
    for saved in mappings:
        stream = registry.get(saved.stream_arn)
        if stream is None:
            log.warning("mapping %s: its stream %s is gone; not restored", saved.uuid, saved.stream_arn)
            continue
        engine.add(Mapping(engine, saved.uuid, stream, saved.api, saved.settings, saved.cursor, saved.enabled))
        count += 1
    return f"{tables} table(s), {count} mapping(s)"
