"""`ddbstream init`: a new project written from the files ddbstream ships.

The project gets infra/ (the root and every module), lambda/ (the consumer of one runtime, and
lambda/api/ when the example serves the CRUD API), infra/terraform.tfvars (an example's values)
and a .gitignore. The examples are the shipped infra/examples/*.tfvars, so a new one appears
by itself.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from ddbstream.errors import DdbstreamError, ExitCode, InvalidInput
from ddbstream.interpreters import NODE_RUNTIME, PYTHON_RUNTIME, is_node
from ddbstream.items import dumps_plain
from ddbstream.project_files import project_source, shipped_files
from ddbstream.samples import sample_key
from ddbstream.spec import load_spec, read_var_file, read_variables

DEFAULT_EXAMPLE = "employees"
# Shipped, but not part of a new project: the examples are its templates, terraform.tfvars
# replaces the .example, and infra/.gitignore would leave terraform.tfvars out of the user's git.
_NOT_COPIED = ("infra/examples/", "infra/terraform.tfvars.example", "infra/.gitignore")
_NODE_CONSUMER = "lambda/nodejs/"
_API = "lambda/api/"
# The consumer's settings init writes for the runtime (the example's own are dropped).
_CONSUMER_VARIABLES = ("lambda_runtime", "lambda_handler", "lambda_source_dir")
_HANDLERS = {"python": "handler.lambda_handler", "nodejs": "index.handler"}
GITIGNORE = (".ddbstream/", "infra/.terraform/", "infra/.terraform.lock.hcl", "*.tfstate", "*.tfstate.*")
_SHOWN_CONFLICTS = 3


class ProjectExists(DdbstreamError):
    """init would overwrite files (without --force)."""

    exit_code = ExitCode.INVALID_INPUT


@dataclass(frozen=True)
class Scaffold:
    """What init writes: file contents by path relative to the project, and the choices made."""

    example: str
    runtime: str
    files: dict[str, bytes]
    gitignore: tuple[str, ...] = GITIGNORE


def examples(source: Path | None = None) -> dict[str, Path]:
    """The shipped examples by name (user_activities.tfvars -> user-activities)."""
    folder = (source or project_source()) / "infra" / "examples"
    return {path.stem.replace("_", "-"): path for path in sorted(folder.glob("*.tfvars"))}


def choose_example(name: str | None, source: Path | None = None) -> tuple[str, Path]:
    """The example called ``name``, or the one it uniquely begins (realtime -> realtime-data)."""
    known = examples(source)
    wanted = (name or DEFAULT_EXAMPLE).strip().lower()
    matches = [known_name for known_name in known if known_name == wanted] or [
        known_name for known_name in known if known_name.startswith(wanted)
    ]
    if len(matches) != 1:
        raise InvalidInput(f"--example {name!r}: choose one of {', '.join(known)}")
    return matches[0], known[matches[0]]


def plan(example: str | None = None, runtime: str | None = None, source: Path | None = None) -> Scaffold:
    """The files of a new project for ``example`` with a ``runtime`` consumer (default: the example's)."""
    source = source or project_source()
    name, tfvars = choose_example(example, source)
    values = read_var_file(tfvars)
    runtime = (
        runtime
        or values.get("lambda_runtime")
        or read_variables(source / "infra" / "variables.tf")["lambda_runtime"].default
    )
    if not (PYTHON_RUNTIME.fullmatch(runtime) or NODE_RUNTIME.fullmatch(runtime)):
        raise InvalidInput(
            f"--runtime {runtime!r}: expected python3.N (e.g. python3.12) or nodejsN.x (e.g. nodejs20.x)"
        )
    files = {}
    for relative in shipped_files(source):
        target = _project_path(relative, runtime, with_api=values.get("enable_api") is True)
        if target is not None:
            files[target] = (source / relative).read_bytes()
    files["infra/terraform.tfvars"] = tfvars_text(tfvars.read_text(encoding="utf-8"), name, runtime).encode()
    return Scaffold(example=name, runtime=runtime, files=files)


def _project_path(relative: str, runtime: str, with_api: bool) -> str | None:
    """Where a shipped file goes in the project, or None when the project does not get it."""
    if relative.startswith(_NOT_COPIED) or (relative.startswith(_API) and not with_api):
        return None
    if relative.startswith(_API) or relative.startswith("infra/"):
        return relative
    if is_node(runtime):  # lambda/nodejs/* is the project's lambda/
        return "lambda/" + relative[len(_NODE_CONSUMER) :] if relative.startswith(_NODE_CONSUMER) else None
    return None if relative.startswith(_NODE_CONSUMER) else relative


def tfvars_text(example_text: str, example: str, runtime: str) -> str:
    """The example's variable file with the consumer set to ``runtime``'s, in lambda/ (the default)."""
    family = "nodejs" if is_node(runtime) else "python"
    assignment = re.compile(rf"^\s*({'|'.join(_CONSUMER_VARIABLES)})\s*=")
    lines = [
        line
        for line in example_text.splitlines()
        if not assignment.match(line) and not re.match(r"#\s+ddbstream up --var-file", line)
    ]
    consumer = [f'lambda_runtime = "{runtime}"', f'lambda_handler = "{_HANDLERS[family]}"']
    header = (
        f"# Written by 'ddbstream init --example {example} --runtime {runtime}'. Every variable is described\n"
        "# in variables.tf; both targets read this file.\n"
    )
    body = "\n".join(lines).rstrip("\n")
    return f"{header}\n{body}\n\n# The consumer in lambda/ ({family}).\n" + "\n".join(consumer) + "\n"


def conflicts(directory: Path, scaffold: Scaffold) -> list[str]:
    """The files of ``scaffold`` that already exist in ``directory`` (the .gitignore is merged, never one)."""
    return [relative for relative in scaffold.files if (directory / relative).exists()]


def write(directory: Path, scaffold: Scaffold, force: bool = False) -> list[str]:
    """Write the project into ``directory``; ProjectExists (nothing written) when it would overwrite without ``force``."""
    if directory.exists() and not directory.is_dir():
        raise InvalidInput(f"{directory} is a file, not a directory")
    existing = conflicts(directory, scaffold)
    if existing and not force:
        shown = ", ".join(existing[:_SHOWN_CONFLICTS])
        more = f" and {len(existing) - _SHOWN_CONFLICTS} more" if len(existing) > _SHOWN_CONFLICTS else ""
        raise ProjectExists(f"{directory} already has {shown}{more}: pass --force to overwrite them")
    for relative, content in scaffold.files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    _merge_gitignore(directory / ".gitignore", scaffold.gitignore)
    return [*scaffold.files, ".gitignore"]


def _merge_gitignore(path: Path, patterns: tuple[str, ...]) -> None:
    """Add the patterns a .gitignore lacks, keeping what it has."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    present = {line.strip() for line in text.splitlines()}
    missing = [pattern for pattern in patterns if pattern not in present]
    if missing:
        separator = "\n" if text and not text.endswith("\n") else ""
        path.write_text(text + separator + "\n".join(missing) + "\n", encoding="utf-8")


def next_commands(directory: Path, cwd: Path) -> list[str]:
    """What to run next in the new project: up, a put of a key its table takes, tail (after a cd to it)."""
    spec = load_spec(directory / "infra")
    item = dumps_plain(sample_key(spec.key_schema()))
    commands = ["ddbstream up", f"ddbstream put --item {shlex.quote(item)}", "ddbstream tail --since 5m"]
    if directory.resolve() != cwd.resolve():
        commands.insert(0, f"cd {shlex.quote(os.path.relpath(directory.resolve(), cwd.resolve()))}")
    return commands
