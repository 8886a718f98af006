"""The event source mapping engine's semantics, with a fake Lambda runtime.

Each test creates its own table, function(s) and mapping(s) in one in-thread daemon, and
looks only at its own function's invocations.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from esm_support import FakeRuntime, FunctionFails, InThreadDaemon, wait_until

from ddbstream.emulator.esm import policy


@pytest.fixture(scope="module")
def daemon():
    daemon = InThreadDaemon()
    yield daemon
    daemon.stop()


@pytest.fixture
def runtime(daemon):
    fake = FakeRuntime()
    daemon.use_runtime(fake)
    yield fake
    engine = daemon.engine
    for mapping in engine.all():
        engine.remove(mapping.uuid)


def keys_of(event: dict) -> list[str]:
    return [r["dynamodb"]["Keys"]["k"]["S"] for r in event["Records"]]


def seq_of(event: dict, key: str) -> str:
    return next(r["dynamodb"]["SequenceNumber"] for r in event["Records"] if r["dynamodb"]["Keys"]["k"]["S"] == key)


def new_pipeline(daemon, view_type="NEW_AND_OLD_IMAGES"):
    table, arn = daemon.table(view_type)
    return table, arn, daemon.function()


def enable(daemon, mapping):
    daemon.client("lambda").update_event_source_mapping(UUID=mapping["UUID"], Enabled=True)


# ---------------------------------------------------------------- delivery


def test_event_payload_is_what_lambda_delivers(daemon, runtime):
    table, arn, function = new_pipeline(daemon)
    daemon.mapping(function, arn)
    daemon.put(table, "a", v=1)
    (event,) = runtime.wait_calls(1, function=function)
    assert set(event) == {"Records"}
    (record,) = event["Records"]
    assert set(record) == {
        "eventID",
        "eventName",
        "eventVersion",
        "eventSource",
        "awsRegion",
        "dynamodb",
        "eventSourceARN",
    }
    assert (record["eventName"], record["eventVersion"], record["eventSource"]) == ("INSERT", "1.1", "aws:dynamodb")
    assert record["eventSourceARN"] == arn and record["awsRegion"] == "us-east-1"
    ddb = record["dynamodb"]
    assert (
        isinstance(ddb["ApproximateCreationDateTime"], int)
        and abs(ddb["ApproximateCreationDateTime"] - time.time()) < 60
    )
    assert ddb["Keys"] == {"k": {"S": "a"}} and ddb["NewImage"] == {"k": {"S": "a"}, "v": {"N": "1"}}
    assert ddb["StreamViewType"] == "NEW_AND_OLD_IMAGES" and ddb["SizeBytes"] > 0
    assert ddb["SequenceNumber"].isdigit()


def test_starting_position_latest_and_trim_horizon(daemon, runtime):
    table, arn, function = new_pipeline(daemon)
    daemon.put(table, "before")
    latest = daemon.mapping(function, arn, StartingPosition="LATEST")
    other = daemon.function()
    daemon.mapping(other, arn, StartingPosition="TRIM_HORIZON")
    daemon.put(table, "after")
    wait_until(lambda: runtime.delivered(other) == ["before", "after"], message="TRIM_HORIZON delivery")
    wait_until(lambda: runtime.delivered(function) == ["after"], message="LATEST delivery")
    assert latest["StartingPosition"] == "LATEST"


def test_batch_size_splits_what_is_waiting(daemon, runtime):
    table, arn, function = new_pipeline(daemon)
    mapping = daemon.mapping(function, arn, StartingPosition="TRIM_HORIZON", BatchSize=10, Enabled=False)
    for n in range(25):
        daemon.put(table, f"k{n:02d}")
    enable(daemon, mapping)
    wait_until(lambda: len(runtime.delivered(function)) == 25)
    assert [len(b) for b in runtime.batches(function)] == [10, 10, 5]
    assert runtime.delivered(function) == [f"k{n:02d}" for n in range(25)]


def test_default_batch_size_is_100(daemon, runtime):
    table, arn, function = new_pipeline(daemon)
    mapping = daemon.mapping(function, arn, StartingPosition="TRIM_HORIZON", Enabled=False)
    for n in range(150):
        daemon.put(table, f"k{n:03d}")
    enable(daemon, mapping)
    wait_until(lambda: len(runtime.delivered(function)) == 150)
    assert [len(b) for b in runtime.batches(function)] == [100, 50]


def test_batching_window_gathers_records(daemon, runtime):
    table, arn, function = new_pipeline(daemon)
    daemon.mapping(function, arn, MaximumBatchingWindowInSeconds=2)
    started = time.monotonic()
    for n in range(3):
        daemon.put(table, f"k{n}")
    (event,) = runtime.wait_calls(1, function=function)
    assert keys_of(event) == ["k0", "k1", "k2"]
    assert time.monotonic() - started >= 1.5  # the window held the batch back


def test_filters_skip_records_and_the_checkpoint_moves_past_them(daemon, runtime):
    table, arn, function = new_pipeline(daemon)
    pattern = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"status": {"S": ["active"]}}}}
    mapping = daemon.mapping(function, arn, FilterCriteria={"Filters": [{"Pattern": json.dumps(pattern)}]})
    daemon.put(table, "a", status="inactive")
    daemon.put(table, "b", status="active")
    daemon.put(table, "a", status="active")  # a MODIFY: not an INSERT
    daemon.put(table, "c", status="active")
    daemon.put(table, "d", status="pending")
    stream = daemon.stream(arn)
    wait_until(
        lambda: daemon.metrics(mapping["UUID"])["Lanes"][0]["Checkpoint"] == stream.end_index,
        message="the checkpoint to pass the skipped records",
    )
    assert runtime.delivered(function) == ["b", "c"]
    metrics = daemon.metrics(mapping["UUID"])
    assert metrics["RecordsSkipped"] == 3 and metrics["PendingRecords"] == 0


def test_filters_are_ored_and_match_the_event_fields(daemon, runtime):
    table, arn, function = new_pipeline(daemon)
    filters = [
        {"Pattern": json.dumps({"dynamodb": {"Keys": {"k": {"S": [{"prefix": "user#"}]}}}})},
        {
            "Pattern": json.dumps(
                {"eventName": ["REMOVE"], "dynamodb": {"ApproximateCreationDateTime": [{"numeric": [">", 0]}]}}
            )
        },
    ]
    other = daemon.function()
    daemon.mapping(function, arn, FilterCriteria={"Filters": filters})
    daemon.mapping(other, arn)  # unfiltered: tells when every record went by
    daemon.put(table, "user#1")
    daemon.put(table, "order#1")
    daemon.client("dynamodb").delete_item(TableName=table, Key={"k": {"S": "order#1"}})
    daemon.put(table, "user#2")
    wait_until(lambda: len(runtime.delivered(other)) == 4)
    wait_until(lambda: runtime.delivered(function) == ["user#1", "order#1", "user#2"])
    names = [r["eventName"] for e in runtime.events(function) for r in e["Records"]]
    assert names == ["INSERT", "REMOVE", "INSERT"]


def test_two_mappings_on_one_stream_each_see_every_record(daemon, runtime):
    table, arn, first = new_pipeline(daemon)
    second = daemon.function()
    daemon.mapping(first, arn)
    daemon.mapping(second, arn)
    for n in range(20):
        daemon.put(table, f"k{n:02d}")
    expected = [f"k{n:02d}" for n in range(20)]
    wait_until(lambda: runtime.delivered(first) == expected and runtime.delivered(second) == expected)


def test_disable_then_enable_resumes_from_the_checkpoint(daemon, runtime):
    table, arn, function = new_pipeline(daemon)
    mapping = daemon.mapping(function, arn)
    lam = daemon.client("lambda")
    daemon.put(table, "one")
    runtime.wait_calls(1, function=function)
    lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
    wait_until(lambda: lam.get_event_source_mapping(UUID=mapping["UUID"])["State"] == "Disabled")
    for key in ("two", "three", "four"):
        daemon.put(table, key)
    enabled_at = time.time()
    enable(daemon, mapping)
    wait_until(lambda: runtime.delivered(function) == ["one", "two", "three", "four"])
    with runtime.cond:
        later = [c for c in runtime.calls if c["function"].endswith(function) and "one" not in keys_of(c["event"])]
    assert later and all(c["start"] >= enabled_at for c in later)  # nothing was delivered while disabled


# ---------------------------------------------------------------- failures


def test_retries_then_on_failure_to_sqs(daemon, runtime):
    table, arn, function = new_pipeline(daemon)
    url, queue_arn = daemon.queue()
    runtime.behaviour = lambda event: (_ for _ in ()).throw(FunctionFails("boom")) if "bad" in keys_of(event) else None
    mapping = daemon.mapping(
        function,
        arn,
        MaximumRetryAttempts=2,
        StartingPosition="TRIM_HORIZON",
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
        Enabled=False,
    )
    daemon.put(table, "bad")
    daemon.put(table, "bad2")
    enable(daemon, mapping)
    (message,) = daemon.messages(url, 1)
    batches = runtime.batches(function)
    assert batches[:3] == [["bad", "bad2"]] * 3  # first try + 2 retries
    records = daemon.stream(arn).read(0, 10)
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["requestContext"]["approximateInvokeCount"] == 3
    assert message["requestContext"]["functionArn"].endswith(f":function:{function}")
    assert message["requestContext"]["requestId"]
    assert message["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert message["version"] == "1.0"
    assert message["timestamp"].endswith("Z") and "." in message["timestamp"]
    info = message["DDBStreamBatchInfo"]
    assert info["shardId"] == daemon.stream(arn).shard_id and info["streamArn"] == arn
    assert info["startSequenceNumber"] == records[0].sequence_number
    assert info["endSequenceNumber"] == records[1].sequence_number
    assert info["batchSize"] == 2
    assert info["approximateArrivalOfFirstRecord"].endswith("Z")
    assert set(message) == {"requestContext", "responseContext", "version", "timestamp", "DDBStreamBatchInfo"}
    # The shard moves on: the next record is processed.
    daemon.put(table, "good")
    wait_until(lambda: runtime.batches(function)[-1] == ["good"])
    assert daemon.client("lambda").get_event_source_mapping(UUID=mapping["UUID"])["LastProcessingResult"] == "OK"


def test_on_failure_to_sns(daemon, runtime):
    table, arn, function = new_pipeline(daemon)
    url, queue_arn = daemon.queue()
    sns = daemon.client("sns")
    topic = sns.create_topic(Name=f"topic-{function}")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)

    def fail(event):
        raise FunctionFails("always")

    runtime.behaviour = fail
    daemon.mapping(function, arn, MaximumRetryAttempts=0, DestinationConfig={"OnFailure": {"Destination": topic}})
    daemon.put(table, "x")
    (envelope,) = daemon.messages(url, 1)
    message = json.loads(envelope["Message"])
    assert envelope["TopicArn"] == topic
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["requestContext"]["approximateInvokeCount"] == 1
    assert message["DDBStreamBatchInfo"]["batchSize"] == 1


def test_last_processing_result_reports_a_problem(daemon, runtime):
    table, arn, function = new_pipeline(daemon)

    def fail(event):
        raise FunctionFails("always")

    runtime.behaviour = fail
    mapping = daemon.mapping(function, arn)  # MaximumRetryAttempts -1: retries until the record expires
    daemon.put(table, "x")
    runtime.wait_calls(3, function=function)
    lam = daemon.client("lambda")
    assert lam.get_event_source_mapping(UUID=mapping["UUID"])["LastProcessingResult"] == "PROBLEM: Function call failed"
    assert daemon.metrics(mapping["UUID"])["Lanes"][0]["Retrying"] is True
    # Backoff: 50 ms doubling; the retries are spaced, not a busy loop.
    with runtime.cond:
        starts = [c["start"] for c in runtime.calls if c["function"].endswith(function)][:3]
    assert starts[2] - starts[1] >= 0.09 and starts[1] - starts[0] >= 0.04


def test_a_failing_mapping_does_not_block_others(daemon, runtime):
    table_a, arn_a, failing = new_pipeline(daemon)
    table_b, arn_b, healthy = new_pipeline(daemon)
    runtime.behaviour = lambda event: (
        (_ for _ in ()).throw(FunctionFails("no")) if event["Records"][0]["eventSourceARN"] == arn_a else None
    )
    daemon.mapping(failing, arn_a)
    daemon.mapping(healthy, arn_b)
    daemon.put(table_a, "stuck")
    runtime.wait_calls(2, function=failing)
    for n in range(5):
        daemon.put(table_b, f"k{n}")
    wait_until(lambda: runtime.delivered(healthy) == [f"k{n}" for n in range(5)], timeout=5)


def test_maximum_record_age_discards_old_records(daemon, runtime):
    table, arn, function = new_pipeline(daemon)
    url, queue_arn = daemon.queue()
    stream = daemon.stream(arn)
    stream.clock = lambda: time.time() - 120  # records look two minutes old
    try:
        daemon.mapping(
            function, arn, MaximumRecordAgeInSeconds=60, DestinationConfig={"OnFailure": {"Destination": queue_arn}}
        )
        daemon.put(table, "old")
        (message,) = daemon.messages(url, 1)
    finally:
        stream.clock = time.time
    assert message["requestContext"]["condition"] == "RecordAgeExceeded"
    assert message["requestContext"]["approximateInvokeCount"] == 1  # as AWS records it (tests/conformance)
    assert "responseContext" not in message
    assert message["DDBStreamBatchInfo"]["batchSize"] == 1
    assert runtime.events(function) == []  # never delivered


def test_infinite_retries_stop_when_the_record_gets_too_old(daemon, runtime):
    table, arn, function = new_pipeline(daemon)
    url, queue_arn = daemon.queue()
    stream = daemon.stream(arn)
    stream.clock = lambda: time.time() - 59.7  # the record reaches 60 s of age in 0.3 s

    def fail(event):
        raise FunctionFails("until it expires")

    runtime.behaviour = fail
    try:
        daemon.mapping(
            function,
            arn,
            MaximumRecordAgeInSeconds=60,
            MaximumRetryAttempts=-1,
            DestinationConfig={"OnFailure": {"Destination": queue_arn}},
        )
        daemon.put(table, "doomed")
        (message,) = daemon.messages(url, 1)
    finally:
        stream.clock = time.time
    assert message["requestContext"]["condition"] == "RecordAgeExceeded"
    assert message["requestContext"]["approximateInvokeCount"] >= 2
    assert "responseContext" not in message  # as AWS records it (tests/conformance)


# ---------------------------------------------------------------- ReportBatchItemFailures


def partial_pipeline(daemon, runtime, **settings):
    """Five waiting records k0..k4 and a disabled mapping with ReportBatchItemFailures."""
    table, arn, function = new_pipeline(daemon)
    mapping = daemon.mapping(
        function,
        arn,
        StartingPosition="TRIM_HORIZON",
        Enabled=False,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        **settings,
    )
    for n in range(5):
        daemon.put(table, f"k{n}")
    return table, function, mapping


def respond_once(first_response):
    """The first invocation answers ``first_response(event)``, later ones succeed."""
    calls = []

    def behaviour(event):
        calls.append(event)
        return first_response(event) if len(calls) == 1 else {"batchItemFailures": []}

    return behaviour


def test_partial_failure_checkpoints_at_the_lowest_failed_record(daemon, runtime):
    runtime.behaviour = respond_once(
        lambda e: {"batchItemFailures": [{"itemIdentifier": seq_of(e, "k3")}, {"itemIdentifier": seq_of(e, "k1")}]}
    )
    _, function, mapping = partial_pipeline(daemon, runtime)
    enable(daemon, mapping)
    wait_until(lambda: len(runtime.batches(function)) == 2)
    assert runtime.batches(function) == [["k0", "k1", "k2", "k3", "k4"], ["k1", "k2", "k3", "k4"]]


@pytest.mark.parametrize(
    "response",
    [None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}, {"somethingElse": 1}],
    ids=["null", "empty", "empty-list", "null-list", "no-key"],
)
def test_responses_meaning_full_success(daemon, runtime, response):
    runtime.behaviour = respond_once(lambda e: response)
    table, function, mapping = partial_pipeline(daemon, runtime)
    enable(daemon, mapping)
    runtime.wait_calls(1, function=function)
    daemon.put(table, "next")
    wait_until(lambda: runtime.delivered(function)[-1:] == ["next"])
    assert runtime.batches(function) == [["k0", "k1", "k2", "k3", "k4"], ["next"]]


@pytest.mark.parametrize(
    "failure",
    [
        {"itemIdentifier": ""},
        {"itemIdentifier": None},
        {"itemIdentifier": "12345678901234567890123"},
        {"itemIdentifer": "misspelled"},
        "not-an-object",
    ],
    ids=["empty", "null", "unknown", "misspelled-key", "not-an-object"],
)
def test_responses_meaning_the_whole_batch_failed(daemon, runtime, failure):
    runtime.behaviour = respond_once(lambda e: {"batchItemFailures": [failure]})
    _, function, mapping = partial_pipeline(daemon, runtime)
    enable(daemon, mapping)
    wait_until(lambda: len(runtime.batches(function)) == 2)
    assert runtime.batches(function) == [["k0", "k1", "k2", "k3", "k4"]] * 2


def test_item_failures_are_ignored_without_the_response_type(daemon, runtime):
    runtime.behaviour = respond_once(lambda e: {"batchItemFailures": [{"itemIdentifier": seq_of(e, "a")}]})
    table, arn, function = new_pipeline(daemon)
    daemon.mapping(function, arn)
    daemon.put(table, "a")
    runtime.wait_calls(1, function=function)
    daemon.put(table, "b")
    wait_until(lambda: runtime.delivered(function) == ["a", "b"])


def test_partial_failures_exhaust_retries_for_the_remainder(daemon, runtime):
    url, queue_arn = daemon.queue()
    runtime.behaviour = lambda e: (
        {"batchItemFailures": [{"itemIdentifier": seq_of(e, "k2")}]} if "k2" in keys_of(e) else None
    )
    _, function, mapping = partial_pipeline(
        daemon, runtime, MaximumRetryAttempts=1, DestinationConfig={"OnFailure": {"Destination": queue_arn}}
    )
    enable(daemon, mapping)
    (message,) = daemon.messages(url, 1)
    assert runtime.batches(function)[:2] == [["k0", "k1", "k2", "k3", "k4"], ["k2", "k3", "k4"]]
    assert message["DDBStreamBatchInfo"]["batchSize"] == 3


# ---------------------------------------------------------------- bisect


def test_bisect_isolates_a_poison_record(daemon, runtime):
    url, queue_arn = daemon.queue()

    def behaviour(event):
        if "k2" in keys_of(event):
            raise FunctionFails("poison")

    runtime.behaviour = behaviour
    table, arn, function = new_pipeline(daemon)
    mapping = daemon.mapping(
        function,
        arn,
        StartingPosition="TRIM_HORIZON",
        Enabled=False,
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=2,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    for n in range(4):
        daemon.put(table, f"k{n}")
    enable(daemon, mapping)
    (message,) = daemon.messages(url, 1)
    wait_until(lambda: runtime.delivered(function)[-1:] == ["k3"])
    # Splits do not count as retries: [k2] alone is tried 1 + 2 times.
    assert runtime.batches(function) == [
        ["k0", "k1", "k2", "k3"],
        ["k0", "k1"],
        ["k2", "k3"],
        ["k2"],
        ["k2"],
        ["k2"],
        ["k3"],
    ]
    info = message["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1 and info["startSequenceNumber"] == info["endSequenceNumber"]
    assert info["startSequenceNumber"] == daemon.stream(arn).read(0, 10)[2].sequence_number
    assert message["requestContext"]["approximateInvokeCount"] == 3


def test_bisect_with_item_failures_splits_at_the_returned_record(daemon, runtime):
    url, queue_arn = daemon.queue()
    runtime.behaviour = lambda e: (
        {"batchItemFailures": [{"itemIdentifier": seq_of(e, "k1")}]} if "k1" in keys_of(e) else None
    )
    _, function, mapping = partial_pipeline(
        daemon,
        runtime,
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    enable(daemon, mapping)
    (message,) = daemon.messages(url, 1)
    wait_until(lambda: runtime.delivered(function)[-1:] == ["k4"])
    assert runtime.batches(function) == [
        ["k0", "k1", "k2", "k3", "k4"],  # k1 fails: k0 is done, the rest is retried (a split)
        ["k1", "k2", "k3", "k4"],  # k1 first fails: the whole batch failed -> bisect
        ["k1", "k2"],
        ["k1"],
        ["k1"],  # [k1] alone: 1 try + 1 retry, then the destination
        ["k2"],
        ["k3", "k4"],
    ]
    assert message["DDBStreamBatchInfo"]["batchSize"] == 1


# ---------------------------------------------------------------- parallelization


def test_parallelization_keeps_order_per_key(daemon, runtime):
    table, arn, function = new_pipeline(daemon)

    def slow(event):
        time.sleep(0.01)

    runtime.behaviour = slow
    mapping = daemon.mapping(
        function, arn, ParallelizationFactor=4, BatchSize=3, StartingPosition="TRIM_HORIZON", Enabled=False
    )
    keys = [f"key{n}" for n in range(12)]
    for version in range(6):
        for key in keys:
            daemon.put(table, key, v=version)
    enable(daemon, mapping)
    wait_until(lambda: len(runtime.delivered(function)) == 72, timeout=30)
    with runtime.cond:
        calls = sorted((c for c in runtime.calls if c["function"].endswith(function)), key=lambda c: c["start"])
    seen: dict[str, list[int]] = {}
    for call in calls:
        for record in call["event"]["Records"]:
            seen.setdefault(record["dynamodb"]["Keys"]["k"]["S"], []).append(
                int(record["dynamodb"]["NewImage"]["v"]["N"])
            )
    assert seen == {key: list(range(6)) for key in keys}
    assert runtime.max_active > 1  # batches of one shard ran concurrently
    assert len(daemon.metrics(mapping["UUID"])["Lanes"]) == 4


# ---------------------------------------------------------------- tumbling windows


def test_tumbling_window_carries_state_and_ends_with_a_final_invoke(daemon, runtime):
    table, arn, function = new_pipeline(daemon)

    def count(event):
        state = dict(event["state"])
        state["n"] = state.get("n", 0) + len(event["Records"])
        return {"state": state, "batchItemFailures": []}

    runtime.behaviour = count
    daemon.mapping(
        function, arn, TumblingWindowInSeconds=1, BatchSize=2, FunctionResponseTypes=["ReportBatchItemFailures"]
    )
    wait_until(lambda: time.time() % 1 < 0.3, interval=0.005, message="the start of a second")
    for n in range(3):
        daemon.put(table, f"k{n}")
    final = wait_until(lambda: [e for e in runtime.events(function) if e["isFinalInvokeForWindow"]], timeout=10)[0]
    events = runtime.events(function)
    regular = [e for e in events if not e["isFinalInvokeForWindow"]]
    assert sum(len(e["Records"]) for e in regular) == 3 and len(regular) >= 2
    assert regular[0]["state"] == {}
    done = 0
    for event in regular:  # each invocation gets the state the previous one returned
        assert event["state"] == ({"n": done} if done else {})
        done += len(event["Records"])
    assert final["state"] == {"n": 3} and final["Records"] == []
    assert final["isWindowTerminatedEarly"] is False
    for event in events:
        assert event["shardId"] == daemon.stream(arn).shard_id and event["eventSourceARN"] == arn
        assert event["window"] == final["window"]
    start = time.strptime(final["window"]["start"], "%Y-%m-%dT%H:%M:%SZ")
    end = time.strptime(final["window"]["end"], "%Y-%m-%dT%H:%M:%SZ")
    assert time.mktime(end) - time.mktime(start) == 1


def test_oversized_window_state_terminates_the_window_early(daemon, runtime, monkeypatch):
    monkeypatch.setattr(policy, "MAX_WINDOW_STATE_BYTES", 50)
    table, arn, function = new_pipeline(daemon)
    runtime.behaviour = lambda event: {"state": {"blob": "x" * 100}} if event["Records"] else None
    daemon.mapping(function, arn, TumblingWindowInSeconds=900)
    daemon.put(table, "a")
    final = wait_until(lambda: [e for e in runtime.events(function) if e["isFinalInvokeForWindow"]])[0]
    assert final["isWindowTerminatedEarly"] is True
    assert final["state"] == {"blob": "x" * 100}


# ---------------------------------------------------------------- metrics and shutdown


def test_iterator_age_is_kept_per_mapping(daemon, runtime):
    table, arn, function = new_pipeline(daemon)
    mapping = daemon.mapping(function, arn)
    stream = daemon.stream(arn)
    stream.clock = lambda: time.time() - 5
    try:
        daemon.put(table, "late")
        runtime.wait_calls(1, function=function)
    finally:
        stream.clock = time.time
    wait_until(lambda: daemon.metrics(mapping["UUID"])["Invocations"] == 1)
    age = daemon.metrics(mapping["UUID"])["IteratorAgeMilliseconds"]
    assert 5000 <= age < 15000


def test_shutdown_lets_the_batch_in_flight_finish(daemon, runtime):
    table, arn, function = new_pipeline(daemon)
    release = threading.Event()
    finished = []

    def hold(event):
        release.wait(10)
        finished.append(keys_of(event))

    runtime.behaviour = hold
    engine = daemon.engine
    mapping = daemon.mapping(function, arn)
    daemon.put(table, "in-flight")
    wait_until(lambda: runtime.active == 1, message="the invocation to start")
    stopper = threading.Thread(target=engine.get(mapping["UUID"]).stop, args=(10,))
    stopper.start()
    assert stopper.is_alive()  # waiting for the in-flight batch
    release.set()
    stopper.join(10)
    assert not stopper.is_alive()
    assert finished == [["in-flight"]]
    assert engine.get(mapping["UUID"]).lanes[0].cursor == daemon.stream(arn).end_index
