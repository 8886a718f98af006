"""Items: plain JSON <-> DynamoDB JSON, key parsing and update expressions.

Plain JSON numbers become ``Decimal`` (never float) so that every digit survives.
"""

from __future__ import annotations

import base64
import json
import re
import sys
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from ddbstream.errors import InvalidInput
from ddbstream.item_limits import MAX_ITEM_BYTES, MAX_NESTING_LEVELS, check_text, item_size

KEY_TYPES = {"S": str, "N": Decimal, "B": bytes}


# ---------------------------------------------------------------- reading JSON


def read_json_argument(text: str, what: str = "item") -> Any:
    """Parse a JSON argument given inline, as ``@file.json`` or as ``-`` (stdin)."""
    source = what
    if text == "-":
        source = f"{what} (stdin)"
        stdin = getattr(sys.stdin, "buffer", None)  # bytes, so that undecodable input is reported
        text = _decoded(stdin.read(), source) if stdin is not None else sys.stdin.read()
    elif text.startswith("@"):
        path = Path(text[1:])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None
        source = str(path)
        text = _decoded(data, source)
    return loads_exact(text, source)


def _decoded(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{source} is not valid UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}") from None


def _reject_constant(name: str) -> Any:
    raise InvalidInput(f"unsupported number {name}: DynamoDB numbers must be finite")


def loads_exact(text: str, source: str = "input") -> Any:
    """json.loads with Decimal numbers and a one-line error naming the position."""
    try:
        return json.loads(text, parse_float=Decimal, parse_int=Decimal, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"invalid JSON in {source}: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise _too_deep(source) from None


def _too_deep(what: str) -> InvalidInput:
    return InvalidInput(f"{what} nests more than {MAX_NESTING_LEVELS} levels deep, DynamoDB's limit")


# ---------------------------------------------------------------- conversion


# The conversions below follow boto3's TypeSerializer/TypeDeserializer rules. They are
# written here rather than imported because importing boto3.dynamodb.types pulls in all
# of boto3 and s3transfer, a fifth of `ddbstream put`'s run time (bench/cli_speed.py).


def to_ddb(item: dict[str, Any]) -> dict[str, Any]:
    """Plain Python (Decimal numbers) -> DynamoDB attribute-value map."""
    return {check_text(name, "an attribute name"): to_attribute(value) for name, value in item.items()}


def to_attribute(value: Any, level: int = 1) -> dict[str, Any]:
    """One plain value at nesting ``level`` -> a DynamoDB attribute value ({"S": ...}, {"N": ...}, ...)."""
    if level > MAX_NESTING_LEVELS:
        raise _too_deep("the item")
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, Decimal)):
        return {"N": _number_text(value)}
    if isinstance(value, float):
        raise InvalidInput("float values are not supported: use Decimal so no digit is lost")
    if isinstance(value, str):
        return {"S": check_text(value, "a string value")}
    if isinstance(value, (bytes, bytearray)):
        return {"B": bytes(value)}
    if isinstance(value, (set, frozenset)):
        return _set_attribute(value)
    if isinstance(value, (list, tuple)):
        return {"L": [to_attribute(v, level + 1) for v in value]}
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise InvalidInput(f"map keys must be strings, got {key!r}")
            check_text(key, "a map key")
        return {"M": {k: to_attribute(v, level + 1) for k, v in value.items()}}
    raise InvalidInput(f"unsupported value of type {type(value).__name__}: {value!r}")


def _number_text(value: int | Decimal) -> str:
    number = Decimal(value)
    if not number.is_finite():
        raise InvalidInput(f"unsupported number {number}: DynamoDB numbers must be finite")
    if number != 0:
        if len(number.normalize().as_tuple().digits) > 38:
            raise InvalidInput(f"number {number} has more than the 38 significant digits DynamoDB keeps")
        if not -130 <= number.adjusted() <= 125:
            raise InvalidInput(f"number {number} is out of DynamoDB's range (1E-130 to 9.9E+125)")
    return str(number)


