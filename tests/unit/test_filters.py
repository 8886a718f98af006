"""Lambda event filtering for DynamoDB stream records (ddbstream.patterns)."""

import json

import pytest

from ddbstream.errors import ExitCode, InvalidInput
from ddbstream.patterns import (
    MAX_PATTERN_LENGTH,
    InvalidFilterPattern,
    parse_filter_criteria,
    record_matches,
)


def criteria(*patterns) -> dict:
    """FilterCriteria from pattern dicts (or ready-made pattern strings)."""
    return {"Filters": [{"Pattern": p if isinstance(p, str) else json.dumps(p)} for p in patterns]}


def passes(record: dict, *patterns) -> bool:
    return record_matches(parse_filter_criteria(criteria(*patterns)), record)


def ddb_record(event_name="INSERT", keys=None, new=None, old=None, created=1700000000.0) -> dict:
    """A Lambda event record of a DynamoDB stream, as the ESM hands it to the function."""
    dynamodb = {
        "ApproximateCreationDateTime": created,
        "Keys": keys or {"id": {"S": "k1"}},
        "SequenceNumber": "100000000000000000001",
        "SizeBytes": 26,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        dynamodb["NewImage"] = new
    if old is not None:
        dynamodb["OldImage"] = old
    return {
        "eventID": "1",
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": dynamodb,
    }


def leaf(value) -> dict:
    """A record with one plain JSON value at detail.v (for matcher-by-matcher tests)."""
    return {"detail": {"v": value}}


def leaf_passes(value, *matchers) -> bool:
    return passes(leaf(value), {"detail": {"v": list(matchers)}})


# ---------------------------------------------------------------- AWS's documented examples
# "Using event filtering with a DynamoDB event source" (Lambda developer guide).

DOC_RECORD = {
    "eventID": "1",
    "eventVersion": "1.0",
    "dynamodb": {
        "ApproximateCreationDateTime": "1678831218.0",
        "Keys": {"CustomerName": {"S": "AnyCompany Industries"}},
        "NewImage": {
            "AccountManager": {"S": "Pat Candella"},
            "PaymentTerms": {"S": "60 days"},
            "CustomerName": {"S": "AnyCompany Industries"},
        },
        "SequenceNumber": "111",
        "SizeBytes": 26,
        "StreamViewType": "NEW_IMAGE",
    },
}


def with_images(new_manager=None, old_manager=None, customer="AnyCompany Industries") -> dict:
    record = json.loads(json.dumps(DOC_RECORD))
    record["dynamodb"]["Keys"]["CustomerName"]["S"] = customer
    if new_manager is None:
        del record["dynamodb"]["NewImage"]
    else:
        record["dynamodb"]["NewImage"]["AccountManager"]["S"] = new_manager
    if old_manager is not None:
        record["dynamodb"]["OldImage"] = {"AccountManager": {"S": old_manager}}
    return record


def test_doc_filtering_with_table_keys_uses_the_documented_criteria_string():
    # The FilterCriteria exactly as the guide prints it for the CLI.
    doc_criteria = json.loads(
        '{"Filters": [{"Pattern": "{ \\"dynamodb\\" : { \\"Keys\\" : { \\"CustomerName\\" : '
        '{ \\"S\\" : [ \\"AnyCompany Industries\\" ] } } } }"}]}'
    )
    patterns = parse_filter_criteria(doc_criteria)
    assert record_matches(patterns, DOC_RECORD)
    assert not record_matches(patterns, with_images("Pat Candella", customer="Other Corp"))


def test_doc_filtering_with_table_attributes_is_an_or_of_values():
    pattern = {"dynamodb": {"NewImage": {"AccountManager": {"S": ["Pat Candella", "Shirley Rodriguez"]}}}}
    assert passes(with_images("Pat Candella"), pattern)
    assert passes(with_images("Shirley Rodriguez"), pattern)
    assert not passes(with_images("Terry Whitlock"), pattern)
    assert not passes(with_images(None), pattern)  # no NewImage at all


def test_doc_boolean_and_example_merges_the_repeated_dynamodb_key():
    # The guide's pattern repeats "dynamodb"; both halves must hold.
    doc_pattern = (
        '{ "dynamodb" : { "NewImage" : { "AccountManager" : { "S" : [ "Pat Candella" ] } } } , '
        '"dynamodb" : { "OldImage" : { "AccountManager" : { "S" : [ "Terry Whitlock" ] } } } }'
    )
    assert passes(with_images("Pat Candella", "Terry Whitlock"), doc_pattern)
    assert not passes(with_images("Pat Candella", "Someone Else"), doc_pattern)
    assert not passes(with_images("Someone Else", "Terry Whitlock"), doc_pattern)


def test_doc_numbers_in_images_are_strings_so_numeric_never_matches_them():
    record = ddb_record(new={"id": {"S": "a"}, "price": {"N": "150"}})
    assert not passes(record, {"dynamodb": {"NewImage": {"price": {"N": [{"numeric": [">", 100]}]}}}})
    assert passes(record, {"dynamodb": {"NewImage": {"price": {"N": ["150"]}}}})
    assert not passes(record, {"dynamodb": {"NewImage": {"price": {"N": [150]}}}})


ORGANIZATIONS_ITEM = {
    "UserID": {"S": "12345"},
    "Name": {"S": "John Doe"},
    "Organizations": {"L": [{"S": "Sales"}, {"S": "Marketing"}, {"S": "Support"}]},
}


def test_doc_exists_on_an_intermediate_node_never_matches():
    record = ddb_record(new=ORGANIZATIONS_ITEM)
    assert not passes(record, {"dynamodb": {"NewImage": {"Organizations": [{"exists": True}]}}})


def test_doc_exists_on_the_leaf_inside_a_list_matches():
    pattern = {"dynamodb": {"NewImage": {"Organizations": {"L": {"S": [{"exists": True}]}}}}}
    assert passes(ddb_record(new=ORGANIZATIONS_ITEM), pattern)
    assert not passes(ddb_record(new={"UserID": {"S": "12345"}}), pattern)


def test_cdk_documented_example_event_name_and_bool_attribute():
    pattern = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"id": {"BOOL": [True]}}}}
    assert passes(ddb_record("INSERT", new={"id": {"BOOL": True}}), pattern)
    assert not passes(ddb_record("INSERT", new={"id": {"BOOL": False}}), pattern)
    assert not passes(ddb_record("MODIFY", new={"id": {"BOOL": True}}), pattern)
    assert not passes(ddb_record("INSERT", new={"id": {"S": "true"}}), pattern)


