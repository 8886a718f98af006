"""`event` and `invoke`: sample stream events, and running the consumer once with one."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ddbstream.cli.common import DebugOption, DebugPortOption, JsonOption, VarFileOption, VarOption

EVENT_CHOICES = ("insert", "modify", "remove")


def event(
    name: Annotated[str, typer.Argument(help="The change: insert, modify or remove.", metavar="insert|modify|remove")],
    item: Annotated[
        Optional[str],
        typer.Option("--item", "-i", help="The new image as JSON, @file.json or - (remove: the removed item)."),
    ] = None,
    old: Annotated[
        Optional[str], typer.Option("--old", help="The old image (modify, remove) as JSON, @file.json or -.")
    ] = None,
    view_type: Annotated[
        Optional[str],
        typer.Option(
            "--view-type", help="KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES (default: the table's)."
        ),
    ] = None,
    ddb_json: Annotated[bool, typer.Option("--ddb-json", help="--item and --old are DynamoDB-typed JSON.")] = False,
    ttl: Annotated[bool, typer.Option("--ttl", help="A removal done by Time to Live (remove only).")] = False,
    var: VarOption = None,
    var_file: VarFileOption = None,
) -> None:
    """Print a DynamoDB stream event for the pipeline's table, as Lambda receives it.

    The key schema and view type come from the running stack, else from infra/ (no stack needed). Without --item, a sample item is used.

    Example: ddbstream event modify --item '{"employeeid": "E101", "department": "Finance"}' > event.json
    """
    from ddbstream.cli.output import emit_json
    from ddbstream.errors import InvalidInput
    from ddbstream.samples import current_shape, sample_event

    if name.lower() not in EVENT_CHOICES:
        raise InvalidInput(f"unknown event {name!r}: use insert, modify or remove")
    new_image = _image(item, "--item", ddb_json)
    old_image = _image(old, "--old", ddb_json)
    if item == "-" and old == "-":
        raise InvalidInput("only one of --item and --old can read stdin")
    shape = current_shape(var_file, var)
    emit_json(sample_event(shape, name, new_image, old_image, view_type, ttl=ttl))


def _image(text: str | None, option: str, ddb_json: bool):
    """An image option -> plain values (Decimal numbers, sets, bytes), or None."""
    if text is None:
        return None
    from ddbstream.errors import InvalidInput
    from ddbstream.items import from_ddb, parse_item

    try:
        return from_ddb(parse_item(text, ddb_json=ddb_json))
    except InvalidInput as exc:
        raise InvalidInput(f"{option}: {exc.message}") from None


def invoke(
    event_file: Annotated[
        Optional[str],
        typer.Option(
            "--event", "-e", help="The event: a JSON file, - for stdin, or inline JSON (default: a sample insert)."
        ),
    ] = None,
    function: Annotated[
        Optional[str], typer.Option("--function", help="Function to invoke (default: the pipeline's consumer).")
    ] = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
    debug_port: DebugPortOption = None,
) -> None:
    """Run the consumer once with an event through the Lambda Invoke API; print its result and log.

    Example: ddbstream event remove | ddbstream invoke --event -
    """
    from ddbstream.cli.common import current_pipeline
    from ddbstream.invoke import invoke_function, read_event

    payload = read_event(event_file)
    pipeline = current_pipeline()
    if debug or debug_port is not None:
        result = _invoke_debugged(pipeline, payload, function, debug_port)
    else:
        result = invoke_function(pipeline, payload, function)
    _show_result(result, as_json)
    if result.function_error:
        from ddbstream.invoke import FunctionFailed

        raise FunctionFailed(result)


def _invoke_debugged(pipeline, payload, function: str | None, port: int | None):
    """One invocation in debug mode: it runs once a debugger has attached on ``port``."""
    from ddbstream.cli.output import escape, note
    from ddbstream.debugging import DEFAULT_PORT, debugging, waiting_line
    from ddbstream.invoke import function_name_of, invoke_function

    name = function_name_of(pipeline, function)
    port = port or DEFAULT_PORT
    with debugging(pipeline, name, port) as client:
        note(f"{escape(name)}: {waiting_line(port)} (Ctrl-C gives up)")
        return invoke_function(pipeline, payload, name, client)


def _show_result(result, as_json: bool) -> None:
    import sys

    from ddbstream.cli.output import emit_json, err_console, escape, note, safe

    if as_json:
        emit_json(result.as_json(), pretty=False)
        return
    if result.log_truncated:
        note("[dim]… earlier log lines cut: Lambda returns the last 4 KB of the log[/]")
    if sys.stderr.isatty():
        for renderable in result.rendered_log():
            err_console().print(renderable)
    else:
        for line in result.log_lines:
            sys.stderr.write(safe(line, multiline=True) + "\n")
    sys.stderr.flush()
    if result.function_error:
        return
    emit_json(result.payload)
    failures = result.batch_item_failures()
    if failures:
        note(f"[yellow]{len(failures)} record(s) reported as failed:[/] " + ", ".join(map(escape, failures)))


def register(app: typer.Typer) -> None:
    app.command()(event)
    app.command()(invoke)
