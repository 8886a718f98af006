"""New code or configuration recycles a function's warm workers at once (`up --watch` reloads warm)."""

from __future__ import annotations

import io
import json
import zipfile

import boto3
import pytest
from moto import mock_aws
from support import wait_until

from ddbstream.emulator.runtime import LambdaRuntime
from ddbstream.emulator.runtime.moto_patches import listeners, patch_lambda


def _code(version: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", f"def handler(event, context):\n    return {{'version': {version}}}\n")
    return buffer.getvalue()


@pytest.fixture
def runtime(aws_credentials, tmp_path):
    with mock_aws():
        patch_lambda()
        lam = boto3.client("lambda", region_name="us-east-1")
        role = boto3.client("iam", region_name="us-east-1").create_role(RoleName="r", AssumeRolePolicyDocument="{}")
        for name in ("used", "unused"):
            lam.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role["Role"]["Arn"],
                Handler="app.handler",
                Code={"ZipFile": _code(1)},
                Timeout=5,
            )
        runtime = LambdaRuntime("us-east-1", "123456789012", endpoint="http://127.0.0.1:9", work_dir=tmp_path / "work")
        yield runtime, lam
        runtime.shutdown(timeout=5)


def _version(runtime: LambdaRuntime, name: str) -> int:
    return json.loads(runtime.invoke(name, b"{}").payload)["version"]


def _idle(runtime: LambdaRuntime) -> list:
    return [worker for workers in runtime._idle.values() for worker in workers]


def test_new_code_replaces_the_warm_worker_before_the_next_invocation(runtime):
    runtime, lam = runtime
    assert _version(runtime, "used") == 1
    old = _idle(runtime)
    arn = lam.update_function_code(FunctionName="used", ZipFile=_code(2))["FunctionArn"]
    runtime.recycle(arn)
    new = _idle(runtime)
    assert len(new) == 1 and new[0] not in old and not old[0].alive, "the old worker stops, a new one waits"
    assert _version(runtime, "used") == 2
    assert _idle(runtime) == new and runtime.workers() == 1, "the invocation ran on the worker started for it"


def test_a_function_never_invoked_gets_no_worker(runtime):
    runtime, lam = runtime
    runtime.recycle(lam.update_function_code(FunctionName="unused", ZipFile=_code(2))["FunctionArn"])
    runtime.recycle(lam.get_function(FunctionName="used")["Configuration"]["FunctionArn"])  # unchanged, unused
    assert runtime.workers() == 0


def test_an_update_through_the_lambda_api_recycles(runtime):
    runtime, lam = runtime
    assert _version(runtime, "used") == 1
    listeners.append(runtime.recycle_soon)
    try:
        lam.update_function_configuration(FunctionName="used", Environment={"Variables": {"A": "1"}})
        wait_until(
            lambda: [w for w in _idle(runtime) if dict(w.config.environment).get("A") == "1"],
            10,
            message="a worker of the new configuration",
        )
    finally:
        listeners.remove(runtime.recycle_soon)
    assert runtime.workers() == 1
    assert _version(runtime, "used") == 1
