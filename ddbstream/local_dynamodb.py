"""A lean DynamoDB client for the local daemon: the item commands without importing botocore.

botocore costs a short command ~150 ms (importing it, then building a client from its
models); `put` and `get` need one JSON request. This client sends the request botocore
would send (the DynamoDB JSON protocol, signed with SigV4: same target, content type, body
and signed headers) and answers as a botocore client does: the same dict, binary values as
bytes, errors raised as botocore's own ClientError (same code, message and retry note) or
EndpointConnectionError & co., and botocore's standard retries as `clients.local_client`
configures them (3 attempts, throttling and transient errors, its backoff and crc32 check).
botocore's exceptions are imported only when a call fails. Used only for the local daemon,
whose credentials are the stack secret; the aws target keeps botocore and its credential chain.
Timestamps (DescribeTable's) stay numbers: the item commands never read them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import random
import sys
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from ddbstream import __version__

MAX_ATTEMPTS = 3  # local_client's Config(retries={"max_attempts": 2}): two retries
TARGET_PREFIX = "DynamoDB_20120810"
CONTENT_TYPE = "application/x-amz-json-1.0"
# Parameters and answer members holding an attribute-value map (where binary values are base64).
_MAPS_SENT = ("Item", "Key", "ExclusiveStartKey", "ExpressionAttributeValues")
_MAPS_RECEIVED = ("Item", "Attributes", "LastEvaluatedKey")

# What botocore's standard retry mode retries (botocore/retries/standard.py), for DynamoDB.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
TRANSIENT_CODES = frozenset({"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"})
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
# DynamoDB's modeled errors for these operations (service-2.json) and the members botocore copies
# from their body into the error response; a 429 naming one of them is not retried as throttling.
MODELED_ERRORS: dict[str, tuple[str, ...]] = {
    "ConditionalCheckFailedException": ("message", "Item"),
    "ProvisionedThroughputExceededException": ("message", "ThrottlingReasons"),
    "ResourceNotFoundException": ("message",),
    "ItemCollectionSizeLimitExceededException": ("message",),
    "TransactionConflictException": ("message",),
    "RequestLimitExceeded": ("message", "ThrottlingReasons"),
    "InternalServerError": ("message",),
    "ReplicatedWriteConflictException": ("message",),
    "ThrottlingException": ("message", "throttlingReasons"),
}
_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem"})  # their model marks ReplicatedWriteConflict retryable
THROTTLING_SCALE, TRANSIENT_SCALE, MAX_BACKOFF, RETRY_AFTER_EXTRA = 1.0, 0.025, 20.0, 5.0


class _Transport(Exception):
    """No HTTP answer: ``kind`` names the botocore exception it becomes (connect, connect-timeout...)."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


