"""Payload format 2.0: the event API Gateway builds from an HTTP request, and how it reads the
function's response (``Reply``), as "Working with AWS Lambda proxy integrations for HTTP APIs"
describes them."""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.wrappers import Request

# Bodies of these media types reach the function as text; any other body is base64-encoded.
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")
_TEXT_SUFFIXES = ("+json", "+xml")


class MalformedResponse(ValueError):
    """A function response API Gateway cannot map (it answers 502)."""


@dataclass
class Reply:
    """What the gateway sends the client."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def request_id() -> str:
    """An id shaped like API Gateway's (16 characters of base64)."""
    return base64.b64encode(secrets.token_bytes(10)).decode()[:15] + "="


def build_event(request: Request, api_id: str, account: str, route_key: str, path_parameters: dict[str, str],
                raw_path: str, rid: str, now: float) -> dict[str, Any]:  # fmt: skip
    """The payload 2.0 event for ``request`` (``raw_path`` is its path as the API sees it)."""
    headers, cookies = _headers_and_cookies(request)
    host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
    raw_query = request.environ.get("QUERY_STRING", "")
    event: dict[str, Any] = {"version": "2.0", "routeKey": route_key, "rawPath": raw_path, "rawQueryString": raw_query}
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    query = _joined(parse_qsl(raw_query, keep_blank_values=True))
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": account,
        "apiId": api_id,
        "domainName": host,
        "domainPrefix": host.split(".", 1)[0],
        "http": {
            "method": request.method,
            "path": raw_path,
            "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            "sourceIp": request.remote_addr or "",
            "userAgent": request.headers.get("User-Agent", ""),
        },
        "requestId": rid,
        "routeKey": route_key,
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if path_parameters:
        event["pathParameters"] = path_parameters
    body = request.get_data(cache=True)
    if body:
        text = _as_text(body, request.headers.get("Content-Type", ""))
        event["body"] = text if text is not None else base64.b64encode(body).decode()
        event["isBase64Encoded"] = text is None
    else:
        event["isBase64Encoded"] = False
    return event


def _headers_and_cookies(request: Request) -> tuple[dict[str, str], list[str]]:
    """Lower-cased headers, repeats comma-joined; the Cookie header becomes the cookies list."""
    pairs: list[tuple[str, str]] = []
    cookies: list[str] = []
    for name, value in request.headers.items():
        if name.lower() == "cookie":
            cookies += [c.strip() for c in value.split(";") if c.strip()]
        else:
            pairs.append((name.lower(), value))
    port = str(request.environ.get("SERVER_PORT", ""))
    pairs += [("x-forwarded-for", request.remote_addr or ""), ("x-forwarded-port", port), ("x-forwarded-proto", "http")]
    return _joined(pairs), cookies


def _joined(pairs: list[tuple[str, str]]) -> dict[str, str]:
    joined: dict[str, str] = {}
    for name, value in pairs:
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    return joined


def _as_text(body: bytes, content_type: str) -> str | None:
    media = content_type.split(";", 1)[0].strip().lower()
    if not (media.startswith(_TEXT_TYPES) or media.endswith(_TEXT_SUFFIXES)):
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def read_response(payload: bytes) -> Reply:
    """Map a function's response as API Gateway does for payload 2.0; raise MalformedResponse."""
    try:
        doc = json.loads(payload or b"null")
    except ValueError:
        raise MalformedResponse("the response is not JSON") from None
    if not (isinstance(doc, dict) and "statusCode" in doc):
        # No statusCode: the whole response is a 200 JSON body.
        return Reply(200, [("content-type", "application/json")], payload or b"null")
    status = doc["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise MalformedResponse("statusCode is not an HTTP status")
    reply = Reply(status, _response_headers(doc), b"")
    body = doc.get("body")
    if body is not None and not isinstance(body, str):
        raise MalformedResponse("body is not a string")
    if body and doc.get("isBase64Encoded") is True:
        try:
            reply.body = base64.b64decode(body, validate=True)
        except ValueError:
            raise MalformedResponse("body is not valid base64") from None
    elif body:
        reply.body = body.encode()
    return reply


def _response_headers(doc: dict[str, Any]) -> list[tuple[str, str]]:
    headers, multi, cookies = doc.get("headers") or {}, doc.get("multiValueHeaders") or {}, doc.get("cookies") or []
    if not isinstance(headers, dict) or not isinstance(multi, dict) or not isinstance(cookies, list):
        raise MalformedResponse("headers, multiValueHeaders or cookies have the wrong type")
    pairs = [(str(name), _header_value(value)) for name, value in headers.items()]
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedResponse("multiValueHeaders values must be lists")
        pairs += [(str(name), _header_value(value)) for value in values]
    return pairs + [("set-cookie", _header_value(cookie)) for cookie in cookies]


def _header_value(value: Any) -> str:
    if isinstance(value, (dict, list)) or value is None:
        raise MalformedResponse("a header value must be a string, number or boolean")
    text = json.dumps(value) if isinstance(value, bool) else str(value)
    if "\r" in text or "\n" in text:
        raise MalformedResponse("a header value holds a line break")
    return text


def error_reply(status: int, message: str, rid: str) -> Reply:
    """API Gateway's own error answer: ``{"message": "..."}``."""
    body = json.dumps({"message": message}).encode()
    return Reply(status, [("content-type", "application/json"), ("apigw-requestid", rid)], body)
