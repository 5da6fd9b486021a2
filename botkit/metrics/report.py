"""``botkit report``: read the records of a period from a store (:mod:`botkit.metrics.periods`)
and show the metrics as a terminal table, CSV (one row per figure, for spreadsheets), JSON (for
notebooks) or one self-contained HTML page with charts (:mod:`botkit.metrics.render`)."""

from __future__ import annotations

from botkit.metrics.periods import day_bounds, load_metrics
from botkit.metrics.render import render

__all__ = ["day_bounds", "load_metrics", "render"]
