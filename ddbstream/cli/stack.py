"""`up`, `down` and `destroy`: bring the pipeline up and take it away."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ddbstream.cli.common import DebugOption, DebugPortOption, TargetOption, VarFileOption, VarOption

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
    cors_origin: Annotated[
        Optional[list[str]],
        typer.Option(
            "--cors-origin",
            help="A web origin (https://app.example:8443) the local daemon answers, when it starts; every other is refused. Repeatable.",
            metavar="ORIGIN",
        ),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Apply without asking (aws: any change; local: one that deletes data).")
    ] = False,
    keep_old: Annotated[
        bool,
        typer.Option("--keep-old", help="Local: leave running what left the definition (status lists it)."),
    ] = False,
    debug: DebugOption = False,
    debug_port: DebugPortOption = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the provisioned resources as JSON.")] = False,
    profile: ProfileOption = None,
    region: RegionOption = None,
    verbose: VerboseOption = False,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch", help="Local: stay in the foreground and redeploy what each save under lambda/ or infra/ changes."
        ),
    ] = False,
    tail: Annotated[bool, typer.Option("--tail", help="With --watch: follow the consumer's log here too.")] = False,
) -> None:
    """Provision the pipeline (starts the local daemon when needed): plan, ask before data is deleted,
    apply, one line per change.

    Example: ddbstream up --var table_name=orders --var batch_size=10; ddbstream up --watch --tail
    """
    from ddbstream.cli.output import emit_json, escape, note
    from ddbstream.cli.ui import ConsoleUI
    from ddbstream.project import find_infra_dir
    from ddbstream.state import state_dir
    from ddbstream.targets import bring_up, make_target, resolve_target

    chosen = resolve_target(target)
    if watch or tail:
        from ddbstream.cli.up_watch import check_options

        check_options(chosen, watch, tail, json_out)
    debug_port = _debug_port(chosen, debug, debug_port)
    ui = ConsoleUI(verbose=verbose, assume_yes=yes)
    origins = tuple(_web_origin(value) for value in cors_origin or ())
    stack = make_target(
        chosen,
        state_dir(find_infra_dir().parent),
        ui,
        port=port,
        profile=profile,
        region=region,
        cors_origins=origins,
        keep_old=keep_old,
    )
    baseline = _watched_files(var_file, var) if watch else None  # a save during `up` is reloaded after it
    pipeline, notes = bring_up(stack, lambda: _checked_spec(var_file, var))
    for line in notes:
        note(f"[yellow]drift:[/] {escape(line)}")
    _debug_mode(pipeline, debug_port)
    if json_out:
        emit_json(_resources_document(pipeline))
        return
    _print_summary(pipeline)
    if watch:
        from ddbstream.cli.up_watch import watch_and_reload

        watch_and_reload(stack, lambda: _checked_spec(var_file, var), var_file or [], yes, tail, baseline)


def _watched_files(var_files: list[str] | None, overrides: list[str] | None) -> dict:
    from ddbstream.cli.up_watch import watched_files

    return watched_files(lambda: _checked_spec(var_files, overrides), var_files or [])


def _resources_document(pipeline) -> dict:
    """What `up --json` prints."""
    return {
        "target": pipeline.target,
        "endpoint": pipeline.endpoint,
        "region": pipeline.region,
        "resources": pipeline.as_resources(),
    }


def _debug_port(target: str, debug: bool, port: int | None) -> int | None:
    """The debug port `up` asked for (--debug-port implies --debug), or None; refused on aws."""
    if not debug and port is None:
        return None
    from ddbstream.debugging import DEFAULT_PORT, require_local

    require_local(target)
    return port or DEFAULT_PORT


def _debug_mode(pipeline, port: int | None) -> None:
    """Locally, debug mode on (``port``) or off for the consumer, as this `up` asked."""
    if not pipeline.is_local or pipeline.function is None:
        return
    from ddbstream.cli.output import note
    from ddbstream.debugging import set_debug, waiting_line
    from ddbstream.errors import DdbstreamError

    if port is None:
        try:  # off, as every `up` without --debug asks: a daemon that never had it has nothing to turn off
            set_debug(pipeline, pipeline.function.name, None)
        except DdbstreamError:
            pass
        return
    set_debug(pipeline, pipeline.function.name, port)
    note(
        f"[bold]debug:[/] the function's next worker is {waiting_line(port)} "
        "(no timeout while debugging, one worker at a time; a plain 'up' turns it off)"
    )


def _web_origin(value: str) -> str:
    """An origin as browsers send it (scheme://host[:port]); InvalidInput for anything else."""
    import re

    from ddbstream.errors import InvalidInput

    if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:\d{1,5})?", value):
        raise InvalidInput(f"--cors-origin {value!r} is not a web origin such as https://app.example:8443")
    return value


