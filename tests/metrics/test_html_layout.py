"""The HTML report's (and the dashboard's) layout in a real headless Chromium: nothing spills out
of its tile or cell, and no Korean label breaks inside a word (완/료율), at desktop, tablet and
phone widths. Experiments that cannot be measured say why instead of "no data"."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from botkit.metrics.compute import Metrics
from botkit.metrics.html import to_html
from tests.browser.conftest import chromium

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

WIDTHS = (1280, 800, 600, 390)

# Elements whose content must stay inside them.
OVERFLOWING = """els => els.filter(e => e.scrollWidth > e.clientWidth)
  .map(e => e.className + ': ' + e.textContent)"""

# Words (runs without spaces) of a label that the browser laid out on more than one line.
BROKEN_WORDS = """els => {
  const broken = [];
  for (const el of els) {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const match of node.data.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        if (lines.size > 1) broken.push(match[0]);
      }
    }
  }
  return broken;
}"""


def metrics(**changes: Any) -> Metrics:
    values: dict[str, Any] = {
        "conversations": 1234,
        "completion_rate": 0.456,
        "containment_rate": 0.789,
        "handoff_rate": 0.123,
        "handoff_by_reason": {},
        "fallback_rate": 0.045,
        "turns_median": 12.5,
        "turns_p90": 1234.5,
        "duration_median_s": 3,
        "duration_p90_s": 72,
        "slot_failure_rate": {},
        "goal_conversion": {},
        "funnels": [],
    }
    values.update(changes)
    return Metrics(**values)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.mark.parametrize("width", WIDTHS)
def test_summary_tiles_fit_and_korean_labels_break_only_between_words(
    browser: Any, width: int
) -> None:
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.set_content(to_html(metrics()))
        assert "3s" in page.inner_text(".cards")
        assert "1m 12s" in page.inner_text(".cards")
        tiles = page.eval_on_selector_all(".card, .card .name, .card .value", OVERFLOWING)
        assert tiles == [], f"spills out at {width}px: {tiles}"
        broken = page.eval_on_selector_all(".card .name, th", BROKEN_WORDS)
        assert broken == [], f"broken inside a word at {width}px: {broken}"
    finally:
        page.close()


def test_an_experiment_without_a_goal_says_why_it_has_no_chart() -> None:
    page = to_html(
        metrics(unmeasured={"greeting": "it has no goal (add 'goal:' to the experiment)"})
    )
    section = page.split("Experiments · A/B 실험", 1)[1].split("</section>", 1)[0]
    assert "no data" not in section
    assert "greeting: not measured, it has no goal" in section
