"""Local-target provisioning: the resources infra/ describes, created through boto3.

Each step reads the spec, creates what is missing, updates what it can and returns notes
about drift it cannot change. A second run is a reconcile, never a failure because things exist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ddbstream.provision.run import ClientFactory, Provisioning
from ddbstream.spec import Spec


def check(spec: Spec) -> None:
    """Checks of the spec that variables.tf's validation blocks cannot express (SpecError)."""
    from ddbstream.provision import http_api, mapping

    mapping.check_filter_patterns(spec)
    http_api.check_api(spec)


def provision(
    spec: Spec,
    client: ClientFactory,
    account: str,
    region: str,
    existing: dict[str, Any] | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> tuple[dict[str, Any], list[str]]:
    """Provision every resource of the spec; return (resources for state.json, drift notes)."""
    from ddbstream.provision import alarms, event_bus, function, http_api, mapping, messaging, table

    check(spec)
    run = Provisioning(spec, client, progress=progress)
    # The functions come after the table, queue, topic, bucket and bus: their environments name them.
    steps = [
        table.provision_table,
        messaging.provision_messaging,
        event_bus.provision_event_bus,
        function.provision_function,
        http_api.provision_http_api,
        alarms.provision_alarms,
        mapping.provision_mapping,
    ]
    for step in steps:
        step(run)
    return run.resources, run.notes
