"""Outbound providers: where the campaign sender hands the messages the bot sends first.

* :class:`KakaoEventAPI`: KakaoTalk's chatbot Event API (up to 100 users a request, delivery
  read later from its task API);
* :class:`WebhookProvider`: a signed, idempotent webhook for SMS, e-mail and 알림톡 dealers.

Both implement :class:`Provider` (``port.py``); ``standin`` holds loopback stand-ins of both for
tests and benches. Nothing here imports the stand-ins, so a server never loads them.
"""

from botkit.adapters.outbound.kakao_event import KakaoEventAPI, send_key_of, task_of
from botkit.adapters.outbound.port import Outcome, Outgoing, Provider
from botkit.adapters.outbound.webhook import WebhookProvider, sign, verify_signature

__all__ = [
    "KakaoEventAPI",
    "Outcome",
    "Outgoing",
    "Provider",
    "WebhookProvider",
    "send_key_of",
    "sign",
    "task_of",
    "verify_signature",
]
