"""Reading segments: the language into its tree, and every mistake a designer can make in
bot.yaml's ``segments:`` reported at the word to change, with what was expected there.

The problems are checked as ``botkit check`` shows them: code, line, column, message. Golden
files for one mistake of each code are in tests/flow/broken_bots/bk3*_/bk4*_segment*.
"""

from __future__ import annotations

import pytest

from botkit.flow import compile_texts
from botkit.problems import Problem, render_problems
from botkit.segments.model import (
    DAY,
    EVER,
    All,
    AnyOf,
    Attr,
    Behaviour,
    ConsentIs,
    GoalReached,
    Not,
    SegmentRef,
    VariantOf,
    Window,
)
from botkit.segments.parse import SegmentSyntaxError, parse_segment

H = 3600.0


# --- the language -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        (
            "cart_added within 1h and not purchase within 24h",
            All(
                (
                    Behaviour("cart_added", Window(H, 0, "within 1h"), offset=0),
                    Not(Behaviour("purchase", Window(DAY, 0, "within 24h"), offset=29)),
                )
            ),
        ),
        (
            'product_viewed where product = "패딩" at least 3 times within 24h',
            Behaviour("product_viewed", Window(DAY, 0, "within 24h"), 3, None, "product", "패딩"),
        ),
        (
            "channel_added 3 days ago",
            Behaviour("channel_added", Window(4 * DAY, 3 * DAY, "3 days ago")),
        ),
        (
            "purchase at most 1 times within 2w",
            Behaviour("purchase", Window(14 * DAY, 0, "within 2w"), None, 1),
        ),
        ("장바구니_담기 ever", Behaviour("장바구니_담기", EVER)),
        ("reached goal order_checked", GoalReached("order_checked", EVER, 13)),
        (
            "reached goal order_checked within 30d",
            GoalReached("order_checked", Window(30 * DAY, 0, "within 30d"), 13),
        ),
        ("variant B of greeting_title", VariantOf("B", "greeting_title", 8, 13)),
        ('profile.grade != "VIP"', Attr("grade", "!=", ("VIP",), 0, (17,))),
        ("profile.age >= 30", Attr("age", ">=", (30,), 0, (15,))),
        ("profile.is_member = true", Attr("is_member", "=", (True,), 0, (20,))),
        (
            'profile.region in ["서울", "경기"]',
            Attr("region", "in", ("서울", "경기"), 0, (19, 25)),
        ),
        ("profile.joined is set", Attr("joined", "set", (), 0)),
        ("segment.vip or consent.night", AnyOf((SegmentRef("vip", 0), ConsentIs("night", 15)))),
        (
            "not (a ever or b ever) and consent.marketing",
            All(
                (
                    Not(AnyOf((Behaviour("a", EVER, offset=5), Behaviour("b", EVER, offset=15)))),
                    ConsentIs("marketing", 27),
                )
            ),
        ),
    ],
)
def test_the_language_reads_into_its_tree(text: str, tree: object) -> None:
    assert parse_segment(text) == tree


@pytest.mark.parametrize(
    ("text", "message", "offset", "kind"),
    [
        ("", "the segment's condition is empty", 0, "syntax"),
        (
            "cart_added",
            "after the event kind 'cart_added' comes a time window: within 24h, 3 days ago"
            " or ever",
            10,
            "syntax",
        ),
        ("cart_added within 24hr", "'24hr' is not a duration: 'hr' is not a unit", 18, "duration"),
        ("cart_added within 0h", "a window of 0h holds nothing", 18, "duration"),
        (
            "cart_added within 1.5 hours",
            "'1.5 hours' is not a whole number of hours",
            18,
            "duration",
        ),
        (
            "purchase 3 times within 1d",
            "a count is written 'at least 3 times' or 'at most 3 times'",
            9,
            "syntax",
        ),
        ("purchase within 30d and", "the condition ends where more was expected", 23, "syntax"),
        ("profile.grade = VIP", "a value comes here, not 'VIP'", 16, "syntax"),
        ('profile.grade = "VIP', 'the text that starts here has no closing "', 16, "syntax"),
        (
            "variant B greeting_title",
            "after 'variant B' comes 'of', not 'greeting_title'",
            10,
            "syntax",
        ),
        (
            "reached order_checked",
            "after 'reached' comes 'goal', not 'order_checked'",
            8,
            "syntax",
        ),
        ("consent.email", "there is no consent 'email'", 0, "syntax"),
        (
            "profile.grade",
            "the condition ends where =, !=, <, <=, >, >=, in [...] or is set was expected",
            13,
            "syntax",
        ),
        ("(a ever", "the condition ends where ')' was expected", 7, "syntax"),
        ("a ever b ever", "unexpected 'b'", 7, "syntax"),
        ("a ever & b ever", "'&' has no meaning in a segment", 7, "syntax"),
    ],
)
def test_a_mistake_says_what_is_wrong_where(
    text: str, message: str, offset: int, kind: str
) -> None:
    with pytest.raises(SegmentSyntaxError) as caught:
        parse_segment(text)
    assert (caught.value.message, caught.value.offset, caught.value.kind) == (
        message,
        offset,
        kind,
    )


