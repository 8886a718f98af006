"""The event bus in a plan: the bus (event_bus_name, or enable_event_bus), and with enable_event_bus
the rule matching the CRUD API's events, its log group, its targets and the optional queue.

The desired values come from provision/event_bus.py's builders, the ones `up` applies; the
addresses are infra/modules/event_bus's, as ``module.event_bus[0]`` in the root module.
"""

from __future__ import annotations

from typing import Any

from ddbstream.plan.actual import ClientFactory, missing_is_none, read_log_group, read_queue
from ddbstream.plan.desired import log_group, resource
from ddbstream.plan.diff import kept_output
from ddbstream.plan.model import Resource
from ddbstream.provision import event_bus
from ddbstream.spec import Spec

MODULE = "module.event_bus[0]"
BUS = f"{MODULE}.aws_cloudwatch_event_bus.this[0]"
RULE = f"{MODULE}.aws_cloudwatch_event_rule.this[0]"
RULE_LOGS = f"{MODULE}.aws_cloudwatch_log_group.this[0]"
QUEUE = f"{MODULE}.aws_sqs_queue.this[0]"
TARGETS = {
    event_bus.LOG_TARGET_ID: f"{MODULE}.aws_cloudwatch_event_target.this[0]",
    event_bus.QUEUE_TARGET_ID: f"{MODULE}.aws_cloudwatch_event_target.queue[0]",
}
DEFAULT_BUS = "default"  # every account's own bus: never created, never destroyed


def wanted(spec: Spec, actual: dict[str, Resource]) -> dict[str, Resource]:
    """What the spec asks for; the ARNs of what the plan keeps come from ``actual``."""
    bus = event_bus.bus_name(spec)
    if bus is None:
        return {}
    found = [resource(BUS, "event bus", bus, {"Name": bus})] if bus != DEFAULT_BUS else []
    if spec.get("enable_event_bus"):
        names = event_bus.rule_names(spec)
        found.append(_rule(event_bus.rule_settings(spec, bus)))
        logs = log_group(RULE_LOGS, names.log_group, spec)
        found.append(logs)
        queue_arn = None
        if spec.get("enable_event_bus_queue"):
            queue = resource(QUEUE, "queue", names.queue, {"QueueName": names.queue, **event_bus.QUEUE_ATTRIBUTES})
            found.append(queue)
            queue_arn = kept_output(queue, actual, "queue_arn")
        targets = event_bus.rule_targets(kept_output(logs, actual, "arn"), queue_arn)
        found += [_target(bus, names.rule, target) for target in targets]
    return {r.address: r for r in found}


def _rule(settings: dict[str, Any]) -> Resource:
    ident = f"{settings['EventBusName']}/{settings['Name']}"
    return resource(RULE, "rule", settings["Name"], settings, ident=ident)


def _target(bus: str, rule: str, target: dict[str, str]) -> Resource:
    settings = {"Rule": rule, "EventBusName": bus, "Id": target["Id"], "Arn": target["Arn"]}
    return resource(
        TARGETS[target["Id"]], "target", f"{rule} {target['Id']}", settings, ident=f"{bus}/{rule}/{target['Id']}"
    )


def deployed(spec: Spec, client: ClientFactory, recorded: dict[str, Any]) -> dict[str, Resource]:
    """The bus's resources that exist: the ones state.json recorded, else those the spec names."""
    enabled = bool(spec.get("enable_event_bus"))
    names = event_bus.rule_names(spec)
    bus = recorded.get("event_bus_name") or event_bus.bus_name(spec)
    found: list[Resource | None] = []
    events = client("events")
    if bus and bus != DEFAULT_BUS:
        found.append(missing_is_none(lambda: _read_bus(events, bus)))
    rule = recorded.get("event_rule_name") or (names.rule if enabled else None)
    if bus and rule:
        read = missing_is_none(lambda: _rule(_read_rule(events, bus, rule)))
        if read is not None:
            found += [read, *_read_targets(events, bus, rule)]
    group = recorded.get("event_log_group") or (names.log_group if enabled else None)
    if group:
        found.append(missing_is_none(lambda: read_log_group(client("logs"), RULE_LOGS, group)))
    queue_url = recorded.get("event_queue_url")
    queue_name = names.queue if enabled and spec.get("enable_event_bus_queue") else None
    if queue_url or queue_name:
        found.append(missing_is_none(lambda: read_queue(client("sqs"), QUEUE, queue_url, queue_name)))
    return {r.address: r for r in found if r is not None}


def _read_bus(events: Any, name: str) -> Resource:
    found = events.describe_event_bus(Name=name)
    return resource(BUS, "event bus", found["Name"], {"Name": found["Name"]})


def _read_rule(events: Any, bus: str, name: str) -> dict[str, Any]:
    """A rule's settings, in rule_settings' shape."""
    found = events.describe_rule(Name=name, EventBusName=bus)
    settings = {k: found.get(k) for k in ("Name", "EventBusName", "Description", "State")}
    return {**settings, "EventBusName": bus, "EventPattern": event_bus.same_pattern(found.get("EventPattern"))}


def _read_targets(events: Any, bus: str, rule: str) -> list[Resource]:
    """The rule's targets ddbstream makes (by their ids)."""
    listed = events.list_targets_by_rule(Rule=rule, EventBusName=bus).get("Targets", [])
    return [_target(bus, rule, t) for t in listed if t["Id"] in TARGETS]
