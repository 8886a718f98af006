"""The deployed pipeline as one typed object: what `up` made, where it runs and how to reach it.

state.json records the pipeline's resources as a flat dict of names (written by provisioning
on the local target, from Terraform's outputs on aws). ``Pipeline.from_state`` reads that dict
once; every command then reaches the table, function, queue... through typed attributes.
The parts a spec may leave out (queue, topic, bucket, bus, rule, API, alarms) are ``None`` when absent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ddbstream.clients import client_for, table_client_for
from ddbstream.daemon import daemon_alive
from ddbstream.errors import NoStack
from ddbstream.names import lambda_log_group
from ddbstream.state import FAKE_ACCOUNT, State, read_state

KeySchema = tuple[tuple[str, str], ...]  # (attribute name, type) of the hash key, then the range key


@dataclass(frozen=True)
class Table:
    name: str
    key_schema: KeySchema = ()  # empty only in a state.json written by hand
    arn: str | None = None
    stream_arn: str | None = None
    stream_view_type: str | None = None


@dataclass(frozen=True)
class Function:
    name: str
    log_group: str
    arn: str | None = None


@dataclass(frozen=True)
class EventSourceMapping:
    uuid: str


@dataclass(frozen=True)
class Queue:
    url: str
    arn: str | None = None

    @property
    def name(self) -> str:
        return self.url.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Topic:
    arn: str


@dataclass(frozen=True)
class Bucket:
    name: str


@dataclass(frozen=True)
class EventBus:
    name: str
    arn: str | None = None


@dataclass(frozen=True)
class EventRule:
    """The rule matching the CRUD API's events, and where it delivers them."""

    name: str
    log_group: str | None = None
    queue_url: str | None = None


@dataclass(frozen=True)
class HttpApi:
    """The CRUD API: its id, base URL (127.0.0.1 locally) and function."""

    id: str
    url: str | None = None
    function: Function | None = None
    access_log_group: str | None = None


@dataclass(frozen=True)
class Pipeline:
    """One deployed pipeline: its target, where it runs, and each of its resources."""

    target: str  # "local" or "aws"
    region: str
    account: str = FAKE_ACCOUNT
    endpoint: str | None = None  # local daemon only
    pid: int | None = None  # local daemon only
    started_at: float | None = None
    profile: str | None = None  # aws only: the AWS profile `up` deployed with
    secret: str | None = field(default=None, repr=False)  # local only: the daemon's stack secret
    token: str | None = None  # local only: names the daemon process (its health route answers with it)
    table: Table | None = None
    function: Function | None = None
    mapping: EventSourceMapping | None = None
    queue: Queue | None = None
    topic: Topic | None = None
    bucket: Bucket | None = None
    event_bus: EventBus | None = None
    event_rule: EventRule | None = None
    api: HttpApi | None = None
    alarms: Mapping[str, str] = field(default_factory=dict)  # alarm key (errors, throttles...) -> alarm name

    @property
    def is_local(self) -> bool:
        return self.target == "local"

    def is_running(self) -> bool:
        """On aws, as long as it is recorded; locally, while its daemon answers as the same process."""
        return not self.is_local or daemon_alive(self)

    def client(self, service: str, profile: str | None = None) -> Any:
        """A botocore client for one of the pipeline's services (the daemon's endpoint when local)."""
        return client_for(self, service, profile)

    def table_client(self, profile: str | None = None) -> Any:
        """The DynamoDB client for item operations on the table (locally, one that starts faster)."""
        return table_client_for(self, profile)

    def require_table(self) -> Table:
        """The table, or NoStack when none was provisioned."""
        if self.table is None or not self.table.key_schema:
            raise NoStack("no table has been provisioned: run 'ddbstream up'")
        return self.table

    @classmethod
    def from_state(cls, state: State) -> Pipeline:
        """The pipeline a saved state describes (any state.json ddbstream ever wrote)."""
        return cls(
            target=state.target,
            region=state.region,
            account=state.account,
            endpoint=state.endpoint,
            pid=state.pid,
            started_at=state.started_at,
            profile=state.profile,
            secret=state.secret,
            token=state.token,
            **_parts(state.resources),
        )

    def as_resources(self) -> dict[str, Any]:
        """The resources as state.json records them (what `up --json` prints), absent parts left out."""
        table, function, queue = self.table, self.function, self.queue
        entries: list[tuple[str, Any]] = []
        if table is not None:
            key_schema = [list(pair) for pair in table.key_schema] or None
            entries += [("table_name", table.name), ("table_arn", table.arn), ("stream_arn", table.stream_arn)]
            entries += [("key_schema", key_schema), ("stream_view_type", table.stream_view_type)]
        if queue is not None:
            entries += [("queue_url", queue.url), ("queue_arn", queue.arn)]
        entries.append(("topic_arn", self.topic.arn if self.topic else None))
        entries.append(("bucket", self.bucket.name if self.bucket else None))
        entries += _bus_entries(self.event_bus, self.event_rule)
        if function is not None:
            entries += [("function_name", function.name), ("function_arn", function.arn)]
            entries.append(("log_group", function.log_group))
        entries.append(("alarm_names", dict(self.alarms) or None))
        entries.append(("mapping_uuid", self.mapping.uuid if self.mapping else None))
        entries += _api_entries(self.api)
        return {name: value for name, value in entries if value is not None}


