"""Terraform version constraints (``">= 5.40, < 7.0"``, ``"~> 6.2"``) against the schema's provider version."""

from __future__ import annotations

import re

_PART = re.compile(r"^\s*(>=|<=|~>|!=|=|>|<)?\s*v?(\d+(?:\.\d+){0,2})\s*$")

Version = tuple[int, int, int]


class ConstraintError(ValueError):
    """A constraint Terraform would not read."""


def parse_version(text: str) -> Version:
    numbers = [int(n) for n in text.split(".")] + [0, 0]
    return numbers[0], numbers[1], numbers[2]


def _parts(constraint: str) -> list[tuple[str, Version, int]]:
    parts = []
    for piece in constraint.split(","):
        match = _PART.match(piece)
        if not match:
            raise ConstraintError(f"cannot read version constraint {constraint!r}")
        parts.append((match.group(1) or "=", parse_version(match.group(2)), match.group(2).count(".") + 1))
    return parts


def _allows(op: str, bound: Version, precision: int, version: Version) -> bool:
    if op == "~>":  # ~> 6.2 is >= 6.2, < 7.0; ~> 6.2.1 is >= 6.2.1, < 6.3.0
        if precision == 1:
            return version[0] == bound[0]
        upper = (bound[0] + 1, 0, 0) if precision == 2 else (bound[0], bound[1] + 1, 0)
        return bound <= version < upper
    return {
        "=": version == bound,
        "!=": version != bound,
        ">": version > bound,
        ">=": version >= bound,
        "<": version < bound,
        "<=": version <= bound,
    }[op]


def allows(constraint: str, version: str) -> bool:
    """Whether ``version`` meets every part of ``constraint``."""
    parsed = parse_version(version)
    return all(_allows(op, bound, precision, parsed) for op, bound, precision in _parts(constraint))


def newest_major(constraint: str) -> int | None:
    """The highest major version the constraint allows; None when it has no upper bound."""
    highest: int | None = None
    for op, bound, _ in _parts(constraint):
        if op in ("=", "~>", "<="):
            major = bound[0]
        elif op == "<":
            major = bound[0] - 1 if bound[1:] == (0, 0) else bound[0]
        else:
            continue
        highest = major if highest is None else min(highest, major)
    return highest


def problem(constraint: str, provider: str) -> str | None:
    """Why ``constraint`` disagrees with the schema's provider version, or None when it agrees."""
    try:
        if not allows(constraint, provider):
            return f'hashicorp/aws "{constraint}" does not allow the schema\'s version {provider}'
        major = newest_major(constraint)
    except ConstraintError as exc:
        return str(exc)
    schema_major = parse_version(provider)[0]
    if major is None:
        return f'hashicorp/aws "{constraint}" has no upper bound: pin major {schema_major} (the schema\'s)'
    if major != schema_major:
        return f'hashicorp/aws "{constraint}" allows major {major}, the schema is {provider} (major {schema_major})'
    return None
