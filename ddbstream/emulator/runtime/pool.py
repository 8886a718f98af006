"""The Lambda runtime: a warm pool of workers per function, and Invoke.

At invoke time the runtime reads the function from moto's in-process backend, extracts its zip
once per code hash and hands the event to a warm worker, one per concurrent invocation. New
code or configuration retires the old workers; idle ones stop after IDLE_TTL seconds.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ddbstream.emulator.runtime.debug import DebugPorts
from ddbstream.emulator.runtime.model import FunctionConfig, Invocation, InvokeError, InvokeResult, Throttled
from ddbstream.emulator.runtime.moto_backends import logs_backend, resolve_function
from ddbstream.emulator.runtime.worker import INIT_TIMEOUT, Worker

log = logging.getLogger("ddbstream.emulator.runtime")

MAX_SYNC_REQUEST = 6_291_456
MAX_ASYNC_REQUEST = 262_144
IDLE_TTL = float(os.environ.get("DDBSTREAM_LAMBDA_IDLE_SECONDS", "600"))
DRAIN_TIMEOUT = 60.0
DRAIN_MARGIN = 5.0  # beyond the longest function timeout (plus its init phase) when draining
ASYNC_CONCURRENCY = 16
RECYCLE_MAX = 4  # new workers started at most when a function's code or configuration changes
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")


class LambdaRuntime:
    """Runs moto's functions locally; ``invoke`` is thread-safe (one worker per concurrent call)."""

    def __init__(
        self,
        region: str,
        account: str,
        endpoint: str | Callable[[], str] = "",
        work_dir: Path | None = None,
        access_key: str = "testing",
    ):
        self.region = region
        self.account = account
        self._endpoint = endpoint
        self.access_key = access_key  # the stack secret, given to workers as their AWS_ACCESS_KEY_ID
        self.work_dir: Path | None = work_dir  # made at the first extraction (a temporary one if None)
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
        self.observer: Any = None  # told of each invocation and throttle (emulator/metrics/sources.py)
        self.debug = DebugPorts(self._lock)  # which functions run in debug mode (debug_api.py), on which port
        threading.Thread(target=self._janitor, name="lambda-janitor", daemon=True).start()

    @property
    def endpoint(self) -> str:
        return self._endpoint() if callable(self._endpoint) else self._endpoint

    def resolve(self, function: str, qualifier: str | None = None) -> tuple[FunctionConfig, bytes]:
        """The function's config and code zip, read from moto's Lambda backend now (with its debug port)."""
        config, code = resolve_function(function, qualifier, self.region, self.account)
        return self.debug.apply(config), code

    def use_work_dir(self, directory: Path) -> None:
        """Extract code in a directory of this process's own under ``directory`` from now on; what
        earlier daemons left there goes. (Per process: a daemon whose state directory was replaced
        removes its own work directory by name as it stops, never the next daemon's.)"""
        shutil.rmtree(directory, ignore_errors=True)
        self.work_dir = directory / str(os.getpid())
        self.debug.root = directory / "debug"  # not per process: an IDE's path mapping names it

    def code_dir(self, config: FunctionConfig, code: bytes) -> Path:
        """The function's zip extracted once per code hash (atomically: extract, then rename)."""
        with self._extract_lock:
            if self.work_dir is None:
                self.work_dir = Path(tempfile.mkdtemp(prefix="ddbstream-lambda-"))
            self.work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            target = self.work_dir / "code" / config.code_digest
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
                _make_private(staging)
                target.parent.mkdir(parents=True, exist_ok=True)
                staging.rename(target)
        return target

    # -- the pool

    def _acquire(self, config: FunctionConfig, code: bytes) -> Worker:
        """A warm worker for ``config`` or a new one; Throttled over the reserved concurrency."""
        retired: list[Worker] = []
        with self._lock:
            debugged = config.debug_port is not None and config.reserved_concurrency != 0
            if debugged:
                retired += self.debug.turn(config, self._idle, lambda: self._stopping)  # waits, not throttled
            active = self._active.get(config.arn, 0)
            if not debugged and config.reserved_concurrency is not None and active >= config.reserved_concurrency:
                if self.observer:
                    self.observer.throttled(config)
                raise Throttled("Rate Exceeded.")
            self._active[config.arn] = active + 1
            if self._fingerprints.get(config.key) != config:  # new code or configuration
                retired += self._idle.pop(config.key, [])
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
            self._stop(old)
        if worker is None:
            try:
                worker = Worker(
                    config, self._run_dir(config, code), self.endpoint, logs_backend(config), self.access_key
                )
            except BaseException:
                self._unclaim(config)
                self.debug.free(config.debug_port, None)
                raise
            with self._lock:
                self._busy.add(worker)
                self.debug.claimed(worker)
        return worker

    def _run_dir(self, config: FunctionConfig, code: bytes) -> Path:
        """The code's extraction; in debug mode, the function's own copy of it at a path that stays."""
        extracted = self.code_dir(config, code)
        return extracted if config.debug_port is None else self.debug.run_dir(config, extracted)

    def _stop(self, worker: Worker) -> None:
        worker.stop()
        self.debug.free(worker.config.debug_port, worker)

    def set_debug(self, function_name: str, port: int | None) -> None:
        """Turn debug mode on (the function's next worker waits for a debugger on ``port``) or off.

        The function's idle workers go, and so does a worker still waiting for a debugger on another
        port (its invocation fails as a crashed worker's does; a mapping retries it)."""
        with self._lock:
            if port is None:
                self.debug.ports.pop(function_name, None)
            else:
                self.debug.ports[function_name] = port
            stale = [w for ws in self._idle.values() for w in ws if w.config.name == function_name]
            for workers in self._idle.values():
                workers[:] = [w for w in workers if w not in stale]
            waiting = [w for w in self._busy if w.config.name == function_name and w.waits_for_debugger(port)]
        for worker in stale:
            self._stop(worker)
        for worker in waiting:
            worker.kill()

    def recycle_soon(self, function_arn: str) -> None:
        """``function_arn`` has new code or configuration (moto_patches.listeners): recycle in the background."""
        threading.Thread(target=self.recycle, args=(function_arn,), name="lambda-recycle", daemon=True).start()

    def recycle(self, function_arn: str) -> None:
        """Stop the function's idle workers of its old code or configuration now and start as many of
        the new (at least one), so the next invocation finds one warm (`up --watch` reloads without a
        cold start). Nothing for a function never invoked here, or in debug mode."""
        try:
            config, code = self.resolve(function_arn)
        except InvokeError:
            return
        with self._lock:
            known = self._fingerprints.get(config.key)
            if self._stopping or known is None or known == config or config.debug_port is not None:
                return
            retired = self._idle.pop(config.key, [])
            self._fingerprints[config.key] = config
        for old in retired:
            self._stop(old)
        for _ in range(min(max(1, len(retired)), RECYCLE_MAX)):
            try:
                worker = Worker(
                    config, self.code_dir(config, code), self.endpoint, logs_backend(config), self.access_key
                )
            except Exception as exc:  # the next invocation starts its own worker and reports why it cannot
                log.info("no warm worker for %s: %s", config.name, exc)
                return
            with self._lock:
                current = not self._stopping and self._fingerprints.get(config.key) == config
                if current:
                    self._idle.setdefault(config.key, []).append(worker)
            if not current:  # newer code came meanwhile, or the runtime stops
                worker.stop()
                return

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
            stopper = threading.Thread(target=self._stop, args=(worker,), name="lambda-worker-stop", daemon=True)
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
        _check_invocation_type(invocation_type)
        config, code = self.resolve(function_name_or_arn, qualifier)
        payload = payload or b"{}"
        _check_payload(payload, invocation_type)
        request_id, trace_id = _new_ids()
        if invocation_type == "DryRun":
            return InvokeResult(204, b"", None, request_id, executed_version=config.version)
        invocation = Invocation(request_id, payload, config, trace_id, client_context)
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
                if self.observer:
                    self.observer.invoked(invocation, result, self._active.get(invocation.config.arn, 1))
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
                self._stop(worker)

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
        """Refuse new invocations, let in-flight ones finish, stop every worker.

        The wait lasts ``timeout`` seconds or, if longer, the longest function timeout (each
        invocation ends by its own timeout at the latest, so none is cut short).
        """
        with self._lock:
            longest = max((config.timeout for config in self._fingerprints.values()), default=0.0)
            deadline = time.monotonic() + max(timeout, longest + INIT_TIMEOUT + DRAIN_MARGIN)
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
        if self.work_dir is not None:
            shutil.rmtree(self.work_dir, ignore_errors=True)


def _check_invocation_type(invocation_type: str) -> None:
    if invocation_type not in INVOCATION_TYPES:
        raise InvokeError(
            f"1 validation error detected: Value '{invocation_type}' at 'invocationType' failed to "
            "satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]",
            "ValidationException",
            400,
        )


def _check_payload(payload: bytes, invocation_type: str) -> None:
    """Lambda's limits on the request: its size (by invocation type) and that it is JSON."""
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


def _new_ids() -> tuple[str, str]:
    """A request id (a random UUID) and an X-Ray trace header as Lambda passes it: a root (time + 96
    random bits), a parent id (64 bits), not sampled. One read of the system's random source for all."""
    raw = os.urandom(36)
    random_hex = raw[16:].hex()
    trace_id = f"Root=1-{int(time.time()):08x}-{random_hex[:24]};Parent={random_hex[24:]};Sampled=0"
    return str(uuid.UUID(bytes=raw[:16], version=4)), trace_id


def _make_private(tree: Path) -> None:
    """The developer's code, as the zip's modes say but for nobody else (group and other bits off)."""
    for path in [tree, *tree.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode & 0o700)
