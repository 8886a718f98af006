"""Event patterns: Lambda's event filtering (an event source mapping's FilterCriteria) and
EventBridge rules' event patterns, one matcher in two dialects.

Lambda accepts a subset of EventBridge's language: EventBridge adds ``$or``, ``wildcard``,
``prefix``/``suffix`` with ``equals-ignore-case``, and ``anything-but`` with ``suffix``,
``wildcard`` or ``equals-ignore-case``. ``parse_filter_criteria`` compiles the Lambda dialect
(refusing those, as Lambda does); ``parse_event_pattern`` the EventBridge one. Both share:

- A record is seen as leaf values (strings, numbers, booleans, null) at key paths. Arrays
  are transparent: a path reaches every element, and a matcher matches if it matches any.
- Every key of a pattern must match (AND); the matchers of one leaf array are ORed; the
  filters of a mapping are ORed.
- Matchers test the leaf values found at exactly their path. An object is not a leaf, so
  `{"exists": true}` never sees it and `{"exists": false}` holds there: that is why AWS
  delivers an item that has the attribute for an untyped `{"attr": [{"exists": false}]}`
  under NewImage (the leaf is one level deeper, at `attr.S`).
- Matching is type-strict: "42" never equals 42, and `numeric` only matches JSON numbers,
  so it never matches a DynamoDB number (`{"N": "42"}` is a string) but does match
  `dynamodb.ApproximateCreationDateTime`.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

from ddbstream.errors import InvalidInput

MAX_FILTERS = 5
MAX_PATTERN_LENGTH = 4096
LAMBDA = "lambda"
EVENTBRIDGE = "eventbridge"

Matcher = Callable[[Any], bool]


class InvalidFilterPattern(InvalidInput, ValueError):
    """FilterCriteria that AWS would refuse (the API answers InvalidParameterValueException)."""


class InvalidEventPattern(InvalidInput, ValueError):
    """An EventBridge event pattern AWS would refuse (the API answers InvalidEventPatternException)."""


@dataclass(frozen=True)
class Pattern:
    """One validated filter: the pattern string as given and its compiled tree.

    The tree maps each key to a sub-tree (dict) or to the tuple of matchers of a leaf.
    """

    source: str
    tree: dict = field(compare=False, repr=False)

    def matches(self, record: dict) -> bool:
        return _tree_matches(self.tree, [record])


def parse_filter_criteria(criteria: dict | None) -> list[Pattern]:
    """Validate FilterCriteria ({"Filters": [{"Pattern": "<json>"}]}) and compile its patterns.

    None, {} and an empty Filters list mean no filtering (an empty list).
    """
    if criteria is None:
        return []
    if not isinstance(criteria, dict):
        raise InvalidFilterPattern('FilterCriteria must be an object like {"Filters": [{"Pattern": "..."}]}.')
    unknown = sorted(set(criteria) - {"Filters"})
    if unknown:
        raise InvalidFilterPattern(f"FilterCriteria has an unknown field: {unknown[0]}.")
    filters = criteria.get("Filters") or []
    if not isinstance(filters, list):
        raise InvalidFilterPattern("FilterCriteria.Filters must be a list.")
    if len(filters) > MAX_FILTERS:
        raise InvalidFilterPattern(
            f"FilterCriteria.Filters has {len(filters)} filters; at most {MAX_FILTERS} are allowed."
        )
    return [_parse_filter(f"Filters[{i}]", flt) for i, flt in enumerate(filters)]


def record_matches(patterns: list[Pattern], record: dict) -> bool:
    """True when the record is delivered: there are no filters, or any filter matches."""
    return not patterns or any(p.matches(record) for p in patterns)


def parse_event_pattern(source: Any) -> Pattern:
    """Validate and compile an EventBridge rule's event pattern (a JSON object string)."""
    if not isinstance(source, str):
        raise InvalidEventPattern("Event pattern is not valid. Reason: the pattern must be a JSON object string.")
    return _compile_source(source, "Event pattern is not valid. Reason: the pattern", EVENTBRIDGE, InvalidEventPattern)


# ---------------------------------------------------------------- validation / compilation


class _PatternError(Exception):
    def __init__(self, path: tuple[str, ...], message: str):
        super().__init__(message)
        self.path = path
        self.message = message


