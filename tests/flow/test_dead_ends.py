"""The dead-end check (BK402) sees the bot as users do: a transition that works from anywhere
(``global:`` of the bot or of the flow) is a way out of every state it leads away from.

Each verdict is held against the engine: a state the check lets through is left, in the
engine, by the global transition that the check counted.
"""

from __future__ import annotations

import textwrap

from botkit.engine import Engine
from botkit.events import UserMessage
from botkit.flow import CompileResult, compile_texts

BOT = """
bot: shop
start: main
{globals}
"""

MAIN = """
flow: main
start: start
{globals}
states:
  start:
    say:
      text: "안녕하세요! 무엇을 도와드릴까요?"
      quick_replies:
        - label: 배송 안내
          to: notice
  notice:
    say: "배송은 2~3일 걸려요. 메뉴로 돌아가시려면 '처음으로'라고 해 주세요."
"""

GO_HOME = """
global:
  - keywords: [처음으로]
    to: main.start
"""


def _compiled(bot_globals: str = "", flow_globals: str = "") -> CompileResult:
    files = [
        ("bot.yaml", BOT.format(globals=bot_globals)),
        ("main.yaml", MAIN.format(globals=flow_globals)),
    ]
    return compile_texts([(n, textwrap.dedent(t).lstrip("\n")) for n, t in files])


def _dead_ends(result: CompileResult) -> list[str]:
    return [p.message for p in result.problems if p.code == "BK402"]


def test_a_state_without_ways_out_is_still_a_dead_end() -> None:
    found = [p for p in _compiled().problems if p.code == "BK402"]
    assert [p.message for p in found] == [
        "state 'notice' is a dead end: it has no 'on', 'next', quick reply with 'to' or "
        "global transition"
    ]
    # The hint no longer sends the designer to `end:` alone: a global way home is offered first,
    # and what `end:` does to the next message is said.
    assert found[0].hint is not None
    assert "global:" in found[0].hint
    assert "처음으로" in found[0].hint
    assert "new conversation" in found[0].hint


def test_a_global_transition_of_the_bot_is_a_way_out() -> None:
    result = _compiled(bot_globals=GO_HOME)
    assert _dead_ends(result) == []
    assert result.bot is not None
    engine = Engine(result.bot)
    session = engine.new_session("test:지우", "지우", "test")
    engine.handle(session, UserMessage("", 1.0))
    engine.handle(session, UserMessage("배송 안내", 2.0, "@main.notice"))
    assert session.state == "main.notice"
    engine.handle(session, UserMessage("처음으로", 3.0))
    assert session.state == "main.start"


def test_a_global_transition_of_the_flow_is_a_way_out() -> None:
    assert _dead_ends(_compiled(flow_globals=GO_HOME)) == []


def test_a_global_transition_into_the_state_itself_is_no_way_out() -> None:
    stay = "global:\n  - keywords: [안내]\n    to: main.notice\n"
    assert len(_dead_ends(_compiled(bot_globals=stay))) == 1
