"""Compare what the daemon answered with what real AWS answered (a LocalStack snapshot recording).

The recordings replace volatile values with placeholders: ``<uuid:1>``, ``<sequence-number:2>``,
``<resource:3>``, ``<timestamp:2022-07-13T13:48:01.000Z>``, ``datetime``... Rules:

- a string holding a JSON object or list is compared as that document (the recordings, made by
  LocalStack's snapshot tool, show filter patterns and message bodies parsed).
- dicts: the same keys, strictly. A key the recording lacks must be absent (not null, not
  empty); a recorded ``null`` must be ``None``; a recorded ``[]``/``{}`` must be empty.
- lists: the same length, compared in order.
- scalars: the same JSON type (``bool`` is not a number; an ``int`` is not a ``float``);
  literals must be equal.
- placeholders match by kind (see ``KINDS``); one numbered placeholder stands for one value
  throughout a case, and two different ones for two different values.
- strings with placeholders inside (ARNs, messages) match as templates; the recording's
  account id 111111111111 stands for the daemon's account.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import Any

RECORDINGS = Path(__file__).resolve().parent / "recordings"
PLACEHOLDER = re.compile(r"<([a-z0-9_-]+)(?::([^>]+))?>")
RECORDED_ACCOUNT = "111111111111"

# kind -> regular expression a value standing for it must match (anything not listed: non-empty).
KINDS = {
    "uuid": r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    "partition": r"aws",
    "region": r"[a-z]{2}-[a-z]+-\d",
    "account": r"\d{12}",
    "sequence-number": r"\d{21,40}",
    "start-sequence-number": r"\d{21,40}",
    "shard-id": r"shardId-[0-9A-Za-z-]+",
    "event-i-d": r"[0-9a-f]{32}",
    "resource": r"[A-Za-z0-9_.:$-]+",
    "task-dir": r"/[^\"]+",  # the directory of the function's code (/var/task on AWS)
    "timeout_error_msg": r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",  # a request id
    "table-name": r"[A-Za-z0-9_.-]+",
    "stream-name": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}",
    "stream-label": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}",
    "latest-stream-label": r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}",
}
# Timestamps are recorded as an example of their format: the daemon's must have the same format.
TIMESTAMP_FORMATS = {
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z": "2022-07-13T13:48:01.000Z",
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ": "2022-07-13T13:48:01Z",
}


class Mismatch(AssertionError):
    """The daemon's answer differs from the recording; the message names the path and both values."""


def load(name: str) -> dict[str, Any]:
    """One recordings file (its ``source`` and ``cases``)."""
    return json.loads((RECORDINGS / f"{name}.json").read_text())


# "file:case" -> the tests that compared it (conftest.py reports them for README.md's table).
USED: dict[str, set[str]] = {}


def case(name: str, case_id: str) -> dict[str, Any]:
    """A recorded case: ``recorded`` (the value) with its ``key``, ``entry`` and ``recorded-date``."""
    recorded = load(name)["cases"][case_id]
    test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]  # "node id (call)"
    USED.setdefault(f"{name}:{case_id}", set()).add(test)
    return recorded


