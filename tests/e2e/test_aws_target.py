"""The aws target through the real CLI: a stand-in terraform on PATH, STS answered by moto.

No test reaches AWS: credentials are fake and STS goes to a moto server on 127.0.0.1.
tests/fakes/terraform behaves like Terraform 1.x's command line (see its docstring) and
records every call, so the exact command lines are asserted.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from support import REPO, cli_env, make_project, run_cli

from ddbstream.errors import ExitCode

FAKE = REPO / "tests" / "fakes" / "terraform"


@pytest.fixture(scope="module")
def sts_endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


class Fake:
    """The stand-in terraform installed in a bin directory, and what it recorded."""

    def __init__(self, root: Path):
        self.bin = root / "bin"
        self.bin.mkdir()
        self.path = self.bin / "terraform"
        # The shebang names the interpreter running the tests: no python3 on PATH needed.
        source = FAKE.read_text(encoding="utf-8").split("\n", 1)[1]
        self.path.write_text(f"#!{sys.executable}\n{source}", encoding="utf-8")
        self.path.chmod(self.path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        self.calls_file = root / "terraform-calls.jsonl"

    def calls(self) -> list[dict]:
        if not self.calls_file.exists():
            return []
        return [json.loads(line) for line in self.calls_file.read_text().splitlines()]

    def argvs(self) -> list[list[str]]:
        return [call["argv"] for call in self.calls()]

    def subcommands(self) -> list[str]:
        return [argv[1] for argv in self.argvs()]

    def reset(self) -> None:
        self.calls_file.unlink(missing_ok=True)


@pytest.fixture
def fake(tmp_path) -> Fake:
    return Fake(tmp_path)


@pytest.fixture
def project(tmp_path) -> Path:
    return make_project(tmp_path / "project").resolve()


@pytest.fixture
def env(tmp_path, fake, sts_endpoint):
    """CLI environment: the fake first on PATH, fake credentials, STS on moto, no ~/.aws."""
    home = tmp_path / "home"
    home.mkdir()
    return cli_env(
        PATH=f"{fake.bin}{os.pathsep}/usr/bin:/bin",
        HOME=str(home),
        FAKE_TF_CALLS=str(fake.calls_file),
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_ENDPOINT_URL_STS=sts_endpoint,
        AWS_CONFIG_FILE=str(home / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "no-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
    )


def ddbstream(project: Path, env: dict, *args: str, input: str | None = None):
    return run_cli(*args, cwd=project, env=env, input=input if input is not None else "")


def state_of(project: Path) -> dict | None:
    path = project / ".ddbstream" / "state.json"
    return json.loads(path.read_text()) if path.exists() else None


def expected_commands(project: Path) -> dict[str, list[str]]:
    infra = project / "infra"
    store = project / ".ddbstream"
    return {
        "init": [
            f"-chdir={infra}",
            "init",
            "-input=false",
            "-no-color",
            f"-backend-config=path={store / 'terraform.tfstate'}",
        ],
        "plan": [
            f"-chdir={infra}",
            "plan",
            "-input=false",
            "-no-color",
            f"-out={store / 'terraform.tfplan'}",
            f"-var-file={store / 'terraform.tfvars.json'}",
        ],
        "apply": [
            f"-chdir={infra}",
            "apply",
            "-input=false",
            "-no-color",
            "-auto-approve",
            str(store / "terraform.tfplan"),
        ],
        "output": [f"-chdir={infra}", "output", "-json", "-no-color"],
        "destroy": [
            f"-chdir={infra}",
            "destroy",
            "-input=false",
            "-no-color",
            "-auto-approve",
            f"-var-file={store / 'terraform.tfvars.json'}",
        ],
    }


def assert_one_error(result, exit_code: ExitCode, text: str) -> str:
    """The command failed with ``exit_code`` and a single error line containing ``text``."""
    assert result.returncode == exit_code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert text in errors[0], errors[0]
    return errors[0]


# ---------------------------------------------------------------------------- up


def test_up_runs_init_plan_apply_and_saves_the_outputs(project, env, fake):
    result = ddbstream(project, env, "up", "--target", "aws", "--yes", "--json", "--var", "enable_notifications=true")
    assert result.returncode == 0, result.stderr

    commands = expected_commands(project)
    assert fake.argvs() == [commands["init"], commands["plan"], commands["apply"], commands["output"]]
    data_dirs = {call["env"]["TF_DATA_DIR"] for call in fake.calls()}
    assert data_dirs == {str(project / ".ddbstream" / "terraform")}
    assert all(call["env"]["TF_IN_AUTOMATION"] == "1" for call in fake.calls())

    state = state_of(project)
    assert state["target"] == "aws"
    assert state["account"] == "123456789012"
    assert state["region"] == "us-east-1"
    resources = state["resources"]
    assert resources["table_name"] == "employees"
    assert resources["function_name"] == "employees_stream_consumer"
    assert resources["log_group"] == "/aws/lambda/employees_stream_consumer"
    assert resources["queue_url"] == "https://sqs.us-east-1.amazonaws.com/123456789012/employees-dlq"
    assert resources["topic_arn"] == "arn:aws:sns:us-east-1:123456789012:employees-events"
    assert resources["mapping_uuid"] == "6f0b1c2d-0000-4000-8000-000000000001"
    assert resources["key_schema"] == [["employeeid", "S"]]
    assert "bucket" not in resources  # a null output is absent, not null
    assert stat.S_IMODE((project / ".ddbstream" / "state.json").stat().st_mode) == 0o600
    assert json.loads(result.stdout)["resources"]["table_name"] == "employees"

    # Terraform got the spec exactly as ddbstream resolved it.
    values = json.loads((project / ".ddbstream" / "terraform.tfvars.json").read_text())
    assert values["table_name"] == "employees"
    assert values["enable_notifications"] is True
    assert values["batch_size"] == 100
    assert values["function_name"] is None

    log = (project / ".ddbstream" / "terraform.log").read_text()
    assert f"$ {fake.path} -chdir={project / 'infra'} apply" in log
    assert "Apply complete! Resources: 8 added" in log
    assert not (project / ".ddbstream" / "terraform.tfplan").exists()


def test_init_runs_once_and_an_unchanged_plan_applies_nothing(project, env, fake):
    assert ddbstream(project, env, "up", "--target", "aws", "--yes").returncode == 0
    fake.reset()

    result = ddbstream(project, env, "up", "--target", "aws")  # no --yes: nothing to confirm
    assert result.returncode == 0, result.stderr
    assert fake.subcommands() == ["plan", "output"]
    assert "terraform plan: no changes" in result.stderr
    assert state_of(project)["resources"]["table_name"] == "employees"

    fake.reset()
    result = ddbstream(project, env, "up", "--target", "aws", "--yes", "--var", "enable_audit=true")
    assert result.returncode == 0, result.stderr
    assert fake.subcommands() == ["plan", "apply", "output"]
    assert "terraform plan: 1 to add, 0 to change, 0 to destroy" in result.stderr
    assert state_of(project)["resources"]["bucket"] == "employees-audit-123456789012"


def test_terraform_asking_for_init_gets_it_once_more(project, env, fake):
    assert ddbstream(project, env, "up", "--target", "aws", "--yes").returncode == 0
    # Terraform forgot its backend (a deleted data directory, a provider change...).
    (project / ".ddbstream" / "terraform" / "terraform.tfstate").unlink()
    fake.reset()
    result = ddbstream(project, env, "up", "--target", "aws", "--yes")
    assert result.returncode == 0, result.stderr
    assert fake.subcommands() == ["plan", "init", "plan", "output"]


def test_up_shows_the_plan_and_asks_before_applying(project, env, fake):
    refused = ddbstream(project, env, "up", "--target", "aws", input="n\n")
    assert_one_error(refused, ExitCode.CANCELLED, "cancelled: nothing was applied")
    assert "terraform plan: 7 to add, 0 to change, 0 to destroy" in refused.stderr
    assert "Apply these changes in AWS account 123456789012 (us-east-1)? [y/N]" in refused.stderr
    assert fake.subcommands() == ["init", "plan"]
    assert state_of(project) is None

    no_answer = ddbstream(project, env, "up", "--target", "aws", input="")
    assert_one_error(no_answer, ExitCode.CANCELLED, "pass --yes")

    fake.reset()
    accepted = ddbstream(project, env, "up", "--target", "aws", input="y\n")
    assert accepted.returncode == 0, accepted.stderr
    assert fake.subcommands() == ["plan", "apply", "output"]
    assert state_of(project)["resources"]["function_name"] == "employees_stream_consumer"


def test_verbose_shows_terraform_output(project, env, fake):
    result = ddbstream(project, env, "up", "--target", "aws", "--yes", "--verbose")
    assert result.returncode == 0, result.stderr
    assert "module.lambda_consumer.aws_lambda_function.this: Creation complete after 1s" in result.stderr
    assert "Terraform has been successfully initialized!" in result.stderr

    quiet = ddbstream(project, env, "up", "--target", "aws", "--yes", "--var", "enable_audit=true")
    assert quiet.returncode == 0
    assert "Creation complete" not in quiet.stderr


def test_example_layouts_reach_terraform(project, env, fake):
    example = REPO / "infra" / "examples" / "user_activities.tfvars"
    result = ddbstream(project, env, "up", "--target", "aws", "--yes", "--var-file", str(example))
    assert result.returncode == 0, result.stderr
    values = json.loads((project / ".ddbstream" / "terraform.tfvars.json").read_text())
    assert (values["table_name"], values["hash_key"], values["range_key"]) == ("UserActivities", "UserId", "ActivityId")
    assert (
        values["enable_dlq"] and values["enable_notifications"] and values["enable_audit"] and values["enable_alarms"]
    )
    resources = state_of(project)["resources"]
    assert resources["key_schema"] == [["UserId", "S"], ["ActivityId", "S"]]
    assert resources["bucket"] == "useractivities-audit-123456789012"


# ---------------------------------------------------------------------------- credentials and region


def test_profile_and_region_options_reach_sts_and_terraform(project, env, fake, tmp_path):
    config = tmp_path / "aws-config"
    config.write_text("[profile dev]\nregion = eu-central-1\n")
    credentials = tmp_path / "aws-credentials"
    credentials.write_text("[dev]\naws_access_key_id = devkey\naws_secret_access_key = devsecret\n")
    env = {k: v for k, v in env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    env.update(AWS_CONFIG_FILE=str(config), AWS_SHARED_CREDENTIALS_FILE=str(credentials))

    without = ddbstream(project, env, "up", "--target", "aws", "--yes")
    assert_one_error(without, ExitCode.CREDENTIALS, "no usable AWS credentials")
    assert fake.calls() == []

    result = ddbstream(project, env, "up", "--target", "aws", "--yes", "--profile", "dev", "--region", "eu-west-1")
    assert result.returncode == 0, result.stderr
    assert {call["env"]["AWS_PROFILE"] for call in fake.calls()} == {"dev"}
    values = json.loads((project / ".ddbstream" / "terraform.tfvars.json").read_text())
    assert values["aws_region"] == "eu-west-1"
    assert state_of(project)["region"] == "eu-west-1"

    env["AWS_PROFILE"] = "dev"  # the environment works as well as the option
    assert ddbstream(project, env, "up", "--target", "aws", "--yes").returncode == 0

    missing = ddbstream(project, env, "up", "--target", "aws", "--yes", "--profile", "nosuch")
    assert_one_error(missing, ExitCode.CREDENTIALS, "nosuch")


def test_later_commands_use_the_profile_up_deployed_with(project, env, fake, tmp_path, sts_endpoint):
    config = tmp_path / "aws-config"
    config.write_text("[profile dev]\nregion = eu-central-1\n")
    credentials = tmp_path / "aws-credentials"
    credentials.write_text("[dev]\naws_access_key_id = devkey\naws_secret_access_key = devsecret\n")
    env = {k: v for k, v in env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    # DynamoDB on the same moto server as STS: `put` reaches it only with the profile's credentials.
    env.update(
        AWS_CONFIG_FILE=str(config),
        AWS_SHARED_CREDENTIALS_FILE=str(credentials),
        AWS_ENDPOINT_URL_DYNAMODB=sts_endpoint,
    )
    assert ddbstream(project, env, "up", "--target", "aws", "--yes", "--profile", "dev").returncode == 0
    assert state_of(project)["profile"] == "dev"

    import boto3

    boto3.client(
        "dynamodb",
        endpoint_url=sts_endpoint,
        region_name=state_of(project)["region"],
        aws_access_key_id="devkey",
        aws_secret_access_key="devsecret",
    ).create_table(
        TableName="employees",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "employeeid", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "employeeid", "AttributeType": "S"}],
    )
    put = ddbstream(project, env, "put", "--item", '{"employeeid": "E1"}')
    assert put.returncode == 0, put.stderr
    got = ddbstream(project, env, "get", "E1", "--json")
    assert json.loads(got.stdout) == {"employeeid": "E1"}

    fake.reset()
    again = ddbstream(project, env, "up", "--target", "aws", "--yes")
    assert again.returncode == 0, again.stderr
    assert {call["env"]["AWS_PROFILE"] for call in fake.calls()} == {"dev"}
    assert ddbstream(project, env, "destroy", "--target", "aws", "--yes").returncode == 0

    # $AWS_PROFILE, when set, is what the user asks for now: it outranks the remembered one.
    assert ddbstream(project, env, "up", "--target", "aws", "--yes", "--profile", "dev").returncode == 0
    other = ddbstream(project, dict(env, AWS_PROFILE="nosuch"), "put", "--item", '{"employeeid": "E2"}')
    assert other.returncode != 0 and "nosuch" in other.stderr and "Traceback" not in other.stderr


def test_credentials_of_another_account_are_refused(project, env, fake):
    assert ddbstream(project, env, "up", "--target", "aws", "--yes").returncode == 0
    state_file = project / ".ddbstream" / "state.json"
    state = json.loads(state_file.read_text())
    state["account"] = "210987654321"  # as if deployed with other credentials
    state_file.write_text(json.dumps(state))
    fake.reset()
    for command in (("up", "--target", "aws", "--yes"), ("destroy", "--target", "aws", "--yes")):
        result = ddbstream(project, env, *command)
        assert_one_error(
            result,
            ExitCode.CREDENTIALS,
            "this project's pipeline is in AWS account 210987654321 but the credentials are for 123456789012",
        )
    assert fake.calls() == []


def test_region_comes_from_the_spec_then_the_environment(project, env, fake):
    env = dict(env, AWS_REGION="ap-southeast-2")
    assert ddbstream(project, env, "up", "--target", "aws", "--yes").returncode == 0
    values = json.loads((project / ".ddbstream" / "terraform.tfvars.json").read_text())
    assert values["aws_region"] == "ap-southeast-2"

    result = ddbstream(project, env, "up", "--target", "aws", "--yes", "--var", "aws_region=us-west-2")
    assert result.returncode == 0, result.stderr
    values = json.loads((project / ".ddbstream" / "terraform.tfvars.json").read_text())
    assert values["aws_region"] == "us-west-2"
    assert state_of(project)["region"] == "us-west-2"


def test_unreachable_sts_is_a_network_problem_not_a_credentials_one(project, env, fake):
    # An endpoint that refuses the connection stands for no network (tests/e2e/test_startup_errors.py).
    env = dict(env, AWS_ENDPOINT_URL_STS="http://127.0.0.1:9", AWS_MAX_ATTEMPTS="1")
    result = ddbstream(project, env, "up", "--target", "aws", "--yes")
    assert_one_error(result, ExitCode.AWS, "cannot reach AWS (STS, in us-east-1)")
    assert fake.calls() == []


@pytest.fixture
def rejecting_sts():
    """An STS endpoint that answers every request as AWS does for an unknown access key."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    body = (
        b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
        b"<Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid."
        b"</Message></Error><RequestId>4fc0d3ee-0000-4000-8000-000000000000</RequestId></ErrorResponse>"
    )

    class Reject(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(403)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Reject)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_rejected_credentials_are_one_line(project, env, fake, rejecting_sts):
    result = ddbstream(project, dict(env, AWS_ENDPOINT_URL_STS=rejecting_sts), "up", "--target", "aws", "--yes")
    assert_one_error(result, ExitCode.CREDENTIALS, "AWS rejected the credentials of the default credential chain")
    assert "InvalidClientTokenId" in result.stderr
    assert fake.calls() == []


