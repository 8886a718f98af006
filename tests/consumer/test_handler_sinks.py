"""The consumer's sinks (S3 audit log, SNS, EventBridge) against moto, read back through AWS APIs."""

from __future__ import annotations

import json
import re
import time

import boto3
import pytest
from handler_support import handler, invoke, parse  # noqa: F401 (fixture)
from moto import mock_aws
from moto.server import ThreadedMotoServer

from ddbstream.events import make_event, make_stream_record, stream_arn

CREATED = 1755957922  # 2025-08-23T14:05:22Z
ACCOUNT = "123456789012"
AUDIT_KEY = re.compile(
    r"^audit/year=2025/month=08/day=23/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.jsonl$"
)


def record(event_name, key, seq, new=None, old=None):
    return make_stream_record(
        event_name,
        {"employeeid": key},
        new,
        old,
        "NEW_AND_OLD_IMAGES",
        f"{seq:021d}",
        event_id=f"ev-{seq}",
        created=CREATED,
    )


def mixed_batch():
    return make_event(
        [
            record("INSERT", "E1", 1, {"name": "Alice"}),
            record("MODIFY", "E1", 2, {"name": "Alicia"}, {"name": "Alice"}),
            record("REMOVE", "E2", 3, None, {"name": "Bob"}),
        ]
    )


def seqs(*numbers):
    return {"batchItemFailures": [{"itemIdentifier": f"{n:021d}"} for n in numbers]}


def receive(sqs, queue_url, count, timeout=10.0):
    """Messages from a queue until `count` arrived (or the deadline passed); bodies parsed."""
    bodies, deadline = [], time.monotonic() + timeout
    while len(bodies) < count and time.monotonic() < deadline:
        response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in response.get("Messages", []):
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def nothing_queued(sqs, queue_url):
    """moto delivers SNS and EventBridge messages during the publishing call, so one look suffices."""
    return "Messages" not in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)


def queue(sqs, name):
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def audit_objects(s3, bucket):
    listing = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"]) for o in listing}


def topic_queue(sns, sqs, name="employees-events"):
    topic_arn = sns.create_topic(Name=name)["TopicArn"]
    url, arn = queue(sqs, f"{name}-inbox")
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    return topic_arn, url


def bus_queue(events, sqs, bus="pipeline-bus"):
    events.create_event_bus(Name=bus)
    events.put_rule(Name="changes", EventBusName=bus, EventPattern=json.dumps({"source": ["ddbstream.employees"]}))
    url, arn = queue(sqs, "bus-inbox")
    events.put_targets(Rule="changes", EventBusName=bus, Targets=[{"Id": "inbox", "Arn": arn}])
    return url


@pytest.fixture
def aws(handler):
    with mock_aws():
        yield {name: boto3.client(name) for name in ("s3", "sns", "sqs", "events")}


def test_audit_writes_one_json_lines_object_per_batch(handler, aws, capsys, monkeypatch):
    aws["s3"].create_bucket(Bucket="audit-bucket")
    monkeypatch.setenv("AUDIT_BUCKET", "audit-bucket")
    monkeypatch.setenv("AUDIT_PREFIX", "audit/")
    response, lines = invoke(handler, mixed_batch(), capsys)
    assert response == {"batchItemFailures": []}
    objects = audit_objects(aws["s3"], "audit-bucket")
    assert len(objects) == 1
    ((key, obj),) = objects.items()
    assert AUDIT_KEY.match(key), key
    assert obj["ContentType"] == "application/x-ndjson"
    assert obj["Body"].read().decode() == "".join(line + "\n" for line in lines)
    assert len(lines) == 3


