"""The local stack's secret: made at `up`, kept in the 0600 state, required on every request.

Clients carry it as the access key id of their SigV4 credentials, so boto3, the AWS CLI, the
AWS SDKs inside handlers and the CLI itself need nothing but `AWS_ACCESS_KEY_ID` set to it.
"""

from __future__ import annotations

import base64
import hmac
import re
from urllib.parse import parse_qs

SECRET_ENV = "DDBSTREAM_STACK_SECRET"  # how `up` hands the secret to the daemon process
SECRET_ACCESS_KEY = "ddbstream-local"  # signatures are not checked: the access key id is the secret
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")


def new_secret() -> str:
    """160 random bits shaped like an access key id (``DDBS`` + base32)."""
    from secrets import token_bytes  # only `up` makes one: short commands need not import it

    return "DDBS" + base64.b32encode(token_bytes(20)).decode("ascii").rstrip("=")


def access_key_of(authorization: str | None, query_string: str = "") -> str | None:
    """The access key id a request was signed with (header or presigned query), or None."""
    if authorization:
        match = _CREDENTIAL.search(authorization)
        return match.group(1) if match else None
    if "X-Amz-Credential" in query_string:
        values = parse_qs(query_string).get("X-Amz-Credential") or [""]
        return values[0].split("/", 1)[0] or None
    return None


def matches(secret: str, presented: str | None) -> bool:
    """Constant-time comparison, so the secret cannot be guessed byte by byte from timings."""
    return presented is not None and hmac.compare_digest(secret.encode(), presented.encode())


def authorization_for(secret: str) -> str:
    """An Authorization header naming the secret, for the CLI's own non-AWS requests (health)."""
    return f"AWS4-HMAC-SHA256 Credential={secret}/19700101/us-east-1/ddbstream/aws4_request, SignedHeaders=host"
