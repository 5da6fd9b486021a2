"""A/B experiments in a report: per experiment and variant, who was exposed and who converted,
compared by :func:`botkit.metrics.ab.compare`.

The unit is the user as the engine assigns them: a variant is drawn once per session (one user
on one channel) and sticks, so a user who comes back is the same unit, not a new trial. Counting
conversations instead would count a returning user several times, and their conversations are
alike (the same person, the same mind): the test would take correlated trials for independent
ones and call a difference significant far more often than it says (tests/metrics/
test_ab_null_users.py shows how often). A user is *exposed* when one of their conversations of
the report was in the variant; they *converted* when they reached the experiment's goal, in any
of those conversations, within the window from their first exposure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from botkit.flow.model import Bot
from botkit.metrics.ab import ExperimentResult, compare
from botkit.metrics.fold import Conversation

__all__ = [
    "DEFAULT_WINDOW_S",
    "Exposure",
    "experiment_json",
    "experiments",
    "exposures",
    "unmeasured",
]

DEFAULT_WINDOW_S = 7 * 86_400  # a user's conversion counts for a week from their first exposure


@dataclass(slots=True)
class Exposure:
    """One user in one experiment: the variant they were first shown, and when."""

    variant: str
    at: float
    converted: bool = False


def exposures(
    experiment: str, goal: str, conversations: Iterable[Conversation], window_s: float
) -> dict[str, Exposure]:
    """Per user (session), their first exposure to ``experiment`` among ``conversations`` and
    whether they reached ``goal`` within ``window_s`` of it."""
    first: dict[str, Exposure] = {}
    reached: dict[str, list[float]] = {}  # user → when they reached the goal (few users do)
    for c in conversations:
        if goal in c.goals:
            reached.setdefault(c.session, []).append(c.goal_at.get(goal, c.started_at))
        variant = c.variants.get(experiment)
        if variant is None:
            continue
        at = c.exposed_at.get(experiment, c.started_at)
        seen = first.get(c.session)
        if seen is None or at < seen.at:
            first[c.session] = Exposure(variant, at)
    for user, times in reached.items():
        exposure = first.get(user)
        if exposure is not None:
            exposure.converted = any(exposure.at <= t <= exposure.at + window_s for t in times)
    return first


def experiments(
    bot: Bot, conversations: list[Conversation], *, window_s: float = DEFAULT_WINDOW_S
) -> dict[str, ExperimentResult]:
    """Per experiment and variant: the users exposed to it, and of those the ones that reached
    the experiment's goal within ``window_s`` of their first exposure (its conversions),
    compared with the first variant."""
    out: dict[str, ExperimentResult] = {}
    for name, experiment in bot.experiments.items():
        if experiment.goal is None:
            continue
        users = exposures(name, experiment.goal, conversations, window_s)
        if users:
            counts = {v: (0, 0) for v, _ in experiment.variants}
            for exposure in users.values():
                if exposure.variant in counts:  # a variant since removed is not compared
                    k, n = counts[exposure.variant]
                    counts[exposure.variant] = (k + exposure.converted, n + 1)
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