# ---------------------------------------------------------------------------- finding terraform


def test_missing_terraform(project, env, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = ddbstream(project, dict(env, PATH=str(empty)), "up", "--target", "aws", "--yes")
    assert_one_error(result, ExitCode.TERRAFORM, "terraform not found")

    result = ddbstream(project, dict(env, DDBSTREAM_TERRAFORM=str(tmp_path / "nope")), "up", "--target", "aws")
    assert_one_error(result, ExitCode.TERRAFORM, f"DDBSTREAM_TERRAFORM={tmp_path / 'nope'} is not an executable file")


def test_ddbstream_terraform_and_tofu_are_found(project, env, fake, tmp_path):
    elsewhere = tmp_path / "opt"
    elsewhere.mkdir()
    moved = elsewhere / "terraform-1.9"
    fake.path.rename(moved)
    result = ddbstream(project, dict(env, DDBSTREAM_TERRAFORM=str(moved)), "up", "--target", "aws", "--yes")
    assert result.returncode == 0, result.stderr
    assert fake.subcommands() == ["init", "plan", "apply", "output"]

    tofu = fake.bin / "tofu"
    moved.rename(tofu)
    fake.reset()
    result = ddbstream(project, env, "up", "--target", "aws", "--yes", "--var", "enable_audit=true")
    assert result.returncode == 0, result.stderr
    assert fake.subcommands() == ["plan", "apply", "output"]


# ---------------------------------------------------------------------------- failures


def test_failed_init_names_the_cause_and_the_log_and_is_retried(project, env, fake):
    result = ddbstream(project, dict(env, FAKE_TF_FAIL="init"), "up", "--target", "aws", "--yes")
    line = assert_one_error(
        result, ExitCode.TERRAFORM, "terraform init failed: Failed to query available provider packages"
    )
    assert str(project / ".ddbstream" / "terraform.log") in line
    assert "Could not retrieve the list" in (project / ".ddbstream" / "terraform.log").read_text()
    assert state_of(project) is None

    fake.reset()
    assert ddbstream(project, env, "up", "--target", "aws", "--yes").returncode == 0
    assert fake.subcommands() == ["init", "plan", "apply", "output"]


def test_failed_plan(project, env, fake):
    result = ddbstream(project, dict(env, FAKE_TF_FAIL="plan"), "up", "--target", "aws", "--yes")
    assert_one_error(result, ExitCode.TERRAFORM, "terraform plan failed: Invalid value for variable")
    assert fake.subcommands() == ["init", "plan"]
    assert state_of(project) is None


def test_half_done_apply_is_recorded_and_destroy_still_works(project, env, fake):
    result = ddbstream(project, dict(env, FAKE_TF_FAIL="apply-partial"), "up", "--target", "aws", "--yes")
    assert_one_error(
        result,
        ExitCode.TERRAFORM,
        "terraform apply failed: creating Lambda Function (employees_stream_consumer): InvalidParameterValueException",
    )
    state = state_of(project)
    assert state["target"] == "aws"
    assert state["resources"]["table_name"] == "employees"
    assert "function_name" not in state["resources"]

    fake.reset()
    destroyed = ddbstream(project, env, "destroy", "--target", "aws", "--yes")
    assert destroyed.returncode == 0, destroyed.stderr
    assert fake.argvs()[-1] == expected_commands(project)["destroy"]
    assert state_of(project) is None
    tfstate = json.loads((project / ".ddbstream" / "terraform.tfstate").read_text())
    assert tfstate["resources"] == []


def test_failed_output_after_apply(project, env, fake):
    result = ddbstream(project, dict(env, FAKE_TF_FAIL="output"), "up", "--target", "aws", "--yes")
    line = assert_one_error(result, ExitCode.TERRAFORM, "terraform output failed: Failed to load state")
    assert line.endswith(f"(log: {project / '.ddbstream' / 'terraform.log'})")
    assert fake.subcommands() == ["init", "plan", "apply", "output"]


def test_failed_apply_without_outputs_keeps_the_apply_error(project, env, fake):
    result = ddbstream(project, dict(env, FAKE_TF_FAIL="apply"), "up", "--target", "aws", "--yes")
    assert_one_error(result, ExitCode.TERRAFORM, "terraform apply failed: creating Lambda Function")


# ---------------------------------------------------------------------------- destroy


def test_destroy_asks_then_runs_terraform_destroy_without_force(project, env, fake):
    assert ddbstream(project, env, "up", "--target", "aws", "--yes").returncode == 0
    fake.reset()

    refused = ddbstream(project, env, "destroy", "--target", "aws", input="n\n")
    assert_one_error(refused, ExitCode.CANCELLED, "cancelled: nothing was destroyed")
    assert "Destroy the pipeline's 7 resources in AWS account 123456789012 (us-east-1)?" in refused.stderr
    assert fake.calls() == []
    assert state_of(project)["target"] == "aws"

    result = ddbstream(project, env, "destroy", "--target", "aws", input="yes\n")
    assert result.returncode == 0, result.stderr
    assert fake.argvs() == [expected_commands(project)["destroy"]]
    assert "-force" not in fake.argvs()[0]
    assert state_of(project) is None
    assert "pipeline destroyed" in result.stderr

    again = ddbstream(project, env, "destroy", "--target", "aws", "--yes")
    assert_one_error(again, ExitCode.NO_STACK, "nothing is deployed to AWS from this project")


def test_destroy_goes_to_the_region_it_was_deployed_in(project, env, fake):
    assert ddbstream(project, env, "up", "--target", "aws", "--yes", "--region", "eu-west-1").returncode == 0
    result = ddbstream(project, env, "destroy", "--target", "aws", "--yes")
    assert result.returncode == 0, result.stderr
    values = json.loads((project / ".ddbstream" / "terraform.tfvars.json").read_text())
    assert values["aws_region"] == "eu-west-1"


def test_destroy_follows_the_deployed_target(project, env, fake):
    assert ddbstream(project, env, "up", "--target", "aws", "--yes").returncode == 0
    result = ddbstream(project, env, "destroy", "--yes")
    assert result.returncode == 0, result.stderr
    assert fake.argvs()[-1] == expected_commands(project)["destroy"]
    assert state_of(project) is None


def test_failed_destroy_keeps_the_state(project, env, fake):
    assert ddbstream(project, env, "up", "--target", "aws", "--yes").returncode == 0
    result = ddbstream(project, dict(env, FAKE_TF_FAIL="destroy"), "destroy", "--target", "aws", "--yes")
    assert_one_error(result, ExitCode.TERRAFORM, "terraform destroy failed: deleting S3 Bucket: BucketNotEmpty")
    assert state_of(project)["resources"]["table_name"] == "employees"


# ---------------------------------------------------------------------------- the stand-in itself


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["destroy", "-force"], "flag provided but not defined: -force"),
        (["destroy", "-input=false"], "Destroy cancelled."),
        (["destroy"], "Failed to read input: stdin is not a terminal"),
        (["apply", "-input=false"], "Apply cancelled."),
        (["plan"], "Failed to read input: stdin is not a terminal"),
    ],
)
def test_the_stand_in_refuses_what_terraform_1x_refuses(project, fake, argv, message):
    """The stand-in keeps the target honest: these are the lines Terraform 1.x would refuse."""
    env = cli_env(TF_DATA_DIR=str(project / "tfdata"))
    subprocess.run(
        [str(fake.path), f"-chdir={project / 'infra'}", "init", "-input=false"],
        env=env,
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )
    result = subprocess.run(
        [str(fake.path), f"-chdir={project / 'infra'}", *argv],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1
    assert message in result.stdout


AFTER_UP = [
    ("put", "--item", '{"employeeid": "E1"}'),
    ("get", "E1"),
    ("scan",),
    ("tail",),
    ("invoke",),
    ("replay", "--from", "TRIM_HORIZON"),
]


def write_aws_state(project: Path, **extra) -> None:
    store = project / ".ddbstream"
    store.mkdir(exist_ok=True)
    state = {
        "target": "aws",
        "region": "us-east-1",
        "account": "123456789012",
        **extra,
        "resources": {
            "table_name": "employees",
            "key_schema": [["employeeid", "S"]],
            "function_name": "employees-consumer",
        },
    }
    (store / "state.json").write_text(json.dumps(state))


@pytest.mark.parametrize("command", AFTER_UP, ids=lambda command: command[0])
def test_a_missing_profile_is_one_line_for_every_command(project, env, command):
    write_aws_state(project, profile="gone")
    env = {k: v for k, v in env.items() if not k.startswith("AWS_ACCESS_KEY") and not k.startswith("AWS_SECRET")}
    result = ddbstream(project, env, *command)
    assert_one_error(result, ExitCode.CREDENTIALS, "The config profile (gone) could not be found")


@pytest.mark.parametrize("command", AFTER_UP, ids=lambda command: command[0])
def test_no_credentials_at_all_is_one_line_for_every_command(project, env, command):
    write_aws_state(project)
    env = {k: v for k, v in env.items() if not k.startswith("AWS_ACCESS_KEY") and not k.startswith("AWS_SECRET")}
    env.update(AWS_MAX_ATTEMPTS="1", AWS_ENDPOINT_URL="http://127.0.0.1:9")  # nothing leaves the machine
    result = ddbstream(project, env, *command)
    assert result.returncode in (ExitCode.CREDENTIALS, ExitCode.AWS), result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("error:") == 1 and "Unable to locate credentials" in result.stderr, result.stderr


# ---------------------------------------------------------------------------- plan


def test_plan_is_terraform_plan_read_back_with_show_json(project, env, fake):
    first = ddbstream(project, env, "plan", "--target", "aws")
    assert first.returncode == 0, first.stderr
    assert "+ module.dynamodb_table.aws_dynamodb_table.this (table employees) will be created" in first.stdout
    assert first.stdout.strip().endswith("Plan: 7 to add, 0 to change, 0 to destroy.")
    store = project / ".ddbstream"
    show = [f"-chdir={project / 'infra'}", "show", "-json", "-no-color", str(store / "terraform.tfplan")]
    assert fake.argvs()[-1] == show
    assert fake.subcommands() == ["init", "plan", "show"]
    assert not (store / "terraform.tfplan").exists() and state_of(project) is None  # nothing applied

    assert ddbstream(project, env, "up", "--target", "aws", "--yes").returncode == 0
    same = ddbstream(project, env, "plan", "--target", "aws", "--json", "--detailed-exitcode")
    assert same.returncode == 0, same.stderr
    assert json.loads(same.stdout)["summary"] == {"add": 0, "change": 0, "destroy": 0}

    renamed = ddbstream(project, env, "plan", "--target", "aws", "--var", "table_name=users", "--detailed-exitcode")
    assert renamed.returncode == 2, renamed.stderr
    assert "-/+ module.dynamodb_table.aws_dynamodb_table.this (table employees -> users) must be replaced" in (
        renamed.stdout
    )
    assert '    ~ name: "employees" -> "users"  # forces replacement' in renamed.stdout
    assert renamed.stdout.strip().endswith("Plan: 1 to add, 0 to change, 1 to destroy.")
