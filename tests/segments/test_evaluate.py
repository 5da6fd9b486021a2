"""The Python evaluator on small hand-built audiences: each window's edges, counts, ``not``,
``segment.X``, profile comparisons kind with kind, and who a member is.

Time is a fixed instant ``T`` (a Monday noon in Seoul); every event is placed relative to it,
so each edge is exact: ``within 1h`` at T holds for an event at ``T - 3599`` but not at
``T - 3600``, and not for one at ``T + 1`` (it has not happened yet).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from botkit.audience import Consent
from botkit.flow import compile_texts
from botkit.records import BusinessEvent, Record
from botkit.segments.evaluate import is_member, members_at
from botkit.segments.model import Segment
from botkit.segments.parse import parse_segment

T = dt.datetime(2026, 11, 9, 12, tzinfo=ZoneInfo("Asia/Seoul")).timestamp()
H = 3600.0
D = 86400.0

BOT = """\
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
  product_viewed: { conversion: false }
segments:
"""
FLOW = """\
flow: main
title: 첫 화면
start: hello
states:
  hello:
    say: "안녕하세요"
    end: resolved
"""


@dataclass(frozen=True)
class Data:
    customers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    identities: Mapping[str, str] = field(default_factory=dict)
    consents: Mapping[str, Consent] = field(default_factory=dict)
    events: Sequence[BusinessEvent] = ()
    records: Sequence[Record] = ()


def segments(**whens: str) -> dict[str, Segment]:
    """The bot's segments named as given (``segment.X`` resolved by the compiler)."""
    text = BOT + "".join(f"  {name}:\n    when: '{when}'\n" for name, when in whens.items())
    result = compile_texts([("bot.yaml", text), ("main.yaml", FLOW)])
    assert result.bot is not None, result.problems
    return dict(result.bot.segments)


def segment(when: str) -> Segment:
    return segments(it=when)["it"]


_n = 0


def event(
    kind: str, at: float, user: str = "", *, customer: str | None = None, **data: Any
) -> BusinessEvent:
    global _n
    _n += 1
    return BusinessEvent(f"e{_n}", kind, user, at, None, data or None, customer)


def record(
    user: str, at: float, kind: str = "message_in", variant: str = "", **data: Any
) -> Record:
    session = f"kakao:{user}"
    return Record(
        kind,
        session,
        1,
        1,
        1,
        at,
        "shop_helper",
        "main",
        "v1",
        variant,
        user,
        "kakao",
        data or None,
    )


def members(when: str, data: Data, at: float = T) -> list[str]:
    return members_at(segment(when), at, audience=data)


# --- windows --------------------------------------------------------------------------------


def test_within_holds_just_inside_the_window_and_not_on_its_far_edge() -> None:
    data = Data(
        customers={c: {} for c in ("C-edge", "C-in", "C-now", "C-later")},
        events=[
            event("cart_added", T - H, customer="C-edge"),  # exactly an hour ago: out
            event("cart_added", T - H + 1, customer="C-in"),
            event("cart_added", T, customer="C-now"),  # the instant itself: in
            event("cart_added", T + 1, customer="C-later"),  # not yet happened
        ],
    )
    assert members("cart_added within 1h", data) == ["C-in", "C-now"]


def test_n_days_ago_is_the_nth_day_long_window_back() -> None:
    data = Data(
        events=[
            event("channel_added", T - 3 * D, "u-newest"),  # the newest moment of it: in
            event("channel_added", T - 3 * D + 1, "u-too-recent"),
            event("channel_added", T - 4 * D + 1, "u-oldest"),  # the oldest moment: in
            event("channel_added", T - 4 * D, "u-too-old"),
        ],
    )
    assert members("channel_added 3 days ago", data) == ["user:u-newest", "user:u-oldest"]
    assert members("channel_added 3d ago", data) == ["user:u-newest", "user:u-oldest"]
    assert members("channel_added 0 days ago", data) == []  # nothing today


