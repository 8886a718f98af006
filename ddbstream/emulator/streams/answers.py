"""moto's DynamoDB answers where they differ from AWS's recorded ones (tests/conformance), corrected
in one place; tests/daemon/test_moto_assumptions.py fails when a moto release changes what is fixed.

- ConditionalCheckFailedException with the old item (ReturnValuesOnConditionCheckFailure=ALL_OLD):
  AWS names its text "Message", so botocore adds no top-level "message"; moto writes "message".
- DeleteTable of a missing table: AWS names the table in its text; moto does not.
- BatchWriteItem and TransactWriteItems answer ConsumedCapacity and ItemCollectionMetrics only
  when the request asks for them (ReturnConsumedCapacity, ReturnItemCollectionMetrics); moto
  always answers both.
- UpdateItem naming a member of a value that is not a map, or an element of one that is not a
  list: moto writes the rest of the update; AWS refuses it (checks.document_path_checked).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from moto.dynamodb.exceptions import ConditionalCheckFailed, ResourceNotFoundException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.parsing.executors import AddExecutor, DeleteExecutor, RemoveExecutor, SetExecutor
from moto.dynamodb.responses import DynamoHandler

from ddbstream.emulator.streams.checks import document_path_checked


def _condition_failed_init(original: Callable) -> Callable:
    def __init__(self: Any, msg: str | None = None, item: dict[str, Any] | None = None) -> None:
        original(self, msg, item)
        if item:
            body = json.loads(self.description)
            body["Message"] = body.pop("message")
            self.description = json.dumps(body)

    return __init__


def _delete_table_naming_it(original: Callable) -> Callable:
    def delete_table(self: Any, name: str) -> Any:
        try:
            return original(self, name)
        except ResourceNotFoundException:
            raise ResourceNotFoundException(table_name=name) from None

    return delete_table


def _only_what_was_asked(original: Callable) -> Callable:
    """A write handler answering ConsumedCapacity / ItemCollectionMetrics only when asked for."""

    def handler(self: Any) -> Any:
        result = original(self)
        answer = getattr(result, "result", None)
        if isinstance(answer, dict):
            if self.body.get("ReturnConsumedCapacity", "NONE") == "NONE":
                answer.pop("ConsumedCapacity", None)
            if self.body.get("ReturnItemCollectionMetrics", "NONE") == "NONE":
                answer.pop("ItemCollectionMetrics", None)
        return result

    handler.__name__ = original.__name__
    return handler


def correct_moto() -> None:
    """Apply the corrections (called once, by moto_patches.patch_moto)."""
    ConditionalCheckFailed.__init__ = _condition_failed_init(ConditionalCheckFailed.__init__)  # type: ignore[method-assign]
    DynamoDBBackend.delete_table = _delete_table_naming_it(DynamoDBBackend.delete_table)  # type: ignore[method-assign]
    DynamoHandler.batch_write_item = _only_what_was_asked(DynamoHandler.batch_write_item)  # type: ignore[method-assign]
    DynamoHandler.transact_write_items = _only_what_was_asked(DynamoHandler.transact_write_items)  # type: ignore[method-assign]
    for executor in (SetExecutor, RemoveExecutor, AddExecutor, DeleteExecutor):
        executor.execute = document_path_checked(executor.execute)  # type: ignore[method-assign]
