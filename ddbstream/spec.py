"""The pipeline spec: Terraform variables read the way Terraform reads them.

Defaults come from ``infra/variables.tf``; values from ``infra/terraform.tfvars`` or
``infra/terraform.tfvars.json``; then ``--var-file`` files, then ``--var name=value``
overrides, in that order (later wins). Values are checked against each variable's type
and ``validation`` blocks before any target sees them.
"""

from __future__ import annotations

import ast
import json
import os
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ddbstream.errors import SpecError
from ddbstream.project import find_infra_dir

_NO_DEFAULT = object()


@dataclass
class Variable:
    name: str
    type: str = "any"
    default: Any = _NO_DEFAULT
    description: str = ""
    validations: list[tuple[str, str]] = field(default_factory=list)  # (condition, error_message)

    @property
    def required(self) -> bool:
        return self.default is _NO_DEFAULT


@dataclass
class Spec:
    """Resolved variable values of one pipeline, plus where they came from."""

    infra_dir: Path
    variables: dict[str, Variable]
    values: dict[str, Any]

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def get(self, name: str, default: Any = None) -> Any:
        value = self.values.get(name)
        return default if value is None else value

    @property
    def project_dir(self) -> Path:
        return self.infra_dir.parent

    def key_schema(self) -> list[tuple[str, str]]:
        """(attribute name, type) of the hash key and, if any, the range key."""
        keys = [(self["hash_key"], self["hash_key_type"])]
        if self.get("range_key"):
            keys.append((self["range_key"], self.get("range_key_type", "S")))
        return keys

    def resource_names(self, account: str = "123456789012") -> dict[str, str]:
        """Names of the pipeline's resources, deriving the ones left null (as infra/main.tf does)."""
        table = self["table_name"]
        names = {"table_name": table}
        derived = {
            "function_name": f"{table}_stream_consumer",
            "dlq_name": f"{table}-dlq",
            "topic_name": f"{table}-events",
            "audit_bucket_name": re.sub(r"[^a-z0-9.-]", "-", f"{table}-audit-{account}".lower()),
        }
        for name, fallback in derived.items():
            if name in self.variables:
                names[name] = self.get(name) or fallback
        return names


# ---------------------------------------------------------------- loading


def load_spec(
    infra_dir: Path | None = None,
    var_files: list[str] | None = None,
    overrides: list[str] | None = None,
) -> Spec:
    """Read, merge and check the pipeline's variables."""
    infra_dir = infra_dir or find_infra_dir()
    variables = read_variables(infra_dir / "variables.tf")
    values: dict[str, Any] = {}

    def merge(assignments: dict[str, Any], origin: str) -> None:
        for name, value in assignments.items():
            if name not in variables:
                raise SpecError(f"{origin}: unknown variable {name!r}")
            values[name] = value

    for default_file in ("terraform.tfvars", "terraform.tfvars.json"):
        path = infra_dir / default_file
        if path.is_file():
            merge(read_var_file(path), str(path))
    for var_file in var_files or []:
        path = Path(var_file)
        if not path.is_file():
            raise SpecError(f"--var-file {var_file}: no such file")
        merge(read_var_file(path), str(path))
    for override in overrides or []:
        name, sep, raw = override.partition("=")
        name = name.strip()
        if not sep or not name:
            raise SpecError(f"--var {override!r}: expected name=value")
        if name not in variables:
            raise SpecError(f"--var {override!r}: unknown variable {name!r}")
        values[name] = parse_cli_value(raw, variables[name], f"--var {name}")

    resolved: dict[str, Any] = {}
    for name, variable in variables.items():
        if name in values:
            resolved[name] = coerce(values[name], variable.type, f"variable {name}")
        elif variable.required:
            raise SpecError(f"variable {name!r} has no default and no value was given")
        else:
            resolved[name] = variable.default
    for name, variable in variables.items():
        for condition, message in variable.validations:
            if not evaluate_condition(condition, resolved):
                raise SpecError(f"invalid value for variable {name!r}: {message}")
    return Spec(infra_dir=infra_dir, variables=variables, values=resolved)


