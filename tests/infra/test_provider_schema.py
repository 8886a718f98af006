"""infra/ against the AWS provider's own schema (tools/provider_schema, also run by .ci/check-infra).

The schema is cdktf's prebuilt provider, downloaded once per version into the cache
(~/.cache/ddbstream-provider-schema). A machine that cannot download it fails here with the
reason: the check never skips itself into passing. The fixture tree under
fixtures/provider_schema/ holds one mistake of each kind, each on a line marked "Mistake".
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support import REPO

sys.path.insert(0, str(REPO))  # tools/ is the repository's dev tooling, not an installed package

from tools.provider_schema import __main__ as cli  # noqa: E402
from tools.provider_schema import fetch, hcl, versions  # noqa: E402
from tools.provider_schema.check import check_tree  # noqa: E402

FIXTURE = Path(__file__).parent / "fixtures" / "provider_schema"
SHOWN = FIXTURE.relative_to(REPO)
MAIN = f"{SHOWN}/main.tf"

EXPECTED = [
    f'{SHOWN}/examples/orders.tfvars:2: provider_schema has no variable "tabel_name"',
    f'{MAIN}:4: provider "aws": unknown argument "regoin"',
    f'{MAIN}:11: aws_dynamodb_table.orders: "stream_enabled" expects a bool, got the string "yes"',
    f'{MAIN}:12: aws_dynamodb_table.orders: unknown argument "stream_view_typo"',
    f'{MAIN}:15: aws_dynamodb_table.orders: "table_class" expects a string, got a list',
    f'{MAIN}:17: aws_dynamodb_table.orders: "point_in_time_recovery" is a block, not an argument: '
    "write point_in_time_recovery { ... }",
    f'{MAIN}:29: aws_dynamodb_table.orders: at most one "ttl" block',
    f'{MAIN}:35: aws_dynamodb_table.orders.server_side_encryption: unknown block "attribute" '
    "(it belongs in aws_dynamodb_table.orders)",
    f'{MAIN}:41: aws_dynamodb_table.orders: unknown block "stream"',
    f'{MAIN}:45: aws_dynamodb_table.orders: "tags" is an argument, not a block: write tags = ...',
    f'{MAIN}:48: aws_lambda_event_source_mapping.orders: missing required argument "function_name"',
    f'{MAIN}:53: aws_s3_bucket_versioning.audit: missing required block "versioning_configuration"',
    f'{MAIN}:57: aws_dynamo_table.typo: hashicorp/aws 6.25.0 has no resource type "aws_dynamo_table"',
    f'{MAIN}:61: data.aws_caller_identitee.current: hashicorp/aws 6.25.0 has no data source "aws_caller_identitee"',
    f'{MAIN}:63: module "queue": missing required input "name"',
    f'{MAIN}:65: module "queue": queue has no input variable "nmae"',
    f'{MAIN}:70: aws_dynamodb_table.orders has no attribute "stream_url"',
    f'{MAIN}:74: module.queue: queue has no output "url"',
    f"{MAIN}:78: reference to undeclared resource aws_sqs_queue.gone",
    f'{SHOWN}/versions.tf:3: hashicorp/aws ">= 6.0, < 8.0" allows major 7, the schema is 6.25.0 (major 6)',
]


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    try:
        return fetch.load_schema()
    except fetch.FetchError as exc:
        pytest.fail(f"the AWS provider schema is needed and cannot be had: {exc} (cache: {fetch.cache_dir()})")


def test_infra_agrees_with_the_provider_schema(schema):
    result = check_tree(REPO / "infra", schema, Path("infra"))
    assert result.problems == []
    assert result.checked >= 50  # every resource and data block of the root and its modules was read


def test_each_kind_of_mistake_is_reported_with_file_and_line(schema):
    result = check_tree(FIXTURE, schema, SHOWN)
    assert result.problems == EXPECTED
    marked = {
        f"{SHOWN / path.relative_to(FIXTURE)}:{number}"
        for path in [*FIXTURE.rglob("*.tf"), *FIXTURE.rglob("*.tfvars")]
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "# Mistake" in line
    }
    assert {":".join(problem.split(":", 2)[:2]) for problem in result.problems} == marked


def test_the_command_prints_one_line_a_problem_and_fails(schema):
    done = subprocess.run(
        [sys.executable, "-m", "tools.provider_schema", str(SHOWN)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stdout.splitlines() == EXPECTED
    assert done.stderr.startswith(f"provider-schema: {len(EXPECTED)} problem(s) in ")


def test_the_schema_reads_links_not_class_names(schema):
    # jsii renamed aws_s3_bucket_versioning's class S3BucketVersioningA; timeouts is a block in the JavaScript only
    assert schema["provider"] == "6.25.0"
    assert set(schema["resource"]["aws_s3_bucket_versioning"]["blocks"]) == {"versioning_configuration"}
    table = schema["resource"]["aws_dynamodb_table"]
    assert {"stream_arn", "stream_label", "arn"} <= set(table["exports"])
    assert table["blocks"]["timeouts"][1:] == ["single", False]
    assert table["args"]["name"] == ["string", True]


@pytest.mark.parametrize(
    ("constraint", "problem"),
    [
        (">= 5.40, < 7.0", None),
        ("~> 6.2", None),
        ("6.25.0", None),
        (">= 6.0", 'hashicorp/aws ">= 6.0" has no upper bound: pin major 6 (the schema\'s)'),
        ("~> 5.40", 'hashicorp/aws "~> 5.40" does not allow the schema\'s version 6.25.0'),
        (">= 7.0, < 8.0", 'hashicorp/aws ">= 7.0, < 8.0" does not allow the schema\'s version 6.25.0'),
        ("<= 7.1", 'hashicorp/aws "<= 7.1" allows major 7, the schema is 6.25.0 (major 6)'),
        ("> six", "cannot read version constraint '> six'"),
    ],
)
def test_the_provider_major_must_agree_with_the_schema(constraint, problem):
    assert versions.problem(constraint, "6.25.0") == problem


def test_no_schema_is_one_line_and_exit_2(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("DDBSTREAM_SCHEMA_CACHE", str(tmp_path))
    with pytest.raises(fetch.FetchError, match="no cached schema at "):
        fetch.load_schema(download=False)

    def unavailable() -> dict[str, Any]:
        raise fetch.FetchError("cannot download the provider schema: pip download failed: no network")

    monkeypatch.setattr(cli, "load_schema", unavailable)
    assert cli.main(["infra"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "provider-schema: cannot download the provider schema: pip download failed: no network\n"


def test_references_are_found_in_templates_indexes_and_splats(tmp_path):
    source = tmp_path / "refs.tf"
    source.write_text(
        "locals {\n"
        "  a = module.m[aws_x.y[local.k].id].out\n"
        '  b = "${aws_s3_bucket.b.arn}/*"\n'
        "  c = [for s in aws_x.z[*].arn : s]\n"
        "}\n"
    )
    (block,) = hcl.parse_file(source, Path("refs.tf")).blocks
    found = {name: [(r.root, r.steps, r.line) for r in hcl.references(a.expr)] for name, a in block.attributes.items()}
    assert found == {
        "a": [("module", ["m", None, "out"], 2), ("aws_x", ["y", None, "id"], 2), ("local", ["k"], 2)],
        "b": [("aws_s3_bucket", ["b", "arn"], 3)],
        "c": [("aws_x", ["z", None, "arn"], 4)],
    }
