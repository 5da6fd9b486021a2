"""What the bot does before it waits: `next:` loops (BK415) and chains of bubbles (BK416).

Each verdict of the check is held against the engine: a flow the check rejects is also run
with the check switched off, and the engine does what the problem says (goes round until it
gives up, or says exactly the counted number of bubbles).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from botkit.effects import Say
from botkit.engine import Engine
from botkit.events import UserMessage
from botkit.flow import Bot, CompileResult, checks, compile_bot, compile_texts, flow_files
from botkit.flow._chains import MAX_BUBBLES

Compile = Callable[..., CompileResult]

# Sunday noon in Seoul: outside the support hours below, whatever the machine's clock or zone.
SUNDAY_NOON = datetime(2026, 12, 6, 12, 0, tzinfo=ZoneInfo("Asia/Seoul")).timestamp()

BOT_WITH_HOURS = """
bot: shop
start: main
business_hours:
  cs_team:
    timezone: Asia/Seoul
    days:
      mon-fri: "09:00-18:00"
"""


def _codes(result: CompileResult) -> list[tuple[str, int, int]]:
    return [(p.code, p.line, p.column) for p in result.problems]


def _unchecked(monkeypatch: pytest.MonkeyPatch, *texts: tuple[str, str]) -> Bot:
    """The bot as it would run if `botkit check` had let it through."""
    monkeypatch.setattr(checks, "check_chains", lambda bot, ctx: None)
    named = [(name, textwrap.dedent(text).lstrip("\n")) for name, text in texts]
    bot = compile_texts(named).bot
    assert bot is not None
    return bot


def _bubbles_per_message(bot: Bot, *messages: str) -> list[int]:
    engine = Engine(bot)
    session = engine.new_session("k", "user-1", "web")
    said = []
    for i, text in enumerate(messages):
        turn = engine.handle(session, UserMessage(text, SUNDAY_NOON + i))
        said.append(sum(isinstance(e, Say) for e in turn.effects))
    return said


# -- loops --------------------------------------------------------------------------------------

GREETING_LOOP = """
flow: main
start: hello
states:
  hello:
    say: "안녕하세요! 쇼핑몰 도우미예요."
    next:
      - if: "channel == 'web'"
        to: menu
      - to: bye
  menu:
    say: "주문, 배송, 환불 중 무엇을 도와드릴까요?"
    next: hello
  bye:
    say: "좋은 하루 보내세요."
    end: resolved
"""


def test_a_next_loop_is_reported_at_the_step_that_starts_it(compile_flow: Compile) -> None:
    result = compile_flow(GREETING_LOOP)
    assert _codes(result) == [("BK415", 8, 13)]
    assert "hello → menu → hello" in result.problems[0].message
    assert result.bot is None


def test_the_engine_goes_round_that_loop_until_it_gives_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bot = _unchecked(monkeypatch, ("main.yaml", GREETING_LOOP))
    assert _bubbles_per_message(bot, "안녕") == [65]


def test_a_loop_across_flows_names_the_other_flow(compile_flow: Compile) -> None:
    result = compile_flow(
        """
        flow: main
        start: hello
        states:
          hello:
            say: "안녕하세요!"
            next: faq.start
        """,
        """
        flow: faq
        start: start
        states:
          start:
            say: "자주 묻는 질문이에요."
            next: main.hello
        """,
        names=("main.yaml", "faq.yaml"),
    )
    assert [p.code for p in result.problems] == ["BK415"]
    assert "hello → faq.start → hello" in result.problems[0].message


SURVEY = """
flow: main
start: ask_name
slots:
  name:
    type: text
    prompt: "성함을 알려 주세요."
  phone:
    type: phone
    prompt: "연락처를 알려 주세요."
states:
  ask_name:
    collect: name
    next: ask_phone
  ask_phone:
    collect: phone
    next: saved
  saved:
    say: "{{name}}님, 저장했어요. 한 분 더 받을게요."
    next: ask_name
"""


def test_a_loop_that_asks_for_two_slots_in_turn_waits_each_time(
    compile_flow: Compile, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert compile_flow(SURVEY).problems == []
    bot = _unchecked(monkeypatch, ("main.yaml", SURVEY))
    assert _bubbles_per_message(bot, "안녕", "김민지", "010-1234-5678", "이서준") == [1, 1, 2, 1]


def test_a_loop_back_to_the_question_just_answered_does_not_wait(
    compile_flow: Compile, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = SURVEY.replace("next: ask_phone", "next: saved")
    result = compile_flow(text)
    # ask_phone is no longer reachable; the loop is ask_name → saved → ask_name
    assert [p.code for p in result.problems if p.code != "BK401"] == ["BK415"]
    assert "'ask_name' does not ask for 'name' again" in result.problems[0].message
    bot = _unchecked(monkeypatch, ("main.yaml", text))
    # saved's message once per two steps, until the engine stops after 64 steps
    assert _bubbles_per_message(bot, "안녕", "김민지") == [1, 32]


def test_a_loop_through_an_action_waits_for_its_result(compile_flow: Compile) -> None:
    result = compile_flow(
        """
        flow: main
        start: check
        actions:
          lookup:
            function: lookup
            results: [ok, error]
        states:
          check:
            say: "확인하고 있어요…"
            call: lookup
            on:
              - result: ok
                to: done
              - result: error
                to: retry
          retry:
            say: "다시 확인해 볼게요."
            next: check
          done:
            say: "확인했어요."
            end: resolved
        """
    )
    assert result.problems == []


SUPPORT = """
flow: main
start: agent
states:
  agent:
    handoff:
      reason: user_request
      message: "상담원을 연결해 드릴게요."
      hours: cs_team
      outside_hours: closed
      resume: bye
  closed:
    say: "지금은 상담 시간이 아니에요. 다시 연결해 볼게요."
    next: agent
  bye:
    say: "상담이 끝났어요. 감사합니다."
    end: resolved
