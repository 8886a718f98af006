"""The aws target: Terraform applies infra/ to a real AWS account.

Everything Terraform needs lives in the project's ``.ddbstream/``: the variable values
(``terraform.tfvars.json``, the spec exactly as ddbstream resolved it), Terraform's data
directory (``terraform/``), its state (``terraform.tfstate``), the saved plan and the log of
every command (``terraform.log``). After an apply, even a failed one, the outputs go to
``state.json`` so the other commands find the resources, and ``destroy`` works from the
Terraform state whatever happened before.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as EndpointUnreachable

from ddbstream.clients import aws_client, profile_for
from ddbstream.daemon import daemon_alive
from ddbstream.errors import AwsError, Cancelled, CredentialsError, DdbstreamError, NoStack, TerraformError
from ddbstream.files import write_private
from ddbstream.items import dumps_plain
from ddbstream.pipeline import Pipeline
from ddbstream.plan import Plan
from ddbstream.plan.terraform import from_show_json
from ddbstream.spec import Spec
from ddbstream.state import State, read_state, remove_state, write_state
from ddbstream.targets.base import TargetUI
from ddbstream.terraform import Terraform, find_terraform, first_error, plan_summary

# Root outputs of infra/outputs.tf saved as state.json resources under the same names.
RESOURCE_OUTPUTS = (
    "table_name",
    "table_arn",
    "stream_arn",
    "function_name",
    "function_arn",
    "log_group",
    "queue_url",
    "queue_arn",
    "topic_arn",
    "bucket",
    "mapping_uuid",
    "event_bus_name",
    "event_bus_arn",
    "event_rule_name",
    "event_log_group",
    "event_queue_url",
    "api_id",
    "api_url",
    "api_function_name",
    "api_log_group",
    "api_access_log_group",
    "alarm_names",
)


@dataclass
class Identity:
    account: str
    arn: str
    region: str


def resolve_region(spec: Spec, region: str | None = None) -> str:
    """--region, else an aws_region the spec sets, else $AWS_REGION / $AWS_DEFAULT_REGION, else the default."""
    if region:
        return region
    value = spec.values.get("aws_region")
    variable = spec.variables.get("aws_region")
    if value and (variable is None or value != variable.default):
        return value
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or value or "us-east-1"


def caller_identity(region: str, profile: str | None = None) -> Identity:
    """STS GetCallerIdentity with the caller's credential chain: proves the credentials work."""
    where = f"profile {profile!r}" if profile else "the default credential chain"
    try:
        identity = aws_client("sts", region, profile).get_caller_identity()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise CredentialsError(
            f"AWS rejected the credentials of {where}: {error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(
                ": "
            )
        ) from None
    except (EndpointUnreachable, HTTPClientError) as exc:  # no network, DNS, a proxy, a timeout: not credentials
        raise AwsError(f"cannot reach AWS (STS, in {region}): {exc}; check the network connection") from None
    except BotoCoreError as exc:
        raise CredentialsError(
            f"no usable AWS credentials ({where}): {exc}; set AWS_PROFILE or pass --profile"
        ) from None
    return Identity(account=identity["Account"], arn=identity["Arn"], region=region)


