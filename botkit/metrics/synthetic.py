"""Synthetic traffic: simulated users with planted behaviour, run through the real runtime.

For tests, benchmarks and demos that need many conversations whose true rates are known. A
:class:`Behaviour` says what simulated users do in each state; :func:`simulate` runs that many
users through :meth:`botkit.BotApp.run` (the real runtime and store, so every record is the one
a real conversation would write), and its :class:`Summary` says what was planted: who was in
which variant, who said what where, who dropped off. A metric computed from the records can
then be checked against the truth.

The model, kept small on purpose::

    Behaviour(
        steps={
            "signup.start": Step(says={"가입할게요": 0.2, "괜찮아요": 0.8}, drop_off=0.1),
        },
        lifts=(Lift("copy", "B", "signup.start", "가입할게요", add=0.05),),
    )

* A user opens with ``Behaviour.opening``, then answers each reply by the :class:`Step` of the
  state the bot is in ("flow.state"): with probability ``drop_off`` they stop (no message, the
  conversation is left open), otherwise they say one of ``says``, drawn by weight. What they
  say is sent as a quick-reply press (the label as text, with its payload) when the bot's last
  reply offered a quick reply with that label, and as typed text otherwise.
* A :class:`Lift` changes one choice for the users of one variant of an experiment: its
  probability (among the choices, after drop-off) becomes ``p + add``; the other choices share
  what is left in their original proportions.
* A user stops when the conversation ends, drops off, reaches a state without a Step
  ("unscripted"), is handed off to a person, after ``max_turns`` messages, or when a turn fails.

Deterministic: ``random.Random(seed)`` draws one seed per user, in user order, before anything
runs, and each user draws only from their own stream; so the decisions do not depend on how the
concurrent users interleave. Variants are the engine's (sticky, by user id); user ids contain
the seed, so two runs with different seeds into one store are different users.

Purchases: with ``Behaviour.purchase`` a user may buy after their conversation (probability per
variant, amount drawn from a range), and may have the purchase refunded later (``refund``); both
are stored as business events (``purchase``, ``refund``), the way a shop reports them, so
reports attribute them as they would real ones.
"""

from __future__ import annotations

import asyncio
import contextvars
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from botkit.effects import Effect, Say
from botkit.engine import variant_for
from botkit.engine.session import Status
from botkit.records import BusinessEvent, RecordKind

if TYPE_CHECKING:
    from botkit.app import BotApp
    from botkit.flow.model import Bot
    from botkit.runtime import Reply, Runtime
    from botkit.storage import Store

__all__ = ["Behaviour", "Lift", "Path", "Step", "Summary", "first_decisions", "simulate"]

# Why a path ended: the conversation ended; the user dropped off; no Step for the state; handed
# off to a person; max_turns messages sent; a turn failed; (first_decisions only) decided.
ENDS = ("ended", "dropped", "unscripted", "handed_off", "max_turns", "failed", "decided")


def _probability(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value}")


@dataclass(frozen=True)
class Step:
    """What simulated users do in one state: stop with probability ``drop_off``, otherwise
    say one of ``says`` (a text, or the label of a quick reply), drawn by weight."""

    says: Mapping[str, float]
    drop_off: float = 0.0

    def __post_init__(self) -> None:
        _probability("drop_off", self.drop_off)
        if any(w < 0.0 for w in self.says.values()):
            raise ValueError(f"weights must not be negative: {dict(self.says)}")
        if sum(self.says.values()) <= 0.0 and self.drop_off < 1.0:
            raise ValueError("a step needs a choice with a positive weight, or drop_off 1")
        object.__setattr__(self, "says", MappingProxyType(dict(self.says)))

    def probabilities(self) -> dict[str, float]:
        """Each choice's probability, given that the user does not drop off."""
        total = sum(self.says.values())
        return {text: w / total for text, w in self.says.items()} if total else {}


@dataclass(frozen=True)
class Lift:
    """In ``state``, users in ``variant`` of ``experiment`` say ``says`` with probability
    ``p + add`` instead of ``p`` (``add`` may be negative; drop-off is unchanged)."""

    experiment: str
    variant: str
    state: str
    says: str
    add: float


