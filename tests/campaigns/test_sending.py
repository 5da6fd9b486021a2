"""A campaign from its trigger to the customer's reply: planned once, sent through the widget
or KakaoTalk's Event API, said once, and the reply read at the state the campaign opened."""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from botkit.adapters.outbound.port import Outcome, Outgoing, Provider
from botkit.app import BotApp, load
from botkit.audience import ConsentChange
from botkit.campaigns.port import SendStatus
from botkit.effects import Say
from botkit.records import BusinessEvent, RecordKind
from botkit.runtime import Runtime
from botkit.runtime.planning import plan_at
from botkit.server.campaign_events import KakaoCampaignEvents
from botkit.server.outreach import web_pushes
from botkit.server.sender import Sender
from botkit.storage import MemoryStore

REPO = Path(__file__).resolve().parents[2]
SEOUL = ZoneInfo("Asia/Seoul")

CAMPAIGNS = """\
campaigns:
  cart_reminder:
    title: 장바구니 리마인더
    kind: advertising
    trigger: 1 hour after cart_added
    exclude:
      recent_buyers: purchase within 24h
    channels: [web, kakao]
    opens: promotion.offer
    expires: 12h
    message:
      - text:
          ko: "(광고) 장바구니에 담은 패딩, 아직 고민 중이세요? 오늘만 20% 쿠폰을 드려요. 수신거부"
          en: "(Ad) Still thinking about the jacket in your cart? 20% off today. unsubscribe"
        quick_replies:
          - label: { ko: "쿠폰 받기", en: "Get coupon" }
            payload: get_coupon
"""


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=SEOUL).timestamp()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class KakaoStandIn:
    """An in-process Event API: accepts every message, counts each key."""

    name = "kakao"
    max_batch = 100

    def __init__(self) -> None:
        self.received: list[Outgoing] = []
        self.asked: list[set[str]] = []  # the provider ids of each results() call

    async def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        self.received.extend(batch)
        return [Outcome(m.key, "sent", provider_id=f"task-1:{m.key}", cost=15.0) for m in batch]

    async def results(self, provider_ids: Collection[str]) -> dict[str, str]:
        self.asked.append(set(provider_ids))
        return {pid.partition(":")[2]: "delivered" for pid in provider_ids}

    async def aclose(self) -> None:
        return None


@pytest.fixture
def bot(tmp_path: Path) -> BotApp:
    folder = tmp_path / "flows"
    shutil.copytree(REPO / "flows", folder)
    (folder / "campaigns.yaml").unlink(missing_ok=True)
    (folder / "campaigns.yaml").write_text(CAMPAIGNS, encoding="utf-8")
    return load(folder)


async def shop(
    bot: BotApp, now: float, providers: Mapping[str, Provider]
) -> tuple[Clock, MemoryStore, Runtime, Sender]:
    """An open store, the bot's runtime on it and a sender, on a clock the test moves."""
    clock = Clock(now)
    store = MemoryStore()
    await store.open()
    runtime = bot.runtime(store, clock=clock)
    return (
        clock,
        store,
        runtime,
        Sender(store, runtime, lambda: runtime.bot, providers=providers, now=clock),
    )


async def carted_on_kakao(
    bot: BotApp, user: str
) -> tuple[KakaoStandIn, Clock, MemoryStore, Runtime, Sender]:
    """A Kakao user who talked to the bot, said yes to advertising and put something in the
    cart at 09:10 (the reminder is due at 10:10), with a sender on an in-process Event API."""
    kakao = KakaoStandIn()
    clock, store, runtime, sender = await shop(bot, at("2026-12-07 09:00"), {"kakao": kakao})
    await started(store, runtime, "kakao", user)
    await store.add_events([BusinessEvent("e1", "cart_added", user, at("2026-12-07 09:10"))])
    return kakao, clock, store, runtime, sender


async def started(store: MemoryStore, runtime: Runtime, channel: str, user: str) -> None:
    """The user talked to the bot once (so the bot can write to them first) and said yes to
    advertising."""
    await runtime.handle(channel, user, "안녕하세요")
    await store.change_consent(
        f"user:{user}", ConsentChange(at("2026-12-01 09:00"), "api", marketing=True)
    )


