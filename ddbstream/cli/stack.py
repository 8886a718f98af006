"""`up`, `down` and `destroy`: bring the pipeline up and take it away."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ddbstream.cli.common import TargetOption, VarFileOption, VarOption

# Target aws only (the local target never touches real AWS).
ProfileOption = Annotated[
    Optional[str], typer.Option("--profile", help="AWS profile for target aws (default: $AWS_PROFILE).")
]
RegionOption = Annotated[
    Optional[str], typer.Option("--region", help="AWS region for target aws (default: aws_region, else $AWS_REGION).")
]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Show all of Terraform's output (target aws).")]


def up(
    var: VarOption = None,
    var_file: VarFileOption = None,
    target: TargetOption = None,
    port: Annotated[
        Optional[int], typer.Option(help="Local daemon port on 127.0.0.1 (default: a free one).", min=1, max=65535)
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking (target aws).")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the provisioned resources as JSON.")] = False,
    profile: ProfileOption = None,
    region: RegionOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Provision the pipeline (starts the local daemon when needed).

    Example: ddbstream up --var table_name=orders --var batch_size=10
    """
    from ddbstream.cli.output import emit_json, note, spinner
    from ddbstream.provision import check as check_spec
    from ddbstream.spec import load_spec
    from ddbstream.state import state_dir
    from ddbstream.targets import resolve_target

    chosen = resolve_target(target)
    if chosen == "aws":
        from ddbstream.targets.aws import AwsTarget

        spec = load_spec(var_files=var_file, overrides=var)
        check_spec(spec)
        target_aws = AwsTarget(state_dir(spec.project_dir), profile=profile, region=region, verbose=verbose)
        state, notes = target_aws.up(spec, yes=yes)
    else:
        from ddbstream.spec import find_infra_dir
        from ddbstream.targets.local import LocalTarget

        local = LocalTarget(state_dir(find_infra_dir().parent))
        with spinner("starting the local pipeline") as status:
            local.prelaunch(port=port)  # the daemon boots while the variables are read
            try:
                spec = load_spec(var_files=var_file, overrides=var)
                check_spec(spec)
            except BaseException:
                local.cancel_prelaunch()
                raise
            state, notes = local.up(spec, port=port, progress=status.update)
        if local.restored:
            note(local.restored)
    for line in notes:
        note(f"[yellow]drift:[/] {line}")
    if json_out:
        emit_json(
            {"target": state.target, "endpoint": state.endpoint, "region": state.region, "resources": state.resources}
        )
        return
    _print_summary(state)


def _print_summary(state) -> None:
    from ddbstream.cli.output import console

    resources = state.resources
    keys = ", ".join(f"{name} ({kind})" for name, kind in resources.get("key_schema", []))
    rows = [
        ("target", state.target),
        ("endpoint", state.endpoint or f"AWS {state.region}"),
        ("table", resources.get("table_name")),
        ("key schema", keys),
        ("stream", resources.get("stream_arn")),
    ]
    for label, key in (
        ("function", "function_name"),
        ("mapping", "mapping_uuid"),
        ("dlq", "queue_url"),
        ("topic", "topic_arn"),
        ("audit bucket", "bucket"),
    ):
        if resources.get(key):
            rows.append((label, resources[key]))
    out = console()
    out.print("[bold green]pipeline is up[/]")
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        out.print(f"  {label.ljust(width)}  {value}")


def down() -> None:
    """Stop the local daemon gracefully (in-flight batches finish first); the next 'up' brings its
    tables, queues, logs and stream positions back ('destroy' forgets them).

    Example: ddbstream down
    """
    _stop_local(forget=False)


def destroy(
    var: VarOption = None,
    var_file: VarFileOption = None,
    target: TargetOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    profile: ProfileOption = None,
    region: RegionOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Tear the pipeline down (aws: terraform destroy; local: stop the daemon and forget what it saved).

    Example: ddbstream destroy --target aws
    """
    from ddbstream.targets import resolve_target

    if resolve_target(target or _deployed_target()) == "local":
        _stop_local(forget=True)
        return
    from ddbstream.cli.output import note
    from ddbstream.spec import load_spec
    from ddbstream.state import state_dir
    from ddbstream.targets.aws import AwsTarget

    spec = load_spec(var_files=var_file, overrides=var)
    AwsTarget(state_dir(spec.project_dir), profile=profile, region=region, verbose=verbose).destroy(spec, yes=yes)
    note("pipeline destroyed")


def _stop_local(forget: bool) -> None:
    """down (the daemon saves the stack) or destroy (and what it saved is deleted)."""
    from ddbstream.cli.common import project_state_dir
    from ddbstream.cli.output import note
    from ddbstream.errors import NoStack
    from ddbstream.targets.local import LocalTarget

    local = LocalTarget(project_state_dir())
    if not (local.forget() if forget else local.down()):
        raise NoStack()
    note(
        "local stack destroyed: the next 'up' starts empty"
        if forget
        else "local stack stopped (saved for the next 'up'; 'ddbstream destroy' forgets it)"
    )


def _deployed_target() -> str | None:
    """The target this project's pipeline was brought up on: destroy follows it by default."""
    import os

    from ddbstream.errors import SpecError
    from ddbstream.state import read_state, state_dir

    if os.environ.get("DDBSTREAM_TARGET"):
        return None
    try:
        state = read_state(state_dir())
    except SpecError:
        return None
    return state.target if state else None


def register(app: typer.Typer) -> None:
    app.command()(up)
    app.command()(down)
    app.command()(destroy)
