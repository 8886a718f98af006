"""The package's shape stays as tests/README.md and the README's Layout describe it.

Read from the source (ast), not by importing: every import, at module level or inside a
function, is an edge. Layers point one way (cli -> flows -> pipeline/targets -> base; the
daemon sits beside the pipeline layer and uses only the base), nothing forms a cycle, and
no module or function grows past the size a newcomer can read in one go.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "ddbstream"

# Lower rank = lower layer. A module may import its own group or any group of a lower rank;
# the daemon ("emulator") only itself and the base.
LAYERS: dict[str, tuple[int, tuple[str, ...]]] = {
    "base": (
        0,
        (
            "ddbstream",
            "ddbstream.errors",
            "ddbstream.durations",
            "ddbstream.spec",
            "ddbstream.project",
            "ddbstream.state",
            "ddbstream.items",
            "ddbstream.item_limits",
            "ddbstream.files",
            "ddbstream.names",
            "ddbstream.patterns",
            "ddbstream.terraform",
            "ddbstream.clients",
            "ddbstream.local_dynamodb",
            "ddbstream.stream_records",
            "ddbstream.stack_secret",
            "ddbstream.terminal",
            "ddbstream.interpreters",
            "ddbstream.project_files",
            "ddbstream.ports",
        ),
    ),
    "pipeline": (
        1,
        ("ddbstream.pipeline", "ddbstream.daemon", "ddbstream.targets", "ddbstream.provision", "ddbstream.plan"),
    ),
    "emulator": (1, ("ddbstream.emulator",)),
    "flows": (
        2,
        (
            "ddbstream.demo",
            "ddbstream.load",
            "ddbstream.dlq",
            "ddbstream.status",
            "ddbstream.metrics",
            "ddbstream.logs",
            "ddbstream.invoke",
            "ddbstream.table",
            "ddbstream.query",
            "ddbstream.samples",
            "ddbstream.scaffold",
            "ddbstream.events",
            "ddbstream.http_api",
            "ddbstream.debugging",
            "ddbstream.replay",
            "ddbstream.watch",
        ),
    ),
    "cli": (3, ("ddbstream.cli", "ddbstream.__main__")),
}
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def group_of(module: str) -> str:
    best, length = None, -1
    for group, (_, prefixes) in LAYERS.items():
        for prefix in prefixes:
            matches = module == prefix or (prefix != "ddbstream" and module.startswith(prefix + "."))
            if matches and len(prefix) > length:
                best, length = group, len(prefix)
    if best is None:
        raise AssertionError(f"{module} belongs to no layer: add it to LAYERS in {__file__}")
    return best


def resolve(name: str) -> str | None:
    """The module of ours an imported name refers to (``a.b.C`` -> ``a.b``), or None."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str) -> set[str]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for name in names:
            target = resolve(name)
            if target and target != module and target.startswith("ddbstream"):
                found.add(target)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def test_every_module_has_a_layer():
    for module in MODULES:
        group_of(module)


def test_imports_point_down_the_layers():
    wrong = []
    for module, targets in GRAPH.items():
        group = group_of(module)
        rank = LAYERS[group][0]
        for target in targets:
            other = group_of(target)
            if other == group:
                continue
            allowed = LAYERS[other][0] < rank and (group != "emulator" or other == "base")
            if other == "emulator" or not allowed:
                wrong.append(f"{module} ({group}) imports {target} ({other})")
    assert not wrong, "imports that run up or across a layer:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles():
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the path, 2 done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(GRAPH[module]):
            # A package's __init__ importing its own submodules is how it re-exports them.
            if module == target.rpartition(".")[0] and MODULES[module].name == "__init__.py":
                continue
            if state.get(target) == 1:
                cycles.append(path[path.index(target) :] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_and_functions_stay_readable(module):
    source = MODULES[module].read_text(encoding="utf-8")
    lines = len(source.splitlines())
    assert lines <= MAX_MODULE_LINES, f"{module} has {lines} lines (at most {MAX_MODULE_LINES}): split it by concern"
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, f"{module}: functions over {MAX_FUNCTION_LINES} lines: {', '.join(long)}"
