"""The edge cases of the segment language, answered by each store: the memory store (the Python
evaluator), SQLite and PostgreSQL (one SQL query each) must list the same members as the
evaluator does over the raw data, and as the designer reads the condition.

Each case is a small shop at the instant ``T`` (a Monday noon in Seoul), put into a new store
through the store's own doors (``put_profiles``, ``link``, ``change_consent``, ``add_events``,
``commit``), then asked about several conditions. The planted acceptance test counts large
random traffic; these cases aim at one edge each: ``!=`` beside an ``and``, ``not`` inside an
``or``, ``at most … where …``, ``N hours ago``, an event naming a customer nobody sent a
profile of, records in several experiments at once, a list attribute compared with a number
or true or false, a number too large for a float, consent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from botkit.audience import Audience, Consent, ConsentChange
from botkit.engine.session import Session
from botkit.flow import compile_texts
from botkit.records import BusinessEvent, Record
from botkit.segments.evaluate import members_at
from botkit.segments.model import Attr, ConsentIs, Expr, Segment
from botkit.storage import MemoryStore, SQLiteStore, Store
from botkit.storage.postgres import PostgresStore
from botkit.storage.segments_sql import compile_segment
from tests.postgres import POSTGRES_MARKS, postgres_url
from tests.segments.test_evaluate import FLOW, PEOPLE, D, Data, H, T, event

BOT = """\
bot: shop_helper
title: 쇼핑몰 도우미
start: main
goals:
  order_checked: { title: 배송 상태 확인 }
experiments:
  greeting_title:
    variants: { A: 50, B: 50 }
  price_test:
    variants: { A: 50, B: 50 }
  title:
    variants: { A: 50, B: 50 }
business_events:
  cart_added: { conversion: false }
  product_viewed: { conversion: false }
segments:
"""

LONG_AGO = T - 100 * D  # when profiles, links and consents were sent
BIG = 2**53  # the first integer after which a float skips integers


def record(
    user: str, at: float, kind: str = "message_in", variant: str = "", **data: Any
) -> Record:
    """A record of ``user``'s Kakao session (its ``seq`` is given as the session is stored)."""
    return Record(
        kind, f"kakao:{user}", 1, 0, 1, at, "shop_helper", "main", "v1", variant, user, "kakao",
        data or None,
    )  # fmt: skip


def views(customer: str, times: int, product: str) -> list[BusinessEvent]:
    """``customer`` viewed ``product`` ``times`` times, an hour apart, the last at T."""
    return [
        event("product_viewed", T - i * H, customer=customer, product=product)
        for i in range(times)
    ]


@dataclass(frozen=True)
class Case:
    data: Data
    expected: Mapping[str, list[str]]  # a segment's condition → its members at T, sorted
    named: Mapping[str, str] | None = None  # segments the conditions may use, by name


