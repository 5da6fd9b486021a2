"""The Kakao skill codec: SkillPayloads read, effects rendered within every Kakao limit."""

from __future__ import annotations

import copy
import unicodedata
from collections.abc import Sequence
from typing import Any

import orjson
import pytest

from botkit.adapters.kakao import (
    KakaoContext,
    KakaoLimits,
    KakaoPayloadError,
    parse_payload,
    preview,
    render,
    render_response,
)
from botkit.effects import (
    Button,
    Call,
    Card,
    Choice,
    Effect,
    End,
    HandOff,
    Image,
    ListItem,
    Say,
)

BOT_USER_KEY = "9f3c2a7e4b1d6c8e0a5f7b3d2e1c4a6b8d0f2e4c6a8b0d2f4e6a8c0e2b4d6f8a"

# A user types an order number on the fallback block (the shape of the note's fixture 03).
ORDER_NUMBER_PAYLOAD: dict[str, Any] = {
    "intent": {"id": "6650f1c2a3b4c5d6e7f80912", "name": "폴백 블록"},
    "userRequest": {
        "timezone": "Asia/Seoul",
        "params": {"surface": "Kakaotalk.plusfriend"},
        "block": {"id": "6650f1c2a3b4c5d6e7f80912", "name": "폴백 블록"},
        "utterance": "2024051712",
        "lang": "ko",
        "user": {
            "id": BOT_USER_KEY,
            "type": "botUserKey",
            "properties": {
                "botUserKey": BOT_USER_KEY,
                "plusfriendUserKey": "ckUy2724egt1",
                "appUserId": "3141592653",
                "isFriend": True,
            },
        },
        "callbackUrl": "https://bot-api.kakao.com/callback/v1/8f2e6c1a",
    },
    "bot": {"id": "664f0a1b2c3d4e5f60718293", "name": "겨울쇼핑 도우미"},
    "action": {
        "id": "6650f2d3b4c5d6e7f8091a2b",
        "name": "botkit",
        "params": {"order_no": "2024051712"},
        "detailParams": {
            "order_no": {"origin": "2024051712", "value": "2024051712", "groupName": ""}
        },
        "clientExtra": {},
    },
    "contexts": [
        {
            "name": "order",
            "lifespan": 4,
            "ttl": 600,
            "params": {"order_no": {"value": "2024051712", "resolvedValue": "2024051712"}},
        }
    ],
}


def payload(**changes: Any) -> dict[str, Any]:
    """The order-number payload, with top-level parts replaced."""
    return {**copy.deepcopy(ORDER_NUMBER_PAYLOAD), **changes}


def outputs(effects: Sequence[Effect], limits: KakaoLimits | None = None) -> list[dict[str, Any]]:
    response = render_response(effects, limits or KakaoLimits())
    result: list[dict[str, Any]] = response["template"]["outputs"]
    return result


# -- reading requests --------------------------------------------------------------------------


def test_parse_payload_reads_what_a_turn_needs() -> None:
    request = parse_payload(ORDER_NUMBER_PAYLOAD)

    assert request.user == BOT_USER_KEY
    assert request.bot_id == "664f0a1b2c3d4e5f60718293"
    assert request.utterance == "2024051712"
    assert request.payload is None
    assert request.profile == {
        "botUserKey": BOT_USER_KEY,
        "plusfriendUserKey": "ckUy2724egt1",
        "appUserId": "3141592653",
        "isFriend": True,
    }
    assert request.params == {"order_no": "2024051712"}
    assert request.detail_params["order_no"]["value"] == "2024051712"
    assert request.client_extra == {}
    assert request.contexts == (
        KakaoContext("order", life_span=4, params={"order_no": "2024051712"}, ttl=600),
    )
    assert request.callback_url == "https://bot-api.kakao.com/callback/v1/8f2e6c1a"
    assert request.timezone == "Asia/Seoul"
    assert request.lang == "ko"


def test_parse_payload_ignores_fields_it_does_not_know() -> None:
    body = payload(flow={"lastBlock": {"id": "abc"}}, trace="x-1")
    body["userRequest"]["user"]["properties"]["appUserStatus"] = "REGISTERED"
    body["action"]["newField"] = [1, 2, 3]

    request = parse_payload(body)

    assert request.utterance == "2024051712"
    assert request.profile["appUserStatus"] == "REGISTERED"


