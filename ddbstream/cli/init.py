"""`init`: start a project (infra/, lambda/, terraform.tfvars, .gitignore) from the files ddbstream ships."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def init(
    directory: Annotated[Path, typer.Argument(help="Where to write the project (created if needed).")] = Path("."),
    example: Annotated[
        Optional[str],
        typer.Option(
            "--example",
            "-e",
            help="The pipeline to start from: one of infra/examples/ (employees, user-activities, realtime-data...). Default: employees.",
        ),
    ] = None,
    runtime: Annotated[
        Optional[str],
        typer.Option(
            "--runtime",
            help="The consumer's runtime: python3.N or nodejsN.x (default: the example's, else python3.12).",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite files the project already has.")] = False,
) -> None:
    """Write a new ddbstream project: the Terraform in infra/, the consumer in lambda/, an example's variables.

    Example: ddbstream init orders --example user-activities --runtime nodejs20.x
    """
    from ddbstream import scaffold
    from ddbstream.cli.output import console, escape, note

    project = scaffold.plan(example, runtime)
    scaffold.write(directory, project, force=force)
    note(
        f"wrote a ddbstream project in {escape(str(directory))}: the {escape(project.example)} pipeline, "
        f"a {escape(project.runtime)} consumer in lambda/"
    )
    out = console()
    out.print("next:")
    for command in scaffold.next_commands(directory, Path.cwd()):
        out.print(f"  {escape(command)}")


def register(app: typer.Typer) -> None:
    app.command()(init)
