"""`tail --bus`: the events the local event bus delivered to its rules' targets.

With a bus `up` made (event_bus_name / enable_event_bus), only that bus's rules are shown; on
AWS, the events its rule delivered to its log group are read from there."""

from __future__ import annotations

import sys
import time

POLL_SECONDS = 0.5


def tail_bus(since_ms: int, follow: bool, fmt: str) -> None:
    """Print the deliveries made since ``since_ms``; with ``follow``, keep printing new ones."""
    from ddbstream.cli.common import current_pipeline
    from ddbstream.cli.output import escape, note
    from ddbstream.http_api import bus_deliveries

    pipeline = current_pipeline()
    if not pipeline.is_local and pipeline.event_rule is not None and pipeline.event_rule.log_group:
        _tail_rule_log_group(pipeline, pipeline.event_rule.log_group, since_ms, follow)
        return
    on_bus = _rule_prefix(pipeline)
    after, shown = 0, 0
    while True:
        for delivery in bus_deliveries(pipeline, after, since_ms / 1000):
            after = max(after, delivery["sequence"])
            if on_bus and not delivery["rule"].startswith(on_bus):
                continue
            shown += 1
            sys.stdout.write(_line(delivery, fmt) + "\n")
        sys.stdout.flush()
        if not follow:
            break
        time.sleep(POLL_SECONDS)  # polling the daemon's list: it has no push channel
    if not shown:
        note(f"no bus deliveries since {escape(time.strftime('%H:%M:%S', time.localtime(since_ms / 1000)))}")


def _rule_prefix(pipeline) -> str | None:
    """The ARN prefix of the recorded bus's rules (None: no bus recorded, every rule is shown)."""
    bus = pipeline.event_bus
    if bus is None:
        return None
    rules = f"arn:aws:events:{pipeline.region}:{pipeline.account}:rule/"
    return rules if bus.name == "default" else f"{rules}{bus.name}/"


def _tail_rule_log_group(pipeline, group: str, since_ms: int, follow: bool) -> None:
    """On AWS: the events the rule delivered, as its log group holds them (one JSON event a line)."""
    from ddbstream.cli.output import escape, note
    from ddbstream.logs import LogSource, Notice, Tail
    from ddbstream.terminal import safe

    source = LogSource(pipeline.client("logs"), group)
    shown = 0
    for item in Tail(source, since_ms, None, follow, local=False).events():
        if isinstance(item, Notice):
            note(f"[yellow]{escape(item.text)}[/]")
            continue
        shown += 1
        sys.stdout.write(safe(item.message) + "\n")
        sys.stdout.flush()
    if not shown:
        note(f"no events in {escape(group)} in that time range")


def _line(delivery: dict, fmt: str) -> str:
    import json

    from ddbstream.terminal import safe

    if fmt == "json":
        return json.dumps(delivery, separators=(",", ":"))
    event = delivery["event"]
    when = time.strftime("%H:%M:%S", time.localtime(delivery["at"]))
    rule = delivery["rule"].rsplit("/", 1)[-1]
    target = delivery["target"].split(":", 5)[-1]
    outcome = "delivered" if delivery["ok"] else f"FAILED ({delivery['error']})"
    detail = json.dumps(event.get("detail"), separators=(",", ":"))
    return safe(f"{when} {rule} -> {target} {outcome}: {event['source']} {event['detail-type']} {detail}")