def test_an_event_blocks_object_parameters_are_the_event_data_not_a_bad_request() -> None:
    """The Event API's data (a campaign's send keys per user tag) may reach the skill as the
    event block's parameters; an object there is the event's, not a malformed text value."""
    body = payload(
        action={
            "params": {"campaign": "cart_reminder", "sends": {"a1b2c3d4e5f60718": "f" * 32}},
            "detailParams": {},
        }
    )

    request = parse_payload(body)

    assert request.params == {"campaign": "cart_reminder"}
    assert request.event_data == {"sends": {"a1b2c3d4e5f60718": "f" * 32}}


def test_parse_payload_names_the_missing_user_id() -> None:
    body = payload()
    del body["userRequest"]["user"]["id"]

    with pytest.raises(KakaoPayloadError, match=r"^userRequest\.user\.id is missing$") as caught:
        parse_payload(body)
    assert caught.value.field == "userRequest.user.id"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bot": None}, "bot is missing"),
        ({"userRequest": []}, "userRequest should be an object, not an array"),
        ({"action": {"params": {"order_no": 2024051712}}}, "action.params.order_no should be a"),
        ({"contexts": [{"lifespan": 1}]}, r"contexts\[0\]\.name is missing"),
    ],
)
def test_parse_payload_names_the_field_that_is_wrong(change: dict[str, Any], message: str) -> None:
    with pytest.raises(KakaoPayloadError, match=message):
        parse_payload(payload(**change))


def test_parse_payload_rejects_an_empty_user_id_and_a_boolean_where_a_number_belongs() -> None:
    body = payload()
    body["userRequest"]["user"]["id"] = " "
    with pytest.raises(KakaoPayloadError, match=r"userRequest\.user\.id is empty"):
        parse_payload(body)
    body = payload(contexts=[{"name": "order", "lifespan": True}])
    with pytest.raises(KakaoPayloadError, match="lifespan should be a number, not true or false"):
        parse_payload(body)


def test_parse_payload_reads_v1_spellings() -> None:
    body = payload()
    body["userRequest"]["lang"] = "kr"
    body["userRequest"]["user"]["properties"] = {"plusfriend_user_key": "BlGTEYoiNoSh"}
    body["action"]["clientExtra"] = "null"

    request = parse_payload(body)

    assert request.lang == "ko"
    assert request.profile == {"plusfriendUserKey": "BlGTEYoiNoSh"}
    assert request.client_extra == {}


def test_quick_reply_press_comes_back_as_its_payload() -> None:
    response = render_response(
        [Say(text="무엇을 도와드릴까요?", choices=(Choice("배송 조회", "order_status"),))]
    )
    (quick_reply,) = response["template"]["quickReplies"]
    body = payload()  # what Kakao sends when the user presses it
    body["userRequest"]["utterance"] = quick_reply["messageText"]
    body["action"]["clientExtra"] = quick_reply["extra"]

    request = parse_payload(body)

    assert request.utterance == "배송 조회"
    assert request.payload == "order_status"


def test_quick_reply_without_payload_sends_only_its_label() -> None:
    response = render_response([Say(text="도움이 되었나요?", choices=(Choice("네", ""),))])

    assert response["template"]["quickReplies"] == [
        {"label": "네", "action": "message", "messageText": "네"}
    ]


def test_card_button_press_comes_back_as_its_target() -> None:
    card = Card("주문 확인", "겨울 패딩 1벌", buttons=(Button("처음으로", "to", "@main.start"),))
    (output,) = outputs([Say(card=card)])
    (button,) = output["textCard"]["buttons"]
    body = payload()
    body["userRequest"]["utterance"] = button["messageText"]
    body["action"]["clientExtra"] = button["extra"]

    assert parse_payload(body).payload == "@main.start"


# -- golden responses --------------------------------------------------------------------------


def test_greeting_with_quick_replies_renders_as_kakao_expects() -> None:
    greeting = Say(
        text="안녕하세요! 겨울쇼핑 도우미예요. 무엇을 도와드릴까요?",
        choices=(Choice("배송 조회", "order_status"), Choice("상담원 연결", "@support.handoff")),
    )

    rendered = render([greeting])

    assert rendered.response == {
        "version": "2.0",
        "template": {
            "outputs": [
                {"simpleText": {"text": "안녕하세요! 겨울쇼핑 도우미예요. 무엇을 도와드릴까요?"}}
            ],
            "quickReplies": [
                {
                    "label": "배송 조회",
                    "action": "message",
                    "messageText": "배송 조회",
                    "extra": {"botkit": "order_status"},
                },
                {
                    "label": "상담원 연결",
                    "action": "message",
                    "messageText": "상담원 연결",
                    "extra": {"botkit": "@support.handoff"},
                },
            ],
        },
    }
    assert rendered.adjustments == []


