"""The Kakao i Open Builder channel: the pure skill codec (SkillPayload in, SkillResponse out)."""

from __future__ import annotations

from botkit.adapters.kakao.codec import (
    EXTRA_KEY,
    KakaoContext,
    KakaoPayloadError,
    KakaoRendered,
    KakaoRequest,
    parse_payload,
    preview,
    render,
    render_response,
)
from botkit.adapters.kakao.limits import KakaoLimits

__all__ = [
    "EXTRA_KEY",
    "KakaoContext",
    "KakaoLimits",
    "KakaoPayloadError",
    "KakaoRendered",
    "KakaoRequest",
    "parse_payload",
    "preview",
    "render",
    "render_response",
]
