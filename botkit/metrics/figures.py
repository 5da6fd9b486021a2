"""Every figure of a report as one flat list, the one the table, the CSV and the HTML show.

The list is read off :meth:`Metrics.to_json` and nothing else, so the four formats cannot
disagree: a figure added to the JSON is in the CSV, the terminal table and the page's figures
table at once, each group's (``--by``) included. A figure is named by its path in the JSON, joined
with ``:`` (``promotions:winter_sale:revenue``, ``funnels:order_status:order_status.ask_order:
dropped``); in a list of objects, an object is named by its identifying field (a funnel by its
flow, a state by its name, a variant by its name).

:func:`shown` is how a person reads a value: shares as percentages, money and counts with
thousands separators, seconds as durations, nothing as a dash. The table and the page use it;
the CSV and the JSON keep the raw numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = [
    "SECTION_TITLES",
    "Figure",
    "Section",
    "figures",
    "flatten",
    "kind_of",
    "label",
    "sections",
    "shown",
]

Value = int | float | str | bool | None

# In a list of objects, the field that names each one (in this order of preference).
_NAMES = ("flow", "state", "variant", "name", "url", "cohort", "cause", "day", "date", "slot")

# How a figure's name says what it is: the words of its last part (see kind_of), or the
# section it is in, for sections whose figures are named by what they are of.
_SHARE_WORDS = frozenset({"rate", "share", "roi", "difference", "ctr", "interval", "change"})
_MONEY_WORDS = frozenset({"revenue", "amount", "cost", "value", "spent"})
_SHARE_SECTIONS = frozenset(
    {
        "handoff_by_reason",
        "handoff_by_cause",
        "handoff_by_trigger",
        "unserved_by_why",
        "goal_conversion",
        "slot_failure_rate",
    }
)
_MONEY_SECTIONS = frozenset({"revenue_by_variant"})


@dataclass(frozen=True, slots=True)
class Figure:
    """One number (or word) of a report: which group it is of, its name, its value."""

    group: str  # "all", or the --by group ("variant greeting_title:B", "2026-12-01", ...)
    name: str  # its path in the JSON report, joined with ":"
    value: Value

    @property
    def section(self) -> str:
        """The heading it is shown under: the first part of its name, or ``summary``."""
        head, sep, _ = self.name.partition(":")
        return head if sep or head in SECTION_TITLES else "summary"


def figures(report: dict[str, Any]) -> list[Figure]:
    """The figures of a JSON report (``Metrics.to_json()``): the whole's, then each group's."""
    groups = report.get("groups") or {}
    out = [Figure("all", name, value) for name, value in flatten(report)]
    for group, body in groups.items():
        out += [Figure(str(group), name, value) for name, value in flatten(body)]
    return out


def flatten(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Value]]:
    """(name, value) for every leaf under ``node``, groups left out (``figures`` adds them)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if not path and key == "groups":
                continue
            yield from flatten(value, (*path, str(key)))
    elif isinstance(node, list | tuple):
        if len(node) == 2 and path and path[-1] == "interval":  # (low, high)
            yield ":".join((*path, "low")), node[0]
            yield ":".join((*path, "high")), node[1]
            return
        for i, item in enumerate(node):
            if _is_pair(item):  # [word, count]: the count, named by its word
                yield ":".join((*path, item[0])), item[1]
                continue
            name = _name_of(item, i)
            if isinstance(item, dict):  # the field that names the item is its name, no figure
                item = {k: v for k, v in item.items() if not (k in _NAMES and v == name)}
            yield from flatten(item, (*path, name))
    elif node is None or isinstance(node, int | float | str | bool):
        yield ":".join(path), node
    else:  # anything else reaches the JSON as its text too
        yield ":".join(path), str(node)


def _is_pair(item: Any) -> bool:
    return (
        isinstance(item, list | tuple)
        and len(item) == 2
        and isinstance(item[0], str)
        and isinstance(item[1], int | float)
    )


def label(section: str, name: str) -> str:
    """How a figure is named inside its section's table (without the section's own name)."""
    if section == "summary" or ":" not in name:
        return name
    return name.partition(":")[2]


def _name_of(item: Any, index: int) -> str:
    if isinstance(item, dict):
        for field in _NAMES:
            value = item.get(field)
            if isinstance(value, str) and value:
                return value
    return str(index)


def kind_of(name: str) -> str:
    """What a figure is, from the words of its name: ``share``, ``money``, ``seconds``, ``p``
    (a p-value) or ``number``."""
    parts = name.split(":")
    last = parts[-1]
    if last in ("low", "high") and len(parts) > 1:
        last = parts[-2]  # an interval's ends are what the interval is of
    words = set(last.split("_"))
    if last == "p_value":
        return "p"
    if last.endswith("_s"):
        return "seconds"
    if words & _MONEY_WORDS or parts[0] in _MONEY_SECTIONS:
        return "money"
    if words & _SHARE_WORDS or last == "conversion" or parts[0] in _SHARE_SECTIONS:
        return "share"
    return "number"


def shown(name: str, value: Value) -> str:
    """``value`` of the figure ``name`` as a person reads it."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return "—"
    kind = kind_of(name)
    if kind == "share":
        return f"{value:.1%}"
    if kind == "money":
        return f"{value:,.0f}"
    if kind == "p":
        return f"{value:.3g}"
    if kind == "seconds":
        return f"{value:,.0f}s"
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


# The headings of the table, in the order a marketer reads them; sections not named here
# follow in the order the JSON has them.
SECTION_TITLES = {
    "summary": "conversations · 대화",
    "money": "money · 매출",
    "business": "business events · 비즈니스 이벤트",
    "conversion": "conversion · 구매 전환",
    "revenue_by_variant": "revenue by variant · 변형별 매출",
    "promotions": "promotions · 프로모션",
    "campaigns": "campaigns · 캠페인",
    "retention": "repurchase · 재구매",
    "engagement": "engagement · 참여",
    "handoff_by_cause": "handoff causes · 상담원 연결 원인",
    "handoff_by_trigger": "handoff triggers · 상담원 연결 계기",
    "unserved_by_why": "asked for a person, not served · 연결되지 못한 요청",
    "handoff_by_reason": "handoff reasons · 상담원 연결 사유",
    "goal_conversion": "goals · 목표 달성",
    "slot_failure_rate": "slot failures · 슬롯 실패",
    "drop_off": "drop-off · 이탈",
    "funnels": "funnels · 퍼널",
    "experiments": "experiments · A/B 실험",
    "feedback": "feedback · 만족도",
}


Section = tuple[list[str], list[str], dict[tuple[str, str], Figure]]


def sections(report: dict[str, Any]) -> dict[str, Section]:
    """Per section of a JSON report: its figure names (first seen first), the groups (``all``
    first), and every figure by (group, name)."""
    groups = ["all", *(report.get("groups") or {})]
    names: dict[str, dict[str, None]] = {}  # an ordered set per section
    by: dict[str, dict[tuple[str, str], Figure]] = {}
    for figure in figures(report):
        names.setdefault(figure.section, {})[figure.name] = None
        by.setdefault(figure.section, {})[(figure.group, figure.name)] = figure
    ordered = [s for s in SECTION_TITLES if s in names]
    ordered += [s for s in names if s not in SECTION_TITLES]
    return {s: (list(names[s]), groups, by[s]) for s in ordered}
