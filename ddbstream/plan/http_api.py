"""The CRUD API in a plan (enable_api): lambda/api's function and its log group, the HTTP API, its
integration, routes, ``$default`` stage with its access log group, and the invoke permission.

The desired values come from provision/http_api.py's builders, the ones `up` applies; the
addresses are infra/modules/http_api's, as ``module.http_api[0]`` in the root module.
"""

from __future__ import annotations

from typing import Any

from ddbstream.names import lambda_log_group
from ddbstream.plan.actual import ClientFactory, missing_is_none, read_function, read_log_group, with_outputs
from ddbstream.plan.desired import function_resource, log_group, resource
from ddbstream.plan.diff import kept_output
from ddbstream.plan.model import UNKNOWN, Resource
from ddbstream.provision import function, http_api
from ddbstream.spec import Spec

MODULE = "module.http_api[0]"
FUNCTION = f"{MODULE}.aws_lambda_function.this"
FUNCTION_LOGS = f"{MODULE}.aws_cloudwatch_log_group.function"
API = f"{MODULE}.aws_apigatewayv2_api.this"
INTEGRATION = f"{MODULE}.aws_apigatewayv2_integration.this"
ROUTE = MODULE + '.aws_apigatewayv2_route.this["{}"]'
ACCESS_LOGS = f"{MODULE}.aws_cloudwatch_log_group.this"
STAGE = f"{MODULE}.aws_apigatewayv2_stage.this"
PERMISSION = f"{MODULE}.aws_lambda_permission.this"


def wanted(spec: Spec, actual: dict[str, Resource]) -> dict[str, Resource]:
    """What enable_api asks for; the ids and ARNs of what the plan keeps come from ``actual``."""
    if not spec.get("enable_api"):
        return {}
    names = http_api.api_names(spec)
    definition = http_api.api_function(spec, {})
    code_hash = function.code_sha256(function.function_code(definition.directory, definition.runtime))
    lam = function_resource(FUNCTION, definition, code_hash)
    api = resource(API, "HTTP API", names["api_name"], http_api.api_settings(spec))
    access = log_group(ACCESS_LOGS, names["access_log_group"], spec)
    found = [lam, log_group(FUNCTION_LOGS, lambda_log_group(definition.name), spec), api, access]
    function_arn, api_id = kept_output(lam, actual, "function_arn"), kept_output(api, actual, "api_id")
    integration = _part(INTEGRATION, "integration", api.name, api_id, http_api.integration_settings(function_arn))
    integration_id = kept_output(integration, actual, "integration_id")
    target = UNKNOWN if integration_id == UNKNOWN else http_api.route_target(integration_id)
    found += [integration] + [
        _part(ROUTE.format(key), "route", api.name, api_id, {"RouteKey": key, "Target": target}, key)
        for key in http_api.route_keys()
    ]
    settings = {"StageName": http_api.STAGE, **http_api.stage_settings(spec, kept_output(access, actual, "arn"))}
    found.append(_part(STAGE, "stage", api.name, api_id, settings, http_api.STAGE))
    known = UNKNOWN not in (function_arn, api_id)
    source = http_api.permission_source(function_arn, api_id) if known else UNKNOWN
    found.append(_permission(definition.name, http_api.permission_settings(source)))
    return {r.address: r for r in found}


def _part(
    address: str, kind: str, api_name: str, api_id: str, settings: dict[str, Any], label: str = "", ident: str = ""
) -> Resource:
    """A part of an API (integration, route, stage), named after it: "users-api GET /dynamo"."""
    return resource(address, kind, f"{api_name} {label}".strip(), {"ApiId": api_id, **settings}, ident=ident)


def _permission(function_name: str, settings: dict[str, Any]) -> Resource:
    statement = settings["StatementId"]
    attributes = {"FunctionName": function_name, **settings}
    return resource(
        PERMISSION, "permission", f"{statement} on {function_name}", attributes, f"{function_name}/{statement}"
    )


def deployed(spec: Spec, client: ClientFactory, recorded: dict[str, Any]) -> dict[str, Resource]:
    """The API's resources that exist: the ones state.json recorded, else those the spec names."""
    enabled = bool(spec.get("enable_api"))
    names = http_api.api_names(spec)
    function_name = recorded.get("api_function_name") or (names["function_name"] if enabled else None)
    access_group = recorded.get("api_access_log_group") or (names["access_log_group"] if enabled else None)
    found: list[Resource | None] = []
    if function_name:
        lam, logs = client("lambda"), client("logs")
        group = recorded.get("api_log_group") or lambda_log_group(function_name)
        found += [
            missing_is_none(lambda: read_function(lam, FUNCTION, function_name)),
            missing_is_none(lambda: read_log_group(logs, FUNCTION_LOGS, group)),
            missing_is_none(lambda: _read_permission(lam, function_name)),
        ]
    if access_group:
        found.append(missing_is_none(lambda: read_log_group(client("logs"), ACCESS_LOGS, access_group)))
    gateway = client("apigatewayv2")
    api = missing_is_none(lambda: _read_api(gateway, recorded.get("api_id"), names["api_name"] if enabled else None))
    if api is not None:
        function_arn = next((r.outputs.get("function_arn") for r in found if r and r.address == FUNCTION), None)
        found += [api, *_read_parts(spec, gateway, api, function_arn)]
    return {r.address: r for r in found if r is not None}


def _read_api(gateway: Any, api_id: str | None, name: str | None) -> Resource | None:
    """The API state.json recorded, else the one named ``name``."""
    if api_id:
        found = gateway.get_api(ApiId=api_id)
    else:
        found = next((a for a in gateway.get_apis().get("Items", []) if name and a["Name"] == name), None)
        if found is None:
            return None
    settings = {k: found.get(k) for k in ("Name", "ProtocolType", "Description")}
    return with_outputs(resource(API, "HTTP API", found["Name"], settings, ident=found["ApiId"]), api_id=found["ApiId"])


def _read_parts(spec: Spec, gateway: Any, api: Resource, function_arn: str | None) -> list[Resource]:
    """The API's integration (the one to the function), its routes on the path and its $default stage."""
    api_id = api.ident
    found = []
    integration = http_api.own_integration(gateway.get_integrations(ApiId=api_id).get("Items", []), function_arn)
    if integration is not None:
        integration_id = integration["IntegrationId"]
        settings = {k: integration.get(k) for k in http_api.integration_settings("")}
        made = _part(INTEGRATION, "integration", api.name, api_id, settings, ident=f"{api_id}/{integration_id}")
        found.append(with_outputs(made, integration_id=integration_id))
    for route in gateway.get_routes(ApiId=api_id).get("Items", []):
        key = route["RouteKey"]
        if key in http_api.route_keys():
            settings = {"RouteKey": key, "Target": route.get("Target")}
            found.append(
                _part(ROUTE.format(key), "route", api.name, api_id, settings, key, f"{api_id}/{route['RouteId']}")
            )
    for stage in gateway.get_stages(ApiId=api_id).get("Items", []):
        if stage["StageName"] == http_api.STAGE:
            settings = {k: http_api.stage_value(stage, k) for k in http_api.stage_settings(spec, "")}
            settings = {"StageName": http_api.STAGE, **settings}
            found.append(
                _part(STAGE, "stage", api.name, api_id, settings, http_api.STAGE, f"{api_id}/{http_api.STAGE}")
            )
    return found


def _read_permission(lam: Any, function_name: str) -> Resource | None:
    settings = http_api.permission_in(lam.get_policy(FunctionName=function_name)["Policy"])
    return _permission(function_name, settings) if settings is not None else None
