"""Deployment targets: ``local`` (the embedded daemon) and ``aws`` (Terraform)."""

from __future__ import annotations

import os

TARGETS = ("local", "aws")


def resolve_target(name: str | None) -> str:
    """The target to use: the option, else ``$DDBSTREAM_TARGET``, else ``local``."""
    from ddbstream.errors import InvalidInput

    chosen = (name or os.environ.get("DDBSTREAM_TARGET") or "local").strip().lower()
    if chosen not in TARGETS:
        raise InvalidInput(f"unknown target {chosen!r}: choose one of {', '.join(TARGETS)}")
    return chosen