async def test_a_cart_reminder_reaches_the_widget_once_and_the_reply_continues(
    bot: BotApp,
) -> None:
    clock, store, runtime, sender = await shop(bot, at("2026-12-07 09:00"), {})
    await started(store, runtime, "web", "v-민지")
    await started(store, runtime, "web", "v-bought")
    await store.add_events(
        [
            BusinessEvent("e1", "cart_added", "v-민지", at("2026-12-07 09:05")),
            BusinessEvent("e2", "cart_added", "v-bought", at("2026-12-07 09:05")),
            BusinessEvent("e3", "purchase", "v-bought", at("2026-12-07 09:30"), amount=39000),
        ]
    )
    clock.now = at("2026-12-07 10:00")  # 55 minutes after the cart: not due yet
    assert (await sender.tick()).planned == 0
    clock.now = at("2026-12-07 10:06")
    result = await sender.tick()
    assert result.planned == 2
    assert result.sent == 1
    sends = {s.member: s for s in await store.sends(campaign="cart_reminder")}
    assert sends["user:v-민지"].status == SendStatus.DELIVERED
    assert sends["user:v-bought"].status == SendStatus.EXCLUDED
    assert sends["user:v-bought"].reason == "recent_buyers"
    session = await runtime.session("web", "v-민지")
    assert session is not None
    assert session.state == "promotion.offer"
    said = await store.records(session="web:v-민지", kind=RecordKind.CAMPAIGN_MESSAGE)
    assert [r.data for r in said] == [
        {"campaign": "cart_reminder", "variant": "default", "send": sends["user:v-민지"].key}
    ]
    clock.now = at("2026-12-07 10:30")
    again = await sender.tick()
    assert (again.planned, again.sent) == (0, 0)  # no second copy
    reply = await runtime.handle("web", "v-민지", "쿠폰 받기", payload="get_coupon")
    assert reply.state == "promotion.ask_member"  # read at the state the campaign opened
    await store.close()


async def test_advertising_waits_out_the_quiet_window_and_respects_a_withdrawal(
    bot: BotApp,
) -> None:
    clock, store, runtime, sender = await shop(bot, at("2026-12-07 20:00"), {})
    await started(store, runtime, "web", "v-night")
    await started(store, runtime, "web", "v-changed-mind")
    await store.add_events(
        [
            BusinessEvent("e1", "cart_added", "v-night", at("2026-12-07 20:30")),
            BusinessEvent("e2", "cart_added", "v-changed-mind", at("2026-12-07 20:30")),
        ]
    )
    clock.now = at("2026-12-07 21:31")
    result = await sender.tick()
    assert (result.planned, result.sent) == (2, 0)  # planned for 08:00
    await runtime.handle("web", "v-changed-mind", "수신거부")  # the opt-out words, at night
    clock.now = at("2026-12-08 08:00")
    result = await sender.tick()
    assert result.sent == 1
    assert result.withdrawn == 1
    statuses = {s.member: s.status for s in await store.sends(campaign="cart_reminder")}
    assert statuses == {
        "user:v-night": SendStatus.DELIVERED,
        "user:v-changed-mind": SendStatus.WITHDRAWN,
    }
    await store.close()


async def test_on_kakao_the_event_api_is_called_and_the_callback_says_the_message_once(
    bot: BotApp,
) -> None:
    user = "shop_bot:kakao-user-1"
    kakao, clock, store, runtime, sender = await carted_on_kakao(bot, user)
    clock.now = at("2026-12-07 10:11")
    result = await sender.tick()
    assert result.sent == 1
    assert [m.user for m in kakao.received] == [user]
    (send,) = await store.sends(campaign="cart_reminder")
    assert send.status == SendStatus.SENT
    assert send.cost == 15.0
    callbacks = KakaoCampaignEvents(store, runtime, clock)
    reply = await callbacks.answer(user, {"campaign": "cart_reminder"})
    assert reply is not None
    said = [e.text for e in reply.effects if isinstance(e, Say)]
    assert said[0] is not None
    assert said[0].startswith("(광고) 장바구니에 담은 패딩")
    session = await runtime.session("kakao", user)
    assert session is not None
    assert session.state == "promotion.offer"
    (delivered,) = await store.sends(campaign="cart_reminder")
    assert delivered.status == SendStatus.DELIVERED
    twice = await callbacks.answer(user, {"campaign": "cart_reminder"})
    assert twice is not None
    assert twice.effects == []  # said once
    stranger = await callbacks.answer("shop_bot:someone-else", {"campaign": "cart_reminder"})
    assert stranger is None  # not a campaign's callback for them: an ordinary message
    assert await runtime.session("kakao", "shop_bot:someone-else") is None
    reply = await runtime.handle("kakao", user, "쿠폰 받기", payload="get_coupon")
    assert reply.state == "promotion.ask_member"
    await store.close()


