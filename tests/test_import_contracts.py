"""The import contracts of pyproject.toml's [tool.importlinter] hold, and can fail.

The contracts (run by ``lint-imports``): the library never imports the UI; the web server's
modules never import torch but in the listed places, each inside a function; the jobs
protocol is a leaf; executors never import the job handle; the library's layers. Beside
them: no import cycle in ``fusion``, typing-only imports included.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = (
    "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True))"
)


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on the ``fusion`` package and pyproject.toml found in ``root``."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [sys.executable, "-c", LINT], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )


def contract(contract_id: str) -> dict:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return next(c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == contract_id)


def test_the_contracts_are_kept():
    out = lint_imports(ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("registry.py", "import streamlit", "library-not-ui"),
        ("jobs/handle.py", "import torch", "server-torch-free"),
        ("jobs/protocol.py", "from fusion.jobs import handle", "jobs-protocol-leaf"),
        (
            "jobs/executors/local.py",
            "from fusion.jobs.handle import Progress",
            "executors-below-handle",
        ),
        ("config.py", "from fusion import worker", "core-layers"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(tmp_path, module, line, broken):
    shutil.copytree(
        ROOT / "fusion", tmp_path / "fusion", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    path = tmp_path / "fusion" / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}  # noqa\n", encoding="utf-8")
    out = lint_imports(tmp_path)
    assert out.returncode != 0, out.stdout
    assert f"{contract(broken)['name']} BROKEN" in out.stdout, out.stdout


def _imports_of(tree: ast.Module, module: str, target: str) -> list[tuple[ast.AST, bool]]:
    """Each import in ``tree`` (the source of ``module``) of ``target`` or a module under it
    that runs (not under ``if TYPE_CHECKING:``), with whether it sits inside a function."""
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue  # typing only: never runs (the contracts leave these out too)
            names: list[str] = []
            if isinstance(child, ast.Import):
                names = [a.name for a in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:  # relative: from the importer's package
                    base = ".".join(module.split(".")[: -child.level] + ([base] if base else []))
                names = [base] + [f"{base}.{a.name}" for a in child.names]
            if any(n == target or n.startswith(target + ".") for n in names):
                found.append((child, in_function))
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            visit(child, inner)

    visit(tree, False)
    return found


def test_the_torch_exceptions_are_imports_inside_functions():
    """Each ignored import of the torch-free contract runs only when a function is called
    (the command line's ``__main__`` modules aside): importing the module imports no torch."""
    for rule in contract("server-torch-free")["ignore_imports"]:
        importer, imported = (s.strip() for s in rule.split("->"))
        if importer.endswith(".__main__"):
            continue
        path = ROOT / (importer.replace(".", "/") + ".py")
        if not path.is_file():
            path = ROOT / importer.replace(".", "/") / "__init__.py"
        found = _imports_of(ast.parse(path.read_text(encoding="utf-8")), importer, imported)
        assert found, rule
        assert all(in_function for _, in_function in found), rule


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The modules of ``graph`` that import each other in a loop, loop by loop (Tarjan's
    strongly connected components of more than one module)."""
    found = []
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.find_modules_directly_imported_by(v)):
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
                found.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_import_cycles_in_fusion():
    graph = grimp.build_graph("fusion", cache_dir=None)  # typing-only imports included
    assert cycles(graph) == []


def test_the_cycle_check_finds_a_cycle(tmp_path, monkeypatch):
    """The check above can fail: a lazy import that closes a loop is a cycle."""
    (tmp_path / "loop").mkdir()
    (tmp_path / "loop" / "__init__.py").write_text("")
    (tmp_path / "loop" / "a.py").write_text("from loop import b\n")
    (tmp_path / "loop" / "b.py").write_text("from loop import c\n")
    (tmp_path / "loop" / "c.py").write_text("def f():\n    from loop import a\n")
    (tmp_path / "loop" / "d.py").write_text("from loop import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert cycles(grimp.build_graph("loop", cache_dir=None)) == [["loop.a", "loop.b", "loop.c"]]
