"""What every provisioning step reads (the spec, a client factory) and adds to (resources, notes)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ddbstream.spec import Spec

ClientFactory = Callable[[str], Any]


@dataclass
class Provisioning:
    """One provisioning run: each step records what it made in ``resources`` and drift in ``notes``."""

    spec: Spec
    client: ClientFactory
    resources: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    progress: Callable[[str], None] = lambda _: None
