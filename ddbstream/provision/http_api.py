"""The CRUD API, as infra/modules/http_api defines it: lambda/api's function behind an HTTP API.

The function goes through the same code as the consumer (function.deploy_function); then the
API, its AWS_PROXY integration (payload 2.0), the GET/POST/PATCH/DELETE routes on /dynamo, the
``$default`` stage (auto-deploy, JSON access logs, throttling) and the permission letting API
Gateway invoke the function. A second run reconciles: nothing is created twice, and what was
changed outside ddbstream is put back (the plan says so: ddbstream/plan/http_api.py compares the
same settings, built here).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ddbstream.errors import SpecError
from ddbstream.names import lambda_log_group
from ddbstream.provision.event_bus import EVENT_DETAIL_TYPE, EVENT_SOURCE, bus_name, spec_tags
from ddbstream.provision.function import FunctionDefinition, deploy_function, ensure_log_group
from ddbstream.provision.run import Provisioning
from ddbstream.spec import Spec

# Fixed by infra/modules/http_api (its variables' defaults, not pipeline variables).
PATH = "/dynamo"
METHODS = ("GET", "POST", "PATCH", "DELETE")
RUNTIME = "python3.12"
HANDLER = "app.lambda_handler"
MEMORY_SIZE = 256
TIMEOUT = 10
INTEGRATION_TIMEOUT_MS = 10000
STAGE = "$default"
DESCRIPTION = f"CRUD API on {PATH} (deployed by ddbstream)"
PERMISSION_ID = "AllowHttpApiInvoke"
# API Gateway's $context variables, one JSON object per request (the module's access_log_format).
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "routeKey": "$context.routeKey",
    "path": "$context.path",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationErrorMessage": "$context.integrationErrorMessage",
}


def api_names(spec: Spec) -> dict[str, str]:
    """The API's name, its function's and its access log group's (infra/main.tf derives the same)."""
    table = spec["table_name"]
    return {
        "api_name": f"{table}-api",
        "function_name": f"{table}_api",
        "access_log_group": f"/aws/apigateway/{table}-api",
    }


def source_dir(spec: Spec) -> Path:
    """The API's code: the project's lambda/api (infra/main.tf packages the same directory)."""
    return spec.project_dir / "lambda" / "api"


def check_api(spec: Spec) -> None:
    """The API reads items by one string key (lambda/api/app.py): refuse other tables up front."""
    if not spec.get("enable_api"):
        return
    if spec.get("range_key") or spec.get("hash_key_type") != "S":
        raise SpecError(
            "enable_api needs a table keyed by one string attribute (hash_key_type S, no range_key): "
            "the CRUD API reads and writes items by that key alone"
        )
    if not (source_dir(spec) / "app.py").is_file():
        raise SpecError(f"{source_dir(spec)}: no app.py there: enable_api deploys the CRUD API from that directory")


def api_environment(spec: Spec, resources: dict[str, Any]) -> dict[str, str]:
    """The function's variables (lambda/api/app.py reads them), as infra/main.tf sets them."""
    env = {
        "TABLE_NAME": resources.get("table_name") or spec["table_name"],
        "KEY_NAME": spec["hash_key"],
        "POWERTOOLS_SERVICE_NAME": api_names(spec)["api_name"],
    }
    bus = bus_name(spec)
    if bus:
        env.update(EVENT_BUS_NAME=bus, EVENT_SOURCE=EVENT_SOURCE, EVENT_DETAIL_TYPE=EVENT_DETAIL_TYPE)
    return env


def access_log_format() -> str:
    return json.dumps(ACCESS_LOG_FIELDS, separators=(",", ":"), sort_keys=True)


def api_function(spec: Spec, resources: dict[str, Any]) -> FunctionDefinition:
    """lambda/api's function as infra/modules/http_api defines it (``resources``: what its environment names)."""
    names = api_names(spec)
    return FunctionDefinition(
        name=names["function_name"],
        directory=source_dir(spec),
        runtime=RUNTIME,
        handler=HANDLER,
        memory_size=MEMORY_SIZE,
        timeout=TIMEOUT,
        environment=api_environment(spec, resources),
        description=f"CRUD API behind the HTTP API {names['api_name']} (deployed by ddbstream)",
        log_retention_days=int(spec.get("log_retention_days") or 0),
        tags=spec_tags(spec),
    )


