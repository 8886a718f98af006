"""The local target's plan (the daemon read through the AWS APIs) and its apply."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ddbstream.plan import event_bus, http_api
from ddbstream.plan.actual import ClientFactory, deployed
from ddbstream.plan.desired import dependent, independent
from ddbstream.plan.diff import diff
from ddbstream.plan.model import NO_OP, UNKNOWN, UPDATE, Change, Plan, Resource
from ddbstream.provision import function, provision, teardown
from ddbstream.spec import Spec


def local_plan(spec: Spec, client: ClientFactory | None, account: str, recorded: dict[str, Any]) -> Plan:
    """What `up` would change in the daemon: ``recorded`` is what the last `up` applied (state.json);
    without a ``client`` (no daemon) nothing is deployed."""
    actual: dict[str, Resource] = {}
    if client is not None:
        actual = {
            **deployed(spec, client, account, recorded),
            **event_bus.deployed(spec, client, recorded),
            **http_api.deployed(spec, client, recorded),
        }
    first = independent(spec, account)
    known = _kept_values(spec, account, first, actual)
    consumer = function.consumer_definition(spec, known)
    code_hash = function.code_sha256(function.function_code(consumer.directory, consumer.runtime))
    wanted = {
        **first,
        **dependent(spec, account, known, code_hash),
        **event_bus.wanted(spec, actual),
        **http_api.wanted(spec, actual),
    }
    return Plan(diff(wanted, actual))


def _kept_values(spec: Spec, account: str, first: dict[str, Resource], actual: dict[str, Resource]) -> dict[str, Any]:
    """state.json-style values of the table and sinks the plan keeps; UNKNOWN for those it makes anew."""
    names = spec.resource_names(account)
    known: dict[str, Any] = {"table_name": names["table_name"], "bucket": names.get("audit_bucket_name")}
    for change in diff(first, {address: actual[address] for address in first if address in actual}):
        kept = change.action in (NO_OP, UPDATE) and change.before is not None
        outputs = change.before.outputs if kept and change.before else {}
        if change.kind == "table":
            new_stream = any(a.name == "StreamViewType" for a in change.attributes)
            known["stream_arn"] = UNKNOWN if new_stream else outputs.get("stream_arn", UNKNOWN)
        elif change.kind == "queue":
            known.update(queue_url=outputs.get("queue_url", UNKNOWN), queue_arn=outputs.get("queue_arn", UNKNOWN))
        elif change.kind == "topic":
            known["topic_arn"] = outputs.get("topic_arn", UNKNOWN)
    return known


def apply_plan(
    plan: Plan,
    spec: Spec,
    client: ClientFactory,
    account: str,
    region: str,
    keep_old: bool = False,
    progress: Callable[[str], None] = lambda _: None,
) -> tuple[dict[str, Any], list[str], list[Change]]:
    """Delete what the plan replaces or destroys (``keep_old``: not what left the definition), then
    provision the spec. Returns (resources for state.json, drift notes, the changes kept old)."""
    kept = []
    for change in reversed(plan.pending):
        if not change.deletes or change.before is None:
            continue
        if keep_old and change.leaves_definition:
            kept.append(change)
            continue
        progress(f"deleting {change.kind} {change.before.name}")
        teardown.delete(client, change.kind, change.before.ident)
    resources, notes = provision(spec, client, account=account, region=region, progress=progress)
    return resources, notes, kept


def losses(plan: Plan, keep_old: bool) -> list[Change]:
    """The changes of ``plan`` that delete data (a table, queue or bucket), unless kept old."""
    return [c for c in plan.data_loss() if not (keep_old and c.leaves_definition)]
