"""CloudWatch Logs filter patterns (FilterLogEvents, StartLiveTail): parsed once, matched per event.

Three forms, as CloudWatch reads them:

- terms: ``ERROR``, ``"exact phrase"``, ``%regex%``; every plain term must occur, ``-term``
  must not, and when there are ``?term`` alternatives at least one must occur. Unquoted terms
  hold only letters, digits and ``_``. An empty pattern matches every event.
- JSON, ``{ $.level = "ERROR" && $.latency > 100 }``: the event must be a JSON document;
  selectors are ``$.a.b[0]``; conditions.py evaluates the comparisons.
- space-delimited, ``[ip, user, ..., status = 4*, bytes > 1000]``: the event's fields are split
  on spaces (text in ``"..."`` or ``[...]`` is one field); ``...`` stands for any number of fields.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from ddbstream.emulator.logs.conditions import (
    INVALID,
    MISSING,
    Compare,
    InvalidFilterPattern,
    Junction,
    closing_quote,
    compile_regex,
    parse_expression,
    unquote,
)

__all__ = ["FilterPattern", "InvalidFilterPattern", "compile_pattern"]

_SELECTOR = re.compile(r"\$(?:\.[A-Za-z0-9_\-]+(?:\[\d+\])*)+")
_SELECTOR_STEP = re.compile(r"\.([A-Za-z0-9_\-]+)|\[(\d+)\]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_REGEXES = 2  # per JSON or space-delimited pattern
ELLIPSIS = "..."


class FilterPattern(Protocol):
    def matches(self, message: str) -> bool: ...


@lru_cache(maxsize=256)
def compile_pattern(pattern: str | None) -> FilterPattern:
    """The pattern, ready to match messages; raises InvalidFilterPattern with AWS's message."""
    text = (pattern or "").strip()
    if text.startswith("{"):
        if not text.endswith("}"):
            raise InvalidFilterPattern("If a filter pattern starts with '{' it must end with '}'")
        return JsonPattern.parse(text[1:-1])
    if text.startswith("["):
        if not text.endswith("]"):
            raise InvalidFilterPattern("If a filter pattern starts with '[' it must end with ']'")
        return DelimitedPattern.parse(text[1:-1])
    return TermsPattern.parse(text)


@dataclass(frozen=True)
class TermsPattern:
    """Plain, ``?`` and ``-`` terms; each a substring test or a regex."""

    required: tuple[Any, ...] = ()
    optional: tuple[Any, ...] = ()
    excluded: tuple[Any, ...] = ()

    @classmethod
    def parse(cls, text: str) -> TermsPattern:
        groups: dict[str, list[Any]] = {"": [], "?": [], "-": []}
        i = 0
        while i < len(text):
            if text[i].isspace():
                i += 1
                continue
            prefix = text[i] if text[i] in "?-" else ""
            i += len(prefix)
            while prefix and i < len(text) and text[i].isspace():
                i += 1
            term, i = _term(text, i)
            groups[prefix].append(term)
        return cls(tuple(groups[""]), tuple(groups["?"]), tuple(groups["-"]))

    def matches(self, message: str) -> bool:
        if not all(_found(term, message) for term in self.required):
            return False
        if any(_found(term, message) for term in self.excluded):
            return False
        return not self.optional or any(_found(term, message) for term in self.optional)


def _term(text: str, i: int) -> tuple[Any, int]:
    """The term starting at ``i`` (a string, or a compiled regex) and where it ends."""
    if i >= len(text):
        raise InvalidFilterPattern(INVALID)
    if text[i] == '"':
        end = closing_quote(text, i)
        term = unquote(text[i + 1 : end])
        if not term:
            raise InvalidFilterPattern("Invalid character(s) in term '\"\"'")
        return term, end + 1
    if text[i] == "%":
        end = text.find("%", i + 1)
        if end < 0:
            raise InvalidFilterPattern(INVALID)
        return compile_regex(text[i + 1 : end]), end + 1
    end = i
    while end < len(text) and not text[end].isspace():
        end += 1
    word = text[i:end]
    if not all(char.isalnum() or char == "_" for char in word):
        raise InvalidFilterPattern(f"Invalid character(s) in term '{word}'")
    return word, end


def _found(term: Any, message: str) -> bool:
    return term in message if isinstance(term, str) else term.search(message) is not None


def _check_regexes(count: int) -> None:
    if count > _MAX_REGEXES:
        raise InvalidFilterPattern(INVALID)


