"""One execution environment: a worker process, its Runtime API server and its log stream.

The worker's language (languages.py) gives its command line; the rest is common: the invoking
thread hands an event over the Runtime API, watches the deadline and peak memory, and writes
the START / END / REPORT lines Lambda writes. A timeout, memory over MemorySize, a crash or
an init failure ends the process and produces AWS's error payload; the pool then starts a new one.
"""

from __future__ import annotations

import base64
import ctypes
import json
import math
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from ddbstream.emulator.runtime.handoff import Handoff, Reply
from ddbstream.emulator.runtime.languages import language_for
from ddbstream.emulator.runtime.logs import LogPump, LogsBackend, LogStreamWriter, stream_name
from ddbstream.emulator.runtime.memory import PeakMemory
from ddbstream.emulator.runtime.model import FunctionConfig, Invocation, InvokeResult, error_body
from ddbstream.emulator.runtime.runtime_api import RuntimeApiServer
from ddbstream.stack_secret import SECRET_ACCESS_KEY

INIT_TIMEOUT = 10.0  # Lambda's init phase limit (on-demand)
MAX_SYNC_RESPONSE = 6_291_556
LOG_TAIL_BYTES = 4096
MEMORY_POLL = 0.01  # seconds between peak-RSS checks of a running invocation
FAKE_SESSION_TOKEN = "ddbstream-local-session-token"
_SIGNAL_NAMES: dict[int, str] = {  # how Lambda's (Go) runtime names the signal that ended a runtime process
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


class Failure(NamedTuple):
    """Why the daemon ended an invocation itself (timeout, memory, crash), as Lambda reports it."""

    error_type: str
    message: str


class Worker:
    """One execution environment: a runtime process, its Runtime API and its log stream."""

    def __init__(
        self,
        config: FunctionConfig,
        code_dir: Path,
        endpoint: str,
        logs_backend: Callable[[], LogsBackend],
        access_key: str = "testing",
    ):
        """Start the process; ``endpoint`` is the daemon's (AWS_ENDPOINT_URL), ``logs_backend`` moto's logs,
        ``access_key`` the stack secret the function's AWS clients sign with."""
        self.config = config
        self.access_key = access_key
        self.handoff = Handoff(self._hand)
        self.current: Invocation | None = None
        self.initialized = False
        self.init_duration_ms: float | None = None
        self.init_error: bytes | None = None
        self.invocations = 0
        self.idle_since = time.monotonic()
        self.exit_description: str | None = None
        self.exited = threading.Event()
        # Set while the process waits in /next, or once it has exited: it is between invocations.
        self.between = threading.Event()
        self._stopping = False
        self.language = language_for(config.name, config.runtime)
        self.interpreter = self.language.interpreter(config.runtime)
        self.writer = LogStreamWriter(logs_backend, config.log_group, stream_name(config.version))
        self.api = RuntimeApiServer(self)
        self._api_thread = threading.Thread(
            target=self.api.serve_forever, kwargs={"poll_interval": 0.1}, name="lambda-runtime-api", daemon=True
        )
        self._api_thread.start()
        self.spawned_at = time.monotonic()
        self._log_init_start()
        self.process, self.pump = self._spawn(code_dir, endpoint)
        self.memory = PeakMemory(self.process.pid)  # opened before _watch can reap the process
        threading.Thread(target=self._watch, name="lambda-worker-watch", daemon=True).start()

    def _log_init_start(self) -> None:
        c = self.config
        self.writer.write(
            [
                f"INIT_START Runtime Version: {self.language.version_label(c.runtime)}.local"
                f"\tRuntime Version ARN: arn:aws:lambda:{c.region}::runtime:ddbstream-local"
            ]
        )  # a stand-in interpreter is said by `up` and `status`: the log holds what the function printed

    def _spawn(self, code_dir: Path, endpoint: str) -> tuple[subprocess.Popen[bytes], LogPump]:
        """Start the runtime process with its stdout and stderr on one pipe read by a log pump."""
        read_fd, write_fd = os.pipe()
        try:
            process = _popen_dying_with_daemon(
                self.language.command(
                    self.interpreter, self.config.handler, self.config.memory_mb, self.config.debug_port
                ),
                cwd=code_dir,
                env=self._environment(code_dir, endpoint),
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
        return process, LogPump(read_fd, self.writer)

    def _environment(self, code_dir: Path, endpoint: str) -> dict[str, str]:
        """Only what Lambda gives a function: never the daemon's (or the user's) environment."""
        c = self.config
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            **self.language.environment(self.interpreter, code_dir),
            "AWS_ENDPOINT_URL": endpoint,
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
                "AWS_LAMBDA_RUNTIME_API": self.api.address,
                # The stack's secret: the daemon answers only requests signed with it.
                "AWS_ACCESS_KEY_ID": self.access_key,
                "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
                "AWS_SESSION_TOKEN": FAKE_SESSION_TOKEN,
                "LAMBDA_TASK_ROOT": str(code_dir),
                "LAMBDA_RUNTIME_DIR": self.interpreter.runtime_dir or str(code_dir),
            }
        )
        return env

    # -- called from the Runtime API server's threads (RuntimeApiBackend)

    def next_invocation(self, reply: Reply) -> None:
        if not self.initialized:
            self.initialized = True
            self.init_duration_ms = (time.monotonic() - self.spawned_at) * 1000
        self.between.set()
        self.handoff.request(reply)

    def _hand(self, invocation: Invocation, reply: Reply) -> None:
        """Give the event to the runtime's /next (from whichever thread came second: handoff.py)."""
        self.between.clear()
        self.pump.drain()  # init output and earlier lines belong before START
        invocation.handed_at = time.monotonic()
        invocation.deadline_ms = int((time.time() + invocation.config.timeout) * 1000)
        self._log_start(invocation)
        reply(invocation)

    def post_result(self, request_id: str, kind: str, body: bytes) -> bool:
        invocation = self.current
        if invocation is None or invocation.request_id != request_id or invocation.handed_at is None:
            return False
        if kind == "response" and len(body) > MAX_SYNC_RESPONSE:
            kind, body = (
                "error",
                error_body(
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
        self.between.set()
        invocation = self.current
        if invocation is not None:
            invocation.finish("exit", b"")

    def waits_for_debugger(self, unless_port: int | None) -> bool:
        """In debug mode on another port than ``unless_port``, with an event no debugger has let run yet."""
        current = self.current
        port = self.config.debug_port
        return port is not None and port != unless_port and current is not None and current.handed_at is None

    @property
    def alive(self) -> bool:
        return not self.exited.is_set() and not self._stopping

    def memory_kb(self) -> int:
        """Peak resident memory of the worker (VmHWM) in KiB; kept after the process is gone."""
        return self.memory.read()

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
        self.handoff.close()
        self.exited.wait(5)
        self.pump.close()
        self.api.shutdown()
        self.api.server_close()
        self.memory.close()

    # -- one invocation (called by the invoking thread)

    def run(self, invocation: Invocation) -> tuple[InvokeResult, bool]:
        """Run one invocation; return (its result, whether the worker may be reused)."""
        cold = self.invocations == 0
        self.invocations += 1
        self.current = invocation
        started = time.monotonic()
        self._hand_over(invocation)
        failure = self._supervise(invocation, started)
        ended = time.monotonic()
        peak_kb = self.memory_kb()
        if failure is None and peak_kb > invocation.config.memory_mb * 1024:
            failure = Failure(
                "Runtime.OutOfMemory",
                f"RequestId: {invocation.request_id} Error: Runtime exited with error: signal: killed",
            )
        if failure is not None:
            self.kill()
            self.exited.wait(5)
        reusable = failure is None
        kind, body, failure = self._settle(invocation, failure)
        if kind == "error" and failure is None:
            # A runtime may post an uncaught error and then exit (AWS's Node.js runtime does):
            # wait until it asks for the next event or is gone, so no later event lands on it.
            self.between.wait(INIT_TIMEOUT)
        self.pump.drain()
        if kind == "init_error":
            reusable = False
            self.writer.write(
                [
                    f"INIT_REPORT Init Duration: {self.init_duration_ms or 0:.2f} ms\tPhase: init"
                    f"\tStatus: error\tError Type: {_init_error_type(body)}"
                ]
            )
        if invocation.handed_at is None:  # never reached the handler: the init failed or hung
            self._log_start(invocation)
        payload, lines, status_note = self._payload_and_log_lines(invocation, kind, body, failure)
        report = self._report(invocation, started, ended, peak_kb, cold, failure)
        self.writer.write(lines + [f"END RequestId: {invocation.request_id}", report + status_note])
        captured = self.writer.stop_capture()
        self.current = None
        self.idle_since = time.monotonic()
        tail = "\n".join(captured).encode()[-LOG_TAIL_BYTES:]
        result = InvokeResult(
            status_code=200,
            payload=payload,
            function_error=None if kind == "response" and failure is None else "Unhandled",
            request_id=invocation.request_id,
            log_result=base64.b64encode(tail).decode(),
            executed_version=invocation.config.version,
        )
        return result, reusable and not self.exited.is_set()

    def _log_start(self, invocation: Invocation) -> None:
        """The START line; from here the writer captures the lines of the invocation's log tail."""
        self.writer.start_capture()
        self.writer.write([f"START RequestId: {invocation.request_id} Version: {invocation.config.version}"])

    def _hand_over(self, invocation: Invocation) -> None:
        """Hand the event to /next; settle it now if the process already failed its init or exited."""
        self.handoff.offer(invocation)
        if self.init_error is not None:  # posted before this invocation was attached
            invocation.finish("init_error", self.init_error)
        elif self.exited.is_set():
            invocation.finish("exit", b"")

    def _supervise(self, invocation: Invocation, started: float) -> Failure | None:
        """Wait for the outcome; stop early on memory over MemorySize (judged by the caller) or a timeout.

        In debug mode there is no timeout: the worker waits for its debugger, then stops at breakpoints."""
        c = invocation.config
        limit_kb = c.memory_mb * 1024
        init_deadline = started + INIT_TIMEOUT + c.timeout
        while not invocation.done.wait(MEMORY_POLL):
            now = time.monotonic()
            self.writer.flush_if_due()  # a long invocation's lines reach the log while it runs
            if self.memory_kb() > limit_kb:
                return None
            if c.debug_port is not None:
                continue
            handed = invocation.handed_at
            if (handed is None and now > init_deadline) or (handed is not None and now > handed + c.timeout):
                return Failure(
                    "Sandbox.Timedout",
                    f"RequestId: {invocation.request_id} Error: Task timed out after {c.timeout:.2f} seconds",
                )
        return None

    def _settle(self, invocation: Invocation, failure: Failure | None) -> tuple[str, bytes, Failure | None]:
        """The invocation's final (kind, body, failure): a process exit becomes Runtime.ExitError."""
        kind, body = invocation.outcome or ("", b"")
        if failure is None and kind == "exit":
            self.exited.wait(5)
            # AWS's words (tests/conformance): a clean exit gives no reason, any other names its status
            reason = (
                "Runtime exited without providing a reason"
                if self.exit_description == "exit status 0"
                else f"Runtime exited with error: {self.exit_description}"
            )
            failure = Failure("Runtime.ExitError", f"RequestId: {invocation.request_id} Error: {reason}")
            if self.init_error is not None:
                kind, body = "init_error", self.init_error
        if invocation.outcome is None or failure is not None:
            invocation.finish("failed", b"")  # a late /response from the runtime is refused
        return kind, body, failure

    def _payload_and_log_lines(
        self, invocation: Invocation, kind: str, body: bytes, failure: Failure | None
    ) -> tuple[bytes, list[str], str]:
        """The payload Invoke returns, the lines logged before END, and the REPORT line's status note."""
        if kind == "init_error":
            return body, [], f"\tStatus: error\tError Type: {_init_error_type(body)}"
        if failure is None:
            return body, [], ""
        if failure.error_type == "Sandbox.Timedout":
            timeout = invocation.config.timeout
            line = f"{_iso_now()} {invocation.request_id} Task timed out after {timeout:.2f} seconds"
            status_note = "\tStatus: timeout"
        else:
            line = f"{failure.message}\n{failure.error_type}"
            status_note = f"\tStatus: error\tError Type: {failure.error_type}"
        return error_body(failure.error_type, failure.message), [line], status_note

    def _report(
        self, invocation: Invocation, started: float, ended: float, peak_kb: int, cold: bool, failure: Failure | None
    ) -> str:
        """The REPORT line (without its status note): durations and memory as Lambda bills them."""
        c = invocation.config
        duration_ms = (ended - (invocation.handed_at or started)) * 1000
        if failure is not None and failure.error_type == "Sandbox.Timedout":
            duration_ms = max(duration_ms, c.timeout * 1000)
        report = (
            f"REPORT RequestId: {invocation.request_id}\tDuration: {duration_ms:.2f} ms"
            f"\tBilled Duration: {max(1, math.ceil(duration_ms))} ms\tMemory Size: {c.memory_mb} MB"
            f"\tMax Memory Used: {max(1, round(peak_kb / 1024))} MB"
        )
        if cold and self.init_duration_ms is not None:
            report += f"\tInit Duration: {self.init_duration_ms:.2f} ms"
        return report


# A child asked for PR_SET_PDEATHSIG gets the signal when the *thread* that forked it ends, so
# workers are forked by one daemon thread that lives as long as the process (request threads come
# and go, and a thread pool's threads end at interpreter exit while the daemon still drains).
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved now: the child only calls it
_spawn_requests: queue.Queue[tuple[list[str], dict, Future]] = queue.Queue()
_spawner_lock = threading.Lock()
_spawner: threading.Thread | None = None


def _popen_dying_with_daemon(command: list[str], **options) -> subprocess.Popen[bytes]:
    """Popen whose process the kernel kills (SIGKILL) when the daemon dies, even by ``kill -9``."""
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = threading.Thread(target=_spawn_forever, name="lambda-spawner", daemon=True)
            _spawner.start()
    done: Future[subprocess.Popen[bytes]] = Future()
    _spawn_requests.put((command, options, done))
    return done.result()


def _spawn_forever() -> None:
    daemon_pid = os.getpid()

    def in_child() -> None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != daemon_pid:  # the daemon died before the request took effect
            os._exit(1)

    while True:
        command, options, done = _spawn_requests.get()
        try:
            done.set_result(subprocess.Popen(command, preexec_fn=in_child, **options))
        except BaseException as exc:  # handed to the caller, who reports it
            done.set_exception(exc)


def _init_error_type(body: bytes) -> str:
    """The errorType of an init error payload (Runtime.Unknown when it has none)."""
    try:
        value = json.loads(body).get("errorType")
    except (ValueError, AttributeError):
        value = None
    return value if isinstance(value, str) and value else "Runtime.Unknown"


def _iso_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
