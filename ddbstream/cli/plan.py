"""`plan`: what `up` would change, resource by resource, before anything changes."""

from __future__ import annotations

from typing import Annotated

import typer

from ddbstream.cli.common import JsonOption, TargetOption, VarFileOption, VarOption
from ddbstream.cli.stack import ProfileOption, RegionOption, VerboseOption


def plan(
    var: VarOption = None,
    var_file: VarFileOption = None,
    target: TargetOption = None,
    as_json: JsonOption = False,
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 2 when there are changes (0: none), as Terraform does.")
    ] = False,
    profile: ProfileOption = None,
    region: RegionOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Show what 'up' would create, update, replace or destroy (local: against the running daemon;
    aws: terraform plan), changing nothing.

    Example: ddbstream plan --var batch_size=10
    """
    from ddbstream.cli.output import console, emit_json, escape, note
    from ddbstream.cli.stack import _checked_spec
    from ddbstream.cli.ui import ConsoleUI
    from ddbstream.plan import as_json as plan_json
    from ddbstream.plan import render
    from ddbstream.state import state_dir
    from ddbstream.targets import make_target, resolve_target

    spec = _checked_spec(var_file, var)
    chosen = resolve_target(target)
    stack = make_target(chosen, state_dir(spec.project_dir), ConsoleUI(verbose=verbose), profile=profile, region=region)
    result = stack.plan(spec)
    if as_json:
        emit_json(plan_json(result))
    else:
        out = console()
        for line in render(result):
            out.print(escape(line), highlight=False)
        for line in result.notes:
            note(escape(line))
    if detailed_exitcode and result.pending:
        raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    app.command()(plan)
