"""``GET /metrics``: live figures in Prometheus' text format, from every committed turn.

Counted from the turn's records as the runtime commits them (a runtime observer): turns and
their latency, handoffs by reason, fallbacks, actions by result with their latency, and the
sessions active in this process. Also the widget's identity tokens refused, by reason (counted
by :class:`~botkit.server.identities.WebIdentities`): a run of ``forged`` or ``replayed`` is
someone trying to pass for a customer, a steady ``expired`` the shop's clock or a cached page.

The observer runs on every turn, so it only adds to plain integers; prometheus-client reads
them when Prometheus scrapes (a custom collector). Its own Counter and Histogram objects take
a lock and walk the buckets on every call, which on this hot path cost more than a tenth of a
turn. A registry of its own per app, so two apps in one process (as in tests) never share
counters.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response

from botkit.records import RecordKind
from botkit.runtime import Reply, Runtime

__all__ = ["LiveMetrics"]

# Every turn's records pass through observe(): the kinds it counts, bound once as plain strings
# (an enum member's attribute lookup on each comparison would cost more than the count).
_FALLBACK = RecordKind.FALLBACK.value
_ACTION = RecordKind.ACTION.value
_HANDOFF_REQUESTED = RecordKind.HANDOFF_REQUESTED.value

BOUNDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class _Histogram:
    """Counts per bucket (not cumulative) and the sum, as plain numbers."""

    __slots__ = ("buckets", "total")

    def __init__(self) -> None:
        self.buckets = [0] * (len(BOUNDS) + 1)  # the last one is +Inf
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.buckets[bisect.bisect_left(BOUNDS, value)] += 1
        self.total += value

    def cumulative(self) -> list[tuple[str, float]]:
        out, running = [], 0
        for bound, count in zip((*map(str, BOUNDS), "+Inf"), self.buckets, strict=True):
            running += count
            out.append((bound, float(running)))
        return out


class LiveMetrics:
    def __init__(
        self, runtime: Runtime, *, identity_refused: Mapping[str, int] | None = None
    ) -> None:
        self.runtime = runtime
        # reason → web identity tokens refused, kept by WebIdentities (read at each scrape;
        # "is None", not "or": the Counter is empty, hence falsy, until the first refusal).
        self.identity_refused: Mapping[str, int] = (
            {} if identity_refused is None else identity_refused
        )
        self.turns: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.latency: defaultdict[str, _Histogram] = defaultdict(_Histogram)
        self.handoffs: defaultdict[str, int] = defaultdict(int)
        self.fallbacks = 0
        self.actions: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.action_latency: defaultdict[str, _Histogram] = defaultdict(_Histogram)
        self.registry = CollectorRegistry()
        self.registry.register(self)
        runtime.observers.append(self.observe)

    def observe(self, channel: str, user: str, reply: Reply) -> None:
        self.turns[(channel, "true" if reply.ok else "false")] += 1
        self.latency[channel].observe(reply.seconds)
        for record in reply.records:
            kind = record.kind
            if kind == _FALLBACK:
                self.fallbacks += 1
            elif kind in (_ACTION, _HANDOFF_REQUESTED):
                self._rare(kind, record.data or {})

    def _rare(self, kind: str, data: dict[str, Any]) -> None:
        if kind == _HANDOFF_REQUESTED:
            self.handoffs[str(data.get("reason", ""))] += 1
            return
        name = str(data.get("action", ""))
        self.actions[(name, str(data.get("result", "")))] += 1
        self.action_latency[name].observe(float(data.get("latency_ms", 0)) / 1000)

    # -- read by prometheus-client at scrape time ------------------------------------------

    def collect(self) -> Iterator[Metric]:
        turns = CounterMetricFamily("botkit_turns", "Turns committed", labels=["channel", "ok"])
        for (channel, ok), n in self.turns.items():
            turns.add_metric([channel, ok], n)
        yield turns
        yield self._histogram(
            "botkit_turn_seconds",
            "Time of a turn: lock, engine, actions and commit",
            "channel",
            self.latency,
        )
        handoffs = CounterMetricFamily("botkit_handoffs", "Handoffs asked for", labels=["reason"])
        for reason, n in self.handoffs.items():
            handoffs.add_metric([reason], n)
        yield handoffs
        yield CounterMetricFamily(
            "botkit_fallbacks", "User messages not understood", value=self.fallbacks
        )
        actions = CounterMetricFamily("botkit_actions", "Actions run", labels=["action", "result"])
        for (name, result), n in self.actions.items():
            actions.add_metric([name, result], n)
        yield actions
        yield self._histogram(
            "botkit_action_seconds", "Time of an action", "action", self.action_latency
        )
        refused = CounterMetricFamily(
            "botkit_identity_refused",
            "Web identity tokens refused: the visitor stayed anonymous",
            labels=["reason"],
        )
        for reason, n in sorted(self.identity_refused.items()):
            refused.add_metric([reason], n)
        yield refused
        yield GaugeMetricFamily(
            "botkit_active_sessions",
            "Sessions kept in memory by this process",
            value=self.runtime.cached_sessions,
        )

    @staticmethod
    def _histogram(
        name: str, documentation: str, label: str, by: dict[str, _Histogram]
    ) -> HistogramMetricFamily:
        family = HistogramMetricFamily(name, documentation, labels=[label])
        for value, histogram in by.items():
            family.add_metric([value], histogram.cumulative(), histogram.total)
        return family

    async def endpoint(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