def _checked_spec(var_files: list[str] | None, overrides: list[str] | None):
    """The spec with its variables, checked beyond what variables.tf validates."""
    from ddbstream.provision import check
    from ddbstream.spec import load_spec

    spec = load_spec(var_files=var_files, overrides=overrides)
    check(spec)
    return spec


def _print_summary(pipeline) -> None:
    from ddbstream.cli.output import console, escape

    table = pipeline.table
    keys = ", ".join(f"{name} ({kind})" for name, kind in table.key_schema) if table else ""
    rows = [
        ("target", pipeline.target),
        ("endpoint", pipeline.endpoint or f"AWS {pipeline.region}"),
        ("table", table.name if table else None),
        ("key schema", keys),
        ("stream", table.stream_arn if table else None),
    ]
    optional = (
        ("function", pipeline.function and pipeline.function.name),
        ("mapping", pipeline.mapping and pipeline.mapping.uuid),
        ("dlq", pipeline.queue and pipeline.queue.url),
        ("topic", pipeline.topic and pipeline.topic.arn),
        ("audit bucket", pipeline.bucket and pipeline.bucket.name),
        ("event bus", pipeline.event_bus and pipeline.event_bus.name),
        ("bus rule", pipeline.event_rule and f"{pipeline.event_rule.name} -> {pipeline.event_rule.log_group}"),
        ("api", pipeline.api and pipeline.api.url),
    )
    rows += [(label, value) for label, value in optional if value]
    out = console()
    out.print("[bold green]pipeline is up[/]")
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        out.print(f"  {label.ljust(width)}  {escape(value)}")


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
    from ddbstream.cli.ui import ConsoleUI
    from ddbstream.spec import load_spec
    from ddbstream.state import state_dir
    from ddbstream.targets import make_target

    spec = load_spec(var_files=var_file, overrides=var)
    ui = ConsoleUI(verbose=verbose, assume_yes=yes)
    make_target("aws", state_dir(spec.project_dir), ui, profile=profile, region=region).destroy(spec)
    note("pipeline destroyed")


def _stop_local(forget: bool) -> None:
    """down (the daemon saves the stack) or destroy (and what it saved is deleted)."""
    from ddbstream.cli.common import project_state_dir
    from ddbstream.cli.output import note
    from ddbstream.cli.ui import ConsoleUI
    from ddbstream.daemon import LOG_FILE, Stopped
    from ddbstream.errors import DaemonError, NoStack
    from ddbstream.targets.local import LocalTarget

    directory = project_state_dir()
    local = LocalTarget(directory, ConsoleUI())
    if not (local.destroy() if forget else local.down()):
        if forget:  # as `terraform destroy` with nothing deployed: done, not an error
            note("nothing to destroy: this project has no local stack")
            return
        raise NoStack()
    if forget:
        note("local stack destroyed: the next 'up' starts empty")
    elif local.stopped is Stopped.SAVED:
        note("local stack stopped (saved for the next 'up'; 'ddbstream destroy' forgets it)")
    elif local.stopped is Stopped.KILLED:
        raise DaemonError(
            "the local daemon did not stop within its longest function timeout (+30 s) and was killed: "
            f"the batches it was running will be delivered again at the next 'up' (see {directory / LOG_FILE})"
        )
    else:
        raise DaemonError(
            f"the local daemon stopped without confirming that it saved the stack: see {directory / LOG_FILE}"
        )


def _deployed_target() -> str | None:
    """The target this project's pipeline was brought up on: destroy follows it by default."""
    import os

    from ddbstream.errors import SpecError
    from ddbstream.pipeline import saved_pipeline
    from ddbstream.state import state_dir

    if os.environ.get("DDBSTREAM_TARGET"):
        return None
    try:
        pipeline = saved_pipeline(state_dir())
    except SpecError:
        return None
    return pipeline.target if pipeline else None


def register(app: typer.Typer) -> None:
    app.command()(up)
    app.command()(down)
    app.command()(destroy)