class Comparison:
    """One case's comparison: placeholder bindings are shared by every value compared in it."""

    def __init__(self, account: str = "123456789012"):
        self.account = account
        self.bound: dict[str, Any] = {}  # "<uuid:1>" -> the value it stands for

    def check(self, recorded: Any, actual: Any, path: str = "$") -> None:
        if isinstance(recorded, (dict, list)) and isinstance(actual, str):
            actual = _embedded_json(actual, path)
        if isinstance(recorded, dict):
            self._dict(recorded, actual, path)
        elif isinstance(recorded, list):
            if not isinstance(actual, list):
                raise Mismatch(f"{path}: recorded a list, got {_show(actual)}")
            if len(recorded) != len(actual):
                raise Mismatch(f"{path}: recorded {len(recorded)} element(s), got {len(actual)}: {_show(actual)}")
            for index, (want, got) in enumerate(zip(recorded, actual)):
                self.check(want, got, f"{path}[{index}]")
        elif isinstance(recorded, str):
            self._string(recorded, actual, path)
        elif recorded is None:
            if actual is not None:
                raise Mismatch(f"{path}: recorded null, got {_show(actual)}")
        elif type(recorded) is not type(actual) or recorded != actual:
            raise Mismatch(f"{path}: recorded {_show(recorded)}, got {_show(actual)}")

    def _dict(self, recorded: dict, actual: Any, path: str) -> None:
        if not isinstance(actual, dict):
            raise Mismatch(f"{path}: recorded an object, got {_show(actual)}")
        missing = sorted(set(recorded) - set(actual))
        extra = sorted(set(actual) - set(recorded))
        if missing or extra:
            raise Mismatch(f"{path}: keys differ: missing {missing}, not recorded {extra}")
        for key in recorded:
            self.check(recorded[key], actual[key], f"{path}.{key}")

    def _string(self, recorded: str, actual: Any, path: str) -> None:
        special = SPECIAL.get(recorded)
        if special is not None:
            if not special(actual):
                raise Mismatch(f"{path}: recorded {recorded!r}, got {_show(actual)}")
            return
        if not isinstance(actual, str):
            raise Mismatch(f"{path}: recorded a string {recorded!r}, got {_show(actual)}")
        whole = PLACEHOLDER.fullmatch(recorded)
        if whole and whole.group(1) == "timestamp":
            self._timestamp(whole.group(2) or "", actual, path)
            return
        if "<" not in recorded and RECORDED_ACCOUNT not in recorded:
            if recorded != actual:
                raise Mismatch(f"{path}: recorded {recorded!r}, got {actual!r}")
            return
        self._template(recorded, actual, path)

    def _timestamp(self, example: str, actual: str, path: str) -> None:
        for pattern, sample in TIMESTAMP_FORMATS.items():
            if sample == example:
                if not re.fullmatch(pattern, actual):
                    raise Mismatch(f"{path}: recorded a timestamp like {example!r}, got {actual!r}")
                return
        raise Mismatch(f"{path}: no rule for timestamps like {example!r}")

    def _template(self, recorded: str, actual: str, path: str) -> None:
        parts: list[str] = []
        names: list[str] = []
        position = 0
        text = recorded.replace(RECORDED_ACCOUNT, "<account>")
        for found in PLACEHOLDER.finditer(text):
            parts.append(re.escape(text[position : found.start()]))
            kind = found.group(1)
            parts.append(f"({KINDS.get(kind, r'.+?')})")
            names.append(found.group(0))
            position = found.end()
        parts.append(re.escape(text[position:]))
        match = re.fullmatch("".join(parts), actual)
        if not match:
            raise Mismatch(f"{path}: recorded {recorded!r}, got {actual!r}")
        for name, value in zip(names, match.groups()):
            self._bind(name, value, path)

    def _bind(self, name: str, value: str, path: str) -> None:
        if name == "<account>":
            if value != self.account:
                raise Mismatch(f"{path}: account {value!r} is not the daemon's {self.account!r}")
            return
        if ":" not in name:  # <partition>, <region>: kinds, not identities
            return
        if name in self.bound and self.bound[name] != value:
            raise Mismatch(f"{path}: {name} stood for {self.bound[name]!r} earlier, here for {value!r}")
        for other, seen in self.bound.items():
            if seen == value and other != name and other.split(":")[0] == name.split(":")[0]:
                raise Mismatch(f"{path}: {value!r} stands for both {other} and {name}")
        self.bound[name] = value


def _embedded_json(text: str, path: str) -> Any:
    """The recordings show a JSON document inside a string (a filter pattern, a message body) parsed."""
    try:
        return json.loads(text)
    except ValueError:
        raise Mismatch(f"{path}: recorded a JSON document, got the string {text!r}") from None


def _is_epoch_seconds(value: Any) -> bool:
    """A Lambda event's ApproximateCreationDateTime: a JSON number of seconds (10 integer digits)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 1e9 <= value < 1e10


SPECIAL = {
    "datetime": lambda v: isinstance(v, dt.datetime),  # botocore parsed a timestamp
    "<datetime>": lambda v: isinstance(v, dt.datetime),
    "<approximate-creation-datetime>": _is_epoch_seconds,
    "approximate-creation-date-time": _is_epoch_seconds,
    "<stack-trace>": lambda v: isinstance(v, list) and bool(v) and all(str(f).startswith('  File "') for f in v),
    "starting-sequence-number": lambda v: isinstance(v, str) and re.fullmatch(KINDS["sequence-number"], v) is not None,
}


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 300 else text[:300] + "..."


def matches(recorded: Any, actual: Any, account: str = "123456789012") -> None:
    """Raise ``Mismatch`` unless ``actual`` conforms to ``recorded`` (one case, fresh bindings)."""
    Comparison(account).check(recorded, actual)


def response(result: dict[str, Any]) -> dict[str, Any]:
    """A boto3 response (or ClientError.response) as the recordings keep it: HTTP headers dropped."""
    trimmed = dict(result)
    meta = trimmed.get("ResponseMetadata")
    if meta is not None:
        trimmed["ResponseMetadata"] = {"HTTPHeaders": {}, "HTTPStatusCode": meta["HTTPStatusCode"]}
    return trimmed
