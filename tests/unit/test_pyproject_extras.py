"""Every extra pyproject.toml asks of a dependency is one that dependency provides: a wrong name
(moto[lambda] for moto[awslambda]) installs nothing and makes `pip install -e .` warn."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, metadata

from packaging.requirements import Requirement
from support import REPO


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 685


def _requirements() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    listed = list(project["dependencies"])
    for group in project.get("optional-dependencies", {}).values():
        listed += group
    return [Requirement(line) for line in listed]


def test_every_extra_asked_for_exists():
    unknown = []
    checked = 0
    for requirement in _requirements():
        if not requirement.extras:
            continue
        try:
            provided = {_normalized(extra) for extra in metadata(requirement.name).get_all("Provides-Extra") or []}
        except PackageNotFoundError:
            continue  # an optional group that is not installed here
        checked += 1
        unknown += [
            f"{requirement.name}[{extra}]" for extra in requirement.extras if _normalized(extra) not in provided
        ]
    assert checked, "moto, at least, is installed and asked for extras"
    assert unknown == [], f"extras these packages do not provide: {', '.join(unknown)}"
