"""boto3 clients for a pipeline: the same code for the local daemon and for AWS."""

from __future__ import annotations

from typing import Any

from ddbstream.state import State

FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def local_client(service: str, endpoint: str, region: str) -> Any:
    """A boto3 client for the local daemon: its endpoint, fake credentials, no retries to AWS."""
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        config=Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5, read_timeout=70),
        **FAKE_CREDENTIALS,
    )


def client_for(state: State, service: str, profile: str | None = None) -> Any:
    """A boto3 client for the pipeline described by ``state``."""
    if state.is_local:
        return local_client(service, state.endpoint, state.region)
    import boto3

    return boto3.session.Session(profile_name=profile, region_name=state.region).client(service)
