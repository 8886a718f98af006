"""Daemon process control you can trust (issue 12): one lock per project around up/down/destroy,
a daemon identified by its token before anything is signalled, only the owning daemon writes
its directory, unreadable state said so, `down` says "saved" only when it was, and workers die
with their daemon.

End to end: the real CLI in subprocesses, real daemons, real unrelated processes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import cli_env, make_project, run_cli, stack_client, stack_state, wait_until

from ddbstream.daemon import pid_running, start_daemon, stop_daemon

pytestmark = pytest.mark.e2e

KEY = {"employeeid": {"S": "kept"}}


def only_daemon_is(project: Path, pid: int) -> bool:
    """Whether ``pid`` is the project's one daemon. Polled with a deadline: while the daemon starts a
    worker, the forked child shows the daemon's command line until it execs."""
    return project_daemons(project) == [pid]


def project_daemons(project: Path) -> list[int]:
    """Every daemon process started for ``project`` (by its --ready-file argument)."""
    marker = str(project / ".ddbstream" / "daemon.port").encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            words = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"ddbstream.emulator" in words and marker in words and pid_running(int(entry.name)):
            found.append(int(entry.name))
    return sorted(found)


def cli_popen(project: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "ddbstream", *args],
        cwd=project,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen, timeout: float = 180) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def kill_leftovers(project: Path) -> None:
    for pid in project_daemons(project):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def project(tmp_path):
    directory = make_project(tmp_path / "project")
    yield directory
    if (directory / ".ddbstream" / "state.json").exists():
        run_cli("down", cwd=directory)
    kill_leftovers(directory)


def up(project: Path, *args: str) -> dict:
    result = run_cli("up", "--json", *args, cwd=project)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def put_kept_item(project: Path) -> None:
    stack_client(project, "dynamodb").put_item(TableName="employees", Item=KEY)


def has_kept_item(project: Path) -> bool:
    return "Item" in stack_client(project, "dynamodb").get_item(TableName="employees", Key=KEY)


# ------------------------------------------------------------------ 1. one lock per project


def test_two_ups_at_once_leave_one_daemon_that_state_json_names(project):
    first, second = cli_popen(project, "up"), cli_popen(project, "up")
    results = [finish(first), finish(second)]
    assert [code for code, _, _ in results] == [0, 0], [err for _, _, err in results]
    assert all("Traceback" not in err for _, _, err in results)
    daemons = project_daemons(project)
    assert daemons == [stack_state(project)["pid"]]
    put_kept_item(project)
    assert has_kept_item(project)


def test_up_during_down_waits_for_it_and_leaves_no_orphan(project):
    markers = slow_stack(project, seconds=8, timeout=30)
    put_kept_item(project)
    wait_until(lambda: (markers / "started").exists(), 60, 0.1, "a batch to be in flight")
    down = cli_popen(project, "down")
    log = project / ".ddbstream" / "daemon.log"
    wait_until(lambda: ": stopping" in log.read_text(), 30, 0.05, "the daemon to begin stopping")
    again = cli_popen(project, "up")
    (down_code, _, down_err), (up_code, _, up_err) = finish(down), finish(again)
    assert (down_code, up_code) == (0, 0), down_err + up_err
    # up waited for down: a new daemon serves (the one down stopped is gone), and only one runs.
    assert "another 'ddbstream down'" not in up_err, "piped, the wait is silent (a terminal shows it)"
    assert "saved" in down_err
    wait_until(lambda: only_daemon_is(project, stack_state(project)["pid"]), 10, 0.1, "one daemon for the project")
    assert has_kept_item(project)


def slow_stack(project: Path, seconds: int, timeout: int) -> Path:
    """Bring up a stack whose handler sleeps ``seconds``; returns the directory of its markers
    (``started`` once a batch runs, ``done`` once it finished)."""
    source = project / "slow_lambda"
    source.mkdir()
    (source / "slow.py").write_text(
        "import os, pathlib, time\n"
        "def handler(event, context):\n"
        "    marker = pathlib.Path(os.environ['MARKER_DIR'])\n"
        "    (marker / 'started').touch()\n"
        f"    time.sleep({seconds})\n"
        "    (marker / 'done').touch()\n"
        "    return {}\n"
    )
    markers = project / "markers"
    markers.mkdir()
    up(
        project,
        "--var",
        f"lambda_source_dir={source}",
        "--var",
        "lambda_handler=slow.handler",
        "--var",
        f"lambda_timeout={timeout}",
        "--var",
        f"lambda_environment={json.dumps({'MARKER_DIR': str(markers)})}",
    )
    return markers


