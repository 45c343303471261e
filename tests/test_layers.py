"""The package's layers (nstyle/__init__.py): no module imports a higher layer, and no import cycle.

Imports are read from the source (every ``import`` and ``from ... import``, deferred ones inside functions
included), so the test sees what runs on any path, not only what loading a module happens to execute.
"""
from __future__ import annotations

import ast
import os
from typing import Dict, List, Set, Tuple

import pytest

from helpers import ROOT

PACKAGE = os.path.join(ROOT, "nstyle")

#: What each part of the package may import besides itself, lowest layer first. A part is a subpackage or a module
#: at the top of the package; ``nstyle`` is the package's own ``__init__``.
ALLOWED: Dict[str, Set[str]] = {
    "version": set(),
    "errors": set(),
    "model_zoo": set(),
    "config": {"errors", "model_zoo"},
    "process": {"errors", "version"},
    "files": {"errors", "version", "config", "model_zoo", "process"},
    "algorithm": {"errors", "version", "config", "model_zoo", "process", "files"},
    "tiles": {"errors", "version", "config", "model_zoo", "process", "files", "algorithm"},
    "report": {"errors", "version", "process", "files"},
    "live": {"errors", "version", "process", "files", "report"},
    "api": {"errors", "version", "config", "model_zoo", "process", "files", "algorithm", "tiles", "live"},
    "engine": {"algorithm"},
    "video": {"errors", "version", "config", "model_zoo", "process", "files", "algorithm", "tiles", "api"},
    "batch": {"errors", "version", "config", "model_zoo", "process", "files", "algorithm", "tiles", "report", "api",
              "video"},
    "cluster": {"batch"},
    "cli": {"errors", "version", "config", "process", "files", "live", "api", "batch", "video"},
    "__main__": {"cli"},
    "nstyle": {"errors", "version", "config", "process", "api", "video"},
}


def modules() -> Dict[str, str]:
    """Every module of the package by dotted name (packages by their own name), with its file."""
    found = {}
    for base, dirs, files in os.walk(PACKAGE):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        rel = os.path.relpath(base, ROOT).split(os.sep)
        for f in files:
            if f.endswith(".py"):
                name = rel if f == "__init__.py" else rel + [f[:-3]]
                found[".".join(name)] = os.path.join(base, f)
    return found


def imports(name: str, path: str, known: Dict[str, str]) -> List[Tuple[str, int]]:
    """The package's modules that ``name`` imports anywhere in its source, with the line of each import."""
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    package = name.split(".") if path.endswith("__init__.py") else name.split(".")[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known and "." in target:
                target = target.rsplit(".", 1)[0]  # ``import nstyle.files.images.X``: the module that holds X
            if target in known and target != name:
                found.append((target, node.lineno))
    return found


def part(module: str) -> str:
    """The layer part a module belongs to: its subpackage, its own name at the top, ``nstyle`` for the root."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else "nstyle"


KNOWN = modules()
GRAPH = {name: imports(name, path, KNOWN) for name, path in KNOWN.items()}


def test_every_part_is_placed():
    assert {part(m) for m in KNOWN} == set(ALLOWED), "a new subpackage or top module needs its place in ALLOWED"


def test_allowed_is_a_layering():
    """The parts themselves form no cycle, so "lower" means something."""
    order: List[str] = []
    while len(order) < len(ALLOWED):
        ready = [p for p in ALLOWED if p not in order and ALLOWED[p] <= set(order)]
        assert ready, f"cycle among {sorted(set(ALLOWED) - set(order))}"
        order += sorted(ready)


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_no_module_imports_a_higher_layer(name):
    mine = part(name)
    wrong = [f"{target} (line {line})" for target, line in GRAPH[name]
             if part(target) != mine and part(target) not in ALLOWED[mine]]
    assert not wrong, f"{name} ({mine}) may import only {sorted(ALLOWED[mine])}, but imports {', '.join(wrong)}"


def test_no_import_cycle():
    """Depth-first search over every import, deferred ones included."""
    state: Dict[str, int] = {}  # 1 on the current path, 2 finished

    def visit(name: str, path: List[str]) -> None:
        state[name] = 1
        for target, _ in GRAPH[name]:
            if state.get(target) == 1:
                cycle = path[path.index(target):] + [target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, path + [target])
        state[name] = 2

    for name in sorted(KNOWN):
        if name not in state:
            visit(name, [name])


def test_the_graph_is_read():
    """The reader finds imports that exist (a reader that found none would pass everything above)."""
    assert "nstyle.algorithm.losses" in {t for t, _ in GRAPH["nstyle.algorithm.lossnet"]}
    assert "nstyle.files.images" in {t for t, _ in GRAPH["nstyle.batch.jobs"]}
    assert "nstyle.batch.cluster" in {t for t, _ in GRAPH["nstyle.batch.runs"]}  # a deferred import
