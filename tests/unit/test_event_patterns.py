"""EventBridge's event-pattern dialect of ddbstream.patterns, with the examples of the EventBridge
user guide ("Comparison operators for use in event patterns"), and what the Lambda dialect refuses."""

import json

import pytest

from ddbstream.patterns import InvalidEventPattern, InvalidFilterPattern, parse_event_pattern, parse_filter_criteria


def matches(pattern: dict, event: dict) -> bool:
    return parse_event_pattern(json.dumps(pattern)).matches(event)


def field(name: str, value) -> dict:
    return {"detail": {name: value}}


def on_detail(name: str, *matchers) -> dict:
    return {"detail": {name: list(matchers)}}


# ---------------------------------------------------------------- the guide's operator table


def test_prefix_and_prefix_ignoring_case():
    assert matches({"time": [{"prefix": "2017-10-02"}]}, {"time": "2017-10-02T18:43:48Z"})
    assert not matches({"time": [{"prefix": "2017-10-02"}]}, {"time": "2017-10-03T18:43:48Z"})
    pattern = on_detail("service", {"prefix": {"equals-ignore-case": "EventB"}})
    for value in ("EventBridge", "EVENTBRIDGE", "eventbus"):
        assert matches(pattern, field("service", value))
    assert not matches(pattern, field("service", "Lambda"))


def test_suffix_and_suffix_ignoring_case():
    assert matches({"FileName": [{"suffix": ".png"}]}, {"FileName": "a.png"})
    assert not matches({"FileName": [{"suffix": ".png"}]}, {"FileName": "a.PNG"})
    pattern = on_detail("FileName", {"suffix": {"equals-ignore-case": ".png"}})
    assert matches(pattern, field("FileName", "image.PNG"))
    assert not matches(pattern, field("FileName", "image.jpg"))


def test_anything_but_values_and_lists():
    assert matches(on_detail("state", {"anything-but": "initializing"}), field("state", "running"))
    assert not matches(on_detail("state", {"anything-but": "initializing"}), field("state", "initializing"))
    assert not matches(on_detail("x-limit", {"anything-but": 123}), field("x-limit", 123))
    assert matches(on_detail("x-limit", {"anything-but": [100, 200, 300]}), field("x-limit", 123))
    assert not matches(on_detail("state", {"anything-but": ["stopped", "overloaded"]}), field("state", "stopped"))


@pytest.mark.parametrize(
    ("operand", "excluded", "kept"),
    [
        ({"prefix": "us-"}, "us-east-1", "eu-west-1"),
        ({"suffix": ".png"}, "a.png", "a.txt"),
        ({"equals-ignore-case": "initializing"}, "INITIALIZING", "running"),
        ({"wildcard": "*/lib/*"}, "/usr/lib/x.so", "/usr/bin/x"),
        ({"suffix": [".png", ".jpg"]}, "a.jpg", "a.gif"),
        ({"wildcard": ["*/lib/*", "*/bin/*"]}, "/usr/bin/x", "/etc/x"),
        ({"equals-ignore-case": ["initializing", "stopped"]}, "Stopped", "running"),
    ],
)
def test_anything_but_with_an_operator(operand, excluded, kept):
    pattern = on_detail("v", {"anything-but": operand})
    assert not matches(pattern, field("v", excluded))
    assert matches(pattern, field("v", kept))


def test_equals_ignore_case():
    assert matches({"detail-type": [{"equals-ignore-case": "ec2 instance state-change notification"}]},
                   {"detail-type": "EC2 Instance State-change Notification"})  # fmt: skip


def test_numeric_ranges():
    pattern = on_detail("c-count", {"numeric": [">", 0, "<=", 5]})
    assert matches(pattern, field("c-count", 5))
    assert not matches(pattern, field("c-count", 0))
    assert not matches(pattern, field("c-count", "3"))  # only JSON numbers
    assert matches(on_detail("d-count", {"numeric": ["<", 10]}), field("d-count", 9.5))
    assert matches(on_detail("x-limit", {"numeric": ["=", 3.018e2]}), field("x-limit", 301.8))


