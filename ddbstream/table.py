"""Item operations on the pipeline's table, with conditions and clear errors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ddbstream.errors import AwsError, ConditionFailed, InvalidInput, NotFound
from ddbstream.item_limits import check_text
from ddbstream.items import check_item, dumps_plain, from_ddb, loose_value, path_steps, split_assignment

RETURN_CHOICES = ("none", "old", "new")
# DynamoDB's words when an update's path runs through a map or list the item does not have.
INVALID_DOCUMENT_PATH = "The document path provided in the update expression is invalid for update"


class ItemStore:
    """put / get / update / delete / scan against one table (boto3 low-level client)."""

    def __init__(self, client: Any, table_name: str, key_schema: list[tuple[str, str]]):
        self.client = client
        self.table_name = table_name
        self.key_schema = [tuple(pair) for pair in key_schema]

    # -------------------------------------------------------------- operations

    def put(self, item: dict, condition: Condition | None = None, returns: str = "none") -> dict | None:
        """Write a whole item; returns the old item (returns='old') or the item written ('new')."""
        check_item(item, self.key_schema)
        args = {"TableName": self.table_name, "Item": item, **self._condition_args(condition)}
        if returns == "old":
            args["ReturnValues"] = "ALL_OLD"
        elif returns not in ("none", "new"):
            raise InvalidInput(f"--return must be one of {', '.join(RETURN_CHOICES)}")
        response = self._call("put_item", self._key_of(item), **args)
        if returns == "new":
            return from_ddb(item)
        return from_ddb(response["Attributes"]) if response.get("Attributes") else None

    def get(self, key: dict) -> dict:
        item = self.find(key)
        if item is None:
            raise NotFound(f"no item with key {self.describe_key(key)} in table {self.table_name}")
        return item

    def find(self, key: dict) -> dict | None:
        """The item with this key, or None."""
        response = self._call("get_item", key, TableName=self.table_name, Key=key, ConsistentRead=True)
        return from_ddb(response["Item"]) if "Item" in response else None

    def update(
        self,
        key: dict,
        expression: str,
        names: dict,
        values: dict,
        condition: Condition | None = None,
        returns: str = "new",
        assignments: Sequence[tuple[str, str]] = (),
    ) -> dict | None:
        """Apply an update expression; ``assignments`` (option, a.b=v) explain a missing map if DynamoDB finds one."""
        args = {
            "TableName": self.table_name,
            "Key": key,
            "UpdateExpression": expression,
            "ExpressionAttributeNames": dict(names),
            "ExpressionAttributeValues": dict(values),
            "ReturnValues": {"none": "NONE", "old": "ALL_OLD", "new": "ALL_NEW"}[returns],
        }
        self._merge_condition(args, condition)
        if not args["ExpressionAttributeValues"]:
            del args["ExpressionAttributeValues"]
        try:
            response = self._call("update_item", key, **args)
        except InvalidInput as exc:
            explained = INVALID_DOCUMENT_PATH in exc.message and self._missing_map(key, assignments)
            if not explained:
                raise
            raise InvalidInput(explained) from None
        return from_ddb(response["Attributes"]) if response.get("Attributes") else None

    def delete(self, key: dict, condition: Condition | None = None) -> dict | None:
        """Delete the item with this key; returns the item deleted, None when there was none."""
        args = {"TableName": self.table_name, "Key": key, "ReturnValues": "ALL_OLD", **self._condition_args(condition)}
        response = self._call("delete_item", key, **args)
        return from_ddb(response["Attributes"]) if response.get("Attributes") else None

    def scan(self, limit: int | None = None) -> list[dict]:
        """Items in scan order, at most ``limit`` of them (following pages as needed)."""
        return self.pages("scan", {"TableName": self.table_name}, limit)

    def pages(self, operation: str, args: dict[str, Any], limit: int | None = None) -> list[dict]:
        """The items of a scan or query, following its pages until the end or ``limit`` items."""
        if limit is not None and limit < 1:
            raise InvalidInput("--limit must be at least 1")
        items: list[dict] = []
        args = dict(args)
        while True:
            if limit is not None:
                args["Limit"] = limit - len(items)
            response = self._call(operation, None, **args)
            items.extend(from_ddb(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response or (limit is not None and len(items) >= limit):
                return items
            args["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def index_key_schema(self, index: str) -> list[tuple[str, str]]:
        """The (name, type) keys of one of the table's secondary indexes, read from DescribeTable."""
        table = self._call("describe_table", None, TableName=self.table_name)["Table"]
        indexes = {
            found["IndexName"]: found
            for found in table.get("GlobalSecondaryIndexes", []) + table.get("LocalSecondaryIndexes", [])
        }
        if index not in indexes:
            known = ", ".join(sorted(indexes)) or "none"
            raise InvalidInput(f"table {self.table_name} has no index {index!r} (its indexes: {known})")
        types = {found["AttributeName"]: found["AttributeType"] for found in table.get("AttributeDefinitions", [])}
        keys = sorted(indexes[index]["KeySchema"], key=lambda key: key["KeyType"] != "HASH")
        return [(key["AttributeName"], types.get(key["AttributeName"], "S")) for key in keys]

    # -------------------------------------------------------------- helpers

    def describe_key(self, key: dict) -> str:
        plain = from_ddb(key)
        return " ".join(f"{name}={dumps_plain(plain[name])}" for name, _ in self.key_schema if name in plain)

    def _key_of(self, item: dict) -> dict:
        return {name: item[name] for name, _ in self.key_schema if name in item}

    def _condition_args(self, condition: Condition | None) -> dict:
        args: dict[str, Any] = {}
        self._merge_condition(args, condition)
        return args

    def _merge_condition(self, args: dict, condition: Condition | None) -> None:
        if condition is None:
            return
        expression, names, values = condition.render(self.key_schema[0][0])
        args["ConditionExpression"] = expression
        if names:
            args.setdefault("ExpressionAttributeNames", {}).update(names)
        if values:
            args.setdefault("ExpressionAttributeValues", {}).update(values)

    def _call(self, operation: str, key: dict | None, **args: Any) -> dict:
        try:
            return getattr(self.client, operation)(**args)
        except Exception as exc:
            # Both clients raise botocore's exceptions; a call that succeeds need not import them.
            from botocore.exceptions import BotoCoreError, ClientError

            if isinstance(exc, BotoCoreError):
                raise AwsError(f"{operation} failed: {exc}") from None
            if not isinstance(exc, ClientError):
                raise
            error = exc.response.get("Error", {})
            code, message = error.get("Code", ""), error.get("Message", str(exc))
            if code == "ConditionalCheckFailedException" and key is not None:
                raise ConditionFailed(self._condition_failure(key)) from None
            if code == "ResourceNotFoundException":
                raise NotFound(f"table {self.table_name} does not exist: run 'ddbstream up'") from None
            if code in ("ValidationException", "SerializationException"):
                raise InvalidInput(f"DynamoDB refused the request: {message}") from None
            raise AwsError(f"{operation} failed: {code}: {message}") from None

    def _missing_map(self, key: dict, assignments: Sequence[tuple[str, str]]) -> str | None:
        """Which assignment's path runs through a map or list the item lacks, and how to write it instead."""
        item = self.find(key) or {}
        for option, assignment in assignments:
            path, raw = split_assignment(assignment, option)
            steps = path_steps(path)
            holder: Any = item
            for depth in range(len(steps) - 1):
                shown, rest = _path_text(steps[: depth + 1]), steps[depth + 1 :]
                wants = "list" if isinstance(rest[0], int) else "map"
                inner = _child(holder, steps[depth])
                if inner is _ABSENT:
                    whole = dumps_plain(_nest(rest, loose_value(raw)))
                    return (
                        f"{option} {assignment}: the item has no {wants} {shown} to set {_path_text(rest)} in "
                        f"(DynamoDB does not create one): set the whole {wants} with --set {shown}='{whole}'"
                    )
                if not isinstance(inner, list if wants == "list" else dict):
                    return f"{option} {assignment}: {shown} is {_kind(inner)}, not a {wants}"
                holder = inner
        return None

    def _condition_failure(self, key: dict) -> str:
        try:
            current = self.get(key)
        except NotFound:
            return f"condition check failed: no item with key {self.describe_key(key)} exists"
        return f"condition check failed: the current item is {dumps_plain(current)}"


