"""Bubbles kept in a session for a user's next message come back exactly as they were."""

from __future__ import annotations

import orjson
import pytest

from botkit.effects import Button, Card, Choice, Image, ListItem, Say, say_from_data, say_to_data
from botkit.storage.base import dump_json

BUBBLES = [
    Say(text="안녕하세요, 하늘입니다.", agent="하늘"),
    Say(
        text="주문 1234567890은(는) 지금 '배송중' 상태예요.",
        choices=(Choice("처음으로", "main.start"), Choice("상담원 연결", "support")),
        slot="order_no",
    ),
    Say(
        card=Card(
            "겨울 할인 쿠폰",
            "전 품목 10%",
            Image("https://shop.example.com/쿠폰.png", "쿠폰 이미지"),
            (Button("쿠폰 받기", "payload", "coupon"), Button("상담원", "agent", "")),
        )
    ),
    Say(cards=(Card("목도리"), Card("장갑", "따뜻해요"))),
    Say(image=Image("https://shop.example.com/지도.png")),
    Say(
        header="자주 묻는 질문",
        items=(
            ListItem("배송은 얼마나 걸리나요?", "보통 2-3일", url="https://shop.example.com/faq"),
            ListItem("환불", payload="refund", image=Image("https://shop.example.com/r.png")),
        ),
        buttons=(Button("전화하기", "phone", "1588-0000"),),
    ),
]


@pytest.mark.parametrize("say", BUBBLES)
def test_a_bubble_survives_the_session_store(say: Say) -> None:
    stored = orjson.loads(dump_json(say_to_data(say)))  # as a session keeps it
    assert say_from_data(stored) == say


def test_only_what_is_set_is_kept() -> None:
    assert say_to_data(Say(text="네")) == {"text": "네"}
