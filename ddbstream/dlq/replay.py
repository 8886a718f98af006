"""Replaying failed batches: invoke the consumer with their records, delete each message that succeeds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from ddbstream.dlq.queue import LEASE_SECONDS, DeadLetterQueue
from ddbstream.dlq.records import RecordsGone, hydrate, lambda_record, mapping_filters
from ddbstream.errors import NotFound
from ddbstream.items import dumps_plain
from ddbstream.logs import error_code
from ddbstream.patterns import record_matches


@dataclass
class ReplayOutcome:
    message_id: str
    records: int
    ok: bool
    deleted: bool = False
    detail: str = ""
    failed_sequence_numbers: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "messageId": self.message_id,
            "records": self.records,
            "ok": self.ok,
            "deleted": self.deleted,
            "detail": self.detail,
            "failedSequenceNumbers": self.failed_sequence_numbers,
        }


def invoke_consumer(lambda_client: Any, function: str, records: list[dict]) -> tuple[bool, str, list[str]]:
    """Invoke the function synchronously with a stream event; (succeeded, detail, failed sequence numbers)."""
    try:
        response = lambda_client.invoke(
            FunctionName=function, InvocationType="RequestResponse", Payload=dumps_plain({"Records": records}).encode()
        )
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise NotFound(f"function {function} does not exist") from None
        return False, f"invoke failed: {exc}", []
    raw = response["Payload"].read() if response.get("Payload") is not None else b""
    try:
        payload = json.loads(raw) if raw else None
    except ValueError:
        payload = raw.decode(errors="replace")
    if response.get("FunctionError"):
        if isinstance(payload, dict):
            detail = f"{payload.get('errorType', response['FunctionError'])}: {payload.get('errorMessage', '')}"
        else:
            detail = response["FunctionError"]
        return False, f"the function failed ({detail.strip()})", []
    failures = payload.get("batchItemFailures") if isinstance(payload, dict) else None
    if failures:
        numbers = [str(f.get("itemIdentifier")) for f in failures if isinstance(f, dict)]
        return False, f"{len(failures)} of {len(records)} record(s) failed again", numbers
    return True, f"{len(records)} record(s) processed", []


def _function_timeout(lambda_client: Any, function: str) -> int:
    try:
        return int(lambda_client.get_function_configuration(FunctionName=function).get("Timeout") or 0)
    except Exception:  # Invoke reports a missing function clearly; the lease falls back to its default
        return 0


def replay(
    queue: DeadLetterQueue,
    streams: Any,
    lambda_client: Any,
    function: str,
    message_ids: set[str] | None,
    dry_run: bool = False,
) -> Iterator[ReplayOutcome]:
    """Replay messages (all when message_ids is None): one outcome per message, as each finishes."""
    lease = max(LEASE_SECONDS, _function_timeout(lambda_client, function) + 60) if not dry_run else LEASE_SECONDS
    with queue.lease(message_ids) as messages:
        for message in messages:
            batch = message.batch
            if batch is None:
                yield ReplayOutcome(message.message_id, 0, False, detail="not a stream on-failure message: kept")
                continue
            try:
                raw = hydrate(streams, batch)
            except RecordsGone as exc:
                yield ReplayOutcome(message.message_id, 0, False, detail=exc.message + ": kept")
                continue
            patterns = mapping_filters(lambda_client, function, batch["streamArn"])
            records = [lambda_record(r, batch["streamArn"]) for r in raw]
            if patterns:
                records = [r for r in records if record_matches(patterns, r)]
            if dry_run:
                yield ReplayOutcome(
                    message.message_id,
                    len(records),
                    True,
                    detail=f"would invoke {function} with {len(records)} record(s)",
                )
                continue
            if not records:
                queue.delete(message)
                yield ReplayOutcome(
                    message.message_id, 0, True, True, "every record is filtered out by the mapping: deleted"
                )
                continue
            queue.extend(message, lease)
            ok, detail, failed = invoke_consumer(lambda_client, function, records)
            outcome = ReplayOutcome(message.message_id, len(records), ok, detail=detail, failed_sequence_numbers=failed)
            if ok:
                queue.delete(message)
                outcome.deleted = True
            yield outcome