def api_settings(spec: Spec) -> dict[str, str]:
    """The API's CreateApi settings (the plan compares the same)."""
    return {"Name": api_names(spec)["api_name"], "ProtocolType": "HTTP", "Description": DESCRIPTION}


def integration_settings(function_arn: str) -> dict[str, Any]:
    """The AWS_PROXY integration to the function (payload 2.0), as CreateIntegration takes it."""
    return {
        "IntegrationType": "AWS_PROXY",
        "IntegrationMethod": "POST",
        "IntegrationUri": function_arn,
        "PayloadFormatVersion": "2.0",
        "TimeoutInMillis": INTEGRATION_TIMEOUT_MS,
    }


def own_integration(items: list[dict[str, Any]], function_arn: str | None) -> dict[str, Any] | None:
    """The API's integration ddbstream manages: the one to the function, else the first."""
    return next((i for i in items if i.get("IntegrationUri") == function_arn), items[0] if items else None)


def route_keys() -> list[str]:
    return [f"{method} {PATH}" for method in METHODS]


def route_target(integration_id: str) -> str:
    return f"integrations/{integration_id}"


def stage_settings(spec: Spec, log_group_arn: str) -> dict[str, Any]:
    """The $default stage's settings: auto-deploy, JSON access logs, throttling."""
    return {
        "AutoDeploy": True,
        "AccessLogSettings": {"DestinationArn": log_group_arn, "Format": access_log_format()},
        "DefaultRouteSettings": {
            "ThrottlingBurstLimit": int(spec["api_throttling_burst_limit"]),
            "ThrottlingRateLimit": float(spec["api_throttling_rate_limit"]),
        },
    }


def stage_value(stage: dict[str, Any], key: str) -> Any:
    """A setting of a GetStages item, in stage_settings' shape."""
    value = stage.get(key)
    if key == "DefaultRouteSettings":
        value = {k: (value or {}).get(k) for k in ("ThrottlingBurstLimit", "ThrottlingRateLimit")}
    return value


def permission_settings(source_arn: str) -> dict[str, str]:
    """API Gateway may invoke the function for ``source_arn`` (permission_source) alone."""
    return {
        "StatementId": PERMISSION_ID,
        "Action": "lambda:InvokeFunction",
        "Principal": "apigateway.amazonaws.com",
        "SourceArn": source_arn,
    }


def permission_source(function_arn: str, api_id: str) -> str:
    """This API's routes on PATH: its execution ARN, any stage, any method."""
    return f"{execution_arn(function_arn, api_id)}/*/*{PATH}"


def permission_in(policy: str) -> dict[str, Any] | None:
    """ddbstream's statement of a function's resource policy (GetPolicy), in permission_settings' shape."""
    statements = json.loads(policy).get("Statement", [])
    found = next((s for s in statements if s.get("Sid") == PERMISSION_ID), None)
    if found is None:
        return None
    principal = found.get("Principal")
    return {
        "StatementId": PERMISSION_ID,
        "Action": found.get("Action"),
        "Principal": principal.get("Service") if isinstance(principal, dict) else principal,
        "SourceArn": ((found.get("Condition") or {}).get("ArnLike") or {}).get("AWS:SourceArn"),
    }


def provision_http_api(run: Provisioning) -> None:
    """The function, the API with its integration, routes, stage and invoke permission (enable_api)."""
    spec = run.spec
    if not spec.get("enable_api"):
        return
    names = api_names(spec)
    definition = api_function(spec, run.resources)
    function = deploy_function(run, definition)
    gateway = run.client("apigatewayv2")
    api_id = _api(run, gateway, api_settings(spec), definition.tags)
    integration = _integration(gateway, api_id, function["FunctionArn"])
    _routes(gateway, api_id, integration)
    ensure_log_group(run.client("logs"), names["access_log_group"], definition.log_retention_days, definition.tags)
    log_arn = log_group_arn(function["FunctionArn"], names["access_log_group"])
    _stage(gateway, api_id, stage_settings(spec, log_arn), definition.tags)
    _permission(run.client("lambda"), function["FunctionArn"], api_id)
    run.resources.update(
        api_id=api_id,
        api_function_name=names["function_name"],
        api_log_group=lambda_log_group(names["function_name"]),
        api_access_log_group=names["access_log_group"],
    )


