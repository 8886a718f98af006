"""Helpers the command modules share: option types, state lookup, the item store."""

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


def project_state_dir() -> Path:
    """The project's state directory; NoStack outside a project (nothing can run for it)."""
    from ddbstream.errors import NoStack, SpecError
    from ddbstream.state import state_dir

    try:
        return state_dir()
    except SpecError:
        raise NoStack() from None


def current_state():
    """The running pipeline's state, or NoStack."""
    from ddbstream.state import require_state

    return require_state(project_state_dir())


def item_store():
    """(ItemStore for the pipeline's table, state)."""
    from ddbstream.clients import client_for
    from ddbstream.table import ItemStore

    state = current_state()
    table = state.resource("table_name")
    schema = state.resource("key_schema")
    if not table or not schema:
        from ddbstream.errors import NoStack

        raise NoStack("no table has been provisioned: run 'ddbstream up'")
    return ItemStore(client_for(state, "dynamodb"), table, schema), state
