"""Bad input, table-driven, against one real stack: every command refuses it with one line on
stderr and its exit code, and the table, the dead-letter queue and the stream stay as they were."""

from __future__ import annotations

import json

import pytest
from support import make_project, run_cli, stack_client, wait_until

from ddbstream.errors import ExitCode
from ddbstream.load import read_stream

pytestmark = pytest.mark.e2e

E = ExitCode
SEED = '{"employeeid": "SEED", "v": 1}'
UUID = "8e5f3a52-1b2c-4d5e-9f00-123456789abc"

# (arguments, expected exit code, a fragment of the error line)
CASES = [
    # items: JSON
    (["put", "--item", '{"employeeid": "E1",}'], E.INVALID_INPUT, "invalid JSON in item"),
    (["put", "--item", ""], E.INVALID_INPUT, "invalid JSON in item: Expecting value"),
    (["put", "--item", "[1]"], E.INVALID_INPUT, "item must be a JSON object, got an array"),
    (["put", "--item", '"just a string"'], E.INVALID_INPUT, "item must be a JSON object"),
    (["put", "--item", '{"employeeid": "E1", "v": NaN}'], E.INVALID_INPUT, "unsupported number NaN"),
    (["put", "--item", '{"employeeid": "E1", "v": 1e999999}'], E.INVALID_INPUT, "out of DynamoDB's range"),
    (["put", "--item", "@/nonexistent/item.json"], E.INVALID_INPUT, "cannot read /nonexistent/item.json"),
    (["put", "--item", "@big.json"], E.INVALID_INPUT, "DynamoDB's limit is 400 KB"),
    (["put", "--ddb-json", "--item", '{"employeeid": {"X": "E1"}}'], E.INVALID_INPUT, "invalid DynamoDB JSON"),
    (["put", "--ddb-json", "--item", '{"employeeid": "E1"}'], E.INVALID_INPUT, "invalid DynamoDB JSON"),
    # moto takes these two (and then serves the item mangled); DynamoDB refuses them
    (["put", "--item", '{"employeeid": "E1", "": 1}'], E.INVALID_INPUT, "attribute names must not be empty"),
    (
        ["put", "--ddb-json", "--item", '{"employeeid": {"S": "E1"}, "s": {"SS": ["x", "x"]}}'],
        E.INVALID_INPUT,
        "holds the same value twice",
    ),
    # items: keys
    (["put", "--item", '{"name": "x"}'], E.INVALID_INPUT, "item is missing key attribute 'employeeid' (type S)"),
    (["put", "--item", '{"employeeid": 101}'], E.INVALID_INPUT, "key attribute 'employeeid' must be of type S, got N"),
    (["put", "--item", '{"employeeid": ""}'], E.INVALID_INPUT, "key attribute 'employeeid' must not be empty"),
    (["get"], E.INVALID_INPUT, "expected 1 key value(s) (employeeid), got 0"),
    (["get", "a", "b"], E.INVALID_INPUT, "expected 1 key value(s) (employeeid), got 2"),
    (["get", "--key", '{"other": "x"}'], E.INVALID_INPUT, "not part of the key"),
    (["get", "E1", "--key", '{"employeeid": "E1"}'], E.INVALID_INPUT, "either positionally or with --key"),
    (["get", "--key", "{bad"], E.INVALID_INPUT, "invalid JSON"),
    (["get", "NOPE"], E.NOT_FOUND, 'no item with key employeeid="NOPE"'),
    (["delete", "--key", "[]"], E.INVALID_INPUT, "must be a JSON object, got an array"),
    # items: conditions and update expressions
    (["put", "--if-exists", "--if-not-exists", "--item", SEED], E.INVALID_INPUT, "use only one of"),
    (["put", "--values", '{":a": 1}', "--item", SEED], E.INVALID_INPUT, "--values needs --condition"),
    (["put", "--condition", "attribute_exists(", "--item", SEED], E.INVALID_INPUT, "Invalid expression: Syntax error"),
    (["put", "--condition", "   ", "--item", SEED], E.INVALID_INPUT, "--condition must not be empty"),
    (["put", "--if-not-exists", "--item", SEED], E.CONDITION_FAILED, "condition check failed: the current item is"),
    (["put", "--return", "bogus", "--item", SEED], E.INVALID_INPUT, "--return must be one of none, old, new"),
    (["update", "SEED"], E.INVALID_INPUT, "nothing to update"),
    (["update", "SEED", "--add", "v=two"], E.INVALID_INPUT, "--add 'v=two': value must be a number"),
    (["update", "SEED", "--set", "employeeid=x"], E.INVALID_INPUT, "cannot update key attribute 'employeeid'"),
    (["update", "SEED", "--set", "=1"], E.INVALID_INPUT, "expected attribute=value"),
    (["update", "SEED", "--set", "novalue"], E.INVALID_INPUT, "expected attribute=value"),
    (["update", "SEED", "--remove", ""], E.INVALID_INPUT, "invalid attribute path ''"),
    (["update", "SEED", "--set", "x[a]=1"], E.INVALID_INPUT, "invalid attribute path 'x[a]'"),
    (["update", "SEED", "--set", "a=1", "--condition", "v >"], E.INVALID_INPUT, "Invalid expression: Syntax error"),
    (["update", "SEED", "--set", "a=1", "--if-not-exists"], E.CONDITION_FAILED, "condition check failed"),
    (["delete", "SEED", "--return", "new"], E.INVALID_INPUT, "--return new makes no sense for delete"),
    (["delete", "NOPE", "--if-exists"], E.CONDITION_FAILED, 'no item with key employeeid="NOPE" exists'),
    (["scan", "--limit", "0"], E.INVALID_INPUT, "--limit must be at least 1"),
    # options (Click/Typer usage errors)
    (["scan", "--limit", "abc"], E.USAGE, "Invalid value for '--limit'"),
    (["put", "--bogus"], E.USAGE, "No such option: --bogus"),
    (["put", "--item"], E.USAGE, "Option '--item' requires an argument"),
    (["put"], E.USAGE, "Missing option '--item'"),
    (["frobnicate"], E.USAGE, "No such command 'frobnicate'"),
    (["status", "--interval", "0.1"], E.USAGE, "Invalid value for '--interval'"),
    # variables, variable files and mapping settings
    (["up", "--var", "batch_size=0"], E.SPEC, "batch_size must be between 1 and 10000"),
    (["up", "--var", "batch_size=10001"], E.SPEC, "batch_size must be between 1 and 10000"),
    (["up", "--var", "batch_size=ten"], E.SPEC, "batch_size"),
    (["up", "--var", "parallelization_factor=11"], E.SPEC, "parallelization_factor must be between 1 and 10"),
    (["up", "--var", "maximum_record_age_in_seconds=30"], E.SPEC, "must be -1 or between 60 and 604800"),
    (["up", "--var", "maximum_retry_attempts=-2"], E.SPEC, "maximum_retry_attempts must be -1 or between 0 and 10000"),
    (["up", "--var", "maximum_batching_window_in_seconds=301"], E.SPEC, "between 0 and 300"),
    (["up", "--var", "tumbling_window_in_seconds=901"], E.SPEC, "between 0 and 900"),
    (["up", "--var", "starting_position=AT_TIMESTAMP"], E.SPEC, "starting_position must be LATEST or TRIM_HORIZON"),
    (["up", "--var", 'filter_patterns=["{not json"]'], E.SPEC, "not valid JSON"),
    (["up", "--var", "filter_patterns=[{]"], E.SPEC, "not valid JSON for type list(string)"),
    (["up", "--var", 'function_response_types=["Nope"]'], E.SPEC, "ReportBatchItemFailures"),
    (["up", "--var", "lambda_timeout=0"], E.SPEC, "lambda_timeout must be between 1 and 900"),
    (["up", "--var", "lambda_memory_size=64"], E.SPEC, "lambda_memory_size must be between 128 and 10240"),
    (["up", "--var", "stream_view_type=ALL"], E.SPEC, "invalid value for variable 'stream_view_type'"),
    (["up", "--var", "nope=1"], E.SPEC, "unknown variable 'nope'"),
    (["up", "--var", "nope"], E.SPEC, "expected name=value"),
    (["up", "--var-file", "/nonexistent.tfvars"], E.SPEC, "no such file"),
    (["up", "--var-file", "bad.tfvars"], E.SPEC, "cannot parse"),
    (["up", "--var-file", "bad.tfvars.json"], E.SPEC, "variable batch_size: expected a number"),
    (["up", "--target", "mars"], E.INVALID_INPUT, "unknown target 'mars'"),
    (["event", "insert", "--var", "batch_size=0"], E.SPEC, "batch_size must be between 1 and 10000"),
    # --since / --until and the rest of tail
    (["tail", "--since", "yesterday"], E.INVALID_INPUT, "invalid --since 'yesterday'"),
    (["tail", "--since", "10x"], E.INVALID_INPUT, "invalid --since '10x'"),
    (["tail", "--since", "2024-13-45"], E.INVALID_INPUT, "invalid --since '2024-13-45'"),
    (["tail", "--since", ""], E.INVALID_INPUT, "invalid --since ''"),
    (["tail", "--until", "soon"], E.INVALID_INPUT, "invalid --until 'soon'"),
    (["tail", "--until", "5m", "--follow"], E.INVALID_INPUT, "--until cannot be combined with --follow"),
    (["tail", "--format", "xml"], E.INVALID_INPUT, "unknown --format 'xml'"),
    (["tail", "--grep", "("], E.INVALID_INPUT, "invalid --grep regular expression"),
    (["tail", "nosuchfn"], E.NOT_FOUND, "log group /aws/lambda/nosuchfn does not exist"),
    # message ids
    (["dlq", "show", "nope"], E.NOT_FOUND, "no message nope in the dead-letter queue"),
    (["dlq", "show", ""], E.NOT_FOUND, "in the dead-letter queue"),
    (["dlq", "show", UUID, "--records"], E.NOT_FOUND, f"no message {UUID}"),
    (["dlq", "show", "x" * 300], E.NOT_FOUND, "in the dead-letter queue"),
    (["dlq", "replay"], E.INVALID_INPUT, "give one MESSAGE_ID or --all"),
    (["dlq", "replay", "nope", "--all"], E.INVALID_INPUT, "not both"),
    (["dlq", "replay", UUID], E.NOT_FOUND, f"no message {UUID}"),
    (["dlq", "replay", UUID, "--dry-run"], E.NOT_FOUND, f"no message {UUID}"),
    (["dlq", "purge"], E.CANCELLED, "purge cancelled: nothing was deleted"),
    # event and invoke
    (["event", "explode"], E.INVALID_INPUT, "unknown event 'explode'"),
    (["event", "insert", "--item", "[1]"], E.INVALID_INPUT, "item must be a JSON object"),
    (["event", "modify", "--view-type", "BOGUS"], E.INVALID_INPUT, "unknown stream view type 'BOGUS'"),
    (["event", "insert", "--ttl"], E.INVALID_INPUT, "only a REMOVE can come from Time to Live"),
    (["invoke", "--event", "{bad"], E.INVALID_INPUT, "invalid JSON in the event"),
    (["invoke", "--event", "@/nonexistent.json"], E.INVALID_INPUT, "no such file"),
    (["invoke", "--function", "nosuchfn"], E.NOT_FOUND, "function nosuchfn does not exist"),
    # load
    (["load", "--count", "0"], E.INVALID_INPUT, "--count must be at least 1"),
    (["load", "--count", "-3"], E.INVALID_INPUT, "--count must be at least 1"),
    (["load", "--rate", "-1"], E.INVALID_INPUT, "--rate must be 0 (no limit) or more"),
    (["load", "--workers", "65"], E.INVALID_INPUT, "--workers must be between 1 and 64"),
    (["load", "--keys", "0"], E.INVALID_INPUT, "--keys must be at least 1"),
    (["load", "--count", "many"], E.USAGE, "Invalid value for '--count'"),
]