CASES: dict[str, Case] = {
    "window-edges": Case(
        Data(
            customers={c: {} for c in ("C-edge", "C-in", "C-now", "C-later")},
            events=[
                event("cart_added", T - H, customer="C-edge"),  # exactly an hour ago: out
                event("cart_added", T - H + 1, customer="C-in"),
                event("cart_added", T, customer="C-now"),  # the instant itself: in
                event("cart_added", T + 1, customer="C-later"),  # not yet happened
            ],
        ),
        {
            "cart_added within 1h": ["C-in", "C-now"],
            "cart_added ever": ["C-edge", "C-in", "C-now"],
            "not cart_added within 1h": ["C-edge", "C-later"],
        },
    ),
    "hours-and-days-ago": Case(
        Data(
            events=[
                event("channel_added", T - 3 * D, "u-newest"),  # the newest moment of it: in
                event("channel_added", T - 3 * D + 1, "u-too-recent"),
                event("channel_added", T - 4 * D + 1, "u-oldest"),  # the oldest moment: in
                event("channel_added", T - 4 * D, "u-too-old"),
                event("cart_added", T - 2 * H, "u-two-hours"),  # (T - 3h, T - 2h]
                event("cart_added", T - 2 * H + 1, "u-too-soon"),
                event("cart_added", T - 3 * H + 1, "u-almost-three"),
                event("cart_added", T - 3 * H, "u-three-hours"),
            ],
        ),
        {
            "channel_added 3 days ago": ["user:u-newest", "user:u-oldest"],
            "channel_added 0 days ago": [],
            "cart_added 2 hours ago": ["user:u-almost-three", "user:u-two-hours"],
            "cart_added 2h ago": ["user:u-almost-three", "user:u-two-hours"],
            "cart_added 0h ago": [],
            "channel_added ever and not channel_added 3 days ago": [
                "user:u-too-old",
                "user:u-too-recent",
            ],
        },
    ),
    "counts-and-at-most-where": Case(
        Data(
            customers={c: {} for c in ("C-none", "C-two", "C-three", "C-four")},
            events=[
                *views("C-two", 2, "padding"),
                *views("C-three", 2, "padding"),
                event("product_viewed", T - 2 * H, customer="C-three", product="shoes"),
                *views("C-four", 4, "padding"),
                event("product_viewed", T - D, customer="C-none", product="padding"),  # too old
                event("cart_added", T - H, "u-anon"),
            ],
        ),
        {
            "product_viewed at least 3 times within 24h": ["C-four", "C-three"],
            "product_viewed at most 2 times within 24h": ["C-none", "C-two", "user:u-anon"],
            "product_viewed at most 0 times within 24h": ["C-none", "user:u-anon"],
            "product_viewed at least 0 times within 24h": [
                "C-four",
                "C-none",
                "C-three",
                "C-two",
                "user:u-anon",
            ],
            'product_viewed where product = "padding" at most 1 times within 24h': [
                "C-none",
                "user:u-anon",
            ],
            'product_viewed where product = "padding" at most 2 times within 24h': [
                "C-none",
                "C-three",
                "C-two",
                "user:u-anon",
            ],
            'product_viewed where product = "padding" at least 2 times within 24h'
            " and product_viewed at most 2 times within 24h": ["C-two"],
            'cart_added ever or product_viewed where product = "shoes"'
            " at most 0 times within 1d": [
                "C-four",
                "C-none",
                "C-two",
                "user:u-anon",
            ],
        },
    ),
    "where-kind-with-kind": Case(
        Data(
            events=[
                event("product_viewed", T, "u-text", product="padding"),
                event("product_viewed", T, "u-other", product="shoes"),
                event("product_viewed", T, "u-number", product=3),
                event("product_viewed", T, "u-float", product=3.0),
                event("product_viewed", T, "u-three", product="3"),
                event("product_viewed", T, "u-true", product=True),
                event("product_viewed", T, "u-list", product=["padding", "shoes"]),
                event("product_viewed", T, "u-big", product=BIG + 1),
                event("product_viewed", T, "u-two-53", product=BIG),
                event("product_viewed", T, "u-nothing"),
            ],
        ),
        {
            'product_viewed where product = "padding" within 1h': ["user:u-list", "user:u-text"],
            "product_viewed where product = 3 within 1h": ["user:u-float", "user:u-number"],
            'product_viewed where product = "3" within 1h': ["user:u-three"],
            "product_viewed where product = true within 1h": ["user:u-true"],
            f"product_viewed where product = {BIG + 1} within 1h": ["user:u-big"],
            f"product_viewed where product = {BIG} within 1h": ["user:u-two-53"],
        },
    ),
    "who-a-member-is": Case(
        Data(
            customers={"C-1042": {"grade": "VIP"}},
            identities={"kakao-a": "C-1042", "web-b": "C-1042"},
            events=[
                event("cart_added", T - 10, "kakao-a"),  # through one linked channel
                event("cart_added", T - 20, "web-b"),  # through the other
                event("cart_added", T - 30, customer="C-1042"),  # named by the shop
                event("cart_added", T - 40, "web-stranger"),  # a visitor nobody linked
                event("cart_added", T - 50, customer="C-ghost"),  # no profile was ever sent
                event("refund", T - 60, "kakao-a", customer="C-other"),  # the shop's word wins
                event("purchase", T - D, customer="C-ghost"),
            ],
        ),
        {
            "cart_added at least 3 times within 1h": ["C-1042"],
            "cart_added within 1h": ["C-1042", "C-ghost", "user:web-stranger"],
            "not purchase within 30d": ["C-1042", "C-other", "user:web-stranger"],
            "not cart_added within 1h": ["C-other"],
            'profile.grade != "VIP"': ["C-ghost", "C-other", "user:web-stranger"],
            "purchase ever and cart_added within 1h": ["C-ghost"],
            "refund ever": ["C-other"],
        },
    ),
    "not-and-not-equal": Case(
        Data(
            customers={"C-quiet": {}, "C-buyer": {"grade": "VIP"}, "C-gold": {"grade": "GOLD"}},
            consents={"user:never-seen": Consent(marketing=True)},  # consent alone: no member
            events=[
                event("purchase", T - D, customer="C-buyer"),
                event("cart_added", T - 600, "u-anon"),
                event("cart_added", T - 10, customer="C-gold"),
            ],
            records=[record("u-talker", T - 5 * D)],
        ),
        {
            "not purchase within 30d": ["C-gold", "C-quiet", "user:u-anon", "user:u-talker"],
            'cart_added within 1h and profile.grade != "VIP"': ["C-gold", "user:u-anon"],
            'cart_added within 1h and profile.grade != "GOLD"': ["user:u-anon"],
            'profile.grade != "VIP" and not cart_added within 1h': ["C-quiet", "user:u-talker"],
            'profile.grade = "VIP" or not cart_added within 1h': [
                "C-buyer",
                "C-quiet",
                "user:u-talker",
            ],
            "(not purchase within 30d or consent.marketing) and cart_added ever": [
                "C-gold",
                "user:u-anon",
            ],
            "not (purchase within 30d or cart_added within 1h)": ["C-quiet", "user:u-talker"],
            "not not purchase within 30d": ["C-buyer"],
            'profile.grade != "VIP" or consent.marketing': [
                "C-gold",
                "C-quiet",
                "user:u-anon",
                "user:u-talker",
            ],
            "not consent.marketing": [
                "C-buyer",
                "C-gold",
                "C-quiet",
                "user:u-anon",
                "user:u-talker",
            ],
        },
    ),
    "segments-of-segments": Case(
        Data(
            customers={"C-1": {"grade": "VIP"}, "C-2": {"grade": "VIP"}, "C-3": {"grade": "GOLD"}},
            events=[event("purchase", T - D, customer="C-2")],
        ),
        {
            "segment.vip_dormant": ["C-1"],
            "not segment.vip_dormant": ["C-2", "C-3"],
            "segment.dormant or segment.vip": ["C-1", "C-2", "C-3"],
            "not segment.dormant and segment.vip": ["C-2"],
            "not segment.not_vip": ["C-1", "C-2"],
            "segment.not_vip or segment.no_purchase": ["C-1", "C-3"],
            "not segment.no_purchase": ["C-2"],
        },
        named={
            "not_vip": 'profile.grade != "VIP"',
            "no_purchase": "purchase at most 0 times within 30d",
            "vip": 'profile.grade = "VIP"',
            "dormant": "not purchase within 30d",
            "vip_dormant": "segment.vip and segment.dormant",
        },
    ),
    "goals-and-several-variants": Case(
        Data(
            customers={"C-1": {}},
            identities={"kakao-a": "C-1"},
            records=[
                record("kakao-a", T - 2 * D, "goal", goal="order_checked"),
                record("kakao-b", T - 40 * D, "goal", goal="order_checked"),
                record("kakao-c", T - H, variant="greeting_title:B,price_test:A"),
                record("kakao-d", T + 1, variant="greeting_title:B"),  # after the instant
                record("kakao-e", T - H, variant="greeting_title:A,price_test:B"),
                record("kakao-f", T - 2 * H, variant="price_test:B,title:A"),
            ],
        ),
        {
            "reached goal order_checked within 30d": ["C-1"],
            "reached goal order_checked": ["C-1", "user:kakao-b"],
            "variant B of greeting_title": ["user:kakao-c"],
            "variant A of price_test": ["user:kakao-c"],
            "variant B of price_test": ["user:kakao-e", "user:kakao-f"],
            "variant B of title": [],  # greeting_title:B is another experiment's
            "variant A of title": ["user:kakao-f"],
            "variant A of greeting_title and variant B of price_test": ["user:kakao-e"],
            "not variant B of price_test": ["C-1", "user:kakao-b", "user:kakao-c", "user:kakao-d"],
        },
    ),
    "profiles-kind-with-kind": Case(
        Data(
            customers={
                **PEOPLE,
                "C-5": {"interests": [1, True, "골프"], "score": 1.0, "points": BIG},
                "C-6": {"interests": [False, 2.5], "score": 1, "points": BIG + 1},
                "C-7": {"interests": "골프", "score": True, "extra": {"interests": 1}},
            },
            events=[event("cart_added", T - H, "u-anon")],
        ),
        {
            'profile.grade = "VIP"': ["C-1", "C-3"],
            'profile.grade != "VIP"': ["C-2", "C-4", "C-5", "C-6", "C-7", "user:u-anon"],
            "profile.age < 30": ["C-1"],  # "24" is a text, not a number: never ordered
            'profile.age = "24"': ["C-3"],
            "profile.age is set": ["C-1", "C-2", "C-3"],  # null is not set
            'profile.region in ["서울", "경기"]': ["C-1", "C-3"],
            'profile.region < "부"': ["C-3"],  # texts by code point: 경 < 부 < 서
            "profile.is_member = true": ["C-1"],  # 1 is a number, not true
            'profile.interests = "골프"': ["C-1", "C-5", "C-7"],  # a list holds it, or is it
            "profile.interests = 1": ["C-5"],  # true is no number
            "profile.interests = true": ["C-5"],  # nor 1 true
            "profile.interests = false": ["C-6"],
            "profile.interests in [2.5, 1]": ["C-5", "C-6"],
            "profile.interests > 0": [],  # a list has no order
            "profile.interests != 1": ["C-1", "C-2", "C-3", "C-4", "C-6", "C-7", "user:u-anon"],
            "profile.score = 1": ["C-5", "C-6"],  # 1.0 is 1
            "profile.score = true": ["C-7"],
            "profile.score >= 1": ["C-5", "C-6"],
            f"profile.points = {BIG + 1}": ["C-6"],
            f"profile.points < {BIG + 1}": ["C-5"],
            f"profile.points > {BIG}": ["C-6"],
            f"profile.points in [{BIG + 1}, 7]": ["C-6"],
            "profile.interests is set": ["C-1", "C-2", "C-5", "C-6", "C-7"],  # [] too
            'profile.age in [24, "24"]': ["C-1", "C-3"],
            'profile.age >= "2"': ["C-3"],
            "profile.extra = 1": [],  # an object holds no item
            "profile.extra is set": ["C-7"],
            'profile.grade = "VIP" and profile.age >= 24': ["C-1"],
        },
    ),
    "members-in-code-point-order": Case(
        Data(
            customers={c: {} for c in ("c-1", "C-가", "C-Z", "C-😀", "C-a", "C-_", "C-ä")},
            events=[event("cart_added", T - H, "Z-visitor"), event("cart_added", T, "a-visitor")],
        ),
        {
            "not purchase ever": sorted(
                [
                    "c-1",
                    "C-가",
                    "C-Z",
                    "C-😀",
                    "C-a",
                    "C-_",
                    "C-ä",
                    "user:Z-visitor",
                    "user:a-visitor",
                ]
            ),
        },
    ),
    "sixty-segments-deep": Case(
        Data(
            customers={"C-cart": {}, "C-quiet": {}},
            events=[
                event("cart_added", T - 60, customer="C-cart"),
                event("cart_added", T, "u-anon"),
            ],
        ),
        {"segment.deep_60": ["C-cart", "user:u-anon"], "segment.deep_59": []},
        # each 'not' of the one before: everyone with a cart, then nobody, then them again
        named={
            "deep_0": "cart_added within 1h",
            **{
                f"deep_{i}": f"cart_added within 1h and not segment.deep_{i - 1}"
                for i in range(1, 61)
            },
        },
    ),
    "consent": Case(
        Data(
            customers={"C-yes": {}, "C-no": {}, "C-never": {}},
            consents={
                "C-yes": Consent(marketing=True, night=False),
                "C-no": Consent(marketing=False, night=True),
                "user:u-anon": Consent(marketing=True, night=True),
                "user:u-ghost": Consent(marketing=True),  # nothing else: no member
            },
            events=[event("cart_added", T - H, "u-anon")],
        ),
        {
            "consent.marketing": ["C-yes", "user:u-anon"],
            "consent.night": ["C-no", "user:u-anon"],
            "consent.marketing and not consent.night": ["C-yes"],
            "not consent.marketing": ["C-never", "C-no"],
            "consent.night or consent.marketing": ["C-no", "C-yes", "user:u-anon"],
            "consent.marketing and cart_added ever": ["user:u-anon"],
            "consent.marketing and consent.night": ["user:u-anon"],
            "not (consent.marketing or consent.night)": ["C-never"],
            "cart_added ever and (not consent.marketing or consent.night)": ["user:u-anon"],
        },
    ),
}


