"""Preview: a SkillResponse as KakaoTalk would show it, in plain lines (the console
simulator's ``--channel kakao``)."""

from __future__ import annotations

from typing import Any

from botkit.adapters.kakao.cutting import ELLIPSIS
from botkit.adapters.kakao.limits import KakaoLimits
from botkit.adapters.kakao.render import KakaoRendered

__all__ = ["preview"]

JSONObject = dict[str, Any]
_DEFAULT_LIMITS = KakaoLimits()


def preview(rendered: KakaoRendered, limits: KakaoLimits = _DEFAULT_LIMITS) -> list[str]:
    """Show a response the way KakaoTalk would, in plain lines (for the console simulator).

    Each line of a bubble starts with "│ " (so a blank line inside a bubble is not taken for
    the gap between two), buttons read "[버튼] label", and the quick replies end the preview
    as "( label ) ( label )".
    """
    template = rendered.response.get("template", {})
    lines: list[str] = []
    for output in template.get("outputs", []):
        if lines:
            lines.append("")
        lines.extend(f"│ {line}".rstrip() for line in _preview_output(output, limits))
    quick_replies = template.get("quickReplies", [])
    if quick_replies:
        lines += ["", " ".join(f"( {q['label']} )" for q in quick_replies)]
    return lines


def _preview_output(output: JSONObject, limits: KakaoLimits) -> list[str]:
    ((kind, body),) = output.items()
    if kind == "simpleText":
        text: str = body["text"]
        if len(text) <= limits.simple_text_folded:
            return text.splitlines()
        return [*(text[: limits.simple_text_folded] + ELLIPSIS).splitlines(), "[전체 보기]"]
    if kind == "simpleImage":
        return [f"[이미지] {body['altText']}"]
    if kind == "carousel":
        items = body["items"]
        return [
            line
            for i, item in enumerate(items, 1)
            for line in (f"< {i}/{len(items)} >", *_preview_card(item))
        ]
    if kind == "listCard":
        entries = [
            f"· {item['title']}" + (f" - {item['description']}" if "description" in item else "")
            for item in body["items"]
        ]
        return [body["header"]["title"], *entries, *_preview_buttons(body)]
    return _preview_card(body)


def _preview_card(body: JSONObject) -> list[str]:
    lines = ["[이미지]"] if "thumbnail" in body else []
    if "title" in body:
        lines.append(body["title"])
    lines.extend(body.get("description", "").splitlines())
    return lines + _preview_buttons(body)


def _preview_buttons(body: JSONObject) -> list[str]:
    return [f"[버튼] {b['label']}" for b in body.get("buttons", ())]
