"""The real CLI finds its project as git finds a repository: from any subdirectory, or where
--project or DDBSTREAM_PROJECT point; outside one it says how to start one; init and --help
work anywhere."""

from __future__ import annotations

import json

from support import cli_env, run_cli

from ddbstream.errors import ExitCode


def _one_error_line(result, code: ExitCode, message: str) -> None:
    assert (result.returncode, result.stdout, result.stderr) == (int(code), "", f"error: {message}\n")


def test_commands_find_the_project_from_a_subdirectory(project, tmp_path):
    nested = project / "lambda" / "consumer"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    started = run_cli("up", "--json", cwd=project / "infra" / "modules")
    try:
        assert started.returncode == 0, started.stderr
        assert (project / ".ddbstream" / "state.json").is_file()
        put = run_cli("put", "--item", '{"employeeid": "E7"}', cwd=nested)
        assert put.returncode == 0, put.stderr
        got = run_cli("--project", str(project), "get", "E7", cwd=elsewhere)
        assert (got.returncode, json.loads(got.stdout)) == (0, {"employeeid": "E7"}), got.stderr
        scanned = run_cli("scan", "--json", cwd=elsewhere, env=cli_env(DDBSTREAM_PROJECT=str(project)))
        assert scanned.returncode == 0 and json.loads(scanned.stdout) == {"employeeid": "E7"}, scanned.stderr
    finally:
        stopped = run_cli("down", cwd=nested)
    assert stopped.returncode == 0, stopped.stderr
    # State stays in the project's own directory, wherever the commands ran.
    assert not list(project.glob("*/**/.ddbstream")) and list(elsewhere.iterdir()) == []


def test_outside_a_project_every_command_says_how_to_start_one(tmp_path):
    message = (
        f"no ddbstream project here (no infra/variables.tf in {tmp_path.resolve()} or above): "
        "run 'ddbstream init' to start one"
    )
    for args in (["up"], ["put", "--item", '{"k": "v"}'], ["tail"], ["destroy", "--yes"]):
        _one_error_line(run_cli(*args, cwd=tmp_path), ExitCode.NO_STACK, message)
    assert list(tmp_path.iterdir()) == []  # nothing was written


def test_a_project_option_that_names_no_project(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli("--project", "empty", "status", cwd=tmp_path)
    _one_error_line(
        result,
        ExitCode.NO_STACK,
        f"no ddbstream project in {empty.resolve()} (--project or DDBSTREAM_PROJECT: no infra/variables.tf "
        f"or .ddbstream/ there): run 'ddbstream init {empty.resolve()}' to start one",
    )


def test_init_and_help_work_anywhere(tmp_path):
    for args in (["--help"], ["init", "--help"]):
        result = run_cli(*args, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    assert "--project" in run_cli("--help", cwd=tmp_path).stdout

    made = run_cli("init", "shop", "--example", "user-activities", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert (
        made.stderr
        == "wrote a ddbstream project in shop: the user-activities pipeline, a python3.12 consumer in lambda/\n"
    )
    assert made.stdout.splitlines() == [
        "next:",
        "  cd shop",
        "  ddbstream up",
        """  ddbstream put --item '{"UserId": "U101", "ActivityId": "2024-01-01T09:00:00Z"}'""",
        "  ddbstream tail --since 5m",
    ]
    again = run_cli("init", "shop", cwd=tmp_path)
    assert again.returncode == ExitCode.INVALID_INPUT
    assert again.stderr.startswith("error: shop already has infra/README.md, ") and again.stderr.endswith(
        " more: pass --force to overwrite them\n"
    )
    # The new project is found from inside it (no daemon needed to see that: status says nothing is up).
    inside = run_cli("status", "--check", cwd=tmp_path / "shop" / "lambda")
    assert "no ddbstream project" not in inside.stderr, inside.stderr