def _api(run: Provisioning, gateway: Any, settings: dict[str, str], tags: dict[str, str]) -> str:
    """The API of that name (its description put back), else a new one."""
    found = [a for a in gateway.get_apis().get("Items", []) if a["Name"] == settings["Name"]]
    found = [a for a in found if a["ProtocolType"] == settings["ProtocolType"]]
    if found:
        if found[0].get("Description") != settings["Description"]:
            gateway.update_api(ApiId=found[0]["ApiId"], Description=settings["Description"])
        return found[0]["ApiId"]
    run.progress(f"creating HTTP API {settings['Name']}")
    return gateway.create_api(**settings, Tags=tags)["ApiId"]


def _integration(gateway: Any, api_id: str, function_arn: str) -> str:
    """The AWS_PROXY integration to the function (one; a changed one is put back)."""
    desired = integration_settings(function_arn)
    integration = own_integration(gateway.get_integrations(ApiId=api_id).get("Items", []), function_arn)
    if integration is None:
        return gateway.create_integration(ApiId=api_id, **desired)["IntegrationId"]
    changed = {k: v for k, v in desired.items() if integration.get(k) != v}
    if changed:
        gateway.update_integration(ApiId=api_id, IntegrationId=integration["IntegrationId"], **changed)
    return integration["IntegrationId"]


def _routes(gateway: Any, api_id: str, integration_id: str) -> None:
    target = route_target(integration_id)
    current = {r["RouteKey"]: r for r in gateway.get_routes(ApiId=api_id).get("Items", [])}
    for key in route_keys():
        route = current.get(key)
        if route is None:
            gateway.create_route(ApiId=api_id, RouteKey=key, Target=target)
        elif route.get("Target") != target:
            gateway.update_route(ApiId=api_id, RouteId=route["RouteId"], Target=target)


def _stage(gateway: Any, api_id: str, desired: dict[str, Any], tags: dict[str, str]) -> None:
    """The $default stage; one that differs is recreated (moto has no UpdateStage)."""
    current = next((s for s in gateway.get_stages(ApiId=api_id).get("Items", []) if s["StageName"] == STAGE), None)
    if current is not None:
        if all(stage_value(current, k) == v for k, v in desired.items()):
            return
        gateway.delete_stage(ApiId=api_id, StageName=STAGE)
    gateway.create_stage(ApiId=api_id, StageName=STAGE, Tags=tags, **desired)


def _permission(lam: Any, function_arn: str, api_id: str) -> None:
    """The invoke permission; one that differs is removed and added again (a permission has no update)."""
    desired = permission_settings(permission_source(function_arn, api_id))
    try:
        current = permission_in(lam.get_policy(FunctionName=function_arn)["Policy"])
    except lam.exceptions.ResourceNotFoundException:
        current = None
    if current == desired:
        return
    if current is not None:
        lam.remove_permission(FunctionName=function_arn, StatementId=PERMISSION_ID)
    lam.add_permission(FunctionName=function_arn, **desired)


def execution_arn(function_arn: str, api_id: str) -> str:
    """arn:aws:execute-api:REGION:ACCOUNT:API_ID, in the function's partition, region and account."""
    _, partition, _, region, account = function_arn.split(":", 5)[:5]
    return f"arn:{partition}:execute-api:{region}:{account}:{api_id}"


def log_group_arn(function_arn: str, group: str) -> str:
    """A log group's ARN (no ``:*``) in the function's partition, region and account."""
    _, partition, _, region, account = function_arn.split(":", 5)[:5]
    return f"arn:{partition}:logs:{region}:{account}:log-group:{group}"
