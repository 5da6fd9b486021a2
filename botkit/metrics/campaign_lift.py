"""A campaign's lift against its holdout, and campaign against campaign.

The lift is the conversion rate of the members sent the message minus that of the members held
out: what the message added, since the held out are like the sent in every other way (the plan
draws them at random). Its interval and p-value come from :mod:`botkit.metrics.ab`
(Newcombe's hybrid score interval, the pooled two-proportion test), as the A/B experiments'
do; the campaign measurement (:mod:`botkit.metrics.campaigns`) and the synthetic checks of
acceptance 5 (tests/metrics/test_campaign_lift.py) call the same :func:`lifts`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botkit.metrics.ab import compare
from botkit.metrics.figures import Figure, flatten

__all__ = ["COMPARED", "Lift", "compared", "lift", "lifts"]

_CONTROL = "\x00held out"  # the holdout's name for ab.compare: no variant is called this


@dataclass(frozen=True, slots=True)
class Lift:
    """The conversion rate of the sent minus that of the held out, with its Newcombe 95%
    interval and the two-proportion test's p-value (Holm-adjusted across a campaign's variants
    when it has several). All None, and not significant, while either side has nobody."""

    difference: float | None = None
    interval: tuple[float, float] | None = None
    p_value: float | None = None
    significant: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "difference": self.difference,
            "interval": self.interval,
            "p_value": self.p_value,
            "significant": self.significant,
        }


def lifts(
    held_out: tuple[int, int], treated: Mapping[str, tuple[int, int]], *, alpha: float = 0.05
) -> dict[str, Lift]:
    """Each of ``treated`` (name → (converted, sent)) against the held out ((converted, held
    out)): :func:`botkit.metrics.ab.compare` with the holdout as control, so the interval is
    :func:`~botkit.metrics.ab.difference_interval`'s and the p-value
    :func:`~botkit.metrics.ab.two_proportion_test`'s, Holm-adjusted across ``treated``."""
    if not treated:
        return {}
    result = compare({_CONTROL: held_out, **treated}, control=_CONTROL, alpha=alpha)
    return {
        c.variant: Lift(c.difference, c.interval, c.p_value, c.significant)
        for c in result.comparisons
    }


def lift(
    held_out_converted: int, held_out: int, converted: int, sent: int, *, alpha: float = 0.05
) -> Lift:
    """One campaign's lift: ``converted`` of ``sent`` against ``held_out_converted`` of
    ``held_out`` (see :func:`lifts`)."""
    return lifts((held_out_converted, held_out), {"sent": (converted, sent)}, alpha=alpha)["sent"]


# ---- campaign against campaign ----------------------------------------------------------------

COMPARED: tuple[tuple[str, str], ...] = (
    ("sent", "sent · 발송"),
    ("held_out", "held out · 대조군"),
    ("conversion_rate", "conversion · 전환율"),
    ("held_out_conversion_rate", "held-out conversion · 대조군 전환율"),
    ("lift:difference", "lift · 증분"),
    ("lift:interval:low", "95% from"),
    ("lift:interval:high", "95% to"),
    ("lift:p_value", "p"),
    ("revenue", "revenue · 매출"),
    ("incremental_revenue", "incremental revenue · 증분 매출"),
    ("cost", "cost · 비용"),
    ("roi", "ROI"),
)
"""The columns of the campaign-against-campaign table: (figure, heading)."""


def compared(report: Mapping[str, Any]) -> list[tuple[str, list[Figure]]]:
    """The campaign-against-campaign table of a JSON report (``Metrics.to_json()``): per
    campaign, the figures :data:`COMPARED` names, as the CSV names them (``campaigns:<name>:
    lift:difference``), so the table shows what the other formats carry. Empty without
    campaigns."""
    rows: list[tuple[str, list[Figure]]] = []
    for name, body in (report.get("campaigns") or {}).items():
        flat = dict(flatten(body))
        cells = [Figure("all", f"campaigns:{name}:{key}", flat.get(key)) for key, _ in COMPARED]
        rows.append((str(name), cells))
    return rows
