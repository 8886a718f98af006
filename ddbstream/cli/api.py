"""`api`: one request to the stack's HTTP API, written as httpie writes one."""

from __future__ import annotations

from typing import Annotated, Optional

import typer


def api(
    method: Annotated[str, typer.Argument(help="GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS.")],
    path: Annotated[str, typer.Argument(help="The path, e.g. /dynamo.")],
    items: Annotated[
        Optional[list[str]],
        typer.Argument(
            help="name=value (JSON string field), name:=json (raw JSON field), name==value (query), "
            "Header:value, @body.json (@- for stdin).",
            show_default=False,
        ),
    ] = None,
    api_id: Annotated[
        Optional[str],
        typer.Option("--api", help="The API's id (default: the one 'up' made, else the stack's only one)."),
    ] = None,
    headers: Annotated[bool, typer.Option("--headers", "-v", help="Also print the response headers.")] = False,
) -> None:
    """Send a request to the stack's HTTP API; print the status (stderr) and the body (stdout).

    Example: ddbstream api POST /dynamo user_id=u1 name=Ana age:=41
    """
    from ddbstream.cli.common import current_pipeline
    from ddbstream.http_api import api_base_url, build_request, send

    request = build_request(method, path, items or [])
    pipeline = current_pipeline()
    recorded = pipeline.api  # the API `up` made (enable_api): no need to list the stack's APIs
    if recorded is not None and recorded.url and api_id in (None, recorded.id):
        base_url = recorded.url
    else:
        base_url = api_base_url(pipeline, api_id)
    response = send(base_url, request)
    _show(response, headers)


def _show(response, with_headers: bool) -> None:
    import json
    import sys

    from ddbstream.cli.output import emit_json, escape, note, stdout_is_terminal
    from ddbstream.terminal import safe

    colour = "green" if response.status < 400 else "red"
    note(f"[bold {colour}]HTTP {response.status}[/] {escape(response.reason)}")
    if with_headers:
        for name, value in response.headers:
            note(f"[dim]{escape(name)}:[/] {escape(value)}")
    if not response.body:
        return
    try:
        emit_json(json.loads(response.body))
        return
    except ValueError:
        pass
    if stdout_is_terminal():
        sys.stdout.write(safe(response.body.decode("utf-8", "replace"), multiline=True) + "\n")
    else:
        sys.stdout.buffer.write(response.body)
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    app.command()(api)