"""


def test_a_loop_outside_business_hours_is_a_loop(
    compile_flow: Compile, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = compile_flow(BOT_WITH_HOURS, SUPPORT, names=("bot.yaml", "main.yaml"))
    assert [p.code for p in result.problems] == ["BK415"]
    assert "agent → closed → agent" in result.problems[0].message
    bot = _unchecked(monkeypatch, ("bot.yaml", BOT_WITH_HOURS), ("main.yaml", SUPPORT))
    assert _bubbles_per_message(bot, "상담원") == [65]


# -- long chains --------------------------------------------------------------------------------


def _notice(*counts: int) -> str:
    """A flow whose states say ``counts`` bubbles each, one after another, then wait."""
    lines = ["flow: main", "start: s0", "states:"]
    for i, count in enumerate(counts):
        lines.append(f"  s{i}:")
        lines.append("    say:")
        lines += [f'      - "{i}번 안내의 {n + 1}번째 말풍선이에요."' for n in range(count)]
        if i + 1 < len(counts):
            lines.append(f"    next: s{i + 1}")
        else:
            lines += ["    on:", "      - keywords: [처음]", "        to: s0"]
    return "\n".join(lines) + "\n"


def test_a_chain_may_say_up_to_the_cap(compile_flow: Compile) -> None:
    assert MAX_BUBBLES == 10  # documented in flows/CODES.md (BK416)
    assert compile_flow(_notice(4, 4, 2)).problems == []


def test_one_bubble_more_is_reported_once_where_the_chain_starts(
    compile_flow: Compile, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = compile_flow(_notice(1, 4, 4, 2))
    # s0 and s1 both start a chain over the cap; s1's is part of s0's.
    assert _codes(result) == [("BK416", 4, 3)]
    problem = result.problems[0]
    assert "from state 's0' the bot can say 11 bubbles" in problem.message
    assert "s0 → s1 → s2 → s3" in problem.message
    bot = _unchecked(monkeypatch, ("main.yaml", _notice(1, 4, 4, 2)))
    assert _bubbles_per_message(bot, "안녕") == [11]


def test_the_question_that_ends_a_chain_counts(
    compile_flow: Compile, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow = _notice(5, 5).replace(
        "    on:\n      - keywords: [처음]\n        to: s0\n",
        "    collect: memo\n    next: done\n",
    )
    prompt = '["메모를 남겨 주세요.", "짧게 적어 주셔도 돼요."]'
    flow = flow.replace(
        "states:", f"slots:\n  memo:\n    type: text\n    prompt: {prompt}\nstates:"
    )
    flow += '  done:\n    say: "메모를 남겼어요."\n    end: resolved\n'
    result = compile_flow(flow)
    assert [p.code for p in result.problems] == ["BK416"]
    assert "can say 12 bubbles before it waits for the user: s0 → s1" in result.problems[0].message
    bot = _unchecked(monkeypatch, ("main.yaml", flow))
    assert _bubbles_per_message(bot, "안녕") == [12]


def test_the_longest_branch_is_the_one_counted(compile_flow: Compile) -> None:
    flow = _notice(3, 8).replace(
        "    next: s1\n",
        "    next:\n      - if: \"channel == 'kakao'\"\n        to: short\n      - to: s1\n",
    )
    flow += '  short:\n    say: "카카오 안내예요."\n    end: resolved\n'
    result = compile_flow(flow)
    assert [p.code for p in result.problems] == ["BK416"]
    assert "can say 11 bubbles before it waits for the user: s0 → s1" in result.problems[0].message


def test_the_reference_bot_has_no_loop_and_no_chain_over_the_cap(repo: Path) -> None:
    assert compile_bot(flow_files(repo / "flows")).problems == []


def test_a_loop_in_one_variant_of_an_experiment_is_a_loop(compile_flow: Compile) -> None:
    result = compile_flow(
        """
        flow: main
        start: hello
        experiments:
          greeting:
            variants:
              A: 50
              B: 50
        states:
          hello:
            experiment: greeting
            say: "안녕하세요!"
            variants:
              A:
                say: "반가워요!"
                next: again
            on:
              - keywords: [메뉴]
                to: again
          again:
            say: "다시 인사할게요."
            next: hello
        """
    )
    assert _codes(result) == [("BK415", 15, 15)]  # variant A's 'next:'
