"""Deployment targets: ``local`` (the embedded daemon) and ``aws`` (Terraform), behind one protocol."""

from __future__ import annotations

import os
from pathlib import Path

from ddbstream.errors import InvalidInput
from ddbstream.targets.aws import AwsTarget
from ddbstream.targets.base import Target, TargetUI, bring_up
from ddbstream.targets.local import LocalTarget

TARGETS = ("local", "aws")

__all__ = ["TARGETS", "Target", "TargetUI", "bring_up", "make_target", "resolve_target"]


def resolve_target(name: str | None) -> str:
    """The target to use: the option, else ``$DDBSTREAM_TARGET``, else ``local``."""
    chosen = (name or os.environ.get("DDBSTREAM_TARGET") or "local").strip().lower()
    if chosen not in TARGETS:
        raise InvalidInput(f"unknown target {chosen!r}: choose one of {', '.join(TARGETS)}")
    return chosen


def make_target(
    name: str,
    directory: Path,
    ui: TargetUI,
    *,
    port: int | None = None,
    profile: str | None = None,
    region: str | None = None,
    cors_origins: tuple[str, ...] = (),
    keep_old: bool = False,
) -> Target:
    """The target called ``name``, keeping its files in ``directory`` (options a target has no use for are ignored)."""
    if name == "aws":
        return AwsTarget(directory, ui, profile=profile, region=region)
    return LocalTarget(directory, ui, port=port, cors_origins=cors_origins, keep_old=keep_old)