# ---------------------------------------------------------------- behaviour recorded on AWS


def test_recorded_event_name_filters():
    insert, modify = ddb_record("INSERT"), ddb_record("MODIFY")
    assert passes(insert, {"eventName": ["INSERT"]})
    assert not passes(modify, {"eventName": ["INSERT"]})
    assert passes(modify, {"eventName": ["INSERT", "MODIFY"]})
    both = {"eventName": ["INSERT"], "eventSource": ["aws:dynamodb"]}
    assert passes(insert, both)
    assert not passes(modify, both)


def test_recorded_typed_content_filter_matches_and_untyped_does_not():
    with_key = ddb_record(new={"id": {"S": "1"}, "presentKey": {"S": "presentValue"}})
    without_key = ddb_record(new={"id": {"S": "2"}})
    typed = {"dynamodb": {"NewImage": {"presentKey": {"S": ["presentValue"]}}}}
    assert passes(with_key, typed)
    assert not passes(without_key, typed)
    assert not passes(with_key, {"dynamodb": {"NewImage": {"presentKey": ["presentValue"]}}})


def test_recorded_typed_exists_filter():
    pattern = {"dynamodb": {"NewImage": {"presentKey": {"S": [{"exists": True}]}}}}
    assert passes(ddb_record(new={"id": {"S": "1"}, "presentKey": {"S": "presentValue"}}), pattern)
    assert not passes(ddb_record(new={"id": {"S": "2"}}), pattern)


