"""Finding the project like git finds its repository: up from the current directory, or where
--project / DDBSTREAM_PROJECT say; outside one, a message that says how to start one."""

from __future__ import annotations

import pytest

from ddbstream.cli import _command_name
from ddbstream.errors import ExitCode
from ddbstream.project import NoProject, find_infra_dir, find_project_dir
from ddbstream.state import state_dir


@pytest.fixture(autouse=True)
def _no_project_settings(monkeypatch):
    monkeypatch.delenv("DDBSTREAM_PROJECT", raising=False)
    monkeypatch.delenv("DDBSTREAM_STATE_DIR", raising=False)


def test_found_from_a_subdirectory(project, monkeypatch):
    nested = project / "lambda" / "consumer"
    monkeypatch.chdir(nested)
    assert find_project_dir() == project.resolve()
    assert find_infra_dir() == (project / "infra").resolve()
    assert state_dir() == project.resolve() / ".ddbstream"


def test_a_state_directory_marks_a_project_too(tmp_path, monkeypatch):
    (tmp_path / "p" / ".ddbstream").mkdir(parents=True)
    (tmp_path / "p" / "deep" / "er").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "p" / "deep" / "er")
    assert find_project_dir() == (tmp_path / "p").resolve()


def test_the_nearest_project_wins(project, monkeypatch):
    inner = project / "sub"
    (inner / ".ddbstream").mkdir(parents=True)
    monkeypatch.chdir(inner)
    assert find_project_dir() == inner.resolve()


def test_outside_a_project_the_message_says_how_to_start_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NoProject) as caught:
        find_project_dir()
    assert caught.value.message == (
        f"no ddbstream project here (no infra/variables.tf in {tmp_path.resolve()} or above): "
        "run 'ddbstream init' to start one"
    )
    assert caught.value.exit_code is ExitCode.NO_STACK
    with pytest.raises(NoProject):
        state_dir()


def test_the_environment_overrides_the_walk(project, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("DDBSTREAM_PROJECT", str(project))
    assert find_project_dir() == project.resolve()
    assert state_dir() == project.resolve() / ".ddbstream"


def test_a_relative_project_is_taken_from_the_current_directory(project, monkeypatch):
    monkeypatch.chdir(project.parent)
    monkeypatch.setenv("DDBSTREAM_PROJECT", project.name)
    assert find_project_dir() == project.resolve()


def test_a_named_project_must_be_one(tmp_path, monkeypatch):
    monkeypatch.setenv("DDBSTREAM_PROJECT", str(tmp_path))
    with pytest.raises(NoProject) as caught:
        find_project_dir()
    assert caught.value.message == (
        f"no ddbstream project in {tmp_path.resolve()} (--project or DDBSTREAM_PROJECT: no infra/variables.tf "
        f"or .ddbstream/ there): run 'ddbstream init {tmp_path.resolve()}' to start one"
    )


def test_an_explicit_start_ignores_the_environment(project, tmp_path, monkeypatch):
    monkeypatch.setenv("DDBSTREAM_PROJECT", str(tmp_path))
    assert find_project_dir(project / "lambda") == project.resolve()


@pytest.mark.parametrize(
    "argv, command",
    [
        (["put", "--item", "{}"], "put"),
        (["--project", "proj", "put"], "put"),
        (["--project=proj", "tail", "-f"], "tail"),
        (["--project", "up"], None),  # "up" is the directory here; Typer then asks for a command
        (["--version"], None),
    ],
)
def test_the_command_is_found_past_the_project_option(argv, command):
    assert _command_name(argv) == command
