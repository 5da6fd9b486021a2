"""Settings of `botkit serve` (defaults ← file ← environment ← options) and its JSON logs,
in which phone and order numbers never appear in clear."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from botkit.server.config import ConfigError, KakaoSettings, ServerSettings, load_settings
from botkit.server.logs import JsonFormatter, mask


def test_defaults_are_safe_on_loopback() -> None:
    settings = load_settings(env={})
    assert settings == ServerSettings()
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.kakao.budget_s == 4.5
    assert settings.kakao.secret is None


def test_file_then_environment_then_options(tmp_path: Path) -> None:
    path = tmp_path / "serve.yaml"
    path.write_text(
        "port: 9000\nstore: sqlite:///봇.db\nkakao:\n  budget_s: 4\n  bot_ids: [shop]\n",
        encoding="utf-8",
    )
    env = {"BOTKIT_KAKAO_SECRET": "s3cret", "BOTKIT_PORT": "9100", "HOME": "/root"}
    settings = load_settings(path, env=env, overrides={"host": "0.0.0.0", "port": None})
    assert settings.port == 9100  # the environment beats the file; an unset option changes nothing
    assert settings.host == "0.0.0.0"
    assert settings.store == "sqlite:///봇.db"
    assert settings.kakao == KakaoSettings(budget_s=4.0, bot_ids=("shop",), secret="s3cret")


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("prot: 9000\n", {}, "serve.yaml: unknown setting 'prot'"),
        ("kakao:\n  budget: 4\n", {}, "serve.yaml, kakao: unknown setting 'budget'"),
        ("port: many\n", {}, "serve.yaml: 'port' cannot be 'many' (expected int)"),
        ("kakao: 3\n", {}, "'kakao' must be a mapping of settings"),
        ("- a\n", {}, "expected a mapping of settings"),
        ("", {"BOTKIT_KAKAO_CALLBACK": "maybe"}, "the environment, kakao: 'callback' cannot be"),
    ],
)
def test_bad_settings_say_which_and_why(
    tmp_path: Path, text: str, env: dict[str, str], message: str
) -> None:
    path = tmp_path / "serve.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env=env)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("연락처 010-1234-5678 입니다", "연락처 010-****-5678 입니다"),
        ("01098765432", "010-****-5432"),
        ("주문 1234-567-890 조회", "주문 1234-***-*** 조회"),
        ("주문번호 1234567890", "주문번호 1234-***-***"),
        ("재고 12개, 3,000원", "재고 12개, 3,000원"),
    ],
)
def test_phone_and_order_numbers_are_masked(text: str, masked: str) -> None:
    assert mask(text) == masked


def test_a_log_line_is_json_with_masked_fields_and_no_traceback() -> None:
    try:
        raise ValueError("주문 1234-567-890 실패")
    except ValueError:
        record = logging.LogRecord(
            "botkit.kakao",
            logging.ERROR,
            __file__,
            1,
            "turn of %s failed",
            ("010-1111-2222",),
            exc_info=__import__("sys").exc_info(),
        )
    record.user = "kakao:shop:01033334444"
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["level"] == "error"
    assert entry["message"] == "turn of 010-****-2222 failed"
    assert entry["error"] == "ValueError: 주문 1234-***-*** 실패"
    assert entry["user"] == "kakao:shop:010-****-4444"
    assert "Traceback" not in line
