"""Event source mappings in the store: their definitions and checkpoints, kept as rows.

The engine reports each mapping change and each checkpoint move (esm/engine.py's
``MappingStore``); after a restart each mapping resumes from its checkpoint, so records done
after the last one kept are delivered again (at-least-once, as on AWS).
"""

from __future__ import annotations

import dataclasses
import logging

from ddbstream.emulator.esm import Engine, Mapping, MappingSettings
from ddbstream.emulator.store.db import StoreFile
from ddbstream.emulator.streams import StreamRegistry
from ddbstream.patterns import parse_filter_criteria

log = logging.getLogger("ddbstream.emulator.store")


class KeptMappings:
    """The engine's MappingStore, writing to the store file."""

    def __init__(self, file: StoreFile):
        self.file = file

    def save(self, mapping: Mapping) -> None:
        settings = dataclasses.asdict(mapping.settings)
        del settings["patterns"]  # parsed again from the API's FilterCriteria
        definition = {
            "uuid": mapping.uuid,
            "stream_arn": mapping.stream.arn,
            "api": mapping.api,
            "settings": settings,
            "enabled": mapping.enabled,
            "start": mapping.checkpoint(),  # until a checkpoint is kept: where it started
        }
        self.file.save_mapping(mapping.uuid, definition)

    def forget(self, mapping_uuid: str) -> None:
        self.file.forget_mapping(mapping_uuid)

    def checkpoint(self, mapping_uuid: str, cursor: int) -> None:
        self.file.save_checkpoint(mapping_uuid, cursor)


def restore_mappings(file: StoreFile, registry: StreamRegistry, engine: Engine) -> int:
    """Start every kept mapping from its checkpoint; return how many."""
    count = 0
    for definition, cursor in file.mappings():
        stream = registry.get(definition["stream_arn"])
        if stream is None:
            log.warning("mapping %s: its stream %s is gone; not restored", definition["uuid"], definition["stream_arn"])
            continue
        api = definition["api"]
        criteria = api.get("FilterCriteria")
        settings = MappingSettings(
            **definition["settings"], patterns=parse_filter_criteria(criteria) if criteria else []
        )
        stream.trim()
        if cursor is None:
            cursor = definition["start"]
        # A checkpoint past the stream's end counted records whose write never reached the journal.
        start = min(max(cursor, stream.first_index), stream.end_index)
        engine.add(Mapping(engine, definition["uuid"], stream, api, settings, start, definition["enabled"]))
        count += 1
    return count
