"""Package boundaries: which of our packages may import which, read from the source with ``ast``.

The table below is the rule; docs/internals.md ("Package boundaries") shows the same table, and a test
checks that the two agree. Every import counts, wherever it stands (module top, function body,
``TYPE_CHECKING`` block, ``importlib.import_module("...")`` with a literal name), and relative imports are
resolved to the module they name.
"""

from __future__ import annotations

import ast
import fnmatch
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# (package, modules it must not import (a prefix also forbids its submodules), files of it exempt from that)
RULES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("sandbox", ("helpers",), ()),
    ("apifacts", ("helpers", "sandbox"), ()),
    ("helpers", ("sandbox",), ("helpers/run.py", "helpers/runner/*")),
)
# Packages whose imports all stand at module top: an import tucked into a function hides a cycle.
TOP_LEVEL_ONLY = ("sandbox", "apifacts")
DYNAMIC = {"import_module", "__import__"}
BEYOND = "<a relative import beyond the top-level package>"
HIDDEN = {"nested": "inside a function or block", "dynamic": "by name at run time"}


def _imports(path: Path, root: Path) -> list[tuple[int, tuple[str, ...], str]]:
    """(line, modules it may load, where) for every import in ``path``; where is "top" (a statement at
    module level), "nested" (in a function, class or block) or "dynamic" (importlib / __import__).

    ``from pkg import name`` may load ``pkg`` and, if ``name`` is a submodule, ``pkg.name``: both are listed.
    """
    rel = path.relative_to(root)
    package = list(rel.parent.parts)  # a module's package; for __init__.py, the package itself
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(rel))
    top = {id(node) for node in tree.body}

    def where(node: ast.AST) -> str:
        return "top" if id(node) in top else "nested"

    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, (alias.name,), where(node)) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level > len(package):
                out.append((node.lineno, (BEYOND,), where(node)))
                continue
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            out.append((node.lineno, (module, *(f"{module}.{a.name}" for a in node.names)), where(node)))
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            first = node.args[0] if node.args else None
            if name in DYNAMIC and isinstance(first, ast.Constant) and isinstance(first.value, str):
                out.append((node.lineno, (first.value,), "dynamic"))
    return out


def _match(modules: tuple[str, ...], prefixes: tuple[str, ...]) -> str | None:
    return next((m for m in modules for p in prefixes if m == BEYOND or m == p or m.startswith(p + ".")), None)


def violations(root: Path) -> list[str]:
    """Every import under ``root`` that breaks RULES or TOP_LEVEL_ONLY, as "path:line: what"."""
    found = []
    for package, forbidden, exempt in RULES:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if any(fnmatch.fnmatch(rel, pattern) for pattern in exempt):
                continue
            for line, modules, _ in _imports(path, root):
                if bad := _match(modules, forbidden):
                    found.append(f"{rel}:{line}: {package} must not import {bad}")
    for package in TOP_LEVEL_ONLY:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            found += [f"{rel}:{line}: {package} imports {modules[0]} {HIDDEN[where]}"
                      for line, modules, where in _imports(path, root) if where != "top"]
    return sorted(found)


def test_the_project_keeps_its_package_boundaries():
    assert violations(ROOT) == []


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_each_kind_of_violation_is_caught(tmp_path):
    root = _tree(tmp_path, {
        "helpers/__init__.py": "",
        "helpers/klaviyo.py": "import sandbox\n",  # a client importing the emulator
        "helpers/mavera/client.py": "def f():\n    from sandbox.mavera import prices\n",  # hidden in a function
        "helpers/report/job.py": "from sandbox.process import SandboxProcess\n",  # a kernel-side module
        "helpers/run.py": "from sandbox import Sandbox\n",  # allowed: the runner starts a sandbox
        "helpers/runner/execute.py": "from sandbox import Sandbox\n",  # allowed: a runner package
        "tools/lab.py": "def main():\n    from sandbox import Sandbox\n",  # allowed: developer tools are outside helpers
        "sandbox/__init__.py": "",
        "sandbox/mavera/__init__.py": "",
        "sandbox/mavera/app.py": "from helpers.mavera import PERSONA_CREDITS\n",
        "sandbox/klaviyo/__init__.py": "",
        "sandbox/klaviyo/app.py": "from ...helpers import ratelimits\n",  # beyond the top: not allowed either
        "sandbox/klaviyo/limits.py": "import importlib\nR = importlib.import_module('helpers.http.ratelimits')\n",
        "sandbox/server.py": "def app():\n    from .mavera import app\n",  # the cycle dodge
        "sandbox/store/shop.py": "from ..klaviyo import app\nimport numpy\n",  # fine: sandbox to sandbox
        "apifacts/__init__.py": "from helpers import config\nimport sandbox.store\n",
    })
    assert violations(root) == sorted([
        "apifacts/__init__.py:1: apifacts must not import helpers",
        "apifacts/__init__.py:2: apifacts must not import sandbox.store",
        "helpers/klaviyo.py:1: helpers must not import sandbox",
        "helpers/mavera/client.py:2: helpers must not import sandbox.mavera",
        "helpers/report/job.py:1: helpers must not import sandbox.process",
        "sandbox/klaviyo/app.py:1: sandbox must not import <a relative import beyond the top-level package>",
        "sandbox/klaviyo/limits.py:2: sandbox imports helpers.http.ratelimits by name at run time",
        "sandbox/klaviyo/limits.py:2: sandbox must not import helpers.http.ratelimits",
        "sandbox/mavera/app.py:1: sandbox must not import helpers.mavera",
        "sandbox/server.py:2: sandbox imports sandbox.mavera inside a function or block",
    ])


def _doc_table() -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    text = (ROOT / "docs" / "internals.md").read_text(encoding="utf-8")
    section = re.search(r"^## Package boundaries\n(.*?)(?=^## )", text, re.M | re.S)
    assert section, "docs/internals.md needs a '## Package boundaries' section with the rules table"
    rows = []
    for line in section.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        package, forbidden, exempt = (tuple(re.findall(r"`([^`]+)`", c)) for c in cells)
        rows.append((package[0].rstrip("/"), forbidden, exempt))
    return rows


@pytest.mark.parametrize("rule", RULES, ids=[r[0] for r in RULES])
def test_docs_show_the_same_rules(rule):
    assert rule in _doc_table() and len(_doc_table()) == len(RULES)