class _Answer:
    """One HTTP answer: status, headers (lower-case names) and body."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes):
        self.status, self.headers, self.body = status, headers, body


def _operation(name: str) -> Any:
    def call(self: LocalDynamoDB, **params: Any) -> dict[str, Any]:
        return self.call(name, params)

    call.__name__ = call.__doc__ = name
    return call


class LocalDynamoDB:
    """The DynamoDB operations of the item commands, against the daemon at ``endpoint`` (http only)."""

    def __init__(
        self,
        endpoint: str,
        region: str,
        access_key: str,
        secret_key: str,
        connect_timeout: float = 5,
        read_timeout: float = 70,
    ):
        address = urlsplit(endpoint)
        if address.scheme != "http" or not address.hostname:
            raise ValueError(f"not an http endpoint: {endpoint!r}")
        self.host, self.port = address.hostname, address.port or 80
        # As botocore writes Host and its request URL: no port when it is the scheme's default.
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.netloc = host if self.port == 80 else f"{host}:{self.port}"
        self.url = f"http://{self.netloc}/"
        self.region, self.access_key, self.secret_key = region, access_key, secret_key
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout

    put_item = _operation("PutItem")
    get_item = _operation("GetItem")
    update_item = _operation("UpdateItem")
    delete_item = _operation("DeleteItem")
    scan = _operation("Scan")
    query = _operation("Query")
    describe_table = _operation("DescribeTable")

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """One operation, retried as botocore's standard mode would; its answer as botocore parses it."""
        body = json.dumps(_outgoing(params)).encode("utf-8")
        invocation = str(uuid.uuid4())
        attempt = 1
        while True:
            try:
                answer: _Answer | _Transport = self._exchange(operation, body, invocation, attempt)
            except _Transport as failure:
                answer = failure
            scale = _retry_scale(operation, answer)
            if scale is None or attempt == MAX_ATTEMPTS:
                return self._result(operation, answer, attempt)
            time.sleep(_backoff(scale, attempt, answer))
            attempt += 1

    # -------------------------------------------------------------- the wire

    def _exchange(self, operation: str, body: bytes, invocation: str, attempt: int) -> _Answer:
        """Send one signed request and read its answer (_Transport when none comes)."""
        headers = {
            "Host": self.netloc,
            "X-Amz-Target": f"{TARGET_PREFIX}.{operation}",
            "Content-Type": CONTENT_TYPE,
            "User-Agent": f"ddbstream/{__version__} lang/python#{sys.version.split()[0]}",
            "amz-sdk-invocation-id": invocation,
            "amz-sdk-request": f"attempt={attempt}; max={MAX_ATTEMPTS}",
        }
        headers.update(sign(self.region, self.access_key, self.secret_key, self.netloc, headers, body, time.gmtime()))
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.connect_timeout)
        try:
            try:
                connection.connect()
            except TimeoutError:
                raise _Transport("connect-timeout") from None
            except OSError:
                raise _Transport("connect") from None
            assert connection.sock is not None
            connection.sock.settimeout(self.read_timeout)
            try:
                connection.request("POST", "/", body, headers)
                response = connection.getresponse()
                data = response.read()
            except TimeoutError:
                raise _Transport("read-timeout") from None
            except (OSError, http.client.HTTPException):
                raise _Transport("closed") from None
            return _Answer(response.status, {name.lower(): value for name, value in response.getheaders()}, data)
        finally:
            connection.close()

    def _result(self, operation: str, answer: _Answer | _Transport, attempt: int) -> dict[str, Any]:
        """The parsed answer of the last attempt, or the botocore exception it amounts to."""
        if isinstance(answer, _Transport):
            raise _transport_error(answer.kind, self.url)
        parsed = _parse(answer)
        metadata = parsed.setdefault("ResponseMetadata", {})
        metadata.update(HTTPStatusCode=answer.status, HTTPHeaders=answer.headers, RetryAttempts=attempt - 1)
        if attempt == MAX_ATTEMPTS:
            metadata["MaxAttemptsReached"] = True
        if "Error" in parsed:
            from botocore.exceptions import ClientError

            code = parsed["Error"]["Code"]
            # botocore raises a modeled error as a ClientError subclass named after it.
            error_class = type(code, (ClientError,), {}) if code in MODELED_ERRORS else ClientError
            raise error_class(parsed, operation)
        return parsed


# ------------------------------------------------------------------ SigV4


def sign(
    region: str,
    access_key: str,
    secret_key: str,
    host: str,
    headers: dict[str, str],
    body: bytes,
    now: time.struct_time,
) -> dict[str, str]:
    """X-Amz-Date and Authorization for a POST to / (AWS Signature Version 4), signing what botocore signs."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", now)
    signed = {"content-type": headers["Content-Type"], "host": host, "x-amz-date": stamp}
    signed["x-amz-target"] = headers["X-Amz-Target"]
    names = ";".join(sorted(signed))
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            "".join(f"{name}:{' '.join(signed[name].split())}\n" for name in sorted(signed)),
            names,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{stamp[:8]}/{region}/dynamodb/aws4_request"
    to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"
    key = ("AWS4" + secret_key).encode("utf-8")
    for part in (stamp[:8], region, "dynamodb", "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    authorization = f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={names}, Signature={signature}"
    return {"X-Amz-Date": stamp, "Authorization": authorization}


# ------------------------------------------------------------------ answers and retries


def _parse(answer: _Answer) -> dict[str, Any]:
    """An answer as botocore's JSON parser reads it: the members, or {"Error": ...} for a status >= 301."""
    text = answer.body.decode("utf-8")
    metadata = {"RequestId": answer.headers["x-amzn-requestid"]} if "x-amzn-requestid" in answer.headers else {}
    if answer.status < 301:
        return {**_incoming(_json_object(text) if text else {}), "ResponseMetadata": metadata}
    if answer.status >= 500 and (not text.strip() or text.strip().startswith("<html>")):
        error = {"Code": str(answer.status), "Message": http.client.responses.get(answer.status, "")}
        return {"Error": error, "ResponseMetadata": {}}
    body = _json_object(text) if text else {}
    code = str(body.get("__type", answer.status)).split(":", 1)[0].rsplit("#", 1)[-1]
    parsed = {"Error": {"Message": body.get("message", body.get("Message", "")), "Code": code}}
    for member in MODELED_ERRORS.get(code, ()):
        if body.get(member) is not None:
            parsed[member] = _map_in(body[member]) if member == "Item" else body[member]
    return {**parsed, "ResponseMetadata": metadata}


