"""The Lambda event source mapping API on the daemon (REST-JSON, as botocore speaks it).

Create / Get / List / Update / Delete for DynamoDB stream sources, with AWS's validation
(ranges, required fields, filter pattern syntax) and response shapes; moto never sees these
calls, so it never holds a mapping of its own. Plus one non-AWS route for ``status``:
``GET /_ddbstream/mappings/{uuid}/metrics`` (iterator age and counters).
"""

from __future__ import annotations

import json
import re
import uuid as uuidlib
from typing import Any
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

from ddbstream.emulator.esm.engine import Engine, Mapping
from ddbstream.emulator.esm.model import REPORT_BATCH_ITEM_FAILURES, MappingSettings
from ddbstream.emulator.http import Handler, aws_error, json_response
from ddbstream.emulator.server import Emulator
from ddbstream.patterns import InvalidFilterPattern, parse_filter_criteria

BASE = "/2015-03-31/event-source-mappings"
STREAM_ARN = re.compile(r"^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table/[A-Za-z0-9_.-]+/stream/.+$")
FUNCTION_REF = re.compile(
    r"^(?:arn:aws[a-z-]*:lambda:[a-z0-9-]+:)?(?:\d{12}:)?(?:function:)?(?P<name>[A-Za-z0-9_-]{1,140})"
    r"(?::(?P<qualifier>\$LATEST|[A-Za-z0-9_-]{1,128}))?$"
)
DESTINATION_ARN = re.compile(r"^arn:aws[a-z-]*:(sqs|sns):[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]+$")

# name -> (minimum, maximum, default); AWS's ranges for DynamoDB stream sources.
INTEGER_RANGES: dict[str, tuple[int, int, int]] = {
    "BatchSize": (1, 10_000, 100),
    "MaximumBatchingWindowInSeconds": (0, 300, 0),
    "ParallelizationFactor": (1, 10, 1),
    "MaximumRecordAgeInSeconds": (-1, 604_800, -1),
    "MaximumRetryAttempts": (-1, 10_000, -1),
    "TumblingWindowInSeconds": (0, 900, 0),
}
BOOLEANS = {"BisectBatchOnFunctionError": False}
UPDATABLE = {
    *INTEGER_RANGES,
    *BOOLEANS,
    "FunctionName",
    "Enabled",
    "FilterCriteria",
    "DestinationConfig",
    "FunctionResponseTypes",
}


