"""Security of the local target: loopback only, no credentials or unrelated environment in
workers, private state files. (Checkov over infra/ runs in .ci/check-infra, owned by infra.)"""

from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path

import pytest
from support import cli_env, make_project, run_cli, stack_client, stack_state, wait_until

pytestmark = pytest.mark.e2e

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "security"
CALLER = {
    "AWS_ACCESS_KEY_ID": "AKIAREALCALLERKEY000",
    "AWS_SECRET_ACCESS_KEY": "real-secret",
    "AWS_SESSION_TOKEN": "real-session-token",
    "AWS_PROFILE": "prod",
    "MY_UNRELATED": "x",
}


@pytest.fixture(scope="module")
def secure_stack(tmp_path_factory):
    """`ddbstream up` run with the caller's (fake but real-looking) credentials in its environment."""
    project = make_project(tmp_path_factory.mktemp("security") / "project")
    env = cli_env(**CALLER)
    result = run_cli("up", "--json", "--var", f"lambda_source_dir={FIXTURE}", cwd=project, env=env)
    try:
        assert result.returncode == 0, result.stderr
        yield project, json.loads(result.stdout), env
    finally:
        run_cli("down", cwd=project, env=env)


def _children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (from /proc)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parents[int(entry)] = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        for child, parent in parents.items():
            if parent == current:
                found.append(child)
                frontier.append(child)
    return found


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        pass
    return inodes


def _listening(inodes: set[str]) -> list[tuple[str, int]]:
    """(address, port) of the LISTEN sockets among ``inodes`` (IPv4 and IPv6)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] != "0A" or fields[9] not in inodes:
                continue
            host_hex, port_hex = fields[1].split(":")
            if len(host_hex) == 8:
                host = socket.inet_ntoa(bytes.fromhex(host_hex)[::-1])
            else:
                raw = bytes.fromhex(host_hex)
                host = socket.inet_ntop(socket.AF_INET6, b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4)))
            found.append((host, int(port_hex, 16)))
    return found


def _worker_environment(project, info) -> dict:
    """Put an item and read the consumer's log line carrying its environment."""
    logs = stack_client(project, "logs")
    stack_client(project, "dynamodb").put_item(
        TableName=info["resources"]["table_name"], Item={"employeeid": {"S": "SEC1"}}
    )

    def logged():
        try:
            events = logs.filter_log_events(logGroupName=info["resources"]["log_group"], interleaved=True)["events"]
        except logs.exceptions.ResourceNotFoundException:
            return None
        for event in events:
            if event["message"].startswith('{"environment"'):
                return json.loads(event["message"])
        return None

    return wait_until(logged, 30, 0.1, "the consumer's environment line")


def test_workers_never_see_the_callers_credentials_or_environment(secure_stack):
    project, info, _ = secure_stack
    line = _worker_environment(project, info)
    environment = line["environment"]
    leaked = {
        name: value
        for name, value in environment.items()
        if name in CALLER
        and value == CALLER[name]
        or any(secret in value for secret in CALLER.values() if len(secret) > 1)
    }
    assert not leaked, leaked
    assert "MY_UNRELATED" not in environment and "AWS_PROFILE" not in environment
    assert environment["AWS_ACCESS_KEY_ID"] == stack_state(project)["secret"], "workers sign with the stack secret"
    assert environment["AWS_ENDPOINT_URL"] == info["endpoint"]
    assert environment["AWS_SHARED_CREDENTIALS_FILE"] == os.devnull and environment["AWS_CONFIG_FILE"] == os.devnull
    assert environment["TABLE_NAME"] == "employees"

    # The same, read from the worker process itself rather than from what the handler chose to print.
    with open(f"/proc/{line['pid']}/environ", "rb") as handle:
        raw = handle.read()
    for value in CALLER.values():
        if len(value) > 1:
            assert value.encode() not in raw
    assert b"MY_UNRELATED=" not in raw and b"AWS_PROFILE=" not in raw


def test_daemon_and_workers_listen_on_loopback_only(secure_stack):
    project, info, _ = secure_stack
    _worker_environment(project, info)  # a worker (with its own Runtime API listener) exists now
    pid = json.loads((project / ".ddbstream" / "state.json").read_text())["pid"]
    processes = [pid] + _children(pid)
    assert len(processes) >= 2, "no worker process found under the daemon"
    inodes = set().union(*(_socket_inodes(p) for p in processes))
    listening = _listening(inodes)
    ports = {port for _, port in listening}
    assert int(info["endpoint"].rsplit(":", 1)[1]) in ports
    assert len(ports) >= 2, listening  # the daemon's endpoint and at least one worker's Runtime API
    assert all(host == "127.0.0.1" for host, _ in listening), listening

    # Not reachable on another address of this machine.
    port = int(info["endpoint"].rsplit(":", 1)[1])
    for address in _other_addresses():
        with socket.socket() as probe:
            probe.settimeout(1)
            assert probe.connect_ex((address, port)) != 0, f"daemon reachable on {address}"


