"""No event lost: 2,000 writes through a consumer that fails a predictable 5% of records by
exception plus a few timeouts, exits and segfaults, with bisect, 2 retries,
ReportBatchItemFailures and the DLQ. Every stream record ends up processed or in the DLQ,
exactly the predicted ones in the DLQ, per-key order kept, retry duplicates counted."""

from __future__ import annotations

import json

import pytest
from reliability_support import check, choose_faults, consumer_dir, fault_environment, up_arguments
from support import run_cli

from ddbstream.load import make_plan, run_load
from ddbstream.pipeline import Pipeline
from ddbstream.state import read_state

pytestmark = pytest.mark.e2e

COUNT, KEYS, WORKERS, SEED, RUN = 2000, 200, 4, 11, "noloss01"
PERCENT = 5
SCHEMA = [("employeeid", "S")]


def test_no_event_is_lost(project):
    plan = make_plan(COUNT, KEYS, SCHEMA, RUN, WORKERS, SEED)
    chosen = choose_faults(plan, PERCENT, {"hang": 2, "exit": 2, "segv": 1})
    env = fault_environment(PERCENT, chosen)
    up = run_cli("up", "--json", *up_arguments(consumer_dir(project), env, timeout=2), cwd=project)
    assert up.returncode == 0, up.stderr
    try:
        pipeline = Pipeline.from_state(read_state(project / ".ddbstream"))
        report = run_load(pipeline, COUNT, rate=0, workers=WORKERS, keys=KEYS, wait=240, seed=SEED, run=RUN)
        problems, figures = check(report, env)
        print("\nreliability figures:", json.dumps(figures, sort_keys=True))
        assert not problems, "\n".join(problems)
        assert figures["faultsInjected"] == {
            "raise": figures["faultsInjected"]["raise"],
            "hang": 2,
            "exit": 2,
            "segv": 1,
        }
        assert 60 <= figures["faultsInjected"]["raise"] <= 160  # about 5% of 2,000
        # Retries happened (the faults force them) and every duplicate has a retry behind it.
        assert figures["redeliveries"] > 0 and figures["unexplainedDuplicates"] == 0

        # The DLQ seen through the CLI: as many messages, and one of them hydrates to a hung record.
        listed = run_cli("dlq", "list", "--json", cwd=project)
        assert listed.returncode == 0, listed.stderr
        messages = [json.loads(line) for line in listed.stdout.splitlines() if line.strip()]
        assert len(messages) == figures["dlqMessages"]
        hang_write = chosen["hang"][0]
        hang_seq = next(r.sequence_number for r in report.records if r.write == hang_write)
        holder = next(
            m for m in messages if int(m["startSequenceNumber"]) <= int(hang_seq) <= int(m["endSequenceNumber"])
        )
        shown = run_cli("dlq", "show", holder["messageId"], "--records", "--json", cwd=project)
        assert shown.returncode == 0, shown.stderr
        assert str(hang_write) in shown.stdout and hang_seq in shown.stdout

        # The daemon kept serving throughout.
        status = run_cli("status", "--json", cwd=project)
        assert status.returncode == 0, status.stderr
    finally:
        run_cli("down", cwd=project)