def _parse_filter(where: str, flt: Any) -> Pattern:
    if not isinstance(flt, dict) or set(flt) - {"Pattern"}:
        raise InvalidFilterPattern(f"{where} must be an object with a single field, Pattern.")
    source = flt.get("Pattern")
    if not isinstance(source, str):
        raise InvalidFilterPattern(f"{where}.Pattern must be a string holding a JSON object.")
    if len(source) > MAX_PATTERN_LENGTH:
        raise InvalidFilterPattern(
            f"{where}.Pattern is {len(source)} characters long; at most {MAX_PATTERN_LENGTH} are allowed."
        )
    return _compile_source(source, f"Invalid filter pattern definition. {where}.Pattern", LAMBDA, InvalidFilterPattern)


def _compile_source(source: str, prefix: str, dialect: str, error: type[InvalidInput]) -> Pattern:
    """The pattern compiled in ``dialect``; anything wrong raises ``error`` with ``prefix``."""
    try:
        doc = json.loads(source, object_pairs_hook=_merge_duplicate_keys, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise error(f"{prefix} is not valid JSON: {exc}.") from None
    if not isinstance(doc, dict):
        raise error(f"{prefix} must be a JSON object.")
    try:
        tree = _compile_object(doc, (), dialect)
    except _PatternError as exc:
        at = f" at {'.'.join(exc.path)}" if exc.path else ""
        raise error(f"{prefix}{at}: {exc.message}.") from None
    except RecursionError:
        raise error(f"{prefix} is nested too deeply.") from None
    return Pattern(source, tree)


def _merge_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict:
    # AWS's own "Boolean AND" example repeats the "dynamodb" key; its objects are merged.
    merged: dict = {}
    for key, value in pairs:
        if isinstance(merged.get(key), dict) and isinstance(value, dict):
            value = _merge_duplicate_keys([*merged[key].items(), *value.items()])
        merged[key] = value
    return merged


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _compile_object(obj: dict, path: tuple[str, ...], dialect: str) -> dict:
    if not obj:
        raise _PatternError(path, "empty objects are not allowed")
    tree: dict[Any, Any] = {}
    for key, value in obj.items():
        here = (*path, key)
        if key == "$or":
            if dialect == LAMBDA:
                raise _PatternError(here, '"$or" is not supported; use several filters, which are ORed')
            tree[_ANY_OF] = _compile_any_of(value, here)
        elif isinstance(value, dict):
            tree[key] = _compile_object(value, here, dialect)
        elif isinstance(value, list):
            if not value:
                raise _PatternError(here, "empty arrays are not allowed")
            tree[key] = tuple(_compile_matcher(v, here, dialect) for v in value)
        else:
            raise _PatternError(here, f"must be an object or an array, not {json.dumps(value)}")
    return tree


def _compile_any_of(value: Any, path: tuple[str, ...]) -> tuple[dict, ...]:
    if not isinstance(value, list) or len(value) < 2 or not all(isinstance(v, dict) for v in value):
        raise _PatternError(path, '"$or" must be an array of at least two objects')
    return tuple(_compile_object(v, path, EVENTBRIDGE) for v in value)


def _compile_matcher(value: Any, path: tuple[str, ...], dialect: str) -> Matcher | object:
    if value is None or isinstance(value, (str, bool, int, float)):
        return partial(_equals, value)
    if not isinstance(value, dict):
        raise _PatternError(path, "match values must be strings, numbers, true, false, null or match objects")
    if len(value) != 1:
        raise _PatternError(path, f"a match object must have exactly one key, not {len(value)}")
    ((kind, arg),) = value.items()
    kinds = _MATCH_KINDS if dialect == LAMBDA else _EVENTBRIDGE_KINDS
    compile_kind = kinds.get(kind)
    if compile_kind is None:
        raise _PatternError(path, f'unrecognized match type "{kind}" (allowed: {", ".join(kinds)})')
    return compile_kind(arg, path)


def _string_arg(kind: str, arg: Any, path: tuple[str, ...]) -> str:
    if not isinstance(arg, str):
        raise _PatternError(path, f"{kind} match pattern must be a string")
    return arg


def _compile_exists(arg: Any, path: tuple[str, ...]) -> Matcher | object:
    if not isinstance(arg, bool):
        raise _PatternError(path, "exists match pattern must be either true or false")
    return _exists if arg else _ABSENT


def _compile_numeric(arg: Any, path: tuple[str, ...]) -> Matcher:
    if not isinstance(arg, list) or not arg or len(arg) % 2:
        raise _PatternError(path, 'numeric must be an array of operator, number pairs, e.g. [">", 10, "<=", 20]')
    pairs = list(zip(arg[::2], arg[1::2]))
    for op, number in pairs:
        if op not in _NUMERIC_OPS:
            allowed = ", ".join(_NUMERIC_OPS)
            raise _PatternError(path, f"unrecognized numeric operator {json.dumps(op)} (allowed: {allowed})")
        if not _is_number(number):
            raise _PatternError(path, f"value of numeric {op} must be a number, not {json.dumps(number)}")
    ops = [op for op, _ in pairs]
    if len(pairs) > 2 or ("=" in ops and len(pairs) > 1):
        raise _PatternError(path, 'numeric takes "=" alone, or at most one lower and one upper bound')
    if len(pairs) == 2:
        (low_op, low), (high_op, high) = pairs
        if low_op not in (">", ">=") or high_op not in ("<", "<="):
            raise _PatternError(path, "a numeric range is a lower bound (> or >=) followed by an upper bound (< or <=)")
        if low >= high:
            raise _PatternError(path, f"numeric range lower bound {low} must be less than upper bound {high}")
    return partial(_numeric, tuple((_NUMERIC_OPS[op], number) for op, number in pairs))


def _compile_anything_but(arg: Any, path: tuple[str, ...]) -> Matcher:
    if isinstance(arg, dict):
        if set(arg) != {"prefix"}:
            raise _PatternError(path, 'anything-but takes a value, a list of values, or {"prefix": "..."}')
        prefix = _string_arg("anything-but prefix", arg["prefix"], path)
        if not prefix:
            raise _PatternError(path, "anything-but prefix must not be empty")
        return partial(_anything_but, (partial(_has_prefix, prefix),))
    values = arg if isinstance(arg, list) else [arg]
    if not values:
        raise _PatternError(path, "anything-but list must not be empty")
    if not all(isinstance(v, str) or _is_number(v) for v in values):
        raise _PatternError(path, "anything-but values must be strings or numbers (not null, true or false)")
    if len({isinstance(v, str) for v in values}) > 1:
        raise _PatternError(path, "anything-but values must be all strings or all numbers, not a mix")
    return partial(_anything_but, tuple(partial(_equals, v) for v in values))


def _compile_prefix(arg: Any, path: tuple[str, ...]) -> Matcher:
    return partial(_has_prefix, _string_arg("prefix", arg, path))


def _compile_suffix(arg: Any, path: tuple[str, ...]) -> Matcher:
    return partial(_has_suffix, _string_arg("suffix", arg, path))


def _compile_equals_ignore_case(arg: Any, path: tuple[str, ...]) -> Matcher:
    return partial(_equals_ignore_case, _string_arg("equals-ignore-case", arg, path).lower())


def _compile_wildcard(arg: Any, path: tuple[str, ...]) -> Matcher:
    return partial(_fits, _wildcard_regex(_string_arg("wildcard", arg, path), path))


def _wildcard_regex(text: str, path: tuple[str, ...]) -> re.Pattern[str]:
    """``*`` is any run of characters; ``\\*`` and ``\\\\`` are a literal star and backslash."""
    parts: list[str] = []
    escaped = False
    for index, char in enumerate(text):
        if escaped:
            if char not in "*\\":
                raise _PatternError(path, f"wildcard has an invalid escape at position {index}")
            parts.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "*":
            if text[index - 1 : index] == "*":
                raise _PatternError(path, f"wildcard has consecutive wildcard characters at position {index}")
            parts.append(".*")
        else:
            parts.append(re.escape(char))
    if escaped:
        raise _PatternError(path, "wildcard ends with an unfinished escape")
    return re.compile("".join(parts), re.DOTALL)


def _ignoring_case(kind: str, arg: Any, path: tuple[str, ...]) -> tuple[str, bool]:
    """A prefix/suffix argument: a string, or {"equals-ignore-case": string} (EventBridge only)."""
    if isinstance(arg, dict) and set(arg) == {"equals-ignore-case"}:
        return _string_arg(f"{kind} equals-ignore-case", arg["equals-ignore-case"], path), True
    return _string_arg(kind, arg, path), False


def _compile_bridge_prefix(arg: Any, path: tuple[str, ...]) -> Matcher:
    text, fold = _ignoring_case("prefix", arg, path)
    return partial(_folded, partial(_has_prefix, text.lower())) if fold else partial(_has_prefix, text)


def _compile_bridge_suffix(arg: Any, path: tuple[str, ...]) -> Matcher:
    text, fold = _ignoring_case("suffix", arg, path)
    return partial(_folded, partial(_has_suffix, text.lower())) if fold else partial(_has_suffix, text)


_BUT_KINDS: dict[str, Callable[[str, tuple[str, ...]], Matcher]] = {
    "prefix": lambda text, path: partial(_has_prefix, text),
    "suffix": lambda text, path: partial(_has_suffix, text),
    "wildcard": lambda text, path: partial(_fits, _wildcard_regex(text, path)),
    "equals-ignore-case": lambda text, path: partial(_equals_ignore_case, text.lower()),
}


def _compile_bridge_anything_but(arg: Any, path: tuple[str, ...]) -> Matcher:
    """EventBridge's anything-but: Lambda's, plus {suffix|wildcard|equals-ignore-case: string or list}."""
    if not isinstance(arg, dict):
        return _compile_anything_but(arg, path)
    if len(arg) != 1 or next(iter(arg)) not in _BUT_KINDS:
        raise _PatternError(path, f"anything-but takes a value, a list of values, or one of {', '.join(_BUT_KINDS)}")
    ((kind, value),) = arg.items()
    texts = value if isinstance(value, list) else [value]
    if not texts or not all(isinstance(t, str) and t for t in texts):
        raise _PatternError(path, f"anything-but {kind} takes a non-empty string or a list of them")
    return partial(_anything_but, tuple(_BUT_KINDS[kind](t, path) for t in texts))


_MATCH_KINDS: dict[str, Callable[[Any, tuple[str, ...]], Matcher | object]] = {
    "prefix": _compile_prefix,
    "suffix": _compile_suffix,
    "anything-but": _compile_anything_but,
    "numeric": _compile_numeric,
    "exists": _compile_exists,
    "equals-ignore-case": _compile_equals_ignore_case,
}

_EVENTBRIDGE_KINDS = {
    **_MATCH_KINDS,
    "prefix": _compile_bridge_prefix,
    "suffix": _compile_bridge_suffix,
    "anything-but": _compile_bridge_anything_but,
    "wildcard": _compile_wildcard,
}

_NUMERIC_OPS = {"=": operator.eq, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


# ---------------------------------------------------------------- matching

_ABSENT = object()  # the `{"exists": false}` matcher: holds when no leaf is at its path
_ANY_OF = object()  # the tree key of a "$or": its value is the tuple of alternative trees


def _tree_matches(tree: dict, nodes: list) -> bool:
    """Every key of the tree matches the values found under that key in any of the nodes."""
    for key, sub in tree.items():
        if key is _ANY_OF:
            if not any(_tree_matches(alternative, nodes) for alternative in sub):
                return False
            continue
        children = _flatten(node[key] for node in nodes if isinstance(node, dict) and key in node)
        if isinstance(sub, dict):
            if not _tree_matches(sub, children):
                return False
        elif not _leaf_matches(sub, [c for c in children if not isinstance(c, dict)]):
            return False
    return True


def _flatten(values: Iterable) -> list:
    """Arrays are transparent: their elements (recursively) stand at the array's path."""
    flat = []
    for value in values:
        if isinstance(value, (list, tuple)):
            flat.extend(_flatten(value))
        else:
            flat.append(value)
    return flat


def _leaf_matches(matchers: tuple, leaves: list) -> bool:
    if not leaves:
        return _ABSENT in matchers
    return any(m is not _ABSENT and m(leaf) for m in matchers for leaf in leaves)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _equals(expected: Any, value: Any) -> bool:
    if expected is None or isinstance(expected, bool):
        return value is expected
    if isinstance(expected, str):
        return isinstance(value, str) and value == expected
    return _is_number(value) and value == expected


def _exists(value: Any) -> bool:
    return True


def _has_prefix(prefix: str, value: Any) -> bool:
    return isinstance(value, str) and value.startswith(prefix)


def _has_suffix(suffix: str, value: Any) -> bool:
    return isinstance(value, str) and value.endswith(suffix)


def _equals_ignore_case(lowered: str, value: Any) -> bool:
    return isinstance(value, str) and value.lower() == lowered


def _folded(matcher: Matcher, value: Any) -> bool:
    return isinstance(value, str) and matcher(value.lower())


def _fits(regex: re.Pattern[str], value: Any) -> bool:
    return isinstance(value, str) and regex.fullmatch(value) is not None


def _numeric(bounds: tuple, value: Any) -> bool:
    return _is_number(value) and all(compare(value, number) for compare, number in bounds)


def _anything_but(excluded: tuple, value: Any) -> bool:
    return not any(matcher(value) for matcher in excluded)
