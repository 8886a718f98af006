"""Test support for the stream and event source mapping tests: an in-thread daemon and a fake runtime."""

from __future__ import annotations

import io
import json
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from typing import Any

import boto3
from support import wait_until  # noqa: F401  (re-exported for the stream/ESM tests)

from ddbstream.emulator.daemon import build_daemon
from ddbstream.emulator.esm import Invoker
from ddbstream.emulator.runtime import InvokeResult
from ddbstream.emulator.server import DaemonServer
from ddbstream.emulator.streams import REGISTRY, Stream


def handler_zip(source: str = "def handler(event, context):\n    return None\n", name: str = "h.py") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, source)
    return buffer.getvalue()


class FakeRuntime:
    """Stands in for the Lambda runtime: records every event and answers with ``behaviour(event)``.

    ``behaviour`` returns a response object (JSON-encoded as the payload), or raises
    ``FunctionFails`` to make the invocation an "Unhandled" function error.
    """

    def __init__(self, behaviour: Callable[[dict], Any] | None = None):
        self.behaviour = behaviour or (lambda event: None)
        self.calls: list[dict] = []  # {"function", "event", "start", "end"}
        self.cond = threading.Condition()
        self.active = 0
        self.max_active = 0

    def invoke(self, function_name_or_arn: str, payload: bytes, invocation_type: str = "RequestResponse"):
        event = json.loads(payload)
        start = time.time()
        with self.cond:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            try:
                response = self.behaviour(event)
                result = InvokeResult(200, json.dumps(response).encode(), None, str(uuid.uuid4()))
            except FunctionFails as exc:
                body = json.dumps({"errorMessage": str(exc), "errorType": "Exception"}).encode()
                result = InvokeResult(200, body, "Unhandled", str(uuid.uuid4()))
        finally:
            with self.cond:
                self.active -= 1
                self.calls.append(
                    {"function": function_name_or_arn, "event": event, "start": start, "end": time.time()}
                )
                self.cond.notify_all()
        return result

    def events(self, function: str | None = None) -> list[dict]:
        with self.cond:
            return [c["event"] for c in self.calls if function is None or c["function"].endswith(f":{function}")]

    def batches(self, function: str | None = None) -> list[list[str]]:
        """Each invocation's records as their "k" key values."""
        return [[r["dynamodb"]["Keys"]["k"]["S"] for r in e["Records"]] for e in self.events(function)]

    def delivered(self, function: str | None = None) -> list[str]:
        return [k for batch in self.batches(function) for k in batch]

    def wait_calls(self, count: int, timeout: float = 10.0, function: str | None = None) -> list[dict]:
        return wait_until(
            lambda: len(self.events(function)) >= count and self.events(function),
            timeout,
            message=f"{count} invocation(s)",
        )


class FunctionFails(Exception):
    """Raised by a FakeRuntime behaviour: the invocation ends with FunctionError Unhandled."""


IN_THREAD_TOKEN = "in-thread-daemon"


