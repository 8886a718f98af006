"""`load` through the real CLI: the achieved rate against --rate, and its items cleaned up after (unless --keep)."""

from __future__ import annotations

import json
import re

import pytest
from support import run_cli

from ddbstream.load import RUN_ATTRIBUTE

pytestmark = pytest.mark.e2e


def load_items(project) -> list[dict]:
    scanned = run_cli("scan", "--json", cwd=project)
    assert scanned.returncode == 0, scanned.stderr
    return [item for item in map(json.loads, scanned.stdout.splitlines()) if RUN_ATTRIBUTE in item]


def test_load_says_when_it_falls_short_of_the_rate_and_cleans_up(stack):
    project, _ = stack
    # One writer cannot send 100,000 writes a second: the summary says what it achieved instead.
    result = run_cli(
        "load", "--count", "40", "--keys", "8", "--workers", "1", "--rate", "100000", "--json", cwd=project
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["rateAsked"] == 100000 and summary["shortOfRate"] is True
    assert 0 < summary["rateAchieved"] < 100000 and summary["writesPerSecond"] > 0
    assert f"the writes fell short of --rate 100000: {summary['rateAchieved']:g}/s achieved" in result.stderr
    # ...and why, as measured: its one writer waiting on each write, or this process's CPU.
    assert re.search(r"1 writer\(s\) send at most \d+/s|of a core to send them", summary["shortfall"])
    assert f"({summary['shortfall']})" in result.stderr
    # The cleanup's deletes come after the accounting: the run's own 40 records only.
    assert summary["streamRecords"] == 40 and summary["processed"] == 40 and summary["lost"] == 0
    assert summary["itemsRemoved"] >= 1 and summary["cleanupError"] is None
    assert load_items(project) == []

    human = run_cli("load", "--count", "20", "--keys", "4", "--workers", "1", "--rate", "100000", cwd=project)
    assert human.returncode == 0, human.stderr
    writes = next(line for line in human.stdout.splitlines() if line.strip().startswith("writes"))
    assert re.search(r"20 \(sent at [0-9.]+/s of 100000/s asked: short\)$", writes), writes
    assert " item(s) removed (not counted above; --keep keeps them)" in human.stdout
    assert load_items(project) == []


def test_load_keep_leaves_its_items_and_an_unhurried_rate_is_not_short(stack):
    project, _ = stack
    result = run_cli("load", "--count", "20", "--keys", "5", "--rate", "10", "--keep", "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["rateAsked"] == 10 and summary["shortOfRate"] is False and "fell short" not in result.stderr
    assert 9.5 <= summary["rateAchieved"] <= 10.5
    assert summary["itemsRemoved"] is None
    kept = load_items(project)
    assert kept and {item[RUN_ATTRIBUTE] for item in kept} == {summary["run"]}