class AwsTarget:
    """Provision the pipeline on AWS with Terraform, keeping Terraform's files in ``directory``."""

    name = "aws"

    def __init__(self, directory: Path, ui: TargetUI, profile: str | None = None, region: str | None = None):
        self.directory = directory
        self.ui = ui
        self.profile = profile
        self.region = region
        self.log_path = directory / "terraform.log"
        self.data_dir = directory / "terraform"
        self.tfstate = directory / "terraform.tfstate"
        self.var_file = directory / "terraform.tfvars.json"
        self.plan_file = directory / "terraform.tfplan"

    # ------------------------------------------------------------------ commands

    def prepare(self) -> None:
        """Nothing to start before the spec is read: Terraform needs it."""

    def cancel(self) -> None:
        pass

    def up(self, spec: Spec) -> tuple[Pipeline, list[str]]:
        """init (once), plan, confirm, apply; save the outputs. Returns (pipeline, notes)."""
        binary = find_terraform()
        self._refuse_running_local_stack()
        deployed = self._deployed()
        self.profile = profile_for(deployed, self.profile)
        region = resolve_region(spec, self.region)
        identity = caller_identity(region, self.profile)
        self._refuse_other_account(identity, deployed)
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._terraform(binary, spec) as terraform:
            lines = self._plan(terraform, spec, region)
            summary = plan_summary(lines)
            if summary is None:
                self.ui.note("terraform plan: no changes")
            else:
                self.ui.note(f"terraform plan: {summary}")
                question = f"Apply these changes in AWS account {identity.account} ({region})?"
                if not self.ui.confirm(question):
                    self.plan_file.unlink(missing_ok=True)
                    raise Cancelled("cancelled: nothing was applied")
                try:
                    code, lines = self._step(
                        terraform, "apply", "apply", "-input=false", "-no-color", "-auto-approve", str(self.plan_file)
                    )
                except KeyboardInterrupt:
                    # Terraform stopped cleanly and saved its state: record what exists.
                    self._save_partial_state(terraform, spec, identity)
                    raise
                self.plan_file.unlink(missing_ok=True)
                if code != 0:
                    # Whatever was created is in Terraform's state: record it, so status and
                    # destroy see the half-built pipeline.
                    self._save_partial_state(terraform, spec, identity)
                    raise self._failure("apply", lines)
            self.plan_file.unlink(missing_ok=True)
            state = self._save_state(terraform, spec, identity)
        return Pipeline.from_state(state), []

    def plan(self, spec: Spec) -> Plan:
        """terraform plan, read back with ``show -json`` (the stable format); nothing is applied."""
        binary = find_terraform()
        deployed = self._deployed()
        self.profile = profile_for(deployed, self.profile)
        region = resolve_region(spec, self.region)
        self._refuse_other_account(caller_identity(region, self.profile), deployed)
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._terraform(binary, spec) as terraform:
            try:
                self._plan(terraform, spec, region)
                return from_show_json(terraform.show_plan(self.plan_file))
            finally:
                self.plan_file.unlink(missing_ok=True)

    def _plan(self, terraform: Terraform, spec: Spec, region: str) -> list[str]:
        """Write the variables, init (once), terraform plan -out; the plan's output lines."""
        self._write_var_file(spec, region)
        self._init(terraform, spec)
        plan = ("plan", "-input=false", "-no-color", f"-out={self.plan_file}", f"-var-file={self.var_file}")
        code, lines = self._step(terraform, "plan", *plan)
        if code != 0 and _needs_init(lines):
            self._init(terraform, spec, force=True)
            code, lines = self._step(terraform, "plan", *plan)
        if code != 0:
            raise self._failure("plan", lines)
        return lines

    def down(self) -> bool:
        """Nothing to stop: a pipeline on AWS runs until it is destroyed."""
        return False

    def destroy(self, spec: Spec | None = None) -> bool:
        """Ask, then terraform destroy (never with -force); forget the state once it succeeded."""
        if spec is None:
            raise ValueError("destroying the aws target needs the spec Terraform applied")
        binary = find_terraform()
        count = self._deployed_resources()
        if count == 0:
            raise NoStack(f"nothing is deployed to AWS from this project: no Terraform state in {self.directory}")
        deployed = self._deployed()
        self.profile = profile_for(deployed, self.profile)
        # Where it was deployed, unless --region says otherwise.
        if self.region is None and deployed is not None and deployed.region:
            region = deployed.region
        else:
            region = resolve_region(spec, self.region)
        identity = caller_identity(region, self.profile)
        self._refuse_other_account(identity, deployed)
        question = (
            f"Destroy the pipeline's {count} resources in AWS account "
            f"{identity.account} ({region})? This deletes the table and its data."
        )
        if not self.ui.confirm(question):
            raise Cancelled("cancelled: nothing was destroyed")
        with self._terraform(binary, spec) as terraform:
            self._write_var_file(spec, region)
            self._init(terraform, spec)
            code, lines = self._step(
                terraform,
                "destroy",
                "destroy",
                "-input=false",
                "-no-color",
                "-auto-approve",
                f"-var-file={self.var_file}",
            )
            if code != 0:
                raise self._failure("destroy", lines)
        state = read_state(self.directory)
        if state is not None and state.target == "aws":
            remove_state(self.directory)
        return True

    # ------------------------------------------------------------------ steps

    @contextmanager
    def _terraform(self, binary: str, spec: Spec) -> Iterator[Terraform]:
        env = {}
        if self.profile:
            env["AWS_PROFILE"] = self.profile
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "w", encoding="utf-8") as log:
            os.chmod(self.log_path, 0o600)
            yield Terraform(
                binary=binary, config_dir=spec.infra_dir.resolve(), data_dir=self.data_dir.resolve(), log=log, env=env
            )

    def _step(self, terraform: Terraform, title: str, *args: str) -> tuple[int, list[str]]:
        with self.ui.activity(f"terraform {title}") as on_line:
            return terraform.run(*args, on_line=on_line)

    def _init(self, terraform: Terraform, spec: Spec, force: bool = False) -> None:
        """terraform init, only when this project's data directory has not been set up for infra/."""
        marker = self.data_dir / "ddbstream-init.json"
        wanted = {"config_dir": str(spec.infra_dir.resolve()), "state": str(self.tfstate.resolve())}
        if not force:
            try:
                if json.loads(marker.read_text()) == wanted:
                    return
            except (OSError, ValueError):
                pass
        self.data_dir.mkdir(parents=True, exist_ok=True)
        code, lines = self._step(
            terraform, "init", "init", "-input=false", "-no-color", f"-backend-config=path={self.tfstate.resolve()}"
        )
        if code != 0:
            marker.unlink(missing_ok=True)
            raise self._failure("init", lines)
        marker.write_text(json.dumps(wanted))

    def _write_var_file(self, spec: Spec, region: str) -> None:
        """The spec's values as Terraform reads them, so both sides use the same ones."""
        values = dict(spec.values)
        values["aws_region"] = region
        write_private(self.var_file, dumps_plain(values, indent=2) + "\n")

    def _save_partial_state(self, terraform: Terraform, spec: Spec, identity: Identity) -> None:
        """After a failed or interrupted apply: record what Terraform's state says exists."""
        try:
            self._save_state(terraform, spec, identity)
        except TerraformError:
            pass  # the apply's own error is the one to report

    def _save_state(self, terraform: Terraform, spec: Spec, identity: Identity) -> State:
        """Terraform's outputs as state.json, so the other commands find the resources."""
        try:
            outputs = terraform.outputs()
        except TerraformError as exc:
            raise TerraformError(f"{exc.message} (log: {self.log_path})") from None
        resources = {name: outputs.get(name) for name in RESOURCE_OUTPUTS if outputs.get(name) is not None}
        if resources.get("table_name"):
            resources["key_schema"] = [list(pair) for pair in spec.key_schema()]
            resources["stream_view_type"] = spec["stream_view_type"]
        state = State(
            target="aws",
            region=outputs.get("region") or identity.region,
            account=outputs.get("account") or identity.account,
            started_at=time.time(),
            resources=resources,
            profile=self.profile or os.environ.get("AWS_PROFILE") or None,
        )
        write_state(self.directory, state)
        return state

    def _deployed_resources(self) -> int:
        try:
            document = json.loads(self.tfstate.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return 0
        return len(document.get("resources") or [])

    def _refuse_running_local_stack(self) -> None:
        state = read_state(self.directory)
        if state is not None and state.is_local and daemon_alive(state):
            raise DdbstreamError(f"a local stack runs on {state.endpoint} in this project: run 'ddbstream down' first")

    def _deployed(self) -> State | None:
        """What the last `up --target aws` of this project recorded (None: nothing, or a local stack)."""
        state = read_state(self.directory)
        return state if state is not None and state.target == "aws" else None

    @staticmethod
    def _refuse_other_account(identity: Identity, deployed: State | None) -> None:
        """Terraform's state belongs to one account: other credentials would only make a mess."""
        if deployed is not None and deployed.account and deployed.account != identity.account:
            raise CredentialsError(
                f"this project's pipeline is in AWS account {deployed.account} but the credentials are for "
                f"{identity.account} ({identity.arn}): use --profile or AWS_PROFILE for account {deployed.account}"
            )

    def _failure(self, step: str, lines: list[str]) -> TerraformError:
        cause = first_error(lines) or "see the log"
        return TerraformError(f"terraform {step} failed: {cause} (log: {self.log_path})")


def _needs_init(lines: list[str]) -> bool:
    text = "\n".join(lines)
    return "terraform init" in text and ("required" in text or "Inconsistent dependency lock" in text)
