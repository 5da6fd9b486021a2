"""A/B experiments in a report: per experiment and variant, who was exposed and who converted,
compared by :func:`botkit.metrics.ab.compare`."""

from __future__ import annotations

from collections import Counter
from typing import Any

from botkit.flow.model import Bot
from botkit.metrics.ab import ExperimentResult, compare
from botkit.metrics.fold import Conversation

__all__ = ["experiment_json", "experiments", "unmeasured"]


def experiments(bot: Bot, conversations: list[Conversation]) -> dict[str, ExperimentResult]:
    """Per experiment and variant: the conversations exposed to it, and of those the ones that
    reached the experiment's goal (its conversions), compared with the first variant."""
    out: dict[str, ExperimentResult] = {}
    for name, experiment in bot.experiments.items():
        if experiment.goal is None:
            continue
        users: Counter[str] = Counter()
        converted: Counter[str] = Counter()
        for c in conversations:
            variant = c.variants.get(name)
            if variant is not None:
                users[variant] += 1
                converted[variant] += experiment.goal in c.goals
        if users:
            counts = {v: (converted[v], users[v]) for v, _ in experiment.variants}
            out[name] = compare(counts, min_effect=experiment.min_effect)
    return out


def unmeasured(bot: Bot, measured: dict[str, ExperimentResult]) -> dict[str, str]:
    """The experiments :func:`_experiments` has no result for, and why: no goal to convert to,
    or nobody in them."""
    return {
        name: "it has no goal (add 'goal:' to the experiment)"
        if experiment.goal is None
        else "no conversation was in it yet"
        for name, experiment in bot.experiments.items()
        if name not in measured
    }


def experiment_json(result: ExperimentResult) -> dict[str, Any]:
    return {
        "variants": [
            {
                "variant": v.name,
                "users": v.users,
                "conversions": v.conversions,
                "rate": v.rate,
                "interval": v.interval,
            }
            for v in result.variants
        ],
        "control": result.control,
        "comparisons": [
            {
                "variant": c.variant,
                "difference": c.difference,
                "interval": c.interval,
                "p_value": c.p_value,
                "significant": c.significant,
                "warning": c.warning,
            }
            for c in result.comparisons
        ],
        "warnings": list(result.warnings),
    }
