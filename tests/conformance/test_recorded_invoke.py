"""Invoke's answers when a function fails (payload, X-Amz-Function-Error as FunctionError, status),
against AWS's recordings: tests/conformance/recordings/invoke_errors.json (LocalStack's
AWS-validated ``test_lambda`` snapshot; each case names its key). The functions are the recorded
tests' functions, run by the daemon's real Python runtime.
"""

from __future__ import annotations

import json
import uuid

import pytest
from compare import case, matches, response
from esm_support import handler_zip

RECORDED = "invoke_errors"
FUNCTIONS = {  # case -> (source, settings, event)
    "handler_error": ('def handler(event, context):\n    raise Exception("Handler fails")\n', {}, {}),
    "init_error": ('raise Exception("Runtime startup fails")\n', {}, {}),
    "init_exit": ("import sys\n\nsys.exit(0)\n", {}, {}),
    "handler_exit": ("import sys\n\n\ndef handler(event, context):\n    sys.exit(0)\n", {}, {}),
    "timeout": (
        "import time\n\n\ndef handler(event, context):\n    time.sleep(event['wait'])\n",
        {"Timeout": 1},
        {"wait": 2},
    ),
}
TOO_LARGE = 'def handler(event, context):\n    print("generating bytes")\n    return "a" * event["bytenum"]\n'


def invoked(daemon, function: str, event: dict) -> dict:
    """Invoke's answer as the recordings keep it (the payload parsed)."""
    answer = daemon.client("lambda").invoke(FunctionName=function, Payload=json.dumps(event).encode())
    answer["Payload"] = json.loads(answer["Payload"].read())
    return response(answer)


def function(daemon, source: str, module: str = "h", **settings) -> str:
    """A Python function whose code is ``module``.py (the recorded stack trace names its file)."""
    name = f"f-{uuid.uuid4().hex[:10]}"
    daemon.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=daemon.role,
        Handler=f"{module}.handler",
        Code={"ZipFile": handler_zip(source, f"{module}.py")},
        **settings,
    )
    return name


@pytest.mark.parametrize("case_id", sorted(FUNCTIONS))
def test_failing_function(daemon, case_id):
    source, settings, event = FUNCTIONS[case_id]
    function_name = function(daemon, source, "lambda_handler_error", **settings)
    matches(case(RECORDED, case_id)["recorded"], invoked(daemon, function_name, event))


def test_response_too_large_twice(daemon):
    function_name = function(daemon, TOO_LARGE)
    event = {"bytenum": 7 * 1024 * 1024}
    matches(case(RECORDED, "response_too_large")["recorded"], invoked(daemon, function_name, event))
    matches(case(RECORDED, "response_too_large_again")["recorded"], invoked(daemon, function_name, event))
