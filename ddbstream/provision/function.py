"""Lambda functions: code package, execution role, log group and configuration.

``deploy_function`` creates or reconciles one function from a ``FunctionDefinition``; the
consumer (``provision_function``) and the CRUD API (provision/http_api.py) both go through it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ddbstream.errors import SpecError
from ddbstream.interpreters import is_node, local_node
from ddbstream.names import lambda_log_group
from ddbstream.provision.npm import installed_modules, is_node_package
from ddbstream.provision.run import Provisioning
from ddbstream.spec import Spec

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # zip entries without mtimes: the same tree gives the same hash
_EXCLUDED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache"}
_ASSUME_ROLE = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def source_dir(spec: Spec) -> Path:
    """The directory packaged as the function's code (lambda_source_dir, relative to infra/)."""
    configured = spec.get("lambda_source_dir")
    directory = (spec.infra_dir / configured) if configured else spec.project_dir / "lambda"
    if not directory.is_dir():
        raise SpecError(f"{directory}: no such directory: the function's code is packaged from there")
    return directory


def package(directory: Path, node_modules: Path | None = None) -> bytes:
    """A deterministic zip of ``directory`` (sorted, fixed timestamps, no caches); with ``node_modules``,
    that tree is the package's ``node_modules/`` instead of the directory's own."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in _package_files(directory, node_modules):
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.external_attr = (0o755 if path.stat().st_mode & 0o111 else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def _package_files(directory: Path, node_modules: Path | None) -> list[tuple[str, Path]]:
    """(name in the zip, file) for every packaged file, sorted by name.

    Left out: caches; with ``node_modules``, the directory's own node_modules; a top-level
    directory that is a Node.js package of its own (lambda/nodejs beside the Python consumer).
    """
    skip_top = {p.name for p in directory.iterdir() if p.is_dir() and is_node_package(p)} - {""}
    if node_modules:
        skip_top.add("node_modules")
    roots = [(directory, "", skip_top)] + ([(node_modules, "node_modules/", set())] if node_modules else [])
    files = []
    for root, prefix, skipped in roots:
        for current, dirs, names in os.walk(root):
            here = Path(current)
            dirs[:] = [d for d in dirs if d not in _EXCLUDED_DIRS and not (here == root and d in skipped)]
            for name in names:
                path = here / name
                if path.suffix != ".pyc" and path.is_file():
                    files.append((prefix + path.relative_to(root).as_posix(), path))
    return sorted(files)


def function_code(directory: Path, runtime: str, progress=lambda _: None) -> bytes:
    """The function's zip; a Node.js package gets its dependencies from ``npm ci`` (cached per lockfile)."""
    if is_node(runtime):
        local_node(runtime)  # RuntimeUnavailable: no node to install the dependencies or run them with
    if is_node_package(directory):
        return package(directory, installed_modules(directory, progress=progress))
    return package(directory)


def code_sha256(code: bytes) -> str:
    """Lambda's CodeSha256: the base64 of the package's SHA-256 digest."""
    return base64.b64encode(hashlib.sha256(code).digest()).decode()


def function_environment(spec: Spec, resources: dict[str, Any]) -> dict[str, str]:
    """The consumer's variables: lambda_environment, then the pipeline's own (they win), as infra/ does."""
    env = {str(k): str(v) for k, v in (spec.get("lambda_environment") or {}).items()}
    env["TABLE_NAME"] = resources.get("table_name") or spec["table_name"]
    if spec.get("enable_dlq") and resources.get("queue_url"):
        env["DLQ_URL"] = resources["queue_url"]
    if spec.get("enable_notifications") and resources.get("topic_arn"):
        env["TOPIC_ARN"] = resources["topic_arn"]
        env["NOTIFY_EVENT_NAMES"] = ",".join(spec.get("notify_event_names") or [])
    if spec.get("enable_audit") and resources.get("bucket"):
        env["AUDIT_BUCKET"] = resources["bucket"]
        env["AUDIT_PREFIX"] = spec.get("audit_prefix") or ""
    if spec.get("event_bus_name"):
        env["EVENT_BUS_NAME"] = spec["event_bus_name"]
    if spec.get("fail_attribute"):
        env["FAIL_ATTRIBUTE"] = spec["fail_attribute"]
    return env


@dataclass(frozen=True)
class FunctionDefinition:
    """One function as infra/ defines it: what deploy_function creates or reconciles."""

    name: str
    directory: Path  # packaged as the function's code
    runtime: str
    handler: str
    memory_size: int
    timeout: int
    environment: dict[str, str]
    description: str
    log_retention_days: int = 0
    tags: dict[str, str] = field(default_factory=dict)


