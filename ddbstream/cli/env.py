"""`env`: the variables that point the AWS CLI, boto3 and the SDKs at the local stack."""

from __future__ import annotations

from typing import Annotated

import typer


def env(
    shell: Annotated[str, typer.Option("--shell", help="Syntax of the lines: sh (export) or fish (set -gx).")] = "sh",
) -> None:
    """Print the local stack's endpoint and credentials as shell lines, for eval.

    The daemon answers only requests signed with the stack's secret (as the access key id);
    these lines give it to your own tools.

    Example: eval "$(ddbstream env)" && aws dynamodb list-tables
    """
    import shlex

    from ddbstream.cli.common import current_pipeline
    from ddbstream.errors import InvalidInput
    from ddbstream.stack_secret import SECRET_ACCESS_KEY

    if shell not in ("sh", "fish"):
        raise InvalidInput(f"unknown shell {shell!r}: choose sh or fish")
    pipeline = current_pipeline()
    if not pipeline.is_local or not pipeline.secret or not pipeline.endpoint:
        raise InvalidInput("'ddbstream env' is for the local target: on aws your own credentials already work")
    values = {
        "AWS_ACCESS_KEY_ID": pipeline.secret,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_ENDPOINT_URL": pipeline.endpoint,
        "AWS_DEFAULT_REGION": pipeline.region,
        # StartLiveTail's host prefix would send SDKs to "streaming-127.0.0.1", which resolves nowhere.
        "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
    }
    template = "set -gx {} {}" if shell == "fish" else "export {}={}"
    for name, value in values.items():
        print(template.format(name, shlex.quote(value)))


def register(app: typer.Typer) -> None:
    app.command()(env)
