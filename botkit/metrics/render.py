"""A report's figures as a terminal table, CSV (one row per figure, for spreadsheets), JSON (for
notebooks) or one self-contained HTML page (:mod:`botkit.metrics.html`).

Table, CSV and the page's figures table are all made from :func:`botkit.metrics.figures.figures`,
which reads the JSON: the four formats carry the same figures, the money of every ``--by`` group
included (tests/metrics/test_formats_agree.py compares them).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from rich.console import Console
from rich.table import Table

from botkit.metrics.campaign_lift import COMPARED, compared
from botkit.metrics.compute import Metrics
from botkit.metrics.figures import SECTION_TITLES, figures, label as figure_label, sections, shown
from botkit.metrics.html import to_html

__all__ = ["render"]


def _table(m: Metrics) -> str:
    out = io.StringIO()
    # As wide as the figures need: a table only as wide as the terminal would cut the names
    # of figures and groups, and a report is read whole (or piped to a file), not glanced at.
    console = Console(
        file=out, width=1000, color_system=None, markup=False, emoji=False, highlight=False
    )
    report = m.to_json()
    for section, (names, groups, by) in sections(report).items():
        table = Table(title=SECTION_TITLES.get(section, section), title_justify="left")
        table.add_column("figure", no_wrap=True)
        for group in groups:  # numbers stay on one line; a warning's words wrap
            table.add_column(group, justify="right", max_width=60, overflow="fold")
        for name in names:
            cells = [shown(name, by[(g, name)].value) if (g, name) in by else "—" for g in groups]
            table.add_row(figure_label(section, name), *cells)
        console.print(table)
    _campaign_table(console, report)
    return "".join(line.rstrip() + "\n" for line in out.getvalue().splitlines())


def _campaign_table(console: Console, report: dict[str, Any]) -> None:
    """Campaign against campaign: a row per campaign, its lift and money side by side (the
    figures the campaigns table above lists one by one)."""
    rows = compared(report)
    if not rows:
        return
    table = Table(title="campaign against campaign · 캠페인 비교", title_justify="left")
    table.add_column("campaign", no_wrap=True)
    for _, heading in COMPARED:
        table.add_column(heading, justify="right")
    for name, cells in rows:
        table.add_row(name, *(shown(f.name, f.value) for f in cells))
    console.print(table)


def _csv(m: Metrics) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["group", "metric", "value"])
    for f in figures(m.to_json()):
        writer.writerow([f.group, f.name, "" if f.value is None else f.value])
    return out.getvalue()


def render(m: Metrics, fmt: str, *, title: str = "botkit report", period: str = "") -> str:
    """``m`` as ``fmt``: table, csv, json or html (``title`` and ``period`` head the page)."""
    if fmt == "html":
        return to_html(m, title=title, period=period)
    if fmt == "json":
        return json.dumps(m.to_json(), ensure_ascii=False, indent=2) + "\n"
    if fmt == "csv":
        return _csv(m)
    return _table(m)
