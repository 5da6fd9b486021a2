"""``GET /metrics``: live figures in Prometheus' text format, from every committed turn.

Counted from the turn's records as the runtime commits them (a runtime observer): turns and
their latency, handoffs by reason, fallbacks, actions by result with their latency, and the
sessions active in this process. A registry of its own per app, so two apps in one process (as
in tests) never share counters.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response

from botkit.runtime import Reply, Runtime

__all__ = ["LiveMetrics"]

_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class LiveMetrics:
    def __init__(self, runtime: Runtime) -> None:
        self.registry = CollectorRegistry()
        self.turns = Counter(
            "botkit_turns", "Turns committed", ["channel", "ok"], registry=self.registry
        )
        self.latency = Histogram(
            "botkit_turn_seconds",
            "Time of a turn: lock, engine, actions and commit",
            ["channel"],
            buckets=_SECONDS,
            registry=self.registry,
        )
        self.handoffs = Counter(
            "botkit_handoffs", "Handoffs asked for", ["reason"], registry=self.registry
        )
        self.fallbacks = Counter(
            "botkit_fallbacks", "User messages not understood", registry=self.registry
        )
        self.actions = Counter(
            "botkit_actions", "Actions run", ["action", "result"], registry=self.registry
        )
        self.action_latency = Histogram(
            "botkit_action_seconds",
            "Time of an action",
            ["action"],
            buckets=_SECONDS,
            registry=self.registry,
        )
        active = Gauge(
            "botkit_active_sessions",
            "Sessions kept in memory by this process",
            registry=self.registry,
        )
        active.set_function(lambda: len(runtime._cache))
        runtime.observers.append(self.observe)

    def observe(self, channel: str, user: str, reply: Reply) -> None:
        self.turns.labels(channel, str(reply.ok).lower()).inc()
        self.latency.labels(channel).observe(reply.seconds)
        for record in reply.records:
            data = record.data or {}
            if record.kind == "handoff_requested":
                self.handoffs.labels(str(data.get("reason", ""))).inc()
            elif record.kind == "fallback":
                self.fallbacks.inc()
            elif record.kind == "action":
                name = str(data.get("action", ""))
                self.actions.labels(name, str(data.get("result", ""))).inc()
                self.action_latency.labels(name).observe(float(data.get("latency_ms", 0)) / 1000)

    async def endpoint(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