def test_exists():
    assert matches(on_detail("state", {"exists": True}), field("state", "x"))
    assert not matches(on_detail("state", {"exists": True}), field("other", "x"))
    assert matches(on_detail("state", {"exists": False}), field("other", "x"))


def test_wildcard():
    pattern = on_detail("EventBusArn", {"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"})
    assert matches(pattern, field("EventBusArn", "arn:aws:events:us-east-1:123456789012:event-bus/my-bus"))
    assert not matches(pattern, field("EventBusArn", "arn:aws:events:eu-west-1:123456789012:event-bus/b"))
    assert matches(on_detail("f", {"wildcard": "dir/*.png"}), field("f", "dir/a/b.png"))
    assert matches(on_detail("f", {"wildcard": "*"}), field("f", ""))


def test_wildcard_escapes():
    assert matches(on_detail("f", {"wildcard": "a\\*b"}), field("f", "a*b"))
    assert not matches(on_detail("f", {"wildcard": "a\\*b"}), field("f", "axb"))
    assert matches(on_detail("f", {"wildcard": "a\\\\b"}), field("f", "a\\b"))


def test_or_of_fields():
    # The guide's "$or" example: c-count > 0 OR d-count < 10 OR x-limit = 301.8.
    pattern = {
        "detail": {
            "$or": [
                {"c-count": [{"numeric": [">", 0, "<=", 5]}]},
                {"d-count": [{"numeric": ["<", 10]}]},
                {"x-limit": [{"numeric": ["=", 3.018e2]}]},
            ]
        }
    }
    assert matches(pattern, {"detail": {"c-count": 3}})
    assert matches(pattern, {"detail": {"d-count": 2, "c-count": 99}})
    assert not matches(pattern, {"detail": {"c-count": 99, "d-count": 99}})


def test_or_at_the_top_level_alongside_other_keys():
    pattern = {"source": ["aws.ec2"], "$or": [{"detail-type": ["A"]}, {"detail": {"state": ["on"]}}]}
    assert matches(pattern, {"source": "aws.ec2", "detail-type": "A", "detail": {}})
    assert matches(pattern, {"source": "aws.ec2", "detail-type": "B", "detail": {"state": "on"}})
    assert not matches(pattern, {"source": "aws.s3", "detail-type": "A", "detail": {}})


@pytest.mark.parametrize(
    "pattern",
    [
        {"f": [{"wildcard": "a**b"}]},
        {"f": [{"wildcard": "a\\b"}]},
        {"f": [{"wildcard": 3}]},
        {"$or": [{"f": ["x"]}]},
        {"$or": "x"},
        {"f": [{"anything-but": {"suffix": ""}}]},
        {"f": [{"anything-but": {"contains": "x"}}]},
        {"f": [{"prefix": {"equals-ignore-case": 1}}]},
        {"f": [{"cidr": "10.0.0.0/24"}]},
        {"f": "x"},
    ],
)
def test_invalid_event_patterns_are_refused(pattern):
    with pytest.raises(InvalidEventPattern, match="^Event pattern is not valid. Reason: "):
        parse_event_pattern(json.dumps(pattern))


def test_not_json_is_refused():
    with pytest.raises(InvalidEventPattern):
        parse_event_pattern("{not json")
    with pytest.raises(InvalidEventPattern):
        parse_event_pattern(None)


@pytest.mark.parametrize(
    "pattern",
    [
        {"$or": [{"a": ["x"]}, {"b": ["y"]}]},
        {"f": [{"wildcard": "*.png"}]},
        {"f": [{"prefix": {"equals-ignore-case": "x"}}]},
        {"f": [{"anything-but": {"suffix": ".png"}}]},
    ],
)
def test_the_lambda_dialect_still_refuses_eventbridge_only_operators(pattern):
    with pytest.raises(InvalidFilterPattern):
        parse_filter_criteria({"Filters": [{"Pattern": json.dumps(pattern)}]})
