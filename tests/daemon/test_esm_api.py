"""The event source mapping API on the daemon: validation, response shapes, states."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from esm_support import FakeRuntime, InThreadDaemon, wait_until


@pytest.fixture(scope="module")
def daemon():
    daemon = InThreadDaemon()
    daemon.use_runtime(FakeRuntime())
    yield daemon
    daemon.stop()


@pytest.fixture(autouse=True)
def no_leftover_mappings(daemon):
    yield
    engine = daemon.engine
    for mapping in engine.all():
        engine.remove(mapping.uuid)


@pytest.fixture
def pipeline(daemon):
    table, arn = daemon.table()
    return daemon.function(), arn


def raw_lambda(daemon):
    """A Lambda client that does not validate parameters itself, so the daemon's checks are reached."""
    return daemon.client("lambda", parameter_validation=False)


def error(excinfo) -> tuple[str, int, str]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def test_create_answers_with_aws_shape_and_defaults(daemon, pipeline):
    function, arn = pipeline
    created = daemon.mapping(function, arn)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert created["State"] == "Creating"
    assert created["StateTransitionReason"] == "User action"
    assert created["LastProcessingResult"] == "No records processed"
    assert created["EventSourceArn"] == arn
    assert created["FunctionArn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{function}"
    assert created["EventSourceMappingArn"].endswith(f":event-source-mapping:{created['UUID']}")
    expected = {
        "StartingPosition": "LATEST",
        "BatchSize": 100,
        "MaximumBatchingWindowInSeconds": 0,
        "ParallelizationFactor": 1,
        "MaximumRecordAgeInSeconds": -1,
        "BisectBatchOnFunctionError": False,
        "MaximumRetryAttempts": -1,
        "TumblingWindowInSeconds": 0,
        "FunctionResponseTypes": [],
        "DestinationConfig": {"OnFailure": {}},
    }
    assert {k: created[k] for k in expected} == expected
    assert "FilterCriteria" not in created
    fetched = daemon.client("lambda").get_event_source_mapping(UUID=created["UUID"])
    assert fetched["State"] == "Enabled"
    assert fetched["LastModified"] == created["LastModified"]


def test_create_echoes_every_setting(daemon, pipeline):
    function, arn = pipeline
    _, queue_arn = daemon.queue()
    criteria = {"Filters": [{"Pattern": '{"eventName": ["INSERT"]}'}]}
    created = daemon.mapping(
        function,
        arn,
        StartingPosition="TRIM_HORIZON",
        BatchSize=10,
        MaximumBatchingWindowInSeconds=5,
        ParallelizationFactor=4,
        MaximumRecordAgeInSeconds=60,
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=2,
        TumblingWindowInSeconds=900,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        FilterCriteria=criteria,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
        Enabled=False,
    )
    assert created["StartingPosition"] == "TRIM_HORIZON"
    assert (created["BatchSize"], created["MaximumBatchingWindowInSeconds"], created["ParallelizationFactor"]) == (
        10,
        5,
        4,
    )
    assert (created["MaximumRecordAgeInSeconds"], created["MaximumRetryAttempts"]) == (60, 2)
    assert created["BisectBatchOnFunctionError"] is True
    assert created["TumblingWindowInSeconds"] == 900
    assert created["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert created["FilterCriteria"] == criteria
    assert created["DestinationConfig"] == {"OnFailure": {"Destination": queue_arn}}
    assert daemon.client("lambda").get_event_source_mapping(UUID=created["UUID"])["State"] == "Disabled"


@pytest.mark.parametrize(
    "settings",
    [
        {"BatchSize": 0},
        {"BatchSize": 10_001},
        {"MaximumBatchingWindowInSeconds": 301},
        {"MaximumBatchingWindowInSeconds": -1},
        {"ParallelizationFactor": 0},
        {"ParallelizationFactor": 11},
        {"MaximumRecordAgeInSeconds": 59},
        {"MaximumRecordAgeInSeconds": 604_801},
        {"MaximumRecordAgeInSeconds": -2},
        {"MaximumRetryAttempts": -2},
        {"MaximumRetryAttempts": 10_001},
        {"TumblingWindowInSeconds": 901},
        {"FunctionResponseTypes": ["ReportItemFailures"]},
        {"StartingPosition": "AT_TIMESTAMP"},
        {"StartingPosition": None},
        {"BatchSize": "ten"},
        {"BisectBatchOnFunctionError": "yes"},
        {"FilterCriteria": {"Filters": [{"Pattern": "{not json"}]}},
        {"FilterCriteria": {"Filters": [{"Pattern": '{"eventName": "INSERT"}'}]}},
        {"FilterCriteria": {"Filters": [{"Pattern": '{"a": ["x"]}'}] * 6}},
        {"DestinationConfig": {"OnFailure": {"Destination": "arn:aws:lambda:us-east-1:123456789012:function:x"}}},
        {"DestinationConfig": {"OnSuccess": {"Destination": "arn:aws:sqs:us-east-1:123456789012:q"}}},
        {"DestinationConfig": {"OnFailure": {}}},  # refused on update as recorded (tests/conformance), so here too
    ],
)
def test_create_rejects_what_aws_rejects(daemon, pipeline, settings):
    function, arn = pipeline
    body = {"FunctionName": function, "EventSourceArn": arn, "StartingPosition": "LATEST", **settings}
    body = {k: v for k, v in body.items() if v is not None}
    with pytest.raises(ClientError) as excinfo:
        raw_lambda(daemon).create_event_source_mapping(**body)
    code, status, message = error(excinfo)
    # Outside botocore's model (a range or an enum), Lambda's front end answers first, as it does for a
    # StartingPosition outside its enum (recorded: tests/conformance); Lambda itself refuses the rest.
    model_check = message.startswith("1 validation error detected") and "Value null" not in message
    assert (code, status) == ("ValidationException" if model_check else "InvalidParameterValueException", 400)
    assert message
    assert daemon.client("lambda").list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"] == []


@pytest.mark.parametrize("age", [0, 59])
def test_a_record_age_under_a_minute_is_refused_in_aws_words(daemon, pipeline, age):
    # In botocore's range, refused by Lambda itself (tests/conformance: record_age_under_a_minute).
    function, arn = pipeline
    with pytest.raises(ClientError) as excinfo:
        daemon.mapping(function, arn, MaximumRecordAgeInSeconds=age)
    message = "MaximumRecordAgeInSeconds must be either -1 (forever) or between 60 and 604800 (inclusive)"
    assert error(excinfo) == ("InvalidParameterValueException", 400, message)


def test_boundary_values_are_accepted(daemon, pipeline):
    function, arn = pipeline
    created = daemon.mapping(
        function,
        arn,
        BatchSize=10_000,
        MaximumBatchingWindowInSeconds=300,
        ParallelizationFactor=10,
        MaximumRecordAgeInSeconds=604_800,
        MaximumRetryAttempts=10_000,
        TumblingWindowInSeconds=0,
    )
    assert created["BatchSize"] == 10_000 and created["ParallelizationFactor"] == 10


def test_missing_and_unknown_resources(daemon, pipeline):
    function, arn = pipeline
    client = raw_lambda(daemon)
    with pytest.raises(ClientError) as excinfo:
        client.create_event_source_mapping(
            FunctionName="no-such-function", EventSourceArn=arn, StartingPosition="LATEST"
        )
    assert error(excinfo) == ("InvalidParameterValueException", 400, "Function does not exist")  # as AWS
    with pytest.raises(ClientError) as excinfo:
        client.create_event_source_mapping(FunctionName=function, EventSourceArn=arn + "x", StartingPosition="LATEST")
    assert error(excinfo) == ("InvalidParameterValueException", 400, f"Stream not found: {arn}x")  # as AWS
    with pytest.raises(ClientError) as excinfo:
        client.create_event_source_mapping(
            FunctionName=function, StartingPosition="LATEST", EventSourceArn="arn:aws:sqs:us-east-1:123456789012:queue"
        )
    assert error(excinfo)[:2] == ("InvalidParameterValueException", 400)
    with pytest.raises(ClientError) as excinfo:
        client.create_event_source_mapping(EventSourceArn=arn, StartingPosition="LATEST")
    assert error(excinfo)[:2] == ("InvalidParameterValueException", 400)
    unknown = "00000000-0000-0000-0000-000000000000"
    for call in (
        lambda: client.get_event_source_mapping(UUID=unknown),
        lambda: client.update_event_source_mapping(UUID=unknown, BatchSize=5),
        lambda: client.delete_event_source_mapping(UUID=unknown),
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error(excinfo)[:2] == ("ResourceNotFoundException", 404)


def test_a_second_mapping_of_the_same_function_and_stream_conflicts(daemon, pipeline):
    function, arn = pipeline
    first = daemon.mapping(function, arn)
    with pytest.raises(ClientError) as excinfo:
        daemon.mapping(function, arn)
    code, status, message = error(excinfo)
    assert (code, status) == ("ResourceConflictException", 409)
    assert first["UUID"] in message
    other = daemon.function()
    assert daemon.mapping(other, arn)["State"] == "Creating"  # another function may map the same stream


def test_list_filters_and_pages(daemon):
    _, arn_a = daemon.table()
    _, arn_b = daemon.table()
    functions = [daemon.function() for _ in range(3)]
    uuids = {daemon.mapping(f, arn_a)["UUID"] for f in functions}
    uuids_b = {daemon.mapping(functions[0], arn_b)["UUID"]}
    client = daemon.client("lambda")
    assert {m["UUID"] for m in client.list_event_source_mappings(EventSourceArn=arn_a)["EventSourceMappings"]} == uuids
    by_function = client.list_event_source_mappings(FunctionName=functions[0])["EventSourceMappings"]
    assert {m["EventSourceArn"] for m in by_function} == {arn_a, arn_b}
    both = client.list_event_source_mappings(FunctionName=functions[0], EventSourceArn=arn_b)["EventSourceMappings"]
    assert {m["UUID"] for m in both} == uuids_b
    first = client.list_event_source_mappings(EventSourceArn=arn_a, MaxItems=2)
    assert len(first["EventSourceMappings"]) == 2 and first["NextMarker"]
    rest = client.list_event_source_mappings(EventSourceArn=arn_a, MaxItems=2, Marker=first["NextMarker"])
    assert "NextMarker" not in rest
    assert {m["UUID"] for m in first["EventSourceMappings"] + rest["EventSourceMappings"]} == uuids
    paged = [
        m["UUID"]
        for page in client.get_paginator("list_event_source_mappings").paginate(
            EventSourceArn=arn_a, PaginationConfig={"PageSize": 1}
        )
        for m in page["EventSourceMappings"]
    ]
    assert set(paged) == uuids and len(paged) == 3


def test_update_changes_settings_and_states(daemon, pipeline):
    function, arn = pipeline
    client = daemon.client("lambda")
    created = daemon.mapping(function, arn, BatchSize=50)
    updated = client.update_event_source_mapping(
        UUID=created["UUID"], BatchSize=7, MaximumRetryAttempts=3, FunctionResponseTypes=["ReportBatchItemFailures"]
    )
    assert updated["State"] == "Updating"
    assert (updated["BatchSize"], updated["MaximumRetryAttempts"]) == (7, 3)
    assert updated["StartingPosition"] == "LATEST"
    assert updated["LastModified"] >= created["LastModified"]
    disabled = client.update_event_source_mapping(UUID=created["UUID"], Enabled=False)
    assert disabled["State"] == "Disabling"
    assert disabled["BatchSize"] == 7  # untouched settings stay
    wait_until(lambda: client.get_event_source_mapping(UUID=created["UUID"])["State"] == "Disabled")
    assert client.update_event_source_mapping(UUID=created["UUID"], Enabled=True)["State"] == "Enabling"
    wait_until(lambda: client.get_event_source_mapping(UUID=created["UUID"])["State"] == "Enabled")
    criteria = {"Filters": [{"Pattern": '{"eventName": ["REMOVE"]}'}]}
    assert (
        client.update_event_source_mapping(UUID=created["UUID"], FilterCriteria=criteria)["FilterCriteria"] == criteria
    )
    cleared = client.update_event_source_mapping(UUID=created["UUID"], FilterCriteria={"Filters": []})
    assert "FilterCriteria" not in cleared
    with pytest.raises(ClientError) as excinfo:
        raw_lambda(daemon).update_event_source_mapping(UUID=created["UUID"], BatchSize=0)
    assert error(excinfo)[:2] == ("ValidationException", 400)  # below botocore's model minimum
    assert client.get_event_source_mapping(UUID=created["UUID"])["BatchSize"] == 7


def test_delete(daemon, pipeline):
    function, arn = pipeline
    client = daemon.client("lambda")
    created = daemon.mapping(function, arn)
    deleted = client.delete_event_source_mapping(UUID=created["UUID"])
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert deleted["State"] == "Deleting"
    with pytest.raises(ClientError) as excinfo:
        client.get_event_source_mapping(UUID=created["UUID"])
    assert error(excinfo)[0] == "ResourceNotFoundException"
    assert client.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"] == []
    assert daemon.mapping(function, arn)["State"] == "Creating"  # the pair can be mapped again


def test_metrics_route(daemon, pipeline):
    function, arn = pipeline
    created = daemon.mapping(function, arn)
    metrics = daemon.metrics(created["UUID"])
    assert metrics["UUID"] == created["UUID"]
    assert metrics["IteratorAgeMilliseconds"] == 0
    assert metrics["State"] == "Enabled"
    assert metrics["Invocations"] == 0


def test_moto_never_holds_a_mapping(daemon, pipeline):
    from moto.awslambda.models import lambda_backends
    from moto.dynamodb.models import dynamodb_backends

    function, arn = pipeline
    daemon.mapping(function, arn)
    table = dynamodb_backends["123456789012"]["us-east-1"].tables[arn.split("/")[1]]
    assert table.lambda_event_source_mappings == {}
    assert list(lambda_backends["123456789012"]["us-east-1"].list_event_source_mappings(None, None)) == []


@pytest.mark.parametrize("form", ["name", "arn", "partial-arn"])
def test_function_name_forms(daemon, pipeline, form):
    function, arn = pipeline
    given = {
        "name": function,
        "arn": f"arn:aws:lambda:us-east-1:123456789012:function:{function}",
        "partial-arn": f"123456789012:function:{function}",
    }[form]
    created = daemon.mapping(given, arn)
    assert created["FunctionArn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{function}"
    listed = daemon.client("lambda").list_event_source_mappings(FunctionName=given)["EventSourceMappings"]
    assert [m["UUID"] for m in listed] == [created["UUID"]]
