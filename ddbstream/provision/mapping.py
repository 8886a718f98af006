"""The event source mapping: the table's stream -> the consumer function (infra/modules/event_mapping)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ddbstream.errors import SpecError
from ddbstream.provision.run import Provisioning
from ddbstream.spec import Spec


def check_filter_patterns(spec: Spec) -> None:
    """Refuse invalid filter patterns before anything is provisioned (the mapping is the last step)."""
    from ddbstream.patterns import InvalidFilterPattern, parse_filter_criteria

    criteria = {"Filters": [{"Pattern": p} for p in spec.get("filter_patterns") or []]}
    try:
        parse_filter_criteria(criteria)
    except InvalidFilterPattern as exc:
        raise SpecError(f"invalid value for variable 'filter_patterns': {exc}") from None


def desired_mapping(spec: Spec, resources: dict[str, Any]) -> dict[str, Any]:
    """UpdateEventSourceMapping-style settings for the spec (the same values infra/ passes)."""
    settings: dict[str, Any] = {
        "BatchSize": int(spec["batch_size"]),
        "MaximumBatchingWindowInSeconds": int(spec["maximum_batching_window_in_seconds"]),
        "MaximumRetryAttempts": int(spec["maximum_retry_attempts"]),
        "BisectBatchOnFunctionError": bool(spec["bisect_batch_on_function_error"]),
        "MaximumRecordAgeInSeconds": int(spec["maximum_record_age_in_seconds"]),
        "ParallelizationFactor": int(spec["parallelization_factor"]),
        "TumblingWindowInSeconds": int(spec["tumbling_window_in_seconds"]),
        "FunctionResponseTypes": list(spec.get("function_response_types") or []),
        "FilterCriteria": {"Filters": [{"Pattern": p} for p in spec.get("filter_patterns") or []]},
        # no destination: "" clears one (Lambda refuses an OnFailure without its Destination)
        "DestinationConfig": {"OnFailure": {"Destination": ""}},
    }
    if spec.get("enable_dlq") and resources.get("queue_arn"):
        settings["DestinationConfig"] = {"OnFailure": {"Destination": resources["queue_arn"]}}
    return settings


def provision_mapping(run: Provisioning) -> None:
    """Create the mapping, or bring an existing one (same stream and function) to the spec."""
    spec, client, resources, notes, progress = run.spec, run.client, run.resources, run.notes, run.progress
    lam = client("lambda")
    stream_arn, function_name = resources["stream_arn"], resources["function_name"]
    desired = desired_mapping(spec, resources)
    existing = lam.list_event_source_mappings(EventSourceArn=stream_arn, FunctionName=function_name)
    current = next(iter(existing.get("EventSourceMappings") or []), None)
    try:
        if current is None:
            progress(f"mapping the stream of {resources['table_name']} to {function_name}")
            current = lam.create_event_source_mapping(
                EventSourceArn=stream_arn,
                FunctionName=function_name,
                StartingPosition=spec["starting_position"],
                Enabled=True,
                **desired,
            )
        else:
            if current.get("StartingPosition") != spec["starting_position"]:
                notes.append(
                    f"event source mapping {current['UUID']} starts at {current.get('StartingPosition')} but the spec "
                    f"says {spec['starting_position']}: a starting position cannot change; delete the mapping to apply it"
                )
            if _differs(current, desired):
                progress(f"updating event source mapping {current['UUID']}")
                current = lam.update_event_source_mapping(UUID=current["UUID"], Enabled=True, **desired)
    except lam.exceptions.ClientError as exc:
        # Lambda's front end refuses values outside its model (ValidationException), Lambda the rest.
        if exc.response["Error"]["Code"] not in ("InvalidParameterValueException", "ValidationException"):
            raise
        raise SpecError(f"the event source mapping settings are invalid: {exc.response['Error']['Message']}") from None
    resources.update(mapping_uuid=current["UUID"])


def _differs(current: dict[str, Any], desired: dict[str, Any]) -> bool:
    if setting_changes(current, desired):
        return True
    return current.get("State") not in ("Enabled", "Enabling", "Creating", "Updating")


def setting_changes(current: dict[str, Any], desired: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """{setting: (deployed, wanted)} for each of ``desired`` the deployed mapping does not have."""
    have, want = comparable_settings(current, desired), comparable_settings(desired, desired)
    return {name: (have[name], want[name]) for name in desired if have[name] != want[name]}


def comparable_settings(mapping: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """The settings ``names`` of a mapping (deployed or desired) in one shape: absent filters are
    no filters, response types sorted, an empty destination left out."""
    found = {name: mapping.get(name) for name in names}
    if "FilterCriteria" in found:
        found["FilterCriteria"] = found["FilterCriteria"] or {"Filters": []}
    if "FunctionResponseTypes" in found:
        found["FunctionResponseTypes"] = sorted(found["FunctionResponseTypes"] or [])
    if "DestinationConfig" in found:
        on_failure = (found["DestinationConfig"] or {}).get("OnFailure") or {}
        found["DestinationConfig"] = {"OnFailure": {k: v for k, v in on_failure.items() if v}}
    return found
