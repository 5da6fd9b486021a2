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
    "botkit.keys": 0,
    "botkit._gc": 0,  # pausing the cyclic collector: no botkit import, no I/O
    "botkit.flow": 1,
    "botkit.engine": 1,
    "botkit.segments": 1,  # the segment language and its evaluation over given data: no I/O
    "botkit.campaigns": 1,  # campaigns: the model, the pure planner, the sends port; no I/O
    "botkit.storage": 2,
    "botkit.runtime": 2,
    "botkit.metrics": 2,
    "botkit.audience": 1,  # customers, links, consent: values, checks, a port; no I/O
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
        if any(n.split(".")[0] == "transitions" for n in named_imports(name, path))
    )
    assert importers == ["botkit.engine._machine"]


def test_a_module_of_a_higher_layer_is_caught(tmp_path: Path) -> None:
    """The check itself: an engine module importing the server is refused."""
    bad = tmp_path / "bad.py"
    bad.write_text("from botkit.server.app import create_app\n", encoding="utf-8")
    with pytest.raises(AssertionError, match=r"botkit.engine.bad \(L1\) imports botkit.server"):
        test_no_module_imports_from_a_higher_layer("botkit.engine.bad", bad)


def named_imports(module: str, path: Path) -> set[str]:
    """Every dotted name an import in ``path`` names, however it is written (``import a.b``,
    ``from a.b import c`` names ``a.b`` and ``a.b.c``), relative imports resolved against the
    module's own package."""
    package = module.split(".")[: None if path.name == "__init__.py" else -1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # `from ..flow import _yaml` in botkit.simulator.x
                base = ".".join([*package[: len(package) - node.level + 1], *filter(None, [base])])
            found.update([base, *(f"{base}.{a.name}" for a in node.names)])
    return found


def flow_internals_imported(module: str, path: Path) -> list[str]:
    """The private modules of the flow package (``botkit.flow._*``) that ``path`` imports."""
    return sorted(n for n in named_imports(module, path) if n.startswith("botkit.flow._"))


def test_nobody_outside_the_flow_package_imports_its_private_modules() -> None:
    """Other layers read YAML through ``botkit.flow.source``; the reader's modules stay private,
    free to change with the compiler."""
    outside = [(m, p) for m, p in MODULES if m.split(".")[:2] != ["botkit", "flow"]]
    reaching = {m: found for m, p in outside if (found := flow_internals_imported(m, p))}
    assert not reaching, f"import these from botkit.flow.source (or botkit.flow): {reaching}"


@pytest.mark.parametrize(
    ("line", "caught"),
    [
        ("from botkit.flow._yaml import read_text\n", True),
        ("from botkit.flow import _report\n", True),
        ("import botkit.flow._yaml\n", True),
        ("from ..flow._yaml import read_text\n", True),
        ("from botkit.flow.source import read_text\n", False),
        ("from ..flow import compile_bot, source\n", False),
    ],
)
def test_a_private_flow_import_is_caught(tmp_path: Path, line: str, caught: bool) -> None:
    """The check itself, for each way of writing the import (in botkit.simulator.bad)."""
    module = tmp_path / "bad.py"
    module.write_text(line, encoding="utf-8")
    assert bool(flow_internals_imported("botkit.simulator.bad", module)) is caught


def server_imports(module: str, path: Path) -> list[str]:
    """The ``botkit.server`` modules that ``path`` imports."""
    named = named_imports(module, path)
    return sorted(n for n in named if n == "botkit.server" or n.startswith("botkit.server."))


def test_no_module_under_adapters_imports_the_server() -> None:
    """The server mounts the channels; a channel never reaches back up into the server (its
    settings and JSON answers are its own), so the two cannot import each other."""
    adapters = [(m, p) for m, p in MODULES if m.split(".")[:2] == ["botkit", "adapters"]]
    assert len(adapters) > 10  # the adapters are read (real files, not links)
    reaching = {m: found for m, p in adapters if (found := server_imports(m, p))}
    assert not reaching, f"adapters import the server: {reaching}"


@pytest.mark.parametrize(
    ("line", "caught"),
    [
        ("from botkit.server.config import KakaoSettings\n", True),
        ("from botkit import server\n", True),
        ("import botkit.server.http\n", True),
        ("from ...server.guard import check_id\n", True),
        ("from botkit.adapters.http import json_error\n", False),
        ("from ..http import json_error\n", False),
    ],
)
def test_an_adapter_importing_the_server_is_caught(
    tmp_path: Path, line: str, caught: bool
) -> None:
    """The check itself, for each way of writing the import (in botkit.adapters.kakao.bad)."""
    module = tmp_path / "bad.py"
    module.write_text(line, encoding="utf-8")
    assert bool(server_imports("botkit.adapters.kakao.bad", module)) is caught
