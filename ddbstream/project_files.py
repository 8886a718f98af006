"""The project files ddbstream ships (its repository's ``infra/`` and ``lambda/``) and where they are.

A wheel carries them as ``ddbstream/_project/`` (copied there by setup.py's build step, which
loads this module by path, so it imports nothing of ddbstream at module level); a checkout
(``pip install -e .``) reads them from the repository itself: one copy either way.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

SHIPPED_DIRS = ("infra", "lambda")
SHIPPED_PACKAGE_DIR = "_project"  # inside the ddbstream package of a wheel
# Never shipped: installed dependencies, caches, Terraform's working files and state, a
# developer's own variable values.
EXCLUDED = (
    "node_modules",
    "__pycache__",
    "*.pyc",
    ".pytest_cache",
    ".mypy_cache",
    ".terraform",
    ".terraform.lock.hcl",
    "*.tfstate",
    "*.tfstate.*",
    "terraform.tfvars",
    "terraform.tfvars.json",
    ".ddbstream",
)


def is_excluded(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in EXCLUDED)


def shipped_files(root: Path) -> list[str]:
    """Paths (posix, relative to ``root``) of the shipped files under ``root``'s infra/ and lambda/, sorted."""
    found = []
    for top in SHIPPED_DIRS:
        for current, dirs, names in os.walk(root / top):
            dirs[:] = [d for d in dirs if not is_excluded(d)]
            here = Path(current)
            found += [
                (here / name).relative_to(root).as_posix()
                for name in names
                if not is_excluded(name) and (here / name).is_file()
            ]
    return sorted(found)


def project_source() -> Path:
    """The directory holding the shipped infra/ and lambda/: the wheel's copy, else the checkout's."""
    from importlib.resources import files

    package = Path(str(files("ddbstream")))
    for candidate in (package / SHIPPED_PACKAGE_DIR, package.parent):
        if (candidate / "infra" / "variables.tf").is_file():
            return candidate
    from ddbstream.errors import DdbstreamError

    raise DdbstreamError(
        f"this ddbstream install has no project files (no {package / SHIPPED_PACKAGE_DIR}): reinstall ddbstream"
    )
