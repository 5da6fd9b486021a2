"""The charts of the HTML report, drawn as inline SVG: horizontal bars (funnels, the drop-off
ranking, handoffs, promotions), the daily series, and the A/B experiments with their intervals.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape

from botkit.metrics import _draw as draw
from botkit.metrics.ab import ExperimentResult, VariantResult
from botkit.metrics.compute import Funnel, Metrics, PromotionResult

__all__ = [
    "ab_chart",
    "daily_chart",
    "funnel_chart",
    "handoff_chart",
    "promotion_chart",
    "ranking_chart",
]

# ---- horizontal bars (funnels, drop-off ranking, handoffs) --------------------------------


@dataclass(frozen=True, slots=True)
class _Bar:
    label: str  # shown at the left
    key: str  # data-label
    value: float | int
    shown: str  # the value as text, at the bar's end
    lost: int = 0  # drop-off at this bar (funnels only)


ROW, TOP, LEFT_MAX = 26.0, 8.0, 260.0


def _hbars(series: str, bars: Sequence[_Bar], scale: float, lost_series: str = "") -> str:
    """One bar per row, length proportional to value/scale; with a red tail for drop-off."""
    left = min(LEFT_MAX, 16 + 7.2 * max((len(b.label) for b in bars), default=4))
    room = draw.WIDTH - left - 120
    out = []
    for i, bar in enumerate(bars):
        y = TOP + i * ROW
        width = room * bar.value / scale if scale else 0.0
        out.append(draw.text(left - 8, y + 15, bar.label, text_anchor="end"))
        attrs = {"rx": "2", "fill": draw.BLUE, **draw.data(series, bar.key, bar.value)}
        out.append(draw.rect(left, y + 3, width, 18, attrs, f"{bar.key}: {bar.shown}"))
        out.append(draw.text(left + width + 6, y + 16, bar.shown))
        if lost_series:
            out.append(_lost(lost_series, bar, left + width, room / scale if scale else 0.0, y))
    return "".join(out)


def _lost(series: str, bar: _Bar, end: float, per: float, y: float) -> str:
    """The share of a funnel bar that ended there without being resolved, and its count."""
    attrs = {"fill": draw.RED, "opacity": "0.85", **draw.data(series, bar.key, bar.lost)}
    width = per * bar.lost
    tail = draw.rect(
        end - width, y + 3, width, 18, attrs, f"{bar.key}: {bar.lost:,} dropped · 이탈"
    )
    label = f"−{bar.lost:,} 이탈" if bar.lost else ""
    return tail + (draw.text(end + 44, y + 16, label, fill=draw.RED) if label else "")


def funnel_chart(funnel: Funnel) -> str:
    prefix = funnel.flow + "."
    reached, dropped = funnel.reached, funnel.dropped
    bars = [
        _Bar(s.removeprefix(prefix), s, reached[s], f"{reached[s]:,}", dropped[s])
        for s in funnel.states
    ]
    total_lost = sum(funnel.dropped.values())
    return draw.figure(
        f"funnel-{funnel.flow}",
        f"Funnel: {funnel.flow} · 퍼널",
        f"Conversations that reached each state of flow {funnel.flow}, in flow order; "
        f"red: conversations that ended there unresolved ({total_lost:,} in all).",
        TOP * 2 + ROW * len(bars),
        _hbars(f"funnel:{funnel.flow}", bars, max(reached.values()), f"dropoff:{funnel.flow}"),
    )


def ranking_chart(funnels: Iterable[Funnel]) -> str:
    ranked = sorted(
        ((s, n) for f in funnels for s, n in f.ranking()), key=lambda item: (-item[1], item[0])
    )[:10]
    caption = "Drop-off ranking · 이탈이 많은 상태"
    if not ranked:
        return draw.empty("dropoff-ranking", caption, "no drop-off · 이탈 없음")
    bars = [_Bar(s, s, n, f"{n:,}") for s, n in ranked]
    return draw.figure(
        "dropoff-ranking",
        caption,
        "States where the most conversations ended without being resolved, most first.",
        TOP * 2 + ROW * len(bars),
        _hbars("dropoff", bars, ranked[0][1]),
    )


def handoff_chart(by_cause: Mapping[str, float]) -> str:
    caption = "Handoff by cause · 원인별 상담원 연결률"
    if not by_cause:
        return draw.empty("handoff", caption, "no handoffs · 연결 없음")
    bars = [_Bar(r, r, v, draw.pct(v)) for r, v in by_cause.items()]
    return draw.figure(
        "handoff",
        caption,
        "Share of conversations with a request for a person, per cause (what led to it).",
        TOP * 2 + ROW * len(bars),
        _hbars("handoff", bars, max(by_cause.values()) or 1.0),
    )


def promotion_chart(name: str, promotion: PromotionResult) -> str:
    """exposed → engaged → clicked → converted, with revenue, cost and ROI underneath."""
    series = f"promotion:{name}"
    stages = [
        ("exposed · 노출", promotion.exposed),
        ("engaged · 반응", promotion.engaged),
        ("clicked · 클릭", promotion.clicked),
        ("converted · 구매", promotion.converted),
    ]
    # A stage it cannot measure (no offer declared: no clicks, no conversions) is left out,
    # not drawn as zero; the notes say why.
    bars = [_Bar(label, label, n, f"{n:,}") for label, n in stages if n is not None]
    roi = "—" if promotion.roi is None else f"{promotion.roi:+.0%}"
    cost = "—" if promotion.cost is None else f"{promotion.cost:,.0f}"
    revenue = "—" if promotion.revenue is None else f"{promotion.revenue:,.0f}"
    money = f"revenue · 매출 {revenue}, cost · 비용 {cost}, ROI {roi}"
    if promotion.notes:
        money += ". " + " ".join(promotion.notes)
    return draw.figure(
        series,
        f"Promotion: {name} · 프로모션 퍼널",
        f"Conversations that saw the promotion, engaged, clicked and bought; {money}.",
        TOP * 2 + ROW * len(bars),
        _hbars(series, bars, float(promotion.exposed) or 1.0),
        notes=f"<p>{escape(money)}</p>",
    )


# ---- daily series ------------------------------------------------------------------------


def _nice(top: float) -> int:
    """A round upper bound for an axis of counts."""
    if top <= 5:
        return 5
    step = 10 ** math.floor(math.log10(top))
    return int(math.ceil(top / step) * step)


DAILY_H, PAD_L, PAD_R, PAD_T, PAD_B = 240.0, 48.0, 52.0, 28.0, 34.0


def daily_chart(days: Mapping[str, Metrics]) -> str:
    plot_w, plot_h = draw.DAILY_W - PAD_L - PAD_R, DAILY_H - PAD_T - PAD_B
    step = plot_w / len(days)
    top = _nice(max(g.conversations for g in days.values()))
    every = max(1, math.ceil(len(days) / 14))  # at most ~14 day labels
    out = [_daily_axes(top), _legend()]
    points = []
    for i, (day, g) in enumerate(days.items()):
        x = PAD_L + step * i
        height = plot_h * g.conversations / top
        attrs = {"fill": draw.GREY, **draw.data("daily:conversations", day, g.conversations)}
        tip = f"{day}: {g.conversations:,} conversations · 대화"
        out.append(
            draw.rect(x + step * 0.2, PAD_T + plot_h - height, step * 0.6, height, attrs, tip)
        )
        if i % every == 0:
            out.append(draw.text(x + step / 2, DAILY_H - 12, day[5:], text_anchor="middle"))
        if g.completion_rate is not None:
            points.append((day, x + step / 2, PAD_T + plot_h * (1 - g.completion_rate), g))
    out.append(_rate_line(points))
    return draw.figure(
        "daily",
        "Conversations and completion per day · 일별 대화 수와 완료율",
        "Grey bars: conversations started each day (left axis). Green line: completion rate "
        "(right axis, 0–100%).",
        DAILY_H,
        "".join(out),
        width=draw.DAILY_W,
    )


def _daily_axes(top: int) -> str:
    plot_h = DAILY_H - PAD_T - PAD_B
    out = []
    for frac in (0.0, 0.5, 1.0):
        y = PAD_T + plot_h * (1 - frac)
        out.append(draw.line(PAD_L, y, draw.DAILY_W - PAD_R, y))
        out.append(
            draw.text(PAD_L - 6, y + 4, draw.count(top * frac), text_anchor="end", class_="muted")
        )
        out.append(draw.text(draw.DAILY_W - PAD_R + 6, y + 4, f"{frac:.0%}", fill=draw.GREEN))
    return "".join(out)


def _legend() -> str:
    return (
        draw.el(
            "rect",
            {"x": draw.n(PAD_L), "y": "6", "width": "12", "height": "12", "fill": draw.GREY},
        )
        + draw.text(PAD_L + 18, 16, "conversations · 대화")
        + draw.el("circle", {"cx": draw.n(PAD_L + 176), "cy": "12", "r": "5", "fill": draw.GREEN})
        + draw.text(PAD_L + 186, 16, "completion rate · 완료율")
    )


def _rate_line(points: Sequence[tuple[str, float, float, Metrics]]) -> str:
    path = " ".join(f"{draw.n(x)},{draw.n(y)}" for _, x, y, _ in points)
    line = draw.el(
        "polyline", {"points": path, "fill": "none", "stroke": draw.GREEN, "stroke-width": "2"}
    )
    return line + "".join(_dot(day, x, y, g) for day, x, y, g in points)


def _dot(day: str, x: float, y: float, g: Metrics) -> str:
    rate = g.completion_rate or 0.0
    attrs: dict[str, object] = {"cx": draw.n(x), "cy": draw.n(y), "r": "4.5", "fill": draw.GREEN}
    attrs |= draw.data("daily:completion_rate", day, rate)
    return draw.el("circle", attrs, draw.tip(f"{day}: {draw.pct(rate)} completed · 완료"))


# ---- A/B experiments ---------------------------------------------------------------------

AB_H, AB_TOP, AB_BOTTOM = 230.0, 16.0, 40.0


def ab_chart(name: str, result: ExperimentResult) -> str:
    highs = [v.interval[1] for v in result.variants if v.interval is not None]
    top = max(0.1, math.ceil(max(highs, default=0.1) * 10) / 10)
    step = (draw.WIDTH - PAD_L - 20) / max(1, len(result.variants))
    out = [_ab_axes(top)]
    for i, variant in enumerate(result.variants):
        out.append(_ab_variant(name, variant, PAD_L + step * i, step, top, result.control))
    return draw.figure(
        f"ab-{name}",
        f"Experiment: {name} · A/B 실험",
        f"Conversion rate per variant of experiment {name}, with 95% Wilson intervals as "
        "error bars.",
        AB_H,
        "".join(out),
        _ab_notes(result),
    )


def _ab_y(rate: float, top: float) -> float:
    return AB_TOP + (AB_H - AB_TOP - AB_BOTTOM) * (1 - rate / top)


def _ab_axes(top: float) -> str:
    out = []
    for frac in (0.0, 0.5, 1.0):
        y = _ab_y(top * frac, top)
        out.append(draw.line(PAD_L, y, draw.WIDTH - 20, y))
        out.append(
            draw.text(PAD_L - 6, y + 4, f"{top * frac:.0%}", text_anchor="end", class_="muted")
        )
    return "".join(out)


def _ab_variant(
    name: str, v: VariantResult, x: float, step: float, top: float, control: str
) -> str:
    center, base = x + step / 2, _ab_y(0.0, top)
    role = " (control)" if v.name == control else ""
    label = draw.text(center, AB_H - 22, f"{v.name}{role}", text_anchor="middle")
    shown = f"{v.conversions:,} / {v.users:,} converted"
    counts = draw.text(center, AB_H - 6, shown, text_anchor="middle", class_="muted")
    if v.rate is None or v.interval is None:
        return label + counts + draw.text(center, base - 6, "no users", text_anchor="middle")
    y = _ab_y(v.rate, top)
    width = min(90.0, step * 0.5)
    attrs = {"fill": "#9db8ea" if role else draw.BLUE, **draw.data(f"ab:{name}", v.name, v.rate)}
    attrs |= {"data-users": v.users, "data-conversions": v.conversions}
    tip = f"{v.name}: {draw.pct(v.rate)} ({v.conversions:,} of {v.users:,})"
    bar = draw.rect(center - width / 2, y, width, base - y, attrs, tip)
    rate = draw.text(center + width / 2 + 6, y + 4, draw.pct(v.rate))
    return bar + _error_bar(name, v.name, v.interval, center, top) + rate + label + counts


def _error_bar(
    name: str, variant: str, interval: tuple[float, float], center: float, top: float
) -> str:
    low, high = interval
    y_low, y_high = _ab_y(low, top), _ab_y(high, top)
    d = (
        f"M{draw.n(center)},{draw.n(y_low)} V{draw.n(y_high)} "
        f"M{draw.n(center - 8)},{draw.n(y_low)} H{draw.n(center + 8)} "
        f"M{draw.n(center - 8)},{draw.n(y_high)} H{draw.n(center + 8)}"
    )
    attrs = {
        "d": d,
        "stroke": draw.INK,
        "stroke-width": "1.6",
        "fill": "none",
        "data-series": f"ab-interval:{name}",
        "data-label": variant,
        "data-value": f"{draw.value(low)},{draw.value(high)}",
        "data-low": draw.value(low),
        "data-high": draw.value(high),
    }
    return draw.el(
        "path", attrs, draw.tip(f"{variant}: 95% interval {draw.pct(low)} – {draw.pct(high)}")
    )


def _ab_notes(result: ExperimentResult) -> str:
    items = []
    for c in result.comparisons:
        if c.difference is None or c.interval is None or c.p_value is None:
            continue
        verdict = "significant · 유의함" if c.significant else "not significant · 유의하지 않음"
        items.append(
            draw.el(
                "li",
                {"class": "significant" if c.significant else None},
                escape(
                    f"{c.variant} vs {c.control}: {c.difference:+.1%} "
                    f"(95% interval {c.interval[0]:+.1%} to {c.interval[1]:+.1%}), "
                    f"p = {c.p_value:.3g}, {verdict}"
                ),
            )
        )
    items += [
        draw.el("li", {"class": "warning"}, escape(f"warning: {w}")) for w in result.warnings
    ]
    return draw.el("ul", {"class": "notes"}, "".join(items)) if items else ""