def test_recorded_untyped_exists_false_delivers_items_with_and_without_the_attribute():
    pattern = {"dynamodb": {"NewImage": {"presentKey": [{"exists": False}]}}}
    assert passes(ddb_record(new={"id": {"S": "1"}}), pattern)
    assert passes(ddb_record(new={"id": {"S": "2"}, "presentKey": {"S": "presentValue"}}), pattern)


def test_recorded_numeric_or_anything_but_on_an_n_attribute():
    pattern = {"dynamodb": {"NewImage": {"numericFilter": {"N": [{"numeric": [">", 100]}, {"anything-but": "101"}]}}}}
    assert passes(ddb_record(new={"numericFilter": {"N": "42"}}), pattern)  # through anything-but
    assert not passes(ddb_record(new={"numericFilter": {"N": "101"}}), pattern)
    # ">" 100 never matches the string "200"; it passes only because it is not "101".
    assert passes(ddb_record(new={"numericFilter": {"N": "200"}}), pattern)
    only_numeric = {"dynamodb": {"NewImage": {"numericFilter": {"N": [{"numeric": [">", 100]}]}}}}
    assert not passes(ddb_record(new={"numericFilter": {"N": "200"}}), only_numeric)


def test_recorded_prefix_filter():
    pattern = {"dynamodb": {"NewImage": {"prefix": {"S": [{"prefix": "us-1"}]}}}}
    assert passes(ddb_record(new={"prefix": {"S": "us-1-other-suffix"}}), pattern)
    assert not passes(ddb_record(new={"prefix": {"S": "other-suffix"}}), pattern)


def test_recorded_numeric_works_on_approximate_creation_date_time():
    pattern = {"dynamodb": {"ApproximateCreationDateTime": [{"numeric": [">", 0]}]}}
    assert passes(ddb_record(created=1700000000.0), pattern)
    later = {"dynamodb": {"ApproximateCreationDateTime": [{"numeric": [">=", 1700000000, "<", 1800000000]}]}}
    assert passes(ddb_record(created=1700000000.0), later)
    assert not passes(ddb_record(created=1699999999.5), later)


# ---------------------------------------------------------------- each matcher, both ways


def test_exact_string_is_case_sensitive_and_type_strict():
    assert leaf_passes("INSERT", "INSERT")
    assert not leaf_passes("insert", "INSERT")
    assert not leaf_passes("42", 42)


def test_exact_number_is_type_strict_and_numeric_equal():
    assert leaf_passes(42, 42)
    assert leaf_passes(42.0, 42)
    assert not leaf_passes(42, "42")
    assert not leaf_passes(43, 42)


def test_exact_booleans_do_not_equal_numbers():
    assert leaf_passes(True, True)
    assert not leaf_passes(False, True)
    assert not leaf_passes(1, True)
    assert not leaf_passes(True, 1)


def test_null_matches_only_json_null():
    assert leaf_passes(None, None)
    assert not leaf_passes("", None)
    assert not leaf_passes("null", None)
    assert not passes({"detail": {}}, {"detail": {"v": [None]}})  # absent is not null


def test_empty_string_matches_only_the_empty_string():
    assert leaf_passes("", "")
    assert not leaf_passes(" ", "")
    assert not leaf_passes(None, "")


def test_prefix_and_suffix_are_plain_string_operations():
    assert leaf_passes("us-east-1", {"prefix": "us-"})
    assert not leaf_passes("eu-west-1", {"prefix": "us-"})
    assert leaf_passes("photo.png", {"suffix": ".png"})
    assert not leaf_passes("photo.jpg", {"suffix": ".png"})
    # No regex interpretation of the user's text.
    assert not leaf_passes("abc", {"prefix": ".*"})
    assert leaf_passes(".*abc", {"prefix": ".*"})
    assert not leaf_passes(12345, {"prefix": "12"})