@dataclass(frozen=True)
class Purchase:
    """After their conversation, a simulated user buys with ``probability`` (per variant of
    ``experiment`` in ``by_variant``, if given) an amount drawn uniformly from ``amount``,
    ``after_s`` seconds after their last message; the shop reports it as a business event.
    A purchase is refunded in full with probability ``refund``, ``refund_after_s`` after it."""

    probability: float
    amount: tuple[float, float] = (10_000.0, 50_000.0)
    experiment: str | None = None
    by_variant: Mapping[str, float] = field(default_factory=dict)
    after_s: float = 3600.0
    refund: float = 0.0
    refund_after_s: float = 86_400.0

    def __post_init__(self) -> None:
        _probability("the purchase probability", self.probability)
        _probability("the refund probability", self.refund)
        for variant, p in self.by_variant.items():
            _probability(f"the purchase probability of {variant!r}", p)
        low, high = self.amount
        if not 0 <= low <= high:
            raise ValueError(f"amount must be a range 0 <= low <= high, got {self.amount}")

    def draw(self, variants: Mapping[str, str], rng: random.Random) -> float | None:
        p = self.probability
        if self.experiment is not None and self.experiment in variants:
            p = self.by_variant.get(variants[self.experiment], p)
        return float(round(rng.uniform(*self.amount))) if rng.random() < p else None


@dataclass(frozen=True)
class Behaviour:
    """Simulated users: their opening message, a :class:`Step` per "flow.state", and
    optionally whether they buy afterwards (:class:`Purchase`)."""

    steps: Mapping[str, Step]
    lifts: tuple[Lift, ...] = ()
    opening: str = "안녕하세요"
    max_turns: int = 20
    purchase: Purchase | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", MappingProxyType(dict(self.steps)))
        if self.max_turns < 1:
            raise ValueError(f"max_turns must be at least 1, got {self.max_turns}")
        for lift in self.lifts:
            step = self.steps.get(lift.state)
            if step is None:
                raise ValueError(f"lift for {lift.state!r}, which has no step")
            p = step.probabilities()
            if len(p) < 2:
                raise ValueError(f"lift in {lift.state!r}, which has only one choice")
            if lift.says not in p:
                raise ValueError(f"lift for {lift.says!r}, not a choice of {lift.state!r}")
            _probability(f"the lifted probability of {lift.says!r}", p[lift.says] + lift.add)

    def choices(self, state: str, variants: Mapping[str, str]) -> dict[str, float]:
        """The probability of each choice in ``state`` for a user in ``variants``
        (experiment → variant), given that they do not drop off; lifts applied in order."""
        p = self.steps[state].probabilities()
        for lift in self.lifts:
            if lift.state != state or variants.get(lift.experiment) != lift.variant:
                continue
            old = p[lift.says]
            new = min(1.0, max(0.0, old + lift.add))
            rest, others = 1.0 - old, len(p) - 1  # others >= 1: checked in __post_init__
            p = {
                text: new
                if text == lift.says
                else (q / rest * (1.0 - new) if rest > 0.0 else (1.0 - new) / others)
                for text, q in p.items()
            }
        return p

    def decide(self, state: str, variants: Mapping[str, str], rng: random.Random) -> str | None:
        """What a user in ``state`` says next, or None when they drop off.

        Always two draws from ``rng`` (drop-off, then the choice), so a user's later decisions
        do not depend on whether an earlier one dropped. Raises ``KeyError`` for a state
        without a step.
        """
        step = self.steps[state]
        stop = rng.random() < step.drop_off
        point = rng.random()
        if stop:
            return None
        p = self.choices(state, variants)
        total = 0.0
        last = None
        for text, q in p.items():
            if q <= 0.0:
                continue
            total += q
            last = text
            if point < total:
                return text
        return last  # rounding: the probabilities add up to slightly less than 1


