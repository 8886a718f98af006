"""What EventBridge sends a target: the event's envelope, and the senders (its input: transform.py).

Writes to moto's backends go straight in: they happen inside the PutEvents request, which the
durable store journals and replays as a whole (emulator/store/), so a replay repeats them.
Lambda targets are invoked asynchronously (InvocationType Event) through our runtime, never on
a replay (code must not run twice). moto's service models load on first use, not with the daemon.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ddbstream.emulator.runtime.logs import put_events as put_log_events
from ddbstream.emulator.store.context import replaying


class TargetError(Exception):
    """A target EventBridge could not deliver to (counted as a failed invocation)."""


def envelope(event: dict[str, Any]) -> dict[str, Any]:
    """The event as EventBridge hands it to targets, from the message moto builds for a rule."""
    at = event.get("time")
    stamp = at if isinstance(at, str) else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(at or time.time())))
    return {
        "version": "0",
        "id": event["id"],
        "detail-type": event["detail-type"],
        "source": event["source"],
        "account": event["account"],
        "time": stamp,
        "region": event["region"],
        "resources": list(event.get("resources") or []),
        "detail": event.get("detail", {}),
    }


@dataclass(frozen=True)
class Delivery:
    """One event's input on its way to one target."""

    arn: str
    region: str
    account: str
    resource: str  # the ARN's part after the account ("log-group:NAME", a queue or function name)
    target: dict[str, Any]
    body: str
    event_id: str


def send(arn: str, target: dict[str, Any], body: str, event: dict[str, Any], runtime: Any) -> None:
    """Deliver ``body`` to the target ``arn``; raise TargetError when EventBridge would fail."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        raise TargetError(f"target ARN {arn} is not valid")
    sender = _SENDERS.get(parts[2])
    if sender is None:
        raise TargetError(f"targets of service {parts[2]} are not supported locally")
    try:
        sender(Delivery(arn, parts[3], parts[4], parts[5], target, body, event["id"]), runtime)
    except TargetError:
        raise
    except Exception as exc:  # moto's errors (a deleted queue, a missing function) end as a failed delivery
        raise TargetError(f"{type(exc).__name__}: {exc}") from exc


def _to_logs(out: Delivery, runtime: Any) -> None:
    from moto.logs.models import logs_backends

    group = out.resource.removeprefix("log-group:").removesuffix(":*")
    entry = {"timestamp": int(time.time() * 1000), "message": out.body}
    put_log_events(logs_backends[out.account][out.region], group, out.event_id, [entry])


def _to_sqs(out: Delivery, runtime: Any) -> None:
    from moto.sqs.models import sqs_backends

    group_id = (out.target.get("SqsParameters") or {}).get("MessageGroupId")
    dedup = out.event_id if group_id else None
    sqs_backends[out.account][out.region].send_message(
        queue_name=out.resource, message_body=out.body, group_id=group_id, deduplication_id=dedup
    )


def _to_sns(out: Delivery, runtime: Any) -> None:
    from moto.sns.models import sns_backends

    sns_backends[out.account][out.region].publish(out.body, arn=out.arn)


def _to_lambda(out: Delivery, runtime: Any) -> None:
    if replaying():
        return
    runtime.invoke(out.arn, out.body.encode(), "Event")


_SENDERS: dict[str, Callable[[Delivery, Any], None]] = {
    "logs": _to_logs,
    "sqs": _to_sqs,
    "sns": _to_sns,
    "lambda": _to_lambda,
}
