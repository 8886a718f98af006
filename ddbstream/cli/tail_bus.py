"""`tail --bus`: the events the local event bus delivered to its rules' targets."""

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
    after, shown = 0, 0
    while True:
        for delivery in bus_deliveries(pipeline, after, since_ms / 1000):
            after = max(after, delivery["sequence"])
            shown += 1
            sys.stdout.write(_line(delivery, fmt) + "\n")
        sys.stdout.flush()
        if not follow:
            break
        time.sleep(POLL_SECONDS)  # polling the daemon's list: it has no push channel
    if not shown:
        note(f"no bus deliveries since {escape(time.strftime('%H:%M:%S', time.localtime(since_ms / 1000)))}")


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
