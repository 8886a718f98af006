"""`ddbstream demo --example crud-api`: seed 003's CRUD API, toured on the local target.

Brings the stack up with infra/examples/crud_api.tfvars, then calls the API the way a client
would (create, read, conflict, bad input, update, delete, read a missing item), each answer
checked; shows the event the bus's rule delivered to its log group and the stream consumer's
log line for the write; ends with the status report.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from ddbstream.demo.follower import WAIT_SECONDS, LogFollower
from ddbstream.demo.stack import stop_stack
from ddbstream.demo.view import DemoView, TargetView
from ddbstream.errors import DdbstreamError, SpecError, Unhealthy
from ddbstream.http_api import ApiRequest, send
from ddbstream.logs import LogSource
from ddbstream.pipeline import Pipeline, saved_pipeline
from ddbstream.project import find_infra_dir
from ddbstream.spec import load_spec
from ddbstream.state import state_dir
from ddbstream.status import collect
from ddbstream.targets import make_target

EXAMPLE = "crud_api.tfvars"
PATH = "/dynamo"


def run_crud_demo(view: DemoView, down: bool = False) -> None:
    """The tour; stops the stack at the end when ``down`` (also after a failure)."""
    view.step(f"Start the pipeline with infra/examples/{EXAMPLE}")
    try:
        pipeline = _bring_up(view)
        tour = _Tour(view, pipeline)
        with tour.follower:
            view.step(f"Call the API at {pipeline.api.url if pipeline.api else '-'}")
            tour.call_api()
            view.step("The bus delivered the created item to its rule's log group")
            tour.show_bus_event()
            view.step("The table's stream brought the write to the consumer")
            tour.show_consumer_line()
        view.step("Status")
        view.status(collect(pipeline, tour.client))
        if down:
            stop_stack(view)
        view.next_steps(_next_steps(tour.user_id, down))
    except BaseException:
        if down:
            stop_stack(view)
        raise


def _bring_up(view: DemoView) -> Pipeline:
    """`up` with the example's variables (a running local stack is reconciled to them)."""
    example = find_infra_dir() / "examples" / EXAMPLE
    if not example.is_file():
        raise SpecError(f"{example}: no such file: the CRUD API demo brings the stack up with it")
    spec = load_spec(var_files=[str(example)])
    directory = state_dir(spec.project_dir)
    saved = saved_pipeline(directory)
    if saved is not None and not saved.is_local:
        raise DdbstreamError("the demo runs on the local target, but this project's stack is on AWS")
    started = time.monotonic()
    pipeline, notes = make_target("local", directory, TargetView(view)).up(spec)
    for line in notes:
        view.note(f"drift: {line}")
    missing = [name for name, part in (("api", pipeline.api), ("bus rule", pipeline.event_rule)) if part is None]
    if missing or pipeline.function is None or not (pipeline.api and pipeline.api.url):
        raise DdbstreamError(f"the stack was provisioned without {', '.join(missing) or 'its API URL'}")
    view.note(f"local stack up on {pipeline.endpoint} in {time.monotonic() - started:.1f} s")
    return pipeline


