"""The engine's modules import one way only: each imports only modules before it in ORDER.

The order is the one ``botkit/engine/engine.py`` draws: the per-bot tables, the primitives of a
turn, then the rules, then the facade. A rule that needs a later one is in the wrong module.
"""

from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "botkit" / "engine"
ORDER = [
    # values and helpers that know nothing of a turn
    "session",
    "hours",
    "matching",
    "render",
    "slots",
    "_machine",
    "prepared",
    # the primitives
    "turn",
    # the rules
    "locales",
    "saving",
    "experiments",
    "handoff",
    "moving",
    "migrating",
    "asking",
    "hearing",
    # the facade
    "engine",
    "__init__",
]


def engine_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "botkit.engine":
                found.update(a.name for a in node.names)
            elif node.module.startswith("botkit.engine."):
                found.add(node.module.removeprefix("botkit.engine."))
        elif isinstance(node, ast.Import):
            found.update(
                a.name.removeprefix("botkit.engine.")
                for a in node.names
                if a.name.startswith("botkit.engine.")
            )
    return found


def test_every_engine_module_has_a_place_in_the_order() -> None:
    assert {p.stem for p in ENGINE.glob("*.py")} == set(ORDER)


def test_engine_modules_import_only_modules_before_them() -> None:
    backwards = []
    for position, name in enumerate(ORDER):
        for imported in engine_imports(ENGINE / f"{name}.py"):
            if imported not in ORDER[:position]:
                backwards.append(f"{name} imports {imported}")
    assert backwards == []


def test_every_engine_module_is_under_500_lines() -> None:
    long = {p.name: n for p in ENGINE.glob("*.py") if (n := len(p.read_text().splitlines())) > 500}
    assert long == {}
