"""Templates, conditions and patterns: what they accept, what they refuse, how they evaluate."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from botkit.errors import ConditionError, PatternError
from botkit.flow import CompileResult
from botkit.flow.conditions import evaluate, parse_condition
from botkit.flow.patterns import compile_pattern
from botkit.flow.templates import Ref, parse_template
from botkit.problems import Severity


def test_template_renders_slots_and_profile_fields() -> None:
    template, errors = parse_template("주문 {{ order_no }}: {{profile.name}}님, {{eta}}")
    assert errors == []
    assert template.refs == (Ref("slot", "order_no"), Ref("profile", "name"), Ref("slot", "eta"))
    text = template.render({"order_no": "1234567890", "eta": None}, {"name": "김민지"})
    assert text == "주문 1234567890: 김민지님, "


def test_template_never_reads_user_text_as_a_template() -> None:
    template, _ = parse_template("입력하신 내용: {{ note }}")
    assert template.render({"note": "{{ profile.secret }}"}, {"secret": "x"}) == (
        "입력하신 내용: {{ profile.secret }}"
    )


@pytest.mark.parametrize(
    "text",
    [
        "{{__class__}}",
        "{{ order_no.__class__ }}",
        "{{ a.b.c }}",
        "{{ f() }}",
        "{{ x | upper }}",
        "{{ x[0] }}",
        "{{ }}",
        "{{ env.TOKEN }}",
    ],
)
def test_template_refuses_anything_but_a_value(text: str) -> None:
    _, errors = parse_template(text)
    assert [e.code for e, _ in errors] == ["BK310"]


def test_env_values_are_allowed_only_where_asked() -> None:
    template, errors = parse_template("Bearer {{env.TOKEN}}", allow_env=True)
    assert errors == []
    assert template.refs == (Ref("env", "TOKEN"),)


@pytest.mark.parametrize("text", ["{{ order_no", "주문 }} 번호"])
def test_template_reports_unbalanced_braces(text: str) -> None:
    _, errors = parse_template(text)
    assert [e.code for e, _ in errors] == ["BK409"]


@pytest.mark.parametrize(
    ("source", "slots", "profile", "expected"),
    [
        ("score <= 2", {"score": 1}, {}, True),
        ("score <= 2", {"score": 4}, {}, False),
        ("score <= 2", {}, {}, False),
        (
            "profile.tier == 'gold' and not coupon_used",
            {"coupon_used": False},
            {"tier": "gold"},
            True,
        ),
        ("category in ['refund', 'exchange'] or score > 4", {"category": "refund"}, {}, True),
        ("(score >= 4 or score == 1) and channel == 'kakao'", {"score": 1}, {}, True),
        ("reason != null", {"reason": "변심"}, {}, True),
        ("delivery_status == '배송완료'", {"delivery_status": "배송완료"}, {}, True),
        ("score > '3'", {"score": 4}, {}, False),
    ],
)
def test_conditions_evaluate_over_slots_profile_and_channel(
    source: str, slots: dict[str, object], profile: dict[str, object], expected: bool
) -> None:
    env = {"profile": profile, "channel": "kakao", "locale": "ko"}
    assert evaluate(parse_condition(source), slots, env) is expected


@pytest.mark.parametrize(
    ("source", "offset"),
    [
        ("score <== 2", 8),
        ("score <=", 8),
        ("(score > 1", 10),
        ("a.b.c == 1", 3),
        ("a.b == 1", 0),
        ("score @ 2", 6),
        ("", 0),
        ("x in [y]", 6),
    ],
)
def test_condition_errors_say_where(source: str, offset: int) -> None:
    with pytest.raises(ConditionError) as caught:
        parse_condition(source)
    assert caught.value.offset == offset


def test_deeply_nested_condition_is_refused_not_recursed() -> None:
    with pytest.raises(ConditionError, match="nested too deeply"):
        parse_condition("(" * 100 + "x" + ")" * 100)


@pytest.mark.parametrize("source", [r"(a+)+$", r"(\d*)*", r"(a|b+)*c", r"((x+))+"])
def test_nested_repetition_is_refused(source: str) -> None:
    with pytest.raises(PatternError) as caught:
        compile_pattern(source)
    assert caught.value.code == "BK407"


@pytest.mark.parametrize("source", [r"(a)\1", r"(?=x)y", r"[abc", r"(?<!x)y"])
def test_patterns_re2_cannot_run_are_refused(source: str) -> None:
    with pytest.raises(PatternError) as caught:
        compile_pattern(source)
    assert caught.value.code == "BK406"


def test_patterns_run_in_linear_time_and_fill_named_groups() -> None:
    pattern = compile_pattern(r"(?P<order_no>\d{4}-?\d{3}-?\d{3})")
    assert pattern.search("주문번호는 1234-567-890 이에요") == {"order_no": "1234-567-890"}
    assert pattern.search("없음") is None
    slow_for_backtracking = compile_pattern(r"(x+y)*z")
    assert slow_for_backtracking.search("xy" * 50_000 + "x" * 50_000) is None


@pytest.mark.parametrize(
    "source",
    [
        r"(x+x+)+y",  # two repetitions of x side by side
        r"(a+b?)+$",  # the b may be missing, and then a+ meets the next round's a+
        r"(\w+\s?)+$",  # the classic word list
        r"(-?\d+)*",  # the sign may be missing
        r"(\s*\w+)+$",
        r"(.*,)+",  # '.' matches the comma too
        r"(?i)(a+A)+",  # A is a without case
        r"((ab)+c)+",  # a group repeated inside: not proven either way
    ],
)
def test_nested_repetition_not_shown_safe_is_kept_with_a_warning(source: str) -> None:
    pattern = compile_pattern(source)
    assert pattern.doubt is not None
    assert pattern.doubt.code == "BK414"


@pytest.mark.parametrize(
    "source",
    [
        r"(\d+-)+",  # each round ends with '-', which \d+ cannot match
        r"([^,]+,)*",
        r"(a+b+)+",  # a+ stops at b, b+ stops at the next round's a
        r"(\d+,)*\d+",
        r"([a-z]+\.)+[a-z]{2,}",  # a domain name
        r"([가-힣]+ )+",  # Korean words, one space after each
        r"([가-힣]+\d)+",
        r"(\S+\s+)+",
        r"^A+(BA+)*B?$",
        r"(?P<order_no>[0-9０-９]{4}[- ]?[0-9０-９]{3}[- ]?[0-9０-９]{3})",  # no nesting at all
        r"(\d{1,3}\.)+",  # the inner repetition is bounded
    ],
)
def test_nested_repetition_that_ends_at_a_separator_is_accepted(source: str) -> None:
    assert compile_pattern(source).doubt is None


def test_a_pattern_not_shown_safe_is_a_warning_where_it_is_written(
    compile_flow: Callable[..., CompileResult],
) -> None:
    result = compile_flow(
        """
        flow: coupon
        start: ask
        slots:
          code:
            type: regex
            prompt: "쿠폰 코드를 입력해 주세요."
            pattern: "^(A+B?)+$"
        states:
          ask:
            collect: code
            on:
              - regex: "(x+x+)+y"
                to: done
            next: done
          done:
            say: "쿠폰 {{code}}을(를) 확인했어요."
            end: resolved
        """
    )
    assert [(p.code, p.severity, p.line, p.column) for p in result.problems] == [
        ("BK414", Severity.WARNING, 7, 14),
        ("BK414", Severity.WARNING, 12, 16),
    ]
    assert result.bot is not None  # a warning: the bot is published, and RE2 runs the pattern
    assert result.bot.slots["code"].pattern is not None
    assert result.bot.slots["code"].pattern.fullmatch("AAB" * 10_000 + "C") is False
