"""The daemon's routes for the event bus: the per-rule counts and the recent deliveries."""

from __future__ import annotations

import re
from typing import Any

from werkzeug.wrappers import Request, Response

from ddbstream.emulator.events.bus import EventBus
from ddbstream.emulator.http import aws_error, json_response


def add_event_routes(emulator: Any, bus: EventBus) -> None:
    def rules(request: Request, match: re.Match[str]) -> Response:
        return json_response({"rules": bus.counts()})

    def deliveries(request: Request, match: re.Match[str]) -> Response:
        try:
            after = int(request.args.get("after", "0"))
            since = float(request.args.get("since", "0"))
        except ValueError:
            return aws_error("ValidationException", "after must be an integer and since a number of seconds")
        return json_response({"deliveries": bus.deliveries(after, since)})

    emulator.add_route("GET", r"/_ddbstream/events/rules", rules)
    emulator.add_route("GET", r"/_ddbstream/events/deliveries", deliveries)
