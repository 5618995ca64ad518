"""The package's rooms (docs/architecture.md): imports point one way, the old module paths
still work, and every room is installed."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import zcbench

ROOT = Path(__file__).resolve().parent.parent

#: bottom to top; a module may import its own room and the rooms before it (searchers/ sits
#: in the search room; the three rooms of one level do not import each other)
ORDER = [
    {"core"},
    {"models"},
    {"spaces"},
    {"tables"},
    {"proxies"},
    {"engine"},
    {"training", "search", "analysis"},
    {"jobs"},
    {"cli", "examples"},
]
CORE = {"errors", "types", "plugins", "paths", "__version__"}
FOLDERS = {"zcbench": "zcbench", "proxies": "zcbench.proxies", "searchers": "zcbench.searchers"}


def room(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in CORE:
        return "core"
    return "search" if parts[1] == "searchers" else parts[1]


def level(name: str) -> int:
    """The room's place in ORDER; a name that is no room (an old path) ranks above all."""
    return next((i for i, rooms in enumerate(ORDER) if name in rooms), len(ORDER))


def modules() -> dict[str, Path]:
    """Every module of the three folders, by its installed name."""
    found = {}
    for folder, package in FOLDERS.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            name = ".".join((package, *parts)).removesuffix(".__init__")
            found[name] = path
    return found


def imported(name: str, path: Path) -> set[str]:
    """The zcbench modules ``path`` imports, at the top or inside functions."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0]
                base = f"{anchor}.{base}" if base else anchor
            out |= {base} | {f"{base}.{a.name}" for a in node.names}
    return {m for m in out if m.split(".")[0] == "zcbench"}


def test_imports_point_down_between_rooms():
    upward = []
    for name, path in modules().items():
        if name == "zcbench":  # the package's lazy score_model and alias hook are its face
            continue
        for target in imported(name, path):
            a, b = room(name), room(target)
            if a != b and level(b) >= level(a):
                upward.append(f"{name} imports {target} ({a} -> {b})")
    assert not upward, "\n".join(upward)


def test_every_room_is_installed_and_documented():
    tomllib = pytest.importorskip("tomllib")
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = set(setuptools["packages"])
    on_disk = {name for name, path in modules().items() if path.name == "__init__.py"}
    assert on_disk == packages
    for name in on_disk:
        assert importlib.import_module(name).__doc__, f"{name} has no docstring"


def forget(monkeypatch, old: str) -> None:
    """As if ``zcbench.<old>`` had never been imported by the old path (restored after)."""
    monkeypatch.delitem(sys.modules, f"zcbench.{old}", raising=False)
    monkeypatch.delattr(zcbench, old, raising=False)


@pytest.mark.parametrize("old", sorted(zcbench.MOVED_MODULES))
def test_old_module_path_is_the_moved_module(old, monkeypatch):
    forget(monkeypatch, old)
    new = f"zcbench.{zcbench.MOVED_MODULES[old]}.{old}"
    with pytest.warns(DeprecationWarning, match=rf"zcbench\.{old} moved to {new}"):
        module = importlib.import_module(f"zcbench.{old}")
    assert module is importlib.import_module(new)
    assert module.__name__ == module.__spec__.name == new  # the real module, untouched
    assert sys.modules[f"zcbench.{old}"] is module


def test_old_from_import_and_monkeypatch_reach_the_moved_module(monkeypatch):
    from zcbench.engine import store

    forget(monkeypatch, "store")
    with pytest.warns(DeprecationWarning, match="zcbench.store moved to zcbench.engine.store"):
        from zcbench import store as old_store
    monkeypatch.setattr(old_store, "_writable", lambda path: False)
    assert store._writable(ROOT) is False


def test_names_of_the_former_search_module_resolve_in_the_package():
    from zcbench.search import loop

    with pytest.warns(DeprecationWarning, match="zcbench.search.run_search moved to"):
        from zcbench.search import run_search
    assert run_search is loop.run_search
    with pytest.raises(AttributeError):
        zcbench.search.no_such_name  # noqa: B018


def test_import_zcbench_stays_light():
    code = "import sys, zcbench; print(sorted(m for m in sys.modules if m.startswith('zcbench')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['zcbench', 'zcbench.errors', 'zcbench.types']"