ORDER_FOUND: list[Effect] = [
    Say(text="주문하신 상품을 찾았어요."),
    Say(
        card=Card(
            "겨울 패딩 (블랙, L)",
            "배송 중 · 5월 18일 도착 예정",
            Image("https://shop.example.com/p/1001.jpg", "겨울 패딩"),
            buttons=(
                Button("배송 추적", "url", "https://track.example.com/2024051712"),
                Button("택배사 전화", "phone", "1588-1255"),
                Button("처음으로", "to", "@main.start"),
            ),
        )
    ),
    Say(
        header="다른 주문",
        items=(
            ListItem(
                "머플러",
                "5월 2일 · 배송 완료",
                Image("https://shop.example.com/p/2002.jpg"),
                payload="order_2024050201",
            ),
            ListItem("장갑", "4월 28일 · 배송 완료", url="https://shop.example.com/o/2024042803"),
        ),
        buttons=(Button("전체 주문 보기", "url", "https://shop.example.com/orders"),),
        choices=(Choice("처음으로", "@main.start"),),
    ),
    End("resolved"),
]


def test_order_with_card_and_list_renders_as_kakao_expects() -> None:
    rendered = render(ORDER_FOUND)

    assert rendered.response == {
        "version": "2.0",
        "template": {
            "outputs": [
                {"simpleText": {"text": "주문하신 상품을 찾았어요."}},
                {
                    "basicCard": {
                        "thumbnail": {"imageUrl": "https://shop.example.com/p/1001.jpg"},
                        "title": "겨울 패딩 (블랙, L)",
                        "description": "배송 중 · 5월 18일 도착 예정",
                        "buttons": [
                            {
                                "label": "배송 추적",
                                "action": "webLink",
                                "webLinkUrl": "https://track.example.com/2024051712",
                            },
                            {
                                "label": "택배사 전화",
                                "action": "phone",
                                "phoneNumber": "1588-1255",
                            },
                            {
                                "label": "처음으로",
                                "action": "message",
                                "messageText": "처음으로",
                                "extra": {"botkit": "@main.start"},
                            },
                        ],
                    }
                },
                {
                    "listCard": {
                        "header": {"title": "다른 주문"},
                        "items": [
                            {
                                "title": "머플러",
                                "description": "5월 2일 · 배송 완료",
                                "imageUrl": "https://shop.example.com/p/2002.jpg",
                                "action": "message",
                                "messageText": "머플러",
                                "extra": {"botkit": "order_2024050201"},
                            },
                            {
                                "title": "장갑",
                                "description": "4월 28일 · 배송 완료",
                                "link": {"web": "https://shop.example.com/o/2024042803"},
                            },
                        ],
                        "buttons": [
                            {
                                "label": "전체 주문 보기",
                                "action": "webLink",
                                "webLinkUrl": "https://shop.example.com/orders",
                            }
                        ],
                    }
                },
            ],
            "quickReplies": [
                {
                    "label": "처음으로",
                    "action": "message",
                    "messageText": "처음으로",
                    "extra": {"botkit": "@main.start"},
                }
            ],
        },
    }
    assert rendered.adjustments == []


def test_preview_shows_the_order_the_way_kakaotalk_would() -> None:
    assert preview(render(ORDER_FOUND)) == [
        "│ 주문하신 상품을 찾았어요.",
        "",
        "│ [이미지]",
        "│ 겨울 패딩 (블랙, L)",
        "│ 배송 중 · 5월 18일 도착 예정",
        "│ [버튼] 배송 추적",
        "│ [버튼] 택배사 전화",
        "│ [버튼] 처음으로",
        "",
        "│ 다른 주문",
        "│ · 머플러 - 5월 2일 · 배송 완료",
        "│ · 장갑 - 4월 28일 · 배송 완료",
        "│ [버튼] 전체 주문 보기",
        "",
        "( 처음으로 )",
    ]


