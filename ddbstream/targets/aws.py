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
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ddbstream.clients import profile_for
from ddbstream.errors import Cancelled, CredentialsError, DdbstreamError, NoStack, TerraformError
from ddbstream.spec import Spec
from ddbstream.state import State, read_state, remove_state, write_state
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
    from botocore.exceptions import BotoCoreError, ClientError

    from ddbstream.clients import aws_client

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
    except BotoCoreError as exc:
        raise CredentialsError(
            f"no usable AWS credentials ({where}): {exc}; set AWS_PROFILE or pass --profile"
        ) from None
    return Identity(account=identity["Account"], arn=identity["Arn"], region=region)


class ConsoleUI:
    """How the target talks to a person: the CLI's spinner, status lines and confirmation."""

    def __init__(self, verbose: bool = False):
        self.verbose = verbose

    def note(self, message: str) -> None:
        from ddbstream.cli.output import note

        note(message)

    @contextmanager
    def activity(self, message: str) -> Iterator[Callable[[str], None]]:
        """A spinner titled ``message``; yields the callback that receives Terraform's lines."""
        from rich.markup import escape

        from ddbstream.cli.output import err_console, spinner

        if not self.verbose and not sys.stderr.isatty():
            self.note(f"{message} ...")  # no spinner when piped: one line per step
        with spinner(message) as status:

            def on_line(line: str) -> None:
                if self.verbose:
                    err_console().print(escape(line))
                elif line.strip():
                    status.update(f"{message}: {escape(line.strip()[:100])}")

            yield on_line

    def confirm(self, question: str) -> bool:
        """Ask on the terminal (or read the answer from stdin); no answer at all is a refusal."""
        sys.stderr.write(f"{question} [y/N]: ")
        sys.stderr.flush()
        answer = sys.stdin.readline()
        if not sys.stdin.isatty():
            sys.stderr.write(answer.rstrip("\n") + "\n")  # a piped answer is not echoed by a terminal
        if not answer:
            raise Cancelled(f"no answer to '{question}' (stdin is closed): pass --yes to go ahead without asking")
        return answer.strip().lower() in ("y", "yes")


class AwsTarget:
    """Provision the pipeline on AWS with Terraform, keeping Terraform's files in ``directory``."""

    name = "aws"

    def __init__(
        self,
        directory: Path,
        profile: str | None = None,
        region: str | None = None,
        verbose: bool = False,
        ui: Any = None,
    ):
        self.directory = directory
        self.profile = profile
        self.region = region
        self.ui = ui or ConsoleUI(verbose=verbose)
        self.log_path = directory / "terraform.log"
        self.data_dir = directory / "terraform"
        self.tfstate = directory / "terraform.tfstate"
        self.var_file = directory / "terraform.tfvars.json"
        self.plan_file = directory / "terraform.tfplan"

    # ------------------------------------------------------------------ commands

    def up(self, spec: Spec, yes: bool = False):
        """init (once), plan, confirm, apply; save the outputs. Returns (state, notes)."""
        binary = find_terraform()
        self._refuse_running_local_stack()
        deployed = self._deployed()
        self.profile = profile_for(deployed, self.profile)
        region = resolve_region(spec, self.region)
        identity = caller_identity(region, self.profile)
        self._refuse_other_account(identity, deployed)
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._terraform(binary, spec) as terraform:
            self._write_var_file(spec, region)
            self._init(terraform, spec)
            plan = ("plan", "-input=false", "-no-color", f"-out={self.plan_file}", f"-var-file={self.var_file}")
            code, lines = self._step(terraform, "plan", *plan)
            if code != 0 and _needs_init(lines):
                self._init(terraform, spec, force=True)
                code, lines = self._step(terraform, "plan", *plan)
            if code != 0:
                raise self._failure("plan", lines)
            summary = plan_summary(lines)
            if summary is None:
                self.ui.note("terraform plan: no changes")
            else:
                self.ui.note(f"terraform plan: {summary}")
                question = f"Apply these changes in AWS account {identity.account} ({region})?"
                if not yes and not self.ui.confirm(question):
                    self.plan_file.unlink(missing_ok=True)
                    raise Cancelled("cancelled: nothing was applied")
                try:
                    code, lines = self._step(
                        terraform, "apply", "apply", "-input=false", "-no-color", "-auto-approve", str(self.plan_file)
                    )
                except KeyboardInterrupt:
                    # Terraform stopped cleanly and saved its state: record what exists.
                    self._save_state(terraform, spec, identity, partial=True)
                    raise
                self.plan_file.unlink(missing_ok=True)
                if code != 0:
                    # Whatever was created is in Terraform's state: record it, so status and
                    # destroy see the half-built pipeline.
                    self._save_state(terraform, spec, identity, partial=True)
                    raise self._failure("apply", lines)
            self.plan_file.unlink(missing_ok=True)
            state = self._save_state(terraform, spec, identity)
        return state, []

    def destroy(self, spec: Spec, yes: bool = False) -> None:
        """Ask, then terraform destroy (never with -force); forget the state once it succeeded."""
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
        if not yes and not self.ui.confirm(question):
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
        from ddbstream.files import write_private
        from ddbstream.items import dumps_plain

        values = dict(spec.values)
        values["aws_region"] = region
        write_private(self.var_file, dumps_plain(values, indent=2) + "\n")

    def _save_state(self, terraform: Terraform, spec: Spec, identity: Identity, partial: bool = False) -> State | None:
        try:
            outputs = terraform.outputs()
        except TerraformError as exc:
            if partial:
                return None  # the apply's own error is the one to report
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
        from ddbstream.targets.local import daemon_alive

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
