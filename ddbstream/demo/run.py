"""The demo's script: write items, fail one into the dead-letter queue, show the status."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ddbstream.demo.follower import WAIT_SECONDS, LogFollower
from ddbstream.demo.stack import FailureInjection, ensure_stack, runtime_overrides, stop_stack
from ddbstream.demo.view import DemoView
from ddbstream.dlq import DeadLetterQueue, hydrate, plain_record
from ddbstream.durations import iso_ms
from ddbstream.errors import Unhealthy
from ddbstream.items import build_update, dumps_plain, to_ddb, to_jsonable
from ddbstream.pipeline import Pipeline
from ddbstream.samples import sample_key
from ddbstream.status import collect
from ddbstream.table import ItemStore

IMAGE_VIEWS = ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")  # failure injection reads the new image


def _item(key: dict[str, Any], **attributes: Any) -> dict[str, Any]:
    return {**key, **{k: v for k, v in attributes.items() if k not in key}}


def _same_keys(line: Any, keys: dict[str, Any]) -> bool:
    return line.is_json and isinstance(line.data, dict) and line.data.get("keys") == to_jsonable(keys)


def _is_change(keys: dict[str, Any]) -> Callable[[Any], bool]:
    """The consumer's line for a change of these keys that it processed."""

    def check(line: Any) -> bool:
        return _same_keys(line, keys) and "new" in line.data and "level" not in line.data

    return check


def _is_failure(keys: dict[str, Any], sequence_number: str) -> Callable[[Any], bool]:
    """The consumer's line for the record ``sequence_number`` (of these keys) that failed."""
    return lambda line: (
        _same_keys(line, keys)
        and line.data.get("level") == "ERROR"
        and line.data.get("sequenceNumber") == sequence_number
    )


def _is_written_by(keys: dict[str, Any], run: str) -> Callable[[Any], bool]:
    """The consumer's line for a change of these keys whose new image carries this run's stamp.

    A previous demo's records may still be in the log (or, if it was interrupted, still being
    retried): only the stamp tells this run's record from theirs.
    """

    def check(line: Any) -> bool:
        new = line.data.get("new") if _is_change(keys)(line) else None
        return isinstance(new, dict) and new.get("demo_run") == run

    return check


def run_demo(view: DemoView, down: bool = False, runtime: str | None = None) -> None:
    """The whole demo; stops the stack at the end when ``down`` (also after a failure).

    ``runtime`` (e.g. nodejs20.x) deploys that runtime's consumer first (see ensure_stack).
    """
    view.step("Start the pipeline")
    try:
        demo = _Demo(view, ensure_stack(view, throwaway=down, runtime=runtime))
        with FailureInjection(demo.client("lambda"), demo.function) as injection, demo.follower:
            if injection.switched_on:
                view.note(
                    f"failure injection on for the demo: FAIL_ATTRIBUTE={injection.attribute} on "
                    f"{demo.function} (switched back off at the end)"
                )
            view.step("Write items; the consumer logs each change")
            demo.write_items()
            view.step("A record that fails ends in the dead-letter queue")
            message_id = demo.fail_one(injection.attribute)
        view.step("Status")
        demo.show_status(message_id)
        if down:
            stop_stack(view)
        view.next_steps(_next_steps(demo.schema, down, message_id, runtime))
    except BaseException:
        if down:
            stop_stack(view)
        raise