@dataclass(frozen=True)
class Path:
    """One simulated user: their variants, what they said where, and why they stopped
    (one of ``ENDS``) in which state."""

    user: str
    variants: Mapping[str, str]
    said: tuple[tuple[str, str], ...]  # ("flow.state", text), in order
    end: str
    state: str
    bought: float | None = None  # the amount of the purchase after it, if any
    refunded: float | None = None  # the amount refunded of that purchase, if any


@dataclass(frozen=True)
class Summary:
    """What was planted: every simulated user's :class:`Path`."""

    paths: tuple[Path, ...]
    ends: Mapping[str, int] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ends", MappingProxyType(Counter(p.end for p in self.paths)))

    @property
    def users(self) -> int:
        return len(self.paths)

    def variants(self, experiment: str) -> dict[str, int]:
        """Users per variant of ``experiment`` (those who reached it), by variant name."""
        counts = Counter(p.variants[experiment] for p in self.paths if experiment in p.variants)
        return dict(sorted(counts.items()))

    def counts(self, experiment: str, state: str, says: str) -> dict[str, tuple[int, int]]:
        """Per variant of ``experiment``: (users who said ``says`` in ``state``, users in the
        variant). The planted conversions, in the shape :func:`botkit.metrics.ab.compare`
        takes."""
        sent: Counter[str] = Counter()
        for p in self.paths:
            if experiment in p.variants and (state, says) in p.said:
                sent[p.variants[experiment]] += 1
        return {v: (sent[v], n) for v, n in self.variants(experiment).items()}


def _user_randoms(seed: int, users: int) -> list[random.Random]:
    master = random.Random(seed)
    return [random.Random(master.getrandbits(64)) for _ in range(users)]


def _user_id(prefix: str, seed: int, index: int) -> str:
    return f"{prefix}-{seed}-{index}"


_NOW: contextvars.ContextVar[float] = contextvars.ContextVar("botkit_synthetic_now")


async def simulate(
    app: BotApp,
    behaviour: Behaviour,
    users: int,
    *,
    seed: int,
    store: Store | str = "memory://",
    clock_start: float = 1_798_729_200.0,  # 2027-01-01 09:00 in Seoul
    step_s: float = 5.0,
    channel: str = "synthetic",
    prefix: str = "sim",
    concurrency: int = 50,
) -> Summary:
    """Run ``users`` simulated users, ``concurrency`` at a time, through ``app``'s runtime on
    ``store``; return what was planted.

    Each user is new (id ``"{prefix}-{seed}-{i}"``). User ``i`` arrives at
    ``clock_start + i·step_s`` and answers each reply ``step_s`` later: the records carry those
    times, whatever the wall clock does. ``store`` is opened and closed as
    :meth:`~botkit.BotApp.run` does (a :class:`~botkit.MemoryStore` keeps its records when
    closed: open it again to read them).
    """
    if users < 0 or concurrency < 1:
        raise ValueError(f"need users >= 0 and concurrency >= 1, got {users} and {concurrency}")
    randoms = _user_randoms(seed, users)
    paths: list[Path | None] = [None] * users
    queue = iter(range(users))

    async with app.run(store=store, clock=lambda: _NOW.get(clock_start)) as runtime:
        crowd = _Crowd(runtime, behaviour, channel, randoms, clock_start, step_s)

        async def worker() -> None:
            for i in queue:  # shared: each index is taken by exactly one worker
                paths[i] = await crowd.user(i, _user_id(prefix, seed, i))

        async with asyncio.TaskGroup() as group:
            for _ in range(min(concurrency, users)):
                group.create_task(worker())
        if crowd.purchases:  # the shop's report of what the simulated users bought
            await runtime.add_events(crowd.purchases)

    return Summary(tuple(p for p in paths if p is not None))


