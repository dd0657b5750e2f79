"""The layers of gradwise and the check that imports only go downward.

    python tools/layers.py            # list violations and cycles; exit 1 if any

A *unit* is a top-level module or subpackage of ``gradwise`` (``gradwise.ops``,
``gradwise.errors``...).  :data:`LAYERS` orders the units from the bottom up.  A module
may import its own unit and any unit of a lower layer; never a unit of its own layer or
of a higher one.  Every ``import`` counts, at module level or inside a function; only
imports under ``if TYPE_CHECKING:`` are left out (they are not run).  Separately, no two
files may import each other, directly or through others (a cycle), even inside one unit.

docs/ARCHITECTURE.md explains each layer; keep the two in step.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# bottom first; units on one line are peers that may not import each other
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors",),
    ("dtypes", "devices", "size", "atomic_files", "allocator", "version"),
    ("ops",),
    ("autograd",),
    ("api",),
    ("func", "linalg", "serialization", "cuda", "backends", "distributions"),
    ("nn", "optim"),
    ("data", "compile"),
    ("train",),
    ("insight", "distributed"),
    ("viz",),
    ("runs", "torch_compat", "playground"),
    ("commands",),
    ("cli", "__init__"),
    ("__main__", "run"),
)


@dataclass(frozen=True)
class Import:
    """One import statement: ``source`` (a module) imports ``target`` (a module) at ``line``."""

    source: str
    target: str
    line: int


def module_name(path: Path, package_dir: Path) -> str:
    parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def unit_of(module: str) -> str:
    """``gradwise.ops.conv`` -> ``ops``; the package itself -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _walk(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, except the bodies of ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _type_checking_only(node):
            yield from (n for child in node.orelse for n in [child, *_walk(child)])
            continue
        yield node
        yield from _walk(node)


def imports(package_dir: Path) -> list[Import]:
    """Every import from one module of the package to another."""
    modules = {module_name(p, package_dir): p for p in package_dir.rglob("*.py")}
    name = package_dir.name
    found: list[Import] = []
    for mod, path in sorted(modules.items()):
        is_pkg = path.name == "__init__.py"
        for node in _walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:   # relative import
                    anchor = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                if base == name or base.startswith(name + "."):
                    subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules]
                    targets = subs if len(subs) == len(node.names) else [base, *subs]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name == name or a.name.startswith(name + ".")]
            found += [Import(mod, t, node.lineno) for t in targets if t != mod]
    return found


def violations(edges: list[Import], layers: tuple[tuple[str, ...], ...] = LAYERS) -> list[str]:
    """A message for every import that does not go strictly down (or stays in its unit)."""
    level = {unit: i for i, units in enumerate(layers) for unit in units}
    out = []
    for e in edges:
        a, b = unit_of(e.source), unit_of(e.target)
        if a == b:
            continue
        if a not in level or b not in level:
            out.append(f"{e.source}:{e.line} imports {e.target}: unit {a if a not in level else b!r} "
                       "has no layer (add it to LAYERS in tools/layers.py and to docs/ARCHITECTURE.md)")
        elif level[b] >= level[a]:
            how = "a peer" if level[b] == level[a] else "a higher layer"
            out.append(f"{e.source}:{e.line} imports {e.target}: {a!r} may not import {how} ({b!r})")
    return out


def cycles(edges: list[Import]) -> list[list[str]]:
    """Every strongly connected group of two or more modules (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        graph.setdefault(e.source, set()).add(e.target)
        graph.setdefault(e.target, set())
    # importing gradwise.x.y runs gradwise/x/__init__ first, but that is not an edge of y's
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    groups: list[list[str]] = []
    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def check(package_dir: Path = ROOT / "gradwise") -> list[str]:
    """All problems: upward or sideways imports, then cycles."""
    edges = imports(package_dir)
    return violations(edges) + [f"import cycle: {' -> '.join(c)}" for c in cycles(edges)]


if __name__ == "__main__":
    problems = check()
    print("\n".join(problems) or "layers: every import goes downward, no cycles")
    raise SystemExit(1 if problems else 0)