def compiled(case: Case) -> dict[str, Segment]:
    """Each condition of ``case`` as a compiled segment, beside the segments it names."""
    whens = {**(case.named or {}), **{f"asked_{i}": w for i, w in enumerate(case.expected)}}
    text = BOT + "".join(f"  {name}:\n    when: '{when}'\n" for name, when in whens.items())
    result = compile_texts([("bot.yaml", text), ("main.yaml", FLOW)])
    assert result.bot is not None, result.problems
    return {when: result.bot.segments[f"asked_{i}"] for i, when in enumerate(case.expected)}


async def load(store: Store, data: Data) -> None:
    """``data`` into ``store`` (open, empty) through its own methods."""
    assert isinstance(store, Audience)
    # A link creates the customer it names: the data names them, so Python sees them too.
    assert set(data.identities.values()) <= set(data.customers)
    await store.put_profiles(sorted(data.customers.items()), LONG_AGO)
    for user, customer in sorted(data.identities.items()):
        await store.link(user, customer, LONG_AGO, "api")
    for member, consent in sorted(data.consents.items()):
        said = ConsentChange(LONG_AGO, "api", marketing=consent.marketing, night=consent.night)
        await store.change_consent(member, said)
    await store.add_events(list(data.events))
    by_session: dict[str, list[Record]] = {}
    for r in data.records:
        by_session.setdefault(r.session, []).append(r)
    for key, records in sorted(by_session.items()):
        numbered = [r._replace(seq=n) for n, r in enumerate(records, 1)]
        first = numbered[0]
        session = Session(key, first.user, first.channel, conversation=1, turn=1, seq=len(records))
        await store.commit(session, numbered, expected_version=0)


