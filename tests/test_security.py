"""Security of the local target: loopback only, no credentials or unrelated environment in
workers, private state files. (Checkov over infra/ runs in .ci/check-infra, owned by infra.)"""

from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path

import boto3
import pytest
from support import cli_env, make_project, run_cli, wait_until

pytestmark = pytest.mark.e2e

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "security"
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


def _client(info, service):
    return boto3.client(
        service,
        endpoint_url=info["endpoint"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


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


def _worker_environment(info) -> dict:
    """Put an item and read the consumer's log line carrying its environment."""
    logs = _client(info, "logs")
    _client(info, "dynamodb").put_item(TableName=info["resources"]["table_name"], Item={"employeeid": {"S": "SEC1"}})

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
    line = _worker_environment(info)
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
    assert environment["AWS_ACCESS_KEY_ID"] == "testing" and environment["AWS_SECRET_ACCESS_KEY"] == "testing"
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
    _worker_environment(info)  # a worker (with its own Runtime API listener) exists now
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