def test_preview_folds_long_text_and_numbers_carousel_cards() -> None:
    cards = (Card("패딩", "따뜻해요"), Card("머플러"))
    lines = preview(render([Say(text="가" * 600), Say(cards=cards)]))

    assert lines == [
        "│ " + "가" * 500 + "…",
        "│ [전체 보기]",
        "",
        "│ < 1/2 >",
        "│ 패딩",
        "│ 따뜻해요",
        "│ < 2/2 >",
        "│ 머플러",
    ]


def test_preview_keeps_joined_texts_in_one_bubble() -> None:
    said = [Say(text=t) for t in ["하나", "둘", "셋", "넷"]]  # the shortest pair is joined

    assert preview(render(said)) == ["│ 하나", "", "│ 둘", "│", "│ 셋", "", "│ 넷"]


# -- Kakao's limits, one at a time -------------------------------------------------------------


def test_four_messages_become_three_outputs_with_every_word_kept() -> None:
    said = [
        "주문번호를 확인했어요.",
        "겨울 패딩 1벌이 배송 중이에요.",
        "내일 도착 예정이에요.",
        "더 궁금한 점이 있으신가요?",
    ]

    rendered = render([Say(text=t) for t in said])

    texts = [o["simpleText"]["text"] for o in rendered.response["template"]["outputs"]]
    assert len(texts) == 3
    assert "\n\n".join(texts) == "\n\n".join(said)
    assert rendered.adjustments == [
        "4 bubbles are more than Kakao's 3 outputs: adjacent texts joined (4 → 3)"
    ]


def test_rich_bubbles_beyond_three_outputs_are_carried_as_text_into_the_last() -> None:
    effects: list[Effect] = [
        Say(text="이번 주 추천 상품이에요."),
        Say(card=Card("겨울 패딩", "39,000원", Image("https://shop.example.com/p/1.jpg"))),
        Say(cards=(Card("머플러", "12,000원"), Card("장갑", "9,000원"))),
        Say(image=Image("https://shop.example.com/event.png", "겨울 세일 포스터")),
        Say(text="마음에 드는 상품이 있으신가요?"),
    ]

    rendered = render(effects)

    first, card, carried = rendered.response["template"]["outputs"]
    assert first == {"simpleText": {"text": "이번 주 추천 상품이에요."}}
    assert "basicCard" in card
    assert carried["simpleText"]["text"] == (
        "[머플러] 12,000원\n[장갑] 9,000원\n\n"
        "(이미지: 겨울 세일 포스터)\n\n"
        "마음에 드는 상품이 있으신가요?"
    )
    assert rendered.adjustments == [
        "5 bubbles are more than Kakao's 3 outputs: 3 bubbles carried as text into one"
    ]


def test_twelve_quick_replies_keep_ten_and_say_which_were_left_out() -> None:
    labels = ["배송 조회", "주문 취소", "교환", "반품", "영수증", "회원 정보"]
    labels += ["포인트", "이벤트", "매장 안내", "처음으로", "쿠폰", "FAQ"]
    choices = tuple(Choice(label, f"menu_{i}") for i, label in enumerate(labels))

    rendered = render([Say(text="무엇을 도와드릴까요?", choices=choices)])

    quick_replies = rendered.response["template"]["quickReplies"]
    assert [q["label"] for q in quick_replies] == labels[:10]
    assert rendered.adjustments == ["2 quick replies beyond Kakao's 10 were left out: 쿠폰, FAQ"]


def test_text_over_1000_characters_is_cut_at_a_space_with_an_ellipsis() -> None:
    notice = "겨울 세일 기간에는 배송이 하루 이틀 늦어질 수 있어요. " * 50  # 1,600 characters

    rendered = render([Say(text=notice)])

    (output,) = rendered.response["template"]["outputs"]
    text = output["simpleText"]["text"]
    assert len(text) <= 1000
    assert text.endswith("…")
    assert notice.startswith(text[:-1])
    assert notice[len(text) - 1] == " "  # the cut fell between two words
    assert rendered.adjustments == [
        "text '겨울 세일 기간에는 배송이 하루…' cut from 1,600 to 1,000 characters"
    ]


def test_text_without_spaces_is_cut_at_exactly_the_limit() -> None:
    (output,) = outputs([Say(text="가" * 1500)])

    assert output["simpleText"]["text"] == "가" * 999 + "…"


