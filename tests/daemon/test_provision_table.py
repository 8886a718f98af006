"""The local target's table step: creation, reconcile, drift notes, indexes (moto in-process)."""

import boto3
import pytest
from moto import mock_aws

from ddbstream.provision.run import Provisioning
from ddbstream.provision.table import provision_table
from ddbstream.spec import load_spec


@pytest.fixture
def dynamodb(aws_credentials):
    with mock_aws():
        yield boto3.client("dynamodb", region_name="us-east-1")


def _run(project, dynamodb, *overrides):
    spec = load_spec(project / "infra", overrides=list(overrides))
    resources, notes = {}, []
    provision_table(Provisioning(spec, lambda service: dynamodb, resources, notes))
    return resources, notes


GSI = '[{"name": "ByDept", "hash_key": "dept", "range_key": "hired", "range_key_type": "N"}]'


def test_indexes_are_created_with_their_attribute_types(project, dynamodb):
    _run(project, dynamodb, f"global_secondary_indexes={GSI}")
    table = dynamodb.describe_table(TableName="employees")["Table"]
    [index] = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "ByDept"
    assert index["KeySchema"] == [
        {"AttributeName": "dept", "KeyType": "HASH"},
        {"AttributeName": "hired", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {"ProjectionType": "ALL"}
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    assert types == {"employeeid": "S", "dept": "S", "hired": "N"}


def test_an_index_added_later_is_created_without_drift_notes(project, dynamodb):
    _run(project, dynamodb)
    resources, notes = _run(project, dynamodb, f"global_secondary_indexes={GSI}")
    assert notes == []
    table = dynamodb.describe_table(TableName="employees")["Table"]
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["ByDept"]
    assert resources["key_schema"] == [["employeeid", "S"]]


def test_key_schema_drift_is_noted_not_applied(project, dynamodb):
    _run(project, dynamodb)
    _, notes = _run(project, dynamodb, "hash_key=other")
    assert notes == [
        "table employees has key schema employeeid (S, HASH) but the spec says other (S, HASH): "
        "a key schema cannot change; run 'ddbstream down' (local) or recreate the table"
    ]
    table = dynamodb.describe_table(TableName="employees")["Table"]
    assert table["KeySchema"] == [{"AttributeName": "employeeid", "KeyType": "HASH"}]


def test_billing_mode_is_reconciled(project, dynamodb):
    _run(project, dynamodb)
    _run(project, dynamodb, "billing_mode=PROVISIONED", "read_capacity=4", "write_capacity=2")
    table = dynamodb.describe_table(TableName="employees")["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 4
