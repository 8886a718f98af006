"""An alarm's actions: the notification CloudWatch publishes to each SNS topic of the new state.

Subscribers get it as SNS delivers it: SQS (moto's delivery, the SNS envelope unless raw),
Lambda (an ``aws:sns`` event, invoked asynchronously on our runtime, never during a replay of
the journal), HTTP(S) (moto posts it); email, SMS and other protocols are only logged ("would
send"). Other action kinds (Auto Scaling, EC2, Systems Manager) are not supported locally.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
from typing import Any

from ddbstream.emulator.store.context import replaying

log = logging.getLogger("ddbstream.emulator.alarms")

SUBJECT_LIMIT = 100


def actions_for(alarm: Any, state: str) -> list[str]:
    by_state = {
        "ALARM": alarm.alarm_actions,
        "OK": alarm.ok_actions,
        "INSUFFICIENT_DATA": alarm.insufficient_data_actions,
    }
    return list(by_state.get(state) or [])


def notify(alarm: Any, old_state: str, at: dt.datetime, runtime: Any) -> list[str]:
    """Publish the state change to the alarm's topics for its new state; return the topics reached."""
    if not alarm.actions_enabled:
        return []
    reached = []
    for arn in actions_for(alarm, alarm.state_value):
        if arn.split(":")[2:3] != ["sns"]:
            log.warning("alarm %s: action %s is not supported locally", alarm.name, arn)
            continue
        try:
            _publish(arn, subject(alarm), json.dumps(message(alarm, old_state, at)), runtime)
            reached.append(arn)
        except Exception as exc:  # a deleted topic: CloudWatch records a failed action
            log.warning("alarm %s: publishing to %s failed: %s", alarm.name, arn, exc)
    return reached


def subject(alarm: Any) -> str:
    """'ALARM: "name" in US East (N. Virginia)', cut at SNS's 100 characters."""
    return f'{alarm.state_value}: "{alarm.name}" in {region_name(alarm.region_name)}'[:SUBJECT_LIMIT]


def message(alarm: Any, old_state: str, at: dt.datetime) -> dict[str, Any]:
    """The JSON CloudWatch publishes for a state change."""
    from ddbstream.emulator.alarms.evaluator import aws_date

    account = alarm.alarm_arn.split(":")[4]
    extended = bool(alarm.extended_statistic)
    return {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description,
        "AWSAccountId": account,
        "AlarmConfigurationUpdatedTimestamp": aws_date(alarm.configuration_updated_timestamp),
        "NewStateValue": alarm.state_value,
        "NewStateReason": alarm.state_reason,
        "StateChangeTime": aws_date(at),
        "Region": region_name(alarm.region_name),
        "AlarmArn": alarm.alarm_arn,
        "OldStateValue": old_state,
        "OKActions": list(alarm.ok_actions),
        "AlarmActions": list(alarm.alarm_actions),
        "InsufficientDataActions": list(alarm.insufficient_data_actions),
        "Trigger": {
            "MetricName": alarm.metric_name,
            "Namespace": alarm.namespace,
            "StatisticType": "ExtendedStatistic" if extended else "Statistic",
            **(
                {"ExtendedStatistic": alarm.extended_statistic}
                if extended
                else {"Statistic": (alarm.statistic or "").upper()}
            ),
            "Unit": alarm.unit,
            "Dimensions": [{"value": d.value, "name": d.name} for d in alarm.dimensions],
            "Period": alarm.period,
            "EvaluationPeriods": alarm.evaluation_periods,
            **({"DatapointsToAlarm": alarm.datapoints_to_alarm} if alarm.datapoints_to_alarm else {}),
            "ComparisonOperator": alarm.comparison_operator,
            "Threshold": float(alarm.threshold),
            "TreatMissingData": alarm.treat_missing_data or "",
            "EvaluateLowSampleCountPercentile": alarm.evaluate_low_sample_count_percentile or "",
        },
    }


@functools.cache
def region_name(region: str) -> str:
    """'US East (N. Virginia)' for us-east-1 (botocore's endpoint data), else the code."""
    from botocore.loaders import create_loader

    for partition in create_loader().load_data("endpoints").get("partitions", []):
        described = partition.get("regions", {}).get(region, {}).get("description")
        if described:
            return str(described)
    return region


def _publish(topic_arn: str, title: str, body: str, runtime: Any) -> None:
    from moto.moto_api._internal import mock_random
    from moto.sns.models import sns_backends

    parts = topic_arn.split(":")
    backend = sns_backends[parts[4]][parts[3]]
    topic = backend.get_topic(topic_arn)  # raises when the topic is gone
    message_id = str(mock_random.uuid4())
    for subscription in backend._get_topic_subscriptions(topic):
        if subscription.protocol in ("sqs", "http", "https"):
            subscription.publish(body, message_id, subject=title)
        elif subscription.protocol == "lambda":
            if not replaying():
                event = _lambda_event(subscription, topic.arn, message_id, title, body)
                runtime.invoke(subscription.endpoint, json.dumps(event).encode(), "Event")
        else:
            log.info("would send to %s %s: %s", subscription.protocol, subscription.endpoint, title)


def _lambda_event(subscription: Any, topic_arn: str, message_id: str, title: str, body: str) -> dict[str, Any]:
    from ddbstream.emulator.alarms.evaluator import aws_date

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription.arn,
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "TopicArn": topic_arn,
                    "Subject": title,
                    "Message": body,
                    "Timestamp": aws_date(now).replace("+0000", "Z"),
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "EXAMPLE",
                    "UnsubscribeUrl": "EXAMPLE",
                    "MessageAttributes": {},
                },
            }
        ]
    }