class ApiError(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def invalid(message: str) -> ApiError:
    return ApiError("InvalidParameterValueException", message)


def front_end(message: str) -> ApiError:
    """A value outside botocore's model (range, enum, pattern): Lambda's front end refuses it first."""
    return ApiError("ValidationException", message)


def not_found(message: str) -> ApiError:
    return ApiError("ResourceNotFoundException", message, 404)


# AWS's exact texts (recorded: tests/conformance/recordings/esm_api.json).
NO_SUCH_MAPPING = "The resource you requested does not exist."
NO_EVENT_SOURCE = "Unrecognized event source."
NO_FUNCTION = "Function does not exist"
BAD_FILTER = "Invalid filter pattern definition."
UNSUPPORTED_DESTINATION = "Unsupported DestinationConfig parameter for given event source mapping type."
# Pasted from AWS (aws-controllers-k8s/community#2865): an OnFailure without its Destination, as Get echoes it.
DESTINATION_REQUIRED = "The Destination field is required for an OnFailure configuration."
# botocore's DestinationArn pattern; Lambda's front end refuses a value outside it (a ValidationException).
DESTINATION_PATTERN = (
    r"$|kafka://([^.]([a-zA-Z0-9\-_.]{0,248}))|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:"
    r"((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*)"
)
# In botocore's range (-1..604800) but refused by Lambda (a stream mapping's answer, pasted from AWS).
RECORD_AGE_BETWEEN = "MaximumRecordAgeInSeconds must be either -1 (forever) or between 60 and 604800 (inclusive)"
STARTING_POSITIONS = ("LATEST", "AT_TIMESTAMP", "TRIM_HORIZON")


def _starting_position(body: dict, source: str) -> str:
    """StartingPosition, checked in AWS's order: enum (front-end ValidationException), presence, support."""
    position = body.get("StartingPosition")
    if position is not None and position not in STARTING_POSITIONS:
        raise front_end(
            f"1 validation error detected: Value '{position}' at 'startingPosition' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(STARTING_POSITIONS)}]",
        )
    if position is None:
        raise invalid(
            "1 validation error detected: Value null at 'startingPosition' failed to satisfy constraint: "
            "Member must not be null."
        )
    if position == "AT_TIMESTAMP":
        raise invalid(f"Unsupported starting position for arn type: {source}")
    return position


# ---------------------------------------------------------------- validation


def _integer(body: dict, name: str, current: int | None = None) -> int:
    low, high, default = INTEGER_RANGES[name]
    if name not in body or body[name] is None:
        return default if current is None else current
    value = body[name]
    if not isinstance(value, int) or isinstance(value, bool):
        raise invalid(f"{name} must be an integer.")
    if name == "MaximumRecordAgeInSeconds" and 0 <= value < 60:
        raise invalid(RECORD_AGE_BETWEEN)
    if not low <= value <= high:
        field = name[0].lower() + name[1:]
        bound = f"less than or equal to {high}" if value > high else f"greater than or equal to {low}"
        raise front_end(
            f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: "
            f"Member must have value {bound}"
        )
    return value


def _boolean(body: dict, name: str, current: bool | None = None) -> bool:
    if name not in body or body[name] is None:
        return BOOLEANS.get(name, True) if current is None else current
    if not isinstance(body[name], bool):
        raise invalid(f"{name} must be true or false.")
    return body[name]


def _response_types(body: dict, current: list[str] | None = None) -> list[str]:
    if "FunctionResponseTypes" not in body or body["FunctionResponseTypes"] is None:
        return [] if current is None else current
    value = body["FunctionResponseTypes"]
    if not isinstance(value, list) or any(v != REPORT_BATCH_ITEM_FAILURES for v in value):
        raise front_end(
            "1 validation error detected: Value at 'functionResponseTypes' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{REPORT_BATCH_ITEM_FAILURES}]"
        )
    return sorted(set(value))


def _destination(body: dict, current: dict | None = None) -> dict:
    if "DestinationConfig" not in body or body["DestinationConfig"] is None:
        return current if current is not None else {"OnFailure": {}}
    config = body["DestinationConfig"]
    if not isinstance(config, dict):
        raise invalid("DestinationConfig must be an object.")
    if (config.get("OnSuccess") or {}).get("Destination"):
        raise invalid(UNSUPPORTED_DESTINATION)
    on_failure = config.get("OnFailure")
    if isinstance(on_failure, dict) and on_failure.get("Destination") is None:
        raise invalid(DESTINATION_REQUIRED)
    target = (on_failure or {}).get("Destination")
    if target in (None, ""):
        return {"OnFailure": {}}
    if not isinstance(target, str) or not re.fullmatch(DESTINATION_PATTERN, target):
        raise front_end(
            f"1 validation error detected: Value '{target}' at 'destinationConfig.onFailure.destination' "
            f"failed to satisfy constraint: Member must satisfy regular expression pattern: {DESTINATION_PATTERN}",
        )
    if not DESTINATION_ARN.match(target):
        raise invalid(f"Invalid destination ARN: {target}. The local daemon accepts an SQS queue or SNS topic ARN.")
    return {"OnFailure": {"Destination": target}}


def _filters(body: dict, current: tuple[dict | None, list] | None = None) -> tuple[dict | None, list]:
    if "FilterCriteria" not in body:
        return current if current is not None else (None, [])
    criteria = body["FilterCriteria"]
    try:
        patterns = parse_filter_criteria(criteria)
    except InvalidFilterPattern as exc:
        # AWS names no detail for a pattern it cannot read; the other refusals keep ours (none recorded)
        raise invalid(BAD_FILTER if exc.message.startswith(BAD_FILTER) else exc.message) from None
    return (criteria if patterns else None), patterns


def _settings(body: dict, function_arn: str, base: Mapping | None = None) -> tuple[MappingSettings, dict]:
    """Validated settings and the API fields to echo, from a request body (over ``base``'s)."""
    api = dict(base.api) if base else {}
    for name in INTEGER_RANGES:
        api[name] = _integer(body, name, api.get(name))
    api["BisectBatchOnFunctionError"] = _boolean(
        body, "BisectBatchOnFunctionError", api.get("BisectBatchOnFunctionError")
    )
    api["FunctionResponseTypes"] = _response_types(body, api.get("FunctionResponseTypes"))
    api["DestinationConfig"] = _destination(body, api.get("DestinationConfig"))
    criteria, patterns = _filters(body, (api.get("FilterCriteria"), base.settings.patterns) if base else None)
    api["FilterCriteria"] = criteria
    settings = MappingSettings(
        function_arn=function_arn,
        batch_size=api["BatchSize"],
        maximum_batching_window_in_seconds=api["MaximumBatchingWindowInSeconds"],
        parallelization_factor=api["ParallelizationFactor"],
        maximum_record_age_in_seconds=api["MaximumRecordAgeInSeconds"],
        bisect_batch_on_function_error=api["BisectBatchOnFunctionError"],
        maximum_retry_attempts=api["MaximumRetryAttempts"],
        tumbling_window_in_seconds=api["TumblingWindowInSeconds"],
        function_response_types=api["FunctionResponseTypes"],
        patterns=patterns,
        on_failure=api["DestinationConfig"]["OnFailure"].get("Destination"),
    )
    return settings, api


def _lambda_backend(account: str, region: str) -> Any:
    # moto's Lambda models load on first use: the daemon answers before they do (server.warm_up loads them).
    from moto.awslambda.models import lambda_backends

    return lambda_backends[account][region]


def _unqualified(arn: str) -> str:
    return ":".join(arn.split(":")[:7])


def _body(request: Request) -> dict:
    raw = request.get_data()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise invalid("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    return body


# ---------------------------------------------------------------- handlers


class MappingApi:
    """The handlers of the event source mapping routes, over one engine in one region and account."""

    def __init__(self, engine: Engine, region: str, account: str):
        self.engine = engine
        self.region = region
        self.account = account

    def resolve_function(self, name: Any) -> str:
        """The ARN of an existing function given its name, ARN or partial ARN (with a qualifier)."""
        if not isinstance(name, str) or not name:
            raise invalid("FunctionName is required.")
        match = FUNCTION_REF.match(name)
        if not match:
            raise invalid(
                f"1 validation error detected: Value '{name}' at 'functionName' failed to satisfy constraint: "
                "Member must satisfy regular expression pattern"
            )
        qualifier = match.group("qualifier")
        try:
            function = _lambda_backend(self.account, self.region).get_function(match.group("name"), qualifier)
        except Exception:
            raise invalid(NO_FUNCTION) from None
        arn = _unqualified(function.function_arn)
        return f"{arn}:{qualifier}" if qualifier else arn

    def describe(self, mapping: Mapping, state: str | None = None) -> dict:
        """EventSourceMappingConfiguration as botocore's model names it."""
        api = mapping.api
        body: dict[str, Any] = {
            "UUID": mapping.uuid,
            "StartingPosition": api["StartingPosition"],
            "BatchSize": api["BatchSize"],
            "MaximumBatchingWindowInSeconds": api["MaximumBatchingWindowInSeconds"],
            "ParallelizationFactor": api["ParallelizationFactor"],
            "EventSourceArn": mapping.stream.arn,
            "FunctionArn": mapping.settings.function_arn,
            "LastModified": mapping.last_modified,
            "LastProcessingResult": mapping.last_result,
            "State": state or mapping.state,
            "StateTransitionReason": mapping.state_reason,
            "DestinationConfig": api["DestinationConfig"],
            "MaximumRecordAgeInSeconds": api["MaximumRecordAgeInSeconds"],
            "BisectBatchOnFunctionError": api["BisectBatchOnFunctionError"],
            "MaximumRetryAttempts": api["MaximumRetryAttempts"],
            "TumblingWindowInSeconds": api["TumblingWindowInSeconds"],
            "FunctionResponseTypes": api["FunctionResponseTypes"],
            "EventSourceMappingArn": f"arn:aws:lambda:{self.region}:{self.account}:event-source-mapping:{mapping.uuid}",
        }
        if api.get("FilterCriteria"):
            body["FilterCriteria"] = api["FilterCriteria"]
        return body

    def _mapping(self, match: re.Match[str]) -> Mapping:
        mapping_uuid = unquote(match.group("uuid"))
        mapping = self.engine.get(mapping_uuid)
        if mapping is None:
            raise not_found(NO_SUCH_MAPPING)
        return mapping

    def create(self, request: Request, match: re.Match[str]) -> Response:
        body = _body(request)
        source = body.get("EventSourceArn")
        if not isinstance(source, str) or not source:
            raise invalid(NO_EVENT_SOURCE)
        _destination(body)  # AWS refuses an unsupported destination before it looks the function up
        function_arn = self.resolve_function(body.get("FunctionName"))
        if not STREAM_ARN.match(source):
            raise invalid(f"Unsupported event source: {source}. The local daemon maps DynamoDB streams only.")
        position = _starting_position(body, source)
        engine = self.engine
        stream = engine.streams.get(source)
        if stream is None:
            raise invalid(f"Stream not found: {source}")
        settings, api = _settings(body, function_arn)
        enabled = _boolean(body, "Enabled")
        with engine.lock:
            for other in engine.all():
                if other.stream is stream and _unqualified(other.settings.function_arn) == _unqualified(function_arn):
                    raise ApiError(
                        "ResourceConflictException",
                        f'The event source arn (" {source} ") and function (" {body["FunctionName"]} ") provided '
                        f"mapping already exists. Please update or delete the existing mapping with UUID {other.uuid}",
                        409,
                    )
            api["StartingPosition"] = position
            stream.trim()
            start = stream.first_index if position == "TRIM_HORIZON" else stream.end_index
            mapping = Mapping(engine, str(uuidlib.uuid4()), stream, api, settings, start, enabled)
            engine.add(mapping)
        return json_response(self.describe(mapping, "Creating"), 202)

    def get(self, request: Request, match: re.Match[str]) -> Response:
        return json_response(self.describe(self._mapping(match)))

    def list_mappings(self, request: Request, match: re.Match[str]) -> Response:
        args = request.args
        source = args.get("EventSourceArn")
        function = args.get("FunctionName")
        try:  # as on AWS, a filter naming no function lists nothing rather than failing
            function_arn = _unqualified(self.resolve_function(function)) if function else None
        except ApiError:
            return json_response({"EventSourceMappings": []})
        try:
            max_items = int(args.get("MaxItems", 100))
            start = int(args.get("Marker", 0) or 0)
        except ValueError:
            raise invalid("MaxItems and Marker must be integers.") from None
        if not 1 <= max_items <= 10_000:
            raise invalid("MaxItems must be between 1 and 10000.")
        found = [
            m
            for m in sorted(self.engine.all(), key=lambda m: m.uuid)
            if (source is None or m.stream.arn == source)
            and (function_arn is None or _unqualified(m.settings.function_arn) == function_arn)
        ]
        page = found[start : start + max_items]
        body: dict[str, Any] = {"EventSourceMappings": [self.describe(m) for m in page]}
        if start + max_items < len(found):
            body["NextMarker"] = str(start + max_items)
        return json_response(body)

    def update(self, request: Request, match: re.Match[str]) -> Response:
        mapping = self._mapping(match)
        body = _body(request)
        unknown = sorted(k for k in body if k not in UPDATABLE and body[k] is not None)
        if unknown:
            raise invalid(f"{unknown[0]} cannot be changed on an existing DynamoDB event source mapping.")
        function_arn = (
            self.resolve_function(body["FunctionName"]) if body.get("FunctionName") else mapping.settings.function_arn
        )
        settings, api = _settings(body, function_arn, mapping)
        enabled = _boolean(body, "Enabled", mapping.state == "Enabled")
        was_enabled = mapping.state == "Enabled"
        mapping.api = api
        if settings != mapping.settings:
            mapping.update_settings(settings)
        if enabled != was_enabled:
            mapping.set_enabled(enabled)
            shown = "Enabling" if enabled else "Disabling"
        else:
            shown = "Updating"
        return json_response(self.describe(mapping, shown), 202)

    def delete(self, request: Request, match: re.Match[str]) -> Response:
        mapping = self._mapping(match)
        self.engine.remove(mapping.uuid)
        return json_response(self.describe(mapping, "Deleting"), 202)

    def metrics(self, request: Request, match: re.Match[str]) -> Response:
        return json_response(self._mapping(match).metrics())


def add_routes(emulator: Emulator, api: MappingApi) -> None:
    """Serve ``api`` on the daemon: Lambda's event source mapping routes and the metrics route."""

    def route(handler: Handler) -> Handler:
        def serve(request: Request, match: re.Match[str]) -> Response:
            try:
                return handler(request, match)
            except ApiError as exc:
                return aws_error(exc.code, exc.message, exc.status)

        return serve

    one = f"{BASE}/(?P<uuid>[^/]+)/?"
    emulator.add_route("POST", f"{BASE}/?", route(api.create))
    emulator.add_route("GET", f"{BASE}/?", route(api.list_mappings))
    emulator.add_route("GET", one, route(api.get))
    emulator.add_route("PUT", one, route(api.update))
    emulator.add_route("DELETE", one, route(api.delete))
    emulator.add_route("GET", r"/_ddbstream/mappings/(?P<uuid>[^/]+)/metrics", route(api.metrics))
