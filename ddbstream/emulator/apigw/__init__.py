"""API Gateway HTTP APIs, served locally: moto keeps the APIs (CreateApi, CreateIntegration,
CreateRoute, CreateStage); the daemon answers their requests.

- ``gateway``: ``ApiGateway``, the loopback listener: Host/Origin checks, CORS, routing, the
  Lambda call (through our runtime) with the integration's timeout, the per-API counts.
- ``model``: an API as moto holds it, and route selection.
- ``payload``: the payload 2.0 event and the response mapping.
- ``access_log``: the stage's access log lines.
"""

from __future__ import annotations

import os
import re
from typing import Any

from werkzeug.wrappers import Request, Response

from ddbstream.emulator.apigw.gateway import ApiGateway
from ddbstream.emulator.apigw.model import list_apis
from ddbstream.emulator.http import json_response

__all__ = ["ApiGateway", "install"]

PORT_ENV = "DDBSTREAM_API_PORT"  # the listener's port (0 or unset: any free port)


def install(emulator: Any, runtime: Any) -> ApiGateway:
    """Start the API listener and add ``GET /_ddbstream/apis`` (each API's URL, routes and counts)."""
    gateway = ApiGateway(emulator.region, emulator.account, runtime, int(os.environ.get(PORT_ENV) or 0))
    gateway.start()

    def apis(request: Request, match: re.Match[str]) -> Response:
        listed = []
        for api in list_apis(emulator.account, emulator.region):
            stats = gateway.stats.get(api.api_id, {"requests": 0, "last_5xx": None})
            routes = sorted(r.key for r in api.routes) + (["$default"] if api.default_route else [])
            url = f"{gateway.base_url}/{api.api_id}" if api.stage is not None else None
            listed.append({"apiId": api.api_id, "name": api.name, "url": url, "routes": routes, **stats})
        return json_response({"base_url": gateway.base_url, "apis": listed})

    emulator.add_route("GET", r"/_ddbstream/apis", apis)
    emulator.on_shutdown(gateway.stop)
    return gateway
