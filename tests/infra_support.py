"""A Python reading of infra/: python-hcl2 parses it, a small evaluator computes it.

The evaluator covers the HCL expressions infra/ uses (references, templates, operators,
conditionals, for expressions, the functions it calls) and turns a module instance and a
set of variable values into each resource's arguments as Terraform would send them.
Values only AWS knows after apply come from a ``known`` map or stay placeholders.
tests/infra/ builds on it; tests/infra/test_infra_hcl.py pins the evaluator itself to results
worked out by hand. ``Recorder`` is the other side: the local target's boto3 requests, recorded.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import hcl2

ACCOUNT = "123456789012"
REGION = "us-east-1"

# ---------------------------------------------------------------------------- HCL expressions


class EvalError(Exception):
    """An expression cannot be evaluated (like an error in Terraform: try() catches it)."""


_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d+)?)|(?P<ident>[A-Za-z_][A-Za-z0-9_-]*)"
    r"|(?P<op>==|!=|<=|>=|&&|\|\||=>|\.\.\.|[!<>+\-*/%?:.,()\[\]{}=])|(?P<quote>\"))"
)


class Parser:
    """Recursive descent over one HCL expression, producing a small AST of tuples."""

    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    # -- lexing
    def _skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str | None:
        self._skip()
        if self.pos >= len(self.text):
            return None
        match = _TOKEN.match(self.text, self.pos)
        if not match:
            raise SyntaxError(f"cannot read {self.text[self.pos : self.pos + 20]!r} in {self.text!r}")
        return match.group(match.lastgroup).strip()

    def take(self, expected: str | None = None) -> str:
        self._skip()
        match = _TOKEN.match(self.text, self.pos)
        if not match:
            raise SyntaxError(f"unexpected end of {self.text!r}")
        token = match.group(match.lastgroup)
        if expected is not None and token != expected:
            raise SyntaxError(f"expected {expected!r}, got {token!r} in {self.text!r}")
        if match.lastgroup != "quote":
            self.pos = match.end()
        return token if match.lastgroup != "number" else ("number", token)

    # -- grammar
    def parse(self) -> tuple:
        node = self.expression()
        if self.peek() is not None:
            raise SyntaxError(f"trailing text in {self.text!r} at {self.pos}")
        return node

    def expression(self) -> tuple:
        condition = self.binary(0)
        if self.peek() == "?":
            self.take("?")
            yes = self.expression()
            self.take(":")
            no = self.expression()
            return ("cond", condition, yes, no)
        return condition

    LEVELS = [("||",), ("&&",), ("==", "!="), ("<", ">", "<=", ">="), ("+", "-"), ("*", "/", "%")]

    def binary(self, level: int) -> tuple:
        if level == len(self.LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        while self.peek() in self.LEVELS[level]:
            op = self.take()
            node = ("op", op, node, self.binary(level + 1))
        return node

    def unary(self) -> tuple:
        if self.peek() in ("!", "-"):
            op = self.take()
            return ("unary", op, self.unary())
        return self.postfix(self.primary())

    def postfix(self, node: tuple) -> tuple:
        while True:
            token = self.peek()
            if token == ".":
                self.take(".")
                name = self.take()
                node = ("get", node, name[1] if isinstance(name, tuple) else name)
            elif token == "[":
                self.take("[")
                index = self.expression()
                self.take("]")
                node = ("index", node, index)
            else:
                return node

    def primary(self) -> tuple:
        token = self.peek()
        if token == "(":
            self.take("(")
            node = self.expression()
            self.take(")")
            return node
        if token == "[":
            return self.sequence()
        if token == "{":
            return self.mapping()
        if token == '"':
            return self.template()
        taken = self.take()
        if isinstance(taken, tuple):
            number = taken[1]
            return ("lit", float(number) if "." in number else int(number))
        if taken in ("true", "false"):
            return ("lit", taken == "true")
        if taken == "null":
            return ("lit", None)
        if self.peek() == "(":
            self.take("(")
            args = []
            while self.peek() != ")":
                args.append(self.expression())
                if self.peek() == ",":
                    self.take(",")
                elif self.peek() == "...":
                    self.take("...")
            self.take(")")
            return ("call", taken, args)
        return ("ref", taken)

    def sequence(self) -> tuple:
        self.take("[")
        if self.peek() == "for":
            return self.for_expr("]")
        items = []
        while self.peek() != "]":
            items.append(self.expression())
            if self.peek() == ",":
                self.take(",")
        self.take("]")
        return ("list", items)

    def mapping(self) -> tuple:
        self.take("{")
        if self.peek() == "for":
            return self.for_expr("}")
        pairs = []
        while self.peek() != "}":
            key = self.template() if self.peek() == '"' else ("lit", self.take())
            self.take("=" if self.peek() == "=" else ":")
            pairs.append((key, self.expression()))
            if self.peek() == ",":
                self.take(",")
        self.take("}")
        return ("map", pairs)

    def for_expr(self, close: str) -> tuple:
        self.take("for")
        names = [self.take()]
        if self.peek() == ",":
            self.take(",")
            names.append(self.take())
        self.take("in")
        collection = self.expression()
        self.take(":")
        key = None
        value = self.expression()
        if close == "}":
            self.take("=>")
            key, value = value, self.expression()
        grouping = False
        if self.peek() == "...":
            self.take("...")
            grouping = True
        condition = None
        if self.peek() == "if":
            self.take("if")
            condition = self.expression()
        self.take(close)
        return ("for", names, collection, key, value, condition, grouping)

    def template(self) -> tuple:
        """A quoted string with ${...} interpolations (nested quotes allowed inside them)."""
        self._skip()
        assert self.text[self.pos] == '"'
        self.pos += 1
        parts: list[Any] = []
        literal = ""
        while True:
            if self.pos >= len(self.text):
                raise SyntaxError(f"unterminated string in {self.text!r}")
            char = self.text[self.pos]
            if char == '"':
                self.pos += 1
                break
            if char == "\\":
                escaped = self.text[self.pos + 1]
                literal += {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}.get(escaped, escaped)
                self.pos += 2
            elif self.text.startswith("${", self.pos):
                if literal:
                    parts.append(literal)
                    literal = ""
                self.pos += 2
                inner = Parser(self.text)
                inner.pos = self.pos
                parts.append(inner.expression())
                inner.take("}")
                self.pos = inner.pos
            else:
                literal += char
                self.pos += 1
        if literal or not parts:
            parts.append(literal)
        return ("template", parts)


class Scope:
    """Evaluation context of one module instance."""

    def __init__(self, module: Module, extra: dict[str, Any] | None = None):
        self.module = module
        self.extra = extra or {}

    def child(self, **names: Any) -> Scope:
        return Scope(self.module, {**self.extra, **names})

    def evaluate(self, node: tuple) -> Any:
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "template":
            values = [part if isinstance(part, str) else self.evaluate(part) for part in node[1]]
            if len(values) == 1 and not isinstance(node[1][0], str):
                return values[0]
            if any(v is None for v in values):
                raise EvalError("null in a string template")
            return "".join(_to_string(v) for v in values)
        if kind == "list":
            return [self.evaluate(item) for item in node[1]]
        if kind == "map":
            return {_to_string(self.evaluate(k)): self.evaluate(v) for k, v in node[1]}
        if kind == "cond":
            return self.evaluate(node[2]) if self.evaluate(node[1]) else self.evaluate(node[3])
        if kind == "unary":
            value = self.evaluate(node[2])
            return (not value) if node[1] == "!" else -value
        if kind == "op":
            return _binary(node[1], self.evaluate(node[2]), self.evaluate(node[3]))
        if kind == "call":
            return call(node[1], node[2], self)
        if kind == "for":
            return self._for(node)
        if kind in ("ref", "get", "index"):
            return self.reference(node)
        raise AssertionError(node)

    def _for(self, node: tuple) -> Any:
        _, names, collection, key, value, condition, grouping = node
        items = self.evaluate(collection)
        pairs = list(items.items()) if isinstance(items, dict) else list(enumerate(items or []))
        out_list, out_map = [], {}
        for k, v in pairs:
            scope = self.child(**({names[0]: k, names[1]: v} if len(names) == 2 else {names[0]: v}))
            if condition is not None and not scope.evaluate(condition):
                continue
            if key is None:
                out_list.append(scope.evaluate(value))
            elif grouping:
                out_map.setdefault(scope.evaluate(key), []).append(scope.evaluate(value))
            else:
                out_map[scope.evaluate(key)] = scope.evaluate(value)
        return out_list if key is None else out_map

    def reference(self, node: tuple) -> Any:
        path: list[Any] = []
        while node[0] in ("get", "index"):
            path.insert(0, node[2] if node[0] == "get" else self.evaluate(node[2]))
            node = node[1]
        assert node[0] == "ref", node
        return self.module.lookup(node[1], path, self)


def _to_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _binary(op: str, left: Any, right: Any) -> Any:
    if op == "&&":
        return bool(left) and bool(right)
    if op == "||":
        return bool(left) or bool(right)
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    if left is None or right is None:
        raise EvalError(f"null operand of {op}")
    return {
        "<": lambda: left < right,
        ">": lambda: left > right,
        "<=": lambda: left <= right,
        ">=": lambda: left >= right,
        "+": lambda: left + right,
        "-": lambda: left - right,
        "*": lambda: left * right,
        "/": lambda: left / right,
        "%": lambda: left % right,
    }[op]()


def call(name: str, args: list[tuple], scope: Scope) -> Any:
    if name == "try":
        for arg in args:
            try:
                return scope.evaluate(arg)
            except (EvalError, KeyError, IndexError, TypeError):
                continue
        raise EvalError("no argument of try() could be evaluated")
    if name == "can":
        try:
            scope.evaluate(args[0])
            return True
        except (EvalError, KeyError, IndexError, TypeError):
            return False
    values = [scope.evaluate(arg) for arg in args]
    if name == "coalesce":
        for value in values:
            if value is not None and value != "":
                return value
        raise EvalError("coalesce: no non-null, non-empty argument")
    if name == "merge":
        merged: dict[str, Any] = {}
        for value in values:
            merged.update(value or {})
        return merged
    if name == "regex":
        pattern, text = values
        if not isinstance(text, str):
            raise EvalError("regex: not a string")
        match = re.search(pattern, text)
        if match is None:
            raise EvalError("regex: no match")  # Terraform's regex() fails; can() turns that into false
        return match.group(0)
    if name == "replace":
        text, search, replacement = values
        if len(search) > 1 and search.startswith("/") and search.endswith("/"):
            return re.sub(search[1:-1], replacement, text)
        return text.replace(search, replacement)
    simple = {
        "lower": lambda s: s.lower(),
        "upper": lambda s: s.upper(),
        "join": lambda sep, items: sep.join(items),
        "length": lambda value: len(value),
        "concat": lambda *lists: [x for items in lists for x in items],
        "flatten": lambda items: [x for item in items for x in (item if isinstance(item, list) else [item])],
        "substr": lambda text, offset, length: text[offset : offset + length] if length >= 0 else text[offset:],
        "jsonencode": lambda value: json.dumps(value, separators=(",", ":")),
        "contains": lambda items, value: value in items,
        "tostring": _to_string,
        "toset": lambda items: sorted(set(items)),  # a set of strings iterates in lexical order
    }
    if name not in simple:
        raise AssertionError(f"the test's HCL evaluator lacks {name}()")
    if name != "tostring" and any(v is None for v in values):
        raise EvalError(f"{name}: null argument")
    return simple[name](*values)


def value_of(raw: Any, scope: Scope) -> Any:
    """An attribute value as python-hcl2 returns it, evaluated."""
    if isinstance(raw, dict):
        return {k.strip('"'): value_of(v, scope) for k, v in raw.items() if not k.startswith("__")}
    if isinstance(raw, list):
        return [value_of(v, scope) for v in raw]
    if isinstance(raw, str):
        # python-hcl2 writes a literal string with its quotes and an expression as "${...}": as a
        # template, a lone interpolation keeps its value's type, like in Terraform.
        text = raw.strip()
        return scope.evaluate(Parser(text if text.startswith('"') else f'"{text}"').parse())
    return raw


# ---------------------------------------------------------------------------- modules


def load_dir(directory: Path) -> dict[str, list]:
    merged: dict[str, list] = {}
    for path in sorted(directory.glob("*.tf")):
        with path.open() as handle:
            for key, blocks in hcl2.load(handle).items():
                merged.setdefault(key, []).extend(blocks)
    return merged


def blocks(document: dict[str, list], kind: str) -> dict[str, Any]:
    """Blocks of one kind by label; for resource and data, {type: {name: body}}."""
    out: dict[str, Any] = {}
    for block in document.get(kind, []):
        for label, body in block.items():
            if kind in ("resource", "data"):
                out.setdefault(label.strip('"'), {}).update({k.strip('"'): v for k, v in body.items()})
            else:
                out[label.strip('"')] = body
    return out


class Module:
    """One instance of a Terraform module: its variables, locals, resources and child modules."""

    def __init__(self, directory: Path, inputs: dict[str, Any], known: dict[tuple[str, str], Any], root: Path):
        self.directory = directory
        self.root = root
        self.document = load_dir(directory)
        self.known = known  # (module name, output) -> value only AWS knows
        self.locals_raw: dict[str, Any] = {}
        for block in self.document.get("locals", []):
            self.locals_raw.update({k: v for k, v in block.items() if not k.startswith("__")})
        self._locals: dict[str, Any] = {}
        scope = Scope(self)
        self.vars: dict[str, Any] = {}
        for name, body in blocks(self.document, "variable").items():
            if name in inputs:
                self.vars[name] = inputs[name]
            elif "default" in body:
                default = body["default"]
                self.vars[name] = value_of(default, scope) if default is not None else None
            else:
                raise AssertionError(f"{directory}: variable {name} has no value")
        unknown = set(inputs) - set(self.vars)
        assert not unknown, f"{directory}: no such variables {unknown}"
        self.module_blocks = blocks(self.document, "module")
        self._children: dict[str, Module | None] = {}

    def count(self, name: str) -> int | None:
        """A child module's count (None when it has no count argument)."""
        body = self.module_blocks[name]
        return value_of(body["count"], Scope(self)) if "count" in body else None

    def child(self, name: str) -> Module | None:
        """The child module instance (the first one when counted), evaluated on first use."""
        if name not in self._children:
            body = self.module_blocks[name]
            if self.count(name) == 0:
                self._children[name] = None
            else:
                scope = Scope(self, {"count": {"index": 0}})
                args = {
                    k: value_of(v, scope)
                    for k, v in body.items()
                    if k not in ("source", "count", "depends_on") and not k.startswith("__")
                }
                source = (self.directory / value_of(body["source"], scope)).resolve()
                self._children[name] = Module(source, args, self.known, self.root)
        return self._children[name]

    def local(self, name: str) -> Any:
        if name not in self._locals:
            self._locals[name] = value_of(self.locals_raw[name], Scope(self))
        return self._locals[name]

    def lookup(self, head: str, path: list[Any], scope: Scope) -> Any:
        if head in scope.extra:
            return _walk(scope.extra[head], path)
        if head == "var":
            return _walk(self.vars[path[0]], path[1:])
        if head == "local":
            return _walk(self.local(path[0]), path[1:])
        if head == "path":
            return {"root": str(self.root), "module": str(self.directory)}[path[0]]
        if head == "module":
            name, rest = path[0], path[1:]
            count = self.count(name)
            if count is not None:
                if not rest or not isinstance(rest[0], int) or rest[0] >= count:
                    raise EvalError(f"module.{name}[{rest[0] if rest else ''}] does not exist")
                rest = rest[1:]
            key = (name, rest[0])
            if key not in self.known:
                raise EvalError(f"module.{name}.{rest[0]} is known only after apply")
            return _walk(self.known[key], rest[1:])
        if head == "data":
            kind, _, attribute = path[0], path[1], path[2]
            facts = {
                "aws_caller_identity": {"account_id": ACCOUNT},
                "aws_partition": {"partition": "aws"},
                "aws_region": {"id": REGION, "name": REGION},
            }
            if kind in facts:
                return facts[kind][attribute]
            return f"<data.{kind}.{path[1]}.{attribute}>"
        if head in ("each", "count"):
            raise EvalError(f"{head} outside its resource")
        # A resource attribute only AWS knows: a placeholder that compares unequal to real values.
        return "<" + ".".join([head, *map(str, path)]) + ">"

    # -- resources
    def resource_instances(self, kind: str, name: str, block: str = "resource") -> dict[Any, dict[str, Any]]:
        """Every instance of a resource (by count index or for_each key) with its arguments evaluated."""
        body = blocks(self.document, block)[kind][name]
        scope = Scope(self)
        if "count" in body:
            keys = list(range(value_of(body["count"], scope)))
            scopes = {k: scope.child(count={"index": k}) for k in keys}
        elif "for_each" in body:
            collection = value_of(body["for_each"], scope)
            items = collection.items() if isinstance(collection, dict) else ((v, v) for v in collection)
            scopes = {k: scope.child(each={"key": k, "value": v}) for k, v in items}
        else:
            scopes = {None: scope}
        return {key: _evaluate_body(body, instance_scope) for key, instance_scope in scopes.items()}

    def resource(self, kind: str, name: str, block: str = "resource") -> dict[str, Any] | None:
        instances = self.resource_instances(kind, name, block)
        assert len(instances) <= 1
        return next(iter(instances.values()), None)


