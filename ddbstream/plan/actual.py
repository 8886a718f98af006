"""What is deployed, read through the AWS APIs: each resource state.json recorded, else the one the spec
names (a stack the daemon restored after `down` is found by its names).

Each reader returns the resource in the shape desired.py gives the spec's (same attribute names,
same normalisation), or None when it does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from botocore.exceptions import ClientError

from ddbstream.names import lambda_log_group
from ddbstream.plan import desired
from ddbstream.plan.model import Resource
from ddbstream.provision import alarms, function, mapping, table
from ddbstream.spec import Spec

ClientFactory = Callable[[str], Any]
_MISSING = (
    "ResourceNotFoundException",
    "ResourceNotFound",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "NotFound",
    "NotFoundException",
    "NoSuchBucket",
    "404",
)


def deployed(spec: Spec, client: ClientFactory, account: str, recorded: dict[str, Any]) -> dict[str, Resource]:
    """Every resource of the pipeline that exists, by address."""
    names = spec.resource_names(account)
    function_name = recorded.get("function_name") or names["function_name"]
    queue_url = recorded.get("queue_url")
    log_group = recorded.get("log_group") or lambda_log_group(function_name)
    found = [
        missing_is_none(lambda: _table(client("dynamodb"), recorded.get("table_name") or names["table_name"])),
        missing_is_none(lambda: read_log_group(client("logs"), desired.LOG_GROUP, log_group)),
        missing_is_none(lambda: read_function(client("lambda"), desired.FUNCTION, function_name)),
        missing_is_none(lambda: _mapping(client("lambda"), recorded.get("mapping_uuid"), function_name, spec)),
    ]
    # A sink is read when recorded, or by the name the spec gives it when the spec enables it.
    queue_name = names.get("dlq_name") if spec.get("enable_dlq") else None
    topic_name = names.get("topic_name") if spec.get("enable_notifications") or spec.get("enable_alarms") else None
    bucket = recorded.get("bucket") or (names.get("audit_bucket_name") if spec.get("enable_audit") else None)
    if queue_url or queue_name:
        found.append(missing_is_none(lambda: read_queue(client("sqs"), desired.QUEUE, queue_url, queue_name)))
    if recorded.get("topic_arn") or topic_name:
        found.append(missing_is_none(lambda: _topic(client("sns"), recorded.get("topic_arn"), topic_name)))
    if bucket:
        found.append(missing_is_none(lambda: _bucket(client("s3"), bucket)))
    alarm_names = dict(recorded.get("alarm_names") or {}) or _alarm_names(spec, names, function_name)
    found += _alarms(client("cloudwatch"), alarm_names)
    return {r.address: r for r in found if r is not None}


def missing_is_none(read: Callable[[], Resource | None]) -> Resource | None:
    """What ``read`` returns; None when what it reads does not exist."""
    try:
        return read()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") in _MISSING or "does not exist" in str(error.get("Message", "")):
            return None
        raise


def _table(dynamodb: Any, name: str) -> Resource:
    described = dynamodb.describe_table(TableName=name)["Table"]
    settings = table.table_settings(described)
    settings["TimeToLive"] = table.ttl_attribute(dynamodb, name)
    settings["PointInTimeRecovery"] = table.point_in_time_recovery(dynamodb, name)
    made = desired.resource(desired.TABLE, "table", name, settings)
    return with_outputs(made, table_name=name, stream_arn=described.get("LatestStreamArn"))


def read_log_group(logs: Any, address: str, name: str) -> Resource | None:
    """A log group, with its ARN (no ``:*``) as output."""
    groups = logs.describe_log_groups(logGroupNamePrefix=name).get("logGroups", [])
    group = next((g for g in groups if g["logGroupName"] == name), None)
    if group is None:
        return None
    settings = {"logGroupName": name, "retentionInDays": group.get("retentionInDays")}
    made = desired.resource(address, "log group", name, settings)
    return with_outputs(made, arn=str(group.get("arn", "")).removesuffix(":*"))


def read_function(lam: Any, address: str, name: str) -> Resource:
    """A function's configuration and code hash, with its ARN as output."""
    config = lam.get_function_configuration(FunctionName=name)
    settings = {key: function.deployed_value(config, key) for key in ("Runtime", "Handler", "MemorySize", "Timeout")}
    settings["Environment"] = function.deployed_value(config, "Environment")
    settings = {"FunctionName": name, **settings, "CodeSha256": config.get("CodeSha256")}
    made = desired.resource(address, "function", name, settings)
    return with_outputs(made, function_arn=config.get("FunctionArn"))


