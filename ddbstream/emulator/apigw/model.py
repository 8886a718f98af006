"""The HTTP APIs moto keeps, as the gateway serves them: routes, their integrations, the stage.

Route selection follows API Gateway's: a route with no path variables beats one with
variables, more literal segments beat fewer, a ``{proxy+}`` greedy variable comes last, a
method beats ``ANY``, and ``$default`` catches what nothing else matched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_LAMBDA_IN_URI = re.compile(r"(arn:aws[\w-]*:lambda:[a-z0-9-]+:\d{12}:function:[^/]+?)(?:/invocations)?$")


@dataclass(frozen=True)
class RouteView:
    key: str  # "GET /dynamo", "ANY /items/{id}", "$default"
    method: str  # "GET", ..., "ANY"; "" for $default
    segments: tuple[str, ...]  # the path split on "/", variables kept as "{name}" / "{name+}"
    integration: Any  # moto's Integration, or None when the route has no target

    def match(self, method: str, segments: list[str]) -> dict[str, str] | None:
        """The path parameters when this route takes the request, else None."""
        if self.method not in ("ANY", method):
            return None
        params: dict[str, str] = {}
        for index, part in enumerate(self.segments):
            if part.startswith("{") and part.endswith("+}"):
                rest = segments[index:]
                if not rest or rest == [""]:
                    return None
                params[part[1:-2]] = "/".join(rest)
                return params
            if index >= len(segments):
                return None
            if part.startswith("{") and part.endswith("}"):
                if not segments[index]:
                    return None
                params[part[1:-1]] = segments[index]
            elif part != segments[index]:
                return None
        return params if len(segments) == len(self.segments) else None

    def rank(self) -> tuple[int, int, int, int]:
        greedy = any(p.endswith("+}") for p in self.segments)
        literal = sum(1 for p in self.segments if not p.startswith("{"))
        variables = len(self.segments) - literal
        return (not greedy, literal, -variables, self.method != "ANY")


@dataclass
class HttpApi:
    """One HTTP API read from moto now: what a request needs to be routed and answered."""

    api_id: str
    name: str
    routes: list[RouteView]
    default_route: RouteView | None
    stage: Any  # moto's $default Stage, or None (the API is not deployed)
    cors: dict[str, Any] = field(default_factory=dict)

    def select(self, method: str, path: str) -> tuple[RouteView, dict[str, str]] | None:
        segments = path.lstrip("/").split("/")
        found = [
            (route.rank(), route, params)
            for route in self.routes
            if (params := route.match(method, segments)) is not None
        ]
        if found:
            _, route, params = max(found, key=lambda entry: entry[0])
            return route, params
        return (self.default_route, {}) if self.default_route else None


def apis_backend(account: str, region: str) -> Any:
    from moto.apigatewayv2.models import apigatewayv2_backends

    return apigatewayv2_backends[account][region]


def find_api(account: str, region: str, api_id: str) -> HttpApi | None:
    """The HTTP API ``api_id`` as moto holds it now, or None."""
    api = apis_backend(account, region).apis.get(api_id)
    if api is None or api.protocol_type != "HTTP":
        return None
    routes, default = [], None
    for route in api.routes.values():
        target = route.target or ""
        integration = api.integrations.get(target.removeprefix("integrations/")) if target else None
        view = _route_view(route.route_key, integration)
        if view.key == "$default":
            default = view
        else:
            routes.append(view)
    return HttpApi(api.api_id, api.name, routes, default, api.stages.get("$default"), api.cors_configuration or {})


def list_apis(account: str, region: str) -> list[HttpApi]:
    ids = [api_id for api_id, api in apis_backend(account, region).apis.items() if api.protocol_type == "HTTP"]
    return [api for api in (find_api(account, region, i) for i in ids) if api is not None]


def _route_view(route_key: str, integration: Any) -> RouteView:
    if route_key == "$default":
        return RouteView("$default", "", (), integration)
    method, _, path = route_key.partition(" ")
    return RouteView(route_key, method.upper(), tuple(path.lstrip("/").split("/")), integration)


def function_of(integration: Any) -> str | None:
    """The Lambda function ARN an AWS_PROXY integration calls (its URI is the ARN or an invocations path)."""
    if integration is None or (integration.integration_type or "").upper() != "AWS_PROXY":
        return None
    match = _LAMBDA_IN_URI.search(integration.integration_uri or "")
    return match.group(1) if match else None
