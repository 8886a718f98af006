"""Run a function once through the Lambda Invoke API (RequestResponse, LogType=Tail)."""

from __future__ import annotations

import base64
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from ddbstream.errors import AwsError, DdbstreamError, ExitCode, InvalidInput, NoStack, NotFound
from ddbstream.items import dumps_plain, loads_exact
from ddbstream.logs import LogEvent, Renderer
from ddbstream.pipeline import Pipeline
from ddbstream.samples import current_shape, sample_event

TAIL_LIMIT = 4096  # Lambda returns at most the last 4 KB of the log


def read_event(source: str | None) -> Any:
    """An event from a file path, @file, - (stdin) or inline JSON; None -> a sample INSERT."""
    if source is None:
        return sample_event(current_shape(), "insert")
    if source == "-":
        return loads_exact(sys.stdin.read(), "the event (stdin)")
    text = source.strip()
    if text.startswith(("{", "[")):
        return loads_exact(text, "the event")
    path = Path(source[1:] if source.startswith("@") else source)
    try:
        content = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"--event {source}: no such file") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None
    return loads_exact(content, str(path))


@dataclass
class InvokeResult:
    """What one synchronous invocation returned."""

    function_name: str
    status_code: int
    payload: Any
    log: str = ""
    function_error: str | None = None  # "Handled" / "Unhandled" when the function failed
    executed_version: str | None = None

    @property
    def log_lines(self) -> list[str]:
        return [line for line in self.log.split("\n") if line.strip()]

    @property
    def log_truncated(self) -> bool:
        lines = self.log_lines
        return (
            len(self.log.encode()) >= TAIL_LIMIT - 64
            and bool(lines)
            and not lines[0].startswith(("START ", "INIT_START"))
        )

    def batch_item_failures(self) -> list[str]:
        """The item identifiers of a partial-batch response (ReportBatchItemFailures)."""
        if not isinstance(self.payload, dict):
            return []
        failures = self.payload.get("batchItemFailures") or []
        return [str(f.get("itemIdentifier")) for f in failures if isinstance(f, dict)]

    def error_summary(self) -> str:
        payload = self.payload if isinstance(self.payload, dict) else {}
        kind = payload.get("errorType")
        message = payload.get("errorMessage")
        if kind or message:
            return ": ".join(str(part) for part in (kind, message) if part)
        return str(self.payload) if self.payload not in (None, "") else "no error details"

    def rendered_log(self) -> Iterator[Any]:
        """The log lines as `ddbstream tail` shows them (rich renderables)."""
        renderer = Renderer("pretty")
        now = int(time.time() * 1000)
        for line in self.log_lines:
            shown = renderer.render(LogEvent(now, line, f"invoke/{self.function_name}"))
            if shown is not None:
                yield shown

    def as_json(self) -> dict[str, Any]:
        return {
            "functionName": self.function_name,
            "statusCode": self.status_code,
            "functionError": self.function_error,
            "executedVersion": self.executed_version,
            "payload": self.payload,
            "log": self.log_lines,
        }


class FunctionFailed(DdbstreamError):
    """The function ran and failed (its error, not the API's)."""

    exit_code = ExitCode.ERROR

    def __init__(self, result: InvokeResult):
        super().__init__(f"{result.function_name} failed ({result.function_error}): {result.error_summary()}")
        self.result = result


def function_name_of(pipeline: Pipeline, function_name: str | None = None) -> str:
    """``function_name``, else the pipeline's consumer; NoStack when there is none."""
    name = function_name or (pipeline.function.name if pipeline.function else None)
    if not name:
        raise NoStack("no function has been provisioned: run 'ddbstream up'")
    return name


def invoke_function(
    pipeline: Pipeline, event: Any, function_name: str | None = None, client: Any = None
) -> InvokeResult:
    """Invoke the pipeline's consumer (or ``function_name``) once with ``event`` (through ``client`` if given)."""
    name = function_name_of(pipeline, function_name)
    client = client or pipeline.client("lambda")
    try:
        response = client.invoke(
            FunctionName=name,
            InvocationType="RequestResponse",
            LogType="Tail",
            Payload=dumps_plain(event).encode("utf-8"),
        )
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        message = exc.response.get("Error", {}).get("Message", str(exc))
        if code == "ResourceNotFoundException":
            raise NotFound(f"function {name} does not exist") from None
        if code in ("RequestEntityTooLargeException", "InvalidRequestContentException"):
            raise InvalidInput(f"Lambda refused the event: {message}") from None
        raise AwsError(f"Invoke {name} failed: {code}: {message}") from None
    except EndpointConnectionError:
        raise NoStack(f"cannot reach {pipeline.endpoint or 'AWS'}: is the stack still up? run 'ddbstream up'") from None
    except BotoCoreError as exc:
        raise AwsError(f"Invoke {name} failed: {exc}") from None

    raw = response["Payload"].read()
    try:
        payload = json.loads(raw, parse_float=Decimal) if raw else None
    except ValueError:
        payload = raw.decode("utf-8", "replace")
    log = ""
    if response.get("LogResult"):
        log = base64.b64decode(response["LogResult"]).decode("utf-8", "replace")
    return InvokeResult(
        function_name=name,
        status_code=response.get("StatusCode", 0),
        payload=payload,
        log=log,
        function_error=response.get("FunctionError"),
        executed_version=response.get("ExecutedVersion"),
    )