GROUP = 3  # cases run at once
PROMPT = "Delete all "  # `dlq purge` asks on stderr before it refuses (the answer is "no")


@pytest.fixture(scope="module")
def bad_stack(tmp_path_factory):
    """One stack for the whole table: a seed item, and one poison record already in the DLQ."""
    project = make_project(tmp_path_factory.mktemp("bad-input") / "project")
    result = run_cli("up", "--json", "--var", "fail_attribute=poison", "--var", "maximum_retry_attempts=0", cwd=project)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    (project / "big.json").write_text('{"employeeid": "E1", "blob": "' + "x" * 410_000 + '"}')
    (project / "bad.tfvars").write_text("x = = 1\n")
    (project / "bad.tfvars.json").write_text('{"batch_size": "many"}')
    assert run_cli("put", "--item", SEED, cwd=project).returncode == 0
    assert run_cli("put", "--item", '{"employeeid": "POISON", "poison": true}', cwd=project).returncode == 0
    clients = {name: stack_client(project, name) for name in ("dynamodb", "dynamodbstreams", "sqs")}
    yield project, info, clients
    run_cli("down", cwd=project)


def _snapshot(info, clients):
    resources = info["resources"]
    items = clients["dynamodb"].scan(TableName=resources["table_name"])["Items"]
    attributes = clients["sqs"].get_queue_attributes(
        QueueUrl=resources["queue_url"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    messages = int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])
    records = len(read_stream(clients["dynamodbstreams"], resources["stream_arn"]))
    return {"items": sorted(json.dumps(i, sort_keys=True) for i in items), "messages": messages, "records": records}