def test_a_condition_nested_too_deeply_is_refused() -> None:
    with pytest.raises(SegmentSyntaxError, match="nested too deeply"):
        parse_segment("(" * 20 + "a ever" + ")" * 20)


# --- in bot.yaml ------------------------------------------------------------------------------

FLOW = """\
flow: main
title: 첫 화면
start: hello
states:
  hello:
    say: "안녕하세요"
    end: resolved
"""
HEAD = """\
bot: shop_helper
title: 쇼핑몰 도우미
start: main
goals:
  order_checked: { title: 배송 상태 확인 }
experiments:
  greeting_title:
    variants: { A: 50, B: 50 }
business_events:
  cart_added: { conversion: false }
profile:
  grade: { type: enum, values: [VIP, GOLD, SILVER], title: 등급 }
  age: { type: number, title: 나이 }
  joined: { type: date, title: 가입일 }
  is_member: { type: boolean }
segments:
"""


def problems(segments: str) -> list[Problem]:
    return compile_texts([("bot.yaml", HEAD + segments), ("main.yaml", FLOW)]).problems


def seen(segments: str) -> list[tuple[str, int, int, str]]:
    return [(p.code, p.line, p.column, p.message) for p in problems(segments)]


LINE = HEAD.count("\n") + 1  # the first line under 'segments:'


def test_the_reference_words_compile_without_a_problem() -> None:
    assert (
        seen(
            "  cart_abandoners:\n"
            "    title: 장바구니 이탈 고객\n"
            "    when: cart_added within 1h and not purchase within 24h\n"
            "  vip:\n"
            '    when: profile.grade = "VIP" and profile.joined >= "2026-01-01"\n'
            "  vip_b:\n"
            "    when: segment.vip and variant B of greeting_title\n"
        )
        == []
    )


def test_a_syntax_error_points_into_the_condition() -> None:
    assert seen(
        "  padding_fans:\n"
        "    title: 패딩 관심 고객\n"
        '    when: product_viewed where product = "패딩" 3 times within 24h\n'
    ) == [
        (
            "BK418",
            LINE + 2,
            47,
            "segment 'padding_fans' cannot be read: a count is written 'at least 3 times' or"
            " 'at most 3 times'",
        )
    ]


def test_positions_hold_in_quoted_and_folded_text() -> None:
    found = seen(
        "  quoted:\n"
        '    when: "cart_added within 1h and not purchase within 24hr"\n'
        "  folded:\n"
        "    when: >-\n"
        "      cart_added within 1h\n"
        "      and not purchase within 2x\n"
    )
    assert found == [
        (
            "BK421",
            LINE + 1,
            57,
            "segment 'quoted' cannot be read: '24hr' is not a duration: 'hr' is not a unit",
        ),
        (
            "BK421",
            LINE + 5,
            31,
            "segment 'folded' cannot be read: '2x' is not a duration: 'x' is not a unit",
        ),
    ]


