"""The package's shape: data flows one way through the stages, and no module imports in a circle.

The stage order is written here once (and shown in docs/architecture.md). A module may import from its
own stage or an earlier one; an import from a later stage, or any cycle, fails with the modules named.
Function-local imports count too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "analysis"

# Earliest first. The base names (errors, jsontext, schema, vocabulary) are shared by every stage.
STAGES: list[tuple[str, ...]] = [
    ("errors", "jsontext", "schema", "vocabulary"),
    ("session",),
    ("device",),
    ("capture",),
    ("ingest",),
    ("decode",),
    ("detect",),
    ("attribute",),
    ("apk",),
    ("findings",),
    ("analyze",),
    ("validation",),
    ("compare", "corpus"),
    ("report",),
    ("cli",),
]


def modules() -> dict[str, Path]:
    out = {}
    for p in ROOT.rglob("*.py"):
        parts = ("analysis", *p.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def import_graph() -> dict[str, set[str]]:
    mods = modules()
    edges: dict[str, set[str]] = defaultdict(set)
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    target = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    target = node.module or ""
                candidates = [target, *(f"{target}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                candidates = [a.name for a in node.names]
            else:
                continue
            for c in candidates:
                if c in mods and c != name and c != "analysis":
                    edges[name].add(c)
    return edges


def stage_of(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1:
        return len(STAGES) - 1  # the package root is a facade over every stage (lazy re-exports)
    for i, names in enumerate(STAGES):
        if parts[1] in names:
            return i
    raise AssertionError(f"{module}: in no stage; add its folder to STAGES in tests/test_layout.py")


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(modules()):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_no_import_from_a_later_stage() -> None:
    backward = [
        f"{a} ({STAGES[stage_of(a)][0]}) imports {b} ({STAGES[stage_of(b)][0]})"
        for a, targets in import_graph().items()
        for b in targets
        if stage_of(b) > stage_of(a)
    ]
    assert backward == []


def test_every_folder_is_a_stage() -> None:
    for p in ROOT.iterdir():
        if p.is_dir() and (p / "__init__.py").exists():
            stage_of(f"analysis.{p.name}")


def test_the_graph_is_read() -> None:
    """The walker sees real edges (a broken walker would pass the two tests above vacuously)."""
    edges = import_graph()
    assert "analysis.session.custody" in edges["analysis.session"]
    assert "analysis.findings.model" in edges["analysis.findings.build"]


def test_no_package_imports_itself() -> None:
    """`from analysis.report import charts` inside analysis/report/__init__.py is a cycle of one."""
    mods = modules()
    found = []
    for name, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and not node.level and node.module == name:
                found.append(f"{name} (line {node.lineno})")
    assert found == []
