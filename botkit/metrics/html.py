"""``botkit report --format html``: the metrics as one self-contained page.

Everything is in the file: inline CSS and SVG charts drawn here, no JavaScript, no fonts, images
or stylesheets from elsewhere, so the page opens offline, can be mailed and prints cleanly.

Every chart element that stands for a number carries ``data-series`` (which chart),
``data-label`` (which item) and ``data-value`` (the number, exactly as in the JSON report), so
tests and scripts can read the figures back from the page. Every text is escaped.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape

from botkit.metrics.ab import ExperimentResult, VariantResult
from botkit.metrics.compute import Funnel, Metrics, PromotionResult

__all__ = ["to_html"]

WIDTH, DAILY_W = 500.0, 1000.0  # charts' natural widths (px); narrower columns scale them down
BLUE, RED, GREEN, GREY, INK = "#2f6fdf", "#d9463b", "#1f9d6b", "#c9ced6", "#1d2330"

CSS = """
:root { color-scheme: light; --ink: #1d2330; --muted: #5b6475; --line: #e3e6eb; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, "Apple SD Gothic Neo", "Noto Sans KR", sans-serif;
  color: var(--ink); background: #f6f7f9; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 48px; }
header h1 { margin: 0; font-size: 26px; }
header p { margin: 2px 0 0; color: var(--muted); }
h2 { font-size: 19px; margin: 32px 0 10px; border-bottom: 1px solid var(--line);
  padding-bottom: 4px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(130px, 1fr)); gap: 10px;
  margin-top: 18px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.card .name { color: var(--muted); font-size: 13px; }
.card .value { font-size: 22px; font-weight: 600; white-space: nowrap;
  font-variant-numeric: tabular-nums; }
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
    shown_period = period or _span(days) or "all records · 전체 기록"
    sections = [
        _summary_cards(metrics),
        _section("Daily · 일별", [_daily_chart(days)] if days else []),
        _groups_table(metrics) if metrics.groups and not days else "",
        _section("Funnels · 퍼널", [_funnel_chart(f) for f in metrics.funnels if _used(f)]),
        _section("Drop-off · 이탈", [_ranking_chart(metrics.funnels)]),
        _section(
            "Experiments · A/B 실험",
            [_ab_chart(name, result) for name, result in metrics.experiments.items()],
        ),
        _section("Handoffs · 상담원 연결", [_handoff_chart(metrics.handoff_by_reason)]),
        _section(
            "Promotions · 프로모션",
            [_promotion_chart(name, p) for name, p in metrics.promotions.items() if p.exposed],
        ),
        _rates_table(metrics),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="ko">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        f"<header><h1>{escape(title)}</h1><p>{escape(shown_period)}</p></header>\n"
        + "\n".join(s for s in sections if s)
        + "\n</main>\n</body>\n</html>\n"
    )


# ---- small pieces -------------------------------------------------------------------------


def _attrs(attrs: Mapping[str, object]) -> str:
    return "".join(f' {k}="{escape(str(v))}"' for k, v in attrs.items() if v is not None)


def _el(tag: str, attrs: Mapping[str, object], body: str = "") -> str:
    return f"<{tag}{_attrs(attrs)}>{body}</{tag}>"


def _data(series: str, label: str, value: float | int) -> dict[str, object]:
    """The attributes that make an element a data point."""
    return {"data-series": series, "data-label": label, "data-value": _value(value)}


def _value(value: float | int) -> str:
    return str(value)  # ints as ints, floats in their shortest exact form (as JSON has them)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _count(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}".removesuffix(".0")


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "chart"


def _n(x: float) -> str:
    """A coordinate, short."""
    return f"{x:.1f}".removesuffix(".0")


def _section(heading: str, figures: Sequence[str]) -> str:
    body = "\n".join(figures) if figures else '<p class="empty">no data · 데이터 없음</p>'
    return f'<section>\n<h2>{escape(heading)}</h2>\n<div class="grid">\n{body}\n</div>\n</section>'


def _figure(
    fid: str,
    caption: str,
    desc: str,
    height: float,
    body: str,
    notes: str = "",
    width: float = WIDTH,
) -> str:
    """A chart: a figure with its caption, and an SVG with an accessible title and description."""
    fid = _slug(fid)
    svg = _el(
        "svg",
        {
            "viewBox": f"0 0 {_n(width)} {_n(height)}",
            "width": _n(width),
            "height": _n(height),
            "role": "img",
            "aria-labelledby": f"{fid}-title {fid}-desc",
        },
        _el("title", {"id": f"{fid}-title"}, escape(caption))
        + _el("desc", {"id": f"{fid}-desc"}, escape(desc))
        + body,
    )
    return _el(
        "figure",
        {"id": fid, "class": "wide" if width > WIDTH else None},
        _el("figcaption", {}, escape(caption)) + svg + notes,
    )


def _text(x: float, y: float, text: str, **attrs: object) -> str:
    extra = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
    return _el("text", {"x": _n(x), "y": _n(y), **extra}, escape(text))


def _rect(
    x: float, y: float, width: float, height: float, attrs: Mapping[str, object], tip: str
) -> str:
    """A bar: a rectangle with its data attributes and a tooltip."""
    box = {"x": _n(x), "y": _n(y), "width": _n(max(0.0, width)), "height": _n(max(0.0, height))}
    return _el("rect", {**box, **attrs}, _tip(tip))


def _line(x1: float, y1: float, x2: float, y2: float) -> str:
    """A grid line."""
    return _el(
        "line", {"x1": _n(x1), "y1": _n(y1), "x2": _n(x2), "y2": _n(y2), "stroke": "#e3e6eb"}
    )


def _tip(text: str) -> str:
    """A tooltip on the element it is placed in."""
    return _el("title", {}, escape(text))


# ---- summary ------------------------------------------------------------------------------


def _summary_cards(m: Metrics) -> str:
    cards = [
        ("conversations", "Conversations · 대화", _count(m.conversations)),
        ("completion_rate", "Completion · 완료율", _pct(m.completion_rate)),
        ("containment_rate", "Containment · 자동 처리율", _pct(m.containment_rate)),
        ("handoff_rate", "Handoff · 상담원 연결률", _pct(m.handoff_rate)),
        ("fallback_rate", "Fallback · 이해 실패율", _pct(m.fallback_rate)),
        ("turns_median", "Turns · 턴 (median / p90)", _turns(m)),
        ("duration_median_s", "Duration · 시간 (median / p90)", _durations(m)),
    ]
    summary = m.summary()
    items = "".join(
        _el(
            "div",
            {"class": "card", **_data("summary", key, summary[key])}
            if summary[key] is not None
            else {"class": "card", "data-series": "summary", "data-label": key},
            _el("div", {"class": "name"}, escape(name))
            + _el("div", {"class": "value"}, escape(shown)),
        )
        for key, name, shown in cards
    )
    return f'<section class="cards" aria-label="summary">{items}</section>'


def _turns(m: Metrics) -> str:
    return f"{_count(m.turns_median)} / {_count(m.turns_p90)}"


def _durations(m: Metrics) -> str:
    return f"{_seconds(m.duration_median_s)} / {_seconds(m.duration_p90_s)}"


def _rates_table(m: Metrics) -> str:
    rows = [("goal", g, v) for g, v in m.goal_conversion.items()]
    rows += [("slot failure", s, v) for s, v in m.slot_failure_rate.items()]
    if not rows:
        return ""
    body = "".join(
        f"<tr><td>{escape(kind)}</td><td>{escape(name)}</td>"
        f'<td class="num">{escape(_pct(value))}</td></tr>'
        for kind, name, value in rows
    )
    return (
        "<section>\n<h2>Goals and slots · 목표와 슬롯</h2>\n"
        f"<table><tr><th>kind</th><th>name</th><th>rate</th></tr>{body}</table>\n</section>"
    )


def _groups_table(m: Metrics) -> str:
    body = "".join(
        f'<tr><td>{escape(name)}</td><td class="num">{g.conversations:,}</td>'
        f'<td class="num">{escape(_pct(g.completion_rate))}</td>'
        f'<td class="num">{escape(_pct(g.handoff_rate))}</td></tr>'
        for name, g in m.groups.items()
    )
    return (
        "<section>\n<h2>Groups · 그룹별</h2>\n<table><tr><th>group</th><th>conversations</th>"
        f"<th>completion</th><th>handoff</th></tr>{body}</table>\n</section>"
    )


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
    room = WIDTH - left - 120
    out = []
    for i, bar in enumerate(bars):
        y = TOP + i * ROW
        width = room * bar.value / scale if scale else 0.0
        out.append(_text(left - 8, y + 15, bar.label, text_anchor="end"))
        attrs = {"rx": "2", "fill": BLUE, **_data(series, bar.key, bar.value)}
        out.append(_rect(left, y + 3, width, 18, attrs, f"{bar.key}: {bar.shown}"))
        out.append(_text(left + width + 6, y + 16, bar.shown))
        if lost_series:
            out.append(_lost(lost_series, bar, left + width, room / scale if scale else 0.0, y))
    return "".join(out)


def _lost(series: str, bar: _Bar, end: float, per: float, y: float) -> str:
    """The share of a funnel bar that ended there without being resolved, and its count."""
    attrs = {"fill": RED, "opacity": "0.85", **_data(series, bar.key, bar.lost)}
    width = per * bar.lost
    tail = _rect(end - width, y + 3, width, 18, attrs, f"{bar.key}: {bar.lost:,} dropped · 이탈")
    label = f"−{bar.lost:,} 이탈" if bar.lost else ""
    return tail + (_text(end + 44, y + 16, label, fill=RED) if label else "")


def _empty(fid: str, caption: str, message: str) -> str:
    return _figure(fid, caption, message, 40, _text(12, 24, message, class_="muted"))


def _used(funnel: Funnel) -> bool:
    return any(funnel.reached.values())


def _funnel_chart(funnel: Funnel) -> str:
    prefix = funnel.flow + "."
    reached, dropped = funnel.reached, funnel.dropped
    bars = [
        _Bar(s.removeprefix(prefix), s, reached[s], f"{reached[s]:,}", dropped[s])
        for s in funnel.states
    ]
    total_lost = sum(funnel.dropped.values())
    return _figure(
        f"funnel-{funnel.flow}",
        f"Funnel: {funnel.flow} · 퍼널",
        f"Conversations that reached each state of flow {funnel.flow}, in flow order; "
        f"red: conversations that ended there unresolved ({total_lost:,} in all).",
        TOP * 2 + ROW * len(bars),
        _hbars(f"funnel:{funnel.flow}", bars, max(reached.values()), f"dropoff:{funnel.flow}"),
    )


def _ranking_chart(funnels: Iterable[Funnel]) -> str:
    ranked = sorted(
        ((s, n) for f in funnels for s, n in f.ranking()), key=lambda item: (-item[1], item[0])
    )[:10]
    caption = "Drop-off ranking · 이탈이 많은 상태"
    if not ranked:
        return _empty("dropoff-ranking", caption, "no drop-off · 이탈 없음")
    bars = [_Bar(s, s, n, f"{n:,}") for s, n in ranked]
    return _figure(
        "dropoff-ranking",
        caption,
        "States where the most conversations ended without being resolved, most first.",
        TOP * 2 + ROW * len(bars),
        _hbars("dropoff", bars, ranked[0][1]),
    )


def _handoff_chart(by_reason: Mapping[str, float]) -> str:
    caption = "Handoff by reason · 사유별 상담원 연결률"
    if not by_reason:
        return _empty("handoff", caption, "no handoffs · 연결 없음")
    bars = [_Bar(r, r, v, _pct(v)) for r, v in by_reason.items()]
    return _figure(
        "handoff",
        caption,
        "Share of conversations with a handoff request, per reason.",
        TOP * 2 + ROW * len(bars),
        _hbars("handoff", bars, max(by_reason.values()) or 1.0),
    )


def _promotion_chart(name: str, promotion: PromotionResult) -> str:
    """exposed → engaged → clicked → converted, with revenue, cost and ROI underneath."""
    series = f"promotion:{name}"
    stages = [
        ("exposed · 노출", promotion.exposed),
        ("engaged · 반응", promotion.engaged),
        ("clicked · 클릭", promotion.clicked),
        ("converted · 구매", promotion.converted),
    ]
    bars = [_Bar(label, label, n, f"{n:,}") for label, n in stages]
    roi = "—" if promotion.roi is None else f"{promotion.roi:+.0%}"
    cost = "—" if promotion.cost is None else f"{promotion.cost:,.0f}"
    money = f"revenue · 매출 {promotion.revenue:,.0f}, cost · 비용 {cost}, ROI {roi}"
    return _figure(
        series,
        f"Promotion: {name} · 프로모션 퍼널",
        f"Conversations that saw the promotion, engaged, clicked and bought; {money}.",
        TOP * 2 + ROW * len(bars),
        _hbars(series, bars, float(promotion.exposed) or 1.0),
        notes=f"<p>{escape(money)}</p>",
    )


# ---- daily series ------------------------------------------------------------------------


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


def _nice(top: float) -> int:
    """A round upper bound for an axis of counts."""
    if top <= 5:
        return 5
    step = 10 ** math.floor(math.log10(top))
    return int(math.ceil(top / step) * step)


DAILY_H, PAD_L, PAD_R, PAD_T, PAD_B = 240.0, 48.0, 52.0, 28.0, 34.0


def _daily_chart(days: Mapping[str, Metrics]) -> str:
    plot_w, plot_h = DAILY_W - PAD_L - PAD_R, DAILY_H - PAD_T - PAD_B
    step = plot_w / len(days)
    top = _nice(max(g.conversations for g in days.values()))
    every = max(1, math.ceil(len(days) / 14))  # at most ~14 day labels
    out = [_daily_axes(top), _legend()]
    points = []
    for i, (day, g) in enumerate(days.items()):
        x = PAD_L + step * i
        height = plot_h * g.conversations / top
        attrs = {"fill": GREY, **_data("daily:conversations", day, g.conversations)}
        tip = f"{day}: {g.conversations:,} conversations · 대화"
        out.append(_rect(x + step * 0.2, PAD_T + plot_h - height, step * 0.6, height, attrs, tip))
        if i % every == 0:
            out.append(_text(x + step / 2, DAILY_H - 12, day[5:], text_anchor="middle"))
        if g.completion_rate is not None:
            points.append((day, x + step / 2, PAD_T + plot_h * (1 - g.completion_rate), g))
    out.append(_rate_line(points))
    return _figure(
        "daily",
        "Conversations and completion per day · 일별 대화 수와 완료율",
        "Grey bars: conversations started each day (left axis). Green line: completion rate "
        "(right axis, 0–100%).",
        DAILY_H,
        "".join(out),
        width=DAILY_W,
    )


def _daily_axes(top: int) -> str:
    plot_h = DAILY_H - PAD_T - PAD_B
    out = []
    for frac in (0.0, 0.5, 1.0):
        y = PAD_T + plot_h * (1 - frac)
        out.append(_line(PAD_L, y, DAILY_W - PAD_R, y))
        out.append(_text(PAD_L - 6, y + 4, _count(top * frac), text_anchor="end", class_="muted"))
        out.append(_text(DAILY_W - PAD_R + 6, y + 4, f"{frac:.0%}", fill=GREEN))
    return "".join(out)


def _legend() -> str:
    return (
        _el("rect", {"x": _n(PAD_L), "y": "6", "width": "12", "height": "12", "fill": GREY})
        + _text(PAD_L + 18, 16, "conversations · 대화")
        + _el("circle", {"cx": _n(PAD_L + 176), "cy": "12", "r": "5", "fill": GREEN})
        + _text(PAD_L + 186, 16, "completion rate · 완료율")
    )


def _rate_line(points: Sequence[tuple[str, float, float, Metrics]]) -> str:
    path = " ".join(f"{_n(x)},{_n(y)}" for _, x, y, _ in points)
    line = _el("polyline", {"points": path, "fill": "none", "stroke": GREEN, "stroke-width": "2"})
    return line + "".join(_dot(day, x, y, g) for day, x, y, g in points)


def _dot(day: str, x: float, y: float, g: Metrics) -> str:
    rate = g.completion_rate or 0.0
    attrs: dict[str, object] = {"cx": _n(x), "cy": _n(y), "r": "4.5", "fill": GREEN}
    attrs |= _data("daily:completion_rate", day, rate)
    return _el("circle", attrs, _tip(f"{day}: {_pct(rate)} completed · 완료"))


# ---- A/B experiments ---------------------------------------------------------------------

AB_H, AB_TOP, AB_BOTTOM = 230.0, 16.0, 40.0


def _ab_chart(name: str, result: ExperimentResult) -> str:
    highs = [v.interval[1] for v in result.variants if v.interval is not None]
    top = max(0.1, math.ceil(max(highs, default=0.1) * 10) / 10)
    step = (WIDTH - PAD_L - 20) / max(1, len(result.variants))
    out = [_ab_axes(top)]
    for i, variant in enumerate(result.variants):
        out.append(_ab_variant(name, variant, PAD_L + step * i, step, top, result.control))
    return _figure(
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
        out.append(_line(PAD_L, y, WIDTH - 20, y))
        out.append(_text(PAD_L - 6, y + 4, f"{top * frac:.0%}", text_anchor="end", class_="muted"))
    return "".join(out)


def _ab_variant(
    name: str, v: VariantResult, x: float, step: float, top: float, control: str
) -> str:
    center, base = x + step / 2, _ab_y(0.0, top)
    role = " (control)" if v.name == control else ""
    label = _text(center, AB_H - 22, f"{v.name}{role}", text_anchor="middle")
    shown = f"{v.conversions:,} / {v.users:,} converted"
    counts = _text(center, AB_H - 6, shown, text_anchor="middle", class_="muted")
    if v.rate is None or v.interval is None:
        return label + counts + _text(center, base - 6, "no users", text_anchor="middle")
    y = _ab_y(v.rate, top)
    width = min(90.0, step * 0.5)
    attrs = {"fill": "#9db8ea" if role else BLUE, **_data(f"ab:{name}", v.name, v.rate)}
    attrs |= {"data-users": v.users, "data-conversions": v.conversions}
    tip = f"{v.name}: {_pct(v.rate)} ({v.conversions:,} of {v.users:,})"
    bar = _rect(center - width / 2, y, width, base - y, attrs, tip)
    rate = _text(center + width / 2 + 6, y + 4, _pct(v.rate))
    return bar + _error_bar(name, v.name, v.interval, center, top) + rate + label + counts


def _error_bar(
    name: str, variant: str, interval: tuple[float, float], center: float, top: float
) -> str:
    low, high = interval
    y_low, y_high = _ab_y(low, top), _ab_y(high, top)
    d = (
        f"M{_n(center)},{_n(y_low)} V{_n(y_high)} "
        f"M{_n(center - 8)},{_n(y_low)} H{_n(center + 8)} "
        f"M{_n(center - 8)},{_n(y_high)} H{_n(center + 8)}"
    )
    attrs = {
        "d": d,
        "stroke": INK,
        "stroke-width": "1.6",
        "fill": "none",
        "data-series": f"ab-interval:{name}",
        "data-label": variant,
        "data-value": f"{_value(low)},{_value(high)}",
        "data-low": _value(low),
        "data-high": _value(high),
    }
    return _el("path", attrs, _tip(f"{variant}: 95% interval {_pct(low)} – {_pct(high)}"))


def _ab_notes(result: ExperimentResult) -> str:
    items = []
    for c in result.comparisons:
        if c.difference is None or c.interval is None or c.p_value is None:
            continue
        verdict = "significant · 유의함" if c.significant else "not significant · 유의하지 않음"
        items.append(
            _el(
                "li",
                {"class": "significant" if c.significant else None},
                escape(
                    f"{c.variant} vs {c.control}: {c.difference:+.1%} "
                    f"(95% interval {c.interval[0]:+.1%} to {c.interval[1]:+.1%}), "
                    f"p = {c.p_value:.3g}, {verdict}"
                ),
            )
        )
    items += [_el("li", {"class": "warning"}, escape(f"warning: {w}")) for w in result.warnings]
    return _el("ul", {"class": "notes"}, "".join(items)) if items else ""
