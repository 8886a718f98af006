"""Helpers the command modules share: option types, the running pipeline, the item store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

VarOption = Annotated[
    Optional[list[str]],
    typer.Option("--var", help="Set a pipeline variable: name=value (repeatable).", metavar="NAME=VALUE"),
]
VarFileOption = Annotated[
    Optional[list[str]],
    typer.Option("--var-file", help="Read variable values from a .tfvars or .tfvars.json file (repeatable)."),
]
TargetOption = Annotated[
    Optional[str],
    typer.Option("--target", "-t", help="Where the pipeline runs: local (default) or aws. Env: DDBSTREAM_TARGET."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
DebugOption = Annotated[
    bool,
    typer.Option(
        "--debug", help="Local: the function's next worker waits for a debugger (README: 'Stop in a debugger')."
    ),
]
DebugPortOption = Annotated[
    Optional[int],
    typer.Option(
        "--debug-port", help="The debugger's port on 127.0.0.1 (default: 5678); implies --debug.", min=1, max=65535
    ),
]


def project_state_dir() -> Path:
    """The project's state directory; project.NoProject (exit 7, says how to start one) outside a project."""
    from ddbstream.state import state_dir

    return state_dir()


def current_pipeline():
    """The running pipeline, or NoStack."""
    from ddbstream.pipeline import load_pipeline

    return load_pipeline(project_state_dir())


def item_store():
    """(ItemStore for the pipeline's table, pipeline)."""
    from ddbstream.table import ItemStore

    pipeline = current_pipeline()
    table = pipeline.require_table()
    return ItemStore(pipeline.table_client(), table.name, list(table.key_schema)), pipeline