def _mapping(lam: Any, uuid: str | None, function_name: str, spec: Spec) -> Resource | None:
    if uuid:
        found = lam.get_event_source_mapping(UUID=uuid)
    else:
        listed = lam.list_event_source_mappings(FunctionName=function_name).get("EventSourceMappings") or []
        if not listed:
            return None
        found = listed[0]
    source_arn = found.get("EventSourceArn") or ""
    deployed_function = (found.get("FunctionArn") or "").rsplit(":", 1)[-1]
    wanted = mapping.desired_mapping(spec, {})
    settings = {
        "EventSourceArn": source_arn,
        "FunctionName": deployed_function,
        "StartingPosition": found.get("StartingPosition"),
        **mapping.comparable_settings(found, wanted),
    }
    table_name = source_arn.split(":table/", 1)[-1].split("/", 1)[0]
    name = f"{table_name} to {deployed_function}"
    made = desired.resource(desired.MAPPING, "event source mapping", name, settings, ident=found["UUID"])
    return with_outputs(made, mapping_uuid=found["UUID"])


def read_queue(sqs: Any, address: str, url: str | None, name: str | None) -> Resource | None:
    """A queue (by its URL, else its name), with its URL and ARN as outputs."""
    url = url or sqs.get_queue_url(QueueName=name)["QueueUrl"]
    wanted = ("MessageRetentionPeriod", "SqsManagedSseEnabled", "QueueArn")
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(wanted))["Attributes"]
    queue_name = url.rsplit("/", 1)[-1]
    settings = {"QueueName": queue_name, **{k: attributes.get(k) for k in wanted[:2]}}
    made = desired.resource(address, "queue", queue_name, settings, ident=url)
    return with_outputs(made, queue_url=url, queue_arn=attributes.get("QueueArn"))


def _topic(sns: Any, arn: str | None, name: str | None) -> Resource | None:
    if not arn:
        topics = [t["TopicArn"] for page in sns.get_paginator("list_topics").paginate() for t in page.get("Topics", [])]
        arn = next((t for t in topics if t.rsplit(":", 1)[-1] == name), None)
        if arn is None:
            return None
    sns.get_topic_attributes(TopicArn=arn)
    topic_name = arn.rsplit(":", 1)[-1]
    made = desired.resource(desired.TOPIC, "topic", topic_name, {"Name": topic_name}, ident=arn)
    return with_outputs(made, topic_arn=arn)


def _bucket(s3: Any, name: str) -> Resource:
    s3.head_bucket(Bucket=name)
    return with_outputs(desired.resource(desired.BUCKET, "bucket", name, {"Bucket": name}), bucket=name)


def _alarm_names(spec: Spec, names: dict[str, str], function_name: str) -> dict[str, str]:
    """The alarms the spec names, when none were recorded (a restored stack)."""
    if not spec.get("enable_alarms"):
        return {}
    queue = names["dlq_name"] if spec.get("enable_dlq") else None
    defined = alarms.alarm_definitions(spec, function_name, names["table_name"], queue)
    return {key: alarm["alarm_name"] for key, alarm in defined.items()}


def _alarms(cloudwatch: Any, recorded: dict[str, str]) -> list[Resource]:
    if not recorded:
        return []
    answer = cloudwatch.describe_alarms(AlarmNames=list(recorded.values()), AlarmTypes=["MetricAlarm"])
    by_name = {a["AlarmName"]: a for a in answer.get("MetricAlarms", [])}
    found = []
    for key, name in recorded.items():
        alarm = by_name.get(name)
        if alarm is None:
            continue
        settings = {
            "AlarmName": name,
            "AlarmDescription": alarm.get("AlarmDescription"),
            "Namespace": alarm.get("Namespace"),
            "MetricName": alarm.get("MetricName"),
            "Dimensions": dict(sorted((d["Name"], d["Value"]) for d in alarm.get("Dimensions", []))),
            "Statistic": alarm.get("Statistic"),
            "ComparisonOperator": alarm.get("ComparisonOperator"),
            "Threshold": float(alarm.get("Threshold", 0)),
            "AlarmActions": list(alarm.get("AlarmActions") or []),
        }
        found.append(desired.resource(desired.ALARM.format(key), "alarm", name, settings))
    return found


def with_outputs(made: Resource, **outputs: Any) -> Resource:
    """The resource with the values others name it by (state.json's keys), for desired.dependent."""
    return replace(made, outputs=outputs)
