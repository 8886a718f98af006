"""Stream records inside Lambda events, and the on-failure records, against AWS's recordings.

Recordings: tests/conformance/recordings/lambda_events.json and on_failure.json (LocalStack's
AWS-validated ``test_lambda_integration_dynamodbstreams`` snapshot; each case names its key).
Each test repeats the recorded test's table, items, mapping settings and function answers; the
function is a real Python worker that logs the event it got.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
from compare import Comparison, case, matches, response
from recorded_pipelines import FAIL_FLAGGED, events, function, received, table, wait_events

EVENTS, ON_FAILURE = "lambda_events", "on_failure"
RECORDED_SETTINGS = {"StartingPosition": "TRIM_HORIZON", "MaximumBatchingWindowInSeconds": 1, "MaximumRetryAttempts": 1}
KEY = "my_partition_key"
HELLO = {KEY: {"S": "hello world"}, "binary_key": {"B": b"foobar"}}

# name -> (first item, second item, pattern): the recorded test's parameters
FILTERED = {
    "insert_same_entry_twice": (
        {"id": {"S": "id_value"}, "id2": {"S": "id2_value"}},
        {"id": {"S": "id_value"}, "id2": {"S": "id2_value"}},
        {"eventName": ["INSERT"]},
    ),
    "content_or_filter": (
        {"id": {"S": "id_value"}},
        {"id": {"S": "id_value"}, "id2": {"S": "id2_new_value"}},
        {"eventName": ["INSERT", "MODIFY"]},
    ),
    "content_multiple_filters": (
        {"id": {"S": "id_value"}},
        {"id": {"S": "id_value"}, "id2": {"S": "id2_new_value"}},
        {"eventName": ["INSERT"], "eventSource": ["aws:dynamodb"]},
    ),
    "content_filter_type": (
        {"id": {"S": "id_value_1"}, "presentKey": {"S": "presentValue"}},
        {"id": {"S": "id_value_2"}},
        {"dynamodb": {"NewImage": {"presentKey": {"S": ["presentValue"]}}}},
    ),
    "exists_filter_type": (
        {"id": {"S": "id_value_1"}, "presentKey": {"S": "presentValue"}},
        {"id": {"S": "id_value_2"}},
        {"dynamodb": {"NewImage": {"presentKey": {"S": [{"exists": True}]}}}},
    ),
    "exists_false_filter": (
        {"id": {"S": "id_value_1"}},
        {"id": {"S": "id_value_2"}, "presentKey": {"S": "presentValue"}},
        {"dynamodb": {"NewImage": {"presentKey": [{"exists": False}]}}},
    ),
    "numeric_filter": (
        {"id": {"S": "id_value_1"}, "numericFilter": {"N": "42"}},
        {"id": {"S": "id_value_2"}, "numericFilter": {"N": "101"}},
        {"dynamodb": {"NewImage": {"numericFilter": {"N": [{"numeric": [">", 100]}, {"anything-but": "101"}]}}}},
    ),
    "prefix_filter": (
        {"id": {"S": "id_value_1"}, "prefix": {"S": "us-1-other-suffix"}},
        {"id": {"S": "id_value_1"}, "prefix": {"S": "other-suffix"}},
        {"dynamodb": {"NewImage": {"prefix": {"S": [{"prefix": "us-1"}]}}}},
    ),
    "date_time_conversion": (
        {"id": {"S": "id_value_1"}},
        {"id": {"S": "id_value_2"}},
        {"dynamodb": {"ApproximateCreationDateTime": [{"numeric": [">", 0]}]}},
    ),
}
# id -> the answer of the recorded test's function (a Python expression)
FAILING_ANSWERS = {
    "item_identifier_not_present_failure": '{"batchItemFailures": [{"itemIdentifier": 123}]}',
    "empty_string_item_identifier_failure": '{"batchItemFailures": [{"itemIdentifier": ""}]}',
    "null_item_identifier_failure": '{"batchItemFailures": [{"itemIdentifier": None}]}',
    "invalid_key_foo_failure": '{"batchItemFailures": [{"foo": 123}]}',
    "invalid_key_foo_null_value_failure": '{"batchItemFailures": [{"foo": None}]}',
    "unhandled_exception_in_function": "(lambda: 1 / 0)()",
}
SUCCEEDING_ANSWERS = {
    "empty_list_success": "[]",
    "null_success": "None",
    "empty_dict_success": "{}",
    "empty_batch_item_failure_success": '{"batchItemFailures": []}',
    "null_batch_item_failure_success": '{"batchItemFailures": None}',
}


def mapping(daemon, name: str, stream_arn: str, **settings) -> str:
    return daemon.client("lambda").create_event_source_mapping(
        FunctionName=name, EventSourceArn=stream_arn, **settings
    )["UUID"]


def test_new_image_with_binary_attribute(daemon):
    name, stream_arn = table(daemon, KEY, "NEW_IMAGE")
    handler = function(daemon)
    uuid_ = mapping(daemon, handler, stream_arn, BatchSize=1, **RECORDED_SETTINGS)
    daemon.client("dynamodb").put_item(TableName=name, Item=HELLO)
    matches(case(EVENTS, "basic_new_image_binary")["recorded"], wait_events(daemon, handler, 1, uuid_))


@pytest.mark.parametrize("name", sorted(FILTERED))
def test_filtered_events(daemon, name):
    first, second, pattern = FILTERED[name]
    table_name, stream_arn = table(daemon, "id", "NEW_AND_OLD_IMAGES")
    handler = function(daemon)
    criteria = {"Filters": [{"Pattern": json.dumps(pattern)}]}
    uuid_ = mapping(daemon, handler, stream_arn, BatchSize=1, FilterCriteria=criteria, **RECORDED_SETTINGS)
    ddb = daemon.client("dynamodb")
    ddb.put_item(TableName=table_name, Item=first)
    expected_first = case(EVENTS, f"filter_first_{name}")["recorded"]
    comparison = Comparison()  # one recorded test: sequence numbers and ids carry over
    comparison.check(expected_first, wait_events(daemon, handler, len(expected_first), uuid_))
    ddb.put_item(TableName=table_name, Item=second)
    expected_all = case(EVENTS, f"filter_all_{name}")["recorded"]
    comparison.check(expected_all, wait_events(daemon, handler, len(expected_all), uuid_))


def _failing_pipeline(daemon, answer: str) -> dict:
    name, stream_arn = table(daemon, KEY, "NEW_IMAGE")
    handler = function(daemon, answer)
    url, queue_arn = daemon.queue()
    uuid_ = mapping(
        daemon,
        handler,
        stream_arn,
        BatchSize=3,
        StartingPosition="TRIM_HORIZON",
        MaximumBatchingWindowInSeconds=1,
        MaximumRetryAttempts=3,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    daemon.client("dynamodb").put_item(TableName=name, Item=HELLO)
    return {"function": handler, "url": url, "uuid": uuid_}


def test_batch_item_failure_answers_retry_then_go_to_the_destination(daemon):
    pipelines = {case_id: _failing_pipeline(daemon, answer) for case_id, answer in FAILING_ANSWERS.items()}
    for case_id, pipeline in pipelines.items():
        comparison = Comparison()
        message = response(received(daemon, pipeline["url"]))
        comparison.check(case(ON_FAILURE, case_id)["recorded"], message)
        logged = wait_events(daemon, pipeline["function"], 4, pipeline["uuid"])
        comparison.check(case(EVENTS, f"retried_{case_id}")["recorded"], logged)


def test_batch_item_success_answers_checkpoint(daemon):
    pipelines = {}
    for case_id, answer in SUCCEEDING_ANSWERS.items():
        name, stream_arn = table(daemon, KEY, "NEW_IMAGE")
        handler = function(daemon, answer)
        settings = {"BatchSize": 1, "MaximumBatchingWindowInSeconds": 0, "MaximumRetryAttempts": 2}
        uuid_ = mapping(
            daemon,
            handler,
            stream_arn,
            StartingPosition="TRIM_HORIZON",
            FunctionResponseTypes=["ReportBatchItemFailures"],
            **settings,
        )
        daemon.client("dynamodb").put_item(TableName=name, Item=HELLO)
        pipelines[case_id] = (handler, uuid_)
    for case_id, (handler, uuid_) in pipelines.items():
        matches(case(EVENTS, f"success_{case_id}")["recorded"], wait_events(daemon, handler, 1, uuid_))


def test_function_error_record_on_sqs(daemon):
    name, stream_arn = table(daemon, KEY, "NEW_IMAGE")
    handler = function(daemon, "(lambda: 1 / 0)()")
    url, queue_arn = daemon.queue()
    destination = {"OnFailure": {"Destination": queue_arn}}
    mapping(daemon, handler, stream_arn, BatchSize=1, DestinationConfig=destination, **RECORDED_SETTINGS)
    daemon.client("dynamodb").put_item(TableName=name, Item={KEY: {"S": "hello world"}})
    matches(case(ON_FAILURE, "sqs_function_error")["recorded"], response(received(daemon, url)))


def test_function_error_record_on_sns(daemon):
    name, stream_arn = table(daemon, KEY, "NEW_IMAGE")
    handler = function(daemon, "(lambda: 1 / 0)()")
    url, queue_arn = daemon.queue()
    topic = daemon.client("sns").create_topic(Name=f"topic-{uuid.uuid4().hex[:8]}")["TopicArn"]
    daemon.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    destination = {"OnFailure": {"Destination": topic}}
    mapping(daemon, handler, stream_arn, BatchSize=1, DestinationConfig=destination, **RECORDED_SETTINGS)
    daemon.client("dynamodb").put_item(TableName=name, Item={KEY: {"S": "hello world"}})
    body = json.loads(received(daemon, url)["Messages"][0]["Body"])
    recorded = case(ON_FAILURE, "sns_function_error")["recorded"]
    # The one known difference (README, "Where the local target differs"): moto signs SNS messages with
    # SHA256 only, so its envelope says SignatureVersion "2" where a topic's default on AWS is "1".
    recorded["SignatureVersion"] = "2"
    matches(recorded, body)


def test_partially_failed_batch_retries_the_failed_record_then_sends_it(daemon):
    name, stream_arn = table(daemon, KEY, "NEW_IMAGE")
    handler = function(daemon, '{"batchItemFailures": ' + FAIL_FLAGGED + "}")
    url, queue_arn = daemon.queue()
    uuid_ = mapping(
        daemon,
        handler,
        stream_arn,
        BatchSize=3,
        StartingPosition="TRIM_HORIZON",
        MaximumBatchingWindowInSeconds=1,
        MaximumRetryAttempts=3,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    for i in range(6):
        item = {KEY: {"S": f"testId{i}"}, "should_fail": {"BOOL": i == 5}}
        daemon.client("dynamodb").put_item(TableName=name, Item=item)
    comparison = Comparison()
    comparison.check(case(ON_FAILURE, "partial_batch_failure")["recorded"], response(received(daemon, url)))
    wait_events(daemon, handler, 1, uuid_)
    records = [r for e in events(daemon, handler) for r in e["Records"]]
    records.sort(key=lambda r: r["dynamodb"]["Keys"][KEY]["S"])
    comparison.check(case(EVENTS, "partial_batch_failure_records")["recorded"], {"Records": records})


def test_record_too_old_before_it_reached_the_function(daemon):
    name, stream_arn = table(daemon, KEY, "NEW_IMAGE")
    handler = function(daemon, "(lambda: 1 / 0)()")
    url, queue_arn = daemon.queue()
    stream = daemon.stream(stream_arn)
    stream.clock = lambda: time.time() - 120  # the record arrives two minutes old
    try:
        daemon.client("dynamodb").put_item(TableName=name, Item={KEY: {"S": "hello world"}})
    finally:
        stream.clock = time.time
    mapping(
        daemon,
        handler,
        stream_arn,
        BatchSize=1,
        StartingPosition="TRIM_HORIZON",
        MaximumBatchingWindowInSeconds=1,
        MaximumRetryAttempts=0,
        MaximumRecordAgeInSeconds=60,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    answer = response(received(daemon, url))
    body = json.loads(answer["Messages"][0]["Body"])
    assert set(body.pop("DDBStreamBatchInfo")) >= {"shardId", "batchSize", "streamArn"}  # compared elsewhere
    answer["Messages"][0]["Body"] = body  # the recording is a Kinesis source's: its batch info set aside
    matches(case(ON_FAILURE, "record_age_exceeded_before_ingestion")["recorded"], answer)
    assert events(daemon, handler) == []