@pytest.fixture(
    params=[
        pytest.param("memory", id="memory"),
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=POSTGRES_MARKS),
    ]
)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    kind: str = request.param
    if kind == "memory":
        opened: Store = MemoryStore()
    elif kind == "sqlite":
        opened = SQLiteStore(str(tmp_path / "상점.db"))
    else:
        opened = PostgresStore(postgres_url(request.getfixturevalue("postgres_schema")))
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


@pytest.mark.parametrize("name", list(CASES))
async def test_every_store_lists_what_the_designer_means(store: Store, name: str) -> None:
    case = CASES[name]
    await load(store, case.data)
    assert isinstance(store, Audience)
    wrong: list[str] = []
    for when, segment in compiled(case).items():
        expected = case.expected[when]
        python = members_at(segment, T, audience=case.data)
        found = await store.segment_members(segment, T)
        if (python, found) != (expected, expected):
            wrong.append(f"{when}: the store {found}, Python {python}, meant {expected}")
    assert wrong == []


@pytest.mark.parametrize(
    "expr",
    [
        pytest.param(Attr("grade", cast(Any, "= 'VIP' OR 1 ="), ("VIP",)), id="equality"),
        pytest.param(Attr("age", cast(Any, "> 0 OR 1 <"), (30,)), id="ordering"),
        pytest.param(ConsentIs(cast(Any, "night OR 1 = 1 OR night")), id="consent"),
    ],
)
@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_only_the_languages_own_words_are_written_into_the_sql(expr: Expr, dialect: Any) -> None:
    """A tree the compiler never makes, built by hand: refused, never pasted into the SQL."""
    with pytest.raises(ValueError, match="in the segment language"):
        compile_segment(Segment("x", "x", expr), T, dialect)
