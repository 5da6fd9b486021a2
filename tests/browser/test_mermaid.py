"""`botkit graph --format mermaid` renders in the real Mermaid library, in headless Chromium.

Mermaid comes from the npm registry, as its users get it: ``tests/browser/mermaid/package.json``
asks for the newest release from 11 on, and CI installs it with the command below. Each flow of
the reference bot is drawn, handed to ``mermaid.render``, and the SVG it returns is read back
from the page: every state is a node labelled with its name, and every transition an edge
labelled with its trigger, Hangul and quotes included.

Without Chromium or Playwright these tests skip (see conftest); without Mermaid they fail and say
how to install it, so a machine that can run them never passes them by not running them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from botkit.flow import Bot, compile_bot, flow_files
from botkit.flow.graph import flow_graph, to_mermaid
from tests.browser.conftest import REPO, browser_page

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

MERMAID_DIR = Path(__file__).resolve().parent / "mermaid"
MERMAID_JS = MERMAID_DIR / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
INSTALL = "npm install --no-audit --no-fund --prefix tests/browser/mermaid"

# Render one diagram; on a parse error, return Mermaid's message instead of throwing, so the
# test can show it next to the diagram text.
RENDER = """async ([id, text]) => {
  try {
    const { svg } = await mermaid.render(id, text);
    document.getElementById("out").innerHTML = svg;
    return { error: null };
  } catch (e) {
    return { error: String((e && e.message) || e) };
  }
}"""

# What the SVG in the page shows: each node's id (Mermaid writes `<render id>-flowchart-<node
# id>-<n>`) with its label's lines, and each edge label's text.
READ_BACK = """() => {
  const svg = document.querySelector("#out svg");
  const lines = (el) => {
    const html = el.querySelector("foreignObject div");  // labels are HTML by default
    const text = html ? html.innerText : el.textContent;
    return text.split("\\n").map((s) => s.trim()).filter((s) => s);
  };
  return {
    nodes: [...svg.querySelectorAll("g.node")].map((g) => ({ id: g.id, lines: lines(g) })),
    edges: [...svg.querySelectorAll("g.edgeLabel")].map((e) => lines(e).join(" "))
      .filter((s) => s),
  };
}"""


@cache
def _reference_bot() -> Bot:
    bot = compile_bot(flow_files(REPO / "flows")).bot
    assert bot is not None
    return bot


def _require_mermaid() -> None:
    if not MERMAID_JS.is_file():
        pytest.fail(f"Mermaid is not installed: run `{INSTALL}` (CI does)", pytrace=False)


@pytest.fixture(scope="module")
def mermaid_page(browser: Browser) -> Iterator[Page | None]:
    """A blank page with Mermaid loaded from node_modules (no network); None without Mermaid,
    for the test to fail on (the browser fixture has already skipped if there is no Chromium)."""
    if not MERMAID_JS.is_file():
        yield None
        return
    with browser_page(browser) as page:
        page.set_content('<!doctype html><html><body><div id="out"></div></body></html>')
        page.add_script_tag(path=str(MERMAID_JS))
        page.evaluate("mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' })")
        yield page


def _render(page: Page | None, flow_id: str) -> dict[str, Any]:
    _require_mermaid()
    assert page is not None
    text = to_mermaid(_reference_bot(), flow_id)
    done = page.evaluate(RENDER, [f"diagram_{flow_id}", text])
    assert done["error"] is None, f"Mermaid refused the diagram of '{flow_id}':\n{done['error']}"
    shown: dict[str, Any] = page.evaluate(READ_BACK)
    return shown


def test_mermaid_is_a_release_from_11_on(mermaid_page: Page | None) -> None:
    _require_mermaid()
    version = json.loads((MERMAID_JS.parents[1] / "package.json").read_text())["version"]
    assert int(version.split(".")[0]) >= 11, version


@pytest.mark.parametrize("flow_id", sorted(_reference_bot().flows))
def test_every_state_of_the_flow_is_a_named_node(mermaid_page: Page | None, flow_id: str) -> None:
    shown = _render(mermaid_page, flow_id)
    first_lines = {
        node["id"].split("-flowchart-", 1)[1].rsplit("-", 1)[0]: node["lines"][:1]
        for node in shown["nodes"]
    }
    for state in _reference_bot().flows[flow_id].states.values():
        assert first_lines.get(f"n_{state.id}") == [state.id], f"state '{state.id}' is missing"


@pytest.mark.parametrize("flow_id", sorted(_reference_bot().flows))
def test_every_transition_is_an_edge_with_its_trigger(
    mermaid_page: Page | None, flow_id: str
) -> None:
    shown = _render(mermaid_page, flow_id)
    _, edges = flow_graph(_reference_bot(), flow_id)
    assert sorted(shown["edges"]) == sorted(e.label for e in edges if e.label)


def test_reference_flows_use_the_words_mermaid_keeps_for_itself() -> None:
    """The regression: `end` and `call` states made Mermaid stop with a parse error."""
    kinds = {s.kind for f in _reference_bot().flows.values() for s in f.states.values()}
    assert {"end", "call", "handoff", "collect"} <= {str(k) for k in kinds}