def _other_addresses() -> list[str]:
    """This machine's non-loopback IPv4 addresses (from /proc/net/fib_trie's local entries)."""
    addresses = set()
    try:
        lines = open("/proc/net/fib_trie").read().splitlines()
    except OSError:
        return []
    for previous, line in zip(lines, lines[1:]):
        if "/32 host LOCAL" in line:
            address = previous.split()[-1]
            if not address.startswith("127."):
                addresses.add(address)
    return sorted(addresses)


def test_state_files_are_private(secure_stack):
    project, _, _ = secure_stack
    directory = project / ".ddbstream"
    files = [path for path in directory.rglob("*") if path.is_file()]
    assert directory / "state.json" in files
    for path in files:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path.name} is mode {oct(mode)}"
    assert stat.S_IMODE((directory / "state.json").stat().st_mode) == 0o600


# --- who may talk to the daemon: the stack secret, a loopback Host, no foreign web origin ----------

LIST_TABLES = b"{}"


def _raw(info, headers: dict[str, str], body: bytes = LIST_TABLES, method: str = "POST", path: str = "/"):
    """One raw HTTP request to the daemon: (status, headers, body)."""
    import http.client

    port = int(info["endpoint"].rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in {"Content-Length": str(len(body)), **headers}.items():
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def _signed(info, secret: str, host: str | None = None) -> dict[str, str]:
    """Headers of a DynamoDB ListTables call signed with ``secret`` as the access key id."""
    port = int(info["endpoint"].rsplit(":", 1)[1])
    return {
        "Host": host or f"127.0.0.1:{port}",
        "X-Amz-Target": "DynamoDB_20120810.ListTables",
        "Content-Type": "application/x-amz-json-1.0",
        "Authorization": f"AWS4-HMAC-SHA256 Credential={secret}/20260101/us-east-1/dynamodb/aws4_request, "
        "SignedHeaders=host, Signature=00",
    }


def test_the_stack_secret_opens_the_daemon_and_nothing_else_does(secure_stack):
    project, info, _ = secure_stack
    secret = stack_state(project)["secret"]
    assert secret and secret not in ("testing", CALLER["AWS_ACCESS_KEY_ID"])
    status, _, body = _raw(info, _signed(info, secret))
    assert status == 200 and b"employees" in body
    for host in ("localhost", "[::1]"):
        port = info["endpoint"].rsplit(":", 1)[1]
        assert _raw(info, _signed(info, secret, host=f"{host}:{port}"))[0] == 200

    unsigned = {k: v for k, v in _signed(info, secret).items() if k != "Authorization"}
    for headers in (unsigned, _signed(info, "testing"), _signed(info, secret[:-1]), _signed(info, secret + "X")):
        status, response_headers, body = _raw(info, headers)
        assert status == 403, headers
        assert json.loads(body)["__type"] == "UnrecognizedClientException"
        assert b"employees" not in body


def test_a_foreign_host_is_refused_even_with_the_secret(secure_stack):
    project, info, _ = secure_stack
    secret = stack_state(project)["secret"]
    port = info["endpoint"].rsplit(":", 1)[1]
    for host in (f"attacker.example:{port}", "127.0.0.1", f"127.0.0.2:{port}", f"localhost.evil.example:{port}"):
        status, _, body = _raw(info, _signed(info, secret, host=host))
        assert status == 403, host
        assert b"employees" not in body


def test_web_pages_get_no_cors_and_no_answer(secure_stack):
    project, info, _ = secure_stack
    secret = stack_state(project)["secret"]
    # An ordinary request: moto would add Access-Control-Allow-Origin: * on its own.
    status, headers, _ = _raw(info, _signed(info, secret))
    assert status == 200
    assert not any(name.lower().startswith("access-control-") for name in headers), headers
    # A request from a web page is refused, with the secret or without, preflight or not.
    for method in ("POST", "OPTIONS"):
        with_origin = {**_signed(info, secret), "Origin": "https://evil.example"}
        status, headers, body = _raw(info, with_origin, method=method)
        assert status == 403 and b"employees" not in body
        assert "Access-Control-Allow-Origin" not in headers
    # The drive-by Invoke a page could send as a "simple" request (text/plain, no preflight).
    port = info["endpoint"].rsplit(":", 1)[1]
    drive_by = {"Host": f"127.0.0.1:{port}", "Origin": "https://evil.example", "Content-Type": "text/plain"}
    path = f"/2015-03-31/functions/{info['resources']['function_name']}/invocations"
    assert _raw(info, drive_by, body=b"{}", path=path)[0] == 403


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to another uid needs root")
def test_another_local_user_can_neither_read_the_secret_nor_use_the_daemon(secure_stack):
    import subprocess

    project, info, _ = secure_stack
    state = stack_state(project)
    probe = f"""
import http.client, json, sys
results = {{}}
for path in sys.argv[1:]:
    try:
        open(path, "rb").read()
        results[path] = "read"
    except OSError as exc:
        results[path] = type(exc).__name__
connection = http.client.HTTPConnection("127.0.0.1", {int(info["endpoint"].rsplit(":", 1)[1])}, timeout=10)
connection.request("POST", "/", body=b"{{}}", headers={{"X-Amz-Target": "DynamoDB_20120810.ListTables",
    "Content-Type": "application/x-amz-json-1.0"}})
results["status"] = connection.getresponse().status
print(json.dumps(results))
"""

    def as_nobody() -> None:
        os.setgid(65534)
        os.setgroups([])
        os.setuid(65534)

    paths = [str(project / ".ddbstream" / "state.json"), f"/proc/{state['pid']}/environ"]
    result = subprocess.run(
        [_python_anyone_may_run(), "-c", probe, *paths],
        capture_output=True,
        text=True,
        preexec_fn=as_nobody,
        env={"PATH": os.environ["PATH"]},
        cwd="/",
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen == {paths[0]: "PermissionError", paths[1]: "PermissionError", "status": 403}


def _python_anyone_may_run() -> str:
    """An interpreter another user can start (the venv's may live under a private home)."""
    import sys

    for candidate in (os.path.realpath(sys.executable), "/usr/bin/python3", "/usr/local/bin/python3"):
        path = Path(os.path.realpath(candidate))
        if path.exists() and all(stat.S_IMODE(p.stat().st_mode) & 0o001 for p in [path, *path.parents]):
            return str(path)
    raise AssertionError("no Python interpreter on this machine can be run by another user")


def test_env_prints_what_the_aws_cli_needs(secure_stack, tmp_path):
    import shutil
    import subprocess
    import sys

    project, info, env = secure_stack
    printed = run_cli("env", cwd=project, env=env)
    assert printed.returncode == 0, printed.stderr
    secret = stack_state(project)["secret"]
    assert f"export AWS_ACCESS_KEY_ID={secret}\n" in printed.stdout
    assert f"export AWS_ENDPOINT_URL={info['endpoint']}\n" in printed.stdout
    aws = shutil.which("aws", path=str(Path(sys.executable).parent))
    assert aws, "awscli is installed in the venv"
    script = f'eval "$1" && unset AWS_SESSION_TOKEN AWS_PROFILE && {aws} dynamodb list-tables --output json'
    listed = subprocess.run(
        ["sh", "-c", script, "sh", printed.stdout],
        capture_output=True,
        text=True,
        env={**env, "HOME": str(tmp_path)},
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["TableNames"] == ["employees"]

    # boto3 follows the consumer's log live (StartLiveTail's host prefix must stay off the loopback URL).
    tail = (
        "import boto3, json; logs = boto3.client('logs'); "
        "arn = logs.describe_log_groups()['logGroups'][0]['arn'].removesuffix(':*'); "
        "stream = logs.start_live_tail(logGroupIdentifiers=[arn])['responseStream']; "
        "print(json.dumps(sorted(next(iter(stream)))))"
    )
    followed = subprocess.run(
        ["sh", "-c", f'eval "$1" && unset AWS_SESSION_TOKEN AWS_PROFILE && {sys.executable} -c "$2"', "sh"]
        + [printed.stdout, tail],
        capture_output=True,
        text=True,
        env={**env, "HOME": str(tmp_path)},
        timeout=60,
    )
    assert followed.returncode == 0, followed.stderr
    assert json.loads(followed.stdout) == ["sessionStart"]


def test_cors_origin_allows_one_web_origin_and_no_other(tmp_path):
    project = make_project(tmp_path / "project")
    bad = run_cli("up", "--cors-origin", "https://app.example/path", cwd=project)
    assert bad.returncode == 3 and bad.stderr.count("\n") == 1, bad.stderr
    assert "is not a web origin" in bad.stderr and not (project / ".ddbstream" / "state.json").exists()

    result = run_cli("up", "--json", "--cors-origin", "https://app.example:8443", cwd=project)
    try:
        assert result.returncode == 0, result.stderr
        info = json.loads(result.stdout)
        secret = stack_state(project)["secret"]
        allowed = {**_signed(info, secret), "Origin": "https://app.example:8443"}
        status, headers, body = _raw(info, allowed)
        assert status == 200 and b"employees" in body
        assert headers.get("Access-Control-Allow-Origin") == "https://app.example:8443"
        preflight = {
            "Host": allowed["Host"],
            "Origin": "https://app.example:8443",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,x-amz-target",
        }
        status, headers, _ = _raw(info, preflight, body=b"", method="OPTIONS")
        assert status == 204 and headers.get("Access-Control-Allow-Origin") == "https://app.example:8443"
        assert headers.get("Access-Control-Allow-Headers") == "authorization,x-amz-target"
        other = {**_signed(info, secret), "Origin": "https://evil.example"}
        assert _raw(info, other)[0] == 403
    finally:
        run_cli("down", cwd=project)
