"""The consumer's settings, read from the function's environment (unset or empty = off)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from .changes import EVENT_NAMES


@dataclass(frozen=True)
class Settings:
    table_name: str | None = None
    audit_bucket: str | None = None
    audit_prefix: str = ""
    topic_arn: str | None = None
    notify_event_names: frozenset = frozenset()
    event_bus_name: str | None = None
    fail_attribute: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from TABLE_NAME, AUDIT_BUCKET, AUDIT_PREFIX, TOPIC_ARN, NOTIFY_EVENT_NAMES,
        EVENT_BUS_NAME and FAIL_ATTRIBUTE. A wrong value raises ValueError, failing the
        invocation loudly rather than dropping notifications silently."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            return (env.get(name) or "").strip() or None

        prefix = get("AUDIT_PREFIX") or ""
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        return cls(
            table_name=get("TABLE_NAME"),
            audit_bucket=get("AUDIT_BUCKET"),
            audit_prefix=prefix,
            topic_arn=get("TOPIC_ARN"),
            notify_event_names=_event_names(get("NOTIFY_EVENT_NAMES") or ""),
            event_bus_name=get("EVENT_BUS_NAME"),
            fail_attribute=get("FAIL_ATTRIBUTE"),
        )


def _event_names(text: str) -> frozenset:
    names = {part.strip().upper() for part in text.split(",") if part.strip()}
    if "*" in names:
        return frozenset(EVENT_NAMES)
    unknown = sorted(names - set(EVENT_NAMES))
    if unknown:
        raise ValueError(
            f"NOTIFY_EVENT_NAMES: unknown event name {', '.join(unknown)} (use {', '.join(EVENT_NAMES)} or *)"
        )
    return frozenset(names)
