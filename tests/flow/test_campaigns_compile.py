"""Compiling campaigns files: what each key becomes in ``Bot.outreach``, and every rule a
campaign is held to, each problem at its file:line:col in the designer's words."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from botkit.campaigns.model import DEFAULT_QUIET, Caps, Outreach, Schedule, Trigger
from botkit.flow import CompileResult, compile_bot, compile_texts, flow_files
from botkit.flow._triggers import TriggerSyntaxError, parse_trigger
from botkit.segments.model import SegmentRef

BOT = """\
bot: shop
title: 쇼핑몰
start: main
business_events:
  cart_added: { conversion: false }
segments:
  cart_abandoners:
    title: 장바구니 이탈 고객
    when: cart_added within 1h and not purchase within 24h
  vip:
    when: purchase at least 5 times within 30d
"""
MAIN = """\
flow: main
title: 첫 화면
start: hello
states:
  hello:
    say: "안녕하세요, 쇼핑몰이에요."
    end: resolved
"""
AD = "(광고) 장바구니에 담아 두신 상품이 기다리고 있어요. 수신거부: 채팅창에 '수신거부' 입력"
SEOUL = ZoneInfo("Asia/Seoul")


def compiled(campaigns: str, bot: str = BOT, *more: tuple[str, str]) -> CompileResult:
    files = [("bot.yaml", bot), ("main.yaml", MAIN), ("campaigns.yaml", campaigns), *more]
    return compile_texts((name, textwrap.dedent(text)) for name, text in files)


def found(result: CompileResult) -> list[str]:
    return [f"{p.code} {p.path}:{p.line}:{p.column} {p.message}" for p in result.problems]


def one_campaign(body: str, head: str = "") -> str:
    """A campaigns file of one campaign, ``cart_reminder``, whose keys are ``body``."""
    return head + "campaigns:\n  cart_reminder:\n" + textwrap.indent(textwrap.dedent(body), "    ")


def advertising(**keys: str | None) -> str:
    """An advertising campaign that passes every rule, with ``keys`` written over it (None:
    left out)."""
    body = {
        "kind": "advertising",
        "trigger": "1 hour after cart_added",
        "message": f'"{AD}"',
        **keys,
    }
    return one_campaign("".join(f"{k}: {v}\n" for k, v in body.items() if v is not None))


# -- what the compiler makes of each key ------------------------------------------------------

EVERY_KEY = """\
timezone: Asia/Seoul
quiet_hours: "20:00-09:00"
caps: { per_day: 2, per_week: 5 }
campaigns:
  cart_reminder:
    kind: advertising
    trigger: 90 minutes after cart_added
    audience: cart_abandoners
    exclude:
      recent_buyers: purchase within 24h
      vips: segment.vip
    caps: { per_week: 1 }
    channels: [web, kakao, web]
    opens: main.hello
    holdout: 12.5%
    expires: 12h
    send_at: best_hour
    starts: "2026-12-01"
    ends: "2026-12-31"
    window: 3d
    cost: 15
    message:
      text: "(광고) 장바구니를 확인해 보세요. 수신거부: '수신거부' 입력"
  order_update:
    title: 배송 안내
    kind: informational
    trigger: every mon,thu at 19:30
    variants:
      short: { message: "배송이 시작됐어요." }
      long: { message: ["배송이 시작됐어요.", "내일 도착 예정이에요."] }
