"""Lambda's Invoke routes on the daemon's endpoint (served here so moto never tries Docker)."""

from __future__ import annotations

import base64
import json
import re

from werkzeug.wrappers import Request, Response

from ddbstream.emulator.http import aws_error
from ddbstream.emulator.runtime.model import InvokeError
from ddbstream.emulator.runtime.pool import LambdaRuntime

INVOKE_PATH = r"/2015-03-31/functions/(?P<function>[^/]+)/invocations/?"
INVOKE_ASYNC_PATH = r"/2014-11-13/functions/(?P<function>[^/]+)/invoke-async/?"  # the legacy InvokeAsync API


def add_invoke_routes(emulator, runtime: LambdaRuntime) -> None:
    """Serve Invoke and the legacy InvokeAsync through ``runtime``."""
    emulator.add_route("POST", INVOKE_PATH, lambda request, match: invoke_route(runtime, request, match))
    emulator.add_route("POST", INVOKE_ASYNC_PATH, lambda request, match: invoke_route(runtime, request, match, "Event"))


def invoke_route(
    runtime: LambdaRuntime, request: Request, match: re.Match[str], invocation_type: str | None = None
) -> Response:
    """One Invoke request: its headers in, the result (or Lambda's error) out."""
    headers = request.headers
    client_context = None
    if headers.get("X-Amz-Client-Context"):
        try:
            client_context = base64.b64decode(headers["X-Amz-Client-Context"]).decode()
        except ValueError:
            return aws_error(
                "InvalidRequestContentException", "Client context must be a valid Base64-encoded JSON object."
            )
    try:
        result = runtime.invoke(
            match.group("function"),
            request.get_data(),
            invocation_type=invocation_type or headers.get("X-Amz-Invocation-Type") or "RequestResponse",
            log_type=headers.get("X-Amz-Log-Type"),
            qualifier=request.args.get("Qualifier"),
            client_context=client_context,
        )
    except InvokeError as exc:
        return aws_error(exc.code, exc.message, exc.status)
    out = {"x-amzn-RequestId": result.request_id, "X-Amz-Executed-Version": result.executed_version}
    if result.function_error:
        out["X-Amz-Function-Error"] = result.function_error
    if result.log_result is not None:
        out["X-Amz-Log-Result"] = result.log_result
    if invocation_type == "Event":  # the legacy InvokeAsync API
        return Response(json.dumps({"Status": 202}), status=202, mimetype="application/json", headers=out)
    return Response(result.payload, status=result.status_code, mimetype="application/json", headers=out)
