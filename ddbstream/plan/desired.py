"""What the spec asks for, resource by resource, built with the same functions provisioning uses.

The table and the sinks depend on the spec alone. The function, mapping and alarms also name
what those became (a queue's URL, a stream's ARN): ``known`` holds the deployed values the plan
keeps, and anything the apply has yet to make is UNKNOWN, as Terraform says "(known after apply)".
"""

from __future__ import annotations

from typing import Any

from ddbstream.names import lambda_log_group
from ddbstream.plan.model import UNKNOWN, Resource
from ddbstream.provision import alarms, function, mapping, messaging, table
from ddbstream.spec import Spec

TABLE = "module.dynamodb_table.aws_dynamodb_table.this"
LOG_GROUP = "module.lambda_consumer.aws_cloudwatch_log_group.this"
FUNCTION = "module.lambda_consumer.aws_lambda_function.this"
MAPPING = "module.event_mapping.aws_lambda_event_source_mapping.this"
QUEUE = "module.dlq[0].aws_sqs_queue.this"
TOPIC = "module.notifications[0].aws_sns_topic.this"
BUCKET = "module.audit[0].aws_s3_bucket.this"
ALARM = 'module.alarms[0].aws_cloudwatch_metric_alarm.this["{}"]'

# What cannot change in place. Locally a mapping is also replaced when its function changes
# (Terraform updates that in place on AWS).
REPLACED_BY = {
    "table": frozenset({"TableName", "KeySchema"}),
    "function": frozenset({"FunctionName"}),
    "log group": frozenset({"logGroupName"}),
    "event source mapping": frozenset({"EventSourceArn", "FunctionName", "StartingPosition"}),
    "queue": frozenset({"QueueName"}),
    "topic": frozenset({"Name"}),
    "bucket": frozenset({"Bucket"}),
    "alarm": frozenset({"AlarmName"}),
    "HTTP API": frozenset({"Name", "ProtocolType"}),
    "integration": frozenset({"ApiId"}),
    "route": frozenset({"ApiId", "RouteKey"}),
    "stage": frozenset({"ApiId", "StageName"}),
    "permission": frozenset({"FunctionName", "StatementId", "Action", "Principal", "SourceArn"}),  # no update
    "event bus": frozenset({"Name"}),
    "rule": frozenset({"Name", "EventBusName"}),
    "target": frozenset({"Rule", "EventBusName", "Id"}),
}


def resource(address: str, kind: str, name: str, attributes: dict[str, Any], ident: str = "") -> Resource:
    return Resource(address, kind, name, attributes, ident or name, REPLACED_BY[kind])


def independent(spec: Spec, account: str) -> dict[str, Resource]:
    """The table, the log group and the sinks the spec enables (nothing of theirs is made by another)."""
    names = spec.resource_names(account)
    found = [
        resource(TABLE, "table", names["table_name"], _table(spec)),
        log_group(LOG_GROUP, lambda_log_group(names["function_name"]), spec),
    ]
    if spec.get("enable_dlq"):
        settings = {"QueueName": names["dlq_name"], **messaging.queue_attributes(spec)}
        found.append(resource(QUEUE, "queue", names["dlq_name"], settings))
    if spec.get("enable_notifications") or spec.get("enable_alarms"):
        found.append(resource(TOPIC, "topic", names["topic_name"], {"Name": names["topic_name"]}))
    if spec.get("enable_audit"):
        found.append(resource(BUCKET, "bucket", names["audit_bucket_name"], {"Bucket": names["audit_bucket_name"]}))
    return {r.address: r for r in found}


def log_group(address: str, name: str, spec: Spec) -> Resource:
    """A log group with the spec's retention (log_retention_days; 0: never expire)."""
    settings = {"logGroupName": name, "retentionInDays": int(spec.get("log_retention_days") or 0) or None}
    return resource(address, "log group", name, settings)


def function_resource(address: str, definition: function.FunctionDefinition, code_hash: str) -> Resource:
    """A function's compared settings: its configuration and its code's hash."""
    settings = {"FunctionName": definition.name, **function.function_settings(definition), "CodeSha256": code_hash}
    return resource(address, "function", definition.name, settings)


def _table(spec: Spec) -> dict[str, Any]:
    settings = table.table_settings(table.desired_table(spec))
    settings["TimeToLive"] = spec.get("ttl_attribute") or None
    settings["PointInTimeRecovery"] = bool(spec.get("point_in_time_recovery"))
    return settings


def dependent(spec: Spec, account: str, known: dict[str, Any], code_hash: str) -> dict[str, Resource]:
    """The function, its mapping and the alarms; ``known``: state.json-style values of what is kept."""
    names = spec.resource_names(account)
    consumer = function.consumer_definition(spec, known)
    found = [function_resource(FUNCTION, consumer, code_hash)]
    wanted = mapping.desired_mapping(spec, known)
    source = {
        "EventSourceArn": known.get("stream_arn") or UNKNOWN,
        "FunctionName": consumer.name,
        "StartingPosition": spec["starting_position"],
    }
    settings = {**source, **mapping.comparable_settings(wanted, wanted)}
    found.append(resource(MAPPING, "event source mapping", f"{names['table_name']} to {consumer.name}", settings))
    if spec.get("enable_alarms"):
        queue = names["dlq_name"] if spec.get("enable_dlq") else None
        actions = [known.get("topic_arn") or UNKNOWN]
        for key, alarm in alarms.alarm_definitions(spec, consumer.name, names["table_name"], queue).items():
            found.append(resource(ALARM.format(key), "alarm", alarm["alarm_name"], alarm_settings(alarm, actions)))
    return {r.address: r for r in found}


def alarm_settings(alarm: dict[str, Any], actions: list[str]) -> dict[str, Any]:
    """An alarm's compared settings, named as DescribeAlarms names them."""
    return {
        "AlarmName": alarm["alarm_name"],
        "AlarmDescription": alarm["description"],
        "Namespace": alarm["namespace"],
        "MetricName": alarm["metric_name"],
        "Dimensions": dict(sorted(alarm["dimensions"].items())),
        "Statistic": alarm["statistic"],
        "ComparisonOperator": alarm["comparison_operator"],
        "Threshold": float(alarm["threshold"]),
        "AlarmActions": actions,
    }
