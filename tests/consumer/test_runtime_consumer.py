"""`ddbstream up` deploys lambda/ into the daemon's runtime: the real consumer runs and logs there."""

from __future__ import annotations

import json

from support import wait_until

from ddbstream.clients import client_for
from ddbstream.events import make_event, make_stream_record
from ddbstream.state import read_state


def test_up_deploys_the_consumer_and_it_runs_in_the_daemon(stack):
    project, info = stack
    state = read_state(project / ".ddbstream")
    resources = state.resources
    assert resources["function_name"] == "employees_stream_consumer"
    lam = client_for(state, "lambda")
    config = lam.get_function_configuration(FunctionName=resources["function_name"])
    assert config["Environment"]["Variables"]["TABLE_NAME"] == "employees"

    # The key has letters no request id (hex UUID) can contain, so the filter matches only its line.
    event = make_event(
        [
            make_stream_record(
                "INSERT", {"employeeid": "ann-xyz"}, {"employeeid": "ann-xyz", "name": "Ann"}, sequence_number=4200
            )
        ]
    )
    response = lam.invoke(FunctionName=resources["function_arn"], Payload=json.dumps(event))
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == {"batchItemFailures": []}

    logs = client_for(state, "logs")

    def consumer_line():
        events = logs.filter_log_events(logGroupName=resources["log_group"], filterPattern='"ann-xyz"')["events"]
        try:
            return [json.loads(e["message"]) for e in events]
        except ValueError:
            raise AssertionError(
                f"a log event is not one whole JSON line: {[e['message'] for e in events]!r}"
            ) from None

    lines = wait_until(consumer_line, timeout=10, message="the consumer's log line")
    assert lines[0]["eventName"] == "INSERT"
    assert lines[0]["keys"] == {"employeeid": "ann-xyz"}
    assert lines[0]["sequenceNumber"] == "4200"