def test_equals_ignore_case():
    assert leaf_passes("Pat CANDELLA", {"equals-ignore-case": "pat candella"})
    assert not leaf_passes("Pat Candellas", {"equals-ignore-case": "pat candella"})
    assert not leaf_passes(1, {"equals-ignore-case": "1"})


def test_anything_but_single_value_and_list():
    assert leaf_passes("running", {"anything-but": "initializing"})
    assert not leaf_passes("initializing", {"anything-but": "initializing"})
    assert leaf_passes("pending", {"anything-but": ["archived", "deleted"]})
    assert not leaf_passes("deleted", {"anything-but": ["archived", "deleted"]})


def test_anything_but_numbers_and_type_strictness():
    assert leaf_passes(3, {"anything-but": [1, 2]})
    assert not leaf_passes(2.0, {"anything-but": [1, 2]})
    assert leaf_passes("101", {"anything-but": 101})  # a string is not the number 101


def test_anything_but_prefix():
    assert leaf_passes("eu-west-1", {"anything-but": {"prefix": "us-"}})
    assert not leaf_passes("us-east-1", {"anything-but": {"prefix": "us-"}})


def test_anything_but_needs_the_field_to_be_present():
    assert not passes({"detail": {}}, {"detail": {"v": [{"anything-but": "x"}]}})


@pytest.mark.parametrize(
    "matcher, inside, outside",
    [
        (["=", 100], [100, 100.0], [99, 101]),
        (["<", 10], [9.99, -5], [10, 11]),
        (["<=", 10], [10, 9], [10.01]),
        ([">", 10], [10.5, 11], [10, 9]),
        ([">=", 10], [10, 11], [9.99]),
        ([">", 0, "<=", 5], [0.1, 5], [0, 5.01]),
        ([">=", 0, "<", 5], [0, 4.99], [-0.1, 5]),
    ],
)
def test_numeric(matcher, inside, outside):
    for value in inside:
        assert leaf_passes(value, {"numeric": matcher}), value
    for value in outside:
        assert not leaf_passes(value, {"numeric": matcher}), value
    assert not leaf_passes(str(inside[0]), {"numeric": matcher})  # strings never match numeric


def test_exists_true_and_false_on_a_leaf():
    assert leaf_passes("x", {"exists": True})
    assert not leaf_passes("x", {"exists": False})
    assert not passes({"detail": {}}, {"detail": {"v": [{"exists": True}]}})
    assert passes({"detail": {}}, {"detail": {"v": [{"exists": False}]}})


def test_exists_sees_null_as_a_present_leaf():
    assert leaf_passes(None, {"exists": True})
    assert not leaf_passes(None, {"exists": False})


def test_exists_looks_for_a_leaf_so_an_object_counts_as_absent():
    # The general rule behind the recorded untyped exists:false case, in both directions.
    record = ddb_record(new={"attr": {"S": "v"}})
    untyped = lambda flag: {"dynamodb": {"NewImage": {"attr": [{"exists": flag}]}}}  # noqa: E731
    typed = lambda flag: {"dynamodb": {"NewImage": {"attr": {"S": [{"exists": flag}]}}}}  # noqa: E731
    assert not passes(record, untyped(True))
    assert passes(record, untyped(False))
    assert passes(record, typed(True))
    assert not passes(record, typed(False))
    # Without the attribute the typed forms flip, and the untyped ones behave the same.
    bare = ddb_record(new={"id": {"S": "1"}})
    assert not passes(bare, typed(True))
    assert passes(bare, typed(False))
    assert passes(bare, untyped(False))


def test_exists_false_holds_when_a_parent_is_missing():
    # An INSERT has no OldImage at all.
    pattern = {"eventName": ["INSERT"], "dynamodb": {"OldImage": {"status": {"S": [{"exists": False}]}}}}
    assert passes(ddb_record("INSERT", new={"status": {"S": "new"}}), pattern)
    assert not passes(ddb_record("INSERT", new={"status": {"S": "new"}}, old={"status": {"S": "x"}}), pattern)


