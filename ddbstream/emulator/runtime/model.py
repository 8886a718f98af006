"""What the runtime's parts share: Invoke's errors and result, a function's config, one invocation."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

from ddbstream.errors import DdbstreamError, ExitCode
from ddbstream.names import lambda_log_group


class InvokeError(DdbstreamError):
    """An Invoke request the Lambda API itself rejects (not a function error)."""

    code = "ServiceException"
    status = 500

    def __init__(self, message: str, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.code = code or self.code
        self.status = status or self.status


class Throttled(InvokeError):
    """More concurrent invocations than the function's reserved concurrency."""

    code = "TooManyRequestsException"
    status = 429


class FunctionNotFound(InvokeError):
    code = "ResourceNotFoundException"
    status = 404
    exit_code = ExitCode.NOT_FOUND


@dataclass
class InvokeResult:
    """What Invoke returns (the HTTP route and in-process callers such as the ESM engine)."""

    status_code: int
    payload: bytes
    function_error: str | None
    request_id: str
    log_result: str | None = None
    executed_version: str = "$LATEST"


@dataclass(frozen=True)
class FunctionConfig:
    """The parts of a moto function that decide how a worker runs; equal configs share workers."""

    name: str
    arn: str
    version: str
    runtime: str
    handler: str
    memory_mb: int
    timeout: float
    environment: tuple[tuple[str, str], ...]
    code_digest: str
    region: str
    account: str
    reserved_concurrency: int | None = field(default=None, compare=False)  # changing it keeps workers
    debug_port: int | None = None  # debug mode (runtime/debug.py): the worker waits for a debugger here

    @property
    def key(self) -> tuple[str, str]:
        return (self.arn, self.version)

    @property
    def log_group(self) -> str:
        return lambda_log_group(self.name)


@dataclass
class Invocation:
    """One event on its way through a worker; the Runtime API and the invoking thread share it."""

    request_id: str
    payload: bytes
    config: FunctionConfig
    trace_id: str
    client_context: str | None = None
    handed_at: float | None = None  # monotonic time /next gave the event to the worker
    deadline_ms: int = 0
    done: threading.Event = field(default_factory=threading.Event)
    outcome: tuple[str, bytes] | None = None  # ("response" | "error" | "init_error" | "exit" | "failed", body)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def finish(self, kind: str, body: bytes) -> bool:
        """Record the first outcome only (a late /response after a timeout is ignored)."""
        with self._lock:
            if self.outcome is not None:
                return False
            self.outcome = (kind, body)
        self.done.set()
        return True


def error_body(error_type: str, message: str) -> bytes:
    """A Lambda error payload: ``{"errorType": ..., "errorMessage": ...}``."""
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()