def test_ever_counts_everything_until_the_instant() -> None:
    data = Data(
        events=[event("purchase", T - 400 * D, "u-old"), event("purchase", T + 1, "u-future")]
    )
    assert members("purchase ever", data) == ["user:u-old"]


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("product_viewed at least 3 times within 24h", ["C-three", "C-four"]),
        ("product_viewed at least 4 times within 24h", ["C-four"]),
        # 'at most' counts those who did it not at all too: the customer who never viewed
        ("product_viewed at most 2 times within 24h", ["C-none", "C-two"]),
        ("product_viewed at most 0 times within 24h", ["C-none"]),
    ],
)
def test_counts(when: str, expected: list[str]) -> None:
    data = Data(
        customers={c: {} for c in ("C-none", "C-two", "C-three", "C-four")},
        events=[
            *(event("product_viewed", T - i * H, customer="C-two") for i in range(2)),
            *(event("product_viewed", T - i * H, customer="C-three") for i in range(3)),
            *(event("product_viewed", T - i * H, customer="C-four") for i in range(4)),
            event("product_viewed", T - D, customer="C-none"),  # a day ago: outside 24h
        ],
    )
    assert sorted(members(when, data)) == sorted(expected)


def test_where_compares_the_field_kind_with_kind() -> None:
    data = Data(
        events=[
            event("product_viewed", T, "u-text", product="padding"),
            event("product_viewed", T, "u-other", product="shoes"),
            event("product_viewed", T, "u-number", product=3),
            event("product_viewed", T, "u-three", product="3"),
            event("product_viewed", T, "u-nothing"),
        ],
    )
    assert members('product_viewed where product = "padding" within 1h', data) == ["user:u-text"]
    assert members("product_viewed where product = 3 within 1h", data) == ["user:u-number"]
    assert members('product_viewed where product = "3" within 1h', data) == ["user:u-three"]


# --- who a member is --------------------------------------------------------------------------


def test_events_count_for_the_customer_a_user_is_linked_to_or_that_the_shop_names() -> None:
    data = Data(
        customers={"C-1042": {"grade": "VIP"}},
        identities={"kakao-a": "C-1042", "web-b": "C-1042"},
        events=[
            event("cart_added", T - 10, "kakao-a"),  # through one linked channel
            event("cart_added", T - 20, "web-b"),  # through the other
            event("cart_added", T - 30, customer="C-1042"),  # named by the shop
            event("cart_added", T - 40, "web-stranger"),  # a visitor nobody linked
        ],
    )
    assert members("cart_added at least 3 times within 1h", data) == ["C-1042"]
    assert members("cart_added within 1h", data) == ["C-1042", "user:web-stranger"]


def test_not_negates_against_every_customer_and_everyone_who_did_anything() -> None:
    data = Data(
        customers={"C-quiet": {}, "C-buyer": {}},
        consents={"user:never-seen": Consent(marketing=True)},  # consent alone is no member
        events=[
            event("purchase", T - D, customer="C-buyer"),
            event("cart_added", T - H, "u-anon"),
        ],
        records=[record("u-talker", T - 5 * D)],
    )
    assert members("not purchase within 30d", data) == ["C-quiet", "user:u-anon", "user:u-talker"]
    assert members("consent.marketing", data) == []


def test_a_segment_may_use_segments() -> None:
    named = segments(
        vip='profile.grade = "VIP"',
        dormant="not purchase within 30d",
        vip_dormant="segment.vip and segment.dormant",
        not_vip_dormant="not segment.vip_dormant",
    )
    data = Data(
        customers={"C-1": {"grade": "VIP"}, "C-2": {"grade": "VIP"}, "C-3": {"grade": "GOLD"}},
        events=[event("purchase", T - D, customer="C-2")],
    )
    assert members_at(named["vip_dormant"], T, audience=data) == ["C-1"]
    assert members_at(named["not_vip_dormant"], T, audience=data) == ["C-2", "C-3"]