def test_cut_never_splits_a_decomposed_hangul_syllable() -> None:
    typed_on_a_mac = unicodedata.normalize("NFD", "안녕하세요" * 150)  # 2 or 3 jamo a letter

    (output,) = outputs([Say(text=typed_on_a_mac)])

    kept = output["simpleText"]["text"].removesuffix("…")
    assert all("가" <= ch <= "힣" for ch in unicodedata.normalize("NFC", kept))


def test_long_labels_are_cut_but_still_send_the_whole_label() -> None:
    choice = Choice("배송지 주소를 바꾸고 싶어요", "change_address")
    button = Button("주문 상세 내역 자세히 보기", "payload", "order_detail")

    rendered = render([Say(text="선택해 주세요.", buttons=(button,), choices=(choice,))])

    (output,) = rendered.response["template"]["outputs"]
    (quick_reply,) = rendered.response["template"]["quickReplies"]
    assert quick_reply["label"] == "배송지 주소를 바꾸고…"
    assert quick_reply["messageText"] == "배송지 주소를 바꾸고 싶어요"
    assert output["textCard"]["buttons"][0]["label"] == "주문 상세 내역 자세히…"
    assert all(len(label) <= 14 for label in (quick_reply["label"], "주문 상세 내역 자세히…"))
    assert len(rendered.adjustments) == 2


def test_text_card_title_and_description_share_400_characters() -> None:
    card = Card("가" * 60, "나" * 450)

    (output,) = outputs([Say(card=card)])

    title, description = output["textCard"]["title"], output["textCard"]["description"]
    assert title == "가" * 49 + "…"
    assert len(title) + len(description) == 400


def test_basic_card_description_is_cut_to_230_characters() -> None:
    card = Card("겨울 패딩", "따뜻하고 가벼워요. " * 40, Image("https://shop.example.com/p/1.jpg"))

    (output,) = outputs([Say(card=card)])

    assert len(output["basicCard"]["description"]) <= 230


def test_card_keeps_three_buttons_and_names_the_rest() -> None:
    buttons = tuple(Button(label, "payload", label) for label in ["조회", "취소", "교환", "반품"])

    rendered = render([Say(card=Card("주문 2024051712", buttons=buttons))])

    (output,) = rendered.response["template"]["outputs"]
    assert [b["label"] for b in output["textCard"]["buttons"]] == ["조회", "취소", "교환"]
    assert rendered.adjustments == ["1 buttons beyond Kakao's 3 were left out: 반품"]


def test_carousel_keeps_ten_cards() -> None:
    cards = tuple(
        Card(f"상품 {i}", "겨울 신상품", Image(f"https://shop.example.com/p/{i}.jpg"))
        for i in range(1, 13)
    )

    rendered = render([Say(cards=cards)])

    (output,) = rendered.response["template"]["outputs"]
    assert output["carousel"]["type"] == "basicCard"
    assert len(output["carousel"]["items"]) == 10
    assert rendered.adjustments == ["2 cards beyond Kakao's 10 were left out: 상품 11, 상품 12"]


def test_carousel_of_cards_without_images_is_made_of_text_cards() -> None:
    cards = (Card("머플러", "부드러운 캐시미어 " * 20), Card("장갑", "터치 가능"))

    rendered = render([Say(cards=cards)])

    (output,) = rendered.response["template"]["outputs"]
    assert output["carousel"]["type"] == "textCard"
    assert len(output["carousel"]["items"][0]["description"]) <= 128


def test_carousel_mixing_cards_with_and_without_images_leaves_the_images_out() -> None:
    cards = (Card("머플러", image=Image("https://shop.example.com/p/1.jpg")), Card("장갑"))

    rendered = render([Say(cards=cards)])

    (output,) = rendered.response["template"]["outputs"]
    assert output["carousel"] == {
        "type": "textCard",
        "items": [{"title": "머플러"}, {"title": "장갑"}],
    }
    assert rendered.adjustments == [
        "card images left out: a Kakao carousel cannot mix cards with and without one"
    ]


