"""Shared by tests/test_reliability_*.py and bench/soak.py: a pipeline whose consumer fails a
predictable set of records, and the check that every event was accounted for."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "reliability"


def _faults_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("reliability_faults", FIXTURE / "faults.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


faults = _faults_module()


def consumer_dir(project: Path) -> Path:
    """The project's lambda/ plus the fault-injecting handlers, in a directory of its own."""
    target = project / "lambda_faulty"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(project / "lambda", target, ignore=shutil.ignore_patterns("__pycache__"))
    for path in FIXTURE.glob("*.py"):
        shutil.copy(path, target / path.name)
    return target


def choose_faults(plan: list, percent: int, counts: dict[str, int]) -> dict[str, list[int]]:
    """Write indices (puts and updates of keys that do not fail anyway) for hangs, exits and segfaults,
    spread over the run."""
    env = {"FAULT_PERCENT": str(percent)}
    eligible = [
        w.index for w in plan if w.op != "delete" and faults.fault(_plain_key(w.key), "MODIFY", None, env) is None
    ]
    wanted = [kind for kind, count in counts.items() for _ in range(count)]
    step = max(1, len(eligible) // (len(wanted) + 1))
    chosen: dict[str, list[int]] = {kind: [] for kind in counts}
    for position, kind in enumerate(wanted, start=1):
        chosen[kind].append(eligible[min(len(eligible) - 1, position * step)])
    return chosen


def fault_environment(percent: int, chosen: dict[str, list[int]]) -> dict[str, str]:
    env = {"FAULT_PERCENT": str(percent)}
    for kind, indices in chosen.items():
        env[f"FAULT_{kind.upper()}"] = ",".join(str(i) for i in indices)
    return env


def up_arguments(
    source: Path, env: dict[str, str], timeout: int = 2, retries: int = 2, batch_size: int = 100
) -> list[str]:
    return [
        "--var",
        f"lambda_source_dir={source}",
        "--var",
        f"lambda_timeout={timeout}",
        "--var",
        f"lambda_environment={json.dumps(env)}",
        "--var",
        f"maximum_retry_attempts={retries}",
        "--var",
        "bisect_batch_on_function_error=true",
        "--var",
        'function_response_types=["ReportBatchItemFailures"]',
        "--var",
        "enable_dlq=true",
        "--var",
        f"batch_size={batch_size}",
    ]


def _plain_key(typed: dict) -> dict:
    from ddbstream.items import from_ddb, to_jsonable

    return to_jsonable(from_ddb(typed))


def predicted_faults(records: list, env: dict[str, str]) -> dict[str, str]:
    """Sequence number -> the fault the consumer injects for it (records it processes are absent)."""
    from ddbstream.items import from_ddb, to_jsonable

    out = {}
    for record in records:
        ddb = record.lambda_event["dynamodb"]
        new = to_jsonable(from_ddb(ddb["NewImage"])) if ddb.get("NewImage") else None
        kind = faults.fault(_plain_key(ddb["Keys"]), record.event_name, new, env)
        if kind:
            out[record.sequence_number] = kind
    return out


def check(report: Any, env: dict[str, str]) -> tuple[list[str], dict[str, Any]]:
    """(problems, figures) for a load run through the fault-injecting consumer."""
    a = report.accounting
    records = report.records
    expected = predicted_faults(records, env)
    everything = {r.sequence_number for r in records}
    problems = []
    if report.writes.errors:
        problems.append(f"{len(report.writes.errors)} write(s) failed: {list(report.writes.errors.values())[:3]}")
    if len(records) != len(report.writes.acked_ms):
        problems.append(f"{len(report.writes.acked_ms)} writes acknowledged but {len(records)} stream records")
    problems += [f"stream mismatch: {m}" for m in report.mismatches[:5]]
    if a.lost:
        problems.append(f"{a.lost} record(s) lost (neither processed nor in the DLQ): {a.pending[:5]}")
    if a.dlq_ids != set(expected):
        problems.append(
            f"DLQ holds {len(a.dlq_ids)} record(s), {len(expected)} expected; "
            f"unexpected {sorted(a.dlq_ids - set(expected))[:5]}, missing {sorted(set(expected) - a.dlq_ids)[:5]}"
        )
    if a.processed_ids != everything - set(expected):
        problems.append(f"processed {len(a.processed_ids)} record(s), {len(everything - set(expected))} expected")
    for label, values in (
        ("processed and in the DLQ", a.both),
        ("in several DLQ batches", a.dlq_twice),
        ("delivered again after a clean invocation", a.unexplained),
        ("out of per-key order", a.order_violations),
    ):
        if values:
            problems.append(f"{len(values)} record(s) {label}: {values[:3]}")
    kinds: dict[str, int] = {}
    for kind in expected.values():
        kinds[kind] = kinds.get(kind, 0) + 1
    figures = {**report.summary(), "faultsInjected": kinds, "dlqRecordsExpected": len(expected)}
    return problems, figures
