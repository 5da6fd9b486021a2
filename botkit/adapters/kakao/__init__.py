"""The Kakao i Open Builder channel: the pure skill codec (SkillPayload in, SkillResponse out)
and its settings. The endpoint (:mod:`botkit.adapters.kakao.endpoint`) is imported on its own:
it brings the runtime and an HTTP stack, which the codec's users (the console) do not need."""

from __future__ import annotations

from botkit.adapters.kakao.limits import KakaoLimits
from botkit.adapters.kakao.payload import (
    EXTRA_KEY,
    KakaoContext,
    KakaoPayloadError,
    KakaoRequest,
    parse_payload,
)
from botkit.adapters.kakao.preview import preview
from botkit.adapters.kakao.render import KakaoRendered, render, render_response
from botkit.adapters.kakao.settings import KakaoSettings

__all__ = [
    "EXTRA_KEY",
    "KakaoContext",
    "KakaoLimits",
    "KakaoPayloadError",
    "KakaoRendered",
    "KakaoRequest",
    "KakaoSettings",
    "parse_payload",
    "preview",
    "render",
    "render_response",
]