class _Tour:
    """The tour's requests and checks against one running stack."""

    def __init__(self, view: DemoView, pipeline: Pipeline):
        assert pipeline.api is not None and pipeline.function is not None and pipeline.table is not None
        self.view = view
        self.pipeline = pipeline
        self.url = pipeline.api.url or ""
        self.key = pipeline.table.key_schema[0][0] if pipeline.table.key_schema else "user_id"
        self.user_id = f"ada-{uuid.uuid4().hex[:6]}"  # each run its own item: a rerun is never a 409
        self._clients: dict[str, Any] = {}
        self.started_ms = int(time.time() * 1000)
        self.follower = LogFollower(self.client("logs"), pipeline.function.log_group, view, self.started_ms)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.pipeline.client(service)
        return self._clients[service]

    def call_api(self) -> None:
        """Each request of the tour, with the status it must answer."""
        key, who = self.key, self.user_id
        created = {key: who, "name": "Ada Lovelace", "languages": ["en", "fr"]}
        self._call("POST", None, created, 201, "create the item")
        self._call("GET", {key: who}, None, 200, "read it back")
        self._call("POST", None, created, 409, "create it again: refused")
        self._call("POST", None, {"name": "no key"}, 400, f"no {key}: bad input")
        self._call("PATCH", None, {key: who, "updatedKey": "name", "updatedValue": "Ada King"}, 200, "update")
        self._call("GET", {key: who}, None, 200, "read the update")
        self._call("DELETE", {key: who}, None, 200, "delete it")
        self._call("GET", {key: who}, None, 404, "read it again: gone")

    def _call(self, method: str, query: dict | None, body: dict | None, expected: int, why: str) -> None:
        headers = [("Content-Type", "application/json")] if body is not None else []
        data = json.dumps(body).encode() if body is not None else None
        request = ApiRequest(method, PATH, list((query or {}).items()), headers, data)
        response = send(self.url, request)
        shown = f"{method} {PATH}" + (f"?{self.key}={self.user_id}" if query else "")
        answer = response.body.decode("utf-8", "replace")
        self.view.wrote(shown, f"-> {response.status}", f"{answer}   ({why})")
        if response.status != expected:
            raise Unhealthy(f"{shown} answered {response.status}, not {expected}: {answer}")

    def show_bus_event(self) -> None:
        """Wait for the rule's log group to hold the created item's event; show it."""
        rule = self.pipeline.event_rule
        assert rule is not None and rule.log_group
        source = LogSource(self.client("logs"), rule.log_group)
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            for page in source.fetch(self.started_ms):
                for event in page:
                    delivered = _json(event.message)
                    if (delivered.get("detail") or {}).get(self.key) == self.user_id:
                        what = f"{delivered.get('source')} {delivered.get('detail-type')}"
                        self.view.wrote("event", what, json.dumps(delivered.get("detail"), separators=(",", ":")))
                        self.view.note(f"rule {rule.name} on bus {_bus(self.pipeline)} -> {rule.log_group}")
                        return
            if time.monotonic() > deadline:
                raise Unhealthy(f"no event for {self.user_id} reached {rule.log_group} within {WAIT_SECONDS:.0f} s")
            time.sleep(0.1)

    def show_consumer_line(self) -> None:
        """The consumer's line for the created item (its log has been shown as it came)."""
        keys = {self.key: self.user_id}

        def inserted(line: Any) -> bool:
            data = line.data if line.is_json and isinstance(line.data, dict) else {}
            return data.get("keys") == keys and data.get("eventName") == "INSERT"

        line = self.follower.wait_for(inserted, f"the INSERT of {self.user_id}")
        assert line is not None  # wait_for raised Unhealthy otherwise
        self.follower.wait_report(line)
        self.view.note(f"the consumer logged the INSERT of {self.user_id} (sequence {line.data.get('sequenceNumber')})")


def _json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _bus(pipeline: Pipeline) -> str:
    return pipeline.event_bus.name if pipeline.event_bus else "default"


def _next_steps(user_id: str, down: bool) -> list[tuple[str, str]]:
    steps = [(f"ddbstream up --var-file infra/examples/{EXAMPLE}", "start it again")] if down else []
    steps += [
        ("ddbstream api POST /dynamo user_id=u1 name=Ana age:=41", "create an item (httpie-style fields)"),
        ("ddbstream api GET /dynamo user_id==u1", "read it"),
        ("ddbstream tail --bus --since 10m", "the events the bus delivered"),
        ("ddbstream tail --follow", "the stream consumer's log"),
        ("edit lambda/api/app.py, then ddbstream up --var-file infra/examples/crud_api.tfvars", "make the API yours"),
    ]
    if not down:
        steps.append(("ddbstream down", "stop the local stack"))
    return steps
