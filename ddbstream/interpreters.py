"""Which local executable runs a Lambda runtime: a Python with awslambdaric, or node.

Both `up` (to say at once when a runtime cannot run here, or runs on a stand-in) and the
daemon's workers (to start them) ask here, so the answer is the same in both places.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache

from ddbstream.errors import RuntimeUnavailable

NODE_RUNTIME = re.compile(r"nodejs(\d+)\.x")
PYTHON_RUNTIME = re.compile(r"python3\.\d+")
_PYTHON_PROBE = (
    "import sys, os, awslambdaric, runtime_client, boto3; print(sys.executable);"
    " print(os.path.dirname(os.path.dirname(awslambdaric.__file__)))"
)


@dataclass(frozen=True)
class Interpreter:
    """The executable that runs a worker, and a warning for the function's log if it is a stand-in."""

    executable: str
    runtime_dir: str  # where the runtime interface client lives (LAMBDA_RUNTIME_DIR)
    warning: str | None = None


def is_node(runtime: str) -> bool:
    return bool(NODE_RUNTIME.fullmatch(runtime or ""))


def is_python(runtime: str) -> bool:
    return (runtime or "").startswith("python3")


def local_python(runtime: str) -> Interpreter:
    """The Python matching ``runtime`` (python3.12 -> ``python3.12`` on PATH) if it can run
    awslambdaric and boto3 (both part of AWS's Python runtimes), else this process's own."""
    candidate = shutil.which(runtime) if PYTHON_RUNTIME.fullmatch(runtime or "") else None
    found = _probe_python(candidate) if candidate else None
    if found:
        return Interpreter(found[0], found[1])
    # This interpreter has awslambdaric (a dependency of ddbstream).
    ric = importlib.util.find_spec("awslambdaric")
    runtime_dir = os.path.dirname(os.path.dirname(ric.origin)) if ric and ric.origin else ""
    mine = f"python{sys.version_info.major}.{sys.version_info.minor}"
    why = "is not on PATH" if not candidate else "cannot import awslambdaric and boto3"
    warning = f"ddbstream: WARNING {runtime} {why}; running this function with the daemon's {mine} ({sys.executable})"
    return Interpreter(sys.executable, runtime_dir, warning=warning)


def local_node(runtime: str) -> Interpreter:
    """The local node (``$DDBSTREAM_NODE``, else ``node`` on PATH): any major runs ``runtime``, a
    different one with a warning. RuntimeUnavailable when there is none. ``runtime_dir`` is empty:
    the daemon puts its bootstrap there."""
    configured = os.environ.get("DDBSTREAM_NODE")
    executable = shutil.which(configured or "node")
    version = _node_version(executable) if executable else None
    if executable is None or version is None:
        if executable is not None:
            why = f"{executable} --version failed"
        elif configured:
            why = f"DDBSTREAM_NODE={configured} is not an executable"
        else:
            why = "there is no node on PATH; install Node.js or set DDBSTREAM_NODE"
        raise RuntimeUnavailable(f"runtime {runtime} needs Node.js, but {why}")
    wanted = NODE_RUNTIME.fullmatch(runtime)
    warning = None
    if wanted and version.lstrip("v").split(".")[0] != wanted.group(1):
        warning = f"ddbstream: WARNING {runtime} runs on the local Node.js {version} ({executable})"
    return Interpreter(executable, "", warning=warning)


def local_interpreter(runtime: str) -> Interpreter:
    """The interpreter for any runtime the local target runs (RuntimeUnavailable when none can)."""
    if is_node(runtime):
        return local_node(runtime)
    if is_python(runtime):
        return local_python(runtime)
    raise RuntimeUnavailable(f"runtime {runtime} is not supported by the local target (python3.x, nodejs<major>.x)")


@lru_cache(maxsize=16)
def _probe_python(executable: str) -> tuple[str, str] | None:
    """(sys.executable, awslambdaric's parent dir) of ``executable`` if it has awslambdaric and boto3
    (asked once a process: `up --watch` checks the runtime again on every save)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON"))}
    try:
        out = subprocess.run(
            [executable, "-c", _PYTHON_PROBE],
            capture_output=True,
            text=True,
            timeout=20,
            env=env,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = out.stdout.strip().splitlines()
    return (lines[0], lines[1]) if out.returncode == 0 and len(lines) == 2 else None


def _node_version(executable: str) -> str | None:
    """``v20.11.1`` from ``node --version``; None when it does not run."""
    try:
        out = subprocess.run(
            [executable, "--version"], capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    version = out.stdout.strip()
    return version if out.returncode == 0 and re.fullmatch(r"v\d+\.\d+\.\d+\S*", version) else None
