"""The language seam: how one language family starts a Lambda worker.

A ``Language`` says which runtimes it runs (``python3.12``, ...), finds the executable for one
of them, and gives a worker's command line and the language's own environment variables.
Everything else (the Runtime API, logs, timeouts, memory, crashes) is the same for every
language and lives in worker.py. Running another family is one ``Language`` subclass listed
in ``LANGUAGES``.
"""

from __future__ import annotations

import os
import re
import threading
from abc import ABC, abstractmethod
from dataclasses import replace
from pathlib import Path

from ddbstream.emulator.runtime.model import InvokeError
from ddbstream.errors import RuntimeUnavailable
from ddbstream.interpreters import Interpreter, is_node, is_python, local_node, local_python


class Language(ABC):
    """One language family: the runtimes it accepts and how a worker of it is started."""

    # How the accepted runtimes are named in the "not supported" message, e.g. "python3.x".
    runtimes_label: str

    def __init__(self) -> None:
        self._interpreters: dict[str, Interpreter] = {}
        self._lock = threading.Lock()

    @abstractmethod
    def accepts(self, runtime: str) -> bool:
        """Whether this language runs Lambda runtime ``runtime`` (e.g. ``python3.12``)."""

    @abstractmethod
    def find_interpreter(self, runtime: str) -> Interpreter:
        """Look for the executable that runs ``runtime`` (may start processes: called once per runtime)."""

    @abstractmethod
    def command(
        self, interpreter: Interpreter, handler: str, memory_mb: int, debug_port: int | None = None
    ) -> list[str]:
        """The command line of a worker that serves ``handler`` over the Runtime API with ``memory_mb`` MB;
        with ``debug_port``, one that waits for a debugger on 127.0.0.1:``debug_port`` before it starts."""

    def environment(self, interpreter: Interpreter, code_dir: Path) -> dict[str, str]:
        """The language's defaults in a worker's environment (a function's own variables may override them)."""
        return {}

    def version_label(self, runtime: str) -> str:
        """How the INIT_START log line names the runtime: ``python3.12`` -> ``python:3.12``."""
        return re.sub(r"^([a-z]+)", r"\1:", runtime)

    def interpreter(self, runtime: str) -> Interpreter:
        """The executable for ``runtime``, found on first use and remembered."""
        with self._lock:
            if runtime not in self._interpreters:
                self._interpreters[runtime] = self.find_interpreter(runtime)
            return self._interpreters[runtime]


# ---------------------------------------------------------------- Python


class PythonLanguage(Language):
    """python3.x functions, run by ``python -m awslambdaric <handler>``."""

    runtimes_label = "python3.x"

    def accepts(self, runtime: str) -> bool:
        return is_python(runtime)

    def find_interpreter(self, runtime: str) -> Interpreter:
        return local_python(runtime)

    def command(
        self, interpreter: Interpreter, handler: str, memory_mb: int, debug_port: int | None = None
    ) -> list[str]:
        if debug_port is not None:
            # frozen stdlib modules would make debugpy warn in the log and miss breakpoints there
            return [
                interpreter.executable,
                "-X",
                "frozen_modules=off",
                "-c",
                _PYTHON_DEBUG_MAIN,
                str(debug_port),
                handler,
            ]
        return [interpreter.executable, "-m", "awslambdaric", handler]

    def environment(self, interpreter: Interpreter, code_dir: Path) -> dict[str, str]:
        return {"PYTHONPATH": str(code_dir)}  # the interpreter finds awslambdaric and boto3 itself


# A debug-mode Python worker: debugpy listens on loopback only and holds the runtime client back
# until a debugger has attached (run with -c: a script's directory would join the function's sys.path).
_PYTHON_DEBUG_MAIN = """
import runpy, sys
port, handler = int(sys.argv[1]), sys.argv[2]
try:
    import debugpy
except ImportError:
    sys.exit(f"ddbstream: debug mode needs debugpy in {sys.executable}: pip install debugpy")
debugpy.listen(("127.0.0.1", port), in_process_debug_adapter=True)  # no adapter process to outlive us
print(f"ddbstream: waiting for a debugger on 127.0.0.1:{port}", file=sys.stderr, flush=True)
debugpy.wait_for_client()
print(f"ddbstream: debugger attached on 127.0.0.1:{port}", file=sys.stderr, flush=True)
sys.argv = ["awslambdaric", handler]
runpy.run_module("awslambdaric", run_name="__main__", alter_sys=True)
"""

# ---------------------------------------------------------------- Node.js

NODE_BOOTSTRAP = Path(__file__).resolve().parent / "node" / "bootstrap.cjs"


class NodeLanguage(Language):
    """nodejs<major>.x functions, run by the local ``node`` with ddbstream's bootstrap (node/bootstrap.cjs)."""

    runtimes_label = "nodejs<major>.x"

    def accepts(self, runtime: str) -> bool:
        return is_node(runtime)

    def find_interpreter(self, runtime: str) -> Interpreter:
        """The local node (any major: a different one than ``runtime``'s runs it, with a warning)."""
        try:
            found = local_node(runtime)
        except RuntimeUnavailable as exc:
            raise InvokeError(exc.message, "InvalidRuntimeException", 502) from None
        return replace(found, runtime_dir=str(NODE_BOOTSTRAP.parent))

    def command(
        self, interpreter: Interpreter, handler: str, memory_mb: int, debug_port: int | None = None
    ) -> list[str]:
        # The heap limits AWS's Node.js runtimes derive from the function's memory size.
        new_space = memory_mb // 25
        memory = [f"--max-semi-space-size={max(1, new_space // 2)}", f"--max-old-space-size={memory_mb - new_space}"]
        # The bootstrap waits for the debugger (inspector.waitForDebugger) when the inspector is on.
        inspect = [f"--inspect=127.0.0.1:{debug_port}"] if debug_port is not None else []
        return [interpreter.executable, *memory, *inspect, str(NODE_BOOTSTRAP), handler]

    def environment(self, interpreter: Interpreter, code_dir: Path) -> dict[str, str]:
        runtime_dir = interpreter.runtime_dir
        return {"NODE_PATH": os.pathsep.join([f"{runtime_dir}/node_modules", runtime_dir, str(code_dir)])}


# ---------------------------------------------------------------- the registry

PYTHON = PythonLanguage()
NODE = NodeLanguage()

# Every language family the daemon runs, asked in order.
LANGUAGES: tuple[Language, ...] = (PYTHON, NODE)


def language_for(function_name: str, runtime: str | None) -> Language:
    """The language that runs ``runtime``; InvokeError (as Lambda's Invoke reports it) when none does."""
    for language in LANGUAGES:
        if language.accepts(str(runtime or "")):
            return language
    supported = ", ".join(language.runtimes_label for language in LANGUAGES)
    raise InvokeError(
        f"{function_name}: runtime {runtime} is not supported by the local daemon ({supported} only)",
        "InvalidRuntimeException",
        502,
    )


def interpreter_for(runtime: str) -> Interpreter:
    """The Python interpreter that runs ``runtime`` (remembered per runtime)."""
    return PYTHON.interpreter(runtime)
