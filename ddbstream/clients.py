"""AWS clients for a pipeline: the same code for the local daemon and for AWS.

botocore's session is used directly (boto3's Session adds only resources and s3transfer,
which cost every short command a tenth of a second to import); the clients are the same.
"""

from __future__ import annotations

import os
import threading
from functools import cache
from typing import Any, Protocol

from ddbstream.stack_secret import SECRET_ACCESS_KEY

_CREATE_LOCK = threading.Lock()  # a botocore session may not build clients in two threads at once


class Deployment(Protocol):
    """Where a pipeline runs: a saved State and a Pipeline both say it."""

    @property
    def is_local(self) -> bool: ...

    @property
    def endpoint(self) -> str | None: ...

    @property
    def region(self) -> str: ...

    @property
    def profile(self) -> str | None: ...

    @property
    def secret(self) -> str | None: ...


def _service_directory_loader(session: Any) -> Any:
    """botocore's model loader, minus the walk through ~440 service directories per client.

    Before loading one model botocore lists every service that has a file of that type
    (opening each directory: ~15 ms of every short command); a model directory's name is
    enough to tell a known service from a typo.
    """
    from botocore.loaders import Loader, instance_cache

    class ServiceDirectoryLoader(Loader):
        @instance_cache
        def list_available_services(self, type_name: str) -> list[str]:
            roots = [root for root in self.search_paths if os.path.isdir(root)]
            return sorted(
                {name for root in roots for name in os.listdir(root) if os.path.isdir(os.path.join(root, name))}
            )

    # The search paths of the loader botocore would use (AWS_DATA_PATH, ~/.aws/models, its data).
    default = session.get_component("data_loader")
    return ServiceDirectoryLoader(extra_search_paths=list(default.search_paths), include_default_search_paths=False)


@cache
def _session(profile: str | None, local: bool) -> Any:
    """One botocore session per kind: it caches the service models every client loads."""
    import botocore.session

    if local:
        # The caller's AWS_PROFILE means nothing to the daemon (and a profile missing from
        # ~/.aws/config would make botocore refuse to build any client).
        session = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
    else:
        session = botocore.session.Session(profile=profile)
    session.register_component("data_loader", _service_directory_loader(session))
    return session


def local_client(service: str, endpoint: str | None, region: str, secret: str | None) -> Any:
    """A client for the local daemon: its endpoint, the stack secret as access key id, few retries."""
    from botocore.config import Config

    config = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5, read_timeout=70)
    with _CREATE_LOCK:
        return _session(None, True).create_client(
            service,
            endpoint_url=endpoint,
            region_name=region,
            config=config,
            aws_access_key_id=secret or "",
            aws_secret_access_key=SECRET_ACCESS_KEY,
        )


def aws_client(service: str, region: str | None = None, profile: str | None = None) -> Any:
    """A client for real AWS with the caller's own credential chain (profile, env, SSO...)."""
    from botocore.exceptions import ProfileNotFound

    from ddbstream.errors import CREDENTIALS_HINT, CredentialsError

    try:
        with _CREATE_LOCK:
            return _session(profile, False).create_client(service, region_name=region)
    except ProfileNotFound as exc:
        raise CredentialsError(f"no usable AWS credentials: {exc}; {CREDENTIALS_HINT}") from None


def profile_for(deployment: Deployment | None, explicit: str | None = None) -> str | None:
    """The AWS profile to use: --profile, else $AWS_PROFILE, else the one the pipeline was deployed with."""
    if explicit:
        return explicit
    if os.environ.get("AWS_PROFILE"):
        return None  # botocore reads it itself
    return deployment.profile if deployment is not None and not deployment.is_local else None


def client_for(deployment: Deployment, service: str, profile: str | None = None) -> Any:
    """A client for the pipeline ``deployment`` describes (a State or a Pipeline)."""
    if deployment.is_local:
        return local_client(service, deployment.endpoint, deployment.region, deployment.secret)
    return aws_client(service, deployment.region, profile_for(deployment, profile))
