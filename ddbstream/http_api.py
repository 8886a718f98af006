"""Requests to the stack's HTTP API (`ddbstream api`), and the event bus's deliveries (`tail --bus`).

A request is written as httpie writes one: ``name=value`` (a JSON string field), ``name:=json``
(a raw JSON field), ``name==value`` (a query parameter), ``Name:value`` (a header) and
``@file.json`` (the body, ``@-`` for stdin). Fields make a JSON object body.
"""

from __future__ import annotations

import http.client
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from ddbstream.daemon import daemon_get
from ddbstream.errors import DaemonError, InvalidInput, NotFound
from ddbstream.pipeline import Pipeline

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_SEPARATORS = ("==", ":=", "=", ":")  # at the same position, the longer one wins


@dataclass
class ApiRequest:
    method: str
    path: str
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | None = None


@dataclass
class ApiResponse:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes


def build_request(method: str, path: str, items: list[str]) -> ApiRequest:
    """The request the command line describes; InvalidInput naming what is wrong."""
    method = method.upper()
    if method not in METHODS:
        raise InvalidInput(f"unknown method {method!r}: use one of {', '.join(METHODS)}")
    if not path.startswith("/"):
        raise InvalidInput(f"the path must start with '/', not {path!r}")
    request = ApiRequest(method, path)
    fields: dict[str, Any] = {}
    for item in items:
        if item.startswith("@"):
            if request.body is not None:
                raise InvalidInput("only one @file body can be given")
            request.body = _read_body(item[1:])
            continue
        name, separator, value = _split(item)
        if separator == "==":
            request.query.append((name, value))
        elif separator == ":":
            request.headers.append((name, value.strip()))
        elif separator == ":=":
            try:
                fields[name] = json.loads(value)
            except ValueError:
                raise InvalidInput(f"{item!r}: the value after ':=' is not JSON") from None
        else:
            fields[name] = value
    if fields:
        if request.body is not None:
            raise InvalidInput("give either fields (name=value) or an @file body, not both")
        request.body = json.dumps(fields).encode()
        request.headers.append(("Content-Type", "application/json"))
    return request


def _split(item: str) -> tuple[str, str, str]:
    found = [(item.find(s), -len(s), s) for s in _SEPARATORS if item.find(s) > 0]
    if not found:
        raise InvalidInput(f"{item!r} is not name=value, name:=json, name==query, Header:value or @file")
    index, _, separator = min(found)
    return item[:index], separator, item[index + len(separator) :]


def _read_body(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read the body file {name}: {exc.strerror}") from None


def api_base_url(pipeline: Pipeline, api_id: str | None = None) -> str:
    """The base URL of the stack's HTTP API (``api_id``, or the only one)."""
    apis = _local_apis(pipeline) if pipeline.is_local else _aws_apis(pipeline)
    if api_id is not None:
        url = apis.get(api_id)
        if url is None:
            raise NotFound(f"the stack has no HTTP API {api_id!r} with a $default stage")
        return url
    if not apis:
        raise NotFound("the stack has no HTTP API with a $default stage")
    if len(apis) > 1:
        raise InvalidInput(f"the stack has {len(apis)} HTTP APIs: name one with --api ({', '.join(sorted(apis))})")
    return next(iter(apis.values()))


def _local_apis(pipeline: Pipeline) -> dict[str, str]:
    listed = daemon_get(pipeline.endpoint or "", pipeline.secret, "/_ddbstream/apis")
    if listed is None:
        raise DaemonError("the local daemon did not list its HTTP APIs (is it running? try 'ddbstream status')")
    return {api["apiId"]: api["url"] for api in listed.get("apis", []) if api.get("url")}


def _aws_apis(pipeline: Pipeline) -> dict[str, str]:
    client = pipeline.client("apigatewayv2")
    return {api["ApiId"]: api["ApiEndpoint"] for api in client.get_apis().get("Items", []) if api.get("ApiEndpoint")}


def send(base_url: str, request: ApiRequest, timeout: float = 60.0) -> ApiResponse:
    """Make the request; DaemonError when nothing answers."""
    address = urlsplit(base_url)
    connection_type = http.client.HTTPSConnection if address.scheme == "https" else http.client.HTTPConnection
    connection = connection_type(address.hostname or "127.0.0.1", address.port, timeout=timeout)
    target = address.path.rstrip("/") + request.path
    if request.query:
        target += ("&" if "?" in target else "?") + urlencode(request.query)
    try:
        connection.request(request.method, target, body=request.body, headers=dict(request.headers))
        response = connection.getresponse()
        return ApiResponse(response.status, response.reason, response.getheaders(), response.read())
    except OSError as exc:
        raise DaemonError(f"the API at {base_url} did not answer: {exc}") from None
    finally:
        connection.close()


def bus_deliveries(pipeline: Pipeline, after: int = 0, since: float = 0.0) -> list[dict[str, Any]]:
    """The deliveries the local event bus made, numbered above ``after``, made at or after ``since``."""
    if not pipeline.is_local:
        raise InvalidInput("tail --bus follows the local event bus; on AWS, tail a log group the rule targets")
    path = f"/_ddbstream/events/deliveries?after={after}&since={since}"
    listed = daemon_get(pipeline.endpoint or "", pipeline.secret, path)
    if listed is None:
        raise DaemonError("the local daemon did not list the bus's deliveries (is it running? try 'ddbstream status')")
    return listed.get("deliveries", [])
