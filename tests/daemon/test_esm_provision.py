"""`up` creates and reconciles the event source mapping from the spec (ddbstream/provision/mapping.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from esm_support import FakeRuntime, InThreadDaemon

from ddbstream.provision.mapping import provision_mapping
from ddbstream.provision.run import Provisioning
from ddbstream.spec import load_spec

INFRA = Path(__file__).resolve().parents[2] / "infra"


@pytest.fixture(scope="module")
def daemon():
    daemon = InThreadDaemon()
    daemon.use_runtime(FakeRuntime())
    yield daemon
    daemon.stop()


@pytest.fixture
def resources(daemon):
    table, stream_arn = daemon.table()
    _, queue_arn = daemon.queue()
    return {"table_name": table, "stream_arn": stream_arn, "function_name": daemon.function(), "queue_arn": queue_arn}


def provision(daemon, resources, *overrides):
    notes: list[str] = []
    spec = load_spec(INFRA, overrides=list(overrides))
    provision_mapping(Provisioning(spec, daemon.client, resources, notes))
    mapping = daemon.client("lambda").get_event_source_mapping(UUID=resources["mapping_uuid"])
    return mapping, notes


def test_defaults_of_the_spec(daemon, resources):
    mapping, notes = provision(daemon, resources)
    assert notes == []
    assert mapping["EventSourceArn"] == resources["stream_arn"]
    assert mapping["FunctionArn"].endswith(f":function:{resources['function_name']}")
    assert mapping["State"] == "Enabled"
    assert (mapping["StartingPosition"], mapping["BatchSize"], mapping["MaximumBatchingWindowInSeconds"]) == (
        "LATEST",
        100,
        0,
    )
    assert (mapping["MaximumRetryAttempts"], mapping["BisectBatchOnFunctionError"]) == (2, True)
    assert (mapping["MaximumRecordAgeInSeconds"], mapping["ParallelizationFactor"]) == (-1, 1)
    assert mapping["TumblingWindowInSeconds"] == 0
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert "FilterCriteria" not in mapping
    assert mapping["DestinationConfig"] == {"OnFailure": {"Destination": resources["queue_arn"]}}


def test_every_setting_comes_from_the_spec(daemon, resources):
    patterns = json.dumps(['{"eventName": ["INSERT"]}', '{"dynamodb": {"NewImage": {"x": {"S": ["y"]}}}}'])
    mapping, _ = provision(
        daemon,
        resources,
        "batch_size=7",
        "maximum_batching_window_in_seconds=3",
        "starting_position=TRIM_HORIZON",
        "maximum_retry_attempts=5",
        "bisect_batch_on_function_error=false",
        "maximum_record_age_in_seconds=3600",
        "parallelization_factor=3",
        "tumbling_window_in_seconds=60",
        "function_response_types=[]",
        f"filter_patterns={patterns}",
        "enable_dlq=false",
    )
    assert (mapping["BatchSize"], mapping["MaximumBatchingWindowInSeconds"], mapping["StartingPosition"]) == (
        7,
        3,
        "TRIM_HORIZON",
    )
    assert (mapping["MaximumRetryAttempts"], mapping["BisectBatchOnFunctionError"]) == (5, False)
    assert (
        mapping["MaximumRecordAgeInSeconds"],
        mapping["ParallelizationFactor"],
        mapping["TumblingWindowInSeconds"],
    ) == (3600, 3, 60)
    assert mapping["FunctionResponseTypes"] == []
    assert [f["Pattern"] for f in mapping["FilterCriteria"]["Filters"]] == json.loads(patterns)
    assert mapping["DestinationConfig"] == {"OnFailure": {}}


def test_a_second_run_reconciles_the_same_mapping(daemon, resources):
    first, _ = provision(daemon, resources)
    again, notes = provision(daemon, resources)
    assert again["UUID"] == first["UUID"] and again["LastModified"] == first["LastModified"] and notes == []
    changed, notes = provision(daemon, resources, "batch_size=9", "enable_dlq=false")
    assert changed["UUID"] == first["UUID"]
    assert changed["BatchSize"] == 9 and changed["DestinationConfig"] == {"OnFailure": {}}
    _, notes = provision(daemon, resources, "batch_size=9", "enable_dlq=false", "starting_position=TRIM_HORIZON")
    assert len(notes) == 1 and "starting position cannot change" in notes[0]
    lam = daemon.client("lambda")
    assert len(lam.list_event_source_mappings(EventSourceArn=resources["stream_arn"])["EventSourceMappings"]) == 1


def test_a_disabled_mapping_is_enabled_again(daemon, resources):
    first, _ = provision(daemon, resources)
    daemon.client("lambda").update_event_source_mapping(UUID=first["UUID"], Enabled=False)
    again, _ = provision(daemon, resources)
    assert again["State"] == "Enabled"
