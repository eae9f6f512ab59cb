"""Audit frameworks as requirement trees, read from YAML (docs/plan.md, "Framework files").

A framework is a tree of groups and requirements: a node with ``requirements`` under it is
a group, a node without is a requirement, and only requirements are assessed. Every file
is untrusted: bounded in size, depth and number of nodes, and refused whole, naming the
node and field, when it is not as documented. Nothing here touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from renkei.plan.load import (
    MAX_SECTION_CHARS,
    Entry,
    PlanDataError,
    decode,
    entries,
    read_yaml,
)

FRAMEWORK_FORMAT = "renkei-framework/1"
MAX_FRAMEWORK_BYTES = 2 * 1024 * 1024
MAX_NODES = 5000
MAX_DEPTH = 6
MAX_REF_CHARS = 100


@dataclass(frozen=True)
class RequirementNode:
    ref: str
    title: str
    text: str
    parent: str | None
    is_group: bool


@dataclass(frozen=True)
class FrameworkDocument:
    key: str
    version: str
    title: str
    nodes: tuple[RequirementNode, ...]

    def requirements(self) -> list[RequirementNode]:
        return [node for node in self.nodes if not node.is_group]


def parse_framework(data: bytes, name: str) -> FrameworkDocument:
    """A framework from its file's bytes; ``name`` names the file in errors."""
    text = decode(data, name, MAX_FRAMEWORK_BYTES)
    document = read_yaml(name, text, FRAMEWORK_FORMAT)
    header = Entry(name, "framework", document)
    key, version = header.text("key"), header.text("version")
    for field, value in (("key", key), ("version", version)):
        if len(value) > (100 if field == "key" else 50) or not value.replace("-", "").replace(
                ".", "").replace("_", "").isalnum():
            raise PlanDataError("{file}: {field} must be letters, digits, '-', '_' or '.'",
                                file=name, field=field)
    nodes: list[RequirementNode] = []
    seen: set[str] = set()

    def walk(items: list[Any], parent: str | None, depth: int, where: str) -> None:
        if depth > MAX_DEPTH:
            raise PlanDataError("{file}: {where}: deeper than {limit} levels", file=name,
                                where=where, limit=MAX_DEPTH)
        for index, raw in enumerate(items):
            entry = Entry(name, f"{where}[{index}]", raw)
            ref = entry.text("ref")
            entry.where = f"{entry.where} ({ref[:MAX_REF_CHARS]})"
            if len(ref) > MAX_REF_CHARS or any(ch.isspace() or not ch.isprintable() for ch in ref):
                raise entry._fail("{file}: {where}: ref must be at most 100 characters without "
                                  "spaces")
            if ref in seen:
                raise entry._fail("{file}: {where}: duplicate id {id}", id=ref)
            seen.add(ref)
            children = entries(name, entry.value, "requirements", required=False)
            if "requirements" in entry.value and not children:
                raise entry._fail("{file}: {where}: a group needs requirements under it")
            if len(nodes) >= MAX_NODES:
                raise PlanDataError("{file}: more than {limit} {field}", file=name,
                                    limit=MAX_NODES, field="requirements")
            nodes.append(RequirementNode(ref, entry.text("title", most=MAX_SECTION_CHARS),
                                         entry.text("text", required=False), parent,
                                         bool(children)))
            walk(children, ref, depth + 1, f"{entry.where}.requirements")

    walk(entries(name, document, "requirements"), None, 1, "requirements")
    if not any(not node.is_group for node in nodes):
        raise PlanDataError("{file}: no requirements", file=name)
    return FrameworkDocument(key, version, header.text("title", most=MAX_SECTION_CHARS),
                             tuple(nodes))


def shipped_frameworks() -> list[Path]:
    """The example frameworks renkei ships (src/renkei/plan/data/frameworks/)."""
    folder = Path(str(files("renkei.plan"))) / "data" / "frameworks"
    return sorted(folder.glob("*.yaml"))
