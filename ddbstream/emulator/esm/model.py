"""What flows between the ESM's source, policy and target: a mapping's settings and its batches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ddbstream.emulator.streams import Record
from ddbstream.patterns import Pattern

REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"


@dataclass
class MappingSettings:
    """The processing settings of a mapping (AWS's parameter names in snake case)."""

    function_arn: str
    batch_size: int = 100
    maximum_batching_window_in_seconds: int = 0
    parallelization_factor: int = 1
    maximum_record_age_in_seconds: int = -1
    bisect_batch_on_function_error: bool = False
    maximum_retry_attempts: int = -1
    tumbling_window_in_seconds: int = 0
    function_response_types: list[str] = field(default_factory=list)
    patterns: list[Pattern] = field(default_factory=list)
    on_failure: str | None = None  # destination ARN (SQS queue or SNS topic)

    @property
    def reports_item_failures(self) -> bool:
        return REPORT_BATCH_ITEM_FAILURES in self.function_response_types


@dataclass
class Batch:
    """Records handed to one invocation, and how often they were tried."""

    records: list[Record]
    end_index: int  # the lane's checkpoint once this batch is done
    retries: int = 0
    invokes: int = 0
    last_result: Any = None  # what the runtime returned for the last invocation (None: it could not invoke)
    window_start: float | None = None  # tumbling windows: the window the records belong to
    final: bool = False  # the closing invocation of a tumbling window (no records)
    terminated_early: bool = False