class InThreadDaemon:
    """The real emulator (moto + our components) served from a thread, with boto3 clients."""

    def __init__(self) -> None:
        assembled = build_daemon("us-east-1")
        self.engine = assembled.engine
        self.server = DaemonServer(assembled.emulator)
        self.server.start_in_thread()
        self.emulator = self.server.emulator
        self.emulator.token = IN_THREAD_TOKEN  # what a state.json naming this daemon records
        self.endpoint = self.emulator.endpoint
        self._clients: dict[str, Any] = {}
        self.role = self.client("iam").create_role(
            RoleName=f"role-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]

    def client(self, service: str, **config: Any) -> Any:
        key = f"{service}{sorted(config.items())}"
        if key not in self._clients:
            from botocore.config import Config

            self._clients[key] = boto3.session.Session().client(
                service,
                endpoint_url=self.endpoint,
                region_name="us-east-1",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                config=Config(retries={"max_attempts": 1}, **config),
            )
        return self._clients[key]

    def use_runtime(self, runtime: Any) -> None:
        """The event source mapping engine invokes ``runtime`` from now on (the Invoke API keeps the real one)."""
        self.engine.invoker = Invoker(runtime)

    def table(self, view_type: str = "NEW_AND_OLD_IMAGES", range_key: bool = False) -> tuple[str, str]:
        """A new table "k" (S) [+ "r" (S)]; returns (name, stream ARN)."""
        name = f"t-{uuid.uuid4().hex[:10]}"
        schema = [{"AttributeName": "k", "KeyType": "HASH"}]
        attributes = [{"AttributeName": "k", "AttributeType": "S"}]
        if range_key:
            schema.append({"AttributeName": "r", "KeyType": "RANGE"})
            attributes.append({"AttributeName": "r", "AttributeType": "S"})
        table = self.client("dynamodb").create_table(
            TableName=name,
            KeySchema=schema,
            AttributeDefinitions=attributes,
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": view_type},
        )["TableDescription"]
        return name, table["LatestStreamArn"]

    def stream(self, arn: str) -> Stream:
        stream = REGISTRY.get(arn)
        assert stream is not None
        return stream

    def function(self, source: str | None = None, **extra: Any) -> str:
        """A new function in moto's Lambda backend; returns its name."""
        name = f"f-{uuid.uuid4().hex[:10]}"
        code = handler_zip(source) if source else handler_zip()
        self.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=self.role,
            Handler="h.handler",
            Code={"ZipFile": code},
            **extra,
        )
        return name

    def queue(self) -> tuple[str, str]:
        """A new SQS queue: (url, arn)."""
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:10]}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    def messages(self, url: str, count: int, timeout: float = 10.0) -> list[dict]:
        """Wait until the queue has given ``count`` messages; return their parsed bodies."""
        sqs = self.client("sqs")
        bodies: list[dict] = []

        def enough() -> bool:
            for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                bodies.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            return len(bodies) >= count

        wait_until(enough, timeout, interval=0.02, message=f"{count} message(s) on {url}")
        return bodies

    def put(self, table: str, key: str, **attributes: Any) -> None:
        item = {"k": {"S": key}}
        for name, value in attributes.items():
            item[name] = {"N": str(value)} if isinstance(value, (int, float)) else {"S": str(value)}
        self.client("dynamodb").put_item(TableName=table, Item=item)

    def mapping(self, function: str, stream_arn: str, **settings: Any) -> dict:
        settings.setdefault("StartingPosition", "LATEST")
        return self.client("lambda").create_event_source_mapping(
            FunctionName=function, EventSourceArn=stream_arn, **settings
        )

    def metrics(self, mapping_uuid: str) -> dict:
        from ddbstream.daemon import daemon_get

        metrics = daemon_get(self.endpoint, "testing", f"/_ddbstream/mappings/{mapping_uuid}/metrics")
        assert metrics is not None, f"no metrics for mapping {mapping_uuid}"
        return metrics

    def stop(self) -> None:
        self.server.stop()


# Fails the records whose new image has "poison" until FIXED is set; logs every event it gets.
HANDLER = """
import json, os

def handler(event, context):
    print("EVENT " + json.dumps(event), flush=True)
    if os.environ.get("FIXED"):
        return {"batchItemFailures": []}
    return {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]}
                                  for r in event["Records"] if "poison" in (r["dynamodb"].get("NewImage") or {})]}
"""


class PoisonPipeline:
    """A table -> mapping -> function with an SQS on-failure destination, in an in-thread daemon."""

    def __init__(self, daemon: InThreadDaemon):
        self.daemon = daemon
        self.table, self.stream_arn = daemon.table()
        self.function = daemon.function(HANDLER)
        self.queue_url, queue_arn = daemon.queue()
        self.mapping = daemon.mapping(
            self.function,
            self.stream_arn,
            StartingPosition="TRIM_HORIZON",
            BatchSize=10,
            MaximumRetryAttempts=0,
            FunctionResponseTypes=["ReportBatchItemFailures"],
            DestinationConfig={"OnFailure": {"Destination": queue_arn}},
        )
        from ddbstream.dlq import DeadLetterQueue

        self.queue = DeadLetterQueue(daemon.client("sqs"), self.queue_url, local=True)

    def fix(self) -> None:
        self.daemon.client("lambda").update_function_configuration(
            FunctionName=self.function, Environment={"Variables": {"FIXED": "1"}}
        )

    def events(self) -> list[dict]:
        """Every event the handler has logged, oldest first."""
        logs = self.daemon.client("logs")
        try:
            found = logs.filter_log_events(logGroupName=f"/aws/lambda/{self.function}", interleaved=True)["events"]
        except logs.exceptions.ResourceNotFoundException:
            return []
        return [json.loads(e["message"][6:]) for e in found if e["message"].startswith("EVENT ")]

    def wait_for_messages(self, count: int) -> None:
        wait_until(lambda: self.queue.depth()[0] >= count, 15, message=f"{count} DLQ message(s)")