def _walk(value: Any, path: list[Any]) -> Any:
    for step in path:
        if value is None:
            raise EvalError("attribute of null")
        value = value[step]
    return value


def _evaluate_body(body: dict[str, Any], scope: Scope) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, raw in body.items():
        if key.startswith("__") or key in ("count", "for_each", "depends_on", "lifecycle", "provider"):
            continue
        if key == "dynamic":
            for dynamic in raw:
                for label, spec in dynamic.items():
                    label = label.strip('"')
                    collection = value_of(spec["for_each"], scope)
                    items = collection.items() if isinstance(collection, dict) else enumerate(collection)
                    blocks = out.setdefault(label, [])
                    for k, v in items:
                        inner = scope.child(**{label: {"key": k, "value": v}})
                        blocks.extend(_evaluate_body(content, inner) for content in spec["content"])
            continue
        if isinstance(raw, list) and raw and isinstance(raw[0], dict) and raw[0].get("__is_block__"):
            out[key] = [_evaluate_body(block, scope) for block in raw]
            continue
        out[key] = value_of(raw, scope)
    return out


# ---------------------------------------------------------------------------- the local side


class Recorder:
    """boto3 clients to the daemon that record every request's parameters."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self.requests: list[tuple[str, str, dict[str, Any]]] = []

    def client(self, service: str) -> Any:
        from ddbstream.clients import local_client

        client = local_client(service, self.endpoint, REGION, "testing")

        def record(params: dict[str, Any], model: Any, **_: Any) -> None:
            self.requests.append((service, model.name, copy.deepcopy(params)))

        client.meta.events.register("provide-client-params", record)
        return client

    def calls(self, operation: str) -> list[dict[str, Any]]:
        return [params for _, name, params in self.requests if name == operation]

    def one(self, operation: str) -> dict[str, Any]:
        found = self.calls(operation)
        assert len(found) == 1, f"{operation}: {len(found)} requests"
        return found[0]
