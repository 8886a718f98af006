"""Running Terraform (or OpenTofu) for the aws target.

The binary is run directly rather than through python-terraform: that package (0.10.1,
2019) buffers output until a command ends, cannot merge stderr into the stream we log,
takes no environment of its own, sends ``-force`` to destroy (refused since Terraform
0.15) and turns its own ``synchronous`` keyword into a flag. What is needed here is small:
find the binary, run one subcommand with ``-chdir``, stream every line to a log and to
a callback, and read ``output -json``.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ddbstream.errors import TerraformError

ENV_BINARY = "DDBSTREAM_TERRAFORM"


def find_terraform() -> str:
    """``$DDBSTREAM_TERRAFORM``, else ``terraform`` or ``tofu`` on PATH."""
    chosen = os.environ.get(ENV_BINARY)
    if chosen:
        found = shutil.which(chosen)
        if not found:
            raise TerraformError(f"{ENV_BINARY}={chosen} is not an executable file")
        return found
    for name in ("terraform", "tofu"):
        found = shutil.which(name)
        if found:
            return found
    raise TerraformError(
        "terraform not found: install Terraform >= 1.5 (or OpenTofu) on PATH, or set DDBSTREAM_TERRAFORM"
    )


def first_error(lines: list[str]) -> str | None:
    """The first diagnostic Terraform printed ("Error: ..."), without its prefix."""
    for line in lines:
        text = line.strip().lstrip("│╷╵ ").strip()
        if text.startswith("Error: "):
            return text[len("Error: ") :].strip()
    return None


def plan_summary(lines: list[str]) -> str | None:
    """Terraform's one-line plan summary, or None when the plan changes nothing."""
    summary = None
    for line in lines:
        text = line.strip()
        if text.startswith("Plan: "):
            return text[len("Plan: ") :].rstrip(".")
        if text.startswith("Changes to Outputs"):
            summary = "only outputs change"
    return summary


@dataclass
class Terraform:
    """One Terraform binary bound to a configuration directory, a data directory and a log."""

    binary: str
    config_dir: Path
    data_dir: Path
    log: TextIO
    env: dict[str, str] = field(default_factory=dict)

    def command(self, *args: str) -> list[str]:
        return [self.binary, f"-chdir={self.config_dir}", *args]

    def _environ(self) -> dict[str, str]:
        environ = dict(os.environ)
        environ.update(self.env)
        # Relative to -chdir otherwise; absolute so every command sees the same one.
        environ["TF_DATA_DIR"] = str(self.data_dir)
        environ["TF_IN_AUTOMATION"] = "1"
        return environ

    def run(self, *args: str, on_line: Callable[[str], None] = lambda _: None) -> tuple[int, list[str]]:
        """Run a subcommand; stdout and stderr go line by line to the log and ``on_line``."""
        command = self.command(*args)
        self.log.write(f"$ {shlex.join(command)}\n")
        self.log.flush()
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=self._environ(),
                text=True,
                errors="replace",
                bufsize=1,
            )
        except OSError as exc:
            raise TerraformError(f"cannot run {self.binary}: {exc.strerror}") from None
        lines: list[str] = []
        assert process.stdout is not None
        try:
            for line in process.stdout:
                self.log.write(line)
                self.log.flush()
                line = line.rstrip("\n")
                lines.append(line)
                on_line(line)
        finally:
            # Ctrl-C reaches Terraform too (same process group): let it stop cleanly.
            code = _wait(process)
        self.log.write(f"[exit {code}]\n")
        self.log.flush()
        return code, lines

    def outputs(self) -> dict[str, Any]:
        """``terraform output -json`` as {name: value}; outputs that are null are absent."""
        document = self._json("output", "output", "-json", "-no-color")
        return {name: entry.get("value") for name, entry in document.items() if isinstance(entry, dict)}

    def show_plan(self, plan_file: Path) -> dict[str, Any]:
        """``terraform show -json PLAN``: the saved plan in Terraform's JSON format (resource_changes...)."""
        return self._json("show", "show", "-json", "-no-color", str(plan_file))

    def _json(self, step: str, *args: str) -> dict[str, Any]:
        """A subcommand whose stdout is one JSON object, logged; TerraformError when it fails."""
        command = self.command(*args)
        self.log.write(f"$ {shlex.join(command)}\n")
        result = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            env=self._environ(),
        )
        self.log.write(result.stdout + result.stderr + f"[exit {result.returncode}]\n")
        self.log.flush()
        if result.returncode != 0:
            cause = first_error((result.stdout + result.stderr).splitlines()) or f"exit {result.returncode}"
            raise TerraformError(f"terraform {step} failed: {cause}")
        try:
            document = json.loads(result.stdout or "{}")
        except json.JSONDecodeError:
            raise TerraformError(f"terraform {step} -json printed something that is not JSON") from None
        if not isinstance(document, dict):
            raise TerraformError(f"terraform {step} -json printed something that is not a JSON object")
        return document


def _wait(process: subprocess.Popen) -> int:
    """Wait for Terraform even through Ctrl-C (it saves its state first), then re-raise it."""
    interrupted = False
    while True:
        try:
            code = process.wait()
            break
        except KeyboardInterrupt:
            interrupted = True
    if interrupted:
        raise KeyboardInterrupt
    return code