def test_other_matchers_never_match_an_object():
    record = ddb_record(new={"attr": {"S": "v"}})
    assert not passes(record, {"dynamodb": {"NewImage": {"attr": [{"anything-but": "x"}]}}})
    assert not passes(record, {"dynamodb": {"NewImage": {"attr": [{"prefix": ""}]}}})


def test_a_nested_pattern_does_not_match_a_leaf_value():
    assert not passes(leaf("x"), {"detail": {"v": {"S": ["x"]}}})


# ---------------------------------------------------------------- arrays, AND, OR


def test_arrays_in_the_record_match_when_any_element_matches():
    record = ddb_record(new={"tags": {"SS": ["red", "green"]}})
    assert passes(record, {"dynamodb": {"NewImage": {"tags": {"SS": ["green"]}}}})
    assert not passes(record, {"dynamodb": {"NewImage": {"tags": {"SS": ["blue"]}}}})
    assert passes(record, {"dynamodb": {"NewImage": {"tags": {"SS": [{"prefix": "gr"}]}}}})
    # anything-but passes when some element is not excluded.
    assert passes(record, {"dynamodb": {"NewImage": {"tags": {"SS": [{"anything-but": "red"}]}}}})
    assert not passes(record, {"dynamodb": {"NewImage": {"tags": {"SS": [{"anything-but": ["red", "green"]}]}}}})


def test_empty_array_counts_as_absent():
    assert not passes({"detail": {"v": []}}, {"detail": {"v": [{"exists": True}]}})
    assert passes({"detail": {"v": []}}, {"detail": {"v": [{"exists": False}]}})


def test_arrays_of_objects_reach_nested_maps():
    record = ddb_record(new={"lines": {"L": [{"M": {"sku": {"S": "A-1"}}}, {"M": {"sku": {"S": "B-2"}}}]}})
    assert passes(record, {"dynamodb": {"NewImage": {"lines": {"L": {"M": {"sku": {"S": [{"prefix": "B-"}]}}}}}}})
    assert not passes(record, {"dynamodb": {"NewImage": {"lines": {"L": {"M": {"sku": {"S": ["C-3"]}}}}}}})


def test_every_key_of_a_pattern_must_match():
    pattern = {"eventName": ["MODIFY"], "dynamodb": {"NewImage": {"status": {"S": ["shipped"]}}}}
    assert passes(ddb_record("MODIFY", new={"status": {"S": "shipped"}}), pattern)
    assert not passes(ddb_record("INSERT", new={"status": {"S": "shipped"}}), pattern)
    assert not passes(ddb_record("MODIFY", new={"status": {"S": "packed"}}), pattern)


def test_filters_are_ored():
    inserts = {"eventName": ["INSERT"]}
    vip = {"dynamodb": {"NewImage": {"tier": {"S": ["vip"]}}}}
    assert passes(ddb_record("INSERT", new={"tier": {"S": "basic"}}), inserts, vip)
    assert passes(ddb_record("MODIFY", new={"tier": {"S": "vip"}}), inserts, vip)
    assert not passes(ddb_record("MODIFY", new={"tier": {"S": "basic"}}), inserts, vip)
    assert not passes(ddb_record("REMOVE", old={"tier": {"S": "vip"}}), inserts, vip)


@pytest.mark.parametrize("empty", [None, {}, {"Filters": []}, {"Filters": None}])
def test_no_filters_delivers_everything(empty):
    patterns = parse_filter_criteria(empty)
    assert patterns == []
    assert record_matches(patterns, ddb_record("REMOVE"))


def test_patterns_compare_by_source():
    first = parse_filter_criteria(criteria({"eventName": ["INSERT"]}))
    again = parse_filter_criteria(criteria({"eventName": ["INSERT"]}))
    other = parse_filter_criteria(criteria({"eventName": ["MODIFY"]}))
    assert first == again
    assert first != other


# ---------------------------------------------------------------- validation

P = "Invalid filter pattern definition. Filters[0].Pattern"