def test_list_card_keeps_five_items_and_two_buttons() -> None:
    items = tuple(ListItem(f"주문 {i}", payload=f"order_{i}") for i in range(1, 8))
    buttons = tuple(
        Button(label, "url", f"https://shop.example.com/{i}")
        for i, label in enumerate(["전체 보기", "반품 안내", "교환 안내"])
    )

    rendered = render([Say(header="최근 주문", items=items, buttons=buttons)])

    (output,) = rendered.response["template"]["outputs"]
    assert [i["title"] for i in output["listCard"]["items"]] == [f"주문 {i}" for i in range(1, 6)]
    assert [b["label"] for b in output["listCard"]["buttons"]] == ["전체 보기", "반품 안내"]
    assert rendered.adjustments == [
        "2 list items beyond Kakao's 5 were left out: 주문 6, 주문 7",
        "1 buttons beyond Kakao's 2 were left out: 교환 안내",
    ]


def test_text_with_buttons_becomes_a_text_card() -> None:
    button = Button("쿠폰 받기", "payload", "get_coupon")

    (output,) = outputs([Say(text="첫 구매 고객께 10% 쿠폰을 드려요.", buttons=(button,))])

    assert output == {
        "textCard": {
            "description": "첫 구매 고객께 10% 쿠폰을 드려요.",
            "buttons": [
                {
                    "label": "쿠폰 받기",
                    "action": "message",
                    "messageText": "쿠폰 받기",
                    "extra": {"botkit": "get_coupon"},
                }
            ],
        }
    }


def test_long_text_with_buttons_puts_its_start_in_a_text_bubble_before_the_card() -> None:
    rules = " ".join(["상품 수령 후 7일 이내에 반품할 수 있어요."] * 20)
    terms = f"환불 규정을 안내해 드려요.\n{rules}\n동의하시면 아래 버튼을 눌러 주세요."
    button = Button("동의합니다", "payload", "agree")

    head, card = outputs([Say(text=terms, buttons=(button,))])

    assert card["textCard"]["description"] == "동의하시면 아래 버튼을 눌러 주세요."
    assert head["simpleText"]["text"] + "\n" + card["textCard"]["description"] == terms


def test_link_buttons_must_be_http() -> None:
    button = Button("앱에서 보기", "url", "shopapp://orders/2024051712")

    rendered = render([Say(card=Card("주문 확인", buttons=(button,)))])

    assert rendered.response["template"]["outputs"] == [{"textCard": {"title": "주문 확인"}}]
    assert rendered.adjustments == [
        "button '앱에서 보기' left out: Kakao opens only http(s) links, not 'shopapp://orders/2024051712'"
    ]


def test_response_over_the_byte_budget_leaves_images_out_first() -> None:
    poster = Image("https://cdn.example.com/event/" + "a" * 3000 + ".png", "겨울 세일 포스터")
    limits = KakaoLimits(max_response_bytes=2000)

    rendered = render([Say(text="겨울 세일이 시작됐어요!"), Say(image=poster)], limits)

    assert rendered.response["template"]["outputs"] == [
        {"simpleText": {"text": "겨울 세일이 시작됐어요!"}},
        {"simpleText": {"text": "(이미지: 겨울 세일 포스터)"}},
    ]
    (note,) = rendered.adjustments
    assert note.startswith("the response (3,")
    assert note.endswith("was over the 2,000-byte budget: images left out")


def test_response_over_the_byte_budget_shortens_texts_next() -> None:
    notices = [Say(text=f"{i}번 공지: " + "배송 일정이 바뀌었어요. " * 70) for i in range(1, 4)]

    rendered = render(notices, KakaoLimits(max_response_bytes=3000))

    assert len(orjson.dumps(rendered.response)) <= 3000
    texts = [o["simpleText"]["text"] for o in rendered.response["template"]["outputs"]]
    assert [t[:5] for t in texts] == ["1번 공지", "2번 공지", "3번 공지"]
    assert all(len(t) <= 250 for t in texts)
    assert rendered.adjustments[-1].endswith(
        "images left out and texts shortened to 250 characters"
    )


def test_three_carousels_of_ten_fit_the_default_budget() -> None:
    cards = tuple(
        Card(
            f"겨울 신상품 {i}번",
            "따뜻하고 가벼운 겨울 외투예요. " * 14,
            Image(f"https://cdn.shop.example.com/products/2024/winter/{i:04d}.jpg?w=640&h=640"),
            buttons=(
                Button("자세히 보기", "url", f"https://shop.example.com/products/{i}"),
                Button("장바구니", "payload", f"cart_add_{i}"),
                Button("문의하기", "payload", f"ask_{i}"),
            ),
        )
        for i in range(1, 11)
    )

    rendered = render([Say(cards=cards)] * 3)

    assert len(orjson.dumps(rendered.response)) <= KakaoLimits().max_response_bytes
    assert rendered.adjustments == [
        "card description '따뜻하고 가벼운 겨울 외투예요.…' "
        "cut from 252 to 128 characters (30 times)",
        "the response (30,936 bytes) was over the 27,000-byte budget: images left out",
    ]


