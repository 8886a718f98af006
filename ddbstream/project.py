"""Finding the project a command runs in, as git finds its repository."""

from __future__ import annotations

import os
from pathlib import Path

from ddbstream.errors import ExitCode, SpecError

PROJECT_ENV = "DDBSTREAM_PROJECT"  # set by the global --project option too


class NoProject(SpecError):
    """No ddbstream project where a command was run: nothing can be up for it."""

    exit_code = ExitCode.NO_STACK


def is_project(directory: Path) -> bool:
    return (directory / "infra" / "variables.tf").is_file() or (directory / ".ddbstream").is_dir()


def find_project_dir(start: Path | None = None) -> Path:
    """The project, as git finds its repository: ``$DDBSTREAM_PROJECT`` (unless ``start`` is given),
    else the first of ``start`` (default cwd) and its parents holding infra/variables.tf or .ddbstream/."""
    chosen = os.environ.get(PROJECT_ENV) if start is None else None
    if chosen:
        directory = Path(chosen).expanduser().resolve()
        if not is_project(directory):
            raise NoProject(
                f"no ddbstream project in {directory} (--project or {PROJECT_ENV}: no infra/variables.tf "
                f"or .ddbstream/ there): run 'ddbstream init {directory}' to start one"
            )
        return directory
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if is_project(directory):
            return directory
    raise NoProject(
        f"no ddbstream project here (no infra/variables.tf in {here} or above): run 'ddbstream init' to start one"
    )


def find_infra_dir(start: Path | None = None) -> Path:
    """The project's ``infra/`` (see find_project_dir)."""
    return find_project_dir(start) / "infra"