def _hcl_load(path: Path) -> dict:
    """A Terraform file as python-hcl2 returns it, from the parse cache when the file is unchanged."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: cannot read: not UTF-8 text ({exc.reason})") from None
    cache = _parse_cache_file(text)
    if cache is not None:
        try:
            return json.loads(cache.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass  # not cached yet (or a damaged entry): parse
    parsed = _hcl_parse(path, text)
    if cache is not None:
        _write_cache(cache, parsed)
    return parsed


def _hcl_parse(path: Path, text: str) -> dict:
    import hcl2
    from hcl2.utils import SerializationOptions

    options = SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)
    try:
        return hcl2.loads(text, serialization_options=options)
    except Exception as exc:  # lark raises several exception types for syntax errors
        line = getattr(exc, "line", None)
        where = f"{path}:{line}" if line else str(path)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SpecError(f"{where}: cannot parse: {first}") from None


# Parsing variables.tf with python-hcl2 (a lark grammar) takes ~0.2 s; its result, kept by the
# text's hash, takes a millisecond. Bump the format when the parse options above change.
_PARSE_CACHE_FORMAT = "hcl2-8-strip-quotes-1"


def _parse_cache_file(text: str) -> Path | None:
    """Where the parse of ``text`` is kept: ``$DDBSTREAM_CACHE_DIR`` or the user's cache directory."""
    import hashlib

    root = os.environ.get("DDBSTREAM_CACHE_DIR")
    if root == "":
        return None  # caching switched off
    if root is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(base, "ddbstream")
    digest = hashlib.sha256(f"{_PARSE_CACHE_FORMAT}\n{text}".encode()).hexdigest()
    return Path(root) / "hcl" / f"{digest}.json"


def _write_cache(cache: Path, parsed: dict) -> None:
    """Best effort: a cache that cannot be written only costs the next command the parse."""
    from ddbstream.files import write_private

    try:
        cache.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_private(cache, json.dumps(parsed))  # private: it holds variable values
    except (OSError, TypeError, ValueError):
        pass


def read_variables(path: Path) -> dict[str, Variable]:
    """Every ``variable`` block of a Terraform file, with its type, default and validations."""
    if not path.is_file():
        raise SpecError(f"{path}: no such file")
    variables: dict[str, Variable] = {}
    for block in _hcl_load(path).get("variable", []):
        for name, body in block.items():
            default = _hcl_value(body["default"]) if "default" in body else _NO_DEFAULT
            validations = [
                (_strip_interpolation(v["condition"]), _hcl_value(v.get("error_message", "")))
                for v in body.get("validation", [])
            ]
            variables[name] = Variable(
                name=name,
                type=_strip_interpolation(str(body.get("type", "any"))),
                default=default,
                description=body.get("description", ""),
                validations=validations,
            )
    return variables


