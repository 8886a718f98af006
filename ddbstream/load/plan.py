"""The write plan: a reproducible list of puts, updates and deletes over many keys, one writer per key."""

from __future__ import annotations

import base64
import json
import random
import zlib
from dataclasses import dataclass
from typing import Any

from ddbstream.errors import InvalidInput

RUN_ATTRIBUTE = "load_run"
INDEX_ATTRIBUTE = "load_n"  # the write's position in the plan
VERSION_ATTRIBUTE = "load_v"  # how many writes the key has had
MAX_WORKERS = 64


@dataclass(frozen=True)
class Write:
    index: int
    op: str  # put | update | delete
    key: dict[str, Any]  # typed DynamoDB key
    key_id: str  # canonical text of the key (see key_id())
    version: int  # the key's write count after this write
    worker: int


def key_id(typed_key: dict[str, Any]) -> str:
    """A canonical text for a typed key (binary values as base64), equal for a write and its stream record."""

    def plain(value: Any) -> Any:
        if isinstance(value, (bytes, bytearray)):
            return base64.b64encode(bytes(value)).decode()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return json.dumps(plain(typed_key), sort_keys=True)


def _key_value(kind: str, run: str, number: int, part: str) -> dict[str, Any]:
    if kind == "N":
        return {"N": str((zlib.crc32(run.encode()) % 100_000) * 10_000_000 + number)}
    text = f"load-{run}-{number:06d}" if part == "hash" else "0"
    return {"B": text.encode()} if kind == "B" else {"S": text}


def make_plan(
    count: int, keys: int, key_schema: list[tuple[str, str]], run: str, workers: int = 1, seed: int = 0
) -> list[Write]:
    """``count`` writes over ``keys`` keys: a put creates a key, then puts, updates and deletes mix.

    Every write changes its item (a new load_n), so each one makes exactly one stream record.
    """
    if count < 1:
        raise InvalidInput("--count must be at least 1")
    if keys < 1:
        raise InvalidInput("--keys must be at least 1")
    if not 1 <= workers <= MAX_WORKERS:
        raise InvalidInput(f"--workers must be between 1 and {MAX_WORKERS}")
    rng = random.Random(seed)
    exists = [False] * keys
    versions = [0] * keys
    typed = []
    for number in range(keys):
        key = {
            name: _key_value(kind, run, number, "hash" if i == 0 else "range")
            for i, (name, kind) in enumerate(key_schema)
        }
        typed.append(key)
    plan = []
    for index in range(count):
        number = rng.randrange(keys)
        if not exists[number]:
            op = "put"
        else:
            roll = rng.random()
            op = "update" if roll < 0.6 else "put" if roll < 0.8 else "delete"
        exists[number] = op != "delete"
        versions[number] += 1
        plan.append(Write(index, op, typed[number], key_id(typed[number]), versions[number], number % workers))
    return plan
