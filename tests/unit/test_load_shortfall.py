"""`load` says why its writes fell short of --rate: the writers' waits or this process's CPU."""

from __future__ import annotations

from ddbstream.load.accounting import Accounting
from ddbstream.load.run import LoadReport
from ddbstream.load.writer import WriteResults


def report(
    rate: float, workers: int, ack_ms: float, cpu_s: float, count: int = 100, slow_ms: float | None = None
) -> LoadReport:
    """``count`` writes sent evenly over a second, each acknowledged ``ack_ms`` later (the last
    nine tenths ``slow_ms`` later when given)."""
    writes = WriteResults(started=1000.0, finished=1001.0, cpu_s=cpu_s)
    for index in range(count):
        sent = (1000.0 + index / count) * 1000
        wait = slow_ms if slow_ms is not None and index >= count // 10 else ack_ms
        writes.sent_ms[index], writes.acked_ms[index] = sent, sent + wait
    return LoadReport("run", count, 10, workers, rate, writes, Accounting(records=0), [], 0, {}, 0.0, True)


def test_writers_waiting_on_their_writes_name_the_most_they_can_send():
    short = report(rate=1000, workers=2, ack_ms=20.0, cpu_s=0.2)
    assert short.short_of_rate
    assert short.shortfall() == (
        "a write took 20.0 ms to be acknowledged, so 2 writer(s) send at most 100/s: "
        "more --workers may help, up to what the table accepts"
    )
    assert short.summary()["shortfall"] == short.shortfall()


def test_a_process_busy_a_whole_core_names_the_writer_as_the_limit():
    short = report(rate=1000, workers=8, ack_ms=2.0, cpu_s=0.95)
    assert short.shortfall() == "this process used 95% of a core to send them: the writer is the limit"


def test_no_shortfall_when_the_rate_was_met_or_none_was_asked():
    assert report(rate=100, workers=2, ack_ms=5.0, cpu_s=0.9).shortfall() is None
    assert report(rate=0, workers=2, ack_ms=5.0, cpu_s=0.9).shortfall() is None
