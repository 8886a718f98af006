"""DynamoDB's limits on an item, shared by the CLI (which refuses before sending) and the daemon
(which answers as DynamoDB does): valid UTF-8 text, 32 nesting levels, 400 KB.
"""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

from ddbstream.errors import InvalidInput

MAX_ITEM_BYTES = 400 * 1024  # names included, counted as item_size() counts
MAX_NESTING_LEVELS = 32  # a top-level attribute's value is level 1


def check_text(text: str, what: str) -> str:
    """``text``, or InvalidInput if DynamoDB could not store it: a lone surrogate (a ``\\ud800``
    escape in JSON, or an undecodable byte of a command-line argument) is not UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(
            f"{what} is not valid UTF-8: character {exc.start + 1} is U+{ord(text[exc.start]):04X} "
            "(an undecodable byte or a lone surrogate)"
        ) from None
    return text


def item_size(ddb_item: dict[str, Any]) -> int:
    """Size of an item as DynamoDB counts it against its 400 KB limit (AWS's "Item sizes and formats")."""
    return sum(len(name.encode()) + _value_size(value) for name, value in ddb_item.items())


def _value_size(value: dict[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":  # 1 byte per two significant digits (zeroes at either end do not count), plus 1
        digits = "".join(map(str, Decimal(inner).as_tuple().digits)).strip("0")
        return (max(len(digits), 1) + 1) // 2 + 1
    if kind == "B":
        return len(inner) if isinstance(inner, (bytes, bytearray)) else len(base64.b64decode(inner))
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size({kind[0]: v}) for v in inner)
    if kind == "M":  # 3 bytes for the map, 1 per element
        return 3 + sum(len(k.encode()) + _value_size(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(_value_size(v) + 1 for v in inner)
    return 1  # BOOL, NULL


def nests_too_deep(value: Any, level: int = 1) -> bool:
    """Whether a DynamoDB attribute value (at ``level``) nests more than MAX_NESTING_LEVELS levels."""
    if level > MAX_NESTING_LEVELS:
        return True
    if not isinstance(value, dict) or len(value) != 1:
        return False
    ((kind, inner),) = value.items()
    if kind == "M" and isinstance(inner, dict):
        return any(nests_too_deep(child, level + 1) for child in inner.values())
    if kind == "L" and isinstance(inner, list):
        return any(nests_too_deep(child, level + 1) for child in inner)
    return False
