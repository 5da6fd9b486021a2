"""The campaigns of the HTML report: the campaign-against-campaign table, the lifts against
the holdouts side by side (each with its 95% interval), and each campaign's funnel.

As every chart of the page, each element that stands for a number carries ``data-series``,
``data-label`` and ``data-value`` (the number exactly as in the JSON report).
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from botkit.metrics import _draw as draw
from botkit.metrics._charts import ROW, TOP, _Bar, _hbars
from botkit.metrics.campaign_lift import COMPARED, compared
from botkit.metrics.campaigns import CampaignResult, Reached
from botkit.metrics.figures import shown

__all__ = ["campaigns_section"]


def campaigns_section(results: Mapping[str, CampaignResult], report: Mapping[str, Any]) -> str:
    """The page's campaigns section; nothing when the report has no campaigns."""
    if not results:
        return ""
    charts = [lift_chart(results), *(funnel_chart(name, r) for name, r in results.items())]
    grid = '<div class="grid">\n' + "\n".join(charts) + "\n</div>"
    return (
        "<section>\n<h2>Campaigns · 캠페인</h2>\n"
        + _comparison_table(results, report)
        + "\n"
        + grid
        + "\n</section>"
    )


def _comparison_table(results: Mapping[str, CampaignResult], report: Mapping[str, Any]) -> str:
    """Campaign against campaign, one row each, as :func:`~botkit.metrics.campaigns.compared`
    reads them off the JSON report."""
    head = "".join(f"<th>{escape(heading)}</th>" for _, heading in COMPARED)
    rows = []
    for name, cells in compared(report):
        title = results[name].title if name in results else name
        tds = "".join(
            draw.el(
                "td",
                {
                    "class": "num",
                    "data-series": "campaign-comparison",
                    "data-label": name,
                    "data-column": key,
                    "data-value": "" if f.value is None else str(f.value),  # as the CSV
                },
                escape(shown(f.name, f.value)),
            )
            for (key, _), f in zip(COMPARED, cells, strict=True)
        )
        rows.append(f"<tr><td>{escape(name)}<br><small>{escape(title)}</small></td>{tds}</tr>")
    return (
        '<div class="scroll"><table class="campaigns"><tr><th>campaign · 캠페인</th>'
        f"{head}</tr>{''.join(rows)}</table></div>"
    )


# ---- lifts side by side -------------------------------------------------------------------

LIFT_LEFT, LIFT_RIGHT = 170.0, 70.0


def lift_chart(results: Mapping[str, CampaignResult]) -> str:
    """Each campaign's lift (sent − held-out conversion) as a dot with its interval as a
    whisker, on one axis through zero: a whisker clear of zero is a lift the data show."""
    lifts = [(name, r.messages.lift) for name, r in results.items()]
    ends = [e for _, lift in lifts if lift.interval is not None for e in lift.interval]
    low, high = min([-0.01, *ends]), max([0.01, *ends])
    room = draw.WIDTH - LIFT_LEFT - LIFT_RIGHT

    def x(value: float) -> float:
        return LIFT_LEFT + room * (value - low) / (high - low)

    height = TOP * 2 + ROW * len(lifts) + 18
    out = [
        draw.line(x(0.0), TOP, x(0.0), height - 20),
        draw.text(x(0.0), height - 6, "0", text_anchor="middle", class_="muted"),
        draw.text(x(low), height - 6, f"{low:+.1%}", class_="muted"),
        draw.text(x(high), height - 6, f"{high:+.1%}", text_anchor="end", class_="muted"),
    ]
    for i, (name, lift) in enumerate(lifts):
        y = TOP + i * ROW + 13
        out.append(draw.text(LIFT_LEFT - 8, y + 4, name, text_anchor="end"))
        if lift.difference is None or lift.interval is None:
            out.append(draw.text(LIFT_LEFT, y + 4, "not measured · 측정 불가", class_="muted"))
            continue
        start, end = lift.interval
        whisker = {
            "d": f"M{draw.n(x(start))},{draw.n(y)} H{draw.n(x(end))}",
            "stroke": draw.INK,
            "stroke-width": "1.6",
            "data-series": "campaign-lift-interval",
            "data-label": name,
            "data-value": f"{draw.value(start)},{draw.value(end)}",
            "data-low": draw.value(start),
            "data-high": draw.value(end),
        }
        out.append(draw.el("path", whisker, draw.tip(f"{name}: 95% {start:+.1%} to {end:+.1%}")))
        dot: dict[str, object] = {
            "cx": draw.n(x(lift.difference)),
            "cy": draw.n(y),
            "r": "5",
            "fill": draw.GREEN if lift.significant else draw.BLUE,
        }
        dot |= draw.data("campaign-lift", name, lift.difference)
        out.append(draw.el("circle", dot, draw.tip(_verdict(name, lift.difference, lift.p_value))))
        out.append(draw.text(draw.WIDTH - LIFT_RIGHT + 8, y + 4, f"{lift.difference:+.1%}"))
    return draw.figure(
        "campaign-lift",
        "Lift against the holdout · 대조군 대비 증분",
        "Per campaign: conversion of the members sent the message minus conversion of the "
        "members held out, with its 95% interval; green: significant (p < 0.05).",
        height,
        "".join(out),
    )


