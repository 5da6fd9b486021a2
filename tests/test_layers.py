"""Every module of botkit has a layer, and no module imports from a layer above its own.

The layers (DESIGN.md): L0 values (problems, errors, events, effects, records, text, masking),
L1 the flow language and the sans-IO engine, L2 the runtime, storage, measurement and the Python
API, L3 the channels (adapters), the simulator and the server, L4 the command line and the
package's front door.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LAYER_OF = {
    "botkit.problems": 0,
    "botkit.text": 0,
    "botkit.effects": 0,
    "botkit.events": 0,
    "botkit.records": 0,
    "botkit.masking": 0,
    "botkit.errors": 0,
    "botkit.flow": 1,
    "botkit.engine": 1,
    "botkit.storage": 2,
    "botkit.runtime": 2,
    "botkit.metrics": 2,
    "botkit.app": 2,
    "botkit.adapters": 3,
    "botkit.simulator": 3,
    "botkit.server": 3,
    "botkit.cli": 4,
    "botkit": 4,  # botkit/__init__.py: the public names, gathered from every layer
}
REPO = Path(__file__).resolve().parents[1]
ROOTS = {"botkit": "botkit"}


def layer_of(module: str) -> int:
    for prefix, layer in sorted(LAYER_OF.items(), key=lambda kv: -len(kv[0])):
        if module == prefix or module.startswith(prefix + "."):
            return layer
    raise AssertionError(f"{module} belongs to no layer: add it to LAYER_OF")


def modules() -> list[tuple[str, Path]]:
    """Every module of the package, under its import name."""
    out = []
    for folder, name in ROOTS.items():
        for path in sorted((REPO / folder).rglob("*.py")):
            parts = path.relative_to(REPO / folder).with_suffix("").parts
            out.append((".".join((name, *parts)).removesuffix(".__init__"), path))
    return out


def imports_of(path: Path) -> set[str]:
    """The botkit modules a file imports (``from botkit import x`` names the module
    ``botkit.x``; relative imports stay inside a package and its layer)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "botkit")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "botkit":
                found.update(f"botkit.{a.name}" for a in node.names)
            elif node.module.split(".")[0] == "botkit":
                found.add(node.module)
    return found


MODULES = modules()


def test_the_package_is_read_whole() -> None:
    names = {name for name, _ in MODULES}
    assert {"botkit.engine.engine", "botkit.adapters.kakao.codec", "botkit.simulator.shell"} <= (
        names
    )
    assert {"botkit.server.app", "botkit.cli.main", "botkit.masking"} <= names


@pytest.mark.parametrize(("module", "path"), MODULES, ids=[name for name, _ in MODULES])
def test_no_module_imports_from_a_higher_layer(module: str, path: Path) -> None:
    layer = layer_of(module)
    higher = sorted(i for i in imports_of(path) if layer_of(i) > layer)
    assert not higher, f"{module} (L{layer}) imports {', '.join(higher)}"


def test_only_the_machine_module_imports_transitions() -> None:
    importers = sorted(
        name
        for name, path in MODULES
        if any(
            (
                isinstance(n, ast.Import)
                and any(a.name.split(".")[0] == "transitions" for a in n.names)
            )
            or (isinstance(n, ast.ImportFrom) and (n.module or "").split(".")[0] == "transitions")
            for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        )
    )
    assert importers == ["botkit.engine._machine"]


def test_a_module_of_a_higher_layer_is_caught(tmp_path: Path) -> None:
    """The check itself: an engine module importing the server is refused."""
    bad = tmp_path / "bad.py"
    bad.write_text("from botkit.server.app import create_app\n", encoding="utf-8")
    with pytest.raises(AssertionError, match=r"botkit.engine.bad \(L1\) imports botkit.server"):
        test_no_module_imports_from_a_higher_layer("botkit.engine.bad", bad)
