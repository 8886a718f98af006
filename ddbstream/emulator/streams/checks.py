"""DynamoDB input checks moto lacks (unrelated to streams); moto_patches wraps moto's methods with them.

- An empty attribute name, an empty set, a set naming a member twice, a number of more than
  38 significant digits or above 9.9E+125 (PutItem, BatchWriteItem, TransactWriteItems, and UpdateItem's values):
  moto stores it (or words the refusal differently) and then serves the item mangled (its stream
  records too); DynamoDB refuses the request, in the words recorded in tests/conformance.
- An empty string or binary key value (PutItem), a BatchWriteItem put missing a key: AWS's texts.
- A malformed condition or filter expression: moto raises ValueError (an HTTP 500);
  DynamoDB answers ValidationException.
- Text that is not Unicode: moto answered an HTTP 500, after writing part of an UpdateItem.
  A body that is not UTF-8 gets SerializationException, a lone surrogate escape (``\\udcff``)
  anywhere in it ValidationException.
- Nesting deeper than 32 levels (ddbstream/item_limits.py): refused in items, in update values
  and in the item an update leaves; a body too deep for moto to parse gets the same answer.
- Item size: DynamoDB's 409,600 bytes as DynamoDB counts them, not moto's own count capped at
  405,000: PutItem, each Put of a transaction, every item of a BatchWriteItem before any is
  written, and the item an UpdateItem leaves.
- moto changes an item in place as it updates it: a refused or failed update puts it back.
- An UpdateItem path naming a member of a value that is not a map (``SET a.b`` where ``a`` is a
  string or a list), or an element of one that is not a list: moto ignores the step (or fails with
  an HTTP 500 for REMOVE); DynamoDB refuses the update, in the words recorded in tests/conformance.
"""

from __future__ import annotations

import base64
import copy
import functools
import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from moto.dynamodb.exceptions import (
    DynamodbException,
    InvalidUpdateExpressionInvalidDocumentPath,
    ItemSizeTooLarge,
    ItemSizeToUpdateTooLarge,
    MockValidationException,
    ProvidedKeyDoesNotExist,
    SerializationException,
)
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.parsing.ast_nodes import ExpressionSelector  # type: ignore[attr-defined]

from ddbstream.item_limits import MAX_ITEM_BYTES, item_size, nests_too_deep

NESTING_MESSAGE = (
    "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit"
)
# The only way a UTF-8 JSON text can hold a surrogate is an escape; most are halves of a valid pair.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


INVALID = "One or more parameter values were invalid: "
# AWS's texts (recorded: tests/conformance/recordings/dynamodb_validation.json); "An string" is theirs.
EMPTY_SET = {"SS": INVALID + "An string set  may not be empty", "NS": INVALID + "An number set  may not be empty"}
EMPTY_BINARY_SET = INVALID + "Binary sets should not be empty"
TOO_MANY_DIGITS = "Attempting to store more than 38 significant digits in a Number"
OVERFLOW = "Number overflow. Attempting to store a number with magnitude larger than supported range"
KEY_MISMATCH_IN_BATCH = "The provided key element does not match the schema"


def value_problem(value: Any) -> str | None:
    """DynamoDB's message for the first value (at any depth) it refuses and moto stores, else None:
    an empty set, a set naming a member twice, a number of more than 38 significant digits."""
    if not isinstance(value, dict) or len(value) != 1:
        return None
    ((kind, inner),) = value.items()
    if kind in ("SS", "NS", "BS") and isinstance(inner, list):
        return _set_problem(kind, inner)
    if kind == "N" and isinstance(inner, str):
        return _number_problem(inner)
    children = list(inner.values()) if kind == "M" and isinstance(inner, dict) else inner if kind == "L" else []
    for child in children if isinstance(children, list) else []:
        problem = value_problem(child)
        if problem is not None:
            return problem
    return None


def _set_problem(kind: str, inner: list) -> str | None:
    if not inner:
        return EMPTY_SET.get(kind, EMPTY_BINARY_SET)
    try:
        members = [Decimal(v) for v in inner] if kind == "NS" else inner  # NS: 1 and 1.0 are one number
        if len(set(members)) == len(members):
            return next(filter(None, map(_number_problem, inner)), None) if kind == "NS" else None
    except (ArithmeticError, TypeError, ValueError):
        return None  # not a valid set at all: moto's own validation answers
    if kind == "NS":
        return "Input collection contains duplicates"
    listed = ", ".join(base64.b64encode(v).decode() if isinstance(v, bytes) else str(v) for v in inner)
    if kind == "BS":
        return f"{INVALID}Input collection [{listed}]of type BS contains duplicates."
    return f"{INVALID}Input collection [{listed}] contains duplicates."


