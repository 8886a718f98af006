"""Reading a CloudWatch log group: the event types and FilterLogEvents paging."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ddbstream.errors import AwsError, InvalidInput, NotFound
from ddbstream.names import lambda_log_group

THROTTLING_CODES = {
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "LimitExceededException",
    "RequestLimitExceeded",
}


@dataclass(frozen=True)
class LogEvent:
    """One CloudWatch log event."""

    timestamp: int  # epoch ms
    message: str
    stream: str
    event_id: str | None = None  # FilterLogEvents only; StartLiveTail gives none
    ingestion_time: int | None = None

    @property
    def fingerprint(self) -> tuple[str, int, str]:
        return (self.stream, self.timestamp, self.message)


@dataclass(frozen=True)
class Notice:
    """Something to tell the user while tailing (sampling, reconnects, fallbacks)."""

    text: str


class Throttled(Exception):
    """CloudWatch asked us to slow down."""


def log_group_for(function_or_group: str) -> str:
    """A function name -> its log group; a name starting with '/' is taken as a log group already."""
    if function_or_group.startswith("/"):
        return function_or_group
    return lambda_log_group(function_or_group)


def error_code(exc: Exception) -> str:
    """The AWS error code of a botocore ClientError ("" for anything else)."""
    return getattr(exc, "response", {}).get("Error", {}).get("Code", "")


class LogSource:
    """FilterLogEvents over one log group."""

    def __init__(self, client: Any, group: str, filter_pattern: str | None = None):
        self.client = client
        self.group = group
        self.filter_pattern = filter_pattern
        self.page_limit: int | None = None  # events per page (CloudWatch's default when None)

    def fetch(self, start_ms: int, end_ms: int | None = None) -> Iterator[list[LogEvent]]:
        """Pages of events in [start_ms, end_ms], each page sorted by timestamp."""
        # interleaved is always on at AWS (the parameter is deprecated); moto still needs it.
        kwargs: dict[str, Any] = {"logGroupName": self.group, "startTime": int(start_ms), "interleaved": True}
        if end_ms is not None:
            kwargs["endTime"] = int(end_ms)
        if self.filter_pattern:
            kwargs["filterPattern"] = self.filter_pattern
        if self.page_limit:
            kwargs["limit"] = self.page_limit
        token = None
        while True:
            if token:
                kwargs["nextToken"] = token
            page = self._filter_page(kwargs)
            events = [
                LogEvent(
                    e["timestamp"],
                    e.get("message", ""),
                    e.get("logStreamName", ""),
                    e.get("eventId"),
                    e.get("ingestionTime"),
                )
                for e in page.get("events", [])
            ]
            events.sort(key=lambda e: e.timestamp)
            yield events
            next_token = page.get("nextToken")
            # An unchanged token means the end of the data on some implementations.
            if not next_token or next_token == token:
                return
            token = next_token

    def _filter_page(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """One FilterLogEvents call, its errors turned into ddbstream's."""
        from botocore.exceptions import ClientError  # botocore is slow to import: only when tailing

        try:
            return self.client.filter_log_events(**kwargs)
        except ClientError as exc:
            code = error_code(exc)
            if code == "ResourceNotFoundException":
                raise NotFound(f"log group {self.group} does not exist (has the function run yet?)") from None
            if code in THROTTLING_CODES:
                raise Throttled(code) from None
            if code == "InvalidParameterException" and self.filter_pattern:
                raise InvalidInput(
                    f"invalid --filter-pattern {self.filter_pattern!r}: {exc.response['Error'].get('Message', code)}"
                ) from None
            raise AwsError(f"FilterLogEvents on {self.group} failed: {exc}") from None

    def exists(self) -> bool:
        response = self.client.describe_log_groups(logGroupNamePrefix=self.group)
        return any(g.get("logGroupName") == self.group for g in response.get("logGroups", []))

    def arn(self, region: str, account: str) -> str:
        """The group's ARN as StartLiveTail wants it (no trailing ':*')."""
        try:
            for group in self.client.describe_log_groups(logGroupNamePrefix=self.group).get("logGroups", []):
                if group.get("logGroupName") == self.group:
                    arn = group.get("logGroupArn") or group.get("arn", "")
                    return arn[:-2] if arn.endswith(":*") else arn
        except Exception:  # fall back to the ARN's known shape
            pass
        return f"arn:aws:logs:{region}:{account}:log-group:{self.group}"
