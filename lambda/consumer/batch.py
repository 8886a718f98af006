"""The batch loop: decode, log and process each record, run the sinks, report partial failures."""

from __future__ import annotations

from collections.abc import Callable

from .changes import Change, dumps
from .ledger import Ledger
from .settings import Settings
from .sinks import describe, enabled_sinks

PROCESS = "process"


class InjectedFailure(Exception):
    """Raised for a record carrying the FAIL_ATTRIBUTE (demonstrations and tests)."""


def emit(fields: dict) -> None:
    """One JSON log line on stdout; flushed, so a tail sees it while the batch still runs."""
    print(dumps(fields), flush=True)


def check_fail_attribute(change: Change, attribute: str | None) -> None:
    """Raise InjectedFailure when the item (NewImage, OldImage for REMOVE) has a truthy `attribute`."""
    image = change.image or {}
    if attribute and image.get(attribute):
        raise InjectedFailure(f"attribute {attribute!r} is set on this item (FAIL_ATTRIBUTE)")


def handle(
    event: dict,
    on_change: Callable[[Change], None],
    settings: Settings,
    ledger: Ledger,
) -> dict:
    """Process a DynamoDB stream event; answer {"batchItemFailures": [...]} (and "state" in a tumbling window).

    Every record is tried, whatever happened to the others. A record fails when it cannot be
    decoded, when FAIL_ATTRIBUTE or on_change raises, or when a sink it goes to fails; it is then
    reported by SequenceNumber. Steps that succeeded are remembered per eventID, so a retried
    record only repeats what failed, and a fully handled one is skipped as a duplicate.
    """
    records = event.get("Records") or []
    sinks = enabled_sinks(settings)
    failed: dict[int, str] = {}  # record position -> SequenceNumber to report
    ready: list[tuple[int, Change]] = []  # records whose process step is done, for the sinks
    processed: list[Change] = []  # records processed by this invocation

    for position, record in enumerate(records):
        try:
            change = Change.from_record(record, settings.table_name)
        except Exception as exc:
            failed[position] = _sequence_number(record)
            emit(_failure_line(record, None, PROCESS, exc))
            continue
        steps = {PROCESS} | {sink.name for sink in sinks if sink.applies(change)}
        done = ledger.done(change.event_id)
        if steps <= done:
            emit({**_ids(change), "duplicate": True})
            continue
        if PROCESS not in done:
            emit(change.fields())
            try:
                check_fail_attribute(change, settings.fail_attribute)
                on_change(change)
            except Exception as exc:
                failed[position] = change.sequence_number
                emit(_failure_line(record, change, PROCESS, exc))
                continue
            ledger.mark(change.event_id, PROCESS)
            processed.append(change)
        ready.append((position, change))

    for sink in sinks:
        todo = [(p, c) for p, c in ready if sink.applies(c) and sink.name not in ledger.done(c.event_id)]
        if not todo:
            continue
        errors = sink.send([c for _, c in todo])
        for index, (position, change) in enumerate(todo):
            if index in errors:
                failed[position] = change.sequence_number
                emit({**_ids(change), "level": "ERROR", "step": sink.name, "error": errors[index]})
            else:
                ledger.mark(change.event_id, sink.name)

    response = {"batchItemFailures": [{"itemIdentifier": failed[p]} for p in sorted(failed)]}
    if "window" in event:
        response["state"] = _window_state(event, processed)
    return response


def _sequence_number(record) -> str:
    """The record's SequenceNumber, or "" (which makes Lambda retry the whole batch) when it has none."""
    ddb = record.get("dynamodb") if isinstance(record, dict) else None
    number = ddb.get("SequenceNumber") if isinstance(ddb, dict) else None
    return number if isinstance(number, str) else ""


def _ids(change: Change) -> dict:
    return {
        "eventName": change.event_name,
        "keys": change.keys,
        "sequenceNumber": change.sequence_number,
        "eventID": change.event_id,
    }


def _failure_line(record, change: Change | None, step: str, exc: BaseException) -> dict:
    if change is not None:
        ids = _ids(change)
    else:
        raw = record if isinstance(record, dict) else {}
        ids = {
            "eventName": raw.get("eventName"),
            "sequenceNumber": _sequence_number(record) or None,
            "eventID": raw.get("eventID"),
        }
    return {**ids, "level": "ERROR", "step": step, "error": describe(exc)}


def _window_state(event: dict, processed: list[Change]) -> dict:
    """Tumbling windows: count processed changes per eventName; log the totals when the window closes."""
    state = dict(event.get("state") or {})
    for change in processed:
        state[change.event_name] = state.get(change.event_name, 0) + 1
    if event.get("isFinalInvokeForWindow"):
        emit({"window": event.get("window"), "shardId": event.get("shardId"), "counts": state})
    return state
