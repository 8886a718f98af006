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
            # scandir's entries know their type from the directory listing itself: no stat per service.
            return sorted({entry.name for root in roots for entry in os.scandir(root) if entry.is_dir()})

    # The search paths of the loader botocore would use (AWS_DATA_PATH, ~/.aws/models, its data).
    default = session.get_component("data_loader")
    return ServiceDirectoryLoader(extra_search_paths=list(default.search_paths), include_default_search_paths=False)


# Regional services with no endpoint quirks: the partition's defaults are all their entries say.
_PLAIN_REGIONAL = frozenset(
    {"dynamodb", "dynamodbstreams", "lambda", "logs", "sqs", "sns", "events", "cloudwatch", "apigatewayv2"}
)


class _LocalEndpointResolver:
    """botocore's legacy endpoint resolver, answered from partitions.json for the plain services.

    A client given an endpoint URL still asks this resolver for its signing defaults, and
    botocore builds it from the 1.3 MB endpoints.json (~20 ms of every short command). For
    the services in _PLAIN_REGIONAL each partition's regions and SigV4 defaults are what that
    document says anyway; any other service (s3 and iam have global endpoints) or question
    goes to the full document, loaded when first needed.
    """

    uses_builtin_data = True

    def __init__(self, session: Any):
        from botocore.regions import EndpointResolver

        self._session = session
        self._full_resolver: Any = None
        partitions = session.get_component("data_loader").load_data("partitions")["partitions"]
        self._plain = EndpointResolver({"version": 3, "partitions": [_bare_partition(p) for p in partitions]})

    def _full(self) -> Any:
        if self._full_resolver is None:
            from botocore.regions import EndpointResolver

            self._full_resolver = EndpointResolver(self._session.get_component("data_loader").load_data("endpoints"))
        return self._full_resolver

    def construct_endpoint(self, service_name: str, region_name: str | None = None, **kwargs: Any) -> Any:
        resolver = self._plain if service_name in _PLAIN_REGIONAL else self._full()
        return resolver.construct_endpoint(service_name, region_name, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._full(), name)


def _bare_partition(partition: dict[str, Any]) -> dict[str, Any]:
    """One partition of partitions.json as endpoints.json writes it, with no per-service entries."""
    return {
        "partition": partition["id"],
        "partitionName": partition["outputs"]["name"],
        "dnsSuffix": partition["outputs"]["dnsSuffix"],
        "regionRegex": partition["regionRegex"],
        "regions": dict(partition["regions"]),
        "defaults": {"hostname": "{service}.{region}.{dnsSuffix}", "protocols": ["https"], "signatureVersions": ["v4"]},
        "services": {},
    }


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
    if local:
        session._register_internal_component("endpoint_resolver", _LocalEndpointResolver(session))
    return session


def local_client(service: str, endpoint: str | None, region: str, secret: str | None, read_timeout: float = 70) -> Any:
    """A client for the local daemon: its endpoint, the stack secret as access key id, few retries."""
    from botocore.config import Config

    # No host prefix: StartLiveTail would go to "stream-127.0.0.1", which names no host.
    config = Config(
        retries={"max_attempts": 2, "mode": "standard"},
        connect_timeout=5,
        read_timeout=read_timeout,
        inject_host_prefix=False,
    )
    with _CREATE_LOCK:
        return _session(None, True).create_client(
            service,
            endpoint_url=endpoint,
            region_name=region,
            config=config,
            aws_access_key_id=secret or "",
            aws_secret_access_key=SECRET_ACCESS_KEY,
        )


def local_table_client(endpoint: str | None, region: str, secret: str | None) -> Any:
    """A DynamoDB client for the item commands against the local daemon: the lean one (no botocore
    to import or build: local_dynamodb.py) for its http endpoint, else a botocore client."""
    if endpoint and endpoint.startswith("http://"):
        from ddbstream.local_dynamodb import LocalDynamoDB

        return LocalDynamoDB(endpoint, region, secret or "", SECRET_ACCESS_KEY)
    return local_client("dynamodb", endpoint, region, secret)


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


def table_client_for(deployment: Deployment, profile: str | None = None) -> Any:
    """The DynamoDB client the item commands use for ``deployment`` (a State or a Pipeline)."""
    if deployment.is_local:
        return local_table_client(deployment.endpoint, deployment.region, deployment.secret)
    return aws_client("dynamodb", deployment.region, profile_for(deployment, profile))


def client_for(deployment: Deployment, service: str, profile: str | None = None) -> Any:
    """A client for the pipeline ``deployment`` describes (a State or a Pipeline)."""
    if deployment.is_local:
        return local_client(service, deployment.endpoint, deployment.region, deployment.secret)
    return aws_client(service, deployment.region, profile_for(deployment, profile))
