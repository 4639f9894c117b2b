"""The layout stays readable: no import cycle, no module over 600 lines, few modules loose in ``helpers/``.

Imports are read with ``ast`` wherever they stand (module top, function body), as in test_import_rules.
A submodule naming its own package (``from helpers.report import tables``) is an edge to the submodule
it loads, not to the package's ``__init__``: Python always loads parents first, so counting that as an
edge would call every package with re-exports a cycle.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("helpers", "sandbox", "apifacts", "tools", "scripts")
MAX_LINES = 600
MAX_LOOSE_IN_HELPERS = 12


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules(root: Path) -> dict[str, Path]:
    return {_module_name(p, root): p for pkg in PACKAGES for p in sorted((root / pkg).rglob("*.py"))
            if ".venv" not in p.parts}


def _targets(node: ast.AST, module: str, is_package: bool, known: set[str]) -> list[str]:
    """The project modules one import statement loads (beyond the parents Python loads anyway)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name in known]
    if not isinstance(node, ast.ImportFrom):
        return []
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - node.level + 1] if node.level else []
    source = ".".join(base + ([node.module] if node.module else []))
    out = [f"{source}.{a.name}" for a in node.names if f"{source}.{a.name}" in known]
    if len(out) < len(node.names) and source in known:
        out.append(source)  # names defined in (or re-exported by) the module itself
    return out


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    modules = _modules(root)
    known = set(modules)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        edges = {t for node in ast.walk(tree)
                 for t in _targets(node, name, path.name == "__init__.py", known)}
        graph[name] = {t for t in edges if t != name and not name.startswith(t + ".")}
    return graph


def test_no_import_cycle_anywhere_in_the_project():
    try:
        tuple(graphlib.TopologicalSorter(import_graph()).static_order())
    except graphlib.CycleError as exc:
        pytest.fail(f"import cycle: {' -> '.join(exc.args[1])}")


def test_the_cycle_check_sees_imports_inside_functions(tmp_path):
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "__init__.py").write_text("")
    (tmp_path / "tools" / "a.py").write_text("from tools import b\n")
    (tmp_path / "tools" / "b.py").write_text("def f():\n    from tools.a import thing\n")
    graph = import_graph(tmp_path)
    assert graph["tools.a"] == {"tools.b"} and graph["tools.b"] == {"tools.a"}
    with pytest.raises(graphlib.CycleError):
        tuple(graphlib.TopologicalSorter(graph).static_order())


def test_no_module_is_over_600_lines():
    long = {str(p.relative_to(ROOT)): n for p in _modules(ROOT).values()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"split these modules (over {MAX_LINES} lines): {long}"


def test_at_most_twelve_modules_sit_directly_in_helpers():
    loose = sorted(p.name for p in (ROOT / "helpers").glob("*.py"))
    assert len(loose) <= MAX_LOOSE_IN_HELPERS, f"group these into subpackages: {loose}"
