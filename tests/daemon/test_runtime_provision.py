"""provision/function.py: packaging lambda/, creating and reconciling the consumer function (moto in-process)."""

from __future__ import annotations

import io
import zipfile

import boto3
import pytest
from moto import mock_aws

from ddbstream.errors import SpecError
from ddbstream.provision.function import code_sha256, function_environment, package, provision_function
from ddbstream.provision.run import Provisioning
from ddbstream.spec import load_spec


@pytest.fixture
def aws(aws_credentials):
    with mock_aws():
        yield lambda service: boto3.client(service, region_name="us-east-1")


def run(spec, aws, resources=None):
    resources = dict(resources or {"table_name": spec["table_name"]})
    messages: list[str] = []
    provision_function(Provisioning(spec, aws, resources, [], messages.append))
    return resources, messages


def test_package_is_deterministic_and_leaves_caches_out(tmp_path):
    (tmp_path / "pkg" / "__pycache__").mkdir(parents=True)
    (tmp_path / "handler.py").write_text("def lambda_handler(e, c):\n    return 1\n")
    (tmp_path / "pkg" / "mod.py").write_text("X = 1\n")
    (tmp_path / "pkg" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"junk")
    first = package(tmp_path)
    assert package(tmp_path) == first
    assert sorted(zipfile.ZipFile(io.BytesIO(first)).namelist()) == ["handler.py", "pkg/mod.py"]
    (tmp_path / "handler.py").write_text("def lambda_handler(e, c):\n    return 2\n")
    assert code_sha256(package(tmp_path)) != code_sha256(first)


def test_creates_the_function_role_and_log_group(project, aws):
    spec = load_spec(project / "infra", overrides=['lambda_environment={"LOG_LEVEL": "DEBUG", "TABLE_NAME": "x"}'])
    resources, messages = run(spec, aws, {"table_name": "employees", "queue_url": "https://q/employees-dlq"})
    name = "employees_stream_consumer"
    assert resources["function_name"] == name
    assert resources["function_arn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    assert resources["log_group"] == f"/aws/lambda/{name}"
    assert messages == [f"creating function {name}"]
    config = aws("lambda").get_function_configuration(FunctionName=name)
    assert (config["Runtime"], config["Handler"], config["MemorySize"], config["Timeout"]) == (
        "python3.12",
        "handler.lambda_handler",
        128,
        30,
    )
    assert config["Environment"]["Variables"] == {
        "LOG_LEVEL": "DEBUG",
        "TABLE_NAME": "employees",
        "DLQ_URL": "https://q/employees-dlq",
    }
    assert config["Role"] == f"arn:aws:iam::123456789012:role/{name}-role"
    assert config["CodeSha256"] == code_sha256(package(project / "lambda"))
    groups = aws("logs").describe_log_groups(logGroupNamePrefix=resources["log_group"])["logGroups"]
    assert [(g["logGroupName"], g.get("retentionInDays")) for g in groups] == [(resources["log_group"], 14)]


def test_second_run_changes_only_what_differs(project, aws):
    spec = load_spec(project / "infra")
    run(spec, aws)
    _, messages = run(spec, aws)
    assert messages == [], "nothing changed: no update, in particular not the code"

    spec = load_spec(project / "infra", overrides=["lambda_memory_size=256", "log_retention_days=30"])
    _, messages = run(spec, aws)
    assert messages == ["updating function employees_stream_consumer configuration (MemorySize)"]
    config = aws("lambda").get_function_configuration(FunctionName="employees_stream_consumer")
    assert config["MemorySize"] == 256
    group = aws("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/employees_stream_consumer")
    assert group["logGroups"][0]["retentionInDays"] == 30

    with (project / "lambda" / "handler.py").open("a") as handle:
        handle.write("\n# changed\n")
    _, messages = run(spec, aws)
    assert messages == ["updating function employees_stream_consumer code"]
    config = aws("lambda").get_function_configuration(FunctionName="employees_stream_consumer")
    assert config["CodeSha256"] == code_sha256(package(project / "lambda"))


def test_environment_names_the_sinks_that_are_on(project):
    spec = load_spec(
        project / "infra",
        overrides=[
            "enable_notifications=true",
            "enable_audit=true",
            "enable_dlq=false",
            "event_bus_name=bus",
            "fail_attribute=poison",
            'notify_event_names=["REMOVE","MODIFY"]',
        ],
    )
    resources = {
        "table_name": "employees",
        "queue_url": "https://q",
        "topic_arn": "arn:aws:sns:us-east-1:1:t",
        "bucket": "audit-bucket",
    }
    assert function_environment(spec, resources) == {
        "TABLE_NAME": "employees",
        "TOPIC_ARN": "arn:aws:sns:us-east-1:1:t",
        "NOTIFY_EVENT_NAMES": "REMOVE,MODIFY",
        "AUDIT_BUCKET": "audit-bucket",
        "AUDIT_PREFIX": "audit/",
        "EVENT_BUS_NAME": "bus",
        "FAIL_ATTRIBUTE": "poison",
    }


def test_missing_code_directory_is_a_spec_error(project, aws):
    spec = load_spec(project / "infra", overrides=["lambda_source_dir=../nowhere"])
    with pytest.raises(SpecError, match="nowhere: no such directory"):
        run(spec, aws)