_ABSENT = object()


def _child(holder: Any, step: str | int) -> Any:
    """holder[step] for a map's name or a list's index; _ABSENT when it has none."""
    if isinstance(step, int):
        return holder[step] if isinstance(holder, list) and step < len(holder) else _ABSENT
    return holder.get(step, _ABSENT) if isinstance(holder, dict) else _ABSENT


def _nest(steps: list[str | int], value: Any) -> Any:
    """The value a path's remaining steps build around ``value``: b.c -> {"b": {"c": value}}."""
    for step in reversed(steps):
        value = [value] if isinstance(step, int) else {step: value}
    return value


def _path_text(steps: list[str | int]) -> str:
    return "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in steps).lstrip(".")


def _kind(value: Any) -> str:
    kinds = {dict: "a map", list: "a list", str: "a string", bool: "a boolean", bytes: "binary", set: "a set"}
    return "null" if value is None else kinds.get(type(value), "a number")


class Condition:
    """A write condition from --if-exists / --if-not-exists / --condition EXPR [--values JSON]."""

    def __init__(
        self,
        if_exists: bool = False,
        if_not_exists: bool = False,
        expression: str | None = None,
        values: dict | None = None,
    ):
        if sum(bool(x) for x in (if_exists, if_not_exists, expression)) > 1:
            raise InvalidInput("use only one of --if-exists, --if-not-exists and --condition")
        if values and not expression:
            raise InvalidInput("--values needs --condition")
        if expression is not None and not expression.strip():
            raise InvalidInput("--condition must not be empty")
        if expression is not None:
            check_text(expression, "--condition")
        self.if_exists, self.if_not_exists = if_exists, if_not_exists
        self.expression, self.values = expression, values or {}

    @classmethod
    def from_options(
        cls, if_exists: bool, if_not_exists: bool, expression: str | None, values: dict | None
    ) -> Condition | None:
        if not (if_exists or if_not_exists or expression or values):
            return None
        return cls(if_exists, if_not_exists, expression, values)

    def render(self, hash_key: str) -> tuple[str, dict, dict]:
        if self.if_exists:
            return "attribute_exists(#ck)", {"#ck": hash_key}, {}
        if self.if_not_exists:
            return "attribute_not_exists(#ck)", {"#ck": hash_key}, {}
        return self.expression, {}, self.values
