"""The pipeline's EventBridge bus, as infra/modules/event_bus defines it.

One bus serves both the consumer (``event_bus_name``: it forwards every change there) and the
CRUD API (``enable_event_bus``: a rule sends the API's created-item events to a log group, and
with ``enable_event_bus_queue`` to an SQS queue). tests/infra/test_infra_agreement.py checks
that both sides set the same values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ddbstream.provision.function import ensure_log_group
from ddbstream.provision.run import Provisioning
from ddbstream.spec import Spec

# What lambda/api/app.py puts on the bus after a successful POST (infra/main.tf's locals).
EVENT_SOURCE = "crud.api"
EVENT_DETAIL_TYPE = "ItemCreated"
RULE_DESCRIPTION = "Events the CRUD API puts on the bus after a successful POST."
LOG_TARGET_ID = "log-group"
QUEUE_TARGET_ID = "queue"
QUEUE_RETENTION_SECONDS = 345600  # infra/modules/event_bus's default (4 days)
# The queue target's attributes, as GetQueueAttributes returns them.
QUEUE_ATTRIBUTES = {"MessageRetentionPeriod": str(QUEUE_RETENTION_SECONDS), "SqsManagedSseEnabled": "true"}


@dataclass(frozen=True)
class RuleNames:
    rule: str
    log_group: str
    queue: str


def bus_name(spec: Spec) -> str | None:
    """event_bus_name, else <table_name>-bus when enable_event_bus; None: no bus."""
    name = spec.get("event_bus_name")
    if spec.get("enable_event_bus"):
        return name or f"{spec['table_name']}-bus"
    return name


def rule_names(spec: Spec) -> RuleNames:
    rule = f"{spec['table_name']}-item-created"
    return RuleNames(rule, f"/aws/events/{rule}", rule)


def event_pattern() -> str:
    """The rule's pattern, as Terraform's jsonencode writes it (keys sorted, no spaces)."""
    pattern = {"source": [EVENT_SOURCE], "detail-type": [EVENT_DETAIL_TYPE]}
    return json.dumps(pattern, separators=(",", ":"), sort_keys=True)


def spec_tags(spec: Spec) -> dict[str, str]:
    """The spec's tags, as strings (what every resource ddbstream creates carries)."""
    return {str(k): str(v) for k, v in (spec.get("tags") or {}).items()}


def rule_settings(spec: Spec, bus: str) -> dict[str, str]:
    """The rule as PutRule takes it (the plan compares the same)."""
    return {
        "Name": rule_names(spec).rule,
        "EventBusName": bus,
        "EventPattern": event_pattern(),
        "Description": RULE_DESCRIPTION,
        "State": "ENABLED",
    }


def same_pattern(pattern: str | None) -> str:
    """An event pattern written as event_pattern() writes one (keys sorted, no spaces)."""
    return json.dumps(json.loads(pattern or "{}"), separators=(",", ":"), sort_keys=True)


def rule_targets(log_group_arn: str, queue_arn: str | None) -> list[dict[str, str]]:
    """The rule's targets: its log group, and the queue with enable_event_bus_queue."""
    targets = [{"Id": LOG_TARGET_ID, "Arn": log_group_arn}]
    return targets + ([{"Id": QUEUE_TARGET_ID, "Arn": queue_arn}] if queue_arn else [])


def logs_policy_name(rule: str) -> str:
    """The log resource policy letting EventBridge write the rule's events to its log group."""
    return f"{rule}-events-to-logs"


def provision_event_bus(run: Provisioning) -> None:
    """The bus (any but "default" is created), then the rule and its targets with enable_event_bus."""
    name = bus_name(run.spec)
    if name is None:
        return
    events = run.client("events")
    tags = [{"Key": k, "Value": v} for k, v in spec_tags(run.spec).items()]
    try:
        arn = events.describe_event_bus(Name=name)["Arn"]
    except events.exceptions.ResourceNotFoundException:
        run.progress(f"creating event bus {name}")
        arn = events.create_event_bus(Name=name, **({"Tags": tags} if tags else {}))["EventBusArn"]
    run.resources.update(event_bus_name=name, event_bus_arn=arn)
    if run.spec.get("enable_event_bus"):
        _provision_rule(run, events, name)


def _provision_rule(run: Provisioning, events: Any, bus: str) -> None:
    """The rule matching the API's events (put as the spec says, whatever changed it); its log group
    target (+ resource policy) and optional queue."""
    spec, names = run.spec, rule_names(run.spec)
    try:
        events.describe_rule(Name=names.rule, EventBusName=bus)
    except events.exceptions.ResourceNotFoundException:
        run.progress(f"creating rule {names.rule} on {bus}")
    tags = [{"Key": k, "Value": v} for k, v in spec_tags(spec).items()]
    rule_arn = events.put_rule(**rule_settings(spec, bus), **({"Tags": tags} if tags else {}))["RuleArn"]
    log_group_arn = _log_group_target(run, names.log_group)
    queue_arn = _queue_target(run, names.queue, rule_arn) if spec.get("enable_event_bus_queue") else None
    targets = rule_targets(log_group_arn, queue_arn)
    existing = events.list_targets_by_rule(Rule=names.rule, EventBusName=bus).get("Targets", [])
    stale = sorted({t["Id"] for t in existing} - {t["Id"] for t in targets})
    if stale:
        run.progress(f"removing targets {', '.join(stale)} of rule {names.rule}")
        events.remove_targets(Rule=names.rule, EventBusName=bus, Ids=stale)
    if [{"Id": t["Id"], "Arn": t["Arn"]} for t in existing if t["Id"] not in stale] != targets:
        events.put_targets(Rule=names.rule, EventBusName=bus, Targets=targets)
    run.resources.update(event_rule_name=names.rule, event_log_group=names.log_group)


def _log_group_target(run: Provisioning, group: str) -> str:
    """The rule's log group (+ the resource policy letting EventBridge write to it); its ARN."""
    spec, logs = run.spec, run.client("logs")
    ensure_log_group(logs, group, int(spec.get("log_retention_days") or 0), spec_tags(spec))
    [found] = [g for g in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"] if g["logGroupName"] == group]
    arn = found["arn"].removesuffix(":*")
    logs.put_resource_policy(policyName=logs_policy_name(rule_names(spec).rule), policyDocument=logs_policy(arn))
    return arn


def logs_policy(log_group_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "EventBridgeWritesRuleLogs",
                    "Effect": "Allow",
                    "Principal": {"Service": ["events.amazonaws.com", "delivery.logs.amazonaws.com"]},
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": f"{log_group_arn}:*",
                }
            ],
        }
    )


def queue_policy(queue_arn: str, rule_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "EventBridgeSendsRuleEvents",
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
                }
            ],
        }
    )


def _queue_target(run: Provisioning, name: str, rule_arn: str) -> str:
    """The rule's SQS queue (encrypted, admitting only this rule); its ARN."""
    sqs, tags = run.client("sqs"), spec_tags(run.spec)
    attributes = dict(QUEUE_ATTRIBUTES)
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist:
        run.progress(f"creating queue {name}")
        url = sqs.create_queue(QueueName=name, Attributes=attributes, **({"tags": tags} if tags else {}))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={**attributes, "Policy": queue_policy(arn, rule_arn)})
    run.resources.update(event_queue_url=url)
    return arn
