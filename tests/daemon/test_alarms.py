"""Metrics the daemon publishes and alarms it evaluates (emulator/metrics/, emulator/alarms/),
with DDBSTREAM_CLOCK_SCALE=0.02: a 60 s period lasts 1.2 s, a 300 s one 6 s."""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Iterator

import pytest
from esm_support import InThreadDaemon, wait_until

SCALE = "0.02"


@pytest.fixture(scope="module")
def daemon() -> Iterator[InThreadDaemon]:
    previous = os.environ.get("DDBSTREAM_CLOCK_SCALE")
    os.environ["DDBSTREAM_CLOCK_SCALE"] = SCALE
    try:
        daemon = InThreadDaemon()
    finally:
        if previous is None:
            del os.environ["DDBSTREAM_CLOCK_SCALE"]
        else:
            os.environ["DDBSTREAM_CLOCK_SCALE"] = previous
    yield daemon
    daemon.stop()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def statistic(daemon, namespace: str, name: str, dimensions: dict[str, str], stat: str) -> float | None:
    """The statistic over the last 10 minutes (one period), None without data."""
    now = dt.datetime.now(dt.UTC)
    points = daemon.client("cloudwatch").get_metric_statistics(
        Namespace=namespace,
        MetricName=name,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=now - dt.timedelta(minutes=10),
        EndTime=now + dt.timedelta(minutes=1),
        Period=660,
        Statistics=[stat],
    )["Datapoints"]
    return points[0][stat] if points else None


def inbox(daemon) -> tuple[str, str]:
    """A topic with a subscribed queue: (topic ARN, queue URL)."""
    topic = daemon.client("sns").create_topic(Name=unique("alarms"))["TopicArn"]
    url, arn = daemon.queue()
    daemon.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return topic, url


def alarm(daemon, name: str) -> dict:
    return daemon.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"][0]


def test_invocations_errors_duration_and_throttles_are_published(daemon):
    fails = daemon.function("def handler(event, context):\n    if event.get('fail'):\n        raise ValueError('no')\n")
    lam = daemon.client("lambda")
    lam.invoke(FunctionName=fails, Payload=b"{}")
    lam.invoke(FunctionName=fails, Payload=b'{"fail": true}')
    on = {"FunctionName": fails}
    assert statistic(daemon, "AWS/Lambda", "Invocations", on, "Sum") == 2.0
    assert statistic(daemon, "AWS/Lambda", "Errors", on, "Sum") == 1.0
    assert statistic(daemon, "AWS/Lambda", "Duration", on, "SampleCount") == 2.0
    assert statistic(daemon, "AWS/Lambda", "ConcurrentExecutions", on, "Maximum") == 1.0

    lam.put_function_concurrency(FunctionName=fails, ReservedConcurrentExecutions=0)
    with pytest.raises(lam.exceptions.TooManyRequestsException):
        lam.invoke(FunctionName=fails, Payload=b"{}")
    assert statistic(daemon, "AWS/Lambda", "Throttles", on, "Sum") >= 1.0  # boto3 may retry a 429: each counts
    assert statistic(daemon, "AWS/Lambda", "Invocations", on, "Sum") == 2.0  # a throttle is no invocation


def test_queues_are_sampled(daemon):
    url, _ = daemon.queue()
    for body in ("a", "b"):
        daemon.client("sqs").send_message(QueueUrl=url, MessageBody=body)
    on = {"QueueName": url.rsplit("/", 1)[-1]}
    wait_until(
        lambda: statistic(daemon, "AWS/SQS", "ApproximateNumberOfMessagesVisible", on, "Maximum") == 2.0,
        10,
        0.2,
        "the queue's depth",
    )
    assert statistic(daemon, "AWS/SQS", "NumberOfMessagesSent", on, "Sum") == 2.0


