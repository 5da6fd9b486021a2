"""`make demo` as the README tells a newcomer to follow it, and what the shell does with the
numbers they type (#16 item 8, acceptance 3).

The terminal test runs the Makefile's own `demo` command in a pseudo-terminal; the others run
the program on piped input, which is quicker to read.
"""

from __future__ import annotations

import asyncio
import io
import re
import shlex
from pathlib import Path

import pexpect
import pytest

import botkit
from botkit.simulator.recording import read_fixtures
from botkit.simulator.runner import run_file
from botkit.simulator.shell import ShellOptions, run_shell
from botkit.simulator.testfile import load_test_file
from tests.simulator.terminal import run_piped, shown, spawn_botkit

REPO = Path(__file__).resolve().parents[2]
FLOWS = REPO / "flows"
DEMO_FIXTURES = FLOWS / "tests" / "demo.fixtures.yaml"
GREETING = "안녕하세요! 쇼핑몰 도우미예요. 무엇을 도와드릴까요?"


def demo_arguments() -> list[str]:
    """The arguments `make demo` gives `botkit shell`, read from the Makefile's recipe."""
    recipe = (REPO / "Makefile").read_text("utf-8").split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    line = next(line for line in recipe.splitlines() if "/botkit shell " in line)
    return shlex.split(line.split("/botkit ", 1)[1])


def piped(lines: list[str], options: ShellOptions | None = None) -> str:
    """What the shell prints for these lines on piped input (the demo's fixtures by default)."""
    options = options or ShellOptions(FLOWS, fixtures=DEMO_FIXTURES)
    return run_piped(options, "\n".join(lines) + "\n")


# --- acceptance: make demo in a terminal --------------------------------------------------------

STEPS = [  # what the newcomer types, and what must come back
    ("안녕하세요", GREETING),
    ("1", "주문번호 10자리를 알려 주세요"),  # 배송 조회
    ("1234-567-890", "'배송중' 상태예요"),
    ("처음으로", GREETING),
    ("2", "주문번호 10자리를 알려 주세요"),  # 환불: variant A asks for the number at once
    ("1234567890", "환불 사유를 골라 주세요"),
    ("1", "'단순 변심'(으)로 접수할까요?"),
    ("1", "휴대폰 번호를 알려 주세요"),
    ("010-1234-5678", "환불 신청이 접수되었어요"),
]


def test_make_demo_greets_and_both_lookups_succeed_on_the_variant_it_pins(
    tmp_path: Path,
) -> None:
    arguments = demo_arguments()
    assert arguments[:2] == ["shell", "flows/"]
    assert "--fixtures" in arguments
    log = io.StringIO()
    child = spawn_botkit(arguments, home=tmp_path)
    child.logfile_read = log
    try:
        child.expect(shown("5. 상담원 연결"))  # the full menu: the experiment is pinned to A
        for typed, answer in STEPS:
            child.expect(shown("> "))
            child.send(typed + "\r")
            child.expect(shown(answer))
        child.expect(shown("> "))
        child.send("/quit\r")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    said = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", log.getvalue())
    for unwanted in ("잘 이해하지 못했어요", "문제가 생겼어요", "반가워요", "Traceback"):
        assert unwanted not in said


# --- the demo's fixtures -------------------------------------------------------------------------


def test_the_demo_answers_every_declared_http_call_with_a_fixture() -> None:
    app = botkit.load(FLOWS)
    declared = {name for name, action in app.bot.actions.items() if action.http is not None}
    fixture_file = read_fixtures(DEMO_FIXTURES, app)
    assert declared <= set(fixture_file.fixtures.actions)


def test_the_demo_pins_its_experiments_to_one_variant_unless_asked_otherwise() -> None:
    assert "variant       greeting_title:A" in piped(["/state"])
    for user in ("데모", "민지", "tester"):  # whoever tries it
        options = ShellOptions(FLOWS, fixtures=DEMO_FIXTURES, user=user)
        assert piped(["/state"], options).count("greeting_title:A") == 1
    chosen = piped(["/state"], ShellOptions(FLOWS, fixtures=DEMO_FIXTURES, variant="C"))
    assert "반가워요! 주문, 배송, 환불 무엇이든 물어보세요." in chosen
    assert "greeting_title:C" in chosen


def test_an_unknown_variant_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_shell(ShellOptions(FLOWS, variant="Z"), interactive=False) == 2
    assert "--variant: no experiment has a variant 'Z'; the variants are: A, B, C" in (
        capsys.readouterr().err
    )


# --- numbers typed in the shell ------------------------------------------------------------------


def test_a_number_the_question_takes_is_the_answer_not_a_choice() -> None:
    printed = piped(["/goto promotion.survey", "2", "/slots"])
    assert "1. 1   2. 3   3. 5" in printed
    assert "사용자: 2\n" in printed  # sent as typed, not as a press of the 2nd choice ("3")
    assert re.search(r"score\s+2\b", printed)
    printed = piped(["/goto promotion.survey", "3", "/slots"])
    assert "사용자: [3]" in printed  # the label typed in full presses it
    assert re.search(r"score\s+3\b", printed)


def test_a_number_that_is_no_answer_still_picks_a_choice() -> None:
    printed = piped(["/goto refund.ask_order", "1234567890", "2", "/slots"])
    assert "사용자: [상품 불량]" in printed
    printed = piped(["/goto promotion.survey", "7"])  # 7 is out of 1–5 and there are 3 choices
    assert "1부터 5까지의 숫자로 답해 주세요." in printed


def test_faq_list_items_are_picked_by_number(tmp_path: Path) -> None:
    recording = tmp_path / "faq.test.yaml"
    options = ShellOptions(FLOWS, fixtures=DEMO_FIXTURES, record=recording)
    printed = piped(["4", "1", "처음으로", "4", "적립금은요?", "2", "처음으로", "4", "3"], options)
    assert "사용자: [배송비는 얼마인가요?]" in printed
    assert "3만 원 이상 구매하시면 무료 배송" in printed
    assert "사용자: [영업시간이 어떻게 되나요?]" in printed  # after a fallback too
    assert (
        "✗ 3. 교환은 어떻게 하나요? is a link (https://shop.example.com/help/exchange)" in printed
    )

    app = botkit.load(FLOWS)
    test = load_test_file(recording, app.bot)
    assert test.problems == []
    (conversation,) = test.conversations
    assert ("user", "배송비는 얼마인가요?") in [(s.kind, s.value) for s in conversation.steps]
    assert [r.failure for r in asyncio.run(run_file(app, test))] == [None]


def test_with_quick_replies_on_screen_a_number_presses_a_quick_reply() -> None:
    # the winter-sale offer (a list and quick replies; 1 is 쿠폰 받기), reached by /goto: on the
    # demo's November clock the menu's 이벤트 says that no event runs
    printed = piped(["/goto promotion.offer", "1"])
    assert "사용자: [쿠폰 받기]" in printed
