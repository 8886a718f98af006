"""HCL files read with their line numbers: python-hcl2's Lark tree turned into blocks and attributes.

python-hcl2's dict output has no positions (its ``with_meta`` option is not implemented in 8.x),
so this walks the parse tree (parsed with positions) directly. Expressions stay trees: only
their literal kind, a literal value and their references are ever needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
from lark import Token, Tree

_CHAINS = {"get_attr_expr_term", "index_expr_term", "attr_splat_expr_term", "full_splat_expr_term"}
UNKNOWN = object()  # an expression whose value is only known to Terraform


@dataclass
class Attribute:
    name: str
    line: int
    expr: Tree


@dataclass
class Block:
    type: str
    labels: list[str]
    line: int
    file: Path
    attributes: dict[str, Attribute] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)

    def where(self, line: int | None = None) -> str:
        return f"{self.file}:{self.line if line is None else line}"


@dataclass
class Reference:
    """A traversal ``root.step...``: steps are attribute names, or None for an index or splat."""

    root: str
    steps: list[str | None]
    line: int


def parse_file(path: Path, shown_as: Path) -> Block:
    """One .tf or .tfvars file as a block of type "file" (``shown_as`` is the path problems name)."""
    tree = hcl2.parses_to_tree(path.read_text())
    body = next(child for child in tree.children if isinstance(child, Tree) and child.data == "body")
    return _fill(Block("file", [], 1, shown_as), body)


def _text(node: Tree | Token) -> str:
    """A name: an identifier, a keyword, or a quoted label without its quotes."""
    if isinstance(node, Token):
        return str(node)
    if node.data == "string":
        return "".join(_text(part) for part in node.children if isinstance(part, Tree))
    return "".join(_text(child) for child in node.children)


def _block(node: Tree, file: Path) -> Block:
    names = [child for child in node.children if isinstance(child, Tree) and child.data != "new_line_or_comment"]
    body = names.pop()  # the body comes last, after the type and labels
    return _fill(Block(_text(names[0]), [_text(label) for label in names[1:]], node.meta.line, file), body)


def _fill(block: Block, body: Tree) -> Block:
    for child in body.children:
        if isinstance(child, Tree) and child.data == "attribute":
            name = _text(child.children[0])
            block.attributes[name] = Attribute(name, child.meta.line, child.children[-1])
        elif isinstance(child, Tree) and child.data == "block":
            block.blocks.append(_block(child, block.file))
    return block


def _unwrap(node: Any) -> Any:
    while isinstance(node, Tree) and node.data == "expr_term" and len(node.children) == 1:
        node = node.children[0]
    return node


def literal(expr: Tree) -> Any:
    """The Python value of a literal expression (strings, numbers, bools, null, lists, objects), else UNKNOWN."""
    node = _unwrap(expr)
    if not isinstance(node, Tree):
        return UNKNOWN
    if node.data == "string":
        parts = [p for p in node.children if isinstance(p, Tree)]
        if all(isinstance(p.children[0], Token) and p.children[0].type == "STRING_CHARS" for p in parts):
            return "".join(str(p.children[0]) for p in parts)
        return UNKNOWN
    if node.data in ("int_lit", "float_lit"):
        text = str(node.children[0])
        return int(text) if node.data == "int_lit" else float(text)
    if node.data == "unary_op" and str(node.children[0]) == "-":
        value = literal(node.children[1])
        return -value if isinstance(value, int | float) and not isinstance(value, bool) else UNKNOWN
    if node.data == "literal_value":
        return {"true": True, "false": False, "null": None}[str(node.children[0])]
    if node.data == "tuple":
        return [
            literal(item) for item in node.children if isinstance(item, Tree) and item.data != "new_line_or_comment"
        ]
    if node.data == "object":
        return _object(node)
    return UNKNOWN


def _object(node: Tree) -> Any:
    result = {}
    for elem in node.children:
        if isinstance(elem, Tree) and elem.data == "object_elem":
            key = _unwrap(elem.children[0].children[0])
            name = _text(key) if isinstance(key, Tree) and key.data in ("identifier", "string") else None
            if name is None:
                return UNKNOWN
            result[name] = literal(elem.children[-1])
    return result


def kind(expr: Tree) -> str | None:
    """What a literal is (string number bool null list object), or None when Terraform computes it.

    A template with literal text is a string whatever it interpolates; a list or object literal
    is a list or object whatever its elements are.
    """
    node = _unwrap(expr)
    if isinstance(node, Tree):
        if node.data in ("heredoc_template", "heredoc_template_trim"):
            return "string"
        if node.data == "string":
            texts = [p for p in node.children if isinstance(p, Tree) and isinstance(p.children[0], Token)]
            return "string" if texts or len(node.children) == 2 else None
        if node.data == "tuple":
            return "list"
        if node.data == "object":
            return "object"
    value = literal(expr)
    if value is UNKNOWN:
        return None
    if value is None:
        return "null"
    return {bool: "bool", int: "number", float: "number", str: "string"}.get(type(value))


def references(expr: Tree) -> list[Reference]:
    """Every traversal from a name in ``expr`` (``aws_x.y.arn``, ``module.m[0].out``...)."""
    found: list[Reference] = []
    _walk(expr, True, found)
    return found


def _walk(node: Any, record: bool, found: list[Reference]) -> None:
    if not isinstance(node, Tree):
        return
    is_chain = node.data in _CHAINS
    if is_chain and record:
        root, steps = _flatten(node)
        if root is not None:
            found.append(Reference(root, steps, node.meta.line))
    for index, child in enumerate(node.children):
        # A chain's head is part of the chain (not a reference of its own); an index inside it is.
        inner = not (is_chain and index == 0)
        if node.data == "expr_term" and len(node.children) == 1:
            inner = record
        _walk(child, inner, found)


def _flatten(node: Tree) -> tuple[str | None, list[str | None]]:
    node = _unwrap(node)
    if isinstance(node, Tree) and node.data == "identifier":
        return _text(node), []
    if not (isinstance(node, Tree) and node.data in _CHAINS):
        return None, []
    root, steps = _flatten(node.children[0])
    for step in node.children[1:]:
        steps.extend(_steps(step))
    return root, steps


def _steps(node: Tree) -> list[str | None]:
    if node.data == "get_attr":
        return [_text(node.children[-1])]
    if node.data in ("attr_splat", "full_splat"):
        return [None] + [s for child in node.children if isinstance(child, Tree) for s in _steps(child)]
    return [None]  # an index