class _Demo:
    """The demo's steps against one running stack."""

    def __init__(self, view: DemoView, pipeline: Pipeline):
        self.view = view
        self.pipeline = pipeline
        self._clients: dict[str, Any] = {}
        table, function, mapping = pipeline.require_table(), pipeline.function, pipeline.mapping
        assert function is not None and mapping is not None  # ensure_stack made sure of them
        self.schema = list(table.key_schema)
        self.function = function.name
        self.store = ItemStore(self.client("dynamodb"), table.name, self.schema)
        self.alice, self.bob, self.mallory = (sample_key(self.schema, number) for number in (901, 902, 903))
        # DynamoDB streams nothing for a put that changes nothing: each run stamps its items.
        self.run = iso_ms(time.time() * 1000)
        mapping = self.client("lambda").get_event_source_mapping(UUID=mapping.uuid)
        if mapping.get("FilterCriteria", {}).get("Filters"):
            view.note("the mapping has filter patterns: the demo's changes reach the consumer only if they match")
        # From now on: a previous demo's last lines, a moment old, are not this run's.
        self.follower = LogFollower(self.client("logs"), function.log_group, view, int(time.time() * 1000))

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.pipeline.client(service)
        return self._clients[service]

    def _put(self, key: dict[str, Any], detail: str, **attributes: Any) -> None:
        self.store.put(to_ddb(_item(key, **attributes, demo_run=self.run)))
        self.view.wrote("put", self.store.describe_key(to_ddb(key)), detail)

    def write_items(self) -> None:
        """Put two items, update one, delete the other; wait until the consumer has logged all four."""
        alice, bob = self.alice, self.bob
        follower = self.follower

        def logged(what: str, keys: dict[str, Any], count: int) -> Any:
            # The n-th change of a key is the n-th write to it (a put is a MODIFY when a previous demo left the item).
            return follower.wait_for(_is_change(keys), f"the {what} of {dumps_plain(keys)}", count=count)

        self._put(
            alice,
            "name=Alice Martin, department=Engineering",
            name="Alice Martin",
            department="Engineering",
            salary=Decimal(85000),
        )
        logged("put", alice, 1)
        self._put(
            bob, "name=Bob Stone, department=Finance", name="Bob Stone", department="Finance", salary=Decimal(72000)
        )
        logged("put", bob, 1)
        expression, names, values = build_update(["department=Platform"], [], ["salary=5000"], self.schema)
        self.store.update(to_ddb(alice), expression, names, values)
        self.view.wrote("update", self.store.describe_key(to_ddb(alice)), "department=Platform, salary +5000")
        logged("update", alice, 2)
        self.store.delete(to_ddb(bob))
        self.view.wrote("delete", self.store.describe_key(to_ddb(bob)), None)
        follower.wait_report(logged("delete", bob, 2))

    def fail_one(self, attribute: str) -> str | None:
        """Put a record the consumer fails on; show its dead-letter message. Returns the message id."""
        view_type = self.pipeline.require_table().stream_view_type or "NEW_AND_OLD_IMAGES"
        queue = self.pipeline.queue
        if view_type not in IMAGE_VIEWS:
            self.view.note(
                f"skipped: the stream's view type is {view_type}, so records carry no new image "
                "for the failure injection to look at"
            )
            return None
        if queue is None:
            self.view.note("skipped: the pipeline has no dead-letter queue (enable_dlq = false)")
            return None
        mallory = self.mallory
        self._put(mallory, f"{attribute}=true (this record fails)", name="Mallory", **{attribute: True})
        written = self.follower.wait_for(_is_written_by(mallory, self.run), f"the change of {dumps_plain(mallory)}")
        sequence_number = written.data["sequenceNumber"]
        self.follower.wait_for(_is_failure(mallory, sequence_number), f"the failure of {dumps_plain(mallory)}")
        summary, records = _wait_dead_letter(self.client, queue.url, sequence_number)
        # Let the last attempt's log lines through before the message is shown.
        attempts = int(summary.get("attempts") or 1)
        last = self.follower.wait_for(_is_failure(mallory, sequence_number), "", 2.0, count=attempts)
        if last is not None:
            self.follower.wait_report(last)
        self.view.dead_letter(summary, records)
        return summary["messageId"]

    def show_status(self, message_id: str | None) -> None:
        self.view.status(collect(self.pipeline, self.client))
        if message_id:
            self.view.note(
                "the mapping's failed last result and the message in the dead-letter queue are the "
                "demo's failing record: 'ddbstream dlq purge' clears the queue"
            )


def _wait_dead_letter(
    client: Callable[[str], Any], queue_url: str, sequence_number: str, timeout: float = WAIT_SECONDS
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The on-failure message whose batch holds ``sequence_number``: its summary and plain records."""
    queue = DeadLetterQueue(client("sqs"), queue_url, local=True)
    wanted = int(sequence_number)
    deadline = time.monotonic() + timeout
    while True:
        for message in queue.peek():
            batch = message.batch or {}
            try:
                first, last = int(batch["startSequenceNumber"]), int(batch["endSequenceNumber"])
            except (KeyError, TypeError, ValueError):
                continue
            if first <= wanted <= last:
                records = [plain_record(r) for r in hydrate(client("dynamodbstreams"), batch)]
                return message.summary(), records
        if time.monotonic() > deadline:
            raise Unhealthy(
                f"the failed record {sequence_number} did not reach the dead-letter queue "
                f"within {timeout:.0f} s: see 'ddbstream status'"
            )
        time.sleep(0.1)


def _next_steps(
    schema: list[tuple[str, str]], down: bool, message_id: str | None, runtime: str | None = None
) -> list[tuple[str, str]]:
    key = sample_key(schema, 101)
    up = " ".join(["ddbstream up", *(f"--var {variable}" for variable in runtime_overrides(runtime))])
    handler = "lambda/nodejs/index.js" if runtime and runtime.startswith("nodejs") else "lambda/handler.py"
    steps = [(up, "start the pipeline again")] if down else []
    steps += [
        ("ddbstream tail --follow", "watch the consumer's log"),
        (f"ddbstream put --item '{dumps_plain({**key, 'name': 'Ada'})}'", "write an item and see it arrive"),
    ]
    if message_id and not down:
        steps += [
            (f"ddbstream dlq show {message_id} --records", "the failed batch and its records"),
            (f"ddbstream dlq replay {message_id}", "send it to the consumer again (it fails again while poisoned)"),
        ]
    steps += [
        ("ddbstream event modify | ddbstream invoke --event -", "run the consumer once on a sample event"),
        (f"edit {handler}, then {up}", "make the consumer yours"),
    ]
    if not down:
        steps.append(("ddbstream down", "stop the local stack"))
    return steps