def _number_problem(number: str) -> str | None:
    """Over 38 significant digits, or above DynamoDB's 9.9E+125 (moto refuses underflow itself)."""
    try:
        parsed = Decimal(number)
    except ArithmeticError:
        return None  # not a number: moto's own validation answers
    if not parsed.is_finite() or not parsed:
        return None
    if len("".join(map(str, parsed.as_tuple().digits)).strip("0")) > 38:  # normalize() would round to 28
        return TOO_MANY_DIGITS
    return OVERFLOW if parsed.adjusted() > 125 else None


def refuse_what_dynamodb_refuses(attributes: dict | None, names_are_attributes: bool) -> None:
    """Raise DynamoDB's ValidationException for an empty attribute name or a value it refuses (value_problem)."""
    if not attributes:
        return
    if names_are_attributes and "" in attributes:
        raise MockValidationException(INVALID + "an attribute name is empty")
    for value in attributes.values():
        problem = value_problem(value)
        if problem is not None:
            raise MockValidationException(problem)


def refuse_empty_key_values(backend: Any, table_name: str, item: dict) -> None:
    """PutItem with an empty string or binary key value: DynamoDB's text, not moto's."""
    try:
        table = backend.get_table(table_name)
    except DynamodbException:
        return  # moto answers ResourceNotFoundException
    for key in filter(None, (table.hash_key_attr, table.range_key_attr)):
        value = item.get(key)
        if isinstance(value, dict) and len(value) == 1 and value.get("S", value.get("B", None)) in ("", b""):
            kind = "string" if "S" in value else "binary"
            raise MockValidationException(
                "One or more parameter values are not valid. The AttributeValue for a key attribute cannot "
                f"contain an empty {kind} value. Key: {key}"
            )


def refuse_over_the_limits(attributes: Any, too_large: type[MockValidationException] = ItemSizeTooLarge) -> None:
    """Raise DynamoDB's ValidationException for an item nested over 32 levels or larger than 400 KB."""
    if not isinstance(attributes, dict):
        return
    if any(nests_too_deep(value) for value in attributes.values()):
        raise MockValidationException(NESTING_MESSAGE)
    try:
        size = item_size(attributes)
    except (ArithmeticError, AttributeError, TypeError, ValueError):
        return  # not a well-formed item: moto's own validation answers
    if size > MAX_ITEM_BYTES:
        raise too_large()


def validated_put(original: Callable) -> Callable:
    """DynamoDBBackend.put_item checking the item first."""

    def put_item(self: Any, table_name: str, item_attrs: dict, *args: Any, **kwargs: Any) -> Any:
        refuse_what_dynamodb_refuses(item_attrs, names_are_attributes=True)
        refuse_over_the_limits(item_attrs)
        return original(self, table_name, item_attrs, *args, **kwargs)

    return put_item


def validated_put_request(original: Callable) -> Callable:
    """DynamoHandler.put_item checking the request's item before moto's handler words its own refusals."""

    def put_item(self: Any) -> Any:
        item, table_name = self.body.get("Item"), self.body.get("TableName")
        if isinstance(item, dict) and isinstance(table_name, str):
            refuse_what_dynamodb_refuses(item, names_are_attributes=True)
            refuse_empty_key_values(self.dynamodb_backend, table_name, item)
        return original(self)

    return put_item


def validated_update(original: Callable) -> Callable:
    """DynamoDBBackend.update_item checking the expression's values first and the item it leaves after.

    Applied inside the stream's grouping (moto_patches), so that a refused update writes no record.
    """

    def update_item(self: Any, table_name: str, key: Any, *args: Any, **kwargs: Any) -> Any:
        values = kwargs.get("expression_attribute_values")
        refuse_what_dynamodb_refuses(values, names_are_attributes=False)
        if isinstance(values, dict) and any(nests_too_deep(value) for value in values.values()):
            raise MockValidationException(NESTING_MESSAGE)
        restore = _restorer(self, table_name, key)
        try:
            item = original(self, table_name, key, *args, **kwargs)
            refuse_over_the_limits(item.to_json()["Attributes"], ItemSizeToUpdateTooLarge)
        except BaseException:
            restore()
            raise
        return item

    return update_item


