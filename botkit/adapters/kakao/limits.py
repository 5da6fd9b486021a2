"""What a Kakao i Open Builder SkillResponse may hold, as one configurable value.

Each limit cites its section of the research note ``reference/kakao-skill.md`` and how sure the
note is of it. Where the sources disagree or say nothing, the stricter value is used, so that a
response that fits here also fits the real platform; correct a field once Kakao's live docs are
checked. Lengths count characters (code points): Kakao does not say how it counts them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = ["KakaoLimits"]


@dataclass(frozen=True, slots=True)
class KakaoLimits:
    """Kakao's limits on a SkillResponse v2.0; every field can be overridden."""

    # The response as a whole (§2).
    max_outputs: int = 3  # template.outputs holds 1..3 components [transcribed]
    max_quick_replies: int = 10  # template.quickReplies [transcribed]
    # "최대 말풍선 사이즈 30KB" [official FAQ]: read as 30,000 bytes rather than the 30,720 one
    # secondary doc gives, less 10% because Kakao does not say how it measures (§2).
    max_response_bytes: int = 27_000

    # simpleText and simpleImage (§2.1).
    simple_text: int = 1000  # [transcribed]
    simple_text_folded: int = 500  # past this KakaoTalk folds the text behind "전체 보기"
    image_alt_text: int = 50  # the sources say 1000 or 50 [unverified]: the stricter

    # textCard (§2.1) [transcribed].
    text_card_title: int = 50
    text_card_description: int = 400  # a single card: title and description together
    carousel_text_card_description: int = 128  # a card inside a carousel

    # basicCard (§2.1).
    basic_card_title: int = 50  # not in the note: assumed equal to textCard's [unverified]
    basic_card_description: int = 230  # [transcribed]
    card_buttons: int = 3  # buttons on a textCard or basicCard [transcribed]

    # listCard (§2.1).
    list_card_items: int = 5  # [transcribed]
    list_card_buttons: int = 2  # [transcribed]
    list_card_header: int = 50  # not in the note: assumed equal to a card title [unverified]
    list_item_title: int = 50  # not in the note: assumed equal to a card title [unverified]
    # Not in the note: assumed equal to a carousel card's description [unverified].
    list_item_description: int = 128

    # carousel (§2.1).
    carousel_items: int = (
        10  # of basicCards or textCards; 5 would apply to listCards [transcribed]
    )

    # Labels (§2.2, §2.3).
    button_label: int = 14  # 8 when laid out sideways (1:1 thumbnail), which botkit never asks for
    quick_reply_label: int = 14  # not found [unverified]: treated like a button label

    def __post_init__(self) -> None:
        for limit in fields(self):
            if getattr(self, limit.name) < 1:
                raise ValueError(f"KakaoLimits.{limit.name} must be at least 1")
        if self.max_outputs < 2:
            # A handoff keeps one output for Kakao's operator button, and the content that does
            # not fit is carried into another.
            raise ValueError("KakaoLimits.max_outputs must be at least 2")
