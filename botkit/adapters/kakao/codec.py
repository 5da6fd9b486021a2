"""Kakao i Open Builder skills as pure data: a SkillPayload in, a SkillResponse v2.0 out.

No I/O here. The skill server reads the body, calls :func:`parse_payload`, runs the turn and
answers with :func:`render_response`. The codec is four modules, gathered here: reading the
request (:mod:`~botkit.adapters.kakao.payload`), building the response within Kakao's limits
(:mod:`~botkit.adapters.kakao.render`, cutting text with :mod:`~botkit.adapters.kakao.cutting`)
and showing it as KakaoTalk would (:mod:`~botkit.adapters.kakao.preview`).
"""

from __future__ import annotations

from botkit.adapters.kakao.cutting import ELLIPSIS
from botkit.adapters.kakao.payload import (
    EXTRA_KEY,
    KakaoContext,
    KakaoPayloadError,
    KakaoRequest,
    parse_payload,
)
from botkit.adapters.kakao.preview import preview
from botkit.adapters.kakao.render import (
    AGENT_PREFIX,
    OPERATOR_LABEL,
    KakaoRendered,
    render,
    render_response,
)

__all__ = [
    "AGENT_PREFIX",
    "ELLIPSIS",
    "EXTRA_KEY",
    "OPERATOR_LABEL",
    "KakaoContext",
    "KakaoPayloadError",
    "KakaoRendered",
    "KakaoRequest",
    "parse_payload",
    "preview",
    "render",
    "render_response",
]
