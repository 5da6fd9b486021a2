"""A shopper's KakaoTalk conversation with the reference bot, over real HTTP.

Every answer is checked against ``skill-response.schema.json`` (SkillResponse 2.0, written from
the research note) and Kakao's 30 KB bubble size by ``KakaoChat`` before a test reads it; the
tests then check that the Korean the shopper reads is what ``flows/`` says.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
import pytest
from jsonschema import Draft202012Validator

from botkit.runtime import ActionContext
from botkit.server import KakaoSettings
from tests.server.conftest import (
    KakaoChat,
    RunningServer,
    StartServer,
    buttons,
    lookup_order,
    quick_reply,
    session_key,
    texts,
)

GREETING = "안녕하세요! 쇼핑몰 도우미예요. 무엇을 도와드릴까요?"
MENU = ["배송 조회", "환불", "이벤트", "자주 묻는 질문", "상담원 연결"]
ASK_ORDER_NO = "주문번호 10자리를 알려 주세요. (예: 1234-567-890)"
ORDER_NO_AGAIN = "주문번호는 숫자 10자리예요. 다시 입력해 주세요."
IN_TRANSIT = [
    "조회 중이에요…",
    "주문 1234567890은(는) 지금 '배송중' 상태예요.",
    "CJ대한통운 · 도착 예정 11월 27일",
]
HANDOFF = "상담원을 연결해 드릴게요. 잠시만 기다려 주세요. 대화 내용은 상담원에게 그대로 전달돼요."
OPERATOR_BUTTON = {"label": "상담원 연결", "action": "operator"}
CALLBACK_URL = "https://bot-api.kakao.com/callback/v1/8f2e6c1a-27d4-4b0e-9c3f-5a1d7e2b9c40"


async def test_greeting_offers_the_menu_as_quick_replies(kakao: KakaoChat) -> None:
    answer = await kakao.say("안녕하세요")

    assert texts(answer) == [GREETING]
    assert [reply["label"] for reply in answer["template"]["quickReplies"]] == MENU
    assert quick_reply(answer, "배송 조회") == {
        "label": "배송 조회",
        "action": "message",
        "messageText": "배송 조회",
        "extra": {"botkit": "order_status"},
    }
    assert await kakao.session_state() == "main.start"


async def test_menu_click_comes_back_with_its_extra_as_client_extra(kakao: KakaoChat) -> None:
    greeting = await kakao.say("안녕하세요")

    answer = await kakao.press(quick_reply(greeting, "배송 조회"))

    assert texts(answer) == [ASK_ORDER_NO]
    assert [reply["label"] for reply in answer["template"]["quickReplies"]] == [
        "주문번호 찾는 법",
        "취소",
    ]
    assert await kakao.session_state() == "order_status.ask_order"


async def test_quick_reply_click_is_mapped_by_its_payload_not_its_text(
    server: RunningServer, skill_response_schema: Draft202012Validator
) -> None:
    clicking = KakaoChat(server, skill_response_schema, user="사용자1")
    typing = KakaoChat(server, skill_response_schema, user="사용자2")
    delivery = quick_reply(await clicking.say("안녕하세요"), "배송 조회")
    await typing.say("안녕하세요")

    # The block's messageText was edited to "환불" in Open Builder; clientExtra still says
    # which quick reply was pressed.
    clicked = await clicking.say("환불", extra=delivery["extra"])
    typed = await typing.say("환불")

    assert texts(clicked) == [ASK_ORDER_NO]
    assert await clicking.session_state() == "order_status.ask_order"
    # Typed, the same text starts a refund (in the A or B copy of refund_copy).
    assert any("7일 안" in text for text in texts(typed))
    assert (await typing.session_state() or "").startswith("refund.")


async def test_menu_click_to_a_state_reaches_it_whatever_the_text(kakao: KakaoChat) -> None:
    greeting = await kakao.say("안녕하세요")
    faq = quick_reply(greeting, "자주 묻는 질문")

    await kakao.say("음… 이거요", extra=faq["extra"])

    assert await kakao.session_state() == "faq.start"


async def test_order_number_is_looked_up_and_the_parcel_status_told(kakao: KakaoChat) -> None:
    greeting = await kakao.say("안녕하세요")
    await kakao.press(quick_reply(greeting, "배송 조회"))

    answer = await kakao.say("1234-567-890")

    assert texts(answer) == IN_TRANSIT
    assert buttons(answer) == [
        {"label": "택배사 고객센터", "action": "phone", "phoneNumber": "1588-1255"},
        OPERATOR_BUTTON,
    ]
    assert [reply["label"] for reply in answer["template"]["quickReplies"]] == [
        "다른 주문 조회",
        "처음으로",
    ]
    session = await kakao.server.store.load(session_key())
    assert session is not None
    assert session.state == "order_status.in_transit"
    assert session.slots["order_no"] == "1234567890"


async def test_a_first_message_that_asks_for_a_lookup_offers_only_the_prompts_choices(
    kakao: KakaoChat,
) -> None:
    answer = await kakao.say("택배 어디쯤 왔나요")

    assert texts(answer) == [GREETING, ASK_ORDER_NO]
    # The greeting's menu belongs to a screen the user has already left in this turn.
    assert [reply["label"] for reply in answer["template"]["quickReplies"]] == [
        "주문번호 찾는 법",
        "취소",
    ]
    session = await kakao.server.store.load(session_key())
    assert session is not None
    assert set(session.offered or ()) == {"order_no_help", "cancel"}


async def test_invalid_order_number_is_asked_for_again(kakao: KakaoChat) -> None:
    greeting = await kakao.say("안녕하세요")
    await kakao.press(quick_reply(greeting, "배송 조회"))

    again = await kakao.say("12-34")
    found = await kakao.say("1234-567-890")

    assert texts(again) == [ORDER_NO_AGAIN]
    assert texts(found) == IN_TRANSIT


async def test_asking_for_an_agent_hands_off_with_kakaos_operator_button(
    kakao: KakaoChat,
) -> None:
    await kakao.say("안녕하세요")

    answer = await kakao.say("상담원 연결")

    assert texts(answer) == [HANDOFF]
    assert buttons(answer) == [OPERATOR_BUTTON]
    session = await kakao.server.store.load(session_key())
    assert session is not None
    assert (session.state, session.status) == ("support.agent", "handoff_requested")


async def test_callback_url_is_ignored_when_the_callback_is_disabled(kakao: KakaoChat) -> None:
    answer = await kakao.say("안녕하세요", callback_url=CALLBACK_URL)

    assert "useCallback" not in answer
    assert texts(answer) == [GREETING]


async def test_slow_lookup_answers_use_callback_then_posts_the_reply_to_kakao(
    start_server: StartServer, skill_response_schema: Draft202012Validator
) -> None:
    courier_answers = asyncio.Event()
    posted: list[httpx.Request] = []
    kakao_received = asyncio.Event()

    async def slow_lookup(ctx: ActionContext) -> dict[str, Any]:
        await courier_answers.wait()
        return lookup_order(ctx)

    async def kakao_callback_api(request: httpx.Request) -> httpx.Response:
        posted.append(request)
        kakao_received.set()
        return httpx.Response(200, json={"taskId": "c0ffee", "status": "SUCCESS"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(kakao_callback_api)) as http:
        server = await start_server(
            KakaoSettings(callback=True, budget_s=0.05),
            stubs={"lookup_order": slow_lookup},
            http=http,
        )
        kakao = KakaoChat(server, skill_response_schema)
        greeting = await kakao.say("안녕하세요")
        await kakao.press(quick_reply(greeting, "배송 조회"))

        interim = await kakao.say("1234-567-890", callback_url=CALLBACK_URL)
        courier_answers.set()
        await asyncio.wait_for(kakao_received.wait(), timeout=5)

    assert interim == {
        "version": "2.0",
        "useCallback": True,
        "data": {"text": "답변을 준비하고 있어요. 잠시만 기다려 주세요."},
    }
    ((callback,),) = [posted]
    assert str(callback.url) == CALLBACK_URL
    final = orjson.loads(callback.content)
    skill_response_schema.validate(final)
    assert texts(final) == IN_TRANSIT


# --- the schema has teeth: what Kakao would refuse, it refuses -----------------------------

TEXT = {"simpleText": {"text": "주문번호 10자리를 입력해 주세요."}}
MESSAGE_REPLY = {"label": "처음으로", "action": "message", "messageText": "처음으로"}


def response(*outputs: dict[str, Any], **template: Any) -> dict[str, Any]:
    return {"version": "2.0", "template": {"outputs": list(outputs), **template}}


def operator_card(**button: Any) -> dict[str, Any]:
    return {"textCard": {"title": "상담원 연결", "buttons": [{**OPERATOR_BUTTON, **button}]}}


@pytest.mark.parametrize(
    "answer",
    [
        # §2.6, as the note writes them.
        response(
            TEXT,
            quickReplies=[
                MESSAGE_REPLY,
                {
                    "label": "상담원 연결",
                    "action": "block",
                    "blockId": "6650f1c2a3b4c5d6e7f80912",
                    "extra": {"reason": "user_request"},
                },
            ],
        ),
        response(operator_card()),
        # §3: the callback's interim answer, with and without data.
        {"version": "2.0", "useCallback": True, "data": {"text": "생각하고 있는 중이에요..."}},
        {"version": "2.0", "useCallback": True},
        # §2.5: a context set with the answer.
        {
            **response(TEXT),
            "context": {"values": [{"name": "order", "lifeSpan": 3, "params": {"no": "1"}}]},
        },
    ],
    ids=["quick_replies", "operator_card", "interim_with_data", "interim_bare", "context"],
)
def test_schema_accepts_the_research_notes_examples(
    skill_response_schema: Draft202012Validator, answer: dict[str, Any]
) -> None:
    skill_response_schema.validate(answer)


def problems(validator: Draft202012Validator, answer: dict[str, Any]) -> set[str]:
    """Where the answer breaks the schema, as dotted paths (inside oneOf's branches too)."""
    found: set[str] = set()
    pending = list(validator.iter_errors(answer))
    while pending:
        error = pending.pop()
        found.add(".".join(str(part) for part in error.absolute_path))
        pending.extend(error.context or ())
    return found


@pytest.mark.parametrize(
    ("answer", "where"),
    [
        pytest.param({"template": {"outputs": [TEXT]}}, "", id="no_version"),
        pytest.param(response(), "template.outputs", id="no_outputs"),
        pytest.param(response(TEXT, TEXT, TEXT, TEXT), "template.outputs", id="four_outputs"),
        pytest.param(
            response(TEXT, quickReplies=[{**MESSAGE_REPLY, "label": f"{n}번"} for n in range(11)]),
            "template.quickReplies",
            id="eleven_quick_replies",
        ),
        pytest.param(
            response({"simpleText": {"text": "가" * 1001}}),
            "template.outputs.0.simpleText.text",
            id="text_over_1000_characters",
        ),
        pytest.param(
            response({**TEXT, "simpleImage": {"imageUrl": "https://a.kr/1.png", "altText": "x"}}),
            "template.outputs.0",
            id="two_components_in_one_output",
        ),
        pytest.param(
            response({"textCard": {"buttons": [OPERATOR_BUTTON]}}),
            "template.outputs.0.textCard",
            id="text_card_without_title_or_description",
        ),
        pytest.param(
            response(operator_card(label="지금 바로 상담원과 연결하기")),
            "template.outputs.0.textCard.buttons.0.label",
            id="button_label_over_14_characters",
        ),
        pytest.param(
            response(operator_card(messageText="상담원 연결")),
            "template.outputs.0.textCard.buttons.0",
            id="operator_button_with_a_message",
        ),
        pytest.param(
            response(operator_card(action="webLink", webLinkUrl="javascript:alert(1)")),
            "template.outputs.0.textCard.buttons.0.webLinkUrl",
            id="web_link_that_is_not_http",
        ),
        pytest.param(
            response(TEXT, quickReplies=[{"label": "상담", "action": "block"}]),
            "template.quickReplies.0",
            id="block_quick_reply_without_block_id",
        ),
        pytest.param(
            {"version": "2.0", "useCallback": False}, "useCallback", id="use_callback_false"
        ),
    ],
)
def test_schema_rejects_what_kakao_would_refuse(
    skill_response_schema: Draft202012Validator, answer: dict[str, Any], where: str
) -> None:
    assert where in problems(skill_response_schema, answer)