def test_there_are_enough_cases():
    assert len(CASES) >= 50
    commands = {args[0] for args, _, _ in CASES}
    assert {
        "put",
        "get",
        "update",
        "delete",
        "scan",
        "up",
        "tail",
        "dlq",
        "status",
        "event",
        "invoke",
        "load",
    } <= commands


def _problems(result, code, fragment) -> list[str]:
    stderr = result.stderr
    if stderr.startswith(PROMPT) and "error: " in stderr:
        stderr = stderr[stderr.index("error: ") :]  # the prompt has no newline: the answer was piped
    lines = stderr.strip().splitlines()
    problems = []
    if result.returncode != int(code):
        problems.append(f"exit {result.returncode}, expected {int(code)} ({code.name})")
    if len(lines) != 1 or not lines[0].startswith("error: "):
        problems.append(f"stderr is not one 'error: ' line: {stderr[:300]!r}")
    elif fragment not in lines[0]:
        problems.append(f"{fragment!r} not in {lines[0]!r}")
    if "Traceback" in result.stderr or "Traceback" in result.stdout:
        problems.append("a traceback")
    return problems


def test_bad_input_is_refused_and_changes_nothing(bad_stack):
    """Cases run a few at a time (the machine has 2 cores); the table, queue and stream are
    compared after every group, and a group that changed them is re-run one case at a time."""
    from concurrent.futures import ThreadPoolExecutor

    project, info, clients = bad_stack
    wait_until(lambda: _snapshot(info, clients)["messages"] == 1, 30, message="the poison record in the DLQ")
    before = _snapshot(info, clients)
    assert before["records"] == 2 and len(before["items"]) == 2

    def run(case):
        args, code, fragment = case
        return case, _problems(run_cli(*args, cwd=project, input="n\n"), code, fragment)

    failures = []
    with ThreadPoolExecutor(GROUP) as pool:
        for start in range(0, len(CASES), GROUP):
            group = CASES[start : start + GROUP]
            for (args, _, _), problems in pool.map(run, group):
                if problems:
                    failures.append(f"{args}: " + "; ".join(problems))
            if _snapshot(info, clients) == before:
                continue
            for case in group:  # find the culprit(s)
                state = _snapshot(info, clients)
                run(case)
                after = _snapshot(info, clients)
                if after != state:
                    failures.append(f"{case[0]}: state changed: {state} -> {after}")
            before = _snapshot(info, clients)
    assert not failures, "\n".join(failures)
