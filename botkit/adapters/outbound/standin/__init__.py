"""Loopback stand-ins for the outbound providers, for tests and benches: Kakao's Event API
(:func:`kakao_standin`) and a dealer's signed webhook (:func:`webhook_standin`). Each counts what
it receives, deduplicated by send key, and plays failures on demand; each runs in the test's
event loop (:func:`serving`) or as its own process (:func:`spawn`, or
``python -m botkit.adapters.outbound.standin kakao --port 0``)."""

from botkit.adapters.outbound.standin.faults import Faults
from botkit.adapters.outbound.standin.kakao import DEFAULT_REST_KEY, KakaoStandIn, kakao_standin
from botkit.adapters.outbound.standin.run import (
    StandInProcess,
    StandInUnavailable,
    serving,
    spawn,
)
from botkit.adapters.outbound.standin.webhook import WebhookStandIn, webhook_standin

__all__ = [
    "DEFAULT_REST_KEY",
    "Faults",
    "KakaoStandIn",
    "StandInProcess",
    "StandInUnavailable",
    "WebhookStandIn",
    "kakao_standin",
    "serving",
    "spawn",
    "webhook_standin",
]