def read_var_file(path: Path) -> dict[str, Any]:
    """Assignments of a ``.tfvars`` (HCL) or ``.tfvars.json`` file."""
    if path.name.endswith(".json"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
        except OSError as exc:
            raise SpecError(f"{path}: cannot read: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise SpecError(f"{path}:{exc.lineno}: cannot parse: {exc.msg}") from None
        if not isinstance(data, dict):
            raise SpecError(f"{path}: expected a JSON object of variable values")
        return data
    return {name: _hcl_value(value) for name, value in _hcl_load(path).items()}


def _strip_interpolation(text: str) -> str:
    text = text.strip()
    if text.startswith("${") and text.endswith("}"):
        return text[2:-1]
    return text


def _hcl_value(value: Any) -> Any:
    """python-hcl2 output -> plain Python (null, numbers and bools come back as strings)."""
    if isinstance(value, dict):
        return {k: _hcl_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_hcl_value(v) for v in value]
    if isinstance(value, str):
        inner = _strip_interpolation(value)
        if inner == "null":
            return None
    return value


# ---------------------------------------------------------------- types


def parse_cli_value(raw: str, variable: Variable, origin: str) -> Any:
    """A ``--var`` value: strings stay strings; other types are read as JSON (or null)."""
    kind = variable.type.replace(" ", "")
    if kind == "string":
        return raw
    if raw.strip() == "null":
        return None
    if kind in ("number", "bool"):
        return raw
    try:
        return json.loads(raw, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise SpecError(f"{origin}: value is not valid JSON for type {variable.type}: {exc.msg}") from None


def coerce(value: Any, type_expr: str, origin: str) -> Any:
    """Check ``value`` against a Terraform type expression, converting the way Terraform does."""
    kind = type_expr.replace(" ", "")
    if value is None or kind == "any":
        return value
    if kind == "string":
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (str, int, Decimal, float)):
            return str(value)
    elif kind == "number":
        if isinstance(value, bool):
            pass
        elif isinstance(value, (int, Decimal, float, str)):
            try:
                number = Decimal(str(value).strip())
            except InvalidOperation:
                number = None
            if number is not None and number.is_finite():
                return int(number) if number == number.to_integral_value() else number
    elif kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip() in ("true", "false"):
            return value.strip() == "true"
    elif kind.startswith(("list(", "set(", "tuple(")):
        inner = kind[kind.index("(") + 1 : -1]
        if isinstance(value, list):
            return [coerce(v, inner if not kind.startswith("tuple(") else "any", origin) for v in value]
    elif kind.startswith("map("):
        inner = kind[4:-1]
        if isinstance(value, dict):
            return {k: coerce(v, inner, origin) for k, v in value.items()}
    elif kind.startswith("object("):
        if isinstance(value, dict):
            return value
    else:
        return value
    raise SpecError(f"{origin}: expected a {type_expr}, got {_describe(value)}")


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"bool {str(value).lower()}"
    if isinstance(value, (int, float, Decimal)):
        return f"number {value}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


# ---------------------------------------------------------------- validation conditions

_ALLOWED_CALLS = {"contains", "length", "can", "regex", "lower", "upper"}


def evaluate_condition(condition: str, values: dict[str, Any]) -> bool:
    """Evaluate the subset of HCL used by our validation blocks.

    Supported: literals, ``var.x``, ``contains()``, ``length()``, ``can(regex())``,
    comparisons, ``&&``, ``||``, ``!``, ``? :`` is not. Anything else is a bug in
    infra/variables.tf and raises SpecError naming the condition.
    """
    python = condition.replace("&&", " and ").replace("||", " or ").replace("!=", "<>")
    python = re.sub(r"!(?!=)", " not ", python).replace("<>", "!=")
    python = re.sub(r"\bnull\b", "None", python)
    python = re.sub(r"\btrue\b", "True", python)
    python = re.sub(r"\bfalse\b", "False", python)
    try:
        tree = ast.parse(python.strip(), mode="eval")
    except SyntaxError:
        raise SpecError(f"unsupported validation condition: {condition}") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in _ALLOWED_CALLS):
            raise SpecError(f"unsupported validation condition: {condition}")
        if isinstance(node, ast.Attribute) and not (isinstance(node.value, ast.Name) and node.value.id == "var"):
            raise SpecError(f"unsupported validation condition: {condition}")
        if isinstance(node, (ast.Lambda, ast.Subscript, ast.ListComp, ast.DictComp, ast.GeneratorExp)):
            raise SpecError(f"unsupported validation condition: {condition}")

    class _Vars:
        def __getattr__(self, name: str) -> Any:
            return values.get(name)

    def can(thunk_value: Any) -> bool:
        return thunk_value is not _FAILED

    def regex(pattern: str, text: Any) -> Any:
        if not isinstance(text, str):
            return _FAILED
        match = re.search(pattern, text)
        return match.group(0) if match else _FAILED

    def length(value: Any) -> int:
        return len(value) if value is not None else 0

    namespace = {
        "__builtins__": {},
        "var": _Vars(),
        "contains": lambda items, value: value in (items or []),
        "length": length,
        "can": can,
        "regex": regex,
        "lower": lambda s: s.lower(),
        "upper": lambda s: s.upper(),
    }
    try:
        return bool(eval(compile(tree, "<validation>", "eval"), namespace))  # noqa: S307 - checked AST
    except TypeError:
        # Comparing null with a number, for instance: Terraform would fail the condition too.
        return False


_FAILED = object()
