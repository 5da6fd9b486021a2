"""Ground truth (issue #8, acceptance 1): synthetic users with planted rates go through the real
runtime, and the metrics computed from their records find the planted values.

* 10,000 users, variant B signing up 5 points more often than A (20% → 25%): each variant's
  reported rate (``Metrics.experiments``) has the planted rate inside its 95% interval, the
  difference interval holds 0.05, and the A/B result is significant.
* 200 seeded runs with no planted effect (both 20%): at most 7% (and at least 1%) of them are
  "significant". Most runs count the generator's decisions directly (first_decisions, the same
  users and draws), every 20th goes through the runtime and its records, and those must agree.

The bot is tests/metrics/flows: one experiment ``copy`` (A/B) at the start, "가입할게요" reaches
the goal ``signed_up``, "괜찮아요" ends without it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import botkit
from botkit.metrics.ab import ExperimentResult, compare, proportion_interval
from botkit.metrics.compute import Conversation, Metrics, conversations_of, measure
from botkit.metrics.synthetic import Behaviour, Lift, Step, Summary, first_decisions, simulate
from botkit.storage import MemoryStore

APP = botkit.load(Path(__file__).parent / "flows")
START = "signup.start"
JOIN, DECLINE = "가입할게요", "괜찮아요"
BASE = 0.20


def behaviour(lift: float = 0.0, drop_off: float = 0.0) -> Behaviour:
    """A signs up with probability BASE, B with BASE + lift (of those who do not drop off)."""
    return Behaviour(
        steps={START: Step(says={JOIN: BASE, DECLINE: 1.0 - BASE}, drop_off=drop_off)},
        lifts=(Lift("copy", "B", START, JOIN, add=lift),) if lift else (),
    )


def recount(conversations: list[Conversation]) -> dict[str, tuple[int, int]]:
    """Per variant of ``copy``, straight from the conversations: (reached its goal, exposed)."""
    goal = APP.bot.experiments["copy"].goal
    counts: dict[str, tuple[int, int]] = {}
    for c in conversations:
        variant = c.variants.get("copy")
        if variant is not None:
            k, n = counts.get(variant, (0, 0))
            counts[variant] = (k + (goal in c.goals), n + 1)
    return dict(sorted(counts.items()))


def counts_of(result: ExperimentResult) -> dict[str, tuple[int, int]]:
    return {v.name: (v.conversions, v.users) for v in result.variants}


async def run(
    users: int, seed: int, planted: Behaviour
) -> tuple[Summary, Metrics, list[Conversation]]:
    """``users`` simulated users through the runtime; the metrics of their records."""
    store = MemoryStore()
    summary = await simulate(APP, planted, users, seed=seed, store=store)
    await store.open()  # simulate closed it; a MemoryStore keeps its records
    conversations = conversations_of(await store.records())
    return summary, measure(APP.bot, conversations), conversations


async def test_planted_lift_is_found_in_the_records() -> None:
    summary, metrics, conversations = await run(10_000, seed=8, planted=behaviour(lift=0.05))

    # Everybody answered and every conversation ended resolved: the overall figures agree.
    assert summary.users == 10_000
    assert dict(summary.ends) == {"ended": 10_000}
    assert metrics.conversations == 10_000
    assert metrics.completion_rate == 1.0
    assert metrics.handoff_rate == 0.0
    assert metrics.fallback_rate == 0.0
    assert metrics.turns_median == 2.0

    # The reported experiment holds exactly what the generator planted, no user lost or
    # double-counted, and agrees with a recount of the conversations.
    result = metrics.experiments["copy"]
    counts = counts_of(result)
    assert counts == summary.counts("copy", START, JOIN) == recount(conversations)
    assert sum(n for _, n in counts.values()) == 10_000

    # The overall conversion: the planted rate, weighted by the split, is inside its interval.
    (k_a, n_a), (k_b, n_b) = counts["A"], counts["B"]
    overall = metrics.goal_conversion["signed_up"]
    assert overall == (k_a + k_b) / 10_000
    low, high = proportion_interval(k_a + k_b, 10_000)
    assert low <= (n_a * BASE + n_b * (BASE + 0.05)) / 10_000 <= high

    assert result.control == "A"
    planted = {"A": BASE, "B": BASE + 0.05}
    for variant in result.variants:
        assert variant.interval is not None
        assert variant.interval[0] <= planted[variant.name] <= variant.interval[1], variant
    b = result.comparison("B")
    assert b.interval is not None
    assert b.interval[0] <= 0.05 <= b.interval[1], b
    assert b.significant, b
    assert not result.warnings  # ~5,000 per variant: enough to detect 5 points


async def test_no_planted_effect_is_rarely_significant() -> None:
    runs, users = 200, 1_000  # ~500 per variant
    significant = 0
    through_runtime = 0
    for seed in range(runs):
        planned = first_decisions(APP.bot, behaviour(), users, seed=seed)
        counts = planned.counts("copy", START, JOIN)
        if seed % 20 == 0:  # the same users through the runtime: the records say the same
            summary, metrics, _ = await run(users, seed, behaviour())
            reported = metrics.experiments["copy"]
            assert counts_of(reported) == summary.counts("copy", START, JOIN) == counts
            assert reported == compare(counts, min_effect=0.05)
            through_runtime += 1
        if compare(counts, min_effect=0.05).comparison("B").significant:
            significant += 1
    share = significant / runs
    print(f"false positives: {significant} of {runs} ({share:.1%})")
    assert through_runtime == 10
    assert 0.01 <= share <= 0.07


async def test_drop_off_leaves_conversations_open_where_it_was_planted() -> None:
    summary, metrics, _ = await run(2_000, seed=3, planted=behaviour(drop_off=0.1))
    dropped = summary.ends["dropped"]
    assert summary.ends["ended"] + dropped == 2_000
    low, high = proportion_interval(dropped, 2_000)
    assert low <= 0.1 <= high
    assert metrics.completion_rate == (2_000 - dropped) / 2_000
    (funnel,) = metrics.funnels
    assert funnel.dropped == {START: dropped, "signup.joined": 0, "signup.declined": 0}


def test_a_lift_moves_one_choice_and_keeps_the_others_proportions() -> None:
    three = Behaviour(
        steps={START: Step(says={JOIN: 2, DECLINE: 6, "음": 2})},
        lifts=(Lift("copy", "B", START, JOIN, add=0.3),),
    )
    assert three.choices(START, {"copy": "A"}) == pytest.approx(
        {JOIN: 0.2, DECLINE: 0.6, "음": 0.2}
    )
    assert three.choices(START, {"copy": "B"}) == pytest.approx(
        {JOIN: 0.5, DECLINE: 0.375, "음": 0.125}
    )
    with pytest.raises(ValueError, match="probability"):
        behaviour(lift=0.9)
    with pytest.raises(ValueError, match="no step"):
        Behaviour(steps={}, lifts=(Lift("copy", "B", START, JOIN, add=0.1),))