"""


def test_every_key_of_a_campaign_is_compiled() -> None:
    result = compiled(EVERY_KEY)
    assert found(result) == []
    assert result.bot is not None
    outreach = result.bot.outreach
    assert (outreach.caps, outreach.quiet, outreach.timezone) == (
        Caps(2, 5),
        (20 * 60, 9 * 60),
        "Asia/Seoul",
    )
    cart = outreach.campaigns["cart_reminder"]
    assert cart.trigger == Trigger(
        "event", "90 minutes after cart_added", event="cart_added", delay=5400.0
    )
    assert cart.advertising
    assert cart.title == "cart_reminder"
    assert cart.audience == result.bot.segments["cart_abandoners"]
    assert [(e.name, e.segment.name, e.segment.when) for e in cart.exclusions] == [
        ("recent_buyers", "cart_reminder.recent_buyers", "purchase within 24h"),
        ("vips", "cart_reminder.vips", "segment.vip"),
    ]
    vips = cart.exclusions[1].segment.expr  # resolved into the exclusion, as in segments
    assert isinstance(vips, SegmentRef)
    assert vips.expr == result.bot.segments["vip"].expr
    assert cart.channels == ("web", "kakao")  # in order, once each
    assert cart.opens == ("main", "hello")
    assert (cart.holdout, cart.expires, cart.send_at, cart.caps) == (
        0.125,
        12 * 3600.0,
        "best_hour",
        Caps(None, 1),
    )
    # starts at the first moment of its first day, ends with the whole of its last day
    assert cart.starts == dt.datetime(2026, 12, 1, tzinfo=SEOUL).timestamp()
    assert cart.ends == dt.datetime(2027, 1, 1, tzinfo=SEOUL).timestamp()
    assert (cart.window, cart.cost, cart.source) == (3 * 86400.0, 15.0, "campaigns.yaml")
    (variant,) = cart.variants
    assert (variant.name, variant.weight, len(variant.messages)) == ("default", 1.0, 1)
    text = variant.messages[0].text
    assert text is not None
    assert text.template("ko").source.startswith("(광고) 장바구니")

    update = outreach.campaigns["order_update"]
    assert (update.title, update.kind, update.audience, update.exclusions) == (
        "배송 안내",
        "informational",
        None,
        (),
    )
    assert update.trigger.schedule == Schedule(19, 30, weekdays=frozenset({0, 3}))
    assert [(v.name, v.weight, len(v.messages)) for v in update.variants] == [
        ("short", 1.0, 1),
        ("long", 1.0, 2),
    ]
    assert (update.channels, update.opens, update.holdout, update.send_at) == (
        ("kakao", "web"),
        None,
        0.0,
        "due",
    )
    assert (update.expires, update.window, update.starts, update.ends, update.cost) == (
        86400.0,
        7 * 86400.0,
        None,
        None,
        0.0,
    )


def test_variant_weights_as_written() -> None:
    result = compiled(
        advertising(
            message=None,
            variants=f'{{A: {{weight: 70, message: "{AD}"}}, B: {{weight: 30, message: "{AD}"}}}}',
        )
    )
    assert found(result) == []
    assert result.bot is not None
    variants = result.bot.outreach.campaigns["cart_reminder"].variants
    assert [(v.name, v.weight) for v in variants] == [("A", 70.0), ("B", 30.0)]


def test_a_bot_without_campaigns_shares_its_time_zone_and_keeps_its_version() -> None:
    hours = (
        "business_hours:\n  cs:\n    timezone: Europe/Berlin\n"
        "    days: { mon-fri: '09:00-18:00' }\n"
    )
    plain = compile_texts([("bot.yaml", BOT + hours), ("main.yaml", MAIN)]).bot
    assert plain is not None
    assert plain.outreach == Outreach(timezone="Europe/Berlin")
    assert plain.outreach.quiet == DEFAULT_QUIET == (20 * 60 + 50, 8 * 60)
    with_one = compiled(advertising(), BOT + hours).bot
    assert with_one is not None
    assert with_one.outreach.timezone == "Europe/Berlin"  # the bot's, when the file names none
    assert with_one.version != plain.version  # a campaign is part of what goes live
    commented = compiled("# 주석\n" + advertising(), BOT + hours).bot
    assert commented is not None
    assert commented.version == with_one.version
    changed = compiled(advertising(expires="6h"), BOT + hours).bot
    assert changed is not None
    assert changed.version != with_one.version


def test_the_reference_bot_has_the_three_seed_campaigns(repo: Path) -> None:
    result = compile_bot(flow_files(repo / "flows"))
    assert result.problems == []
    assert result.bot is not None
    outreach = result.bot.outreach
    assert (outreach.caps, outreach.quiet) == (Caps(1, 3), DEFAULT_QUIET)
    welcome, cart, winter = (
        outreach.campaigns[n] for n in ("welcome", "cart_reminder", "winter_padding")
    )
    assert (welcome.trigger.event, welcome.trigger.delay) == ("channel_added", 3 * 86400.0)
    assert welcome.opens is not None
    assert welcome.opens[0] == "promotion"
    assert (cart.trigger.event, cart.trigger.delay, cart.expires) == (
        "cart_added",
        3600.0,
        12 * 3600.0,
    )
    assert cart.audience is None  # the trigger names them; see the comment in campaigns.yaml
    assert [e.segment.when for e in cart.exclusions] == ["purchase within 24h"]
    assert winter.trigger.kind == "schedule"
    assert winter.audience is not None
    assert winter.audience.name == "padding_fans"
    assert (winter.holdout, winter.send_at, [v.name for v in winter.variants]) == (
        0.1,
        "best_hour",
        ["A", "B"],
    )
    assert all(c.advertising for c in (welcome, cart, winter))


# -- the trigger language ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "trigger"),
    [
        ("cart_added", Trigger("event", "cart_added", event="cart_added")),
        ("3 days after channel_added", Trigger("event", "", event="channel_added", delay=259200)),
        ("1h after cart_added", Trigger("event", "", event="cart_added", delay=3600)),
        ("30 m after cart_added", Trigger("event", "", event="cart_added", delay=1800)),
        ("2 weeks after purchase", Trigger("event", "", event="purchase", delay=14 * 86400)),
        ("entering segment vip", Trigger("segment", "", segment="vip")),
        ("at 2026-12-10 10:00", Trigger("schedule", "", schedule=Schedule(10, 0, "2026-12-10"))),
        ("every day at 9:05", Trigger("schedule", "", schedule=Schedule(9, 5))),
        (
            "every mon, wed at 19:30",
            Trigger("schedule", "", schedule=Schedule(19, 30, weekdays=frozenset({0, 2}))),
        ),
        (
            "every fri-mon at 08:00",  # a range may wrap past Sunday
            Trigger("schedule", "", schedule=Schedule(8, 0, weekdays=frozenset({4, 5, 6, 0}))),
        ),
    ],
)
def test_triggers_that_read(text: str, trigger: Trigger) -> None:
    parsed = parse_trigger(text).trigger
    assert parsed.text == text
    assert parsed == Trigger(
        trigger.kind, text, trigger.event, trigger.delay, trigger.segment, trigger.schedule
    )


@pytest.mark.parametrize(
    ("text", "offset", "message"),
    [
        ("", 0, "the trigger is empty"),
        ("1 hour cart_added", 7, "'after' must follow '1 hour', not 'cart_added'"),
        ("3 dayz after channel_added", 2, "'dayz' is not a unit of time"),
        ("1 hour after", 12, "the trigger ends after 'after'"),
        (
            "cart added",
            5,
            "the trigger should end after the event kind 'cart', but 'added' follows",
        ),
        ("Cart_added", 0, "'Cart_added' is not an event kind: lowercase letters, digits and '_'"),
        ("+1h", 0, "a trigger cannot start with '+'"),
        ("entering vip", 9, "'segment' must follow 'entering', not 'vip'"),
        ("at 2026-02-30 10:00", 3, "'2026-02-30' is not a day of the calendar"),
        ("at 2026-12-10", 13, "the trigger ends after the day '2026-12-10'"),
        ("every day at 24:00", 13, "'24:00' is not a time of day"),
        ("every day at 10", 13, "'10' is not a time"),
        ("every monday at 10:00", 6, "'monday' is not a day of the week"),
        ("every day", 9, "the trigger ends after the days"),
    ],
)
def test_triggers_that_do_not_read_say_where(text: str, offset: int, message: str) -> None:
    with pytest.raises(TriggerSyntaxError) as caught:
        parse_trigger(text)
    assert (caught.value.offset, caught.value.message) == (offset, message)


def test_a_trigger_problem_points_inside_the_line() -> None:
    result = compiled(advertising(trigger="3 dayz after channel_added"))
    assert found(result) == [
        "BK430 campaigns.yaml:4:16 the trigger of campaign 'cart_reminder' cannot be read: "
        "'dayz' is not a unit of time"
    ]
    assert result.problems[0].expected == "minutes, hours, days or weeks (or m, h, d, w)"
    assert result.bot is None


# -- names the campaign uses -------------------------------------------------------------------


def test_unknown_event_kind_segment_and_state() -> None:
    result = compiled(
        advertising(
            trigger="1 hour after cart_add",
            audience="cart_abandonrs",
            opens="main.helo",
        )
    )
    assert found(result) == [
        "BK320 campaigns.yaml:4:27 campaign 'cart_reminder' waits for business events of kind "
        "'cart_add', which bot.yaml does not declare, so it would never be sent",
        "BK318 campaigns.yaml:6:15 segment 'cart_abandonrs' is not declared",
        "BK301 campaigns.yaml:7:12 'main.helo' is not a state of flow 'main'",
    ]
    hints = [p.hint for p in result.problems]
    assert hints == [
        "did you mean 'cart_added'?",
        "did you mean 'cart_abandoners'?",
        "did you mean 'hello'?",
    ]


def test_entering_an_unknown_segment_and_a_state_without_its_flow() -> None:
    result = compiled(advertising(trigger="entering segment viip", opens="hello"))
    assert found(result) == [
        "BK318 campaigns.yaml:4:31 segment 'viip' is not declared",
        "BK301 campaigns.yaml:6:12 'hello' must name its flow here, e.g. '<flow>.hello'",
    ]


def test_the_kinds_botkit_records_itself_need_no_declaration() -> None:
    assert found(compiled(advertising(trigger="3 days after channel_added"))) == []
    assert found(compiled(advertising(trigger="purchase"))) == []


def test_exclusions_are_checked_as_segments() -> None:
    result = compiled(
        advertising(
            exclude="\n  recent: purchase within 24hr\n  typo: purchased within 1d"
            "\n  unknown: segment.vipp"
        )
    )
    assert found(result) == [
        "BK421 campaigns.yaml:7:31 exclusion rule 'recent' of campaign 'cart_reminder' cannot "
        "be read: '24hr' is not a duration: 'hr' is not a unit",
        "BK319 campaigns.yaml:8:13 no business event of kind 'purchased' is declared, so this "
        "counts nothing unless the shop sends it",
        "BK318 campaigns.yaml:9:24 segment 'vipp' is not declared",
    ]


# -- advertising ------------------------------------------------------------------------------


def test_advertising_without_the_label() -> None:
    result = compiled(
        advertising(message="\"장바구니를 확인해 보세요. 수신거부: '수신거부' 입력\"")
    )
    assert found(result) == [
        "BK431 campaigns.yaml:5:14 the message of advertising campaign 'cart_reminder' does "
        "not begin with '(광고)'"
    ]
    assert result.bot is None


def test_the_label_in_other_languages() -> None:
    bot = BOT.replace("start: main\n", "start: main\nlocales: [ko, en]\n")
    ok = '\n  text:\n    ko: "(광고) 할인 수신거부"\n    en: "[Ad] Sale! unsubscribe"'
    assert found(compiled(advertising(message=ok), bot)) == [
        "BK417 main.yaml:6:10 this text has no 'en' version"  # the flow's, not the campaign's
    ]
    english_only = '\n  text:\n    ko: "(Ad) 할인 수신거부"\n    en: "Sale! (Ad) unsubscribe"'
    result = compiled(advertising(message=english_only), bot)
    assert [p for p in found(result) if not p.startswith("BK417 main.yaml")] == [
        "BK431 campaigns.yaml:7:13 the message of advertising campaign 'cart_reminder' does not "
        "begin with '(광고)'",
        "BK431 campaigns.yaml:8:13 the message of advertising campaign 'cart_reminder' does not "
        "begin with '(광고)' in 'en'",
    ]


def test_a_message_beginning_with_an_image_cannot_be_labelled() -> None:
    message = f'\n  - image: "https://shop.example.com/a.png"\n  - text: "{AD}"'
    result = compiled(advertising(message=message, channels="[web]"))
    assert found(result) == [
        "BK431 campaigns.yaml:6:9 the message of advertising campaign 'cart_reminder' begins "
        "with an image, so it cannot begin with '(광고)'"
    ]


def test_a_card_title_may_carry_the_label() -> None:
    card = (
        '\n  card:\n    title: "(광고) 겨울 세일"\n    description: "수신거부: \'수신거부\' 입력"'
    )
    assert found(compiled(advertising(message=card))) == []


def test_advertising_without_the_opt_out_words() -> None:
    result = compiled(advertising(message='"(광고) 오늘 주문하면 무료 배송!"'))
    assert found(result) == [
        "BK432 campaigns.yaml:5:5 the message of advertising campaign 'cart_reminder' does "
        "not say how to opt out"
    ]
    assert result.problems[0].expected == (
        "one of the opt-out words: '수신거부', '광고 그만', 'unsubscribe'"
    )


def test_the_opt_out_words_are_the_bots_own() -> None:
    bot = BOT + "opt_out: [그만 받기]\n"
    assert found(compiled(advertising(message='"(광고) 할인! 그만받기 입력"'), bot)) == []
    result = compiled(advertising(), bot)  # says 수신거부, which this bot does not take
    assert [p.code for p in result.problems] == ["BK432"]
    assert result.problems[0].expected == "one of the opt-out words: '그만 받기'"


def test_quick_reply_labels_are_no_opt_out_text() -> None:
    message = (
        '\n  text: "(광고) 할인!"\n  quick_replies:\n    - { label: 수신거부, payload: stop }'
    )
    assert [p.code for p in compiled(advertising(message=message)).problems] == ["BK432"]


def test_advertising_in_a_bot_nobody_can_opt_out_of() -> None:
    result = compiled(advertising(), BOT + "opt_out: []\n")
    assert found(result) == [
        "BK433 campaigns.yaml:3:11 campaign 'cart_reminder' is advertising, but this bot has no "
        "opt-out words, so nobody it reaches could stop its messages"
    ]
    informational = advertising(kind="informational", message='"주문하신 상품이 출발했어요."')
    assert found(compiled(informational, BOT + "opt_out: []\n")) == []


def test_kakao_advertising_is_one_bubble() -> None:
    two = '\n  - "(광고) 장바구니를 확인해 보세요."\n  - "수신거부: \'수신거부\' 입력"'
    assert found(compiled(advertising(message=two))) == [
        "BK434 campaigns.yaml:7:9 the message of advertising campaign 'cart_reminder' has 2 "
        "bubbles, but Kakao sends one bubble per advertising message"
    ]
    assert found(compiled(advertising(message=two, channels="[web, webhook]"))) == []


def test_every_variant_is_held_to_the_rules() -> None:
    variants = f'\n  A: {{ message: "{AD}" }}\n  B: {{ message: "할인! 수신거부" }}'
    result = compiled(advertising(message=None, variants=variants))
    assert found(result) == [
        "BK431 campaigns.yaml:7:21 variant 'B' of advertising campaign 'cart_reminder' does "
        "not begin with '(광고)'"
    ]


def test_an_informational_campaign_labelled_advertising() -> None:
    assert found(compiled(advertising(kind="informational"))) == [
        "BK437 campaigns.yaml:3:11 campaign 'cart_reminder' is informational, but the message "
        "is labelled advertising"
    ]


def test_consent_is_no_setting() -> None:
    result = compiled(advertising(consent="ignore"))
    assert found(result) == [
        "BK201 campaigns.yaml:6:5 unknown key 'consent' in campaign 'cart_reminder'"
    ]
    assert result.problems[0].hint is not None
    assert result.problems[0].hint.startswith("consent is not a setting")


@pytest.mark.parametrize(
    ("window", "opens_at"),
    [
        ("20:50-08:00", None),
        ("21:00-08:00", None),
        ("19:00-09:30", None),
        ("21:01-08:00", "21:00"),
        ("21:00-07:59", "07:59"),
        ("08:00-21:00", "21:00"),  # written the wrong way round: the day, not the night
        ("18:00-23:59", "23:59"),
        ("21:00-21:00", "21:00"),  # empty
    ],
)
def test_the_quiet_hours_cover_the_legal_night(window: str, opens_at: str | None) -> None:
    result = compiled(advertising().replace("campaigns:", f'quiet_hours: "{window}"\ncampaigns:'))
    if opens_at is None:
        assert found(result) == []
        assert result.bot is not None
        start, until = (int(t[:2]) * 60 + int(t[3:]) for t in window.split("-"))
        assert result.bot.outreach.quiet == (start, until)
        return
    assert found(result) == [
        f"BK435 campaigns.yaml:1:14 the quiet hours {window} leave advertising free to go out "
        f"at {opens_at}, which the law keeps for people who agreed to night-time advertising"
    ]


def test_the_quiet_hours_are_the_law_s_in_seoul_whatever_clock_the_file_reads() -> None:
    on_utc = compiled(advertising().replace("campaigns:", "timezone: UTC\ncampaigns:"))
    assert [p.split(" the quiet")[0] for p in found(on_utc)] == ["BK435 campaigns.yaml:1:11"]
    assert "in UTC (Seoul's time)" in found(on_utc)[0]
    assert "at 21:00 in Korea" in found(on_utc)[0]
    # 21:00-08:00 in Seoul is 12:00-23:00 in UTC: that window is lawful
    lawful = 'timezone: UTC\nquiet_hours: "11:50-23:00"\ncampaigns:'
    assert found(compiled(advertising().replace("campaigns:", lawful))) == []


# -- numbers, days and shapes -----------------------------------------------------------------


def test_holdout_from_0_to_50_percent() -> None:
    assert found(compiled(advertising(holdout="50%"))) == []
    assert found(compiled(advertising(holdout="50.5%"))) == [
        "BK207 campaigns.yaml:6:14 'holdout' of campaign 'cart_reminder' is out of range"
    ]
    assert found(compiled(advertising(holdout='"10"'))) == [
        "BK209 campaigns.yaml:6:14 'holdout' of campaign 'cart_reminder' does not have the "
        "form of a share in percent"
    ]


def test_weights_are_positive_and_given_to_all_or_none() -> None:
    zero = f'\n  A: {{ weight: 0, message: "{AD}" }}\n  B: {{ weight: 1, message: "{AD}" }}'
    result = compiled(advertising(message=None, variants=zero))
    assert found(result) == [
        "BK207 campaigns.yaml:6:20 'weight' of variant 'A' of campaign 'cart_reminder' is out "
        "of range"
    ]
    some = f'\n  A: {{ weight: 3, message: "{AD}" }}\n  B: {{ message: "{AD}" }}'
    result = compiled(advertising(message=None, variants=some))
    assert found(result) == [
        "BK203 campaigns.yaml:7:7 variant 'B' of campaign 'cart_reminder' has no weight, but "
        "the others do"
    ]


def test_message_or_variants_exactly_one() -> None:
    both = compiled(advertising(variants=f'{{A: {{message: "{AD}"}}}}'))
    assert found(both) == [
        "BK208 campaigns.yaml:6:5 campaign 'cart_reminder' has both 'message' and 'variants'"
    ]
    neither = compiled(advertising(message=None))
    assert found(neither) == [
        "BK203 campaigns.yaml:2:3 campaign 'cart_reminder' has nothing to send"
    ]


def test_days_are_days_and_in_order() -> None:
    assert found(compiled(advertising(starts='"2026-12-31"', ends='"2026-12-01"'))) == [
        "BK436 campaigns.yaml:7:11 campaign 'cart_reminder' ends before it starts"
    ]
    assert found(compiled(advertising(starts='"2026-02-30"'))) == [
        "BK436 campaigns.yaml:6:13 'starts' of campaign 'cart_reminder' is not a day of the "
        "calendar"
    ]
    once = advertising(trigger="at 2026-11-10 10:00", starts='"2026-12-01"')
    assert found(compiled(once)) == [
        "BK436 campaigns.yaml:4:14 campaign 'cart_reminder' runs once, on 2026-11-10, outside "
        "its days (2026-12-01 to …)"
    ]


def test_zero_durations_and_an_unknown_time_zone() -> None:
    result = compiled(
        advertising(expires="0h").replace("campaigns:", "timezone: Asia/Seul\ncampaigns:")
    )
    assert found(result) == [
        "BK205 campaigns.yaml:1:11 'Asia/Seul' is not a time zone",
        "BK207 campaigns.yaml:7:14 'expires' of campaign 'cart_reminder' is out of range",
    ]
    assert result.problems[0].hint is not None
    assert "'Asia/Seoul'" in result.problems[0].hint


def test_two_campaigns_files_share_the_settings_and_the_names() -> None:
    other = (
        "more.yaml",
        "timezone: Asia/Seoul\ncampaigns:\n  cart_reminder:\n    kind: informational\n"
        "    trigger: cart_added\n    message: 안내\n",
    )
    result = compiled("timezone: Asia/Seoul\n" + advertising(), BOT, other)
    assert found(result) == [
        "BK308 more.yaml:1:1 'timezone' is set in two campaigns files; the campaigns share one",
        "BK308 more.yaml:3:3 campaign 'cart_reminder' is declared twice",
    ]


def test_a_flow_file_with_a_campaigns_key_is_still_a_flow() -> None:
    flow = MAIN + "campaigns: {}\n"
    result = compile_texts([("bot.yaml", BOT), ("main.yaml", flow)])
    assert found(result) == ["BK201 main.yaml:8:1 unknown key 'campaigns' in the file"]


def test_the_campaign_model_may_be_imported_first() -> None:
    """botkit.campaigns.model imports botkit.flow (messages, targets), whose compiler builds
    campaigns: the cycle holds whichever side a program imports first."""
    for first in ("botkit.campaigns", "botkit.campaigns.model", "botkit.flow", "botkit"):
        code = f"import {first}; from botkit.flow import compile_texts; print('ok')"
        run = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
        )
        assert run.stdout.strip() == "ok", run.stderr


def test_the_bots_time_zone_must_be_one_when_the_campaigns_use_it() -> None:
    hours = (
        "business_hours:\n  cs:\n    timezone: Asia/Seul\n    days: { mon-fri: '09:00-18:00' }\n"
    )
    result = compiled(advertising(starts='"2026-12-01"'), BOT + hours)
    assert found(result) == [
        "BK205 campaigns.yaml:1:1 the campaigns read their days and hours in the bot's time "
        "zone, 'Asia/Seul', which is not a time zone"
    ]
    named = compiled("timezone: Asia/Seoul\n" + advertising(starts='"2026-12-01"'), BOT + hours)
    assert found(named) == []
    assert named.bot is not None
    assert named.bot.outreach.campaigns["cart_reminder"].starts == (
        dt.datetime(2026, 12, 1, tzinfo=SEOUL).timestamp()
    )
