"""The drawing pieces of the HTML report: elements, SVG shapes, figures, and numbers as text.

Every text that goes into the page passes through here and is escaped; every element that stands
for a number gets its ``data-*`` attributes from :func:`data`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape

__all__ = [
    "BLUE",
    "DAILY_W",
    "GREEN",
    "GREY",
    "INK",
    "RED",
    "WIDTH",
    "count",
    "data",
    "duration",
    "el",
    "empty",
    "figure",
    "line",
    "n",
    "pct",
    "rect",
    "section",
    "text",
    "tip",
    "value",
]

WIDTH, DAILY_W = 500.0, 1000.0  # charts' natural widths (px); narrower columns scale them down
BLUE, RED, GREEN, GREY, INK = "#2f6fdf", "#d9463b", "#1f9d6b", "#c9ced6", "#1d2330"


def _attrs(attrs: Mapping[str, object]) -> str:
    return "".join(f' {k}="{escape(str(v))}"' for k, v in attrs.items() if v is not None)


def el(tag: str, attrs: Mapping[str, object], body: str = "") -> str:
    return f"<{tag}{_attrs(attrs)}>{body}</{tag}>"


def data(series: str, label: str, number: float | int) -> dict[str, object]:
    """The attributes that make an element a data point."""
    return {"data-series": series, "data-label": label, "data-value": value(number)}


def value(number: float | int) -> str:
    return str(number)  # ints as ints, floats in their shortest exact form (as JSON has them)


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def count(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}".removesuffix(".0")


def duration(value: float | None) -> str:
    """Seconds as minutes and seconds: ``2m 05s``."""
    if value is None:
        return "—"
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "chart"


def n(x: float) -> str:
    """A coordinate, short."""
    return f"{x:.1f}".removesuffix(".0")


def section(heading: str, figures: Sequence[str], why: str = "") -> str:
    """A heading and its figures; with none, ``why`` (HTML) if it says why, else "no data"."""
    empty = why or '<p class="empty">no data · 데이터 없음</p>'
    body = "\n".join(figures) if figures else empty
    after = why if figures else ""
    grid = f'<div class="grid">\n{body}\n</div>'
    return f"<section>\n<h2>{escape(heading)}</h2>\n{grid}\n{after}</section>"


def figure(
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
    svg = el(
        "svg",
        {
            "viewBox": f"0 0 {n(width)} {n(height)}",
            "width": n(width),
            "height": n(height),
            "role": "img",
            "aria-labelledby": f"{fid}-title {fid}-desc",
        },
        el("title", {"id": f"{fid}-title"}, escape(caption))
        + el("desc", {"id": f"{fid}-desc"}, escape(desc))
        + body,
    )
    return el(
        "figure",
        {"id": fid, "class": "wide" if width > WIDTH else None},
        el("figcaption", {}, escape(caption)) + svg + notes,
    )


def text(x: float, y: float, content: str, **attrs: object) -> str:
    """A label at (x, y); keyword attributes are SVG's, ``_`` for ``-`` (``text_anchor``)."""
    extra = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
    return el("text", {"x": n(x), "y": n(y), **extra}, escape(content))


def rect(
    x: float, y: float, width: float, height: float, attrs: Mapping[str, object], hint: str
) -> str:
    """A bar: a rectangle with its data attributes and a tooltip (``hint``)."""
    box = {"x": n(x), "y": n(y), "width": n(max(0.0, width)), "height": n(max(0.0, height))}
    return el("rect", {**box, **attrs}, tip(hint))


def line(x1: float, y1: float, x2: float, y2: float) -> str:
    """A grid line."""
    return el("line", {"x1": n(x1), "y1": n(y1), "x2": n(x2), "y2": n(y2), "stroke": "#e3e6eb"})


def tip(text: str) -> str:
    """A tooltip on the element it is placed in."""
    return el("title", {}, escape(text))


def empty(fid: str, caption: str, message: str) -> str:
    return figure(fid, caption, message, 40, text(12, 24, message, class_="muted"))