def test_removing_the_state_directory_stops_its_daemon_without_touching_the_new_one(project):
    up(project)
    old = stack_state(project)["pid"]
    shutil.rmtree(project / ".ddbstream")
    (project / ".ddbstream").mkdir()  # made anew at once, as a quick `up` would: the old daemon has not looked yet
    up(project)
    put_kept_item(project)  # the mapping invokes the function: its code is extracted under .ddbstream/lambda/
    code = project / ".ddbstream" / "lambda" / str(stack_state(project)["pid"])
    wait_until(code.is_dir, 60, 0.1, "the new daemon's code copy")
    wait_until(lambda: not pid_running(old), 20, 0.1, "the daemon whose directory went to stop")
    assert code.is_dir(), "the old daemon removed the new daemon's code copy"
    wait_until(lambda: only_daemon_is(project, stack_state(project)["pid"]), 10, 0.1, "one daemon for the project")
    for name in ("store.sqlite3", "store.sqlite3-wal"):  # closing its store would unlink the WAL by name
        assert (project / ".ddbstream" / name).exists(), f"the old daemon removed the new daemon's {name}"
    result = run_cli("down", cwd=project)
    assert result.returncode == 0, result.stderr
    up(project)
    assert has_kept_item(project)


# ------------------------------------------------------------------ 2. token, never the pid alone


def write_stale_state(project: Path, pid: int) -> None:
    directory = project / ".ddbstream"
    directory.mkdir(exist_ok=True)
    state = {
        "target": "local",
        "region": "us-east-1",
        "endpoint": "http://127.0.0.1:9",
        "pid": pid,
        "secret": "DDBSNOTTHEREANYMORE",
    }
    (directory / "state.json").write_text(json.dumps(state))


@pytest.mark.parametrize("command", ["down", "destroy"])
def test_a_stale_pid_is_never_signalled(project, command):
    unrelated = subprocess.Popen(["sleep", "60"])
    try:
        write_stale_state(project, unrelated.pid)
        result = run_cli(command, cwd=project)
        assert "Traceback" not in result.stderr
        assert unrelated.poll() is None, f"{command} signalled an unrelated process"
        assert pid_running(unrelated.pid)
    finally:
        unrelated.kill()
        unrelated.wait()


def test_up_over_a_stale_pid_starts_its_own_daemon_and_spares_the_process(project):
    unrelated = subprocess.Popen(["sleep", "60"])
    try:
        write_stale_state(project, unrelated.pid)
        up(project)
        assert stack_state(project)["pid"] != unrelated.pid
        assert run_cli("down", cwd=project).returncode == 0
        assert unrelated.poll() is None
    finally:
        unrelated.kill()
        unrelated.wait()


def test_the_health_route_names_the_daemon_by_its_token(tmp_path):
    started = start_daemon(tmp_path / "own", "us-east-1")
    try:
        from ddbstream.daemon import ping

        assert ping(started.endpoint, started.secret)["token"] == started.token
        impostor = started._replace(token="f" * 32)
        assert not stop_daemon(impostor), "a daemon was signalled on its pid with the wrong token"
        assert pid_running(started.pid)
    finally:
        assert stop_daemon(started)


# ------------------------------------------------------------------ 4. unreadable state


@pytest.mark.parametrize(
    "content",
    ['{"target": "lo', '{"target": "local", "region": "us-east-1", "pid": "many"}', "[1, 2]", b"\xff\xfe"],
    ids=["truncated", "wrong-type", "not-an-object", "not-utf8"],
)
def test_an_unreadable_state_file_is_an_error_that_says_so(project, content):
    directory = project / ".ddbstream"
    directory.mkdir()
    path = directory / "state.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    for command in (["scan"], ["status"]):
        result = run_cli(*command, cwd=project)
        assert result.returncode not in (0, 7), result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and str(path) in lines[0] and "ddbstream down" in lines[0], result.stderr
        assert "no local stack" not in result.stderr


def test_up_over_a_truncated_state_file_orphans_nothing_and_down_recovers(project):
    up(project)
    put_kept_item(project)
    pid = stack_state(project)["pid"]
    path = project / ".ddbstream" / "state.json"
    path.write_text(path.read_text()[:40])
    refused = run_cli("up", cwd=project)
    assert refused.returncode != 0 and "state.json" in refused.stderr and "Traceback" not in refused.stderr
    wait_until(lambda: only_daemon_is(project, pid), 10, 0.1, "no second daemon beside the first")
    down = run_cli("down", cwd=project)
    assert down.returncode == 0, down.stderr
    assert project_daemons(project) == []
    up(project)
    assert has_kept_item(project)