def _restorer(backend: Any, table_name: str, key: Any) -> Callable[[], None]:
    """A function putting the item at ``key`` back as it is now (straight into the table: no stream record)."""
    try:
        table = backend.get_table(table_name)
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        before = copy.deepcopy(table.get_item(hash_value, range_value))
    except Exception:  # no such table, or a malformed key: moto refuses the update before writing
        return lambda: None

    def restore() -> None:
        if range_value is None:
            items, slot = table.items, hash_value
        elif before is not None:
            items, slot = table.items[hash_value], range_value
        else:  # table.items is a defaultdict: indexing a missing hash key would add an empty bucket
            items, slot = table.items.get(hash_value, {}), range_value
        if before is None:
            items.pop(slot, None)
        else:
            items[slot] = before

    return restore


def document_path_checked(original: Callable) -> Callable:
    """An update action's ``execute`` (moto's NodeExecutor) refusing a path whose last step does not fit
    the value holding it: a member of anything but a map, an element of anything but a list."""

    @functools.wraps(original)
    def execute(self: Any, item: Any) -> Any:
        nodes = self.get_path_expression_nodes()
        if len(nodes) > 1:
            try:
                holder = self.get_item_part_for_path_nodes(item, nodes[:-1])
            except ProvidedKeyDoesNotExist:
                holder = None  # a missing parent: moto refuses it itself
            wanted = "L" if isinstance(nodes[-1], ExpressionSelector) else "M"
            if isinstance(holder, DynamoType) and holder.type != wanted:
                raise InvalidUpdateExpressionInvalidDocumentPath()
        return original(self, item)

    return execute


def validated_batch_write(original: Callable) -> Callable:
    """DynamoHandler.batch_write_item checking every item first: DynamoDB writes none of a refused batch."""

    def batch_write_item(self: Any) -> Any:
        for table_name, requests in (self.body.get("RequestItems") or {}).items():
            for request in requests if isinstance(requests, list) else []:
                item = request.get("PutRequest", {}).get("Item") if isinstance(request, dict) else None
                refuse_what_dynamodb_refuses(item, names_are_attributes=True)
                refuse_over_the_limits(item)
                _refuse_keyless(self.dynamodb_backend, table_name, item)
        return original(self)

    return batch_write_item


def _refuse_keyless(backend: Any, table_name: str, item: Any) -> None:
    """A BatchWriteItem put missing a key attribute: DynamoDB says so in other words than PutItem."""
    try:
        table = backend.get_table(table_name)
    except DynamodbException:
        return  # moto answers ResourceNotFoundException
    keys = filter(None, (table.hash_key_attr, table.range_key_attr))
    if isinstance(item, dict) and any(key not in item for key in keys):
        raise MockValidationException(KEY_MISMATCH_IN_BATCH)


def readable_requests_only(original: Callable) -> Callable:
    """DynamoHandler._dispatch answering as DynamoDB does where moto fails with an HTTP 500:
    a body that is not UTF-8 or holds a lone surrogate, and one nested too deep to parse."""

    def _dispatch(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            _refuse_unreadable(request)
        except DynamodbException as refused:
            return _rendered(refused)
        try:
            return original(self, request, *args, **kwargs)
        except RecursionError:  # moto parses recursively; only a value nested far past 32 levels gets here
            return _rendered(MockValidationException(NESTING_MESSAGE))

    return _dispatch


def _refuse_unreadable(request: Any) -> None:
    if request.content_encoding == "gzip":
        return  # moto inflates it itself (botocore never compresses DynamoDB requests)
    body = request.get_data()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SerializationException(f"The request body is not valid UTF-8: byte 0x{body[exc.start]:02x}") from None
    if _SURROGATE_ESCAPE.search(text) is None:
        return
    try:
        json.dumps(json.loads(text), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MockValidationException(
            f"One or more parameter values were invalid: a string is not valid Unicode "
            f"(lone surrogate U+{ord(exc.object[exc.start]):04X})"
        ) from None
    except (ValueError, RecursionError):
        return  # not JSON, or far too deep: moto answers


def _rendered(error: DynamodbException) -> tuple[int, dict[str, str], str]:
    return error.code, {"Content-Type": "application/x-amz-json-1.0"}, error.get_body()


def expression_errors_as_validation(original: Callable) -> Callable:
    """ConditionExpressionParser.parse answering ValidationException where moto raises ValueError."""

    def parse(self: Any) -> Any:
        try:
            return original(self)
        except ValueError as exc:
            raise MockValidationException(f"Invalid expression: Syntax error; {exc}") from None

    return parse
