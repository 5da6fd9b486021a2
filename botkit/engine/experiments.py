"""Experiments: which variant a user is in, and what of a state that variant changes.

A user is assigned a variant the first time they enter a state that runs an experiment, by a
hash of (experiment, user): deterministic and sticky, with no randomness in the engine. The
session keeps the assignment (``variants``) and its text form (``variant``), which every
record carries so that reports can compare variants without joins.
"""

from __future__ import annotations

import hashlib

from botkit.engine.prepared import Pools
from botkit.engine.session import Session
from botkit.engine.turn import Run
from botkit.errors import StepRefused
from botkit.flow.model import Bot, Message, State, Transition, Variant
from botkit.records import RecordKind

__all__ = ["assign", "force", "on_screen", "pools", "transitions_of", "variant_for"]

# Bound once, as turn.py explains: a RecordKind member is slow to read on Python 3.11.
_EXPERIMENT = RecordKind.EXPERIMENT


def variant_for(user: str, experiment: str, weights: tuple[tuple[str, float], ...]) -> str:
    """Deterministic, sticky assignment: the same user always gets the same variant."""
    digest = hashlib.sha256(f"{experiment}\x00{user}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64 * 100
    total = 0.0
    for name, weight in weights:
        total += weight
        if point < total:
            return name
    return weights[-1][0]


def assign(run: Run, experiment: str) -> str:
    """The user's variant of ``experiment`` (drawn now if they have none), recorded."""
    s = run.session
    variants = s.variants if s.variants is not None else {}
    variant = variants.get(experiment)
    if variant is None:
        exp = run.bot.experiments[experiment]
        variant = variant_for(s.user, experiment, exp.variants)
        variants[experiment] = variant
        s.variants = variants
        s.variant = _variant_text(variants)
    run.record(_EXPERIMENT, {"experiment": experiment, "variant": variant})
    return variant


def force(bot: Bot, session: Session, variant: str) -> list[str]:
    """Put the session in ``variant`` of every experiment that has it; returns those
    experiments (see ``Engine.force_variant``)."""
    chosen = sorted(
        name
        for name, experiment in bot.experiments.items()
        if variant in dict(experiment.variants)
    )
    if not chosen:
        known = sorted({v for e in bot.experiments.values() for v, _ in e.variants})
        raise StepRefused(
            f"no experiment has a variant '{variant}'"
            + (f" (variants: {', '.join(known)})" if known else " (the bot has none)")
        )
    variants = dict(session.variants or {})
    variants.update((name, variant) for name in chosen)
    session.variants = variants
    session.variant = _variant_text(variants)
    return chosen


def transitions_of(run: Run, state: State) -> tuple[Transition, ...]:
    """The state's transitions, as the user's variant of it has them."""
    chosen = _chosen(run, state)
    return chosen.on if chosen is not None and chosen.on is not None else state.on


def pools(run: Run, state: State) -> Pools:
    """What to try in the state, as the user's variant of it has it."""
    variant = ""
    if state.variants and state.experiment:
        variant = (run.session.variants or {}).get(state.experiment, "")
    prepared = run.prepared.pools
    return prepared.get((state.flow, state.id, variant)) or prepared[(state.flow, state.id, "")]


def on_screen(run: Run, state: State) -> tuple[Message, ...]:
    """What the state said to this user, as their variant of it says it."""
    chosen = _chosen(run, state)
    return chosen.say if chosen is not None and chosen.say is not None else state.say


def _chosen(run: Run, state: State) -> Variant | None:
    """The user's variant of the state, when it runs an experiment with one for them."""
    if not (state.variants and state.experiment):
        return None
    return state.variants.get((run.session.variants or {}).get(state.experiment, ""))


def _variant_text(variants: dict[str, str] | None) -> str:
    if not variants:
        return ""
    return ",".join(f"{k}:{v}" for k, v in sorted(variants.items()))
