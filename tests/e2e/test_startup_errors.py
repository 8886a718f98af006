"""`up` failing at start says why in one line: the port in use (and who holds it), AWS out of reach."""

from __future__ import annotations

import os
import socket
import stat
import sys

import pytest
from support import REPO, cli_env, make_project, run_cli

from ddbstream.errors import ExitCode

pytestmark = pytest.mark.e2e


def test_a_port_in_use_is_named_with_the_process_holding_it(tmp_path):
    project = make_project(tmp_path / "project")
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        result = run_cli("up", "--port", str(port), cwd=project)
    assert result.returncode == int(ExitCode.DAEMON), result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: port {port} on 127.0.0.1 is already in use by pid {os.getpid()} (")
    assert line.endswith("): stop it, or choose another port with --port")
    assert "daemon.log" not in line and "Traceback" not in result.stderr
    assert not (project / ".ddbstream" / "state.json").exists()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again: nothing listens there


def test_aws_out_of_reach_is_not_called_a_credentials_problem(tmp_path):
    project = make_project(tmp_path / "project")
    terraform = tmp_path / "terraform"  # the stand-in the aws tests use; never reached here
    source = (REPO / "tests" / "fakes" / "terraform").read_text(encoding="utf-8").split("\n", 1)[1]
    terraform.write_text(f"#!{sys.executable}\n{source}", encoding="utf-8")
    terraform.chmod(terraform.stat().st_mode | stat.S_IXUSR)
    home = tmp_path / "home"
    home.mkdir()
    endpoint = f"http://127.0.0.1:{_free_port()}"
    env = cli_env(
        DDBSTREAM_TERRAFORM=str(terraform),
        HOME=str(home),
        FAKE_TF_CALLS=str(tmp_path / "calls.jsonl"),
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_ENDPOINT_URL=endpoint,
        AWS_CONFIG_FILE=str(home / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "no-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_MAX_ATTEMPTS="1",
    )
    result = run_cli("up", "--target", "aws", "--yes", cwd=project, env=env, input="")
    assert result.returncode == int(ExitCode.AWS), result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: cannot reach AWS (STS, in us-east-1): Could not connect to the endpoint URL: ")
    assert endpoint in line and line.endswith("; check the network connection")
    assert "credentials" not in line and "Traceback" not in result.stderr
    assert not (tmp_path / "calls.jsonl").exists()  # terraform never ran