def test_sns_notifies_only_the_chosen_event_names(handler, aws, capsys, monkeypatch):
    topic_arn, inbox = topic_queue(aws["sns"], aws["sqs"])
    monkeypatch.setenv("TOPIC_ARN", topic_arn)
    monkeypatch.setenv("NOTIFY_EVENT_NAMES", "REMOVE,MODIFY")
    response, lines = invoke(handler, mixed_batch(), capsys)
    assert response == {"batchItemFailures": []}
    envelopes = receive(aws["sqs"], inbox, 2)
    envelopes.sort(key=lambda e: parse(e["Message"])["sequenceNumber"])
    assert [e["Message"] for e in envelopes] == [lines[1], lines[2]]
    assert [e["Subject"] for e in envelopes] == ["DynamoDB MODIFY on employees", "DynamoDB REMOVE on employees"]
    assert envelopes[1]["MessageAttributes"] == {
        "eventName": {"Type": "String", "Value": "REMOVE"},
        "table": {"Type": "String", "Value": "employees"},
    }
    assert nothing_queued(aws["sqs"], inbox)  # the INSERT was not sent


def test_eventbridge_forwards_every_change_in_batches_of_ten(handler, aws, capsys, monkeypatch):
    inbox = bus_queue(aws["events"], aws["sqs"])
    monkeypatch.setenv("EVENT_BUS_NAME", "pipeline-bus")
    from consumer.sinks import client

    calls = []
    client("events").meta.events.register(
        "provide-client-params.events.PutEvents", lambda params, **_: calls.append(len(params["Entries"]))
    )
    event = make_event([record("INSERT", f"E{n}", n, {"n": n}) for n in range(1, 13)])
    response, lines = invoke(handler, event, capsys)
    assert response == {"batchItemFailures": []}
    assert calls == [10, 2]
    delivered = sorted(receive(aws["sqs"], inbox, 12), key=lambda e: e["detail"]["sequenceNumber"])
    assert len(delivered) == 12
    assert [e["detail"] for e in delivered] == [parse(line) for line in lines]
    first = delivered[0]
    assert (first["source"], first["detail-type"], first["resources"]) == (
        "ddbstream.employees",
        "INSERT",
        [stream_arn("employees")],
    )


def test_failed_eventbridge_entry_fails_only_its_record(handler, aws, capsys, monkeypatch):
    inbox = bus_queue(aws["events"], aws["sqs"])
    monkeypatch.setenv("EVENT_BUS_NAME", "pipeline-bus")
    from consumer.sinks import client

    def drop_second_detail(params, **_):  # moto then refuses that one entry, as AWS would
        params["Entries"][1]["Detail"] = ""

    client("events").meta.events.register("provide-client-params.events.PutEvents", drop_second_detail)
    response, lines = invoke(handler, mixed_batch(), capsys)
    assert response == seqs(2)
    assert lines[3] == (
        '{"eventName": "MODIFY", "keys": {"employeeid": "E1"}, "sequenceNumber": "000000000000000000002", '
        '"eventID": "ev-2", "level": "ERROR", "step": "events", '
        '"error": "InvalidArgument: Parameter Detail is not valid. Reason: Detail is a required argument."}'
    )
    assert sorted(e["detail"]["eventID"] for e in receive(aws["sqs"], inbox, 2)) == ["ev-1", "ev-3"]


def test_sink_failure_fails_its_records_and_a_retry_repeats_only_that_sink(handler, aws, capsys, monkeypatch):
    topic_arn, inbox = topic_queue(aws["sns"], aws["sqs"])
    monkeypatch.setenv("AUDIT_BUCKET", "audit-bucket")  # not created yet
    monkeypatch.setenv("AUDIT_PREFIX", "audit/")
    monkeypatch.setenv("TOPIC_ARN", topic_arn)
    monkeypatch.setenv("NOTIFY_EVENT_NAMES", "REMOVE")
    response, lines = invoke(handler, mixed_batch(), capsys)
    assert response == seqs(1, 2, 3)  # the audit object would have held all three
    assert [parse(line)["step"] for line in lines[3:]] == ["audit"] * 3
    assert "NoSuchBucket" in parse(lines[3])["error"]
    assert [parse(e["Message"])["eventID"] for e in receive(aws["sqs"], inbox, 1)] == ["ev-3"]

    aws["s3"].create_bucket(Bucket="audit-bucket")
    response, retry_lines = invoke(handler, mixed_batch(), capsys)
    assert response == {"batchItemFailures": []}
    assert retry_lines == []  # already logged and processed: only the audit write is repeated
    (obj,) = audit_objects(aws["s3"], "audit-bucket").values()
    assert obj["Body"].read().decode() == "".join(line + "\n" for line in lines[:3])
    assert nothing_queued(aws["sqs"], inbox)  # no second notification

    response, third = invoke(handler, mixed_batch(), capsys)
    assert response == {"batchItemFailures": []}
    assert [parse(line)["duplicate"] for line in third] == [True, True, True]


