"""The public surface: a sorted, complete __all__; the layers; the import roots."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import botkit
from tests.test_layers import LAYER_OF  # the layers, written once

# What each layer may import besides the standard library and lower layers.
ALLOWED_THIRD_PARTY = {0: set(), 1: {"yaml", "jsonschema", "re2", "transitions"}}
IO_MODULES = {
    "asyncio",
    "socket",
    "sqlite3",
    "aiosqlite",
    "httpx",
    "starlette",
    "uvicorn",
    "subprocess",
    "time",
    "random",
}


def test_all_is_sorted_and_complete() -> None:
    assert botkit.__all__ == sorted(botkit.__all__)
    for name in botkit.__all__:
        assert hasattr(botkit, name)


def test_adapters_and_simulator_are_real_botkit_subpackages(repo: Path) -> None:
    import botkit.adapters
    import botkit.simulator

    assert Path(botkit.adapters.__file__).resolve() == repo / "botkit/adapters/__init__.py"
    assert Path(botkit.simulator.__file__).resolve() == repo / "botkit/simulator/__init__.py"


def test_the_repository_holds_no_symlinks(repo: Path) -> None:
    """A clone without symlink support (git's default on Windows) gets every file as a file."""
    listing = subprocess.run(
        ["git", "ls-files", "-s"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout
    links = [line.split("\t", 1)[1] for line in listing.splitlines() if line.startswith("120000")]
    assert links == []


def test_the_top_level_folders_are_thin_packages_over_botkit(repo: Path) -> None:
    import adapters
    import botkit.adapters.kakao
    import botkit.simulator.runner
    import simulator

    assert Path(adapters.__file__).resolve() == repo / "adapters/__init__.py"
    assert adapters.kakao is botkit.adapters.kakao
    assert simulator.runner is botkit.simulator.runner


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "botkit":  # from botkit import effects: the module botkit.effects
                found.update(f"botkit.{alias.name}" for alias in node.names)
            else:
                found.add(node.module)
    return found


def _layer(module: str) -> int | None:
    for prefix, layer in sorted(LAYER_OF.items(), key=lambda kv: -len(kv[0])):
        if module == prefix or module.startswith(prefix + "."):
            return layer
    return None


def test_the_core_imports_no_io_and_nothing_from_higher_layers(repo: Path) -> None:
    for path in sorted((repo / "botkit").rglob("*.py")):
        if "adapters" in path.parts or "simulator" in path.parts:
            continue
        module = ".".join(path.relative_to(repo).with_suffix("").parts).removesuffix(".__init__")
        layer = _layer(module)
        if layer is None or layer > 1:
            continue
        for imported in _imports(path):
            root = imported.split(".")[0]
            if root == "botkit":
                other = _layer(imported)
                assert other is not None, f"{module} imports {imported}"
                assert other <= layer, f"{module} imports {imported}"
            else:
                assert root not in IO_MODULES, f"{module} imports {imported} (I/O)"
                if root in ALLOWED_THIRD_PARTY[0] | ALLOWED_THIRD_PARTY[1]:
                    assert root in ALLOWED_THIRD_PARTY[layer], f"{module} imports {imported}"


def test_every_public_name_has_a_home_and_checking_flows_loads_no_runtime() -> None:
    import subprocess
    import sys

    assert sorted(botkit._MODULE_OF) == botkit.__all__
    probe = (
        "import sys, botkit.flow; "
        "print(sorted(m for m in ('httpx', 'aiosqlite', 'botkit.runtime', 'botkit.storage') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