def test_names_must_be_declared() -> None:
    found = seen(
        "  checked:\n"
        "    when: reached goal order_chekced within 30d\n"
        "  greeting:\n"
        "    when: variant D of greeting_title or variant A of greeting_titel\n"
        "  vip:\n"
        '    when: profile.grde = "VIP" and segment.dormnat\n'
        "  typo:\n"
        "    when: cart_add within 1h\n"
    )
    assert found == [
        ("BK307", LINE + 1, 24, "goal 'order_chekced' is not declared"),
        ("BK306", LINE + 3, 19, "experiment 'greeting_title' has no variant 'D'"),
        ("BK306", LINE + 3, 55, "experiment 'greeting_titel' is not declared"),
        ("BK317", LINE + 5, 19, "profile attribute 'grde' is not declared"),
        ("BK318", LINE + 5, 44, "segment 'dormnat' is not declared"),
        (
            "BK319",
            LINE + 7,
            11,
            "no business event of kind 'cart_add' is declared, so this counts nothing unless"
            " the shop sends it",
        ),
    ]


def test_comparisons_must_fit_the_attributes_type() -> None:
    found = seen(
        "  a:\n"
        '    when: profile.age < "30"\n'
        "  b:\n"
        '    when: profile.grade in ["VIP", "BRONZE"]\n'
        "  c:\n"
        '    when: profile.grade > "GOLD"\n'
        "  d:\n"
        '    when: profile.joined >= "2026-1-1"\n'
        "  e:\n"
        "    when: profile.is_member = 1\n"
    )
    assert found == [
        ("BK420", LINE + 1, 25, 'profile.age is a number, and "30" is not a number'),
        (
            "BK420",
            LINE + 3,
            36,
            'profile.grade is a choice (enum), and "BRONZE" is not one of its values',
        ),
        ("BK420", LINE + 5, 19, "profile.grade is a choice (enum), which has no order"),
        (
            "BK420",
            LINE + 7,
            29,
            'profile.joined is a date, and "2026-1-1" is not a day written YYYY-MM-DD',
        ),
        ("BK420", LINE + 9, 31, "profile.is_member is true or false, and 1 is not true or false"),
    ]


def test_segments_may_not_be_defined_through_each_other() -> None:
    found = seen(
        "  loyal:\n"
        "    title: 단골 고객\n"
        "    when: purchase at least 3 times within 30d and not segment.lapsed\n"
        "  lapsed:\n"
        "    title: 이탈 고객\n"
        "    when: not purchase within 60d and segment.churned\n"
        "  churned:\n"
        "    when: segment.loyal\n"
        "  itself:\n"
        "    when: segment.itself\n"
    )
    assert found == [
        (
            "BK419",
            LINE + 7,
            19,
            "segment 'loyal' is defined through itself: loyal → lapsed → churned → loyal",
        ),
        ("BK419", LINE + 9, 19, "segment 'itself' is defined through itself: itself → itself"),
    ]


def test_a_broken_segment_is_shown_the_way_botkit_check_shows_it() -> None:
    shown = render_problems(
        problems("  dormant:\n    title: 휴면 고객\n    when: not purchase within 30 days ago\n")
    )
    assert shown.splitlines()[0] == (
        f"bot.yaml:{LINE + 2}:39: error[BK418]: segment 'dormant' cannot be read: unexpected 'ago'"
    )


def test_a_segment_too_large_once_written_out_is_refused_where_it_first_grows_too_large() -> None:
    # each segment uses the one before twice: written out, the tenth has 1,000 parts and more
    chain = "  s0:\n    when: purchase within 30d\n" + "".join(
        f"  s{i}:\n    when: segment.s{i - 1} or (cart_added within 1h and segment.s{i - 1})\n"
        for i in range(1, 10)
    )
    found = problems(chain)
    assert [(p.code, p.line, p.column) for p in found] == [("BK419", LINE + 13, 11)]
    assert found[0].message == (
        "segment 's6' is too large: written out with the segments it uses, it has 253 parts"
        " (conditions, and, or, not), more than 200"
    )
    assert found[0].hint is not None
    assert "twice doubles it" in found[0].hint
    # the one before it is fine, and is what its condition says
    seen_before = compile_texts(
        [("bot.yaml", HEAD + chain[: chain.index("  s6:")]), ("main.yaml", FLOW)]
    )
    assert seen_before.problems == []
    assert seen_before.bot is not None
    assert "s5" in seen_before.bot.segments
