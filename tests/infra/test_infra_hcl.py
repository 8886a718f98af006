"""The HCL evaluator of tests/infra_support.py, pinned to results worked out by hand."""

from __future__ import annotations

from typing import Any

import pytest
from infra_support import EvalError, Module, Parser, Scope
from support import REPO

# ---------------------------------------------------------------------------- the evaluator itself


def test_the_evaluator_reads_infra_like_terraform():
    """A few expressions whose results are known, so a broken evaluator cannot agree by accident."""
    root = Module(REPO / "infra", {"table_name": "My_Table", "lambda_timeout": 10}, {}, REPO / "infra")
    assert root.local("function_name") == "My_Table_stream_consumer"
    assert root.local("audit_bucket_name") == "my-table-audit-123456789012"
    assert root.local("alarm_duration_ms") == 8000
    assert root.local("create_topic") is False
    assert Scope(root).evaluate(Parser('[for x in ["a", "b"] : upper(x) if x != "b"]').parse()) == ["A"]
    assert Scope(root).evaluate(Parser('{for x in ["a", "b", "a"] : x => x...}').parse()) == {
        "a": ["a", "a"],
        "b": ["b"],
    }
    assert Scope(root).evaluate(Parser('try(module.dlq[0].queue_url, "none")').parse()) == "none"


def evaluate(text: str, **variables: Any) -> Any:
    module = Module(REPO / "infra" / "modules" / "dlq", {"name": "q"}, {}, REPO / "infra")
    return Scope(module, {"v": variables}).evaluate(Parser(text).parse())


def test_expressions():
    assert evaluate('"${v.a}-${lower("X${v.b}")}"', a="one", b="Y") == "one-xy"
    assert evaluate('"${v.n}"', n=3) == 3  # a lone interpolation keeps its type
    assert evaluate("1 + 2 * 3 == 7 && !false || false") is True
    assert evaluate('v.x == null ? "none" : v.x', x=None) == "none"
    assert evaluate("v.on ? v.missing[0] : 5", on=False) == 5  # the branch not taken is not evaluated
    assert evaluate('merge({a = 1}, v.flag ? {b = 2} : {}, {"c:d" = 3})', flag=True) == {"a": 1, "b": 2, "c:d": 3}
    assert evaluate('replace("A_b.c", "/[^a-z.]/", "-")') == "--b.c"
    assert evaluate('coalesce(v.x, "", "z")', x=None) == "z"
    assert evaluate('substr("abcdef", 0, 3)') == "abc"
    assert evaluate('join(",", [for k, v in {a = 1, b = 2} : "${k}=${v}"])') == "a=1,b=2"
    assert evaluate("can(v.x >= 1)", x=None) is False  # null operands fail, as in Terraform
    assert evaluate('jsonencode({a = [1, "x"]})') == '{"a":[1,"x"]}'
    assert evaluate('toset(["b", "a", "b"])') == ["a", "b"]  # a set of strings: unique, in lexical order


def test_modules_and_resources():
    known = {("dlq", "queue_url"): "https://queue", ("dlq", "queue_name"): "t-dlq"}
    root = Module(
        REPO / "infra", {"table_name": "t", "enable_dlq": True, "enable_alarms": False}, known, REPO / "infra"
    )
    assert Scope(root).evaluate(Parser("module.dlq[0].queue_url").parse()) == "https://queue"
    assert root.child("alarms") is None  # count = 0
    queue = root.child("dlq").resource("aws_sqs_queue", "this")
    assert queue == {
        "name": "t-dlq",
        "message_retention_seconds": 1209600,
        "sqs_managed_sse_enabled": True,
        "kms_master_key_id": None,
        "tags": {},
    }
    # Values only AWS knows are never invented: the consumer's inputs need the table's outputs.
    with pytest.raises(EvalError, match="module.dynamodb_table.table_name is known only after apply"):
        root.child("lambda_consumer")
