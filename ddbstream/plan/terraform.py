"""A Terraform plan (``terraform show -json PLANFILE``) read into the same Plan the local target makes.

Terraform's JSON format: ``resource_changes[]`` with ``address``, ``type`` and ``change``
(``actions``: ["no-op"], ["create"], ["update"], ["delete", "create"] or ["create", "delete"]
for a replacement, ["delete"]; ``before``/``after`` values, ``after_unknown``, ``replace_paths``).
"""

from __future__ import annotations

from typing import Any

from ddbstream.errors import TerraformError
from ddbstream.plan.model import (
    CREATE,
    DESTROY,
    NO_OP,
    REPLACE,
    UNKNOWN,
    UPDATE,
    AttributeChange,
    Change,
    Plan,
    Resource,
)

KINDS = {
    "aws_dynamodb_table": "table",
    "aws_lambda_function": "function",
    "aws_cloudwatch_log_group": "log group",
    "aws_lambda_event_source_mapping": "event source mapping",
    "aws_sqs_queue": "queue",
    "aws_sns_topic": "topic",
    "aws_s3_bucket": "bucket",
    "aws_cloudwatch_metric_alarm": "alarm",
    "aws_cloudwatch_event_bus": "event bus",
    "aws_cloudwatch_event_rule": "rule",
    "aws_cloudwatch_event_target": "target",
    "aws_apigatewayv2_api": "HTTP API",
    "aws_apigatewayv2_integration": "integration",
    "aws_apigatewayv2_route": "route",
    "aws_apigatewayv2_stage": "stage",
    "aws_lambda_permission": "permission",
    "aws_iam_role": "role",
}
_NAME_KEYS = ("name", "function_name", "bucket", "alarm_name", "route_key", "target_id", "statement_id", "uuid", "id")


def from_show_json(document: dict[str, Any]) -> Plan:
    """The plan of ``show -json``; TerraformError for a format this reader does not know."""
    version = str(document.get("format_version") or "1.0")
    if not version.startswith("1."):
        raise TerraformError(f"terraform show -json gave format {version}: ddbstream reads format 1.x")
    changes = [_change(entry) for entry in document.get("resource_changes") or [] if entry.get("mode") != "data"]
    return Plan([c for c in changes if c is not None])


def _change(entry: dict[str, Any]) -> Change | None:
    change = entry.get("change") or {}
    actions = change.get("actions") or ["no-op"]
    action = _action(actions)
    if action is None:
        return None  # read, forget: nothing is made or deleted
    address = entry.get("address") or "?"
    kind = KINDS.get(entry.get("type", ""), entry.get("type", "resource"))
    before, after = change.get("before"), change.get("after")
    unknown = change.get("after_unknown") or {}
    forcing = {str(path[0]) for path in change.get("replace_paths") or [] if path}
    attributes: tuple[AttributeChange, ...] = ()
    if action in (UPDATE, REPLACE) and isinstance(before, dict) and isinstance(after, dict):
        attributes = tuple(
            AttributeChange(
                name, before.get(name), UNKNOWN if unknown.get(name) is True else after.get(name), name in forcing
            )
            for name in sorted(set(after) | set(unknown))
            if (unknown.get(name) is True) or before.get(name) != after.get(name)
        )
    return Change(
        action,
        address,
        before=None if action == CREATE else _resource(address, kind, before),
        after=None if action == DESTROY else _resource(address, kind, after),
        attributes=attributes,
    )


def _action(actions: list[str]) -> str | None:
    if sorted(actions) == ["create", "delete"]:
        return REPLACE
    single = {"create": CREATE, "update": UPDATE, "delete": DESTROY, "no-op": NO_OP}
    return single.get(actions[0]) if len(actions) == 1 else None


def _resource(address: str, kind: str, values: Any) -> Resource:
    values = values if isinstance(values, dict) else {}
    name = next((str(values[k]) for k in _NAME_KEYS if values.get(k)), address.rsplit(".", 1)[-1])
    return Resource(address, kind, name, values)