def test_a_slow_consumer_drives_iterator_age_to_alarm(daemon):
    """Batches of one record, a second each: the last of five records waits about four seconds."""
    slow = daemon.function("import time\ndef handler(event, context):\n    time.sleep(1)\n", Timeout=10)
    table, stream_arn = daemon.table()
    mapping = daemon.mapping(slow, stream_arn, BatchSize=1)
    topic, url = inbox(daemon)
    name = unique("iterator-age")
    daemon.client("cloudwatch").put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/Lambda",
        MetricName="IteratorAge",
        Dimensions=[{"Name": "FunctionName", "Value": slow}],
        Statistic="Maximum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=2500,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
        AlarmActions=[topic],
    )
    for n in range(5):
        daemon.put(table, f"k{n}")
    [message] = daemon.messages(url, 1, timeout=30)
    notification = json.loads(message["Message"])
    assert notification["AlarmName"] == name and notification["NewStateValue"] == "ALARM"
    assert notification["Trigger"]["Statistic"] == "MAXIMUM"
    by_mapping = {"EventSourceMappingUUID": mapping["UUID"]}
    assert statistic(daemon, "AWS/Lambda", "IteratorAge", by_mapping, "Maximum") > 2500


def test_a_percentile_alarm_on_put_metric_data_with_m_of_n(daemon):
    cloudwatch = daemon.client("cloudwatch")
    name, metric = unique("p90"), unique("latency")
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace="App",
        MetricName=metric,
        ExtendedStatistic="p90",
        Period=60,
        EvaluationPeriods=3,
        DatapointsToAlarm=1,
        Threshold=100,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        Unit="Milliseconds",
    )
    assert alarm(daemon, name)["StateValue"] == "INSUFFICIENT_DATA"
    cloudwatch.put_metric_data(
        Namespace="App", MetricData=[{"MetricName": metric, "Values": [10, 20, 150], "Unit": "Milliseconds"}]
    )
    wait_until(lambda: alarm(daemon, name)["StateValue"] == "ALARM", 10, 0.1, "the p90 alarm")
    found = alarm(daemon, name)
    assert found["StateReason"].startswith("Threshold Crossed: 1 datapoint [150.0 (")
    data = json.loads(found["StateReasonData"])
    assert (data["extendedStatistic"], data["unit"], data["recentDatapoints"]) == ("p90", "Milliseconds", [150.0])


def test_set_alarm_state_runs_the_actions_and_put_metric_alarm_keeps_the_state(daemon):
    cloudwatch = daemon.client("cloudwatch")
    topic, url = inbox(daemon)
    name = unique("manual")
    settings = {
        "AlarmName": name,
        "Namespace": "App",
        "MetricName": unique("never"),
        "Statistic": "Sum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "ignore",  # no data: the evaluator keeps whatever state it is in
        "AlarmActions": [topic],
    }
    cloudwatch.put_metric_alarm(**settings)
    created = alarm(daemon, name)
    assert (created["StateValue"], created["StateReason"]) == ("INSUFFICIENT_DATA", "Unchecked: Initial alarm creation")
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="testing alarm")
    [message] = daemon.messages(url, 1)
    assert message["Subject"] == f'ALARM: "{name}" in US East (N. Virginia)'
    notification = json.loads(message["Message"])
    assert (notification["OldStateValue"], notification["NewStateReason"]) == ("INSUFFICIENT_DATA", "testing alarm")

    cloudwatch.put_metric_alarm(**settings, AlarmDescription="changed")
    kept = alarm(daemon, name)
    assert (kept["StateValue"], kept["StateReason"], kept["AlarmDescription"]) == ("ALARM", "testing alarm", "changed")
    [item] = cloudwatch.describe_alarm_history(AlarmName=name, HistoryItemType="StateUpdate")["AlarmHistoryItems"]
    assert item["HistorySummary"] == "Alarm updated from INSUFFICIENT_DATA to ALARM"
    assert json.loads(item["HistoryData"])["newState"] == {"stateValue": "ALARM", "stateReason": "testing alarm"}


