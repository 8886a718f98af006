"""AWS/DynamoDB UserErrors and ConditionalCheckFailedRequests, from the answers the daemon gives.

As DynamoDB counts them: UserErrors is every request to DynamoDB or DynamoDB Streams answered
with HTTP 400, for the account and region (no dimension), except ConditionalCheckFailedException
(a PutItem, UpdateItem or DeleteItem whose condition failed: ConditionalCheckFailedRequests, per
TableName) and ProvisionedThroughputExceededException (ThrottledRequests; throttling is not
emulated). A canceled transaction is a user error. A PartiQL statement whose condition failed
names no TableName parameter, so it counts in neither. Requests the front door refuses
(guard.py: another access key, a foreign Host) never reach DynamoDB and count nowhere.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from moto.core.utils import extract_region_from_aws_authorization

from ddbstream.emulator.http import request_body
from ddbstream.emulator.metrics.sources import TableMetrics

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

TARGET_PREFIXES = ("DynamoDB_20120810.", "DynamoDBStreams_20120810.")
CONDITIONAL_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem"})
CONDITION_FAILED = "ConditionalCheckFailedException"
NOT_USER_ERRORS = frozenset({CONDITION_FAILED, "ProvisionedThroughputExceededException"})


class DynamoErrors:
    """Passes each request to moto's application and counts DynamoDB's client errors in its answer."""

    def __init__(self, tables: TableMetrics):
        self.tables = tables

    def __call__(self, app: WsgiApp, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith(TARGET_PREFIXES):
            return app(environ, start_response)
        operation = target.rpartition(".")[2]
        body = request_body(environ) if operation in CONDITIONAL_WRITES else b""

        def observe(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if status.startswith("400"):
                code = next((v for k, v in headers if k.lower() == "x-amzn-errortype"), "")
                self.answered(environ, code.partition(":")[0], body)
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        return app(environ, observe)

    def answered(self, environ: dict[str, Any], code: str, body: bytes) -> None:
        """One HTTP 400 answer with error type ``code`` ("" when moto named none)."""
        region = extract_region_from_aws_authorization(environ.get("HTTP_AUTHORIZATION", ""))
        where = (self.tables.recorder.account, region or self.tables.recorder.region)
        if code not in NOT_USER_ERRORS:
            self.tables.user_error(where)
        elif code == CONDITION_FAILED:
            table = _table_name(body)
            if table:
                self.tables.condition_failed(table, where)


def _table_name(body: bytes) -> str | None:
    try:
        name = json.loads(body).get("TableName")
    except (ValueError, AttributeError):
        return None
    return name if isinstance(name, str) else None
