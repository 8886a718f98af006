"""CloudWatch Logs filter patterns (emulator/logs/filter_pattern.py) against the examples of AWS's
"Filter pattern syntax" pages: each case is a pattern, the example log events the page tests it
on, and which of them the page says it matches."""

from __future__ import annotations

import json

import pytest

from ddbstream.emulator.logs import InvalidFilterPattern, compile_pattern

# "Matching terms in log events" and "OR pattern matching".
FATAL = ["[ERROR] A fatal exception has occurred", "Exiting with ERRORCODE: -1"]
CAUGHT = ["[ERROR] Caught IllegalArgumentException", "[ERROR] Unhandled Exception", "[INFO] all good"]
FAILED = [
    "[WARN] Failed to process the request",
    "[ERROR] Unable to continue: Failed to process the request",
    "[ERROR] ok",
]
LEVELS = ["ERROR WARN message", "ERROR message", "WARN message"]
REQUESTS = [
    "[ERROR 400] BAD REQUEST",
    "[ERROR 401] UNAUTHORIZED REQUEST",
    "[ERROR 419] MISSING ARGUMENTS",
    "[ERROR 420] INVALID ARGUMENTS",
    "[SUCCESS 200] AUTHORIZED REQUEST",
]
# "Matching terms in JSON log events": the page's two example events, and a few of our own.
TRAIL = json.dumps(
    {
        "eventType": "UpdateTrail",
        "sourceIPAddress": "111.111.111.111",
        "arrayKey": ["value", "another value"],
        "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
        "SomeObject": None,
        "ThisFlag": True,
    }
)
USERS = json.dumps(
    {
        "user": {"id": 1, "email": "John.Stiles@example.com"},
        "users": [{"id": 2, "email": "John.Doe@example.com"}, {"id": 3, "email": "Jane.Doe@example.com"}],
        "actions": ["GET", "PUT", "DELETE"],
        "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]],
    }
)
FOO = ['{"foo": "bar"}', '{"foo": "baz"}', "foo = bar"]
METRICS = json.dumps(
    {
        "latency": 1200,
        "numbers": [0.001],
        "processes": [{}, {}, {}, {}, {"averageRuntime": 55.5}],
        "errorCode": 400,
        "ThatFlag": False,
    }
)
EVENT_NAMES = ['{"name": "PutEvent"}', '{"name": "EventId"}', '{"name": "Ev*ent"}', '{"name": "Event"}']
# "Matching terms in space-delimited log events".
APACHE = [
    '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534',
    '127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /apache_pb.gif HTTP/1.0" 500 5324',
    '127.0.0.1 - frank [10/Oct/2000:13:50:35 -0700] "GET /apache_pb.gif HTTP/1.0" 200 4355',
    '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 534',
    '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 403 1534',
]
APACHE_FIELDS = "[ip, user, username, timestamp, request, status_code, bytes"

