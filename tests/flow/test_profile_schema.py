"""bot.yaml's ``profile:``: the attributes of the shop's customers, checked by ``botkit check``.

Once a profile is declared, a condition or template that reads an attribute it does not
declare is BK317 at the attribute's place; what Kakao itself sends stays readable."""

from __future__ import annotations

from collections.abc import Callable

from botkit.flow import CompileResult
from botkit.flow.model import ProfileAttribute

BOT = """\
bot: shop
start: main
profile:
  grade: { type: enum, values: [VIP, GOLD, SILVER], title: 등급 }
  age: { type: number }
  joined: { type: date }
  interests: { type: list }
  is_member: { type: boolean }
  phone: { type: text, title: 휴대폰, sensitive: true }
"""

FLOW = """\
flow: main
start: hello
states:
  hello:
    say: "{{ profile.grade }} 고객님, 안녕하세요!"
    next:
      - if: "profile.age >= 20 and profile.is_member"
        to: adult
      - to: adult
  adult:
    say: "무엇을 도와드릴까요?"
    end: resolved
"""

Compile = Callable[..., CompileResult]


def test_the_declared_profile_is_compiled_with_each_attribute_s_type(
    compile_flow: Compile,
) -> None:
    result = compile_flow(BOT, FLOW, names=("bot.yaml", "main.yaml"))
    assert result.problems == []
    assert result.bot is not None
    assert dict(result.bot.profile) == {
        "grade": ProfileAttribute("grade", "enum", ("VIP", "GOLD", "SILVER"), "등급"),
        "age": ProfileAttribute("age", "number", (), "age"),
        "joined": ProfileAttribute("joined", "date", (), "joined"),
        "interests": ProfileAttribute("interests", "list", (), "interests"),
        "is_member": ProfileAttribute("is_member", "boolean", (), "is_member"),
        "phone": ProfileAttribute("phone", "text", (), "휴대폰", sensitive=True),
    }


def test_without_a_profile_flows_read_any_profile_field(compile_flow: Compile) -> None:
    bot = "bot: shop\nstart: main\n"
    flow = FLOW.replace("profile.grade", "profile.anything")
    result = compile_flow(bot, flow, names=("bot.yaml", "main.yaml"))
    assert result.problems == []
    assert result.bot is not None
    assert dict(result.bot.profile) == {}


def test_a_condition_reading_an_undeclared_attribute_is_bk317_at_its_name(
    compile_flow: Compile,
) -> None:
    flow = FLOW.replace("profile.age >= 20", "profile.agee >= 20")
    result = compile_flow(BOT, flow, names=("bot.yaml", "main.yaml"))
    [problem] = result.problems
    assert (problem.code, problem.path, problem.line, problem.column) == (
        "BK317",
        "main.yaml",
        7,
        22,
    )
    assert problem.message == "profile attribute 'agee' is not declared"
    assert problem.hint == "did you mean 'age'?"


def test_a_template_showing_an_undeclared_attribute_is_bk317_at_its_name(
    compile_flow: Compile,
) -> None:
    flow = FLOW.replace("{{ profile.grade }}", "{{ profile.tier }}")
    result = compile_flow(BOT, flow, names=("bot.yaml", "main.yaml"))
    [problem] = result.problems
    assert (problem.code, problem.line, problem.column) == ("BK317", 5, 22)
    assert problem.expected is not None
    assert "one of 'age', 'grade', 'interests', 'is_member', 'joined', 'phone'" in problem.expected
    assert problem.hint == "declare it under 'profile:' in bot.yaml, e.g. tier: {type: text}"


def test_an_http_call_s_template_is_checked_too(compile_flow: Compile) -> None:
    bot = BOT + (
        "actions:\n"
        "  lookup:\n"
        "    http:\n"
        '      url: "https://shop.example.com/{{ profile.gradee }}"\n'
    )
    result = compile_flow(bot, FLOW, names=("bot.yaml", "main.yaml"))
    assert [(p.code, p.line, p.column) for p in result.problems] == [("BK317", 13, 49)]


def test_what_kakao_sends_stays_readable_whatever_the_profile_declares(
    compile_flow: Compile,
) -> None:
    flow = FLOW.replace("profile.age >= 20", "profile.isFriend == true").replace(
        "{{ profile.grade }}", "{{ profile.plusfriendUserKey }}"
    )
    assert compile_flow(BOT, flow, names=("bot.yaml", "main.yaml")).problems == []


def test_an_enum_without_values_is_bk203(compile_flow: Compile) -> None:
    bot = BOT.replace("  age: { type: number }", "  age: { type: enum }")
    result = compile_flow(bot, FLOW, names=("bot.yaml", "main.yaml"))
    assert [(p.code, p.line, p.message) for p in result.problems] == [
        ("BK203", 5, "profile attribute 'age' of type enum is missing 'values'")
    ]


def test_values_on_an_attribute_that_is_no_enum_are_bk208(compile_flow: Compile) -> None:
    bot = BOT.replace("  age: { type: number }", '  age: { type: number, values: ["20"] }')
    result = compile_flow(bot, FLOW, names=("bot.yaml", "main.yaml"))
    assert [(p.code, p.line, p.message) for p in result.problems] == [
        ("BK208", 5, "profile attribute 'age' is of type number, which has no 'values'")
    ]


def test_an_unknown_type_is_refused_by_the_schema(compile_flow: Compile) -> None:
    bot = BOT.replace("  age: { type: number }", "  age: { type: integer }")
    result = compile_flow(bot, FLOW, names=("bot.yaml", "main.yaml"))
    [problem] = result.problems
    assert (problem.code, problem.line) == ("BK205", 5)
    assert problem.expected is not None
    assert "'number'" in problem.expected
