"""Settings of `botkit serve` (defaults ← file ← environment ← options) and its JSON logs,
in which phone and order numbers never appear in clear (every spelling: test_masking.py; the
secrets: test_log_secrets.py)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from botkit.errors import ConfigurationError
from botkit.server.config import KakaoSettings, ServerSettings, load_settings
from botkit.server.logs import JsonFormatter


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
    with pytest.raises(ConfigurationError) as caught:
        load_settings(path, env=env)
    assert message in str(caught.value)


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


def test_a_line_whose_arguments_do_not_fit_is_still_written_and_masked() -> None:
    # logging itself would print such a record raw to stderr, arguments and all.
    record = logging.LogRecord(
        "botkit.kakao",
        logging.WARNING,
        __file__,
        1,
        "%d명이 기다려요: %s",
        ("010-1111-2222",),
        None,
    )
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "%d명이 기다려요: %s (its arguments did not fit)"
    assert entry["level"] == "warning"


def test_extra_fields_keep_their_json_kinds() -> None:
    record = logging.LogRecord("botkit.kakao", logging.INFO, __file__, 1, "turn", None, None)
    record.latency_ms = 12.5
    record.status = 415
    record.retried = False
    record.sizes = (1, 2**70)  # past what a JSON number holds: written as text
    entry = json.loads(JsonFormatter().format(record))
    assert (entry["latency_ms"], entry["status"], entry["retried"]) == (12.5, 415, False)
    assert entry["sizes"] == [1, str(2**70)]
