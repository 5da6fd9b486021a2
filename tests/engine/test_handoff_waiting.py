"""While a user waits for an agent: the handoff's ``while_waiting`` answers, ``leave:`` and the
global transitions that lead elsewhere take the user out of the queue (``handoff_left``), and
everything else is kept for the agent."""

from __future__ import annotations

import re
import textwrap

from botkit.engine import Engine
from botkit.flow import CompileResult, compile_texts
from tests.engine.conftest import REPO, Conversation

BOT = """
bot: shop
start: main
global:
  - keywords: [처음으로]
    to: main.start
  - keywords: [상담원]
    to: main.agent
  - examples: ["주문 취소하고 싶어요"]
    to: main.cancel_order
"""

MAIN = """
flow: main
start: start
states:
  start:
    say:
      text: "무엇을 도와드릴까요?"
      quick_replies:
        - label: 상담원 연결
          to: agent
  cancel_order:
    say: "주문 취소는 마이페이지에서 할 수 있어요."
    next: start
  agent:
    handoff:
      message: "상담원을 연결해 드릴게요."
      resume: start
{waiting}
"""

WAITING = """
      while_waiting:
        text: "상담원을 기다리고 있어요."
        quick_replies:
          - label: 처음으로
            to: start
      leave:
        - payload: stop_waiting
          say: "대기를 취소했어요."
          to: start
        - keywords: [그만 기다릴래요]
          to: start
"""


def _compiled(waiting: str = WAITING) -> CompileResult:
    """bot.yaml and main.yaml, with ``waiting`` (YAML of the handoff, or nothing) in ``agent``."""
    files = [("bot.yaml", BOT), ("main.yaml", MAIN.format(waiting=waiting.rstrip("\n")))]
    return compile_texts([(n, textwrap.dedent(t).lstrip("\n")) for n, t in files])


def _engine(waiting: str = WAITING) -> Engine:
    result = _compiled(waiting)
    assert result.bot is not None, [p.message for p in result.problems]
    return Engine(result.bot)


def _waiting(engine: Engine, user: str = "하린") -> Conversation:
    c = Conversation(engine, user).say("").press("상담원 연결")
    assert c.session.status == "handoff_requested"
    return c


def _left(c: Conversation) -> list[object]:
    return [r.data for r in c.records if r.kind == "handoff_left"]


def test_a_message_while_waiting_is_kept_and_answered_with_while_waiting() -> None:
    c = _waiting(_engine()).say("언제 연결되나요?")
    assert c.texts == ["상담원을 기다리고 있어요."]
    assert c.choices == ["처음으로"]
    assert c.session.held == ["언제 연결되나요?"]
    assert c.session.status == "handoff_requested"


def test_without_while_waiting_the_bot_stays_silent() -> None:
    c = _waiting(_engine(waiting="")).say("언제 연결되나요?")
    assert c.effects == []
    assert c.session.held == ["언제 연결되나요?"]


def test_a_global_transition_leaves_the_queue_even_without_leave() -> None:
    c = _waiting(_engine(waiting="")).say("처음으로")
    assert c.texts == ["무엇을 도와드릴까요?"]
    assert c.state == "main.start"
    assert c.session.status == "bot"
    assert c.session.held is None
    assert _left(c) == [
        {"queue": None, "to": "main.start", "trigger": "global keywords: 처음으로", "waited_s": 5}
    ]


def test_a_declared_payload_leaves_the_queue_though_it_was_never_drawn() -> None:
    c = _waiting(_engine()).say("그만", payload="stop_waiting")
    assert c.texts == ["대기를 취소했어요.", "무엇을 도와드릴까요?"]
    assert c.session.status == "bot"
    assert [r.kind for r in c.records][:3] == ["message_in", "handoff_left", "transition"]
    assert _left(c)[0] == {
        "queue": None,
        "to": "main.start",
        "trigger": "leave payload: stop_waiting",
        "waited_s": 5,
    }


