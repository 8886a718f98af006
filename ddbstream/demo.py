"""`ddbstream demo`: the whole pipeline shown once, on the local target.

Starts the stack (or reuses the running one), writes a few items while the consumer's log
lines stream in, makes one record fail until it lands in the dead-letter queue, and shows the
status report. Failure injection is switched on for the demo only: the function's
FAIL_ATTRIBUTE is set to ``poison`` for its duration and put back afterwards, so the stack is
left as the spec describes it (with --down, the throwaway stack starts with it instead).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from ddbstream.errors import DdbstreamError, InvalidInput, Unhealthy
from ddbstream.names import lambda_log_group

DEMO_FAIL_ATTRIBUTE = "poison"
WAIT_SECONDS = 10.0  # per step; the local pipeline answers in well under a second
HURRY_POLL_SECONDS = 0.02  # log polling while the demo waits for a line (the local daemon is cheap to ask)
IMAGE_VIEWS = ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")  # failure injection reads the new image


class DemoView(Protocol):
    """How the demo shows itself (the CLI renders; tests may record)."""

    def step(self, title: str) -> None: ...
    def note(self, text: str) -> None: ...
    def progress(self, text: str) -> None: ...
    def wrote(self, action: str, key: str, detail: Any) -> None: ...
    def log(self, event: Any) -> None: ...  # a ddbstream.logs.LogEvent, from the tail's thread
    def dead_letter(self, summary: dict[str, Any], records: list[dict[str, Any]]) -> None: ...
    def status(self, report: dict[str, Any]) -> None: ...
    def next_steps(self, steps: list[tuple[str, str]]) -> None: ...


@dataclass
class SeenLines:
    """The consumer's log lines (ddbstream.logs.Line) seen so far, for waiting on them."""

    lines: list[Any] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def add(self, line: Any) -> None:
        with self.changed:
            self.lines.append(line)
            self.changed.notify_all()

    def wait_for(
        self, predicate: Callable[[Any], bool], what: str, timeout: float = WAIT_SECONDS, count: int = 1
    ) -> Any | None:
        """The ``count``-th line matching ``predicate``; Unhealthy after ``timeout`` (None when ``what`` is empty)."""

        def found() -> Any | None:
            matches = [line for line in self.lines if predicate(line)]
            return matches[count - 1] if len(matches) >= count else None

        with self.changed:
            if not self.changed.wait_for(found, timeout):
                if not what:
                    return None
                raise Unhealthy(
                    f"the consumer did not log {what} within {timeout:.0f} s: "
                    "see 'ddbstream status' and .ddbstream/daemon.log"
                )
            return found()


class _Stopped(Exception):
    pass


class LogFollower:
    """Follows the function's log group in a thread: every event to the view, JSON lines to ``lines``."""

    def __init__(self, logs_client: Any, group: str, view: DemoView, since_ms: int):
        from ddbstream.logs import LineParser, LogSource, Tail

        self.stop_flag = threading.Event()
        self.hurry = threading.Event()
        self.lines = SeenLines()
        self.view = view
        self.parser = LineParser()
        self.error: BaseException | None = None
        self.tail = Tail(LogSource(logs_client, group), since_ms=since_ms, follow=True, local=True, sleep=self._sleep)
        self.thread = threading.Thread(target=self._run, name="demo-log-follower", daemon=True)

    def _sleep(self, seconds: float) -> None:
        """The tail's pause between polls, cut short while the demo waits for a line (or to stop)."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if self.stop_flag.wait(min(left, HURRY_POLL_SECONDS)):
                raise _Stopped()
            if self.hurry.is_set():
                return

    def wait_for(
        self, predicate: Callable[[Any], bool], what: str, timeout: float = WAIT_SECONDS, count: int = 1
    ) -> Any | None:
        """SeenLines.wait_for, polling the log group often meanwhile; the follower's own error if it died."""
        self.hurry.set()
        try:
            return self.lines.wait_for(predicate, what, timeout, count)
        except Unhealthy:
            if isinstance(self.error, DdbstreamError):
                raise self.error from None
            if self.error is not None:
                raise Unhealthy(f"following the consumer's log failed: {self.error}") from None
            raise
        finally:
            self.hurry.clear()

    def wait_report(self, line: Any, timeout: float = 2.0) -> None:
        """Best effort: until the REPORT line of ``line``'s invocation is shown (keeps the output in order)."""
        if line.request_id:
            self.wait_for(lambda other: other.kind == "report" and other.request_id == line.request_id, "", timeout)

    def _run(self) -> None:
        from ddbstream.logs import Notice

        try:
            for event in self.tail.events():
                if isinstance(event, Notice):
                    continue  # "log group does not exist yet; waiting": expected before the first run
                self.view.log(event)
                self.lines.add(self.parser.parse(event))
                if self.stop_flag.is_set():
                    return
        except _Stopped:
            return
        except BaseException as exc:  # shown by the main thread when it times out
            self.error = exc

    def __enter__(self) -> LogFollower:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop_flag.set()
        self.thread.join(timeout=5)