@dataclass(frozen=True)
class JsonPattern:
    """``{ conditions }`` over the event parsed as JSON."""

    condition: Compare | Junction
    selectors: dict[str, tuple[str | int, ...]]

    @classmethod
    def parse(cls, body: str) -> JsonPattern:
        condition, regexes = parse_expression(body, _SELECTOR, tests=True)
        _check_regexes(regexes)
        steps = {
            selector: tuple(name if name else int(index) for name, index in _SELECTOR_STEP.findall(selector))
            for selector in condition.fields()
        }
        return cls(condition, steps)

    def matches(self, message: str) -> bool:
        try:
            document = json.loads(message)
        except ValueError:
            return False
        if not isinstance(document, dict | list):
            return False
        return self.condition.evaluate(lambda selector: _select(document, self.selectors[selector]))


def _select(document: Any, steps: tuple[str | int, ...]) -> Any:
    """The value at ``steps`` in ``document``, or MISSING."""
    node = document
    for step in steps:
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                return MISSING
        elif not isinstance(node, dict) or step not in node:
            return MISSING
        node = node[step]
    return node


@dataclass(frozen=True)
class DelimitedPattern:
    """``[field, field op value, ..., ...]`` over the event's space-delimited fields."""

    slots: tuple[str, ...]  # a field name, or ELLIPSIS
    condition: Compare | Junction | None

    @classmethod
    def parse(cls, body: str) -> DelimitedPattern:
        parts = _split_slots(body)
        if len(parts) > 1 and parts[-1] == "":
            parts[-1] = f"${len(parts)}"  # a trailing comma: one more field, unnamed (AWS calls it $N)
        slots: list[str] = []
        conditions: list[Compare | Junction] = []
        regexes = 0
        for part in parts:
            if part in (ELLIPSIS, "…"):
                slots.append(ELLIPSIS)
            elif _NAME.fullmatch(part) or part == f"${len(parts)}":
                slots.append(part)
            else:
                condition, found = parse_expression(part, _NAME, tests=False)
                regexes += found
                slots.append(condition.fields()[0])
                conditions.append(condition)
        _check_regexes(regexes)
        named = set(slots) - {ELLIPSIS}
        if not slots or any(name not in named for c in conditions for name in c.fields()):
            raise InvalidFilterPattern(INVALID)
        if not conditions:
            return cls(tuple(slots), None)
        return cls(tuple(slots), conditions[0] if len(conditions) == 1 else Junction(True, tuple(conditions)))

    def matches(self, message: str) -> bool:
        fields = split_fields(message)
        return any(self._holds(bound) for bound in _bind(self.slots, fields))

    def _holds(self, bound: dict[str, str]) -> bool:
        return self.condition is None or self.condition.evaluate(lambda name: bound.get(name, MISSING))


def _split_slots(body: str) -> list[str]:
    """The comma-separated parts of a ``[...]`` pattern (commas in quotes or regexes kept)."""
    parts, start, i = [], 0, 0
    while i < len(body):
        if body[i] == '"':
            i = closing_quote(body, i)
        elif body[i] == "%":
            end = body.find("%", i + 1)
            i = end if end >= 0 else len(body)
        elif body[i] == ",":
            parts.append(body[start:i].strip())
            start = i + 1
        i += 1
    parts.append(body[start:].strip())
    if any(not part for part in parts[:-1]):
        raise InvalidFilterPattern(INVALID)
    return parts


def split_fields(message: str) -> list[str]:
    """A line's space-delimited fields; ``"..."`` and ``[...]`` are one field each, without their marks."""
    fields: list[str] = []
    text, i = message.strip(), 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        closer = {'"': '"', "[": "]"}.get(text[i])
        if closer:
            end = text.find(closer, i + 1)
            end = len(text) if end < 0 else end
            fields.append(text[i + 1 : end])
            i = end + 1
            continue
        end = i
        while end < len(text) and not text[end].isspace():
            end += 1
        fields.append(text[i:end])
        i = end
    return fields


def _bind(slots: tuple[str, ...], fields: list[str], at: int = 0) -> Any:
    """Every way of giving each named slot one field in order (``...`` takes any number)."""
    if not slots:
        if at == len(fields):
            yield {}
        return
    head, rest = slots[0], slots[1:]
    if head == ELLIPSIS:
        for skip in range(at, len(fields) + 1):
            yield from _bind(rest, fields, skip)
        return
    if at < len(fields):
        for bound in _bind(rest, fields, at + 1):
            yield {head: fields[at], **bound}
