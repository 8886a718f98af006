"""Deleting what a plan replaces or destroys on the local target, one resource kind at a time.

A resource already gone counts as deleted. Anything else the API refuses (a table with deletion
protection) is a DdbstreamError naming the resource.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from ddbstream.errors import DdbstreamError
from ddbstream.provision.event_bus import logs_policy_name
from ddbstream.provision.run import ClientFactory

_GONE = (
    "ResourceNotFoundException",
    "NotFoundException",  # API Gateway
    "NoSuchEntity",
    "NoSuchBucket",
    "AWS.SimpleQueueService.NonExistentQueue",
)


def delete(client: ClientFactory, kind: str, ident: str) -> None:
    """Delete the ``kind`` resource known by ``ident`` (a name, a mapping's UUID, a queue's URL, an ARN;
    a part of another: "API_ID/ROUTE_ID", "BUS/RULE", "BUS/RULE/TARGET_ID", "FUNCTION/STATEMENT_ID")."""
    try:
        _DELETERS[kind](client, ident)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") in _GONE:
            return
        raise DdbstreamError(f"cannot delete {kind} {ident}: {error.get('Code')}: {error.get('Message')}") from None


def _table(client: ClientFactory, name: str) -> None:
    client("dynamodb").delete_table(TableName=name)


def _function(client: ClientFactory, name: str) -> None:
    client("lambda").delete_function(FunctionName=name)
    try:
        client("iam").delete_role(RoleName=f"{name}-role"[:64])  # made with the function (provision/function.py)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchEntity":
            raise


def _bucket(client: ClientFactory, name: str) -> None:
    """Every object version and delete marker first (the bucket is versioned), then the bucket."""
    s3 = client("s3")
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
        entries = page.get("Versions", []) + page.get("DeleteMarkers", [])
        if entries:
            keys = [{"Key": e["Key"], "VersionId": e["VersionId"]} for e in entries]
            s3.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
    s3.delete_bucket(Bucket=name)


def _api_part(client: ClientFactory, kind: str, ident: str) -> None:
    api_id, part = ident.split("/", 1)
    gateway = client("apigatewayv2")
    if kind == "integration":
        gateway.delete_integration(ApiId=api_id, IntegrationId=part)
    elif kind == "route":
        gateway.delete_route(ApiId=api_id, RouteId=part)
    else:
        gateway.delete_stage(ApiId=api_id, StageName=part)


def _permission(client: ClientFactory, ident: str) -> None:
    function_name, statement = ident.split("/", 1)
    client("lambda").remove_permission(FunctionName=function_name, StatementId=statement)


def _rule(client: ClientFactory, ident: str) -> None:
    """The rule (its targets go first: a destroy deletes them before), then its log resource policy."""
    bus, rule = ident.rsplit("/", 1)  # a partner bus's name holds slashes, a rule's never does
    client("events").delete_rule(Name=rule, EventBusName=bus)
    try:
        client("logs").delete_resource_policy(policyName=logs_policy_name(rule))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise


def _target(client: ClientFactory, ident: str) -> None:
    bus, rule, target = ident.rsplit("/", 2)
    client("events").remove_targets(Rule=rule, EventBusName=bus, Ids=[target])


_DELETERS: dict[str, Callable[[ClientFactory, str], Any]] = {
    "table": _table,
    "function": _function,
    "log group": lambda client, name: client("logs").delete_log_group(logGroupName=name),
    "event source mapping": lambda client, uuid: client("lambda").delete_event_source_mapping(UUID=uuid),
    "queue": lambda client, url: client("sqs").delete_queue(QueueUrl=url),
    "topic": lambda client, arn: client("sns").delete_topic(TopicArn=arn),
    "bucket": _bucket,
    "alarm": lambda client, name: client("cloudwatch").delete_alarms(AlarmNames=[name]),
    "HTTP API": lambda client, api_id: client("apigatewayv2").delete_api(ApiId=api_id),
    "integration": lambda client, ident: _api_part(client, "integration", ident),
    "route": lambda client, ident: _api_part(client, "route", ident),
    "stage": lambda client, ident: _api_part(client, "stage", ident),
    "permission": _permission,
    "event bus": lambda client, name: client("events").delete_event_bus(Name=name),
    "rule": _rule,
    "target": _target,
}
