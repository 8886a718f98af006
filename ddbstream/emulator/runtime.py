"""The daemon's Lambda runtime: functions stored in moto, run under awslambdaric workers.

Functions are created and updated through moto's Lambda API; at invoke time the runtime
reads the function from moto's in-process backend, extracts its zip once per code hash and
hands the event to a warm worker (``python -m awslambdaric <handler>``), one per concurrent
invocation. Each worker talks to its own loopback Lambda Runtime API server (the HTTP
contract of ``/2018-06-01/runtime/...``). Timeouts, memory over MemorySize, crashes and init
failures end the worker and produce AWS's error payloads and log lines; the next invocation
gets a fresh worker. The Invoke routes are served here so moto never tries Docker.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import json
import logging
import math
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ddbstream.emulator.lambda_logs import LogPump, LogStreamWriter, stream_name
from ddbstream.errors import DdbstreamError, ExitCode
from ddbstream.names import lambda_log_group

log = logging.getLogger("ddbstream.emulator.runtime")

RUNTIME_API = "/2018-06-01/runtime"
INIT_TIMEOUT = 10.0  # Lambda's init phase limit (on-demand)
MAX_SYNC_REQUEST = 6_291_456
MAX_ASYNC_REQUEST = 262_144
MAX_SYNC_RESPONSE = 6_291_556
LOG_TAIL_BYTES = 4096
MEMORY_POLL = 0.01  # seconds between peak-RSS checks of a running invocation
IDLE_TTL = float(os.environ.get("DDBSTREAM_LAMBDA_IDLE_SECONDS", "600"))
DRAIN_TIMEOUT = 60.0
ASYNC_CONCURRENCY = 16
PREWARM_RUNTIME = "python3.12"  # infra/variables.tf's default lambda_runtime
FAKE_SESSION_TOKEN = "ddbstream-local-session-token"
_SIGNAL_NAMES = {  # how Lambda's (Go) runtime names the signal that ended a runtime process
    signal.SIGABRT: "aborted",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGKILL: "killed",
    signal.SIGTERM: "terminated",
    signal.SIGBUS: "bus error",
    signal.SIGFPE: "floating point exception",
    signal.SIGILL: "illegal instruction",
    signal.SIGINT: "interrupt",
    signal.SIGPIPE: "broken pipe",
}
_FUNCTION_REF = re.compile(
    r"^(?:arn:aws[\w-]*:lambda:(?P<region>[a-z0-9-]+):)?(?:(?P<account>\d{12}):)?(?:function:)?"
    r"(?P<name>[A-Za-z0-9_-]{1,140})(?::(?P<qualifier>\$LATEST|[A-Za-z0-9_-]{1,128}))?$"
)


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

    @property
    def key(self) -> tuple[str, str]:
        return (self.arn, self.version)

    @property
    def log_group(self) -> str:
        return lambda_log_group(self.name)


@dataclass
class Invocation:
    request_id: str
    payload: bytes
    config: FunctionConfig
    trace_id: str
    client_context: str | None = None
    handed_at: float | None = None  # monotonic time /next gave the event to the worker
    deadline_ms: int = 0
    done: threading.Event = field(default_factory=threading.Event)
    outcome: tuple[str, bytes] | None = None  # ("response" | "error" | "init_error", body)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def finish(self, kind: str, body: bytes) -> bool:
        """Record the first outcome only (a late /response after a timeout is ignored)."""
        with self._lock:
            if self.outcome is not None:
                return False
            self.outcome = (kind, body)
        self.done.set()
        return True


def _error_body(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


def _trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0"


def _iso_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# ---------------------------------------------------------------- interpreters


@dataclass(frozen=True)
class Interpreter:
    executable: str
    runtime_dir: str  # where awslambdaric lives (LAMBDA_RUNTIME_DIR)
    warning: str | None = None


_PROBE = "import sys, os, awslambdaric, runtime_client, boto3; print(sys.executable); print(os.path.dirname(os.path.dirname(awslambdaric.__file__)))"
_interpreters: dict[str, Interpreter] = {}
_interpreters_lock = threading.Lock()


def _probe(executable: str) -> tuple[str, str] | None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON"))}
    try:
        out = subprocess.run(
            [executable, "-c", _PROBE], capture_output=True, text=True, timeout=20, env=env, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = out.stdout.strip().splitlines()
    return (lines[0], lines[1]) if out.returncode == 0 and len(lines) == 2 else None


def interpreter_for(runtime: str) -> Interpreter:
    """The Python matching ``runtime`` (python3.12 -> ``python3.12`` on PATH) if it can run
    awslambdaric and boto3 (both part of AWS's Python runtimes), else the daemon's own."""
    with _interpreters_lock:
        if runtime in _interpreters:
            return _interpreters[runtime]
        found = None
        candidate = shutil.which(runtime) if re.fullmatch(r"python3\.\d+", runtime or "") else None
        if candidate:
            found = _probe(candidate)
        if found:
            chosen = Interpreter(found[0], found[1])
        else:
            # The daemon's own interpreter has awslambdaric (a dependency of ddbstream).
            ric = importlib.util.find_spec("awslambdaric")
            runtime_dir = os.path.dirname(os.path.dirname(ric.origin)) if ric and ric.origin else ""
            mine = f"python{sys.version_info.major}.{sys.version_info.minor}"
            why = "is not on PATH" if not candidate else "cannot import awslambdaric and boto3"
            chosen = Interpreter(
                sys.executable,
                runtime_dir,
                warning=(
                    f"ddbstream: WARNING {runtime} {why}; running this function with the daemon's {mine} ({sys.executable})"
                ),
            )
        _interpreters[runtime] = chosen
        return chosen


# ---------------------------------------------------------------- Runtime API server


class _RuntimeApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave at once: no 40 ms delayed-ACK stalls
    server: _RuntimeApiServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep the daemon log quiet
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        lines = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}"]
        all_headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
        all_headers.update(headers or {})
        lines += [f"{k}: {v}" for k, v in all_headers.items()]
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        self.wfile.flush()

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:  # noqa: N802
        if self.path == f"{RUNTIME_API}/invocation/next":
            invocation = self.server.worker.next_invocation()
            if invocation is None:  # the worker is being stopped
                self.close_connection = True
                self._send(500, _error_body("Runtime.Stopped", "the worker is being stopped"))
                return
            headers = {
                "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": invocation.config.arn
                + ("" if invocation.config.version == "$LATEST" else f":{invocation.config.version}"),
                "Lambda-Runtime-Trace-Id": invocation.trace_id,
            }
            if invocation.client_context:
                headers["Lambda-Runtime-Client-Context"] = invocation.client_context
            self._send(200, invocation.payload, headers)
        else:
            self._send(404, _error_body("InvalidRequest", f"no such Runtime API path {self.path}"))

    def do_POST(self) -> None:  # noqa: N802
        body = self._body()
        worker = self.server.worker
        match = re.fullmatch(rf"{RUNTIME_API}/invocation/([^/]+)/(response|error)", self.path)
        if match:
            kind = match.group(2)
            if kind == "error" and not body:
                body = _error_body(self.headers.get("Lambda-Runtime-Function-Error-Type") or "Runtime.Unknown", "")
            if not worker.post_result(match.group(1), kind, body):
                self._send(400, _error_body("InvalidRequestID", "Invalid request ID"))
                return
            self._send(202, b'{"status":"OK"}')
        elif self.path == f"{RUNTIME_API}/init/error":
            worker.post_init_error(
                body or _error_body(self.headers.get("Lambda-Runtime-Function-Error-Type") or "Runtime.Unknown", "")
            )
            self._send(202, b'{"status":"OK"}')
        else:
            self._send(404, _error_body("InvalidRequest", f"no such Runtime API path {self.path}"))


class _RuntimeApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, worker: Worker):
        self.worker = worker
        super().__init__(("127.0.0.1", 0), _RuntimeApiHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):  # a killed worker's connection: expected
            return
        log.exception("Runtime API request from %s failed", client_address)


# ---------------------------------------------------------------- workers


class Worker:
    """One execution environment: an awslambdaric process, its Runtime API and its log stream."""

    def __init__(self, runtime: LambdaRuntime, config: FunctionConfig, code_dir: Path):
        self.config = config
        self.runtime = runtime
        self.inbox: queue.Queue[Invocation | None] = queue.Queue()
        self.current: Invocation | None = None
        self.initialized = False
        self.init_duration_ms: float | None = None
        self.init_error: bytes | None = None
        self.peak_kb = 0
        self.invocations = 0
        self.idle_since = time.monotonic()
        self.exit_description: str | None = None
        self.exited = threading.Event()
        self._stopping = False
        self.interpreter = interpreter_for(config.runtime)
        self.writer = LogStreamWriter(runtime.logs_backend(config), config.log_group, stream_name(config.version))
        self.api = _RuntimeApiServer(self)
        self._api_thread = threading.Thread(
            target=self.api.serve_forever, kwargs={"poll_interval": 0.1}, name="lambda-runtime-api", daemon=True
        )
        self._api_thread.start()
        self.spawned_at = time.monotonic()
        self.writer.write(
            [
                f"INIT_START Runtime Version: {config.runtime.replace('python', 'python:')}.local"
                f"\tRuntime Version ARN: arn:aws:lambda:{config.region}::runtime:ddbstream-local"
            ]
        )
        if self.interpreter.warning:
            self.writer.write([self.interpreter.warning])
        read_fd, write_fd = os.pipe()
        try:
            self.process = subprocess.Popen(
                [self.interpreter.executable, "-m", "awslambdaric", config.handler],
                cwd=code_dir,
                env=self._environment(code_dir),
                stdin=subprocess.DEVNULL,
                stdout=write_fd,
                stderr=write_fd,
                start_new_session=True,
                close_fds=True,
            )
        except OSError:
            os.close(read_fd)
            self.api.shutdown()
            self.api.server_close()
            raise
        finally:
            os.close(write_fd)
        self.pump = LogPump(read_fd, self.writer)
        threading.Thread(target=self._watch, name="lambda-worker-watch", daemon=True).start()

    def _environment(self, code_dir: Path) -> dict[str, str]:
        """Only what Lambda gives a function: never the daemon's (or the user's) environment."""
        c = self.config
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "PYTHONPATH": str(code_dir),  # the interpreter finds awslambdaric and boto3 itself
            "AWS_ENDPOINT_URL": self.runtime.endpoint,
            # Nothing from the user's ~/.aws (profiles, credentials, endpoints) reaches a function.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
        env.update(dict(c.environment))
        env.update(
            {  # reserved: a function's own variables cannot override these
                "_HANDLER": c.handler,
                "AWS_REGION": c.region,
                "AWS_DEFAULT_REGION": c.region,
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{c.runtime}",
                "AWS_LAMBDA_FUNCTION_NAME": c.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(c.memory_mb),
                "AWS_LAMBDA_FUNCTION_VERSION": c.version,
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "AWS_LAMBDA_LOG_GROUP_NAME": c.log_group,
                "AWS_LAMBDA_LOG_STREAM_NAME": self.writer.stream,
                "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{self.api.server_address[1]}",
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": FAKE_SESSION_TOKEN,
                "LAMBDA_TASK_ROOT": str(code_dir),
                "LAMBDA_RUNTIME_DIR": self.interpreter.runtime_dir or str(code_dir),
            }
        )
        return env

    # -- called from the Runtime API server's threads

    def next_invocation(self) -> Invocation | None:
        if not self.initialized:
            self.initialized = True
            self.init_duration_ms = (time.monotonic() - self.spawned_at) * 1000
        invocation = self.inbox.get()
        if invocation is None:
            return None
        self.pump.drain()  # init output and earlier lines belong before START
        invocation.handed_at = time.monotonic()
        invocation.deadline_ms = int((time.time() + invocation.config.timeout) * 1000)
        self.writer.start_capture()
        self.writer.write([f"START RequestId: {invocation.request_id} Version: {invocation.config.version}"])
        return invocation

    def post_result(self, request_id: str, kind: str, body: bytes) -> bool:
        invocation = self.current
        if invocation is None or invocation.request_id != request_id or invocation.handed_at is None:
            return False
        if kind == "response" and len(body) > MAX_SYNC_RESPONSE:
            kind, body = (
                "error",
                _error_body(
                    "Function.ResponseSizeTooLarge",
                    f"Response payload size exceeded maximum allowed payload size ({MAX_SYNC_RESPONSE} bytes).",
                ),
            )
        return invocation.finish(kind, body)

    def post_init_error(self, body: bytes) -> None:
        self.init_error = body
        if self.init_duration_ms is None:
            self.init_duration_ms = (time.monotonic() - self.spawned_at) * 1000
        invocation = self.current
        if invocation is not None:
            invocation.finish("init_error", body)

    # -- process lifecycle

    def _watch(self) -> None:
        code = self.process.wait()
        if code < 0:
            self.exit_description = f"signal: {_SIGNAL_NAMES.get(-code, f'signal {-code}')}"
        else:
            self.exit_description = f"exit status {code}"
        self.exited.set()
        invocation = self.current
        if invocation is not None:
            invocation.finish("exit", b"")

    @property
    def alive(self) -> bool:
        return not self.exited.is_set() and not self._stopping

    def memory_kb(self) -> int:
        """Peak resident memory of the worker (VmHWM) in KiB; kept after the process is gone."""
        if self.exited.is_set():  # reaped: the pid may belong to someone else now
            return self.peak_kb
        try:
            with open(f"/proc/{self.process.pid}/status", "rb") as handle:
                for line in handle:
                    if line.startswith(b"VmHWM:"):
                        self.peak_kb = max(self.peak_kb, int(line.split()[1]))
                        break
        except (OSError, ValueError):
            pass
        return self.peak_kb

    def kill(self) -> None:
        if self.exited.is_set():
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self) -> None:
        """Kill the process (and anything it started), ship its last lines, free its port."""
        self._stopping = True
        self.kill()
        self.inbox.put(None)
        self.exited.wait(5)
        self.pump.close()
        self.api.shutdown()
        self.api.server_close()

    # -- one invocation (called by the invoking thread)

    def run(self, invocation: Invocation) -> tuple[InvokeResult, bool]:
        """Run one invocation; return (its result, whether the worker may be reused)."""
        c = invocation.config
        cold = self.invocations == 0
        self.invocations += 1
        self.current = invocation
        limit_kb = c.memory_mb * 1024
        started = time.monotonic()
        init_deadline = started + INIT_TIMEOUT + c.timeout
        failure: tuple[str, str] | None = None  # (errorType, errorMessage)
        status_note = ""
        self.inbox.put(invocation)
        if self.init_error is not None:  # posted before this invocation was attached
            invocation.finish("init_error", self.init_error)
        elif self.exited.is_set():
            invocation.finish("exit", b"")
        while not invocation.done.wait(MEMORY_POLL):
            now = time.monotonic()
            if self.memory_kb() > limit_kb:
                break
            handed = invocation.handed_at
            if (handed is None and now > init_deadline) or (handed is not None and now > handed + c.timeout):
                failure = (
                    "Sandbox.Timedout",
                    f"RequestId: {invocation.request_id} Error: Task timed out after {c.timeout:.2f} seconds",
                )
                break
        ended = time.monotonic()
        peak_kb = self.memory_kb()
        if failure is None and peak_kb > limit_kb:
            failure = (
                "Runtime.OutOfMemory",
                f"RequestId: {invocation.request_id} Error: Runtime exited with error: signal: killed",
            )
        if failure is not None:
            self.kill()
            self.exited.wait(5)
        reusable = failure is None
        kind, body = invocation.outcome or ("", b"")
        if failure is None and kind == "exit":
            self.exited.wait(5)
            error_type = "Runtime.ExitError"
            failure = (
                error_type,
                f"RequestId: {invocation.request_id} Error: Runtime exited with error: {self.exit_description}",
            )
            if self.init_error is not None:
                kind, body = "init_error", self.init_error
        if invocation.outcome is None or failure is not None:
            invocation.finish("failed", b"")

        self.pump.drain()
        if kind == "init_error":
            reusable = False
            error_type = _json_field(body, "errorType") or "Runtime.Unknown"
            self.writer.write(
                [
                    f"INIT_REPORT Init Duration: {self.init_duration_ms or 0:.2f} ms\tPhase: init"
                    f"\tStatus: error\tError Type: {error_type}"
                ]
            )
        if invocation.handed_at is None:  # never reached the handler: the init failed or hung
            self.writer.start_capture()
            self.writer.write([f"START RequestId: {invocation.request_id} Version: {c.version}"])
        lines: list[str] = []
        if kind == "init_error":
            payload, status_note = body, f"\tStatus: error\tError Type: {error_type}"
        elif failure is not None:
            error_type, message = failure
            if error_type == "Sandbox.Timedout":
                lines.append(f"{_iso_now()} {invocation.request_id} Task timed out after {c.timeout:.2f} seconds")
                status_note = "\tStatus: timeout"
            else:
                lines.append(f"{message}\n{error_type}")
                status_note = f"\tStatus: error\tError Type: {error_type}"
            payload = _error_body(error_type, message)
        else:
            payload = body
        duration_ms = (ended - (invocation.handed_at or started)) * 1000
        if failure is not None and failure[0] == "Sandbox.Timedout":
            duration_ms = max(duration_ms, c.timeout * 1000)
        report = (
            f"REPORT RequestId: {invocation.request_id}\tDuration: {duration_ms:.2f} ms"
            f"\tBilled Duration: {max(1, math.ceil(duration_ms))} ms\tMemory Size: {c.memory_mb} MB"
            f"\tMax Memory Used: {max(1, round(peak_kb / 1024))} MB"
        )
        if cold and self.init_duration_ms is not None:
            report += f"\tInit Duration: {self.init_duration_ms:.2f} ms"
        self.writer.write(lines + [f"END RequestId: {invocation.request_id}", report + status_note])
        captured = self.writer.stop_capture()
        self.current = None
        self.idle_since = time.monotonic()
        function_error = None if kind == "response" and failure is None else "Unhandled"
        tail = "\n".join(captured).encode()[-LOG_TAIL_BYTES:]
        result = InvokeResult(
            status_code=200,
            payload=payload,
            function_error=function_error,
            request_id=invocation.request_id,
            log_result=base64.b64encode(tail).decode(),
            executed_version=c.version,
        )
        return result, reusable and not self.exited.is_set()


def _json_field(body: bytes, name: str) -> str | None:
    try:
        value = json.loads(body).get(name)
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


# ---------------------------------------------------------------- the runtime


class LambdaRuntime:
    """Runs moto's functions locally; ``invoke`` is thread-safe (one worker per concurrent call)."""

    def __init__(self, region: str, account: str, endpoint: str | Callable[[], str] = "", work_dir: Path | None = None):
        self.region = region
        self.account = account
        self._endpoint = endpoint
        self.work_dir = Path(work_dir or tempfile.mkdtemp(prefix="ddbstream-lambda-"))
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Condition()
        self._idle: dict[tuple[str, str], list[Worker]] = {}
        self._fingerprints: dict[tuple[str, str], FunctionConfig] = {}
        self._busy: set[Worker] = set()
        self._stoppers: list[threading.Thread] = []
        self._active: dict[str, int] = {}  # function ARN -> invocations holding a worker
        self._inflight = 0
        self._stopping = False
        self._extract_lock = threading.Lock()
        self._async = ThreadPoolExecutor(max_workers=ASYNC_CONCURRENCY, thread_name_prefix="lambda-event")
        self._janitor_stop = threading.Event()
        threading.Thread(target=self._janitor, name="lambda-janitor", daemon=True).start()

    @property
    def endpoint(self) -> str:
        return self._endpoint() if callable(self._endpoint) else self._endpoint

    # -- moto

    def logs_backend(self, config: FunctionConfig):
        from moto.logs.models import logs_backends

        return lambda: logs_backends[config.account][config.region]

    def resolve(self, function: str, qualifier: str | None = None) -> tuple[FunctionConfig, bytes]:
        """The function's config and code zip, read from moto's Lambda backend now."""
        from moto.awslambda.models import lambda_backends
        from moto.core.exceptions import JsonRESTError

        match = _FUNCTION_REF.match(function or "")
        if not match:
            raise InvokeError(
                f"1 validation error detected: Value '{function}' at 'functionName' failed to satisfy "
                "constraint: Member must satisfy regular expression pattern",
                "ValidationException",
                400,
            )
        region = match.group("region") or self.region
        account = match.group("account") or self.account
        name = match.group("name")
        qualifier = match.group("qualifier") or qualifier
        arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
        try:
            fn = lambda_backends[account][region].get_function(name, qualifier)
        except JsonRESTError:
            raise FunctionNotFound(f"Function not found: {arn}" + (f":{qualifier}" if qualifier else "")) from None
        if getattr(fn, "package_type", "Zip") != "Zip" or not getattr(fn, "code_bytes", b""):
            raise InvokeError(
                f"{name}: no zip package the local daemon can run (image and missing S3 code are not supported)",
                "InvalidParameterValueException",
                400,
            )
        if not str(fn.run_time or "").startswith("python3"):
            raise InvokeError(
                f"{name}: runtime {fn.run_time} is not supported by the local daemon (python3.x only)",
                "InvalidRuntimeException",
                502,
            )
        config = FunctionConfig(
            name=name,
            arn=arn,
            version=str(fn.version),
            runtime=fn.run_time,
            handler=fn.handler,
            memory_mb=int(fn.memory_size or 128),
            timeout=float(fn.timeout or 3),
            environment=tuple(sorted((str(k), str(v)) for k, v in (fn.environment_vars or {}).items())),
            code_digest=getattr(fn, "code_digest", None) or hashlib.sha256(fn.code_bytes).hexdigest(),
            region=region,
            account=account,
            reserved_concurrency=None if fn.reserved_concurrency is None else int(fn.reserved_concurrency),
        )
        return config, fn.code_bytes

    def code_dir(self, config: FunctionConfig, code: bytes) -> Path:
        """The function's zip extracted once per code hash (atomically: extract, then rename)."""
        target = self.work_dir / "code" / config.code_digest
        with self._extract_lock:
            if not target.is_dir():
                staging = Path(tempfile.mkdtemp(dir=self.work_dir, prefix="extract-"))
                try:
                    with zipfile.ZipFile(io.BytesIO(code)) as archive:
                        archive.extractall(staging)
                except zipfile.BadZipFile:
                    shutil.rmtree(staging, ignore_errors=True)
                    raise InvokeError(
                        "the function's code is not a valid zip file", "InvalidZipFileException", 502
                    ) from None
                target.parent.mkdir(parents=True, exist_ok=True)
                staging.rename(target)
        return target

    # -- pools

    def _acquire(self, config: FunctionConfig, code: bytes) -> Worker:
        retired: list[Worker] = []
        with self._lock:
            active = self._active.get(config.arn, 0)
            if config.reserved_concurrency is not None and active >= config.reserved_concurrency:
                raise Throttled("Rate Exceeded.")
            self._active[config.arn] = active + 1
            if self._fingerprints.get(config.key) != config:  # new code or configuration
                retired = self._idle.pop(config.key, [])
                self._fingerprints[config.key] = config
            idle = self._idle.setdefault(config.key, [])
            worker = None
            while idle:
                candidate = idle.pop()
                if candidate.alive:
                    worker = candidate
                    break
                retired.append(candidate)
            if worker is not None:
                self._busy.add(worker)
        for old in retired:
            old.stop()
        if worker is None:
            try:
                worker = Worker(self, config, self.code_dir(config, code))
            except BaseException:
                self._unclaim(config)
                raise
            with self._lock:
                self._busy.add(worker)
        return worker

    def _unclaim(self, config: FunctionConfig) -> None:
        with self._lock:
            self._active[config.arn] -= 1

    def _release(self, worker: Worker, reusable: bool) -> None:
        self._unclaim(worker.config)
        with self._lock:
            self._busy.discard(worker)
            keep = (
                reusable
                and worker.alive
                and not self._stopping
                and self._fingerprints.get(worker.config.key) == worker.config
            )
            if keep:
                self._idle.setdefault(worker.config.key, []).append(worker)
        if not keep:  # in the background: the caller gets its result without waiting for cleanup
            stopper = threading.Thread(target=worker.stop, name="lambda-worker-stop", daemon=True)
            with self._lock:
                self._stoppers = [t for t in self._stoppers if t.is_alive()] + [stopper]
            stopper.start()

    # -- invoke

    def invoke(
        self,
        function_name_or_arn: str,
        payload: bytes,
        invocation_type: str = "RequestResponse",
        log_type: str | None = None,
        qualifier: str | None = None,
        client_context: str | None = None,
    ) -> InvokeResult:
        """Invoke a function as Lambda's Invoke API does; raise InvokeError when Lambda would."""
        if invocation_type not in ("RequestResponse", "Event", "DryRun"):
            raise InvokeError(
                f"1 validation error detected: Value '{invocation_type}' at 'invocationType' failed to "
                "satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]",
                "ValidationException",
                400,
            )
        config, code = self.resolve(function_name_or_arn, qualifier)
        payload = payload or b"{}"
        limit = MAX_ASYNC_REQUEST if invocation_type == "Event" else MAX_SYNC_REQUEST
        if len(payload) > limit:
            raise InvokeError(
                f"Request must be smaller than {limit} bytes for the InvokeFunction operation",
                "RequestTooLargeException",
                413,
            )
        try:
            json.loads(payload)
        except ValueError as exc:
            raise InvokeError(
                f"Could not parse request body into json: {exc}", "InvalidRequestContentException", 400
            ) from None
        request_id = str(uuid.uuid4())
        if invocation_type == "DryRun":
            return InvokeResult(204, b"", None, request_id, executed_version=config.version)
        invocation = Invocation(request_id, payload, config, _trace_id(), client_context)
        with self._lock:
            if self._stopping:
                raise InvokeError("the local Lambda runtime is stopping", "ServiceException", 503)
            self._inflight += 1
        if invocation_type == "Event":
            try:
                self._async.submit(self._invoke_and_count, invocation, code, True)
            except RuntimeError:
                self._done_one()
                raise InvokeError("the local Lambda runtime is stopping", "ServiceException", 503) from None
            return InvokeResult(202, b"", None, request_id, executed_version=config.version)
        result = self._invoke_and_count(invocation, code)
        if log_type != "Tail":
            result.log_result = None
        return result

    def _done_one(self) -> None:
        with self._lock:
            self._inflight -= 1
            self._lock.notify_all()

    def _acquire_queued(self, config: FunctionConfig, code: bytes) -> Worker:
        """For Event invocations: a throttled event waits for a free slot, as Lambda's queue does."""
        delay = 0.05
        while True:
            try:
                return self._acquire(config, code)
            except Throttled:
                if self._stopping:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    def _invoke_and_count(self, invocation: Invocation, code: bytes, queued: bool = False) -> InvokeResult:
        try:
            acquire = self._acquire_queued if queued else self._acquire
            worker = acquire(invocation.config, code)
            reusable = False
            try:
                result, reusable = worker.run(invocation)
            finally:
                self._release(worker, reusable)
            return result
        except InvokeError:
            raise
        except Exception:
            log.exception("invoking %s failed", invocation.config.name)
            raise
        finally:
            self._done_one()

    # -- housekeeping

    def _janitor(self) -> None:
        """Stop workers idle for IDLE_TTL seconds, or whose function no longer exists."""
        while not self._janitor_stop.wait(min(30.0, IDLE_TTL)):
            now = time.monotonic()
            expired: list[Worker] = []
            with self._lock:
                for workers in self._idle.values():
                    for worker in list(workers):
                        if now - worker.idle_since > IDLE_TTL or not self._exists(worker.config):
                            workers.remove(worker)
                            expired.append(worker)
            for worker in expired:
                worker.stop()

    def _exists(self, config: FunctionConfig) -> bool:
        try:
            self.resolve(config.arn, config.version)
        except InvokeError:
            return False
        return True

    def workers(self) -> int:
        """How many worker processes exist (idle and busy)."""
        with self._lock:
            return len(self._busy) + sum(len(w) for w in self._idle.values())

    def shutdown(self, timeout: float = DRAIN_TIMEOUT) -> None:
        """Refuse new invocations, let in-flight ones finish (bounded), stop every worker."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._stopping = True
            while self._inflight > 0 and time.monotonic() < deadline:
                self._lock.wait(max(0.0, min(0.5, deadline - time.monotonic())))
            workers = list(self._busy) + [w for ws in self._idle.values() for w in ws]
            self._idle.clear()
        self._janitor_stop.set()
        self._async.shutdown(wait=False, cancel_futures=True)
        for worker in workers:
            worker.stop()
        for stopper in list(self._stoppers):
            stopper.join(5)
        shutil.rmtree(self.work_dir, ignore_errors=True)


# ---------------------------------------------------------------- HTTP routes


def _invoke_route(runtime: LambdaRuntime, request, match, invocation_type: str | None = None):
    from werkzeug.wrappers import Response

    from ddbstream.emulator.http import aws_error

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


def install(emulator) -> LambdaRuntime:
    """Add the runtime to the emulator: Invoke routes, ``components["runtime"]``, shutdown hook."""
    runtime = LambdaRuntime(emulator.region, emulator.account, endpoint=lambda: emulator.endpoint)
    emulator.components["runtime"] = runtime
    emulator.add_route(
        "POST",
        r"/2015-03-31/functions/(?P<function>[^/]+)/invocations/?",
        lambda request, match: _invoke_route(runtime, request, match),
    )
    emulator.add_route(
        "POST",
        r"/2014-11-13/functions/(?P<function>[^/]+)/invoke-async/?",
        lambda request, match: _invoke_route(runtime, request, match, "Event"),
    )
    emulator.on_shutdown(runtime.shutdown)
    # Finding the default runtime's interpreter spawns it: do it now, not in the first invoke.
    threading.Thread(target=interpreter_for, args=(PREWARM_RUNTIME,), name="lambda-probe", daemon=True).start()
    return runtime