@pytest.mark.parametrize(
    "pattern, message",
    [
        ("single-string", f"{P} is not valid JSON: Expecting value: line 1 column 1 (char 0)."),
        (
            '[{"eventName": ["INSERT"=123}]',
            f"{P} is not valid JSON: Expecting ',' delimiter: line 1 column 25 (char 24).",
        ),
        ("", f"{P} is not valid JSON: Expecting value: line 1 column 1 (char 0)."),
        ('{"v": [NaN]}', f"{P} is not valid JSON: NaN is not a JSON number."),
        ("null", f"{P} must be a JSON object."),
        ('["INSERT"]', f"{P} must be a JSON object."),
        ("{}", f"{P}: empty objects are not allowed."),
        ('{"dynamodb": {}}', f"{P} at dynamodb: empty objects are not allowed."),
        ('{"eventName": "INSERT"}', f'{P} at eventName: must be an object or an array, not "INSERT".'),
        ('{"eventName": []}', f"{P} at eventName: empty arrays are not allowed."),
        (
            '{"eventName": [["INSERT"]]}',
            f"{P} at eventName: match values must be strings, numbers, true, false, null or match objects.",
        ),
        ('{"a": [{"prefix": "x", "suffix": "y"}]}', f"{P} at a: a match object must have exactly one key, not 2."),
        (
            '{"a": [{"wildcard": "x*"}]}',
            f'{P} at a: unrecognized match type "wildcard" (allowed: prefix, suffix, anything-but, numeric, exists, '
            "equals-ignore-case).",
        ),
        ('{"a": [{"prefix": 5}]}', f"{P} at a: prefix match pattern must be a string."),
        ('{"a": [{"suffix": null}]}', f"{P} at a: suffix match pattern must be a string."),
        ('{"a": [{"equals-ignore-case": ["x"]}]}', f"{P} at a: equals-ignore-case match pattern must be a string."),
        ('{"a": {"b": [{"exists": "true"}]}}', f"{P} at a.b: exists match pattern must be either true or false."),
        (
            '{"a": [{"numeric": 5}]}',
            f'{P} at a: numeric must be an array of operator, number pairs, e.g. [">", 10, "<=", 20].',
        ),
        (
            '{"a": [{"numeric": [">", 1, "<"]}]}',
            f'{P} at a: numeric must be an array of operator, number pairs, e.g. [">", 10, "<=", 20].',
        ),
        (
            '{"a": [{"numeric": ["!=", 1]}]}',
            f'{P} at a: unrecognized numeric operator "!=" (allowed: =, <, <=, >, >=).',
        ),
        ('{"a": [{"numeric": [">", "10"]}]}', f'{P} at a: value of numeric > must be a number, not "10".'),
        ('{"a": [{"numeric": ["=", true]}]}', f"{P} at a: value of numeric = must be a number, not true."),
        (
            '{"a": [{"numeric": [">", 1, ">", 2]}]}',
            f"{P} at a: a numeric range is a lower bound (> or >=) followed by an upper bound (< or <=).",
        ),
        (
            '{"a": [{"numeric": ["<", 5, ">", 1]}]}',
            f"{P} at a: a numeric range is a lower bound (> or >=) followed by an upper bound (< or <=).",
        ),
        (
            '{"a": [{"numeric": ["=", 5, "<", 9]}]}',
            f'{P} at a: numeric takes "=" alone, or at most one lower and one upper bound.',
        ),
        (
            '{"a": [{"numeric": [">", 1, "<", 5, "<", 9]}]}',
            f'{P} at a: numeric takes "=" alone, or at most one lower and one upper bound.',
        ),
        (
            '{"a": [{"numeric": [">", 5, "<", 5]}]}',
            f"{P} at a: numeric range lower bound 5 must be less than upper bound 5.",
        ),
        (
            '{"a": [{"anything-but": ["x", 1]}]}',
            f"{P} at a: anything-but values must be all strings or all numbers, not a mix.",
        ),
        (
            '{"a": [{"anything-but": [null]}]}',
            f"{P} at a: anything-but values must be strings or numbers (not null, true or false).",
        ),
        ('{"a": [{"anything-but": []}]}', f"{P} at a: anything-but list must not be empty."),
        (
            '{"a": [{"anything-but": {"suffix": "x"}}]}',
            f'{P} at a: anything-but takes a value, a list of values, or {{"prefix": "..."}}.',
        ),
        ('{"a": [{"anything-but": {"prefix": ""}}]}', f"{P} at a: anything-but prefix must not be empty."),
        (
            '{"$or": [{"a": ["x"]}, {"b": ["y"]}]}',
            f'{P} at $or: "$or" is not supported; use several filters, which are ORed.',
        ),
    ],
)
def test_invalid_patterns_are_rejected_with_a_message(pattern, message):
    with pytest.raises(InvalidFilterPattern) as caught:
        parse_filter_criteria({"Filters": [{"Pattern": pattern}]})
    assert str(caught.value) == message