def test_goals_and_variants_come_from_the_members_records() -> None:
    data = Data(
        identities={"kakao-a": "C-1"},
        records=[
            record("kakao-a", T - 2 * D, "goal", goal="order_checked"),
            record("kakao-b", T - 40 * D, "goal", goal="order_checked"),
            record("kakao-c", T - H, variant="greeting_title:B"),
            record("kakao-d", T + 1, variant="greeting_title:B"),  # after the instant
            record("kakao-e", T - H, variant="greeting_title:A"),
        ],
    )
    assert members("reached goal order_checked within 30d", data) == ["C-1"]
    assert members("reached goal order_checked", data) == ["C-1", "user:kakao-b"]
    assert members("variant B of greeting_title", data) == ["user:kakao-c"]


# --- profiles and consent ---------------------------------------------------------------------


PEOPLE: dict[str, dict[str, Any]] = {
    "C-1": {"grade": "VIP", "age": 24, "region": "서울", "interests": ["골프"], "is_member": True},
    "C-2": {"grade": "GOLD", "age": 41, "region": "부산", "interests": []},
    "C-3": {"grade": "VIP", "age": "24", "region": "경기", "is_member": 1},
    "C-4": {"age": None},
}  # fmt: skip


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ('profile.grade = "VIP"', ["C-1", "C-3"]),
        ('profile.grade != "VIP"', ["C-2", "C-4", "user:u-anon"]),  # not '=': no profile too
        ("profile.age < 30", ["C-1"]),  # "24" is a text, not a number: never ordered
        ('profile.age = "24"', ["C-3"]),
        ("profile.age is set", ["C-1", "C-2", "C-3"]),  # null is not set
        ('profile.region in ["서울", "경기"]', ["C-1", "C-3"]),
        ('profile.region < "부"', ["C-3"]),  # texts by code point: 경 < 부 < 서
        ('profile.interests = "골프"', ["C-1"]),  # a list holds it
        ("profile.is_member = true", ["C-1"]),  # 1 is a number, not true
        ('profile.grade = "VIP" and profile.age >= 24', ["C-1"]),
    ],
)
def test_profile_comparisons_are_kind_with_kind(when: str, expected: list[str]) -> None:
    data = Data(customers=PEOPLE, events=[event("cart_added", T - H, "u-anon")])
    assert members(when, data) == expected


def test_consent_is_yes_only_when_said_yes() -> None:
    data = Data(
        customers={"C-yes": {}, "C-no": {}, "C-never": {}},
        consents={
            "C-yes": Consent(marketing=True, night=False),
            "C-no": Consent(marketing=False, night=True),
        },
    )
    assert members("consent.marketing", data) == ["C-yes"]
    assert members("consent.night", data) == ["C-no"]
    assert members("consent.marketing and not consent.night", data) == ["C-yes"]


# --- one member, as a flow asks ---------------------------------------------------------------


def test_one_member_is_answered_as_the_whole_audience_would_be() -> None:
    data = Data(
        customers={"C-1042": {"grade": "VIP"}, "C-7": {}},
        identities={"kakao-a": "C-1042"},
        events=[
            event("cart_added", T - 600, "kakao-a"),
            event("purchase", T - 2 * D, customer="C-7"),
            event("cart_added", T - 60, customer="C-7"),
        ],
    )
    abandoners = segment("cart_added within 1h and not purchase within 24h")
    assert members_at(abandoners, T, audience=data) == ["C-1042", "C-7"]
    assert is_member(abandoners, "C-1042", T, audience=data)
    assert not is_member(abandoners, "C-1042", T + H, audience=data)  # an hour later: out
    # A friend who just joined, with nothing yet: 'not' holds for them all the same.
    assert is_member(segment("not purchase within 30d"), "user:kakao-new", T, audience=data)


def test_the_tree_of_a_segment_is_what_the_parser_reads() -> None:
    assert segment("not purchase within 30d").expr == parse_segment("not purchase within 30d")
