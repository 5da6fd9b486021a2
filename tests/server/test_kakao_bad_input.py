"""What reaches the Kakao skill that Kakao would never send, or sends oddly, over real HTTP.

One table, one row per request: the status it must get, the error code for a 4xx, and for the
requests that are answered, where the user ends up and what is stored of what they said. For
every row: never a 5xx, a JSON body, no traceback in the body or the logs, and nothing stored
of a rejected request.
"""

from __future__ import annotations

import json
import logging
import unicodedata
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator

from botkit.server import KakaoSettings
from tests.server.conftest import SHOP_BOT_ID, SKILL_PATH, StartServer, session_key, skill_payload

SECRET_PATH = "s3cr3t-skill-key"  # a secret that travels in a URL stays URL-safe
GUARDED = KakaoSettings(secret=SECRET_PATH)
ONE_BOT = KakaoSettings(bot_ids=(SHOP_BOT_ID,))
# A body big enough for a 100,000-character utterance: the default cap (64 KiB) would refuse it
# before the utterance cap (1,000 characters) is reached.
ROOMY = KakaoSettings(max_body_bytes=512 * 1024)
JSON_HEADERS = {"Content-Type": "application/json"}
ONE_MEGABYTE = 1024 * 1024


def body(utterance: str = "안녕하세요", **kwargs: Any) -> bytes:
    """A SkillPayload as UTF-8 JSON, as Kakao sends it."""
    return orjson.dumps(skill_payload(utterance, **kwargs))


def body_with(path: str, value: Any = ..., utterance: str = "안녕하세요") -> bytes:
    """A SkillPayload whose field at dotted ``path`` is ``value``, or left out (``...``)."""
    payload = skill_payload(utterance)
    *parents, last = path.split(".")
    node = payload
    for name in parents:
        node = node[name]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return orjson.dumps(payload)


def nested(depth: int, where: str) -> bytes:
    """A SkillPayload whose ``clientExtra`` or user ``properties`` holds an array ``depth``
    levels deep (written by hand: orjson refuses to write more than 254 levels)."""
    payload = skill_payload("안녕하세요", extra={"botkit": "x"})
    marker = "__nested__"
    if where == "clientExtra":
        payload["action"]["clientExtra"] = marker
    else:
        payload["userRequest"]["user"]["properties"]["membership"] = marker
    text = json.dumps(payload, ensure_ascii=False)
    return text.replace(f'"{marker}"', "[" * depth + "]" * depth).encode()


@dataclass(frozen=True)
class Case:
    """One request and what must come of it."""

    name: str
    status: int
    code: str | None = None  # error.code of a 4xx
    body: bytes = field(default_factory=body, repr=False)
    method: str = "POST"
    path: str = SKILL_PATH
    headers: Mapping[str, str] = field(default_factory=lambda: JSON_HEADERS)
    chunked: bool = False  # sent without Content-Length
    kakao: KakaoSettings = field(default_factory=KakaoSettings)
    error_path: str | None = None  # error.path of an invalid payload
    user: str = "사용자1"
    bot: str = SHOP_BOT_ID
    # For answered requests: where the user is afterwards, slots, what is stored as said.
    state: str | None = None
    slots: Mapping[str, Any] = field(default_factory=dict)
    heard: str | None = None


