"""Loads lambda/handler.py the way Lambda does (its directory on sys.path) and runs it on events."""

from __future__ import annotations

import importlib.util
import json
import sys
from decimal import Decimal
from pathlib import Path

import pytest

LAMBDA_DIR = Path(__file__).resolve().parent.parent / "lambda"
HANDLER_ENV = (
    "TABLE_NAME",
    "DLQ_URL",
    "TOPIC_ARN",
    "AUDIT_BUCKET",
    "AUDIT_PREFIX",
    "NOTIFY_EVENT_NAMES",
    "EVENT_BUS_NAME",
    "FAIL_ATTRIBUTE",
    "AWS_ENDPOINT_URL",
)


def load_handler():
    if str(LAMBDA_DIR) not in sys.path:
        sys.path.insert(0, str(LAMBDA_DIR))
    module = sys.modules.get("ddbstream_lambda_handler")
    if module is None:
        spec = importlib.util.spec_from_file_location("ddbstream_lambda_handler", LAMBDA_DIR / "handler.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules["ddbstream_lambda_handler"] = module
    return module


@pytest.fixture
def handler(monkeypatch):
    """The handler module with a clean environment, an empty ledger and no cached clients."""
    for name in HANDLER_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    module = load_handler()
    from consumer import sinks

    module.LEDGER.clear()
    sinks.client.cache_clear()
    yield module
    module.LEDGER.clear()
    sinks.client.cache_clear()


def invoke(handler, event, capsys):
    """Run the handler once; answer (response, stdout lines)."""
    capsys.readouterr()
    response = handler.lambda_handler(event, None)
    return response, capsys.readouterr().out.splitlines()


def parse(line: str):
    """A log line as data, numbers as Decimal (no float rounding)."""
    return json.loads(line, parse_float=Decimal)