def _role_arn(iam: Any, function_name: str) -> str:
    """The function's execution role (``<function>-role``), created when missing."""
    name = f"{function_name}-role"[:64]
    try:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        return iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=_ASSUME_ROLE, Description="ddbstream function execution role"
        )["Role"]["Arn"]


def ensure_log_group(logs: Any, group: str, retention_days: int, tags: dict[str, str]) -> None:
    """The log group, created when missing, with ``retention_days`` (0: never expire)."""
    found = logs.describe_log_groups(logGroupNamePrefix=group).get("logGroups", [])
    current = next((g for g in found if g["logGroupName"] == group), None)
    if current is None:
        logs.create_log_group(logGroupName=group, **({"tags": tags} if tags else {}))
        current = {}
    if retention_days and current.get("retentionInDays") != retention_days:
        logs.put_retention_policy(logGroupName=group, retentionInDays=retention_days)
    elif not retention_days and current.get("retentionInDays"):
        logs.delete_retention_policy(logGroupName=group)


def deploy_function(run: Provisioning, definition: FunctionDefinition) -> dict[str, Any]:
    """Create or update one function (its code only when the package's hash changed); its configuration."""
    client, progress, name = run.client, run.progress, definition.name
    code = function_code(definition.directory, definition.runtime, progress)
    ensure_log_group(client("logs"), lambda_log_group(name), definition.log_retention_days, definition.tags)
    lam = client("lambda")
    desired = function_settings(definition)
    try:
        current = lam.get_function_configuration(FunctionName=name)
    except lam.exceptions.ResourceNotFoundException:
        progress(f"creating function {name}")
        return lam.create_function(
            FunctionName=name,
            Role=_role_arn(client("iam"), name),
            Code={"ZipFile": code},
            Description=definition.description,
            **desired,
            **({"Tags": definition.tags} if definition.tags else {}),
        )
    changed = {k: desired[k] for k in configuration_changes(current, desired)}
    if changed:
        progress(f"updating function {name} configuration ({', '.join(sorted(changed))})")
        current = lam.update_function_configuration(FunctionName=name, **changed)
    if current.get("CodeSha256") != code_sha256(code):
        progress(f"updating function {name} code")
        current = lam.update_function_code(FunctionName=name, ZipFile=code)
    return current


def function_settings(definition: FunctionDefinition) -> dict[str, Any]:
    """The configuration CreateFunction and UpdateFunctionConfiguration set (the plan compares the same)."""
    return {
        "Runtime": definition.runtime,
        "Handler": definition.handler,
        "MemorySize": definition.memory_size,
        "Timeout": definition.timeout,
        "Environment": {"Variables": definition.environment},
    }


def configuration_changes(current: dict[str, Any], desired: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """{setting: (deployed, wanted)} for each setting of ``desired`` the deployed configuration lacks."""
    found = {key: deployed_value(current, key) for key in desired}
    return {key: (found[key], value) for key, value in desired.items() if found[key] != value}


def provision_function(run: Provisioning) -> None:
    """Create or update the consumer function."""
    spec, resources = run.spec, run.resources
    definition = consumer_definition(spec, resources)
    current = deploy_function(run, definition)
    name = definition.name
    resources.update(function_name=name, function_arn=current["FunctionArn"], log_group=lambda_log_group(name))


def consumer_definition(spec: Spec, resources: dict[str, Any]) -> FunctionDefinition:
    """The consumer as the spec defines it (``resources``: what its environment names)."""
    return FunctionDefinition(
        name=spec.resource_names()["function_name"],
        directory=source_dir(spec),
        runtime=spec["lambda_runtime"],
        handler=spec["lambda_handler"],
        memory_size=int(spec["lambda_memory_size"]),
        timeout=int(spec["lambda_timeout"]),
        environment=function_environment(spec, resources),
        description="ddbstream DynamoDB Streams consumer",
        log_retention_days=int(spec.get("log_retention_days") or 0),
        tags={str(k): str(v) for k, v in (spec.get("tags") or {}).items()},
    )


def deployed_value(config: dict[str, Any], key: str) -> Any:
    """A setting of a GetFunctionConfiguration answer, in function_settings' shape."""
    if key == "Environment":
        return {"Variables": (config.get("Environment") or {}).get("Variables") or {}}
    return config.get(key)
