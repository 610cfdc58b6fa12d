"""Imports flow one way: no module of webmap imports from a layer above its own (CONTRIBUTING.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "webmap"
# Layer of each top-level module or subpackage, bottom first; CONTRIBUTING.md draws the same map.
LAYERS = {
    "config": 0,
    "errors": 0,
    "files": 0,
    "names": 0,
    "records": 0,
    "forces": 0,
    "roles": 0,
    "accounts": 0,
    "gazetteer": 1,
    "spatial": 1,
    "extract": 1,
    "intake": 1,
    "store": 2,
    "query": 2,
    "io": 2,
    "mapindex": 2,
    "mapview": 3,
    "web": 4,
    "cli": 4,
    "__init__": 4,  # the package itself: create_app, the factory over web
}
# Side by side on top: neither may import the other.
SIBLINGS = {"web": "cli", "cli": "web"}


def owner(path: Path) -> str:
    """The top-level module or subpackage a file of the package belongs to."""
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def imported(path: Path) -> set[str]:
    """The top-level webmap modules a file imports, module level and inside functions alike."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]  # ("webmap", "io") for webmap/io/x.py
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                target = [*base, *(node.module.split(".") if node.module else [])]
            else:
                target = (node.module or "").split(".")
            if target[0] != "webmap":
                continue
            if len(target) > 1:
                found.add(target[1])
            else:  # "from webmap import spatial" / "from .. import query" / "from . import create_app"
                found.update(alias.name if _is_module(alias.name) else "__init__" for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "webmap" and len(parts) > 1:
                    found.add(parts[1])
    return found


def _is_module(name: str) -> bool:
    return (PACKAGE / f"{name}.py").is_file() or (PACKAGE / name).is_dir()


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "static" not in p.parts)


def test_every_module_has_a_layer():
    assert {owner(p) for p in MODULES} == set(LAYERS)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_from_a_layer_above_it(path):
    mine = owner(path)
    for name in imported(path) - {mine}:
        assert name in LAYERS, f"{path.name} imports webmap.{name}, which has no layer"
        assert LAYERS[name] <= LAYERS[mine], f"{mine} (layer {LAYERS[mine]}) imports {name} (layer {LAYERS[name]})"
        assert SIBLINGS.get(mine) != name, f"{mine} imports {name}: they sit side by side"


def test_the_check_catches_an_upward_import(tmp_path, monkeypatch):
    """The rule is not vacuous: a records module importing the store would be refused."""
    fake = PACKAGE / "records.py"
    source = fake.read_text(encoding="utf-8") + "\nfrom .store import IncidentStore\n"
    copy = tmp_path / "webmap" / "records.py"
    copy.parent.mkdir()
    copy.write_text(source, encoding="utf-8")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", tmp_path / "webmap")
    with pytest.raises(AssertionError, match="records \\(layer 0\\) imports store \\(layer 2\\)"):
        test_no_module_imports_from_a_layer_above_it(copy)