def _set_attribute(values: set | frozenset) -> dict[str, Any]:
    if not values:
        raise InvalidInput("empty sets are not allowed in DynamoDB")
    if all(isinstance(v, str) for v in values):
        return {"SS": sorted(check_text(v, "a string in a set") for v in values)}
    if all(isinstance(v, (int, Decimal)) and not isinstance(v, bool) for v in values):
        return {"NS": [_number_text(v) for v in sorted(values)]}
    if all(isinstance(v, (bytes, bytearray)) for v in values):
        return {"BS": sorted(bytes(v) for v in values)}
    raise InvalidInput("a set must hold only strings, only numbers or only binary values")


def from_ddb(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute-value map -> plain Python (Decimal, set, bytes)."""
    if not isinstance(item, dict):
        raise InvalidInput("invalid DynamoDB JSON: expected an object of attributes")
    return {name: from_attribute(value) for name, value in item.items()}


def from_attribute(value: Any, level: int = 1) -> Any:
    """One DynamoDB attribute value at nesting ``level`` -> plain Python."""
    if level > MAX_NESTING_LEVELS:
        raise _too_deep("the item")
    if not isinstance(value, dict) or len(value) != 1:
        raise InvalidInput(f"invalid DynamoDB JSON: {_short(value)} is not a single-type attribute value")
    ((kind, inner),) = value.items()
    try:
        if kind == "S" and isinstance(inner, str):
            return inner
        if kind == "N":
            return _parse_number(inner)
        if kind == "B":
            return _parse_binary(inner)
        if kind == "BOOL" and isinstance(inner, bool):
            return inner
        if kind == "NULL" and inner is True:
            return None
        if kind == "SS" and isinstance(inner, list) and all(isinstance(v, str) for v in inner):
            return _distinct(value, set(inner))
        if kind == "NS" and isinstance(inner, list):
            return _distinct(value, {_parse_number(v) for v in inner})
        if kind == "BS" and isinstance(inner, list):
            return _distinct(value, {_parse_binary(v) for v in inner})
        if kind == "L" and isinstance(inner, list):
            return [from_attribute(v, level + 1) for v in inner]
        if kind == "M" and isinstance(inner, dict):
            return {k: from_attribute(v, level + 1) for k, v in inner.items()}
    except (ValueError, ArithmeticError):
        pass
    raise InvalidInput(f"invalid DynamoDB JSON: {_short(value)} is not a valid {kind} value")


def _distinct(value: dict[str, list], members: set) -> set:
    """The set's members, or InvalidInput when the list repeats one (DynamoDB refuses it)."""
    (listed,) = value.values()
    if len(members) != len(listed):
        raise InvalidInput(
            f"invalid DynamoDB JSON: {_short(value)} holds the same value twice, which DynamoDB refuses in a set"
        )
    return members


def _parse_number(text: Any) -> Decimal:
    number = Decimal(str(text)) if isinstance(text, (str, Decimal, int)) else None
    if number is None or not number.is_finite():
        raise ValueError(text)
    return number


def _parse_binary(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return base64.b64decode(value, validate=True)
    raise ValueError(value)


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def to_jsonable(value: Any) -> Any:
    """Plain Python from DynamoDB -> JSON-ready values (sets sorted, bytes base64, numbers exact)."""
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return [to_jsonable(v) for v in sorted(value)]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def dumps_plain(value: Any, indent: int | None = None) -> str:
    """JSON text of a plain value, writing Decimals with all their digits (never via float)."""
    token = f"exact-{uuid.uuid4().hex}:"

    def exact(value: Any) -> Any:
        if isinstance(value, Decimal):
            if value == value.to_integral_value() and abs(value.adjusted()) < 30:
                return int(value)
            return token + str(value)
        if isinstance(value, dict):
            return {k: exact(v) for k, v in value.items()}
        if isinstance(value, list):
            return [exact(v) for v in value]
        return value

    text = json.dumps(exact(to_jsonable(value)), indent=indent, ensure_ascii=False)
    return re.sub(f'"{token}([^"]*)"', r"\1", text)


# ---------------------------------------------------------------- items and keys


def parse_item(text: str, ddb_json: bool = False) -> dict[str, Any]:
    """An item argument (inline, @file or -) -> DynamoDB attribute-value map."""
    item = read_json_argument(text, "item")
    if not isinstance(item, dict):
        raise InvalidInput(f"item must be a JSON object, got {_json_kind(item)}")
    if ddb_json:
        return to_ddb(from_ddb(_numbers_as_text(item)))  # validates and normalises the typed JSON
    return to_ddb(item)


def _numbers_as_text(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _numbers_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers_as_text(v) for v in value]
    return value


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


def check_item(ddb_item: dict[str, Any], key_schema: list[tuple[str, str]]) -> None:
    """Refuse an item DynamoDB would refuse: missing/mistyped/empty keys, over 400 KB."""
    check_key(ddb_item, key_schema, what="item")
    if "" in ddb_item:
        raise InvalidInput("attribute names must not be empty (DynamoDB refuses them)")
    size = item_size(ddb_item)
    if size > MAX_ITEM_BYTES:
        raise InvalidInput(f"item is {size:,} bytes: DynamoDB's limit is 400 KB ({MAX_ITEM_BYTES:,} bytes)")


def check_key(ddb_item: dict[str, Any], key_schema: list[tuple[str, str]], what: str = "key") -> None:
    for name, kind in key_schema:
        if name not in ddb_item:
            raise InvalidInput(f"{what} is missing key attribute {name!r} (type {kind})")
        ((actual, value),) = ddb_item[name].items()
        if actual != kind:
            raise InvalidInput(f"key attribute {name!r} must be of type {kind}, got {actual}")
        if kind in ("S", "B") and len(value) == 0:
            raise InvalidInput(f"key attribute {name!r} must not be empty")


def parse_key(
    positional: list[str] | None,
    key_json: str | None,
    key_schema: list[tuple[str, str]],
    ddb_json: bool = False,
) -> dict[str, Any]:
    """A key from positional values in schema order (converted to the schema's types) or --key JSON."""
    names = " ".join(name for name, _ in key_schema)
    if key_json is not None and positional:
        raise InvalidInput("give the key either positionally or with --key, not both")
    if key_json is not None:
        key = parse_item(key_json, ddb_json=ddb_json)
        extra = set(key) - {name for name, _ in key_schema}
        if extra:
            raise InvalidInput(
                f"--key has attributes that are not part of the key ({names}): {', '.join(sorted(extra))}"
            )
    else:
        positional = positional or []
        if len(positional) != len(key_schema):
            expected = f"expected {len(key_schema)} key value(s) ({names}), got {len(positional)}"
            raise InvalidInput(expected + _missing_keys(key_schema[len(positional) :]))
        key = {}
        for (name, kind), raw in zip(key_schema, positional):
            key[name] = {kind: convert_key_value(name, kind, raw)}
    check_key(key, key_schema)
    return key


def _missing_keys(missing: list[tuple[str, str]]) -> str:
    """': the sort key ts (N) is missing', naming each key not given (the partition key comes first)."""
    if not missing:
        return ""
    roles = ["partition key", "sort key"][-len(missing) :]
    named = " and ".join(f"the {role} {name} ({kind})" for role, (name, kind) in zip(roles, missing))
    return f": {named} {'is' if len(missing) == 1 else 'are'} missing"


def convert_key_value(name: str, kind: str, raw: str) -> Any:
    """A key value given as text -> the value of its DynamoDB type (S, N or B)."""
    if kind == "S":
        return check_text(raw, f"key attribute {name!r}")
    if kind == "N":
        try:
            number = Decimal(raw)
        except ArithmeticError:
            number = None
        if number is None or not number.is_finite():
            raise InvalidInput(f"key attribute {name!r} must be a number, got {raw!r}")
        return str(number)
    try:
        return base64.b64decode(raw, validate=True)
    except ValueError:
        raise InvalidInput(f"key attribute {name!r} must be base64 binary, got {raw!r}") from None


# ---------------------------------------------------------------- update expressions


_PATH_PART = re.compile(r"(?P<name>[^.\[\]]+)(?P<indexes>(?:\[\d+\])*)")


def build_update(
    sets: list[str], removes: list[str], adds: list[str], key_schema: list[tuple[str, str]]
) -> tuple[str, dict[str, str], dict[str, Any]]:
    """--set a=v / --remove a / --add a=n -> (UpdateExpression, names, values)."""
    if not (sets or removes or adds):
        raise InvalidInput("nothing to update: give --set, --remove or --add")
    key_names = {name for name, _ in key_schema}
    names: dict[str, str] = {}
    values: dict[str, Any] = {}

    def path_of(raw_path: str) -> str:
        """A document path with each name as a placeholder, list indexes kept: #n0.#n1[0]."""
        steps = path_steps(raw_path)
        if steps[0] in key_names:
            raise InvalidInput(f"cannot update key attribute {steps[0]!r}")
        text = ""
        for step in steps:
            if isinstance(step, int):
                text += f"[{step}]"
                continue
            placeholder = f"#n{len(names)}"
            names[placeholder] = step
            text += ("." if text else "") + placeholder
        return text

    clauses = []
    if sets:
        parts = []
        for assignment in sets:
            path, raw = split_assignment(assignment, "--set")
            placeholder = f":v{len(values)}"
            values[placeholder] = to_ddb({"v": loose_value(raw)})["v"]
            parts.append(f"{path_of(path)} = {placeholder}")
        clauses.append("SET " + ", ".join(parts))
    if removes:
        clauses.append("REMOVE " + ", ".join(path_of(path) for path in removes))
    if adds:
        parts = []
        for assignment in adds:
            path, raw = split_assignment(assignment, "--add")
            try:
                number = Decimal(raw.strip())
            except ArithmeticError:
                number = None
            if number is None or not number.is_finite():
                raise InvalidInput(f"--add {assignment!r}: value must be a number")
            placeholder = f":v{len(values)}"
            values[placeholder] = {"N": str(number)}
            parts.append(f"{path_of(path)} {placeholder}")
        clauses.append("ADD " + ", ".join(parts))
    return " ".join(clauses), names, values


def path_steps(raw_path: str) -> list[str | int]:
    """A document path (``a.b[0].c``) -> its steps: attribute names and list indexes."""
    matches = [_PATH_PART.fullmatch(part) for part in raw_path.strip().split(".")]
    parts = [match for match in matches if match is not None]
    if len(parts) != len(matches):
        raise InvalidInput(f"invalid attribute path {raw_path!r}: expected names and [n] indexes, as in a.b[0].c")
    steps: list[str | int] = []
    for part in parts:
        steps.append(check_text(part["name"], "an attribute path"))
        steps.extend(int(index) for index in re.findall(r"\d+", part["indexes"]))
    return steps


def split_assignment(assignment: str, option: str) -> tuple[str, str]:
    """``path=value`` (of --set or --add) -> (path, value text)."""
    path, sep, raw = check_text(assignment, option).partition("=")
    if not sep or not path.strip():
        raise InvalidInput(f"{option} {assignment!r}: expected attribute=value")
    return path, raw


def loose_value(raw: str) -> Any:
    """--set values: JSON when they parse as JSON (numbers, true, objects...), else a string."""
    try:
        return json.loads(raw, parse_float=Decimal, parse_int=Decimal, parse_constant=_reject_constant)
    except json.JSONDecodeError:
        return raw