def test_declared_keywords_and_a_choice_of_while_waiting_leave_the_queue() -> None:
    engine = _engine()
    typed = _waiting(engine, "가은").say("이제 그만 기다릴래요")
    assert typed.session.status == "bot"
    assert _left(typed)[0]["trigger"] == "leave keywords: 그만 기다릴래요"  # type: ignore[index]
    pressed = _waiting(engine, "나은").say("잠깐만요").press("처음으로")
    assert pressed.session.status == "bot"
    assert pressed.texts == ["무엇을 도와드릴까요?"]  # the greeting once
    assert _left(pressed)[0]["trigger"] == "choice: main.start"  # type: ignore[index]


def test_asking_again_for_an_agent_keeps_the_place_in_the_queue() -> None:
    c = _waiting(_engine()).say("상담원 아직이에요?")
    assert c.texts == ["상담원을 기다리고 있어요."]
    assert c.session.status == "handoff_requested"
    assert not any(r.kind.startswith("handoff") for r in c.records)


def test_example_phrases_are_words_for_the_agent_not_a_way_out() -> None:
    c = _waiting(_engine()).say("주문 취소하고 싶어요")
    assert c.session.status == "handoff_requested"
    assert c.session.held == ["주문 취소하고 싶어요"]


def test_with_an_agent_every_message_is_the_agents() -> None:
    engine = _engine()
    c = _waiting(engine)
    engine.claim(c.session, "하늘", c.at + 1)
    c.say("처음으로")
    assert c.effects == []
    assert c.session.status == "with_agent"
    assert c.session.held == ["처음으로"]


def test_leave_takes_only_what_the_user_says_or_presses() -> None:
    leave_any = "\n      leave:\n        - any: true\n          to: start\n"
    result = _compiled(leave_any)
    (problem,) = [p for p in result.problems if p.code == "BK208"]
    assert (problem.path, problem.line, problem.column) == ("main.yaml", 19, 11)
    assert problem.message == (
        "handoff state 'agent' lets the user leave the queue on 'any', which would also take "
        "words meant for the agent"
    )
    assert problem.expected == "'payload', 'keywords', 'regex' or 'intent'"
    assert problem.hint is not None
    assert "대기 취소" in problem.hint


def test_a_way_out_of_the_queue_to_a_missing_state_is_reported() -> None:
    bad = "\n      leave:\n        - keywords: [그만]\n          to: nowhere\n"
    result = _compiled(bad)
    assert [p.code for p in result.problems] == ["BK301"]


def test_the_flow_guides_handoff_example_loads_and_leaves_the_queue() -> None:
    guide = (REPO / "flows" / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", guide, flags=re.S)
    (example,) = [b for b in blocks if "while_waiting:" in b]
    bot = """
    bot: shop
    start: main
    business_hours:
      cs_team: {timezone: Asia/Seoul, days: {mon-fri: "09:00-18:00"}}
    """
    flow = (
        "flow: main\nstart: start\nstates:\n"
        + textwrap.indent(example, "  ")
        + (
            "  start:\n"
            "    say: {text: 무엇을 도와드릴까요?,\n"
            "          quick_replies: [{label: 상담원 연결, to: agent}]}\n"
            "  after_hours:\n    say: 상담 시간이 아니에요.\n    next: start\n"
            "  leave_contact:\n    say: 나중에 연락드릴게요.\n    next: start\n"
        )
    )
    files = [("bot.yaml", textwrap.dedent(bot).lstrip("\n")), ("main.yaml", flow)]
    result = compile_texts(files)
    assert result.problems == []
    assert result.bot is not None
    c = _waiting(Engine(result.bot)).say("아직이에요?")
    assert c.choices == ["대기 취소"]
    c.press("대기 취소")
    assert c.texts == ["상담 대기를 취소했어요.", "무엇을 도와드릴까요?"]
    assert c.session.status == "bot"


def test_a_waiting_quick_reply_that_no_way_out_handles_is_reported() -> None:
    unhandled = (
        "\n      while_waiting:\n        text: 기다려 주세요.\n        quick_replies:\n"
        "          - label: 대기 취소\n            payload: stop_waiting\n"
    )
    result = _compiled(unhandled)
    assert [p.message for p in result.problems if p.code == "BK411"] == [
        "state 'agent' offers a quick reply with payload 'stop_waiting' but no transition "
        "handles it"
    ]
    assert [p.code for p in _compiled(WAITING).problems] == []  # with leave: for it