# ------------------------------------------------------------------ 6. down says "saved" only when it was


@pytest.mark.soak
def test_down_waits_for_a_batch_longer_than_a_minute_and_says_saved(project):
    """A handler that sleeps 65 s (timeout 100 s): down waits for it and the stop is confirmed."""
    markers = slow_stack(project, seconds=65, timeout=100)
    put_kept_item(project)
    wait_until(lambda: (markers / "started").exists(), 60, 0.1, "the slow batch to start")
    began = time.monotonic()
    result = run_cli("down", cwd=project, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (markers / "done").exists(), "down cut the in-flight batch short"
    assert time.monotonic() - began > 50
    assert "saved for the next 'up'" in result.stderr + result.stdout


def test_down_does_not_say_saved_when_the_daemon_could_not_confirm(project):
    up(project, "--var", "lambda_timeout=3")
    pid = stack_state(project)["pid"]
    (project / ".ddbstream" / "daemon.stopped").mkdir()  # where the daemon writes its confirmation
    result = run_cli("down", cwd=project, timeout=120)
    assert not pid_running(pid)
    assert result.returncode != 0
    assert "saved for the next" not in result.stderr + result.stdout
    assert "without confirming" in result.stderr and "Traceback" not in result.stderr


# ------------------------------------------------------------------ 7. workers die with their daemon


def test_a_busy_worker_dies_with_a_killed_daemon_and_leaves_no_code_behind(tmp_path):
    from support import REPO

    from ddbstream.clients import local_client

    before = set(Path("/tmp").glob("ddbstream-lambda-*"))
    started = start_daemon(tmp_path / "own", "us-east-1")
    try:
        lam = local_client("lambda", started.endpoint, "us-east-1", started.secret)
        iam = local_client("iam", started.endpoint, "us-east-1", started.secret)
        role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        import io
        import zipfile

        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.write(REPO / "tests" / "fixtures" / "functions" / "sleep.py", "sleep.py")
        lam.create_function(
            FunctionName="sleepy",
            Runtime="python3.12",
            Role=role,
            Handler="sleep.handler",
            Timeout=120,
            Code={"ZipFile": buffer.getvalue()},
        )
        lam.invoke(FunctionName="sleepy", InvocationType="Event", Payload=b'{"seconds": 100}')
        workers = wait_until(lambda: children_of(started.pid, b"sleep.handler"), 30, 0.1, "the worker to start")
    finally:
        os.kill(started.pid, signal.SIGKILL)
    wait_until(lambda: not any(pid_running(w) for w in workers), 10, 0.05, "the worker to die with its daemon")
    assert set(Path("/tmp").glob("ddbstream-lambda-*")) <= before, "the daemon's code copy is in /tmp"
    assert (tmp_path / "own" / "lambda").is_dir()  # under the state directory, cleared at the next start
    again = start_daemon(tmp_path / "own", "us-east-1")
    try:
        assert not (tmp_path / "own" / "lambda").exists()
    finally:
        stop_daemon(again)


def children_of(pid: int, word: bytes) -> list[int]:
    """The child processes of ``pid`` with ``word`` in their command line."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                words = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if int(fields[1]) == pid and word in words:
                found.append(int(entry.name))
    return found


# ------------------------------------------------------------------ 5. a read-only .ddbstream/


def without_permission_override() -> None:
    """Root, but bound by file modes like anyone else: CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and
    CAP_FOWNER leave the capability bounding set (root's permitted set after exec)."""
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    for capability in (1, 2, 3):
        if prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            os._exit(99)


def run_bound(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ddbstream", *args],
        cwd=project,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=without_permission_override,
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="a read-only directory is made with capabilities only root can drop")
def test_a_read_only_state_directory_is_one_clear_line_and_nothing_is_lost(project):
    started = run_bound(project, "up")
    assert started.returncode == 0, started.stderr
    put_kept_item(project)
    pid = stack_state(project)["pid"]
    state_dir = project / ".ddbstream"
    state_dir.chmod(0o555)
    try:
        for command in ("down", "destroy", "up"):
            result = run_bound(project, command)
            lines = result.stderr.strip().splitlines()
            assert result.returncode != 0 and len(lines) == 1, result.stderr
            assert str(state_dir) in lines[0] and "writable" in lines[0], result.stderr
            assert pid_running(pid), f"{command} stopped the daemon though it could not save the stack"
    finally:
        state_dir.chmod(0o755)
    stopped = run_bound(project, "down")
    assert stopped.returncode == 0 and "saved" in stopped.stderr + stopped.stdout, stopped.stderr
    assert run_bound(project, "up").returncode == 0
    assert has_kept_item(project)
