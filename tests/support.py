"""Helpers shared by the test modules: waiting on conditions, running the real CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def wait_until(
    condition: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02, message: str = "condition"
) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)


def make_project(directory: Path) -> Path:
    """A ddbstream project in ``directory``: copies of the repository's infra/ and lambda/."""
    ignore = shutil.ignore_patterns(".terraform", "terraform.tfstate*", "__pycache__", "*.tfvars")
    shutil.copytree(REPO / "infra", directory / "infra", ignore=ignore)
    if (REPO / "lambda").is_dir():
        shutil.copytree(REPO / "lambda", directory / "lambda", ignore=ignore)
    return directory


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for a CLI subprocess: no real AWS identity, no colour, wide output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DDBSTREAM_"))}
    env.update(NO_COLOR="1", COLUMNS="200", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def run_cli(
    *args: str, cwd: Path, input: str | None = None, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run the real ``ddbstream`` command (python -m ddbstream) in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "ddbstream", *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or cli_env(),
    )


def run_cli_on_terminal(*args: str, cwd: Path, columns: int = 250, timeout: float = 120) -> tuple[int, str]:
    """Run the real CLI with stdout and stderr on a pseudo-terminal of ``columns`` columns, colours on:
    (exit code, what the terminal received)."""
    import fcntl
    import pty
    import select
    import struct
    import termios

    env = cli_env(COLUMNS=str(columns), TERM="xterm-256color")
    env.pop("NO_COLOR")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "ddbstream", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    received = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            received += chunk
        code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
    return code, received.decode("utf-8", "replace")


def fake_node(directory: Path, version: str) -> Path:
    """A ``node`` in ``directory`` that says it is ``version`` and runs the real node for everything else."""
    real = shutil.which("node")
    script = directory / "node"
    script.write_text(f'#!/bin/sh\n[ "$1" = --version ] && {{ echo {version}; exit 0; }}\nexec {real} "$@"\n')
    script.chmod(0o755)
    return script


def stack_state(project: Path) -> dict[str, Any]:
    """The project's state.json (endpoint, pid, secret, resources...)."""
    import json

    return json.loads((project / ".ddbstream" / "state.json").read_text())


def stack_client(project: Path, service: str, config: Any = None) -> Any:
    """A boto3 client for the project's running local stack, signed with the stack's secret."""
    import boto3

    state = stack_state(project)
    return boto3.client(
        service,
        endpoint_url=state["endpoint"],
        region_name=state["region"],
        aws_access_key_id=state["secret"],
        aws_secret_access_key="ddbstream-local",
        config=config,
    )