# ---------------------------------------------------------------- the stack


def ensure_stack(view: DemoView, throwaway: bool = False):
    """The running local stack, started (or completed) from the spec when needed.

    A ``throwaway`` stack (demo --down) is started with failure injection on, which saves
    switching it on and off again.
    """
    from ddbstream.spec import load_spec
    from ddbstream.state import read_state, state_dir
    from ddbstream.targets.local import LocalTarget, daemon_alive

    spec = load_spec()
    directory = state_dir(spec.project_dir)
    state = read_state(directory)
    if state is not None and not state.is_local:
        raise InvalidInput(
            "the demo runs on the local target, but this project's stack is on AWS: "
            "run it in another directory, or 'ddbstream destroy --target aws' first"
        )
    needed = ("table_name", "stream_arn", "function_name", "mapping_uuid")
    if state is not None and daemon_alive(state) and all(state.resource(name) for name in needed):
        view.note(f"reusing the local stack running on {state.endpoint}")
        return state
    started = time.monotonic()
    if throwaway and not spec.get("fail_attribute"):
        spec = load_spec(overrides=[f"fail_attribute={DEMO_FAIL_ATTRIBUTE}"])
        view.note(
            f"starting with fail_attribute={DEMO_FAIL_ATTRIBUTE}: records with a true "
            f"'{DEMO_FAIL_ATTRIBUTE}' attribute fail (the stack stops at the end)"
        )
    target = LocalTarget(directory)
    state, notes = target.up(spec, progress=view.progress)
    if target.restored:
        view.note(target.restored)
    for line in notes:
        view.note(f"drift: {line}")
    missing = [name for name in needed if not state.resource(name)]
    if missing:
        raise DdbstreamError(f"the local stack was provisioned without {', '.join(missing)}: the demo needs them")
    view.note(f"local stack up on {state.endpoint} in {time.monotonic() - started:.1f} s")
    return state


class FailureInjection:
    """FAIL_ATTRIBUTE on the function for the demo's duration; the previous environment comes back after."""

    def __init__(self, lambda_client: Any, function_name: str):
        self.client = lambda_client
        self.function = function_name
        self.previous: dict[str, str] | None = None
        self.attribute = DEMO_FAIL_ATTRIBUTE

    def __enter__(self) -> FailureInjection:
        config = self.client.get_function_configuration(FunctionName=self.function)
        variables = dict((config.get("Environment") or {}).get("Variables") or {})
        if variables.get("FAIL_ATTRIBUTE"):
            self.attribute = variables["FAIL_ATTRIBUTE"]  # the pipeline's own setting: leave it
            return self
        self.previous = variables
        self._set({**variables, "FAIL_ATTRIBUTE": DEMO_FAIL_ATTRIBUTE})
        return self

    @property
    def switched_on(self) -> bool:
        return self.previous is not None

    def _set(self, variables: dict[str, str]) -> None:
        self.client.update_function_configuration(FunctionName=self.function, Environment={"Variables": variables})

    def __exit__(self, *exc_info: Any) -> None:
        if self.previous is not None:
            self._set(self.previous)


# ---------------------------------------------------------------- the script


def _item(key: dict[str, Any], **attributes: Any) -> dict[str, Any]:
    return {**key, **{k: v for k, v in attributes.items() if k not in key}}


def _same_keys(line: Any, keys: dict[str, Any]) -> bool:
    from ddbstream.items import to_jsonable

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


def run_demo(view: DemoView, down: bool = False) -> None:
    """The whole demo; stops the stack at the end when ``down`` (also after a failure)."""
    view.step("Start the pipeline")
    try:
        demo = _Demo(view, ensure_stack(view, throwaway=down))
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
            _stop_stack(view)
        view.next_steps(_next_steps(demo.schema, down, message_id))
    except BaseException:
        if down:
            _stop_stack(view)
        raise