def test_the_failing_filter_is_named():
    with pytest.raises(InvalidFilterPattern, match=r"^Invalid filter pattern definition\. Filters\[2\]\.Pattern at b:"):
        parse_filter_criteria(criteria({"a": ["x"]}, {"a": ["y"]}, {"b": "z"}))


@pytest.mark.parametrize(
    "bad, message",
    [
        ("nope", 'FilterCriteria must be an object like {"Filters": [{"Pattern": "..."}]}.'),
        ({"Filter": []}, "FilterCriteria has an unknown field: Filter."),
        ({"Filters": {"Pattern": "{}"}}, "FilterCriteria.Filters must be a list."),
        ({"Filters": ['{"a": ["x"]}']}, "Filters[0] must be an object with a single field, Pattern."),
        ({"Filters": [{"Pattern": {"a": ["x"]}}]}, "Filters[0].Pattern must be a string holding a JSON object."),
    ],
)
def test_invalid_criteria_shapes(bad, message):
    with pytest.raises(InvalidFilterPattern) as caught:
        parse_filter_criteria(bad)
    assert str(caught.value) == message


def test_at_most_five_filters():
    assert len(parse_filter_criteria(criteria(*[{"n": [i]} for i in range(5)]))) == 5
    with pytest.raises(InvalidFilterPattern) as caught:
        parse_filter_criteria(criteria(*[{"n": [i]} for i in range(6)]))
    assert str(caught.value) == "FilterCriteria.Filters has 6 filters; at most 5 are allowed."


def test_pattern_length_limit_is_4096_characters():
    def pattern_of_length(n):
        head, tail = '{"k": ["', '"]}'
        return head + "x" * (n - len(head) - len(tail)) + tail

    assert len(pattern_of_length(MAX_PATTERN_LENGTH)) == MAX_PATTERN_LENGTH
    assert parse_filter_criteria(criteria(pattern_of_length(MAX_PATTERN_LENGTH)))
    with pytest.raises(InvalidFilterPattern) as caught:
        parse_filter_criteria(criteria(pattern_of_length(MAX_PATTERN_LENGTH + 1)))
    assert str(caught.value) == "Filters[0].Pattern is 4097 characters long; at most 4096 are allowed."


def test_deep_nesting_within_the_length_limit_is_handled():
    deep = '{"a":' * 680 + '["x"]' + "}" * 680
    assert len(deep) <= MAX_PATTERN_LENGTH
    record: dict = {"a": "x"}
    for _ in range(679):
        record = {"a": record}
    assert passes(record, deep)
    too_deep = "[" * 2048 + "]" * 2048
    with pytest.raises(InvalidFilterPattern, match=r"^Invalid filter pattern definition\. Filters\[0\]\.Pattern "):
        parse_filter_criteria(criteria(too_deep))


def test_invalid_filter_pattern_is_a_value_error_and_a_user_input_error():
    with pytest.raises(ValueError) as caught:
        parse_filter_criteria(criteria('{"a": "x"}'))
    assert isinstance(caught.value, InvalidInput)
    assert caught.value.exit_code == ExitCode.INVALID_INPUT
