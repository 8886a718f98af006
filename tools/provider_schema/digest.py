"""The AWS provider's schema, digested from cdktf's jsii assembly into a small JSON document.

cdktf's prebuilt provider describes every resource and data source as jsii types: a class per
resource whose docs link ends in the Terraform type (``.../docs/resources/dynamodb_table
aws_dynamodb_table``), its config struct (one property per argument and block, the Terraform name
in the docs link's anchor, ``optional`` unless required), and its exported attributes (the
class's properties). Class names are no guide (jsii renames clashes with an ``A`` suffix, e.g.
``S3BucketVersioningA``), so only the links are read. Whether a struct is a nested *block* or an
object *attribute* is only in the generated JavaScript (``isBlock: true`` beside its storage
class), so that is read too.

The digest (``Schema.to_json``):
    {"format", "package", "provider",
     "resource"|"data": {type: body}, "provider_config": body, "structs": {struct: body}}
    body = {"args": {name: [type, required]}, "blocks": {name: [struct, nesting, required]},
            "exports": [name...]}   (exports on top-level bodies only)
with type one of string number bool list map object any, nesting "single" or "list".
"""

from __future__ import annotations

import re
from typing import Any

FORMAT = 1
_LINK = re.compile(
    r"registry\.terraform\.io/providers/hashicorp/aws/([\w.]+)/docs(?:/(resources|data-sources)/\w+)? (\w+)\}"
)
_ANCHOR = re.compile(r"/docs/[\w/-]*#([\w-]+) ")
_BLOCK_JS = re.compile(r'isBlock: true,\s*type: "\w+",\s*storageClassType: "(\w+)"')
_BLOCK_STORAGE_SUFFIXES = ("List", "OutputReference", "Map")
_BASES = {"cdktf.TerraformResource": "resource", "cdktf.TerraformDataSource": "data"}
_PRIMITIVES = {"string": "string", "number": "number", "boolean": "bool", "any": "any", "json": "any", "date": "string"}


def block_structs(javascript: str) -> set[str]:
    """The struct names the generated JavaScript synthesizes as blocks (not object attributes)."""
    names = set()
    for storage in _BLOCK_JS.findall(javascript):
        names.add(storage)  # a struct is its own storage class too (e.g. timeouts)
        for suffix in _BLOCK_STORAGE_SUFFIXES:
            if storage.endswith(suffix):
                names.add(storage[: -len(suffix)])
                break
    return names


def _snake(camel: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", camel).lower()


def _tf_name(prop: dict[str, Any]) -> str:
    docs = prop.get("docs", {})
    match = _ANCHOR.search(docs.get("summary", "") + " " + docs.get("remarks", "") + " ")
    return match.group(1) if match else _snake(prop["name"])


def _strip_resolvable(ref: dict[str, Any]) -> dict[str, Any] | None:
    """The one meaningful member of a jsii union with cdktf.IResolvable, else None (any)."""
    if "union" not in ref:
        return ref
    members = [t for t in ref["union"]["types"] if t.get("fqn") != "cdktf.IResolvable"]
    return members[0] if len(members) == 1 else None


class _Builder:
    def __init__(self, types: dict[str, Any], blocks: set[str]):
        self.types = types
        self.blocks = blocks
        self.structs: dict[str, Any] = {}

    def _struct_of(self, ref: dict[str, Any] | None) -> tuple[str, str] | None:
        """(struct fqn, nesting) when ``ref`` is a block-typed property."""
        if ref is None:
            return None
        nesting = "single"
        if "collection" in ref:
            ref, nesting = ref["collection"]["elementtype"], "list"
        fqn = ref.get("fqn", "")
        kind = self.types.get(fqn, {})
        if kind.get("datatype") and kind.get("name") in self.blocks:
            return fqn, nesting
        return None

    def _type(self, ref: dict[str, Any] | None) -> str:
        if ref is None:
            return "any"
        if "primitive" in ref:
            return _PRIMITIVES.get(ref["primitive"], "any")
        if "collection" in ref:
            return "list" if ref["collection"]["kind"] == "array" else "map"
        return "object" if self.types.get(ref.get("fqn", ""), {}).get("datatype") else "any"

    def body(self, fqn: str) -> dict[str, Any]:
        args: dict[str, Any] = {}
        blocks: dict[str, Any] = {}
        for prop in self.types[fqn].get("properties", []):
            name, ref = _tf_name(prop), _strip_resolvable(prop["type"])
            required = not prop.get("optional", False)
            struct = self._struct_of(ref)
            if struct is None:
                args[name] = [self._type(ref), required]
                continue
            struct_name = struct[0].split("@cdktf/provider-aws.", 1)[-1]
            blocks[name] = [struct_name, struct[1], required]
            if struct_name not in self.structs:
                self.structs[struct_name] = {}  # placeholder: a struct may (indirectly) contain itself
                self.structs[struct_name] = self.body(struct[0])
        return {"args": args, "blocks": blocks}

    def exports(self, cls: dict[str, Any], body: dict[str, Any]) -> list[str]:
        """Every argument and block (Terraform exports them all) plus the computed attributes."""
        names = set(body["args"]) | set(body["blocks"]) | {"id"}
        for prop in cls.get("properties", []):
            if prop.get("static") or prop["name"].endswith("Input"):
                continue
            names.add(_snake(prop["name"]))
        return sorted(names)


def build(assembly: dict[str, Any], javascript_blocks: set[str], package: str) -> dict[str, Any]:
    """The digest of a jsii assembly (the parsed ``package/.jsii``) of ``@cdktf/provider-aws``."""
    builder = _Builder(assembly["types"], javascript_blocks)
    digest: dict[str, Any] = {"format": FORMAT, "package": package, "resource": {}, "data": {}}
    for cls in assembly["types"].values():
        kind = _BASES.get(cls.get("base", ""))
        if cls.get("kind") != "class" or (kind is None and cls.get("base") != "cdktf.TerraformProvider"):
            continue
        link = _LINK.search(cls.get("docs", {}).get("summary", ""))
        config = next((p for p in cls.get("initializer", {}).get("parameters", []) if p["name"] == "config"), None)
        if link is None or config is None:
            continue
        body = builder.body(config["type"]["fqn"])
        if kind is None:
            digest["provider"] = link.group(1)
            body["args"].pop("alias", None)  # a meta-argument of every provider block
            digest["provider_config"] = body
            continue
        body["exports"] = builder.exports(cls, body)
        digest[kind][link.group(3)] = body
    digest["structs"] = builder.structs
    return digest