def _bus_entries(bus: EventBus | None, rule: EventRule | None) -> list[tuple[str, Any]]:
    entries: list[tuple[str, Any]] = []
    if bus is not None:
        entries += [("event_bus_name", bus.name), ("event_bus_arn", bus.arn)]
    if rule is not None:
        entries += [("event_rule_name", rule.name), ("event_log_group", rule.log_group)]
        entries.append(("event_queue_url", rule.queue_url))
    return entries


def _api_entries(api: HttpApi | None) -> list[tuple[str, Any]]:
    if api is None:
        return []
    function = api.function
    return [
        ("api_id", api.id),
        ("api_url", api.url),
        ("api_function_name", function.name if function else None),
        ("api_log_group", function.log_group if function else None),
        ("api_access_log_group", api.access_log_group),
    ]


def _parts(found: Mapping[str, Any]) -> dict[str, Any]:
    """The typed parts of state.json's resources dict, by Pipeline attribute."""

    def named(key: str, make: Any) -> Any:
        value = found.get(key)
        return make(value) if value else None

    return {
        "table": named("table_name", lambda name: _table(name, found)),
        "function": named(
            "function_name",
            lambda name: Function(name, found.get("log_group") or lambda_log_group(name), found.get("function_arn")),
        ),
        "mapping": named("mapping_uuid", EventSourceMapping),
        "queue": named("queue_url", lambda url: Queue(url, found.get("queue_arn"))),
        "topic": named("topic_arn", Topic),
        "bucket": named("bucket", Bucket),
        "event_bus": named("event_bus_name", lambda name: EventBus(name, found.get("event_bus_arn"))),
        "event_rule": named(
            "event_rule_name", lambda name: EventRule(name, found.get("event_log_group"), found.get("event_queue_url"))
        ),
        "api": named("api_id", lambda api_id: _api(api_id, found)),
        "alarms": dict(found.get("alarm_names") or {}),
    }


def _api(api_id: str, found: Mapping[str, Any]) -> HttpApi:
    name = found.get("api_function_name")
    function = Function(name, found.get("api_log_group") or lambda_log_group(name)) if name else None
    return HttpApi(api_id, found.get("api_url"), function, found.get("api_access_log_group"))


def _table(name: str, found: Mapping[str, Any]) -> Table:
    return Table(
        name=name,
        key_schema=tuple((attribute, kind) for attribute, kind in found.get("key_schema") or ()),
        arn=found.get("table_arn"),
        stream_arn=found.get("stream_arn"),
        stream_view_type=found.get("stream_view_type"),
    )


def saved_pipeline(directory: Path) -> Pipeline | None:
    """The pipeline this project's state.json records, running or not (None: nothing recorded)."""
    state = read_state(directory)
    return None if state is None else Pipeline.from_state(state)


def load_pipeline(directory: Path) -> Pipeline:
    """The running pipeline, or NoStack when nothing has been brought up (or its daemon died)."""
    pipeline = saved_pipeline(directory)
    if pipeline is None or not pipeline.is_running():
        raise NoStack()
    return pipeline
