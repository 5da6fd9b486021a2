"""Every figure is defined once (botkit/metrics/definitions.py), shown to marketers word for
word (docs/metrics.md), and checked on hand-built records by at least one test marked
``@pytest.mark.defines("<name>")``."""

from __future__ import annotations

import re
from pathlib import Path

from botkit.metrics.definitions import DEFINITIONS

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "metrics.md"
MARKED = re.compile(r"""@pytest\.mark\.defines\(\s*["']([a-z_]+)["']\s*\)""")


def _words(text: str) -> str:
    return " ".join(text.split())


def test_the_guide_gives_every_definition_word_for_word() -> None:
    guide = _words(GUIDE.read_text(encoding="utf-8"))
    for d in DEFINITIONS:
        assert f"### {d.title}" in GUIDE.read_text(encoding="utf-8"), d.name
        assert _words(d.words) in guide, d.name


def test_every_definition_has_a_test_on_hand_built_records() -> None:
    marked: set[str] = set()
    for path in (REPO / "tests").rglob("test_*.py"):
        marked |= set(MARKED.findall(path.read_text(encoding="utf-8")))
    names = {d.name for d in DEFINITIONS}
    assert names - marked == set(), "definitions without a test"
    assert marked - names == set(), "tests naming no definition"


def test_each_figure_is_defined_once() -> None:
    names = [d.name for d in DEFINITIONS]
    titles = [d.title for d in DEFINITIONS]
    assert len(set(names)) == len(names)
    assert len(set(titles)) == len(titles)
