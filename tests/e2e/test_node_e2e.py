"""End to end: a Node.js consumer (lambda/nodejs) deployed by `ddbstream up` and exercised through the CLI.

`up --var lambda_runtime=nodejs20.x --var lambda_source_dir=../lambda/nodejs` packages the
directory with its dependencies (npm ci, cached by the lockfile's hash) into the local daemon;
a put reaches the handler through the stream, and `tail` shows its change line exactly as it
shows the Python consumer's; a poison record goes to the DLQ while its batch-mates go through;
`event` + `invoke` run it by hand. A node of another major than the runtime is one notice at
`up`; the AWS SDK for JavaScript v3 inside a handler reaches the daemon with the worker's
credentials and AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from support import REPO, cli_env, fake_node, make_project, run_cli, wait_until

from ddbstream.errors import ExitCode

pytestmark = pytest.mark.usefixtures("node_installed")

NODE_VARS = (
    "--var",
    "lambda_runtime=nodejs20.x",
    "--var",
    "lambda_source_dir=../lambda/nodejs",
    "--var",
    "lambda_handler=index.handler",
    "--var",
    "fail_attribute=poison",
)


def ok(*args: str, cwd, input: str | None = None) -> subprocess.CompletedProcess:
    result = run_cli(*args, cwd=cwd, input=input)
    assert result.returncode == 0, (args, result.returncode, result.stderr)
    return result


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = make_project(tmp_path_factory.mktemp("node-e2e") / "project")
    shutil.rmtree(project / "lambda" / "nodejs" / "node_modules", ignore_errors=True)  # `up` installs them
    ok("up", *NODE_VARS, cwd=project)
    yield project
    run_cli("down", cwd=project)


def tail_json(project, grep: str) -> list[dict]:
    out = run_cli("tail", "--since", "10m", "--format", "json", "--grep", grep, cwd=project).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_a_put_reaches_the_node_handler_and_tail_shows_its_line(project):
    status = json.loads(ok("status", "--json", cwd=project).stdout)
    assert "nodejs20.x" in json.dumps(status)
    ok("put", "--item", '{"employeeid": "N1", "name": "Node", "reading": 21.50}', cwd=project)
    lines = wait_until(lambda: tail_json(project, '"N1"'), 30, interval=0.2, message="the handler's line in tail")
    change = next(line for line in lines if '"eventName": "INSERT"' in json.dumps(line))
    text = json.dumps(change)
    assert '"employeeid": "N1"' in text and '"reading": 21.5' in text


def test_a_poison_record_goes_to_the_dlq_and_its_batch_mates_through(project):
    ok("put", "--item", '{"employeeid": "P1", "poison": true}', cwd=project)
    ok("put", "--item", '{"employeeid": "N2", "name": "fine"}', cwd=project)

    def dlq_rows():
        out = ok("dlq", "list", "--json", cwd=project).stdout
        return [json.loads(line) for line in out.splitlines()]

    [row] = wait_until(dlq_rows, 60, interval=0.3, message="the poison record in the DLQ")
    assert row["functionArn"].endswith(":function:employees_stream_consumer")
    assert wait_until(lambda: tail_json(project, '"N2"'), 30, interval=0.2, message="N2 handled")


def test_event_and_invoke_run_the_node_handler(project):
    event = ok("event", "insert", "--item", '{"employeeid": "H1", "name": "by hand"}', cwd=project).stdout
    result = ok("invoke", "--event", "-", "--json", cwd=project, input=event)
    assert "batchItemFailures" in result.stdout


def test_no_node_at_up_is_one_line_with_its_own_exit_code(project, tmp_path):
    env = cli_env(DDBSTREAM_NODE=str(tmp_path / "no-node"))
    result = run_cli("up", *NODE_VARS, cwd=project, env=env)
    assert result.returncode == ExitCode.RUNTIME_UNAVAILABLE, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "runtime nodejs20.x needs Node.js, but DDBSTREAM_NODE=" in result.stderr


def test_demo_with_the_node_runtime(tmp_path):
    project = make_project(tmp_path / "demo")
    shutil.rmtree(project / "lambda" / "nodejs" / "node_modules", ignore_errors=True)
    result = run_cli("demo", "--down", "--runtime", "nodejs20.x", cwd=project, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "INIT_START Runtime Version: nodejs:20.x.local" in result.stdout
    assert "InjectedFailure: attribute 'poison' is set on this item (FAIL_ATTRIBUTE)" in result.stdout
    assert "dead-letter message" in result.stdout
    assert "edit lambda/nodejs/index.js, then ddbstream up --var lambda_runtime=nodejs20.x" in result.stdout


def real_node_major() -> str:
    version = subprocess.run([shutil.which("node"), "--version"], capture_output=True, text=True, check=True).stdout
    return version.strip().lstrip("v").split(".")[0]


def test_another_node_major_is_one_notice_at_up(tmp_path):
    project = make_project(tmp_path / "project")
    shutil.rmtree(project / "lambda" / "nodejs" / "node_modules", ignore_errors=True)
    source = f"lambda_source_dir={project / 'lambda' / 'nodejs'}"
    node = fake_node(tmp_path, "v18.20.4")
    try:
        first = run_cli(
            "up", "--var", "lambda_runtime=nodejs22.x", "--var", source, "--var", "lambda_handler=index.handler",
            cwd=project, env=cli_env(DDBSTREAM_NODE=str(node)), timeout=300,
        )  # fmt: skip
        assert first.returncode == 0, first.stderr
        notices = [line for line in first.stderr.splitlines() if "Node.js" in line or "nodejs22.x" in line]
        assert notices == [f"WARNING nodejs22.x runs on the local Node.js v18.20.4 ({node})"], first.stderr

        # The real node, with the runtime of its own major: nothing to say.
        runtime = f"nodejs{real_node_major()}.x"
        second = run_cli(
            "up", "--var", f"lambda_runtime={runtime}", "--var", source, "--var", "lambda_handler=index.handler",
            cwd=project, timeout=300,
        )  # fmt: skip
        assert second.returncode == 0, second.stderr
        assert "WARNING" not in second.stderr and "Node.js" not in second.stderr, second.stderr
        assert runtime in ok("status", "--json", cwd=project).stdout
    finally:
        run_cli("down", cwd=project)


def assert_missing(project, key: str) -> None:
    result = run_cli("get", key, "--json", cwd=project)
    assert (result.returncode, result.stdout) == (ExitCode.NOT_FOUND, ""), result
    assert result.stderr == f'error: no item with key employeeid="{key}" in table employees\n'


def test_the_aws_sdk_for_javascript_in_a_handler_reaches_the_daemon(tmp_path):
    """The fixture handler puts "sdk-<key>" into $TABLE_NAME with @aws-sdk/client-dynamodb (installed by
    npm ci from its lockfile); keys starting with "sdk-" are left alone, so its own write ends there."""
    project = make_project(tmp_path / "project")
    source = tmp_path / "functions_node_sdk"
    fixture = REPO / "tests" / "fixtures" / "functions_node_sdk"
    shutil.copytree(fixture, source, ignore=shutil.ignore_patterns("node_modules"))
    try:
        ok(
            "up", "--var", "lambda_runtime=nodejs20.x", "--var", f"lambda_source_dir={source}",
            "--var", "lambda_handler=index.handler", cwd=project,
        )  # fmt: skip
        assert_missing(project, "sdk-S1")
        ok("put", "--item", '{"employeeid": "S1", "name": "from the CLI"}', cwd=project)

        def written():
            result = run_cli("get", "sdk-S1", "--json", cwd=project)
            return result.returncode == 0 and result.stdout

        item = json.loads(wait_until(written, 60, interval=0.3, message="the handler's own write"))
        assert item == {"employeeid": "sdk-S1", "writer": "aws-sdk-js-v3", "source": "S1"}
        # Its own write reached the handler too, which left it alone: no sdk-sdk-S1.
        wait_until(lambda: tail_json(project, "skipped sdk-S1"), 30, interval=0.2, message="sdk-S1 skipped")
        assert_missing(project, "sdk-sdk-S1")
    finally:
        run_cli("down", cwd=project)
