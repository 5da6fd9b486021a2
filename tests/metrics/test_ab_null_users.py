"""Issue 18, acceptance 4: with returning users and no true difference between the variants,
an A/B report calls the difference significant about as often as its 5% level says.

200 seeded runs of an A/A-style null: two variants of ``copy`` (tests/metrics/flows), the same
true rate. Each user is assigned once (sticky, as the engine does) and comes back for 1 to 4
conversations a day apart; whether a conversation reaches the goal depends on the user (a few
users are keen and convert most times, most rarely do), so one user's conversations are alike.
The records are written by hand (tests/metrics/talks.py) and measured through ``measure``.

Counted per user, as botkit does, 10 of the 200 runs are significant (5.0%). Counted per
conversation, as botkit did before issue 18, the same runs are significant 33 times (16.5%): a
returning user's conversations were taken for independent trials. (Seeds 1000–1199 and
2000–2199 give 5 and 5 per user, 28 and 31 per conversation. With 300 users a run the pooled
z-test is a little liberal, about 6% over 4,000 runs, so 600 it is.)
"""

from __future__ import annotations

import random
from pathlib import Path

import botkit
from botkit.metrics.ab import compare
from botkit.metrics.compute import conversations_of, measure
from botkit.records import Record
from tests.metrics.talks import DAY, Talk

BOT = botkit.load(Path(__file__).parent / "flows").bot
T0 = 1_795_568_400.0  # 2026-11-25 10:00 in Seoul
RUNS, USERS = 200, 600  # ~300 users a variant
KEEN, KEEN_RATE, PLAIN_RATE = 0.25, 0.7, 0.04  # a quarter of users convert 70% of the time


def null_run(seed: int) -> tuple[list[Record], dict[str, tuple[int, int]]]:
    """One run's records, and the same run counted per conversation (converted, exposed)."""
    rng = random.Random(seed)
    records: list[Record] = []
    per_conversation = {"A": (0, 0), "B": (0, 0)}
    for u in range(USERS):
        talk = Talk(f"u{u}", bot="signup")
        variant = rng.choice("AB")
        rate = KEEN_RATE if rng.random() < KEEN else PLAIN_RATE
        for visit in range(rng.randint(1, 4)):
            at = T0 + visit * DAY + rng.uniform(0, 3600)
            talk.opens(at, "signup").exposed(at, "copy", variant)
            joins = rng.random() < rate
            if joins:
                talk.goal(at + 20, "signed_up")
            k, n = per_conversation[variant]
            per_conversation[variant] = (k + joins, n + 1)
        records += talk.records
    return records, per_conversation


def test_returning_users_do_not_make_a_null_difference_significant() -> None:
    by_user = by_conversation = 0
    for seed in range(RUNS):
        records, per_conversation = null_run(seed)
        result = measure(BOT, conversations_of(records)).experiments["copy"]
        assert sum(v.users for v in result.variants) == USERS  # users, not conversations
        by_user += result.comparison("B").significant
        by_conversation += compare(per_conversation).comparison("B").significant
    print(f"significant: {by_user} of {RUNS} per user, {by_conversation} per conversation")
    assert 0.01 <= by_user / RUNS <= 0.07
    assert by_conversation / RUNS > 0.10  # what the per-conversation count did
