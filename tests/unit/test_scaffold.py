"""`ddbstream init`'s files: every shipped example with either runtime is a project the spec
loads, with the consumer of that runtime in lambda/; nothing is overwritten without --force."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import REPO

from ddbstream import scaffold
from ddbstream.errors import ExitCode, InvalidInput
from ddbstream.project_files import project_source, shipped_files
from ddbstream.spec import load_spec

EXAMPLES = sorted(scaffold.examples())
RUNTIMES = ("python3.12", "nodejs20.x")


def test_the_examples_are_the_shipped_variable_files():
    assert project_source() == REPO  # a checkout reads its own infra/ and lambda/
    assert {"employees", "user-activities", "realtime-data"} <= set(EXAMPLES)
    assert set(EXAMPLES) == {p.stem.replace("_", "-") for p in (REPO / "infra" / "examples").glob("*.tfvars")}


def test_what_is_never_shipped(tmp_path):
    for relative in ("infra/variables.tf", "lambda/handler.py", "lambda/nodejs/package.json"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("x")
    for relative in (
        "lambda/nodejs/node_modules/a/index.js",
        "lambda/__pycache__/handler.cpython-311.pyc",
        "infra/.terraform/modules/m.json",
        "infra/terraform.tfstate",
        "infra/terraform.tfstate.backup",
        "infra/terraform.tfvars",
        "infra/.terraform.lock.hcl",
    ):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("not shipped")
    assert list(shipped_files(tmp_path)) == ["infra/variables.tf", "lambda/handler.py", "lambda/nodejs/package.json"]


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("example", EXAMPLES)
def test_each_example_with_each_runtime_is_a_working_project(example, runtime, tmp_path):
    written = scaffold.write(tmp_path, scaffold.plan(example, runtime))
    spec = load_spec(tmp_path / "infra")
    assert spec["lambda_runtime"] == runtime
    assert spec.get("lambda_source_dir") is None  # lambda/ itself is the consumer
    assert (tmp_path / "infra" / "modules" / "dynamodb_table" / "main.tf").is_file()
    assert not (tmp_path / "infra" / "examples").exists()
    assert not any("node_modules" in path for path in written)
    consumer = tmp_path / "lambda"
    if runtime.startswith("nodejs"):
        assert spec["lambda_handler"] == "index.handler"
        assert (consumer / "index.js").is_file() and (consumer / "package-lock.json").is_file()
        assert not (consumer / "handler.py").exists()
    else:
        assert spec["lambda_handler"] == "handler.lambda_handler"
        assert (consumer / "handler.py").is_file() and (consumer / "consumer" / "batch.py").is_file()
        assert not (consumer / "nodejs").exists() and not (consumer / "index.js").exists()
    assert (consumer / "api" / "app.py").is_file() == bool(spec.get("enable_api"))
    assert ".ddbstream/" in (tmp_path / ".gitignore").read_text().splitlines()


def test_the_default_is_the_employees_pipeline_with_its_own_runtime(tmp_path):
    project = scaffold.plan()
    assert (project.example, project.runtime) == ("employees", "python3.12")
    assert scaffold.plan("realtime").runtime == "nodejs22.x"  # the example's own; a prefix names it


def test_the_variable_file_keeps_the_example_and_sets_the_consumer():
    text = scaffold.plan("user-activities", "nodejs20.x").files["infra/terraform.tfvars"].decode()
    assert 'table_name       = "UserActivities"' in text
    assert text.endswith('lambda_runtime = "nodejs20.x"\nlambda_handler = "index.handler"\n')
    assert "--var-file" not in text


@pytest.mark.parametrize(
    "example, runtime, message",
    [
        ("nope", None, "--example 'nope': choose one of " + ", ".join(EXAMPLES)),
        ("employees-x", None, "--example 'employees-x': choose one of " + ", ".join(EXAMPLES)),
        (None, "go1.x", "--runtime 'go1.x': expected python3.N (e.g. python3.12) or nodejsN.x (e.g. nodejs20.x)"),
    ],
)
def test_bad_choices_are_refused(example, runtime, message):
    with pytest.raises(InvalidInput) as caught:
        scaffold.plan(example, runtime)
    assert caught.value.message == message


def test_existing_files_are_not_overwritten_without_force(tmp_path):
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "main.tf").write_text("# mine\n")
    (tmp_path / "lambda").mkdir()
    (tmp_path / "lambda" / "handler.py").write_text("# mine\n")
    with pytest.raises(scaffold.ProjectExists) as caught:
        scaffold.write(tmp_path, scaffold.plan())
    assert caught.value.message == (
        f"{tmp_path} already has infra/main.tf, lambda/handler.py: pass --force to overwrite them"
    )
    assert caught.value.exit_code is ExitCode.INVALID_INPUT
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        "infra/main.tf",
        "lambda/handler.py",
    ]
    scaffold.write(tmp_path, scaffold.plan(), force=True)
    assert (tmp_path / "infra" / "main.tf").read_bytes() == (REPO / "infra" / "main.tf").read_bytes()


def test_many_conflicts_are_counted_not_listed(tmp_path):
    scaffold.write(tmp_path, scaffold.plan())
    with pytest.raises(scaffold.ProjectExists, match=r"^\S+ already has (\S+, ){2}\S+ and \d+ more: pass --force"):
        scaffold.write(tmp_path, scaffold.plan())


def test_a_gitignore_is_added_to_not_replaced(tmp_path):
    (tmp_path / ".gitignore").write_text("dist/\n.ddbstream/")
    scaffold.write(tmp_path, scaffold.plan())
    lines = (tmp_path / ".gitignore").read_text().splitlines()
    assert lines[:2] == ["dist/", ".ddbstream/"]
    assert lines.count(".ddbstream/") == 1 and "infra/.terraform/" in lines


def test_next_commands_put_a_key_the_table_takes(tmp_path):
    project = tmp_path / "orders"
    scaffold.write(project, scaffold.plan("user-activities"))
    assert scaffold.next_commands(project, tmp_path) == [
        "cd orders",
        "ddbstream up",
        """ddbstream put --item '{"UserId": "U101", "ActivityId": "2024-01-01T09:00:00Z"}'""",
        "ddbstream tail --since 5m",
    ]
    assert scaffold.next_commands(project, project)[0] == "ddbstream up"


def test_a_file_in_the_way_is_refused(tmp_path):
    target = Path(tmp_path / "file")
    target.write_text("x")
    with pytest.raises(InvalidInput, match="is a file, not a directory"):
        scaffold.write(target, scaffold.plan())