def test_an_alarm_keeps_its_state_and_notifies_once_across_a_restart(tmp_path, monkeypatch):
    from ddbstream.clients import local_client
    from ddbstream.daemon import start_daemon, stop_daemon

    monkeypatch.setenv("DDBSTREAM_CLOCK_SCALE", SCALE)
    started = start_daemon(tmp_path, "us-east-1")
    try:
        client = lambda service: local_client(service, started.endpoint, "us-east-1", started.secret)  # noqa: E731
        url = client("sqs").create_queue(QueueName="inbox")["QueueUrl"]
        arn = client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        topic = client("sns").create_topic(Name="alarms")["TopicArn"]
        client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        client("cloudwatch").put_metric_alarm(
            AlarmName="kept",
            Namespace="App",
            MetricName="m",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="ignore",
            AlarmActions=[topic],
        )
        client("cloudwatch").put_metric_data(Namespace="App", MetricData=[{"MetricName": "m", "Value": 5}])
        wait_until(
            lambda: client("cloudwatch").describe_alarms()["MetricAlarms"][0]["StateValue"] == "ALARM",
            10,
            0.1,
            "the alarm in ALARM",
        )
        before = client("cloudwatch").describe_alarms()["MetricAlarms"][0]
        [sent] = wait_until(lambda: client("sqs").receive_message(QueueUrl=url).get("Messages"), 10, 0.1, "the message")
    finally:
        stop_daemon(started, tmp_path)
    again = start_daemon(tmp_path, "us-east-1")
    try:
        client = lambda service: local_client(service, again.endpoint, "us-east-1", again.secret)  # noqa: E731
        after = client("cloudwatch").describe_alarms()["MetricAlarms"][0]
        assert (after["StateValue"], after["StateReason"]) == ("ALARM", before["StateReason"])
        url = client("sqs").get_queue_url(QueueName="inbox")["QueueUrl"]
        messages = client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        assert [json.loads(m["Body"])["MessageId"] for m in messages] == [json.loads(sent["Body"])["MessageId"]]
    finally:
        stop_daemon(again, tmp_path)


def test_table_capacity_and_stream_reads_are_published(daemon):
    table, stream_arn = daemon.table()
    daemon.put(table, "a", payload="x" * 1500)  # 2 KB: two write units
    ddb = daemon.client("dynamodb")
    ddb.get_item(TableName=table, Key={"k": {"S": "a"}})  # under 4 KB, eventually consistent: half a unit
    ddb.delete_item(TableName=table, Key={"k": {"S": "a"}})  # the deleted item's size: two units
    on = {"TableName": table}
    assert statistic(daemon, "AWS/DynamoDB", "ConsumedWriteCapacityUnits", on, "Sum") == 4.0
    assert statistic(daemon, "AWS/DynamoDB", "ConsumedReadCapacityUnits", on, "Sum") == 0.5

    streams = daemon.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    assert len(streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]) == 2
    label = stream_arn.rsplit("/", 1)[-1]
    by_stream = {"Operation": "GetRecords", "StreamLabel": label, "TableName": table}
    assert statistic(daemon, "AWS/DynamoDB", "ReturnedRecordsCount", by_stream, "Sum") == 2.0


def user_errors(daemon) -> float:
    """AWS/DynamoDB UserErrors (account and region: no dimension) over the last 10 minutes."""
    return statistic(daemon, "AWS/DynamoDB", "UserErrors", {}, "Sum") or 0.0


def test_requests_dynamodb_and_its_streams_refuse_count_as_user_errors(daemon, monkeypatch):
    from botocore.exceptions import ClientError

    from ddbstream.emulator.streams import api as streams_api

    table, stream_arn = daemon.table()
    before = user_errors(daemon)
    with pytest.raises(ClientError, match="ValidationException"):  # an empty string key
        daemon.client("dynamodb").put_item(TableName=table, Item={"k": {"S": ""}})
    streams = daemon.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    monkeypatch.setattr(streams_api, "ITERATOR_LIFETIME_SECONDS", -1.0)
    with pytest.raises(ClientError, match="ExpiredIteratorException"):
        streams.get_records(ShardIterator=iterator["ShardIterator"])
    assert user_errors(daemon) == before + 2
    assert statistic(daemon, "AWS/DynamoDB", "UserErrors", {}, "SampleCount") >= 2


def test_a_failed_condition_counts_for_its_table_and_is_no_user_error(daemon):
    table, _ = daemon.table()
    daemon.put(table, "a")
    ddb = daemon.client("dynamodb")
    before = user_errors(daemon)
    key, absent = {"k": {"S": "a"}}, "attribute_not_exists(k)"
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        ddb.put_item(TableName=table, Item=key, ConditionExpression=absent)
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        ddb.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET n = :n",
            ConditionExpression=absent,
            ExpressionAttributeValues={":n": {"N": "1"}},
        )
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        ddb.delete_item(TableName=table, Key=key, ConditionExpression=absent)
    on = {"TableName": table}
    assert statistic(daemon, "AWS/DynamoDB", "ConditionalCheckFailedRequests", on, "Sum") == 3.0
    assert user_errors(daemon) == before
