"""`metrics` and `status`'s metric and alarm views (ddbstream/metrics.py, cli/status_view.py)."""

from __future__ import annotations

import io

from rich.console import Console

from ddbstream.cli.status_view import render
from ddbstream.metrics import period_for, sparkline, summary

HOSTILE = "\x1b]0;t\x07[bold red]x[/]\u202e"


def series(values: dict[int, float], statistic: str = "Sum") -> dict:
    return {
        "key": "errors",
        "label": "errors",
        "statistic": statistic,
        "unit": "count",
        "datapoints": [{"timestamp": t, "value": v} for t, v in sorted(values.items())],
    }


def test_sparkline_scales_to_the_range_and_leaves_gaps() -> None:
    assert sparkline(series({0: 1.0, 60: 8.0, 180: 0.0}), 0, 300, 60) == "▁█ ▁ "
    assert sparkline(series({}), 0, 180, 60) == "   "
    assert sparkline(series({0: 0.0}), 0, 60, 60) == "▁"


def test_summary_totals_a_sum_and_peaks_the_rest() -> None:
    assert summary(series({0: 1.0, 60: 3.0})) == (4.0, 3.0)
    assert summary(series({0: 5.0, 60: 3.0}, "Maximum")) == (5.0, 3.0)
    assert summary(series({})) == (None, None)


def test_long_ranges_get_longer_periods() -> None:
    assert period_for(3600) == 60
    assert period_for(3 * 3600) == 60
    assert period_for(86400) == 480


def test_status_shows_alarm_reasons_changes_and_sparklines_as_text() -> None:
    errors = series({0: 2.0})
    errors.update(sparkline="▁█", total=2.0, latest=2.0)
    report = {
        "alarms": [
            {
                "name": "f-errors",
                "state": "ALARM",
                "reason": "Threshold Crossed: " + HOSTILE,
                "changed": "2026-11-29T10:00:00Z",
            }
        ],
        "metrics": {"minutes": 15, "metrics": [errors]},
        "problems": [],
    }
    out = io.StringIO()
    Console(file=out, width=250, color_system=None).print(render(report))
    shown = out.getvalue()
    assert "f-errors  ALARM · since 2026-11-29T10:00:00Z" in shown
    assert r"Threshold Crossed: \x1b]0;t\x07[bold red]x[/]\u202e" in shown
    assert "metrics (last 15 min)" in shown
    assert "errors  ▁█  total 2 · latest 2" in shown
