"""The conformance suite's daemon (one in-thread daemon per module) and its report.

With ``DDBSTREAM_CONFORMANCE_REPORT=FILE``, a run writes which tests compared each recorded case
and how they ended; ``python tests/conformance/report.py FILE`` turns that into README.md's table.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from compare import USED
from esm_support import InThreadDaemon

OUTCOMES: dict[str, str] = {}  # test node id -> passed / failed


@pytest.fixture(scope="module")
def daemon():
    running = InThreadDaemon()
    try:
        yield running
    finally:
        running.stop()


def pytest_runtest_logreport(report):
    if report.when == "call" or report.outcome != "passed":
        if OUTCOMES.get(report.nodeid) != "failed":
            OUTCOMES[report.nodeid] = report.outcome


def pytest_sessionfinish(session):
    target = os.environ.get("DDBSTREAM_CONFORMANCE_REPORT")
    if not target:
        return
    cases = {key: {"tests": sorted(tests), "outcome": _outcome(tests)} for key, tests in sorted(USED.items())}
    Path(target).write_text(json.dumps(cases, indent=1))


def _outcome(tests: set[str]) -> str:
    results = [OUTCOMES.get(test, "unknown") for test in tests]
    return "pass" if results and all(r == "passed" for r in results) else "fail"
