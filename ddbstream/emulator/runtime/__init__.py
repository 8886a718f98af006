"""The daemon's Lambda runtime: functions stored in moto, run by local worker processes.

- ``pool``: ``LambdaRuntime``, the warm worker pool and Invoke (in-process callers use it).
- ``worker``: one worker process, supervised (timeouts, memory, crashes, init failures).
- ``runtime_api``: the per-worker Lambda Runtime API server the process talks to (its own
  minimal HTTP/1.1); ``handoff``: how an event meets the runtime's ``/next``.
- ``languages``: the language seam (which runtimes a family runs, how its worker starts):
  Python (awslambdaric) and Node.js (``node/bootstrap.cjs``, plain JavaScript).
- ``invoke_api``: the HTTP Invoke routes; ``debug_api``: debug mode (a debugger attaches to a worker).
- ``logs``: worker output -> CloudWatch Logs (an invocation's events as one append);
  ``memory``: a worker's peak memory (REPORT's Max Memory Used, MemorySize's limit).
- ``moto_backends``: functions and log groups read from moto. ``model``: shared types.
"""

from __future__ import annotations

import re
import threading

from werkzeug.wrappers import Request, Response

from ddbstream.emulator.http import json_response
from ddbstream.emulator.runtime.debug_api import add_debug_routes
from ddbstream.emulator.runtime.invoke_api import add_invoke_routes
from ddbstream.emulator.runtime.languages import (
    Interpreter,
    Language,
    interpreter_for,
    language_for,
)
from ddbstream.emulator.runtime.model import FunctionConfig, FunctionNotFound, InvokeError, InvokeResult, Throttled
from ddbstream.emulator.runtime.moto_patches import listeners, patch_lambda
from ddbstream.emulator.runtime.pool import LambdaRuntime
from ddbstream.errors import RuntimeUnavailable

__all__ = [
    "FunctionConfig",
    "FunctionNotFound",
    "Interpreter",
    "InvokeError",
    "InvokeResult",
    "LambdaRuntime",
    "Language",
    "Throttled",
    "install",
    "interpreter_for",
    "language_for",
]

PREWARM_RUNTIME = "python3.12"  # infra/variables.tf's default lambda_runtime


def install(emulator) -> LambdaRuntime:
    """Add the runtime to the emulator (Invoke routes, shutdown hook) and return it."""
    runtime = LambdaRuntime(
        emulator.region, emulator.account, endpoint=lambda: emulator.endpoint, access_key=emulator.secret
    )
    add_invoke_routes(emulator, runtime)
    add_debug_routes(emulator, runtime)
    emulator.add_route("GET", r"/_ddbstream/runtimes/(?P<runtime>[a-z0-9.]+)", interpreter_route)
    emulator.on_shutdown(runtime.shutdown)
    listeners.append(runtime.recycle_soon)  # new code or configuration: fresh warm workers at once
    emulator.on_shutdown(lambda: listeners.remove(runtime.recycle_soon))
    # Finding the default runtime's interpreter spawns it: do it now, not in the first invoke.
    threading.Thread(target=interpreter_for, args=(PREWARM_RUNTIME,), name="lambda-probe", daemon=True).start()
    threading.Thread(target=patch_lambda, name="lambda-patch", daemon=True).start()
    return runtime


def interpreter_route(request: Request, match: re.Match[str]) -> Response:
    """Which executable runs a runtime here, and the warning when it is a stand-in (said by `status`,
    not written into the function's log)."""
    runtime = match.group("runtime")
    try:
        interpreter = language_for("", runtime).interpreter(runtime)
    except (InvokeError, RuntimeUnavailable) as exc:
        return json_response({"runtime": runtime, "error": str(exc)}, 404)
    warning = interpreter.warning.removeprefix("ddbstream: ") if interpreter.warning else None
    return json_response({"runtime": runtime, "executable": interpreter.executable, "warning": warning})
