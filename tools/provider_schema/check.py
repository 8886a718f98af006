"""The rules: every Terraform module under a directory checked against the AWS provider's schema.

A module is a directory of .tf files. In each: every ``resource`` and ``data`` block of an
``aws_*`` type (arguments, blocks and their nesting, required arguments, literal types), the
``provider "aws"`` block, references ``aws_x.name.attr`` / ``data.aws_x.name.attr`` /
``module.m.output``, each ``module`` call's inputs, and the hashicorp/aws version constraint.
The variable files (``*.tfvars``, examples included) set only variables the root declares.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import hcl, versions

RESOURCE_META_ARGS = {"count", "for_each", "depends_on", "provider"}
RESOURCE_META_BLOCKS = {"lifecycle", "provisioner", "connection"}
MODULE_META_ARGS = {"source", "version", "count", "for_each", "depends_on", "providers"}
NOT_CHECKED_FOR_REFERENCES = {"moved", "removed", "import", "terraform"}  # they name old or foreign addresses
_ARTICLE = {
    "string": "a string",
    "number": "a number",
    "bool": "a bool",
    "list": "a list",
    "map": "a map",
    "object": "an object",
}
_BAD_KINDS = {
    "string": {"list", "object"},
    "number": {"bool", "list", "object"},
    "bool": {"number", "list", "object"},
    "list": {"string", "number", "bool", "object"},
    "map": {"string", "number", "bool", "list"},
    "object": {"string", "number", "bool", "list"},
}


@dataclass
class Module:
    directory: Path
    blocks: list[hcl.Block] = field(default_factory=list)

    def named(self, kind: str) -> dict[tuple[str, ...], hcl.Block]:
        return {tuple(b.labels): b for b in self.blocks if b.type == kind}


def _is_aws(resource_type: str) -> bool:
    return resource_type.startswith("aws_")


def _literal_problem(expected: str, expr: Any) -> str | None:
    """Why a literal value cannot be converted to ``expected`` (Terraform converts "5" to 5, "true" to true)."""
    got = hcl.kind(expr)
    if got is None or got == "null":
        return None
    value = hcl.literal(expr)
    if got == "string" and isinstance(value, str):
        if expected == "number" and not _is_number(value):
            return f'expects a number, got the string "{value}"'
        if expected == "bool" and value not in ("true", "false"):
            return f'expects a bool, got the string "{value}"'
    if got in _BAD_KINDS.get(expected, set()):
        return f"expects {_ARTICLE[expected]}, got {_ARTICLE[got]}"
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class Checker:
    """Collects problems ("file:line: message") over the modules of one tree."""

    def __init__(self, schema: dict[str, Any]):
        self.schema = schema
        self.problems: list[str] = []
        self.modules: dict[Path, Module] = {}
        self._top: tuple[dict[str, Any], str] = ({}, "")  # the resource (or provider) being checked: body, label
        self.checked = 0  # resource and data blocks checked against the schema

    def report(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def load(self, directory: Path, shown: Path) -> Module:
        key = directory.resolve()
        if key not in self.modules:
            module = Module(directory)
            shown = Path(os.path.normpath(shown))
            for path in sorted(directory.glob("*.tf")):
                module.blocks.extend(hcl.parse_file(path, shown / path.name).blocks)
            self.modules[key] = module
        return self.modules[key]

    def check_module(self, directory: Path, shown: Path) -> None:
        module = self.load(directory, shown)
        for block in module.blocks:
            if block.type in ("resource", "data") and len(block.labels) == 2 and _is_aws(block.labels[0]):
                self._check_resource(block)
            elif block.type == "provider" and block.labels == ["aws"]:
                self._check_top(block, self.schema["provider_config"], 'provider "aws"', {"alias"}, set())
            elif block.type == "module" and len(block.labels) == 1:
                self._check_module_call(block, directory, shown)
            elif block.type == "terraform":
                self._check_versions(block)
            if block.type not in NOT_CHECKED_FOR_REFERENCES:
                self._check_references(block, module, directory, shown)

    # -- resources and their bodies

    def _check_resource(self, block: hcl.Block) -> None:
        kind, (resource_type, name) = block.type, block.labels
        body = self.schema[kind].get(resource_type)
        label = f"{'data.' if kind == 'data' else ''}{resource_type}.{name}"
        if body is None:
            what = "resource type" if kind == "resource" else "data source"
            self.report(
                block.where(), f'{label}: hashicorp/aws {self.schema["provider"]} has no {what} "{resource_type}"'
            )
            return
        self.checked += 1
        self._check_top(block, body, label, RESOURCE_META_ARGS, RESOURCE_META_BLOCKS)

    def _check_top(
        self, block: hcl.Block, body: dict[str, Any], label: str, meta_args: set[str], meta_blocks: set[str]
    ) -> None:
        """A resource, data source or provider block, whose meta-arguments Terraform itself reads."""
        self._top = (body, label)
        self._check_body(block, body, label, meta_args, meta_blocks)

    def _check_body(
        self,
        block: hcl.Block,
        body: dict[str, Any],
        path: str,
        meta_args: Set[str] = frozenset(),
        meta_blocks: Set[str] = frozenset(),
    ) -> None:
        for name, attribute in block.attributes.items():
            if name in meta_args:
                continue
            if name in body["args"]:
                why = _literal_problem(body["args"][name][0], attribute.expr)
                if why:
                    self.report(block.where(attribute.line), f'{path}: "{name}" {why}')
            elif name in body["blocks"]:
                self.report(
                    block.where(attribute.line), f'{path}: "{name}" is a block, not an argument: write {name} {{ ... }}'
                )
            else:
                self.report(block.where(attribute.line), f'{path}: unknown argument "{name}"')
        seen: Counter[str] = Counter()
        for child in block.blocks:
            if child.type in meta_blocks:
                continue
            block_type, content = self._block_content(child)
            if block_type is None or content is None:
                self.report(block.where(child.line), f"{path}: a dynamic block needs a label and a content block")
                continue
            seen[block_type] += 1
            self._check_child(block, child, block_type, content, body, path, seen)
        self._check_required(block, body, path, seen)

    @staticmethod
    def _block_content(child: hcl.Block) -> tuple[str | None, hcl.Block | None]:
        """A nested block's type and the block holding its body (a dynamic block's ``content``)."""
        if child.type != "dynamic":
            return child.type, child
        content = next((b for b in child.blocks if b.type == "content"), None)
        return (child.labels[0] if child.labels else None), content

    def _check_child(
        self,
        block: hcl.Block,
        child: hcl.Block,
        name: str,
        content: hcl.Block,
        body: dict[str, Any],
        path: str,
        seen: Counter[str],
    ) -> None:
        where = block.where(child.line)
        if name not in body["blocks"]:
            if name in body["args"]:
                self.report(where, f'{path}: "{name}" is an argument, not a block: write {name} = ...')
                return
            homes = sorted(self._homes(name, *self._top))
            hint = f" (it belongs in {', '.join(homes)})" if homes else ""
            self.report(where, f'{path}: unknown block "{name}"{hint}')
            return
        struct, nesting, _ = body["blocks"][name]
        if nesting == "single" and seen[name] == 2 and child.type != "dynamic":
            self.report(where, f'{path}: at most one "{name}" block')
        self._check_body(content, self.schema["structs"][struct], f"{path}.{name}")

    def _homes(self, name: str, body: dict[str, Any], path: str, depth: int = 0) -> list[str]:
        """Where in a resource's schema a block named ``name`` is allowed."""
        found = []
        for child, (struct, _, _) in body["blocks"].items():
            if child == name:
                found.append(path)
            elif depth < 6:
                found.extend(self._homes(name, self.schema["structs"][struct], f"{path}.{child}", depth + 1))
        return found

    def _check_required(self, block: hcl.Block, body: dict[str, Any], path: str, seen: Counter[str]) -> None:
        for name, (_, required) in body["args"].items():
            if required and name not in block.attributes:
                self.report(block.where(), f'{path}: missing required argument "{name}"')
        for name, (_, _, required) in body["blocks"].items():
            if required and not seen[name]:
                self.report(block.where(), f'{path}: missing required block "{name}"')

    # -- modules, references, versions

    def _module_target(self, call: hcl.Block, directory: Path, shown: Path) -> Module | None:
        source = call.attributes.get("source")
        value = hcl.literal(source.expr) if source else None
        if not (isinstance(value, str) and value.startswith(("./", "../"))):
            return None  # a registry or remote module: not ours to check
        target = directory / value
        if not target.is_dir():
            self.report(call.where(source.line if source else None), f'module "{call.labels[0]}": no directory {value}')
            return None
        return self.load(target, shown / value)

    def _check_module_call(self, call: hcl.Block, directory: Path, shown: Path) -> None:
        target = self._module_target(call, directory, shown)
        if target is None:
            return
        variables = target.named("variable")
        label = f'module "{call.labels[0]}"'
        for name, attribute in call.attributes.items():
            if name not in MODULE_META_ARGS and (name,) not in variables:
                self.report(
                    call.where(attribute.line), f'{label}: {target.directory.name} has no input variable "{name}"'
                )
        for (name,), variable in variables.items():
            if "default" not in variable.attributes and name not in call.attributes:
                self.report(call.where(), f'{label}: missing required input "{name}"')

    def _check_references(self, block: hcl.Block, module: Module, directory: Path, shown: Path) -> None:
        for attribute in block.attributes.values():
            for ref in hcl.references(attribute.expr):
                self._check_reference(ref, block, module, directory, shown)
        for child in block.blocks:
            self._check_references(child, module, directory, shown)

    def _check_reference(
        self, ref: hcl.Reference, block: hcl.Block, module: Module, directory: Path, shown: Path
    ) -> None:
        steps = ref.steps
        if ref.root == "data" and len(steps) >= 2 and steps[0] and steps[1]:
            kind, resource_type, name, rest = "data", steps[0], steps[1], steps[2:]
        elif _is_aws(ref.root) and steps and steps[0]:
            kind, resource_type, name, rest = "resource", ref.root, steps[0], steps[1:]
        elif ref.root == "module" and steps and steps[0]:
            self._check_module_reference(ref, block, module, directory, shown)
            return
        else:
            return
        prefix = "data." if kind == "data" else ""
        if (resource_type, name) not in module.named(kind):
            self.report(block.where(ref.line), f"reference to undeclared {kind} {prefix}{resource_type}.{name}")
            return
        attribute = next((step for step in rest if step is not None), None)
        schema = self.schema[kind].get(resource_type) if _is_aws(resource_type) else None
        if attribute and schema and attribute not in schema["exports"]:
            self.report(block.where(ref.line), f'{prefix}{resource_type}.{name} has no attribute "{attribute}"')

    def _check_module_reference(
        self, ref: hcl.Reference, block: hcl.Block, module: Module, directory: Path, shown: Path
    ) -> None:
        name = ref.steps[0]
        call = module.named("module").get((str(name),))
        if call is None:
            self.report(block.where(ref.line), f"reference to undeclared module.{name}")
            return
        output = next((step for step in ref.steps[1:] if step is not None), None)
        target = self._module_target(call, directory, shown)
        if output and target is not None and (output,) not in target.named("output"):
            self.report(block.where(ref.line), f'module.{name}: {target.directory.name} has no output "{output}"')

    def _check_versions(self, block: hcl.Block) -> None:
        for required in (b for b in block.blocks if b.type == "required_providers"):
            aws = required.attributes.get("aws")
            spec = hcl.literal(aws.expr) if aws else None
            if not isinstance(spec, dict) or not isinstance(spec.get("version"), str):
                continue
            problem = versions.problem(spec["version"], self.schema["provider"])
            if problem:
                self.report(block.where(aws.line if aws else None), problem)

    def check_variable_files(self, root: Path, shown: Path) -> None:
        """Every .tfvars file under ``root`` (examples/ included) sets only the root module's variables."""
        variables = self.load(root, shown).named("variable")
        for path in sorted(root.rglob("*.tfvars")) + sorted(root.rglob("*.tfvars.example")):
            values = hcl.parse_file(path, shown / path.relative_to(root))
            for name, attribute in values.attributes.items():
                if (name,) not in variables:
                    self.report(values.where(attribute.line), f'{root.name} has no variable "{name}"')


def module_directories(root: Path) -> list[Path]:
    """Every directory under ``root`` (itself included) that holds .tf files."""
    found = {path.parent for path in root.rglob("*.tf") if ".terraform" not in path.parts}
    return sorted(found)


@dataclass
class Result:
    problems: list[str]  # one "file:line: message" each, in file and line order
    checked: int  # aws_* resource and data blocks read


def check_tree(root: Path, schema: dict[str, Any], shown: Path | None = None) -> Result:
    """Every problem in the modules under ``root`` (``shown`` is how problems name ``root``)."""
    checker = Checker(schema)
    shown = root if shown is None else shown
    for directory in module_directories(root):
        checker.check_module(directory, shown / directory.relative_to(root))
    checker.check_variable_files(root, shown)
    return Result(sorted(set(checker.problems), key=_position), checker.checked)


def _position(problem: str) -> tuple[str, int, str]:
    match = re.match(r"(.*?):(\d+): ", problem)
    return (match.group(1), int(match.group(2)), problem) if match else (problem, 0, problem)