def _verdict(name: str, difference: float, p_value: float | None) -> str:
    p = "—" if p_value is None else f"{p_value:.3g}"
    return f"{name}: lift {difference:+.1%}, p = {p}"


# ---- each campaign's funnel ---------------------------------------------------------------


def funnel_chart(name: str, result: CampaignResult) -> str:
    """eligible → held out → sent → delivered → engaged → converted, with its money, its lift
    and each variant's underneath."""
    whole = result.messages
    stages = [
        ("eligible · 대상", result.eligible),
        ("held out · 대조군", result.held_out),
        ("sent · 발송", whole.sent),
        ("delivered · 도달", whole.delivered),
        ("engaged · 반응", whole.engaged),
        ("converted · 구매", whole.converted),
    ]
    series = f"campaign:{name}"
    bars = [_Bar(label, label, n, f"{n:,}") for label, n in stages]
    lines = [_money(whole), *(_variant(v, r) for v, r in result.variants.items())]
    if result.excluded:
        rules = ", ".join(f"{rule} {n:,}" for rule, n in result.excluded.items())
        lines.append(f"excluded · 제외: {rules}")
    lines += result.notes
    notes = draw.el("ul", {"class": "notes"}, "".join(draw.el("li", {}, escape(t)) for t in lines))
    return draw.figure(
        series,
        f"Campaign: {result.title} · 캠페인 퍼널",
        f"Members campaign {name} decided about, held out, sent, reached, who answered and "
        "who bought within its window.",
        TOP * 2 + ROW * len(bars),
        _hbars(series, bars, float(result.eligible) or 1.0),
        notes=notes,
    )


def _money(r: Reached) -> str:
    roi = "—" if r.roi is None else f"{r.roi:+.0%}"
    return f"revenue · 매출 {r.revenue:,.0f}, cost · 비용 {r.cost:,.0f}, ROI {roi}"


def _variant(name: str, r: Reached) -> str:
    rate = draw.pct(r.conversion_rate)
    if r.lift.difference is None or r.lift.interval is None:
        return f"variant {name}: {r.converted:,} of {r.sent:,} converted ({rate})"
    low, high = r.lift.interval
    p = "—" if r.lift.p_value is None else f"{r.lift.p_value:.3g}"
    return (
        f"variant {name}: {r.converted:,} of {r.sent:,} converted ({rate}), lift "
        f"{r.lift.difference:+.1%} (95% {low:+.1%} to {high:+.1%}), p = {p}"
    )