CASES = [
    # --- the baseline ----------------------------------------------------------------------------
    Case("kakao_payload_is_answered", 200, state="main.start", heard="안녕하세요"),
    Case(
        "charset_in_content_type_is_accepted",
        200,
        headers={"Content-Type": "application/json;charset=UTF-8"},
        state="main.start",
    ),
    # --- the content type ------------------------------------------------------------------------
    Case(
        "text_plain_content_type",
        415,
        "unsupported_media_type",
        headers={"Content-Type": "text/plain; charset=utf-8"},
    ),
    Case(
        "form_content_type",
        415,
        "unsupported_media_type",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ),
    Case("no_content_type", 415, "unsupported_media_type", headers={}),
    # --- the JSON --------------------------------------------------------------------------------
    Case("invalid_json", 400, "invalid_json", body='{"userRequest": {"utterance": "안녕'.encode()),
    Case("empty_body", 400, "invalid_json", body=b""),
    Case(
        "euc_kr_encoded_body",
        400,
        "invalid_json",
        body=json.dumps(skill_payload("배송 조회"), ensure_ascii=False).encode("euc-kr"),
    ),
    Case("json_nested_10000_deep", 400, "invalid_json", body=nested(10_000, "clientExtra")),
    # Under orjson's 1,024 levels, but deeper than the store can write (254): the profile keeps
    # only Kakao's scalar properties, so the nested value is not carried into the session.
    Case(
        "user_properties_nested_300_deep",
        200,
        None,
        body=nested(300, "properties"),
        state="main.start",
    ),
    Case(
        "user_properties_nested_500_deep",
        200,
        None,
        body=nested(500, "properties"),
        state="main.start",
    ),
    Case(
        "lone_surrogate_escape_in_utterance",
        400,
        "invalid_json",
        body=json.dumps(skill_payload("배송\ud800조회")).encode(),
    ),
    # --- the size --------------------------------------------------------------------------------
    Case(
        "one_megabyte_body",
        413,
        "body_too_large",
        body=body("ㅋ" * (ONE_MEGABYTE // 3)),
    ),
    Case(
        "one_megabyte_body_without_content_length",
        413,
        "body_too_large",
        body=body("ㅋ" * (ONE_MEGABYTE // 3)),
        chunked=True,
    ),
    # --- the SkillPayload ------------------------------------------------------------------------
    Case("json_array_body", 400, "invalid_payload", body=b"[]"),
    Case(
        "missing_user_id",
        400,
        "invalid_payload",
        body=body_with("userRequest.user.id"),
        error_path="userRequest.user.id",
    ),
    Case(
        "blank_user_id",
        400,
        "invalid_payload",
        body=body_with("userRequest.user.id", "  "),
        error_path="userRequest.user.id",
    ),
    Case(
        "missing_bot_id",
        400,
        "invalid_payload",
        body=body_with("bot.id"),
        error_path="bot.id",
    ),
    Case(
        "user_request_of_the_wrong_type",
        400,
        "invalid_payload",
        body=body_with("userRequest", "안녕하세요"),
        error_path="userRequest",
    ),
    Case(
        "utterance_of_the_wrong_type",
        400,
        "invalid_payload",
        body=body_with("userRequest.utterance", 1234567890),
        error_path="userRequest.utterance",
    ),
    Case(
        "client_extra_of_the_wrong_type",
        400,
        "invalid_payload",
        body=body_with("action.clientExtra", ["order_status"]),
        error_path="action.clientExtra",
    ),
    Case(
        "forged_payload_to_a_state_never_offered",
        200,
        body=body("안녕하세요", extra={"botkit": "@refund.ask_order"}),
        state="main.start",
    ),
    Case(
        "v1_client_extra_null_string_is_accepted",
        200,
        body=body_with("action.clientExtra", "null"),
        state="main.start",
    ),
    # --- the secret and the bot id ---------------------------------------------------------------
    Case("no_secret", 401, "bad_secret", kakao=GUARDED),
    Case("wrong_secret_in_path", 401, "bad_secret", path=f"{SKILL_PATH}/guess", kakao=GUARDED),
    Case(
        "wrong_secret_in_header",
        401,
        "bad_secret",
        headers={**JSON_HEADERS, "X-Botkit-Secret": "guess"},
        kakao=GUARDED,
    ),
    Case(
        "right_secret_in_path",
        200,
        path=f"{SKILL_PATH}/{SECRET_PATH}",
        kakao=GUARDED,
        state="main.start",
    ),
    Case(
        "right_secret_in_header",
        200,
        headers={**JSON_HEADERS, "X-Botkit-Secret": SECRET_PATH},
        kakao=GUARDED,
        state="main.start",
    ),
    Case(
        "unknown_bot_id",
        403,
        "unknown_bot",
        body=body(bot="남의-봇"),
        bot="남의-봇",
        kakao=ONE_BOT,
    ),
    Case("known_bot_id", 200, kakao=ONE_BOT, state="main.start"),
    # --- odd text that is still a user's message -------------------------------------------------
    Case(
        "nul_characters_in_utterance",
        200,
        body=body("배\x00송 조회\x00"),
        state="order_status.ask_order",
        heard="배송 조회",
    ),
    Case(
        "hundred_thousand_character_utterance",
        200,
        body=body("ㅋ" * 100_000),
        kakao=ROOMY,
        state="main.start",
        heard="ㅋ" * 1000,
    ),
    Case(
        "nfc_korean_utterance",
        200,
        body=body(unicodedata.normalize("NFC", "배송 조회")),
        state="order_status.ask_order",
        heard="배송 조회",
    ),
    Case(
        "nfd_korean_utterance",
        200,
        body=body(unicodedata.normalize("NFD", "배송 조회")),
        state="order_status.ask_order",
        heard="배송 조회",
    ),
    Case(
        "full_width_order_number",
        200,
        body=body("１２３４-５６７-８９０"),
        state="order_status.in_transit",
        slots={"order_no": "1234567890"},
    ),
    # --- routes ----------------------------------------------------------------------------------
    Case("get_on_the_skill_path", 405, "method_not_allowed", method="GET", body=b"", headers={}),
    Case("unknown_path", 404, "not_found", path="/kakao/skil"),
]


def test_nfd_case_really_sends_decomposed_hangul() -> None:
    nfd = unicodedata.normalize("NFD", "배송 조회")
    assert nfd != "배송 조회"
    assert orjson.loads(body(nfd))["userRequest"]["utterance"] == nfd


async def _in_chunks(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_kakao_skill_request(
    case: Case,
    start_server: StartServer,
    skill_response_schema: Draft202012Validator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    server = await start_server(case.kakao)

    response = await server.client.request(
        case.method,
        case.path,
        content=_in_chunks(case.body) if case.chunked else case.body,
        headers=dict(case.headers),
    )

    assert response.status_code == case.status, response.text
    assert response.status_code < 500
    assert response.headers["content-type"] == "application/json"
    answer = response.json()
    assert "Traceback" not in response.text
    assert "Traceback" not in caplog.text
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]

    key = session_key(case.user, case.bot)
    if case.status >= 400:
        assert answer["error"]["code"] == case.code
        assert answer["error"]["message"]
        if case.error_path is not None:
            assert answer["error"]["path"] == case.error_path
        assert await server.store.load(key) is None
        assert await server.store.records() == []
        return

    skill_response_schema.validate(answer)
    session = await server.store.load(key)
    assert session is not None
    assert session.state == case.state
    assert case.slots.items() <= session.slots.items()
    said = [
        (r.data or {})["text"] for r in await server.store.records(session=key, kind="message_in")
    ]
    assert len(said) == 1
    assert len(said[0]) <= server.settings.kakao.max_utterance_chars
    if case.heard is not None:
        assert said == [case.heard]
