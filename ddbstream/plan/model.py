"""What a plan is made of: resources (desired or deployed), the changes between them, the summary.

Addresses are infra/'s Terraform addresses, so both targets name a resource alike. Attribute
names are the AWS API's (BatchSize, MemorySize...), the names the deployed values come back with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

UNKNOWN = "(known after apply)"  # a value only the apply makes (the ARN of a table yet to be created)

CREATE, UPDATE, REPLACE, DESTROY, NO_OP = "create", "update", "replace", "destroy", "no-op"
MARKERS = {CREATE: "+", UPDATE: "~", REPLACE: "-/+", DESTROY: "-", NO_OP: " "}
DONE = {CREATE: "created", UPDATE: "updated", REPLACE: "replaced", DESTROY: "destroyed"}
# Deleting one of these deletes data (items, messages, objects): `up` asks first.
HOLDS_DATA = ("table", "queue", "bucket")


@dataclass(frozen=True)
class Resource:
    """One resource as the spec wants it or as it is deployed.

    ``ident`` is what deletes it (a name, a mapping's UUID, a queue's URL); ``replaced_by`` names
    the attributes a change of which replaces it.
    """

    address: str
    kind: str  # table, function, log group, event source mapping, queue, topic, bucket, event bus, alarm
    name: str
    attributes: Mapping[str, Any]
    ident: str = ""
    replaced_by: frozenset[str] = frozenset()
    outputs: Mapping[str, Any] = field(default_factory=dict)  # deployed only: ARNs, URLs (state.json's keys)


@dataclass(frozen=True)
class AttributeChange:
    name: str
    before: Any
    after: Any
    forces_replacement: bool = False


@dataclass(frozen=True)
class Change:
    """What the apply does to one address; ``before`` is the deployed resource, ``after`` the desired one."""

    action: str
    address: str
    before: Resource | None = None
    after: Resource | None = None
    attributes: tuple[AttributeChange, ...] = ()

    @property
    def kind(self) -> str:
        return (self.after or self.before).kind  # type: ignore[union-attr]

    @property
    def name(self) -> str:
        if self.action == REPLACE and self.before and self.after and self.before.name != self.after.name:
            return f"{self.before.name} -> {self.after.name}"
        return (self.after or self.before).name  # type: ignore[union-attr]

    @property
    def deletes(self) -> bool:
        """Whether the deployed resource goes (replaced or destroyed)."""
        return self.action in (REPLACE, DESTROY)

    @property
    def deletes_data(self) -> bool:
        return self.deletes and self.kind in HOLDS_DATA

    @property
    def leaves_definition(self) -> bool:
        """Whether the deployed resource is one the spec no longer names (--keep-old keeps those)."""
        if self.action == DESTROY:
            return True
        return (
            self.action == REPLACE
            and self.before is not None
            and self.after is not None
            and (self.before.name != self.after.name or self.kind == "event source mapping")
        )

    def line(self) -> str:
        """The change said once it is applied: "updated event source mapping 1f2e...: BatchSize 7 -> 100"."""
        text = f"{DONE[self.action]} {self.kind} {self.name}"
        if self.action == UPDATE and self.attributes:
            text += ": " + ", ".join(_short(a) for a in self.attributes)
        elif self.action == REPLACE:
            forced = [a.name for a in self.attributes if a.forces_replacement]
            text += f" ({', '.join(forced)} cannot change in place)" if forced else ""
        return text


@dataclass
class Plan:
    """The changes that bring what is deployed to what the spec asks for, in apply order."""

    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the plan could not see or compare

    @property
    def pending(self) -> list[Change]:
        return [c for c in self.changes if c.action != NO_OP]

    def counts(self) -> tuple[int, int, int]:
        """(to add, to change, to destroy) as Terraform counts them: a replacement adds one and destroys one."""
        actions = [c.action for c in self.pending]
        replaced = actions.count(REPLACE)
        return actions.count(CREATE) + replaced, actions.count(UPDATE), actions.count(DESTROY) + replaced

    def summary(self) -> str:
        if not self.pending:
            return "No changes. The deployed pipeline matches the configuration."
        add, change, destroy = self.counts()
        return f"Plan: {add} to add, {change} to change, {destroy} to destroy."

    def data_loss(self) -> list[Change]:
        """The changes that delete a table, queue or bucket (and what it holds)."""
        return [c for c in self.pending if c.deletes_data]


def _short(change: AttributeChange) -> str:
    if change.name == "CodeSha256":
        return "new code"
    if change.name == "Environment":
        return "Environment"
    return f"{change.name} {_value(change.before)} -> {_value(change.after)}"


def _value(value: Any) -> str:
    """A value as the plan shows it: strings quoted, None as null, the rest as JSON-like text."""
    import json

    if value is None:
        return "null"
    if value == UNKNOWN:
        return UNKNOWN
    return json.dumps(value, sort_keys=True, default=str)


def render(plan: Plan) -> list[str]:
    """The plan Terraform-style: one block per pending change, then its summary."""
    lines: list[str] = []
    for change in plan.pending:
        head = f"{MARKERS[change.action]} {change.address} ({change.kind} {change.name})"
        if change.action == REPLACE:
            head += " must be replaced"
        elif change.action == DESTROY:
            head += " will be destroyed"
        elif change.action == CREATE:
            head += " will be created"
        else:
            head += " will be updated in place"
        lines.append(head)
        for attribute in change.attributes:
            note = "  # forces replacement" if attribute.forces_replacement else ""
            lines.append(f"    ~ {attribute.name}: {_value(attribute.before)} -> {_value(attribute.after)}{note}")
    if lines:
        lines.append("")
    lines.append(plan.summary())
    return lines


def as_json(plan: Plan) -> dict[str, Any]:
    """The plan for `plan --json`: Terraform's resource_changes shape, trimmed to what it says."""
    add, change, destroy = plan.counts()
    return {
        "resource_changes": [
            {
                "address": c.address,
                "kind": c.kind,
                "name": c.name,
                "actions": _terraform_actions(c.action),
                "attributes": {a.name: {"before": a.before, "after": a.after} for a in c.attributes},
            }
            for c in plan.changes
        ],
        "summary": {"add": add, "change": change, "destroy": destroy},
        "notes": plan.notes,
    }


def _terraform_actions(action: str) -> list[str]:
    return {REPLACE: ["delete", "create"], DESTROY: ["delete"]}.get(action, [action])
