"""The table the API reads and writes: one item per key, written only with the condition
that says whether it may exist (so a create never overwrites, an update never creates)."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import ClientError


class Missing(Exception):
    """No item has that key."""


class AlreadyExists(Exception):
    """An item with that key is already there."""


class ItemTable:
    def __init__(self, name: str, key: str):
        self.table = boto3.resource("dynamodb").Table(name)
        self.key = key

    def get(self, key: str) -> dict[str, Any]:
        item = self.table.get_item(Key={self.key: key}, ConsistentRead=True).get("Item")
        if item is None:
            raise Missing(key)
        return item

    def create(self, item: dict[str, Any]) -> None:
        try:
            self.table.put_item(Item=item, ConditionExpression="attribute_not_exists(#k)",
                                ExpressionAttributeNames={"#k": self.key})  # fmt: skip
        except ClientError as exc:
            if _failed_condition(exc):
                raise AlreadyExists(item[self.key]) from None
            raise

    def set(self, key: str, name: str, value: Any) -> dict[str, Any]:
        try:
            return self.table.update_item(
                Key={self.key: key},
                UpdateExpression="SET #n = :v",
                ConditionExpression="attribute_exists(#k)",
                ExpressionAttributeNames={"#n": name, "#k": self.key},
                ExpressionAttributeValues={":v": value},
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as exc:
            if _failed_condition(exc):
                raise Missing(key) from None
            raise

    def delete(self, key: str) -> dict[str, Any]:
        try:
            return self.table.delete_item(
                Key={self.key: key},
                ConditionExpression="attribute_exists(#k)",
                ExpressionAttributeNames={"#k": self.key},
                ReturnValues="ALL_OLD",
            )["Attributes"]
        except ClientError as exc:
            if _failed_condition(exc):
                raise Missing(key) from None
            raise


def _failed_condition(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