CASES = [
    # terms
    ("ERROR", FATAL, [0, 1]),
    ("ERROR -Exiting", FATAL, [0]),
    ("ERROR Exception", CAUGHT, [0, 1]),
    ("Failed to process the request", FAILED, [0, 1]),
    ("ERROR", LEVELS, [0, 1]),
    ("?ERROR ?WARN", LEVELS, [0, 1, 2]),
    ("ERROR WARN", LEVELS, [0]),
    ("ERROR -WARN", LEVELS, [1]),
    ("ERROR ARGUMENTS", REQUESTS, [2, 3]),
    ('"INVALID ARGUMENTS"', REQUESTS, [3]),
    ('"ERROR 401"', REQUESTS, [1]),
    ("ERROR -ARGUMENTS", REQUESTS, [0, 1]),
    ("?MISSING ?INVALID", REQUESTS, [2, 3]),
    ("%AUTHORIZED%", REQUESTS, [1, 4]),
    ("%^\\[ERROR 4[01]\\d\\]%", REQUESTS, [0, 1, 2]),
    ("", LEVELS, [0, 1, 2]),
    ("error", LEVELS, []),  # case sensitive
    # JSON
    ('{ $.eventType = "UpdateTrail" }', [TRAIL], [0]),
    ("{ $.eventType = UpdateTrail }", [TRAIL], [0]),
    ("{ $.sourceIPAddress != 123.123.* }", [TRAIL], [0]),
    ("{ $.sourceIPAddress = 111.111.* }", [TRAIL], [0]),
    ('{ $.arrayKey[0] = "value" }', [TRAIL], [0]),
    ('{ $.arrayKey[1] = "value" }', [TRAIL], []),
    ("{ $.objectList[1].id = 2 }", [TRAIL], [0]),
    ("{ $.objectList[0].id = 2 }", [TRAIL], []),
    ("{ $.SomeObject IS NULL }", [TRAIL], [0]),
    ("{ $.SomeOtherObject NOT EXISTS }", [TRAIL], [0]),
    ("{ $.SomeObject NOT EXISTS }", [TRAIL], []),
    ("{ $.ThisFlag IS TRUE }", [TRAIL], [0]),
    ("{ $.ThisFlag IS FALSE }", [TRAIL], []),
    ("{ $.ThatFlag IS FALSE }", [METRICS], [0]),
    ("{ $.eventType = %Trail$% }", [TRAIL], [0]),
    ('{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', [USERS], [0]),
    ('{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }', [USERS], []),
    (
        '{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch && $.actions[2] = nomatch }',
        [USERS],
        [0],
    ),
    (
        '{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch) && $.actions[2] = nomatch }',
        [USERS],
        [],
    ),
    ("{ $.coordinates[2][0] = 7 }", [USERS], [0]),
    ("{ $.users = 1 }", ['{"users": [1, 2, 3]}'], []),  # a selector must reach a value node
    ("{ $.users != 1 }", ['{"users": [1, 2, 3]}'], []),
    ("{$.foo = bar}", FOO, [0]),
    ("{$.foo = baz }", FOO, [1]),
    ("{$.foo = bar || $.foo = baz }", FOO, [0, 1]),
    ("{ $.latency >= 500 }", [METRICS], [0]),
    ("{ $.numbers[0] < 10e3 }", [METRICS], [0]),
    ("{ $.numbers[0] < 10e-3 }", [METRICS], [0]),
    ("{ $.processes[4].averageRuntime <= 55.5 }", [METRICS], [0]),
    ("{ $.errorCode = 400 }", [METRICS], [0]),
    ("{ $.errorCode != 500 }", [METRICS], [0]),
    ("{ $.latency > +1000 }", [METRICS], [0]),
    ("{ $.latency < 1000 }", [METRICS], []),
    ("{ $.latency = * }", [METRICS, TRAIL], [0]),
    ("{ $.name = *Event }", EVENT_NAMES, [0, 3]),
    ("{ $.name = Event* }", EVENT_NAMES, [1, 3]),
    ('{ $.name = "Ev*ent" }', EVENT_NAMES, [2]),
    ('{ $.level = "ERROR" }', ['{"level": "ERROR"}', '{"level": "INFO"}', "ERROR", "START RequestId: 1"], [0]),
    # space-delimited
    ("[w1=ERROR, w2]", LEVELS, [1]),
    ("[w1=ERROR || w1=WARN, w2]", LEVELS, [1, 2]),
    ("[w1!=ERROR, w2]", LEVELS, [2]),
    (APACHE_FIELDS + "]", APACHE, [0, 1, 2, 3, 4]),
    ("[..., status_code, bytes]", APACHE, [0, 1, 2, 3, 4]),
    ("[ip, user, ..., status_code, bytes]", APACHE, [0, 1, 2, 3, 4]),
    ("[ip, user, ...]", APACHE, [0, 1, 2, 3, 4]),
    ("[ip, user, username]", APACHE, []),  # the number of fields must agree
    (APACHE_FIELDS + " > 1000]", APACHE, [0, 1, 2, 4]),
    ("[ip, user, username, timestamp, request, status_code = 200, bytes]", APACHE, [0, 2]),
    ("[ip, user, username, timestamp, request, status_code = 4*, bytes]", APACHE, [3, 4]),
    ("[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]", APACHE, [3, 4]),
    ("[ip, user, username, timestamp, request, status_code = 4* && status_code != 403, bytes]", APACHE, [3]),
    ("[ip, user, username, timestamp, request, status_code >= 400 && status_code < 500, bytes]", APACHE, [3, 4]),
    ("[..., request=*.html*, status_code=4*,]", [*APACHE, APACHE[3] + " extra"], [3, 4]),
    ('[ip, user="frank", ...]', APACHE, []),  # user is "-"; frank is the third field
    ('[ip, user, username="frank", ...]', APACHE, [0, 1, 2, 3, 4]),
    ("[..., request=%index%, status_code, bytes]", APACHE, [3, 4]),
    ("[ip, ..., bytes<1000]", APACHE, [3]),
]


@pytest.mark.parametrize(("pattern", "events", "expected"), CASES, ids=[case[0] or "(empty)" for case in CASES])
def test_the_docs_examples_match_what_the_docs_say(pattern, events, expected):
    compiled = compile_pattern(pattern)
    assert [i for i, event in enumerate(events) if compiled.matches(event)] == expected


INVALID = [
    ('{ $.level = "ERROR"', "If a filter pattern starts with '{' it must end with '}'"),
    ("[ip, user", "If a filter pattern starts with '[' it must end with ']'"),
    ("RequestId:", "Invalid character(s) in term 'RequestId:'"),
    ("ERROR -[WARN]", "Invalid character(s) in term '[WARN]'"),
    ('""', "Invalid character(s) in term '\"\"'"),
    ("{ $.level }", "Invalid filter pattern"),
    ("{ level = 1 }", "Invalid filter pattern"),  # selectors start with $.
    ("{ $.latency > fast }", "Invalid filter pattern"),  # <, > compare numbers
    ("{ ($.a = 1 }", "Invalid filter pattern"),
    ("{ $.a = 1 && }", "Invalid filter pattern"),
    ("{ $.a IS MAYBE }", "Invalid filter pattern"),
    ("{ $.a = 1 $.b = 2 }", "Invalid filter pattern"),
    ("{ $.a = %x% || $.b = %y% || $.c = %z% }", "Invalid filter pattern"),  # at most 2 regexes
    ("%(ERROR)%", "Invalid filter pattern"),  # no groups in CloudWatch's regexes
    ("%something!%", "Invalid filter pattern"),
    ("%unclosed", "Invalid filter pattern"),
    ('"unclosed', "Invalid filter pattern"),
    ("[a, , b]", "Invalid filter pattern"),
    ("[a, b = 1, c > x]", "Invalid filter pattern"),
    ("[a = 1 && z = 2, b]", "Invalid filter pattern"),  # z names no field
    ("[a IS NULL]", "Invalid filter pattern"),
    ("-", "Invalid filter pattern"),
]


@pytest.mark.parametrize(("pattern", "message"), INVALID, ids=[case[0] for case in INVALID])
def test_patterns_cloudwatch_refuses_are_refused_with_its_message(pattern, message):
    with pytest.raises(InvalidFilterPattern) as raised:
        compile_pattern(pattern)
    assert str(raised.value) == message


def test_a_pattern_is_parsed_once():
    assert compile_pattern('{ $.level = "ERROR" }') is compile_pattern('{ $.level = "ERROR" }')