async def test_kakaos_task_results_mark_delivered_once_a_minute_has_passed(bot: BotApp) -> None:
    user = "shop_bot:kakao-user-2"
    kakao, clock, store, _runtime, sender = await carted_on_kakao(bot, user)
    clock.now = at("2026-12-07 10:11")
    assert (await sender.tick()).sent == 1
    assert await sender.check_results() == 0  # just sent: too early to ask
    assert kakao.asked == []
    clock.now = at("2026-12-07 10:12")
    assert await sender.check_results() == 1
    (send,) = await store.sends(campaign="cart_reminder")
    assert send.status == SendStatus.DELIVERED
    clock.now = at("2026-12-07 10:13")
    assert await sender.check_results() == 0  # delivered: never asked about again
    assert len(kakao.asked) == 1
    await store.close()


async def test_a_visitor_who_logs_in_is_not_sent_the_reminder_again_as_the_customer(
    bot: BotApp,
) -> None:
    clock, store, runtime, sender = await shop(bot, at("2026-12-07 09:00"), {})
    await started(store, runtime, "web", "v-지수")
    await store.change_consent(
        "C-지수", ConsentChange(at("2026-12-01 09:00"), "api", marketing=True)
    )
    await store.add_events([BusinessEvent("e1", "cart_added", "v-지수", at("2026-12-07 09:05"))])
    clock.now = at("2026-12-07 10:06")
    assert (await sender.tick()).sent == 1  # to user:v-지수
    await store.link("v-지수", "C-지수", at("2026-12-07 10:10"), "api")  # logs in
    clock.now = at("2026-12-07 10:30")
    result = await sender.tick()
    assert (result.planned, result.sent) == (0, 0)
    assert [s.member for s in await store.sends(campaign="cart_reminder")] == ["user:v-지수"]
    await store.close()


async def test_an_opt_out_after_logging_in_stops_a_reminder_planned_before(bot: BotApp) -> None:
    clock, store, runtime, sender = await shop(bot, at("2026-12-07 20:00"), {})
    await started(store, runtime, "web", "v-현우")
    await store.change_consent(
        "C-현우", ConsentChange(at("2026-12-01 09:00"), "api", marketing=True)
    )
    await store.add_events([BusinessEvent("e1", "cart_added", "v-현우", at("2026-12-07 20:30"))])
    clock.now = at("2026-12-07 21:31")
    assert (await sender.tick()).planned == 1  # for 08:00, to user:v-현우
    await store.link("v-현우", "C-현우", at("2026-12-07 22:00"), "api")
    clock.now = at("2026-12-07 22:05")
    await runtime.handle("web", "v-현우", "수신거부")  # withdraws C-현우's consent
    clock.now = at("2026-12-08 08:00")
    result = await sender.tick()
    assert (result.sent, result.withdrawn) == (0, 1)
    await store.close()


async def test_a_send_whose_variant_a_reload_removed_is_parked_and_the_sender_goes_on(
    bot: BotApp,
) -> None:
    clock, store, runtime, _ = await shop(bot, at("2026-12-07 09:00"), {})
    await started(store, runtime, "web", "v-1")
    await store.add_events([BusinessEvent("e1", "cart_added", "v-1", at("2026-12-07 09:05"))])
    clock.now = at("2026-12-07 10:06")  # planned by one version, claimed by the next
    outreach = runtime.bot.outreach
    await plan_at(store, outreach, clock.now, keep=True)
    reminder = outreach.campaigns["cart_reminder"]
    renamed = replace(reminder, variants=(replace(reminder.variants[0], name="B"),))
    reloaded = replace(
        runtime.bot,
        outreach=replace(outreach, campaigns=MappingProxyType({"cart_reminder": renamed})),
    )
    later = Sender(store, runtime, lambda: reloaded, providers={}, now=clock)
    result = await later.tick()
    assert (result.parked, result.sent) == (1, 0)
    (send,) = await store.sends(campaign="cart_reminder")
    assert (send.status, send.reason) == (SendStatus.PARKED, "no_campaign")
    await store.close()


async def test_kakaos_callback_to_someone_with_an_agent_is_answered_not_a_crash(
    bot: BotApp,
) -> None:
    user = "shop_bot:kakao-user-3"
    _kakao, clock, store, runtime, sender = await carted_on_kakao(bot, user)
    clock.now = at("2026-12-07 10:11")
    assert (await sender.tick()).sent == 1
    await runtime.handle("kakao", user, "상담원")  # waiting for a person when Kakao calls back
    reply = await KakaoCampaignEvents(store, runtime, clock).answer(
        user, {"campaign": "cart_reminder"}
    )
    assert reply is not None
    assert reply.effects == []
    session = await runtime.session("kakao", user)
    assert session is not None
    assert session.state != "promotion.offer"
    await store.close()