# -- handing over to a person ------------------------------------------------------------------


def test_agent_button_becomes_kakaos_operator_button() -> None:
    button = Button("상담원 연결", "agent", "@support.handoff")

    (output,) = outputs([Say(text="해결되지 않으셨나요?", buttons=(button,))])

    assert output["textCard"]["buttons"] == [{"label": "상담원 연결", "action": "operator"}]


def test_handoff_puts_the_operator_button_under_the_holding_message() -> None:
    effects: list[Effect] = [
        Say(text="상담원을 연결해 드릴게요. 평일 10시~19시에 답변드려요."),
        HandOff("user_request"),
    ]

    (output,) = outputs(effects)

    assert output == {
        "textCard": {
            "description": "상담원을 연결해 드릴게요. 평일 10시~19시에 답변드려요.",
            "buttons": [{"label": "상담원 연결", "action": "operator"}],
        }
    }


def test_handoff_without_a_message_offers_the_operator_button_on_its_own() -> None:
    (output,) = outputs([HandOff("fallback_limit")])

    assert output == {
        "textCard": {
            "title": "상담원 연결",
            "buttons": [{"label": "상담원 연결", "action": "operator"}],
        }
    }


def test_handoff_offers_no_second_operator_button() -> None:
    button = Button("상담원과 대화", "agent", "@support.handoff")
    effects: list[Effect] = [
        Say(text="상담원과 이야기하시겠어요?", buttons=(button,)),
        HandOff("user_request"),
    ]

    (output,) = outputs(effects)

    assert output["textCard"]["buttons"] == [{"label": "상담원과 대화", "action": "operator"}]


def test_handoff_keeps_its_operator_button_when_outputs_run_out() -> None:
    effects: list[Effect] = [
        Say(text="주문을 확인하지 못했어요."),
        Say(card=Card("주문 2024051712", "확인 불가")),
        Say(card=Card("주문 2024051713", "확인 불가")),
        Say(text="상담원을 연결해 드릴게요."),
        HandOff("order_not_found"),
    ]

    first, carried, operator = outputs(effects)

    assert first == {"simpleText": {"text": "주문을 확인하지 못했어요."}}
    assert (
        carried["simpleText"]["text"]
        == "[주문 2024051712] 확인 불가\n\n[주문 2024051713] 확인 불가"
    )
    assert operator["textCard"]["buttons"] == [{"label": "상담원 연결", "action": "operator"}]


def test_agent_written_text_says_a_person_wrote_it() -> None:
    (output,) = outputs([Say(text="안녕하세요, 상담원 김하늘입니다.", agent="haneul")])

    assert output["simpleText"]["text"] == "[상담원] 안녕하세요, 상담원 김하늘입니다."


# -- the rest of the contract ------------------------------------------------------------------


def test_call_effects_never_reach_the_codec() -> None:
    with pytest.raises(ValueError, match="Call\\('lookup_order'\\)"):
        render([Say(text="조회 중이에요."), Call("lookup_order")])


def test_contexts_are_set_with_kakaos_spelling() -> None:
    response = render_response(
        [Say(text="주문번호를 알려 주세요.")],
        context=[KakaoContext("order", life_span=3, params={"step": "ask_order"}, ttl=300)],
    )

    assert response["context"] == {
        "values": [{"name": "order", "lifeSpan": 3, "params": {"step": "ask_order"}, "ttl": 300}]
    }


def test_nothing_to_say_is_reported() -> None:
    rendered = render([End("resolved")])

    assert rendered.response["template"]["outputs"] == []
    assert rendered.adjustments == ["nothing to show, but Kakao needs at least one output"]


def test_limits_must_leave_room_for_an_operator_button() -> None:
    with pytest.raises(ValueError, match="max_outputs must be at least 2"):
        KakaoLimits(max_outputs=1)
    with pytest.raises(ValueError, match="button_label must be at least 1"):
        KakaoLimits(button_label=0)
