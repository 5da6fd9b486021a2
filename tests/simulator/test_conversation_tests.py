"""Conversation test files: `botkit test`, its reports, coverage, and the pytest plugin.

The café bot in ``tests/simulator/cafe`` is small and stable, so the golden reports below do not
change when the reference bot's texts do.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from botkit.cli.main import cli

CAFE = Path(__file__).parent / "cafe"


@pytest.fixture
def cafe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the café bot, with the working folder set to the copy's parent."""
    folder = tmp_path / "cafe"
    shutil.copytree(CAFE, folder)
    monkeypatch.chdir(tmp_path)
    return folder


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def write_tests(folder: Path, text: str) -> None:
    tests = folder / "tests"
    shutil.rmtree(tests)
    tests.mkdir()
    (tests / "mine.test.yaml").write_text(text, encoding="utf-8")


def test_the_cafe_tests_pass_and_visit_every_state(cafe: Path) -> None:
    code, out = run("test", "cafe", "--coverage")
    assert code == 0, out
    assert "  order                6/6 states (100%)            7/7 transitions (100%)" in out
    assert out.rstrip().endswith("5 passed, 0 failed")


def test_a_changed_text_fails_with_a_diff_the_transcript_and_exit_1(cafe: Path) -> None:
    path = cafe / "tests" / "cafe.test.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("남은 수량 3잔.", "남은 수량 4잔."), encoding="utf-8")

    code, out = run("test", "cafe")

    assert code == 1
    assert (
        "✗ cafe/tests/cafe.test.yaml · 라떼 주문\n"
        + (
            "    cafe/tests/cafe.test.yaml:18:14: step 3 (user: 카페라떼 주세요): "
            "the bot's text differs\n"
            "      expected: latte 준비할게요. 남은 수량 4잔.\n"
            "      actual:   latte 준비할게요. 남은 수량 3잔.\n"
            "      transcript:\n"
            "        사용자: 안녕하세요\n"
            "        봇: 어서 오세요! 무엇을 드릴까요?\n"
            "        사용자: [주문하기]\n"
            "        봇: 어떤 음료로 드릴까요?\n"
            "        사용자: 카페라떼 주세요\n"
            "        봇: latte 준비할게요. 남은 수량 3잔.\n"
        )
        in out
    )
    assert out.rstrip().endswith("4 passed, 1 failed")


def test_several_bubbles_that_differ_show_a_line_diff(cafe: Path) -> None:
    write_tests(
        cafe,
        """
conversations:
  - name: 품절
    fixtures: {actions: {check_stock: {result: error}}}
    steps:
      - choose: 1
        bot: "어서 오세요!"
""",
    )
    code, out = run("test", "cafe")
    assert code == 1
    assert "step 1 (choose: 1): there is no such choice on screen" in out
    assert "actual:   (no choices were offered)" in out

    write_tests(
        cafe,
        """
conversations:
  - name: 품절
    fixtures: {actions: {check_stock: {result: error}}}
    steps:
      - user: 주문
      - choose: 주문하기
      - user: 라떼
        bot: "죄송해요, 지금은 주문할 수 없어요.\\n어서 오세요! 무엇을 주문하시겠어요?"
""",
    )
    code, out = run("test", "cafe")
    assert code == 1
    assert (
        "      diff (- expected, + actual):\n"
        "          죄송해요, 지금은 주문할 수 없어요.\n"
        "        - 어서 오세요! 무엇을 주문하시겠어요?\n"
        "        + 어서 오세요! 무엇을 드릴까요?\n"
    ) in out


def test_each_kind_of_expectation_says_what_differs(cafe: Path) -> None:
    steps = {
        "choices: [주문하기]": "the choices differ",
        "state: order.ready": "the state differs",
        "slots: {drink: latte}": "slot 'drink' is not filled",
        "status: closed": "the conversation's status differs",
        "end: resolved": "the conversation did not end as expected",
        "records: [goal]": "no 'goal' record (in this order)",
        "bot: {contains: 아메리카노}": "the bot's text differs",
        "bot: {regex: '^메뉴'}": "the bot's text differs",
        "bot: [하나, 둘]": "the bot said 1 message(s), not 2",
    }
    for expectation, complaint in steps.items():
        write_tests(
            cafe,
            f"""
conversations:
  - name: 기대
    steps:
      - user: 안녕하세요
        {expectation}
""",
        )
        code, out = run("test", "cafe")
        assert code == 1, expectation
        assert f"step 1 (user: 안녕하세요): {complaint}" in out, out


def test_partial_tests_list_what_they_never_visited(cafe: Path) -> None:
    write_tests(
        cafe,
        """
conversations:
  - name: 메뉴만
    steps:
      - user: 안녕하세요
      - choose: 주문하기
""",
    )
    code, out = run("test", "cafe", "--coverage")
    assert code == 0
    assert "  order                2/6 states (33%)             1/7 transitions (14%)" in out
    for state in ("stock", "ready", "sold_out", "staff"):
        assert f"      never visited: state order.{state}\n" in out
    assert "      never taken:   order.menu → order.staff (quick reply: 직원 호출)\n" in out