async def test_a_reminder_put_off_to_morning_is_not_sent_to_someone_who_bought_overnight(
    bot: BotApp,
) -> None:
    clock, store, runtime, sender = await shop(bot, at("2026-12-07 20:00"), {})
    await started(store, runtime, "web", "v-수아")
    await store.add_events([BusinessEvent("e1", "cart_added", "v-수아", at("2026-12-07 20:30"))])
    clock.now = at("2026-12-07 21:31")
    assert (await sender.tick()).planned == 1  # for 08:00
    await store.add_events(
        [BusinessEvent("e2", "purchase", "v-수아", at("2026-12-07 23:00"), amount=59000)]
    )
    clock.now = at("2026-12-08 08:00")
    result = await sender.tick()
    assert (result.sent, result.withdrawn) == (0, 1)
    (send,) = await store.sends(campaign="cart_reminder")
    assert (send.status, send.reason) == (SendStatus.WITHDRAWN, "recent_buyers")
    await store.close()


class SharedStore(MemoryStore):
    """A store with a broadcast, as PostgreSQL's: what it was asked to publish."""

    def __init__(self) -> None:
        super().__init__()
        self.published: list[tuple[str, dict[str, Any]]] = []

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        self.published.append((topic, message))

    async def subscribe(
        self, topic: str, receive: Callable[[dict[str, Any]], Awaitable[None]]
    ) -> None:
        return None


async def test_a_sender_outside_the_server_pushes_widget_words_through_the_broadcast(
    bot: BotApp,
) -> None:
    clock = Clock(at("2026-12-07 09:00"))
    store = SharedStore()
    await store.open()
    runtime = bot.runtime(store, clock=clock)
    deliver = web_pushes(store)
    assert deliver is not None
    sender = Sender(store, runtime, lambda: runtime.bot, providers={}, deliver=deliver, now=clock)
    await started(store, runtime, "web", "v-민지")
    await store.add_events([BusinessEvent("e1", "cart_added", "v-민지", at("2026-12-07 09:05"))])
    clock.now = at("2026-12-07 10:06")
    assert (await sender.tick()).sent == 1
    ((topic, message),) = store.published
    assert (topic, message["sid"]) == ("web_push", "v-민지")
    assert message["says"][0]["text"].startswith("(광고) 장바구니에 담은 패딩")
    assert web_pushes(MemoryStore()) is None  # no broadcast: the history shows it
    await store.close()


async def test_kakao_sends_wait_while_the_user_is_with_a_person(bot: BotApp) -> None:
    user = "shop_bot:kakao-user-4"
    kakao, clock, store, runtime, sender = await carted_on_kakao(bot, user)
    clock.now = at("2026-12-07 10:05")
    await runtime.handle("kakao", user, "상담원")  # waiting for an agent when it falls due
    clock.now = at("2026-12-07 10:11")
    result = await sender.tick()
    assert (result.planned, result.sent, kakao.received) == (1, 0, [])
    (send,) = await store.sends(campaign="cart_reminder")
    assert (send.status, send.reason) == (SendStatus.FAILED, "with_agent")
    assert send.next_try == at("2026-12-07 10:26")
    await store.close()


VIP_WELCOME = """\
campaigns:
  vip_welcome:
    title: VIP 감사 인사
    kind: informational
    trigger: entering segment vip
    channels: [web]
    message:
      - text: { ko: "VIP가 되신 걸 축하드려요!", en: "Congratulations on becoming a VIP!" }
"""


async def test_entering_a_segment_is_planned_without_naming_it_as_the_audience(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "flows"
    shutil.copytree(REPO / "flows", folder)
    (folder / "campaigns.yaml").write_text(VIP_WELCOME, encoding="utf-8")
    clock, store, runtime, sender = await shop(load(folder), at("2026-12-07 09:00"), {})
    await runtime.handle("web", "v-vip", "안녕하세요")
    await store.link("v-vip", "C-vip", at("2026-12-07 09:00"), "api")
    await store.put_profile("C-vip", {"grade": "VIP"}, at("2026-12-07 09:00"), merge=False)
    clock.now = at("2026-12-07 09:30")
    result = await sender.tick()
    assert (result.planned, result.sent) == (1, 1)
    (send,) = await store.sends(campaign="vip_welcome")
    assert (send.member, send.status) == ("C-vip", SendStatus.DELIVERED)
    await store.close()
