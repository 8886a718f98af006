"""The consumer's sinks: dead-letter queue, notification topic, audit bucket (the bus: event_bus.py).

Each mirrors its module under infra/modules/ (dlq, notifications, audit);
tests/infra/test_infra_agreement.py checks that they set the same values.
Encryption keys are the exception: the local target does not create the topic's KMS key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ddbstream.provision.run import Provisioning
from ddbstream.spec import Spec

# Fixed by infra/modules/audit (not variables of the pipeline).
AUDIT_TRANSITION_STORAGE_CLASS = "STANDARD_IA"
AUDIT_NONCURRENT_VERSION_DAYS = 30
AUDIT_ABORT_UPLOAD_DAYS = 7


def _tags(spec: Spec) -> dict[str, str]:
    return {str(k): str(v) for k, v in (spec.get("tags") or {}).items()}


def provision_messaging(run: Provisioning) -> None:
    """Create (or reconcile) whichever of the queue, topic and bucket the spec enables."""
    spec, client, resources, progress = run.spec, run.client, run.resources, run.progress
    names = spec.resource_names()
    if spec.get("enable_dlq"):
        provision_queue(spec, client("sqs"), names["dlq_name"], resources, progress)
    # Alarms notify the topic, so they bring it along even without notifications (as infra/ does).
    if spec.get("enable_notifications") or spec.get("enable_alarms"):
        provision_topic(spec, client("sns"), names["topic_name"], resources, progress)
    if spec.get("enable_audit"):
        provision_bucket(spec, client("s3"), names["audit_bucket_name"], resources, progress)


def queue_attributes(spec: Spec) -> dict[str, str]:
    """SQS attributes of the dead-letter queue (SSE-SQS encryption, retention)."""
    return {
        "MessageRetentionPeriod": str(int(spec["dlq_message_retention_seconds"])),
        "SqsManagedSseEnabled": "true",
    }


def provision_queue(
    spec: Spec, sqs: Any, name: str, resources: dict[str, Any], progress: Callable[[str], None]
) -> None:
    attributes = queue_attributes(spec)
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist:
        progress(f"creating queue {name}")
        tags = _tags(spec)
        url = sqs.create_queue(QueueName=name, Attributes=attributes, **({"tags": tags} if tags else {}))["QueueUrl"]
    else:
        current = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(attributes))["Attributes"]
        changed = {k: v for k, v in attributes.items() if current.get(k) != v}
        if changed:
            sqs.set_queue_attributes(QueueUrl=url, Attributes=changed)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    resources.update(queue_url=url, queue_arn=arn)


def provision_topic(
    spec: Spec, sns: Any, name: str, resources: dict[str, Any], progress: Callable[[str], None]
) -> None:
    """CreateTopic is idempotent; the email subscription is added once."""
    progress(f"creating topic {name}")
    tags = [{"Key": k, "Value": v} for k, v in _tags(spec).items()]
    arn = sns.create_topic(Name=name, **({"Tags": tags} if tags else {}))["TopicArn"]
    email = spec.get("notification_email")
    if email:
        subscriptions = sns.list_subscriptions_by_topic(TopicArn=arn).get("Subscriptions", [])
        if not any(s.get("Protocol") == "email" and s.get("Endpoint") == email for s in subscriptions):
            sns.subscribe(TopicArn=arn, Protocol="email", Endpoint=email)
    resources.update(topic_arn=arn)


def lifecycle_rules(spec: Spec) -> list[dict[str, Any]]:
    """The audit bucket's lifecycle: transition then expiry under the prefix; stale uploads aborted everywhere."""
    return [
        {
            "ID": "audit-retention",
            "Status": "Enabled",
            "Filter": {"Prefix": spec["audit_prefix"]},
            "Transitions": [
                {"Days": int(spec["audit_transition_days"]), "StorageClass": AUDIT_TRANSITION_STORAGE_CLASS}
            ],
            "Expiration": {"Days": int(spec["audit_expiration_days"])},
            "NoncurrentVersionExpiration": {"NoncurrentDays": AUDIT_NONCURRENT_VERSION_DAYS},
        },
        {
            "ID": "abort-incomplete-uploads",
            "Status": "Enabled",
            "Filter": {},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": AUDIT_ABORT_UPLOAD_DAYS},
        },
    ]


def bucket_policy(bucket: str) -> str:
    """TLS only: deny every request made without it."""
    arn = f"arn:aws:s3:::{bucket}"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [arn, f"{arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


def provision_bucket(
    spec: Spec, s3: Any, name: str, resources: dict[str, Any], progress: Callable[[str], None]
) -> None:
    """The audit bucket: private, owner-enforced, versioned, SSE-KMS, lifecycle, TLS-only policy."""
    try:
        s3.head_bucket(Bucket=name)
    except s3.exceptions.ClientError:
        progress(f"creating bucket {name}")
        region = s3.meta.region_name
        location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=name, **location)
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_ownership_controls(
        Bucket=name,
        OwnershipControls={
            "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}],
        },
    )
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}],
        },
    )
    s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": lifecycle_rules(spec)})
    s3.put_bucket_policy(Bucket=name, Policy=bucket_policy(name))
    tags = _tags(spec)
    if tags:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})
    resources.update(bucket=name)