def _json_object(text: str) -> dict[str, Any]:
    """The JSON object ``text`` holds; a body that is not JSON is its own message, as botocore takes it."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return {"message": text}
    return parsed if isinstance(parsed, dict) else {}


def _error_code(answer: _Answer | _Transport) -> str | None:
    return None if isinstance(answer, _Transport) or answer.status < 301 else _parse(answer)["Error"]["Code"]


def _retry_scale(operation: str, answer: _Answer | _Transport) -> float | None:
    """The backoff scale (seconds) when botocore's standard mode retries ``answer``, else None."""
    if isinstance(answer, _Transport):
        return TRANSIENT_SCALE
    code = _error_code(answer)
    if code in THROTTLING_CODES or (answer.status == 429 and code not in MODELED_ERRORS):
        return THROTTLING_SCALE
    if code in TRANSIENT_CODES or answer.status in TRANSIENT_STATUSES or _bad_checksum(answer):
        return TRANSIENT_SCALE
    if code == "ReplicatedWriteConflictException" and operation in _WRITES:
        return TRANSIENT_SCALE
    return None


def _bad_checksum(answer: _Answer) -> bool:
    """DynamoDB's x-amz-crc32 header does not match the body (botocore retries that)."""
    from binascii import crc32

    expected = answer.headers.get("x-amz-crc32")
    return expected is not None and crc32(answer.body) & 0xFFFFFFFF != int(expected)


def _backoff(scale: float, attempt: int, answer: _Answer | _Transport) -> float:
    """Truncated exponential backoff with jitter, raised to x-amz-retry-after (ms) within 5 s more."""
    delay = random.random() * min(scale * 2 ** (attempt - 1), MAX_BACKOFF)
    retry_after = None if isinstance(answer, _Transport) else answer.headers.get("x-amz-retry-after")
    if retry_after is not None and retry_after.isdigit():
        return max(delay, min(int(retry_after) / 1000, RETRY_AFTER_EXTRA + delay))
    return delay


def _transport_error(kind: str, url: str) -> Exception:
    """The botocore exception for a request that got no answer, as its HTTP layer raises it."""
    from botocore import exceptions

    error_class = {
        "connect": exceptions.EndpointConnectionError,
        "connect-timeout": exceptions.ConnectTimeoutError,
        "read-timeout": exceptions.ReadTimeoutError,
        "closed": exceptions.ConnectionClosedError,
    }[kind]
    return error_class(endpoint_url=url, error=kind)


# ------------------------------------------------------------------ binary values (base64 on the wire)


def _outgoing(params: dict[str, Any]) -> dict[str, Any]:
    return {name: _map_out(value) if name in _MAPS_SENT else value for name, value in params.items()}


def _map_out(attributes: dict[str, Any]) -> dict[str, Any]:
    return {
        name: {kind: _member_out(kind, inner) for kind, inner in value.items()} for name, value in attributes.items()
    }


def _member_out(kind: str, inner: Any) -> Any:
    """One member of an attribute value as botocore serializes it (blobs as base64 text)."""
    if kind == "B":
        return _base64(inner)
    if kind == "BS":
        return [_base64(member) for member in inner]
    if kind == "L":
        return [{k: _member_out(k, v) for k, v in member.items()} for member in inner]
    if kind == "M":
        return _map_out(inner)
    return inner


def _base64(value: bytes | str) -> str:
    return base64.b64encode(value.encode("utf-8") if isinstance(value, str) else value).decode("ascii")


def _incoming(members: dict[str, Any]) -> dict[str, Any]:
    parsed: dict[str, Any] = {
        name: _map_in(value) if name in _MAPS_RECEIVED else value for name, value in members.items()
    }
    if "Items" in parsed:
        parsed["Items"] = [_map_in(item) for item in parsed["Items"]]
    return parsed


def _map_in(attributes: dict[str, Any]) -> dict[str, Any]:
    return {
        name: {kind: _member_in(kind, inner) for kind, inner in value.items()} for name, value in attributes.items()
    }


def _member_in(kind: str, inner: Any) -> Any:
    """One member of an attribute value as botocore parses it (blobs as bytes)."""
    if kind == "B":
        return base64.b64decode(inner)
    if kind == "BS":
        return [base64.b64decode(member) for member in inner]
    if kind == "L":
        return [{k: _member_in(k, v) for k, v in member.items()} for member in inner]
    if kind == "M":
        return _map_in(inner)
    return inner
