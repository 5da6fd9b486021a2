"""``botkit report --format html``: the metrics as one self-contained page.

Everything is in the file: inline CSS and SVG charts drawn here, no JavaScript, no fonts, images
or stylesheets from elsewhere, so the page opens offline, can be mailed and prints cleanly.

Every chart element that stands for a number carries ``data-series`` (which chart),
``data-label`` (which item) and ``data-value`` (the number, exactly as in the JSON report), so
tests and scripts can read the figures back from the page. Every text is escaped.

This module lays out the page (its style, the summary cards, the tables); the charts are drawn
in :mod:`botkit.metrics._charts`, from the elements and number formats of
:mod:`botkit.metrics._draw`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from html import escape

from botkit.metrics import _draw as draw
from botkit.metrics._campaign_charts import campaigns_section
from botkit.metrics._charts import (
    ab_chart,
    daily_chart,
    funnel_chart,
    handoff_chart,
    promotion_chart,
    ranking_chart,
)
from botkit.metrics.compute import Funnel, Metrics
from botkit.metrics.figures import (
    SECTION_TITLES,
    Section,
    label as figure_label,
    sections as figure_sections,
    shown,
)

__all__ = ["to_html"]

CSS = """
:root { color-scheme: light; --ink: #1d2330; --muted: #5b6475; --line: #e3e6eb; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, "Apple SD Gothic Neo", "Noto Sans KR", sans-serif;
  color: var(--ink); background: #f6f7f9; word-break: keep-all; overflow-wrap: break-word; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 48px; }
header h1 { margin: 0; font-size: 26px; }
header p { margin: 2px 0 0; color: var(--muted); }
h2 { font-size: 19px; margin: 32px 0 10px; border-bottom: 1px solid var(--line);
  padding-bottom: 4px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px;
  margin-top: 18px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.card .name { color: var(--muted); font-size: 13px; }
.card .value { font-size: 22px; line-height: 1.25; font-weight: 600;
  font-variant-numeric: tabular-nums; }
.card .value .part { white-space: nowrap; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap: 14px;
  align-items: start; }
figure.wide { grid-column: 1 / -1; }
figure { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 12px 14px; break-inside: avoid; page-break-inside: avoid; }
figcaption { font-weight: 600; margin-bottom: 6px; }
figure svg { display: block; max-width: 100%; height: auto; }
svg text { font: 12px system-ui, "Noto Sans KR", sans-serif; fill: var(--ink); }
svg text.muted { fill: var(--muted); }
.notes { margin: 6px 0 0; padding-left: 18px; color: var(--muted); font-size: 13px; }
.notes .significant { color: #1f7a52; font-weight: 600; }
.notes .warning { color: #a4541a; }
table { border-collapse: collapse; background: #fff; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid var(--line); padding: 4px 10px; text-align: left; }
td.num { text-align: right; }
.empty { color: var(--muted); }
.scroll { overflow-x: auto; margin-bottom: 14px; }
@media print {
  body { background: #fff; font-size: 12px; }
  main { max-width: none; padding: 0; }
  .grid { grid-template-columns: 1fr 1fr; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def to_html(metrics: Metrics, *, title: str = "botkit report", period: str = "") -> str:
    """The whole report as one HTML document (a string, UTF-8 when written)."""
    days = _daily_groups(metrics)
    report = metrics.to_json()
    parts = figure_sections(report)  # every figure, once (figures.py)
    shown_period = period or _span(days) or "all records · 전체 기록"
    sections = [
        _summary_cards(metrics),
        draw.section("Daily · 일별", [daily_chart(days)] if days else []),
        _groups_table(metrics, parts) if metrics.groups and not days else "",
        draw.section("Funnels · 퍼널", [funnel_chart(f) for f in metrics.funnels if _used(f)]),
        draw.section("Drop-off · 이탈", [ranking_chart(metrics.funnels)]),
        draw.section(
            "Experiments · A/B 실험",
            [ab_chart(name, result) for name, result in metrics.experiments.items()],
            _unmeasured(metrics),
        ),
        draw.section("Handoffs · 상담원 연결", [handoff_chart(metrics.handoff_by_cause)]),
        draw.section(
            "Promotions · 프로모션",
            [promotion_chart(name, p) for name, p in metrics.promotions.items() if p.exposed],
        ),
        campaigns_section(metrics.campaigns or {}, report),
        _rates_table(metrics),
        _figures_table(parts),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="ko">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        f"<header><h1>{escape(title)}</h1><p>{escape(shown_period)}</p></header>\n"
        + "\n".join(s for s in sections if s)
        + "\n</main>\n</body>\n</html>\n"
    )


# ---- summary ------------------------------------------------------------------------------


def _summary_cards(m: Metrics) -> str:
    cards = [
        ("conversations", "Conversations · 대화", draw.count(m.conversations)),
        ("completion_rate", "Completion · 완료율", draw.pct(m.completion_rate)),
        ("containment_rate", "Containment · 자동 처리율", draw.pct(m.containment_rate)),
        ("handoff_rate", "Handoff · 상담원 연결률", draw.pct(m.handoff_rate)),
        ("fallback_rate", "Fallback · 이해 실패율", draw.pct(m.fallback_rate)),
        ("turns_median", "Turns · 턴 (median / p90)", _turns(m)),
        ("duration_median_s", "Duration · 시간 (median / p90)", _durations(m)),
    ]  # "a / b": two parts that each stay on one line, so a narrow tile wraps between them
    summary = m.summary()
    items = "".join(
        draw.el(
            "div",
            {"class": "card", **draw.data("summary", key, summary[key])}
            if summary[key] is not None
            else {"class": "card", "data-series": "summary", "data-label": key},
            draw.el("div", {"class": "name"}, escape(name))
            + draw.el("div", {"class": "value"}, _parts(shown)),
        )
        for key, name, shown in cards
    )
    return f'<section class="cards" aria-label="summary">{items}</section>'


def _parts(shown: str) -> str:
    return " / ".join(draw.el("span", {"class": "part"}, escape(p)) for p in shown.split(" / "))


def _turns(m: Metrics) -> str:
    return f"{draw.count(m.turns_median)} / {draw.count(m.turns_p90)}"


def _durations(m: Metrics) -> str:
    return f"{draw.duration(m.duration_median_s)} / {draw.duration(m.duration_p90_s)}"


def _unmeasured(m: Metrics) -> str:
    """Why an experiment has no chart (it has no goal; nobody was in it yet)."""
    if not m.unmeasured:
        return ""
    items = "".join(
        draw.el("li", {}, escape(f"{name}: not measured, {why}"))
        for name, why in sorted(m.unmeasured.items())
    )
    return f'<ul class="notes unmeasured">{items}</ul>'


def _rates_table(m: Metrics) -> str:
    rows = [("goal", g, v) for g, v in m.goal_conversion.items()]
    rows += [("slot failure", s, v) for s, v in m.slot_failure_rate.items()]
    if not rows:
        return ""
    body = "".join(
        f"<tr><td>{escape(kind)}</td><td>{escape(name)}</td>"
        f'<td class="num">{escape(draw.pct(value))}</td></tr>'
        for kind, name, value in rows
    )
    return (
        "<section>\n<h2>Goals and slots · 목표와 슬롯</h2>\n"
        f"<table><tr><th>kind</th><th>name</th><th>rate</th></tr>{body}</table>\n</section>"
    )


def _groups_table(m: Metrics, parts: Mapping[str, Section]) -> str:
    """The groups side by side: conversations, completion, handoffs and their money."""
    money = parts.get("money")
    names = money[0] if money else []
    by = money[2] if money else {}
    head = "".join(f"<th>{escape(n.partition(':')[2])}</th>" for n in names)
    body = "".join(
        f'<tr><td>{escape(name)}</td><td class="num">{g.conversations:,}</td>'
        f'<td class="num">{escape(draw.pct(g.completion_rate))}</td>'
        f'<td class="num">{escape(draw.pct(g.handoff_rate))}</td>'
        + "".join(
            f'<td class="num">{escape(shown(n, by[(name, n)].value))}</td>'
            if (name, n) in by
            else '<td class="num">—</td>'
            for n in names
        )
        + "</tr>"
        for name, g in m.groups.items()
    )
    return (
        "<section>\n<h2>Groups · 그룹별</h2>\n<table><tr><th>group</th><th>conversations</th>"
        f"<th>completion</th><th>handoff</th>{head}</tr>{body}</table>\n</section>"
    )


def _figures_table(parts: Mapping[str, Section]) -> str:
    """Every figure of the report, as the CSV has them (figures.py): one table per section,
    a column per group. Each cell carries its group, figure and raw value as data, so the page
    can be checked against the CSV and read back by scripts."""
    tables = []
    for section, (names, groups, by) in parts.items():
        head = "".join(f"<th>{escape(g)}</th>" for g in groups)
        rows = []
        for name in names:
            cells = []
            for group in groups:
                figure = by.get((group, name))
                if figure is None:
                    cells.append('<td class="num empty">—</td>')
                    continue
                raw = "" if figure.value is None else str(figure.value)
                attrs = {
                    "class": "num",
                    "data-group": group,
                    "data-figure": name,
                    "data-value": raw,
                }
                cells.append(draw.el("td", attrs, escape(shown(name, figure.value))))
            label = figure_label(section, name)
            rows.append(f"<tr><td>{escape(label)}</td>{''.join(cells)}</tr>")
        title = SECTION_TITLES.get(section, section)
        tables.append(
            f"<h3>{escape(title)}</h3>\n<table><tr><th>figure</th>{head}</tr>{''.join(rows)}"
            "</table>"
        )
    return (
        '<section class="figures">\n<h2>All figures · 모든 수치</h2>\n<details>'
        "<summary>every figure of this report, as in the CSV · CSV와 같은 모든 수치</summary>\n"
        + "\n".join(tables)
        + "\n</details>\n</section>"
    )


# ---- what the page shows ------------------------------------------------------------------


def _used(funnel: Funnel) -> bool:
    return any(funnel.reached.values())


def _daily_groups(m: Metrics) -> dict[str, Metrics]:
    """The groups if they are days (``--by day``), else nothing."""
    try:
        for name in m.groups:
            dt.date.fromisoformat(name)
    except ValueError:
        return {}
    return dict(sorted(m.groups.items()))


def _span(days: Mapping[str, Metrics]) -> str:
    names = list(days)
    return f"{names[0]} – {names[-1]}" if names else ""
