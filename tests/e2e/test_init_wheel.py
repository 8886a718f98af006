"""A built wheel is all a user needs: `ddbstream init` writes a project in an empty directory and
the commands it prints next (up, put, tail) work there: every shipped example with either
runtime is written and read by the installed CLI, and each example runs end to end.

The wheel is built once per session (from a copy of the sources, as a clean checkout would be)
and installed with ``--no-deps`` into a fresh venv whose dependencies are this environment's (a
.pth file): an honest ``pip install`` of the wheel with its dependencies took 100 s here, most
of it unpacking botocore and moto, and what is under test is the wheel, not pip.
"""

from __future__ import annotations

import itertools
import json
import shlex
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from support import REPO, cli_env, wait_until

from ddbstream.project_files import EXCLUDED, shipped_files

EXAMPLES = sorted(p.stem.replace("_", "-") for p in (REPO / "infra" / "examples").glob("*.tfvars"))
RUNTIMES = ("python3.12", "nodejs20.x")
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
SOURCES = ("ddbstream", "infra", "lambda", "pyproject.toml", "setup.py", "MANIFEST.in", "README.md")


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """ddbstream's wheel, built from a copy of this checkout's sources."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns(*EXCLUDED))
        else:
            shutil.copy2(path, source / name)
    subprocess.run([*PIP, "wheel", str(source), "--no-deps", "-w", str(work / "dist")], check=True, timeout=300)
    (built,) = (work / "dist").glob("ddbstream-*.whl")
    return built


@pytest.fixture(scope="session")
def installed(wheel, tmp_path_factory) -> Path:
    """The ``bin/`` of a fresh venv with ddbstream installed from the wheel."""
    venv = tmp_path_factory.mktemp("installed") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [*PIP, "--python", str(python), "install", "--no-deps", "--no-compile", str(wheel)], check=True, timeout=300
    )
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    dependencies = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (Path(site) / "_ddbstream_test_dependencies.pth").write_text("\n".join(dependencies) + "\n")
    return venv / "bin"


def _run(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [bin_dir / "ddbstream", *args], cwd=cwd, env=cli_env(), capture_output=True, text=True, timeout=180
    )


def test_the_wheel_carries_the_project_files(wheel, installed, tmp_path):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    prefix = "ddbstream/_project/"
    assert sorted(name[len(prefix) :] for name in names if name.startswith(prefix)) == list(shipped_files(REPO))

    where = subprocess.run(
        [installed / "python", "-c", "from ddbstream.project_files import project_source; print(project_source())"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    shipped = Path(where)
    assert shipped.name == "_project" and REPO not in shipped.parents, where  # not the checkout's
    assert (shipped / "infra" / "modules" / "lambda_consumer" / "main.tf").is_file()


def _init(bin_dir: Path, directory: Path, example: str, runtime: str) -> tuple[list[str], ...]:
    """``init`` in ``directory``: the up, put and tail commands it prints next (without "ddbstream")."""
    made = _run(bin_dir, directory, "init", "--example", example, "--runtime", runtime)
    assert made.returncode == 0, made.stderr
    commands = [shlex.split(line) for line in made.stdout.splitlines()[1:]]
    assert [command[:2] for command in commands] == [["ddbstream", "up"], ["ddbstream", "put"], ["ddbstream", "tail"]]
    return tuple(command[1:] for command in commands)


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("example", EXAMPLES)
def test_init_writes_a_project_the_installed_cli_reads(installed, tmp_path, example, runtime):
    _, put, _ = _init(installed, tmp_path, example, runtime)
    event = _run(installed, tmp_path / "lambda", "event", "insert")  # found from a subdirectory
    assert event.returncode == 0, event.stderr
    keys = json.loads(event.stdout)["Records"][0]["dynamodb"]["Keys"]
    assert {name: next(iter(value.values())) for name, value in keys.items()} == {
        name: str(value) for name, value in json.loads(put[-1]).items()
    }


# Bringing a stack up costs seconds: each example once, the runtimes taking turns (both run twice).
@pytest.mark.parametrize("example, runtime", list(zip(EXAMPLES, itertools.cycle(RUNTIMES))))
def test_the_printed_commands_work(installed, tmp_path, example, runtime, node_installed):
    up, put, tail = _init(installed, tmp_path, example, runtime)
    key_value = json.dumps(next(iter(json.loads(put[-1]).values())))
    try:
        started = _run(installed, tmp_path, *up)
        assert started.returncode == 0, started.stderr
        written = _run(installed, tmp_path, *put)
        assert written.returncode == 0, written.stderr
        wait_until(
            lambda: key_value in _run(installed, tmp_path, *tail).stdout,
            timeout=60,
            interval=0.5,
            message=f"the consumer's log line for {key_value}",
        )
    finally:
        _run(installed, tmp_path, "destroy", "--yes")
