"""After a load: its items taken out of the table again (unless --keep).

Run once the accounting is done, so its deletes (stream records too) never count in the
results. Each delete is conditional on the run's own attribute: an item the load did not
write (a numeric key that happens to collide) is left alone.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from ddbstream.load.plan import RUN_ATTRIBUTE, Write


def remove_items(client: Any, table: str, plan: list[Write], run: str, workers: int) -> int:
    """Delete every item the plan's keys still hold for ``run``; returns how many were removed."""
    keys = list({write.key_id: write.key for write in plan}.values())

    def remove(key: dict[str, Any]) -> bool:
        try:
            answer = client.delete_item(
                TableName=table,
                Key=key,
                ConditionExpression="#run = :run",
                ExpressionAttributeNames={"#run": RUN_ATTRIBUTE},
                ExpressionAttributeValues={":run": {"S": run}},
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False  # deleted by the plan itself, or not the load's item
            raise
        return bool(answer.get("Attributes"))

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="ddbstream-load-cleanup") as pool:
        return sum(pool.map(remove, keys))
