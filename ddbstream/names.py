"""Names AWS derives from other names; the CLI, the provisioning and the daemon build them here."""

from __future__ import annotations

LAMBDA_LOG_GROUP_PREFIX = "/aws/lambda/"


def lambda_log_group(function_name: str) -> str:
    """The CloudWatch log group Lambda writes a function's output to."""
    return f"{LAMBDA_LOG_GROUP_PREFIX}{function_name}"