def test_problems_in_a_test_file_are_shown_at_their_line(cafe: Path) -> None:
    write_tests(
        cafe,
        """fixtures:
  actions:
    check_stok: {result: ok}
conversations:
  - name: 문제
    steps:
      - user: 안녕하세요
        choose: 1
      - wait: 10분
      - goto: order.nowhere
      - user: 라떼
        colour: blue
""",
    )
    code, out = run("test", "cafe")
    assert code == 1
    assert out.startswith(
        "cafe/tests/mine.test.yaml:7:9: error[BK601]: a step must do exactly one thing\n"
        "  |\n"
        "7 |       - user: 안녕하세요\n"
        "  |         ^\n"
        "  = expected: one of user:, choose:, wait:, goto:, agent:\n"
        "\n"
        "cafe/tests/mine.test.yaml:9:15: error[BK601]: '10분' is not a duration\n"
    ), out
    assert "mine.test.yaml:12:9: error[BK601]: unknown key 'colour'" in out
    assert out.rstrip().endswith("0 passed, 1 failed")

    write_tests(
        cafe,
        """fixtures:
  actions:
    check_stok: {result: ok}
conversations:
  - name: 문제
    steps:
      - goto: order.nowhere
""",
    )
    code, out = run("test", "cafe")
    assert code == 1
    assert "mine.test.yaml:3:5: error[BK602]: the bot declares no action 'check_stok'" in out
    assert "mine.test.yaml:7:15: error[BK602]: the bot has no state 'order.nowhere'" in out


def test_an_empty_list_of_conversations_says_at_least_one(cafe: Path) -> None:
    write_tests(cafe, "conversations: []\n")
    code, out = run("test", "cafe")
    assert code == 1
    assert out.startswith(
        "cafe/tests/mine.test.yaml:1:16: error[BK601]: there are no conversations here\n"
        "  |\n"
        "1 | conversations: []\n"
        "  |                ^\n"
        "  = expected: at least one conversation\n"
    ), out
    assert "a array" not in out


def test_a_wrong_type_says_an_array(cafe: Path) -> None:
    write_tests(cafe, "conversations: hello\n")
    code, out = run("test", "cafe")
    assert code == 1
    assert "  = expected: an array\n" in out, out


def test_a_failure_while_waiting_for_an_agent_says_why_the_bot_is_quiet(cafe: Path) -> None:
    write_tests(
        cafe,
        """conversations:
  - name: 직원 호출 중
    steps:
      - user: 안녕하세요
      - choose: 직원 호출
      - user: 라떼 주세요
        bot: 라떼 나왔어요
""",
    )
    code, out = run("test", "cafe")
    assert code == 1
    assert (
        "    cafe/tests/mine.test.yaml:7:14: step 3 (user: 라떼 주세요): the bot's text differs\n"
        "      expected: 라떼 나왔어요\n"
        "      actual:   (nothing)\n"
        "      why:      the conversation is waiting for an agent (status: handoff_requested), "
        "so the bot does not answer; an 'agent:' step (say:, release: or close:) goes on "
        "from here\n"
        "      transcript:\n"
    ) in out, out


def test_nothing_to_run_is_an_error(cafe: Path) -> None:
    shutil.rmtree(cafe / "tests")
    code, out = run("test", "cafe")
    assert code == 2
    assert "no conversation test files (*.test.yaml)" in out


def test_pytest_collects_each_conversation(cafe: Path) -> None:
    path = cafe / "tests" / "cafe.test.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("남은 수량 3잔.", "남은 수량 4잔."), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", str(cafe)],
        capture_output=True,
        text=True,
        cwd=cafe.parent,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 1, out
    assert "cafe.test.yaml::품절이면 메뉴로 돌아가요 PASSED" in out
    assert "cafe.test.yaml::라떼 주문 FAILED" in out
    assert "step 3 (user: 카페라떼 주세요): the bot's text differs" in out
    assert "1 failed, 4 passed" in out


REFERENCE = Path(__file__).resolve().parents[2] / "flows"


def test_the_reference_bot_tests_visit_every_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REFERENCE.parent)
    code, out = run("test", "flows", "--coverage")
    assert code == 0, out
    flows = [line.split() for line in out.splitlines() if "states (" in line]
    assert {f[0] for f in flows} == {
        "faq",
        "main",
        "order_status",
        "promotion",
        "refund",
        "support",
    }
    for name, visited, *_ in flows:
        done, total = visited.split("/")
        assert done == total, f"flow {name}: {visited} states visited"
    assert "never visited" not in out


def test_a_changed_text_in_a_copy_of_the_reference_tests_fails_readably(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(REFERENCE, tmp_path / "flows")
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "flows" / "tests" / "order_status.test.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count('"주문번호 10자리를 알려 주세요. (예: 1234-567-890)"') >= 1
    path.write_text(
        text.replace(
            '"주문번호 10자리를 알려 주세요. (예: 1234-567-890)"',
            '"주문번호를 알려 주세요. (예: 1234-567-890)"',
            1,
        ),
        encoding="utf-8",
    )
    code, out = run("test", "flows/tests/order_status.test.yaml")
    assert code == 1
    assert "the bot's text differs" in out
    assert "      expected: 주문번호를 알려 주세요. (예: 1234-567-890)\n" in out
    assert "      actual:   주문번호 10자리를 알려 주세요. (예: 1234-567-890)\n" in out
    assert "        사용자: [배송 조회]\n" in out
    assert out.rstrip().endswith(" passed, 1 failed")
