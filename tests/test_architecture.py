"""The import rules of docs/ARCHITECTURE.md, checked: every import (at the top of a module or
inside a function) goes to the same floor or a lower one; there is no cycle between modules;
core/ never imports the GUI or Qt; no module grows past the size where it stops being about one
thing. A failure names the import that broke a rule."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "desktop", "voicebank")

# Lowest first. A module may import its own floor or a lower one, never a higher one.
FLOORS: list[tuple[str, ...]] = [
    ("core", "core.paths", "core.timefmt", "core.textcheck", "core.diskspace", "core.torchfile",
     "core.settings"),
    ("core.audio", "core.text"),
    ("core.watermark",),
    ("core.engine",),
    ("core.runtime",),
    ("core.bank",),
    ("core.models",),
    ("core.trust",),
    ("core.voices",),
    ("core.train", "core.speak"),
    ("core.worker",),
    ("core.bench", "core.selftest", "core.service"),
    ("desktop",),
    ("voicebank",),
]
MAX_LINES = 460          # "about 450": one concern a module
# Widgets stay thin; their logic lives in core/.
MAX_DESKTOP_LINES = 460


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")) if (ROOT / package).is_dir() else []:
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The project modules `name` imports, anywhere in it."""
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = name.split(".") if is_package else name.split(".")[:-1]
                parts = parts[:len(parts) - (node.level - 1)]
                base = ".".join(parts + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                       for alias in node.names]
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


EDGES = {name: _imports(name, path) for name, path in MODULES.items()}


def floor_of(module: str) -> int:
    best, floor = -1, None
    for number, prefixes in enumerate(FLOORS):
        for prefix in prefixes:
            # "core" names the package's own __init__ only: every part of core/ has a floor
            inside = prefix != "core" and module.startswith(prefix + ".")
            if (module == prefix or inside) and len(prefix) > best:
                best, floor = len(prefix), number
    assert floor is not None, f"{module} is on no floor: add it to FLOORS and docs/ARCHITECTURE.md"
    return floor


def test_every_module_is_on_a_floor():
    for module in MODULES:
        floor_of(module)


def test_no_module_imports_a_higher_floor():
    upward = [f"{a} ({floor_of(a)}) -> {b} ({floor_of(b)})" for a, targets in EDGES.items()
              for b in sorted(targets) if floor_of(b) > floor_of(a)]
    assert upward == []


def test_no_import_cycles():
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:      # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(EDGES[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(EDGES):
        if module not in index:
            visit(module)
    assert cycles == []


def test_core_never_imports_the_gui_or_qt():
    offenders = []
    for name, path in MODULES.items():
        if not name.startswith("core"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            offenders += [f"{name} imports {n}" for n in names
                          if n.split(".")[0] in ("desktop", "voicebank", "PySide6", "PyQt5", "PyQt6")]
    assert offenders == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_stay_about_one_thing(name):
    limit = MAX_DESKTOP_LINES if name.startswith("desktop") else MAX_LINES
    lines = len(MODULES[name].read_text(encoding="utf-8").splitlines())
    assert lines <= limit, f"{name} has {lines} lines: split it by concern"


def test_the_checker_sees_what_it_should():
    """The rules above are only worth something if the scan finds imports: a known edge, a known
    lazy (inside a function) edge and the floors of two known modules."""
    assert "core.bank.store" in EDGES["core.bank.recovery"] | {
        m for m in EDGES["core.bank.restore"]}
    assert floor_of("core.engine.gpt") < floor_of("core.bank.store") < floor_of("desktop.app")
    lazy = [n for n in ast.walk(ast.parse(MODULES["core.bank.restore"].read_text(encoding="utf-8")))
            if isinstance(n, ast.FunctionDef) and any(isinstance(x, ast.ImportFrom) for x in ast.walk(n))]
    assert lazy and "core.engine.checkpoint" in EDGES["core.bank.restore"]