def test_sns_failure_fails_only_the_records_it_concerns(handler, aws, capsys, monkeypatch):
    aws["s3"].create_bucket(Bucket="audit-bucket")
    monkeypatch.setenv("AUDIT_BUCKET", "audit-bucket")
    monkeypatch.setenv("TOPIC_ARN", f"arn:aws:sns:us-east-1:{ACCOUNT}:no-such-topic")
    monkeypatch.setenv("NOTIFY_EVENT_NAMES", "REMOVE")
    response, lines = invoke(handler, mixed_batch(), capsys)
    assert response == seqs(3)
    assert (parse(lines[3])["step"], parse(lines[3])["eventID"]) == ("notify", "ev-3")
    assert "NotFound" in parse(lines[3])["error"]
    (obj,) = audit_objects(aws["s3"], "audit-bucket").values()
    assert len(obj["Body"].read().decode().splitlines()) == 3


def test_failed_records_reach_no_sink(handler, aws, capsys, monkeypatch):
    aws["s3"].create_bucket(Bucket="audit-bucket")
    monkeypatch.setenv("AUDIT_BUCKET", "audit-bucket")
    monkeypatch.setenv("FAIL_ATTRIBUTE", "poison")
    event = make_event([record("INSERT", "E1", 1, {"name": "ok"}), record("INSERT", "E2", 2, {"poison": True})])
    response, lines = invoke(handler, event, capsys)
    assert response == seqs(2)
    (obj,) = audit_objects(aws["s3"], "audit-bucket").values()
    assert obj["Body"].read().decode() == lines[0] + "\n"


def test_sinks_follow_aws_endpoint_url(handler, capsys, monkeypatch):
    """Against a moto server over HTTP, as on the local target: clients pick up AWS_ENDPOINT_URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        admin = {name: boto3.client(name, endpoint_url=endpoint) for name in ("s3", "sns", "sqs", "events")}
        admin["s3"].create_bucket(Bucket="audit-bucket")
        topic_arn, topic_inbox = topic_queue(admin["sns"], admin["sqs"])
        bus_inbox = bus_queue(admin["events"], admin["sqs"])
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
        for name, value in {
            "AUDIT_BUCKET": "audit-bucket",
            "AUDIT_PREFIX": "audit/",
            "TOPIC_ARN": topic_arn,
            "NOTIFY_EVENT_NAMES": "REMOVE",
            "EVENT_BUS_NAME": "pipeline-bus",
        }.items():
            monkeypatch.setenv(name, value)
        response, lines = invoke(handler, mixed_batch(), capsys)
        assert response == {"batchItemFailures": []}
        ((key, obj),) = audit_objects(admin["s3"], "audit-bucket").items()
        assert AUDIT_KEY.match(key) and obj["Body"].read().decode() == "".join(line + "\n" for line in lines)
        assert [e["Message"] for e in receive(admin["sqs"], topic_inbox, 1)] == [lines[2]]
        assert sorted(e["detail"]["eventID"] for e in receive(admin["sqs"], bus_inbox, 3)) == ["ev-1", "ev-2", "ev-3"]
    finally:
        server.stop()
