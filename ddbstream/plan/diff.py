"""Desired against deployed, address by address: the pure core of a plan."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ddbstream.plan.model import CREATE, DESTROY, NO_OP, REPLACE, UNKNOWN, UPDATE, AttributeChange, Change, Resource

# Apply order: what others name comes first (a destroy runs in the reverse order).
KIND_ORDER = (
    "table",
    "queue",
    "topic",
    "bucket",
    "event bus",
    "log group",
    "function",
    "event source mapping",
    "HTTP API",
    "integration",
    "route",
    "stage",
    "permission",
    "rule",
    "target",
    "alarm",
)


def diff(desired: Mapping[str, Resource], deployed: Mapping[str, Resource]) -> list[Change]:
    """One Change per address either side has, in apply order."""
    changes = [_change(address, deployed.get(address), desired.get(address)) for address in {*desired, *deployed}]
    return sorted(changes, key=lambda c: (KIND_ORDER.index(c.kind), c.address))


def _change(address: str, before: Resource | None, after: Resource | None) -> Change:
    if before is None:
        return Change(CREATE, address, after=after)
    if after is None:
        return Change(DESTROY, address, before=before)
    changed = tuple(
        AttributeChange(name, before.attributes.get(name), wanted, name in after.replaced_by)
        for name, wanted in after.attributes.items()
        if _differs(before.attributes.get(name), wanted)
    )
    if any(a.forces_replacement for a in changed):
        return Change(REPLACE, address, before, after, changed)
    return Change(UPDATE if changed else NO_OP, address, before, after, changed)


def _differs(have: Any, want: Any) -> bool:
    return want == UNKNOWN or have != want


def kept_output(wanted: Resource, deployed: Mapping[str, Resource], key: str) -> Any:
    """An output (an ARN, an id) of the deployed resource ``wanted`` keeps (updated or unchanged);
    UNKNOWN when the apply makes it anew."""
    have = deployed.get(wanted.address)
    if have is None or _change(wanted.address, have, wanted).action not in (NO_OP, UPDATE):
        return UNKNOWN
    return have.outputs.get(key, UNKNOWN)