class _Demo:
    """The demo's steps against one running stack."""

    def __init__(self, view: DemoView, state: Any):
        from ddbstream.durations import iso_ms
        from ddbstream.samples import sample_key
        from ddbstream.table import ItemStore

        self.view = view
        self.state = state
        self._clients: dict[str, Any] = {}
        resources = state.resources
        self.schema = [tuple(pair) for pair in resources["key_schema"]]
        self.function = resources["function_name"]
        self.store = ItemStore(self.client("dynamodb"), resources["table_name"], self.schema)
        self.alice, self.bob, self.mallory = (sample_key(self.schema, number) for number in (901, 902, 903))
        # DynamoDB streams nothing for a put that changes nothing: each run stamps its items.
        self.run = iso_ms(time.time() * 1000)
        mapping = self.client("lambda").get_event_source_mapping(UUID=resources["mapping_uuid"])
        if mapping.get("FilterCriteria", {}).get("Filters"):
            view.note("the mapping has filter patterns: the demo's changes reach the consumer only if they match")
        # From now on: a previous demo's last lines, a moment old, are not this run's.
        self.follower = LogFollower(self.client("logs"), lambda_log_group(self.function), view, int(time.time() * 1000))

    def client(self, service: str) -> Any:
        from ddbstream.clients import client_for

        if service not in self._clients:
            self._clients[service] = client_for(self.state, service)
        return self._clients[service]

    def _put(self, key: dict[str, Any], detail: str, **attributes: Any) -> None:
        from ddbstream.items import to_ddb

        self.store.put(to_ddb(_item(key, **attributes, demo_run=self.run)))
        self.view.wrote("put", self.store.describe_key(to_ddb(key)), detail)

    def write_items(self) -> None:
        """Put two items, update one, delete the other; wait until the consumer has logged all four."""
        from ddbstream.items import build_update, dumps_plain, to_ddb

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
        from ddbstream.items import dumps_plain

        view_type = self.state.resources.get("stream_view_type") or "NEW_AND_OLD_IMAGES"
        queue_url = self.state.resources.get("queue_url")
        if view_type not in IMAGE_VIEWS:
            self.view.note(
                f"skipped: the stream's view type is {view_type}, so records carry no new image "
                "for the failure injection to look at"
            )
            return None
        if not queue_url:
            self.view.note("skipped: the pipeline has no dead-letter queue (enable_dlq = false)")
            return None
        mallory = self.mallory
        self._put(mallory, f"{attribute}=true (this record fails)", name="Mallory", **{attribute: True})
        written = self.follower.wait_for(_is_written_by(mallory, self.run), f"the change of {dumps_plain(mallory)}")
        sequence_number = written.data["sequenceNumber"]
        self.follower.wait_for(_is_failure(mallory, sequence_number), f"the failure of {dumps_plain(mallory)}")
        summary, records = _wait_dead_letter(self.client, queue_url, sequence_number)
        # Let the last attempt's log lines through before the message is shown.
        attempts = int(summary.get("attempts") or 1)
        last = self.follower.wait_for(_is_failure(mallory, sequence_number), "", 2.0, count=attempts)
        if last is not None:
            self.follower.wait_report(last)
        self.view.dead_letter(summary, records)
        return summary["messageId"]

    def show_status(self, message_id: str | None) -> None:
        from ddbstream.status import collect

        self.view.status(collect(self.state, self.client))
        if message_id:
            self.view.note(
                "the mapping's failed last result and the message in the dead-letter queue are the "
                "demo's failing record: 'ddbstream dlq purge' clears the queue"
            )


def _stop_stack(view: DemoView) -> None:
    from ddbstream.errors import SpecError
    from ddbstream.spec import find_infra_dir
    from ddbstream.state import state_dir
    from ddbstream.targets.local import LocalTarget

    try:
        directory = state_dir(find_infra_dir().parent)
    except SpecError:
        return  # not in a project: nothing was started
    if LocalTarget(directory).down():
        view.note("local stack stopped (--down)")


def _wait_dead_letter(
    client: Callable[[str], Any], queue_url: str, sequence_number: str, timeout: float = WAIT_SECONDS
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The on-failure message whose batch holds ``sequence_number``: its summary and plain records."""
    from ddbstream.dlq import DeadLetterQueue, hydrate, plain_record

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


def _next_steps(schema: list[tuple[str, str]], down: bool, message_id: str | None) -> list[tuple[str, str]]:
    from ddbstream.items import dumps_plain
    from ddbstream.samples import sample_key

    key = sample_key(schema, 101)
    steps = [("ddbstream up", "start the pipeline again")] if down else []
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
        ("edit lambda/handler.py, then ddbstream up", "make the consumer yours"),
    ]
    if not down:
        steps.append(("ddbstream down", "stop the local stack"))
    return steps
