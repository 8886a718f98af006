"""Alarm state changes on moto's alarms (emulator/alarms/state.py), without a daemon."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws
from moto.cloudwatch.models import cloudwatch_backends

from ddbstream.emulator.alarms import state

ACCOUNT, REGION = "123456789012", "us-east-1"


@pytest.fixture
def cloudwatch():
    state.install(runtime=None)
    with mock_aws():
        client = boto3.client("cloudwatch", region_name=REGION)
        client.put_metric_alarm(
            AlarmName="a",
            Namespace="App",
            MetricName="m",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanThreshold",
        )
        yield client


def moto_alarm():
    return cloudwatch_backends[ACCOUNT][REGION].alarms["a"]


def test_an_evaluation_made_stale_meanwhile_changes_nothing(cloudwatch) -> None:
    """The evaluator saw INSUFFICIENT_DATA; SetAlarmState moved the alarm before its change ran."""
    alarm = moto_alarm()
    cloudwatch.set_alarm_state(AlarmName="a", StateValue="ALARM", StateReason="by hand")
    stale = type("Seen", (), {"name": "a", "state_value": "INSUFFICIENT_DATA"})()
    state.journaled_change(ACCOUNT, REGION, stale, "OK", "Threshold Crossed: ...", json.dumps({"version": "1.0"}))
    assert (alarm.state_value, alarm.state_reason) == ("ALARM", "by hand")
    state.journaled_change(ACCOUNT, REGION, alarm, "OK", "Threshold Crossed: ...", json.dumps({"version": "1.0"}))
    assert alarm.state_value == "OK"


def test_describe_alarm_history_filters_and_orders(cloudwatch) -> None:
    for value in ("ALARM", "OK"):
        cloudwatch.set_alarm_state(AlarmName="a", StateValue=value, StateReason=f"to {value}")
    items = cloudwatch.describe_alarm_history(AlarmName="a")["AlarmHistoryItems"]
    assert [i["HistorySummary"] for i in items] == [
        "Alarm updated from ALARM to OK",
        "Alarm updated from INSUFFICIENT_DATA to ALARM",
    ]
    oldest = cloudwatch.describe_alarm_history(AlarmName="a", ScanBy="TimestampAscending", MaxRecords=1)
    assert [i["HistorySummary"] for i in oldest["AlarmHistoryItems"]] == [
        "Alarm updated from INSUFFICIENT_DATA to ALARM"
    ]
    assert cloudwatch.describe_alarm_history(AlarmName="other")["AlarmHistoryItems"] == []
