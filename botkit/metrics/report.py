"""``botkit report``: read the records of a period from a store and show the metrics as a
terminal table, CSV (one row per figure, for spreadsheets), JSON (for notebooks) or one
self-contained HTML page with charts (:mod:`botkit.metrics.html`)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from botkit.flow.model import Bot
from botkit.metrics.compute import Metrics, conversations_of, measure
from botkit.metrics.feedback import feedback
from botkit.metrics.html import to_html
from botkit.storage import Store

__all__ = ["day_bounds", "load_metrics", "render"]


def day_bounds(start: str | None, end: str | None, zone: str) -> tuple[float | None, float | None]:
    """``--from 2026-11-01 --to 2026-11-30`` as timestamps: from the first day's midnight to the
    end of the last day, in the bot's time zone."""
    tz = ZoneInfo(zone)

    def midnight(day: str) -> float:
        return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), tz).timestamp()

    since = midnight(start) if start else None
    until = midnight(end) + 86_400 if end else None
    return since, until


async def load_metrics(
    store: Store,
    bot: Bot,
    *,
    flow: str | None = None,
    since: float | None = None,
    until: float | None = None,
    by: str | None = None,
    zone: str | None = None,
    csat: str | None = None,
    comments: str | None = None,
    window_s: float = 7 * 86_400,
) -> Metrics:
    """The metrics of a period; ``csat`` and ``comments`` name the feedback slots, if any."""
    records = await store.report_rows(since=since, until=until)
    events = await store.events(since=since, until=until)
    conversations = conversations_of(records)
    if flow is not None:
        conversations = [
            c for c in conversations if any(s.startswith(flow + ".") for s in c.states)
        ]
    metrics = measure(
        bot, conversations, flow=flow, by=by, zone=zone, events=events, window_s=window_s
    )
    if csat is not None or comments is not None:
        metrics.feedback = feedback(records, score=csat, comment=comments)
    return metrics


def _shown(value: Any) -> str:
    """A share as a percentage; nothing to divide as a dash."""
    return "—" if value is None else f"{value:.1%}"


_COUNTS = ("conversations", "turns_median", "turns_p90", "duration_median_s", "duration_p90_s")


def _summary_rows(m: Metrics) -> list[tuple[str, str]]:
    rows = []
    for name, value in m.summary().items():
        if name in _COUNTS:  # numbers, not shares
            shown = "—" if value is None else f"{value:,.1f}".removesuffix(".0")
        else:
            shown = _shown(value)
        rows.append((name.replace("_", " "), shown))
    rows += [(f"handoff rate: {r}", _shown(v)) for r, v in m.handoff_by_reason.items()]
    rows += [(f"goal: {g}", _shown(v)) for g, v in m.goal_conversion.items()]
    rows += [(f"slot failure: {s}", _shown(v)) for s, v in m.slot_failure_rate.items()]
    return rows


def _table(m: Metrics) -> str:
    out = io.StringIO()
    console = Console(file=out, width=100, color_system=None)
    columns = ["metric", "all", *m.groups]
    table = Table(*columns, title="botkit report")
    group_rows = {name: dict(_summary_rows(g)) for name, g in m.groups.items()}
    for label, value in _summary_rows(m):
        table.add_row(label, value, *(group_rows[g].get(label, "—") for g in m.groups))
    console.print(table)
    for funnel in m.funnels:
        if not any(funnel.reached.values()):
            continue
        ft = Table("state", "reached", "dropped", title=f"funnel: {funnel.flow}")
        for state in funnel.states:
            ft.add_row(state, f"{funnel.reached[state]:,}", f"{funnel.dropped[state]:,}")
        console.print(ft)
        ranking = ", ".join(f"{s} ({n:,})" for s, n in funnel.ranking()[:5])
        console.print(f"most drop-off: {ranking or 'none'}")
    for name, p in m.promotions.items():
        if p.exposed:
            roi = "—" if p.roi is None else f"{p.roi:+.0%}"
            console.print(
                f"promotion {name}: exposed {p.exposed:,} → engaged {p.engaged:,} → clicked"
                f" {p.clicked:,} → converted {p.converted:,}; revenue {p.revenue:,.0f}, ROI {roi}"
            )
    if m.feedback is not None:
        f = m.feedback
        average = "—" if f.average is None else f"{f.average:.2f}"
        console.print(
            f"feedback: {f.answers:,} scores, average {average}, positive"
            f" {_shown(f.positive_share)}, negative {_shown(f.negative_share)},"
            f" distribution {f.distribution}"
        )
        if f.keywords:
            console.print("comments: " + ", ".join(f"{w} ({n})" for w, n in f.keywords[:10]))
    for name, result in m.experiments.items():
        et = Table(
            "variant", "users", "conversions", "rate (95% interval)", title=f"experiment: {name}"
        )
        for v in result.variants:
            shown = (
                "—"
                if v.rate is None or v.interval is None
                else (f"{v.rate:.1%} ({v.interval[0]:.1%}–{v.interval[1]:.1%})")
            )
            et.add_row(v.name, f"{v.users:,}", f"{v.conversions:,}", shown)
        console.print(et)
        for c in result.comparisons:
            if c.difference is not None and c.interval is not None and c.p_value is not None:
                verdict = "significant" if c.significant else "not significant"
                low, high = c.interval
                console.print(
                    f"{c.variant} vs {c.control}: {c.difference:+.1%} ({low:+.1%} to {high:+.1%}),"
                    f" p = {c.p_value:.3g}, {verdict}"
                )
        for warning in result.warnings:
            console.print(f"warning: {warning}")
    return out.getvalue()


def _csv(m: Metrics) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["group", "metric", "value"])
    for group, metrics in [("all", m), *m.groups.items()]:
        for name, value in metrics.summary().items():
            writer.writerow([group, name, "" if value is None else value])
        for reason, value in metrics.handoff_by_reason.items():
            writer.writerow([group, f"handoff_rate:{reason}", value])
        for goal, value in metrics.goal_conversion.items():
            writer.writerow([group, f"goal_conversion:{goal}", value])
        for slot, value in metrics.slot_failure_rate.items():
            writer.writerow([group, f"slot_failure_rate:{slot}", value])
        for name, result in metrics.experiments.items():
            for v in result.variants:
                writer.writerow([group, f"experiment:{name}:{v.name}:users", v.users])
                writer.writerow([group, f"experiment:{name}:{v.name}:rate", v.rate])
            for c in result.comparisons:
                writer.writerow([group, f"experiment:{name}:{c.variant}:p_value", c.p_value])
        for funnel in metrics.funnels:
            for state in funnel.states:
                writer.writerow([group, f"reached:{state}", funnel.reached[state]])
                writer.writerow([group, f"dropped:{state}", funnel.dropped[state]])
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
