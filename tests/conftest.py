"""Fixtures: fake AWS credentials for moto units, a project directory, a running local stack."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import make_project, run_cli  # noqa: E402


@pytest.fixture
def aws_credentials(monkeypatch):
    """Fake credentials so nothing under test can reach a real AWS account."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture
def project(tmp_path) -> Path:
    """A fresh ddbstream project (infra/ + lambda/ copied from the repository)."""
    return make_project(tmp_path / "project")


@pytest.fixture
def stack(project):
    """A project with a local stack brought up by the real CLI; brought down afterwards."""
    result = run_cli("up", "--json", cwd=project)
    try:
        assert result.returncode == 0, result.stderr
        yield project, json.loads(result.stdout)
    finally:
        if (project / ".ddbstream" / "state.json").exists():
            run_cli("down", cwd=project)


@pytest.fixture(scope="session")
def node_installed() -> str:
    """The Node.js tests are part of the product: without node they fail (as .ci/run does), never skip."""
    import shutil

    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: the Node.js runtime tests need Node.js 18 or newer")
    return node


# The folder a test lives in says what it exercises (tests/README.md); its marker follows.
GROUPS = ("unit", "daemon", "e2e", "infra", "consumer", "conformance")


def pytest_collection_modifyitems(config, items):
    root = Path(__file__).resolve().parent
    for item in items:
        group = Path(str(item.fspath)).resolve().relative_to(root).parts[0]
        if group not in GROUPS:
            raise pytest.UsageError(f"{item.nodeid}: tests live in one of tests/{{{','.join(GROUPS)}}}/")
        item.add_marker(getattr(pytest.mark, group))