@dataclass
class _Crowd:
    """The simulated users of one :func:`simulate` run, and what they bought."""

    runtime: Runtime
    behaviour: Behaviour
    channel: str
    randoms: list[random.Random]  # one per user, drawn before anything runs
    clock_start: float
    step_s: float
    purchases: list[BusinessEvent] = field(default_factory=list)

    async def user(self, i: int, user: str) -> Path:
        """User ``i``'s conversation, from the opening message to why they stopped."""
        behaviour, rng, step_s = self.behaviour, self.randoms[i], self.step_s
        at = self.clock_start + i * step_s
        _NOW.set(at)  # this task's own clock: concurrent users do not disturb it
        variants: dict[str, str] = {}
        said: list[tuple[str, str]] = []
        reply = await self.runtime.handle(self.channel, user, behaviour.opening)
        sent = 1
        while True:
            for record in reply.records:
                if record.kind == RecordKind.EXPERIMENT and record.data:
                    variants[str(record.data["experiment"])] = str(record.data["variant"])
            state = reply.state
            end = self._end(reply, sent)
            text = None if end is not None else behaviour.decide(state, variants, rng)
            if text is None:
                bought, refunded = self._buy(user, variants, rng, at)
                frozen = MappingProxyType(variants)
                path = Path(user, frozen, tuple(said), end or "dropped", state, bought, refunded)
                return path
            said.append((state, text))
            at += step_s
            _NOW.set(at)
            payload = _payload_of(reply.effects, text)
            reply = await self.runtime.handle(self.channel, user, text, payload=payload)
            sent += 1

    def _end(self, reply: Reply, sent: int) -> str | None:
        """Why the user stops after ``reply`` (None: they go on, unless they drop off)."""
        end = _ended(reply.ok, reply.status)
        if end is None and reply.state not in self.behaviour.steps:
            end = "unscripted"
        if end is None and sent >= self.behaviour.max_turns:
            end = "max_turns"
        return end

    def _buy(
        self, user: str, variants: Mapping[str, str], rng: random.Random, at: float
    ) -> tuple[float | None, float | None]:
        """What the user buys after the conversation, if anything, and what is refunded of it.
        Drawn after the conversation's own draws: adding purchases to a behaviour does not
        change what its users say."""
        purchase = self.behaviour.purchase
        bought = purchase.draw(variants, rng) if purchase else None
        if bought is None or purchase is None:
            return None, None
        paid = at + purchase.after_s
        self.purchases.append(BusinessEvent(f"{user}-purchase", "purchase", user, paid, bought))
        if not purchase.refund or rng.random() >= purchase.refund:
            return bought, None
        back = paid + purchase.refund_after_s
        self.purchases.append(BusinessEvent(f"{user}-refund", "refund", user, back, bought))
        return bought, bought


def _payload_of(effects: Sequence[Effect], label: str) -> str | None:
    """The payload of the quick reply labelled ``label`` in ``effects``, if one is offered."""
    for effect in effects:
        if isinstance(effect, Say):
            for choice in effect.choices:
                if choice.label == label:
                    return choice.payload
    return None


def _ended(ok: bool, status: str) -> str | None:
    if not ok:
        return "failed"
    if status == Status.CLOSED:
        return "ended"
    if status in (Status.HANDOFF_REQUESTED, Status.WITH_AGENT):
        return "handed_off"
    return None


def first_decisions(
    bot: Bot, behaviour: Behaviour, users: int, *, seed: int, prefix: str = "sim"
) -> Summary:
    """The first decision of the users :func:`simulate` would run, without running anything.

    The same user ids, random streams and variants (the engine's assignment, for the experiment
    of the bot's start state, if it has one), so for a bot whose start state is the only
    decision the counts equal :func:`simulate`'s exactly, thousands of times faster: for
    statistics over many seeded runs, such as an A/B test's false-positive rate. Each path
    says at most one thing and ends "dropped" or "decided".
    """
    flow, state_id = bot.start_target
    state = f"{flow}.{state_id}"
    experiment = bot.state(bot.start_target).experiment
    weights = bot.experiments[experiment].variants if experiment else ()
    paths: list[Path] = []
    for i, rng in enumerate(_user_randoms(seed, users)):
        user = _user_id(prefix, seed, i)
        variants = {experiment: variant_for(user, experiment, weights)} if experiment else {}
        text = behaviour.decide(state, variants, rng)
        said = () if text is None else ((state, text),)
        end = "dropped" if text is None else "decided"
        paths.append(Path(user, MappingProxyType(variants), said, end, state))
    return Summary(tuple(paths))
