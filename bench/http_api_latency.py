"""HTTP API latency in the local daemon: request -> payload 2.0 event -> handler -> response.

Starts a daemon in a temporary directory, creates a small Python function behind an HTTP
API (AWS_PROXY, payload format 2.0, route GET /ping, $default stage) and measures:
- the first request (cold: zip extraction + worker start + awslambdaric init),
- warm round trips from one client (p50/p99), over keep-alive connections,
- requests per second from 4 concurrent clients (the function scales to 4 workers).

There is no runnable peer here: `sam local start-api` needs Docker (its --warm-containers
option decides whether a container outlives a request); the
README records that instead of a number.

Usage: python bench/http_api_latency.py [--requests 500] [--clients 4] [--seconds 10]
"""

from __future__ import annotations

import argparse
import http.client
import io
import statistics
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ddbstream.clients import local_client  # noqa: E402
from ddbstream.daemon import daemon_get, start_daemon, stop_daemon  # noqa: E402

HANDLER = (
    'import json\ndef handler(event, context):\n    return {"statusCode": 200, "body": json.dumps({"ok": True})}\n'
)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def make_api(started) -> str:
    client = lambda service: local_client(service, started.endpoint, "us-east-1", started.secret)  # noqa: E731
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("h.py", HANDLER)
    role = client("iam").create_role(RoleName="bench", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    arn = client("lambda").create_function(
        FunctionName="ping", Runtime="python3.12", Role=role, Handler="h.handler", Code={"ZipFile": buffer.getvalue()}
    )["FunctionArn"]
    gw = client("apigatewayv2")
    api_id = gw.create_api(Name="bench", ProtocolType="HTTP")["ApiId"]
    integration = gw.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=arn, PayloadFormatVersion="2.0"
    )["IntegrationId"]
    gw.create_route(ApiId=api_id, RouteKey="GET /ping", Target=f"integrations/{integration}")
    gw.create_stage(ApiId=api_id, StageName="$default")
    apis = daemon_get(started.endpoint, started.secret, "/_ddbstream/apis")["apis"]
    return next(a["url"] for a in apis if a["apiId"] == api_id)


def timed_requests(url: str, count: int) -> list[float]:
    """``count`` GET /ping round trips on one keep-alive connection, in milliseconds."""
    address = urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    times = []
    for _ in range(count):
        start = time.perf_counter()
        connection.request("GET", f"{address.path}/ping")
        response = connection.getresponse()
        response.read()
        assert response.status == 200, response.status
        times.append((time.perf_counter() - start) * 1000)
    connection.close()
    return times


def throughput(url: str, clients: int, seconds: float) -> float:
    """Requests per second from ``clients`` threads (a new connection per request, as curl makes)."""
    done = [0] * clients
    deadline = time.monotonic() + seconds

    def run(slot: int) -> None:
        while time.monotonic() < deadline:
            timed_requests(url, 1)
            done[slot] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="ddbstream-bench-api-"))
    started = start_daemon(directory, "us-east-1")
    try:
        url = make_api(started)
        cold = timed_requests(url, 1)[0]
        warm = timed_requests(url, args.requests)
        print(f"cold first request: {cold:.0f} ms")
        print(
            f"warm ({args.requests} requests, 1 client): p50 {statistics.median(warm):.1f} ms, "
            f"p99 {percentile(warm, 99):.1f} ms"
        )
        timed_requests(url, 20)  # settle
        rate = throughput(url, args.clients, args.seconds)
        print(f"throughput ({args.clients} clients, {args.seconds:.0f} s): {rate:.0f} requests/s")
    finally:
        stop_daemon(started, directory)


if __name__ == "__main__":
    main()
