"""The campaign sends contract (:class:`botkit.campaigns.port.Sends`): every backend in
``conftest.BACKENDS`` must pass every test here. A planner inserts each send once by its
idempotency key; senders claim the ones due under a lease, and move each on (sent, failed and
retried, parked, expired, withdrawn, delivered) only while they hold it. Times are fixed
numbers, never the clock.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any, Protocol

import pytest

from botkit.campaigns.port import Send, Sends, SendStatus
from botkit.errors import StorageError
from botkit.storage import Store
from botkit.storage.postgres import PostgresStore
from tests.postgres import postgres_url
from tests.storage.conftest import Backend

NOW = 1_767_225_600.0  # any instant
HOUR = 3600.0
DAY = 24 * HOUR
WELCOME = "환영_쿠폰"
CART = "장바구니_알림"


class SendStore(Store, Sends, Protocol):
    """A store with its campaign sends: what every backend is."""


def key_of(campaign: str, run: str, member: str) -> str:
    """An idempotency key as the planner makes them: hex of a hash of the three."""
    return hashlib.sha256(f"{campaign}\0{run}\0{member}".encode()).hexdigest()[:32]


def planned(
    member: str,
    *,
    campaign: str = WELCOME,
    run: str = "",
    at: float = NOW,
    due: float | None = None,
    **changes: Any,
) -> Send:
    """A planned send of ``campaign``'s ``run`` to ``member``, decided at ``at``, due then."""
    fields: dict[str, Any] = {
        "status": SendStatus.PLANNED.value,
        "planned_at": at,
        "due": at if due is None else due,
        "expires": at + DAY,
        "variant": "A",
        "channel": "kakao",
        "user": f"카페봇:{member}",
    }
    return Send(key_of(campaign, run, member), campaign, run, member, **(fields | changes))


@pytest.fixture
async def shop(backend: Backend) -> AsyncIterator[SendStore]:
    opened = backend.make()
    await opened.open()
    assert isinstance(opened, Sends)
    yield opened
    await opened.close()


async def claim(
    shop: SendStore, worker: str, at: float, *, lease: float = 60.0, limit: int = 100
) -> list[str]:
    """The members of what ``worker`` claims at ``at``, in the order claimed."""
    return [s.member for s in await shop.claim_sends(worker, at, lease=lease, limit=limit)]


async def status_of(shop: SendStore, send: Send) -> str | None:
    kept = await shop.send_by_key(send.key)
    return None if kept is None else kept.status


# --- planning --------------------------------------------------------------------------------


async def test_a_planned_send_is_kept_as_it_was_given(shop: SendStore) -> None:
    send = planned(
        "C-민지", run="2026-01-01", reason=None, provider_id=None, due=NOW + HOUR, cost=0.0
    )
    assert await shop.send_by_key(send.key) is None
    assert await shop.plan_sends([send]) == 1
    assert await shop.send_by_key(send.key) == send
    assert await shop.sends() == [send]


async def test_every_field_round_trips(shop: SendStore) -> None:
    send = Send(
        key_of(CART, "", "user:카페봇:봇유저-7"),
        CART,
        "",
        "user:카페봇:봇유저-7",
        SendStatus.DELIVERED.value,
        NOW + 0.25,
        NOW + HOUR + 0.5,
        NOW + DAY,
        variant="B 할인",
        channel="web",
        user="web:방문자-7",
        reason="두 번 실패한 뒤 보냄 ☕",
        attempts=2,
        next_try=NOW + 2 * HOUR,
        claimed_by="worker-가",
        lease_until=NOW + 3 * HOUR,
        sent_at=NOW + 3 * HOUR - 1,
        delivered_at=NOW + 3 * HOUR + 1,
        provider_id="task-123/가",
        cost=8.8,
    )
    decided_not_to = planned(
        "C-2", status=SendStatus.EXCLUDED.value, reason="최근_구매", variant=None
    )
    assert await shop.plan_sends([send, decided_not_to]) == 2
    assert await shop.send_by_key(send.key) == send
    assert await shop.send_by_key(decided_not_to.key) == decided_not_to


async def test_a_key_is_planned_once_and_the_first_plan_stands(shop: SendStore) -> None:
    first = [planned(f"C-{i}") for i in range(5)]
    assert await shop.plan_sends(first) == 5
    again = [replace(s, variant="B", due=NOW + HOUR) for s in first[:3]]
    assert await shop.plan_sends([*again, planned("C-5")]) == 1  # only C-5 is new
    assert await shop.plan_sends(again) == 0
    kept = await shop.sends()
    assert len(kept) == 6
    assert {s.variant for s in kept} == {"A"}
    assert await shop.plan_sends([]) == 0


async def test_a_key_given_twice_in_one_plan_is_kept_once_as_first_given(
    shop: SendStore,
) -> None:
    send = planned("C-1")
    assert await shop.plan_sends([send, replace(send, variant="B"), planned("C-2")]) == 2
    assert await shop.send_by_key(send.key) == send


async def test_planners_at_once_keep_each_send_once(shop: SendStore) -> None:
    members = [f"C-{i:03}" for i in range(300)]
    plans = [
        [planned(m, variant=f"by-{n}") for m in members[start : start + 200]]
        for n, start in enumerate((0, 50, 100))
    ]
    counts = await asyncio.gather(*(shop.plan_sends(plan) for plan in plans * 2))
    assert sum(counts) == len(members)  # each key new to exactly one planner
    kept = await shop.sends()
    assert sorted(s.member for s in kept) == members
    assert len({s.key for s in kept}) == len(members)


async def test_many_sends_plan_in_one_call(shop: SendStore) -> None:
    # more than one PostgreSQL statement holds (PLAN_CHUNK), planned twice over
    sends = [planned(f"C-{i}", due=NOW + i % 97) for i in range(25_001)]
    assert await shop.plan_sends(sends) == 25_001
    assert await shop.plan_sends(sends[::2]) == 0
    assert len(await shop.sends(statuses=["planned"])) == 25_001
    taken = await shop.claim_sends("worker-1", NOW + 1000, lease=60, limit=30_000)
    assert len(taken) == 25_001
    assert [s.due for s in taken] == sorted(s.due for s in taken)


@pytest.mark.parametrize(
    "bad",
    [
        {"key": ""},
        {"campaign": ""},
        {"member": ""},
        {"run": None},
        {"status": "보냄"},
        {"due": float("nan")},
        {"expires": float("inf")},
        {"planned_at": None},
        {"attempts": -1},
        {"attempts": True},
        {"cost": float("nan")},
        {"next_try": "내일"},
        {"variant": 1},
    ],
)
async def test_a_send_that_cannot_be_kept_is_refused_with_the_whole_plan(
    shop: SendStore, bad: dict[str, Any]
) -> None:
    send = replace(planned("C-민지"), **bad)
    with pytest.raises(StorageError) as refused:
        await shop.plan_sends([planned("C-1"), send])
    assert "C-민지" not in str(refused.value)  # a member is personal data: never in a message
    assert await shop.sends() == []


async def test_decided_names_the_members_a_run_already_has_a_send_for(shop: SendStore) -> None:
    await shop.plan_sends(
        [
            planned("C-1", run="2026-01-01"),
            planned("C-2", run="2026-01-01", status=SendStatus.HELD_OUT.value, variant=None),
            planned("C-3", run="2026-01-02"),
            planned("C-4", run="2026-01-01", campaign=CART),
            planned("user:카페봇:민지", run="2026-01-01"),
        ]
    )
    asked = ["C-1", "C-2", "C-3", "C-4", "C-5", "user:카페봇:민지"]
    assert await shop.decided(WELCOME, "2026-01-01", asked) == {"C-1", "C-2", "user:카페봇:민지"}
    assert await shop.decided(WELCOME, "2026-01-02", set(asked)) == {"C-3"}
    assert await shop.decided(CART, "2026-01-01", asked) == {"C-4"}
    assert await shop.decided(CART, "", asked) == set()
    assert await shop.decided(WELCOME, "2026-01-01", []) == set()


async def test_decided_reads_many_members_at_once(shop: SendStore) -> None:
    await shop.plan_sends([planned(f"C-{i}") for i in range(0, 3000, 3)])
    found = await shop.decided(WELCOME, "", [f"C-{i}" for i in range(3000)])
    assert found == {f"C-{i}" for i in range(0, 3000, 3)}


# --- claims ----------------------------------------------------------------------------------


async def test_a_claim_takes_what_is_due_by_due_time_then_key(shop: SendStore) -> None:
    sends = [
        planned("C-late", due=NOW + 30),
        planned("C-b", due=NOW),
        planned("C-a", due=NOW),
        planned("C-early", due=NOW - 30),
        planned("C-future", due=NOW + HOUR),
        planned("C-held", status=SendStatus.HELD_OUT.value, variant=None),
        planned("C-capped", status=SendStatus.CAPPED.value, variant=None),
    ]
    await shop.plan_sends(sends)
    same_time = sorted([sends[1], sends[2]], key=lambda s: s.key)
    expected = ["C-early", *(s.member for s in same_time), "C-late"]
    taken = await shop.claim_sends("worker-가", NOW + 30, lease=DAY, limit=10)
    assert [s.member for s in taken] == expected
    for send in taken:
        assert send.status == SendStatus.CLAIMED
        assert (send.claimed_by, send.lease_until) == ("worker-가", NOW + 30 + DAY)
        assert await shop.send_by_key(send.key) == send
    assert await claim(shop, "worker-나", NOW + 30) == []  # nothing left that is due
    assert await claim(shop, "worker-나", NOW + HOUR) == ["C-future"]
    assert await status_of(shop, sends[5]) == SendStatus.HELD_OUT  # never claimed


async def test_a_claim_takes_no_more_than_its_limit(shop: SendStore) -> None:
    await shop.plan_sends([planned(f"C-{i}", due=NOW + i) for i in range(7)])
    assert await claim(shop, "w1", NOW + 10, limit=3) == ["C-0", "C-1", "C-2"]
    assert await claim(shop, "w2", NOW + 10, limit=3) == ["C-3", "C-4", "C-5"]
    assert await claim(shop, "w1", NOW + 10, limit=0) == []
    assert await claim(shop, "w1", NOW + 10, limit=3) == ["C-6"]


async def test_claims_at_once_never_take_one_send_twice(shop: SendStore) -> None:
    await shop.plan_sends([planned(f"C-{i:03}") for i in range(200)])
    claims = [shop.claim_sends(f"worker-{n}", NOW, lease=60, limit=30) for n in range(10)]
    taken = [s for batch in await asyncio.gather(*claims) for s in batch]
    assert len(taken) == len({s.key for s in taken}) == 200
    for send in taken:
        assert await shop.send_by_key(send.key) == send


async def test_a_lease_that_ran_out_lets_another_worker_take_the_send(shop: SendStore) -> None:
    send = planned("C-민지")
    await shop.plan_sends([send])
    assert await claim(shop, "worker-1", NOW, lease=60) == ["C-민지"]
    assert await claim(shop, "worker-2", NOW + 59.5) == []  # still worker-1's
    assert await claim(shop, "worker-2", NOW + 60, lease=120) == ["C-민지"]
    kept = await shop.send_by_key(send.key)
    assert kept is not None
    assert (kept.claimed_by, kept.lease_until) == ("worker-2", NOW + 180)

    # worker-1 comes back from its pause: it no longer holds the send, and changes nothing
    assert not await shop.finish_send(send.key, "sent", NOW + 61, worker="worker-1")
    assert not await shop.finish_send(
        send.key, "failed", NOW + 61, worker="worker-1", reason="시간 초과", next_try=NOW + 99
    )
    assert await shop.send_by_key(send.key) == kept
    assert await shop.finish_send(
        send.key, "sent", NOW + 62, worker="worker-2", provider_id="task-1", cost=8.0
    )


async def test_a_worker_may_finish_its_own_claim_after_its_lease_while_nobody_took_it(
    shop: SendStore,
) -> None:
    send = planned("C-1")
    await shop.plan_sends([send])
    await claim(shop, "worker-1", NOW, lease=60)
    assert await shop.finish_send(send.key, "sent", NOW + 300, worker="worker-1")


@pytest.mark.parametrize(("lease", "limit"), [(0, 10), (-1, 10), (float("nan"), 10), (60, -1)])
async def test_a_claim_with_no_lease_or_a_negative_limit_is_refused(
    shop: SendStore, lease: float, limit: int
) -> None:
    await shop.plan_sends([planned("C-1")])
    with pytest.raises(StorageError):
        await shop.claim_sends("worker-1", NOW, lease=lease, limit=limit)
    assert await status_of(shop, planned("C-1")) == SendStatus.PLANNED


# --- finishing -------------------------------------------------------------------------------


async def test_sent_then_delivered(shop: SendStore) -> None:
    send = planned("C-민지", reason=None)
    await shop.plan_sends([send])
    (claimed,) = await shop.claim_sends("worker-1", NOW, lease=60, limit=5)
    assert await shop.finish_send(
        send.key, "sent", NOW + 2, worker="worker-1", provider_id="task-가/1", cost=8.8
    )
    sent = await shop.send_by_key(send.key)
    assert sent == replace(
        claimed, status="sent", sent_at=NOW + 2, provider_id="task-가/1", cost=8.8,
        lease_until=None,
    )  # fmt: skip
    assert not await shop.finish_send(send.key, "sent", NOW + 3, worker="worker-1")  # twice
    assert await claim(shop, "worker-2", NOW + DAY) == []  # a sent send is never claimed again

    assert await shop.finish_send(send.key, "delivered", NOW + 5)
    assert await shop.send_by_key(send.key) == replace(
        sent, status="delivered", delivered_at=NOW + 5
    )
    assert not await shop.finish_send(send.key, "delivered", NOW + 6)  # delivered twice
    delivered = await shop.send_by_key(send.key)
    assert delivered is not None
    assert delivered.delivered_at == NOW + 5


async def test_only_a_sent_send_can_be_delivered(shop: SendStore) -> None:
    send = planned("C-1")
    await shop.plan_sends([send])
    assert not await shop.finish_send(send.key, "delivered", NOW)  # planned
    await claim(shop, "worker-1", NOW)
    assert not await shop.finish_send(send.key, "delivered", NOW)  # claimed
    assert await status_of(shop, send) == SendStatus.CLAIMED


async def test_a_failed_send_is_claimed_again_from_its_next_try_until_parked(
    shop: SendStore,
) -> None:
    send = planned("C-민지")
    await shop.plan_sends([send])
    await claim(shop, "worker-1", NOW)
    assert await shop.finish_send(
        send.key, "failed", NOW + 1, worker="worker-1", reason="HTTP 503", next_try=NOW + 61
    )
    failed = await shop.send_by_key(send.key)
    assert failed is not None
    assert (failed.status, failed.attempts, failed.reason, failed.next_try) == (
        "failed", 1, "HTTP 503", NOW + 61,
    )  # fmt: skip
    assert (failed.claimed_by, failed.lease_until) == (None, None)  # anyone may take it again
    assert not await shop.finish_send(send.key, "sent", NOW + 2, worker="worker-1")

    assert await claim(shop, "worker-2", NOW + 60) == []  # not before its next try
    assert await claim(shop, "worker-2", NOW + 61) == ["C-민지"]
    assert await shop.finish_send(
        send.key, "failed", NOW + 62, worker="worker-2", reason="시간 초과", next_try=NOW + 300
    )
    again = await shop.send_by_key(send.key)
    assert again is not None
    assert (again.attempts, again.reason) == (2, "시간 초과")

    assert await claim(shop, "worker-1", NOW + 300) == ["C-민지"]
    assert await shop.finish_send(
        send.key, "parked", NOW + 301, worker="worker-1", reason="세 번 실패: HTTP 400"
    )
    parked = await shop.send_by_key(send.key)
    assert parked is not None
    assert (parked.status, parked.attempts, parked.reason) == ("parked", 2, "세 번 실패: HTTP 400")
    assert await claim(shop, "worker-1", NOW + 10 * DAY) == []  # parked stays parked


@pytest.mark.parametrize("status", ["expired", "withdrawn", "parked"])
async def test_a_claimed_send_can_end_unsent_with_its_reason(shop: SendStore, status: str) -> None:
    send = planned("C-1")
    await shop.plan_sends([send])
    await claim(shop, "worker-1", NOW + DAY + 5)
    assert not await shop.finish_send(send.key, status, NOW, worker="worker-2", reason="남의 것")
    assert await shop.finish_send(
        send.key, status, NOW + DAY + 6, worker="worker-1", reason="만료"
    )
    kept = await shop.send_by_key(send.key)
    assert kept is not None
    assert (kept.status, kept.reason, kept.sent_at, kept.attempts) == (status, "만료", None, 0)
    assert not await shop.finish_send(send.key, status, NOW + DAY + 7, worker="worker-1")
    assert await claim(shop, "worker-1", NOW + 10 * DAY) == []


async def test_a_send_that_was_never_claimed_cannot_be_finished(shop: SendStore) -> None:
    send = planned("C-1")
    await shop.plan_sends([send, planned("C-2", status=SendStatus.NO_CONSENT.value)])
    for status in ("sent", "failed", "expired", "withdrawn", "parked"):
        assert not await shop.finish_send(
            send.key, status, NOW, worker="worker-1", next_try=NOW + 1
        )
    assert not await shop.finish_send(
        planned("C-2").key, "sent", NOW, worker="worker-1"
    )  # a decision not to send
    assert not await shop.finish_send(key_of(WELCOME, "", "nobody"), "sent", NOW, worker="w")
    assert await shop.send_by_key(send.key) == send


@pytest.mark.parametrize(
    ("status", "options"),
    [
        ("planned", {"worker": "worker-1"}),
        ("claimed", {"worker": "worker-1"}),
        ("held_out", {"worker": "worker-1"}),
        ("보냄", {"worker": "worker-1"}),
        ("sent", {}),  # whose claim?
        ("failed", {"worker": "worker-1"}),  # failed, and tried again when?
        ("failed", {"worker": "worker-1", "next_try": float("nan")}),
        ("sent", {"worker": "worker-1", "cost": float("inf")}),
    ],
)
async def test_a_finish_the_port_does_not_know_is_refused_and_changes_nothing(
    shop: SendStore, status: str, options: dict[str, Any]
) -> None:
    send = planned("C-1")
    await shop.plan_sends([send])
    (claimed,) = await shop.claim_sends("worker-1", NOW, lease=60, limit=1)
    with pytest.raises(StorageError):
        await shop.finish_send(send.key, status, NOW + 1, **options)
    assert await shop.send_by_key(send.key) == claimed


# --- reading ---------------------------------------------------------------------------------


async def test_sends_match_every_filter_given_by_planned_at_then_key(shop: SendStore) -> None:
    sends = [
        planned("C-1", at=NOW + 10),
        planned("C-2", at=NOW),
        planned("C-3", at=NOW, campaign=CART),
        planned("C-1", at=NOW + 20, campaign=CART, status="capped", variant=None),
        planned("C-1", at=NOW + 30, run="2026-01-02", status="held_out", variant=None),
        planned("C-4", at=NOW + 40, status="excluded", reason="최근_구매", variant=None),
    ]
    await shop.plan_sends(sends)

    def members(found: list[Send]) -> list[tuple[str, str]]:
        return [(s.campaign, s.member) for s in found]

    first_two = sorted([sends[1], sends[2]], key=lambda s: s.key)
    assert await shop.sends() == [*first_two, sends[0], *sends[3:]]
    assert members(await shop.sends(campaign=CART)) == [(CART, "C-3"), (CART, "C-1")]
    assert members(await shop.sends(member="C-1")) == [
        (WELCOME, "C-1"), (CART, "C-1"), (WELCOME, "C-1"),
    ]  # fmt: skip
    assert await shop.sends(member="C-1", campaign=CART) == [sends[3]]
    assert await shop.sends(statuses=["capped", "excluded"]) == [sends[3], sends[5]]
    assert await shop.sends(statuses={SendStatus.HELD_OUT}) == [sends[4]]
    assert await shop.sends(statuses=[]) == []
    assert await shop.sends(since=NOW + 10, until=NOW + 30) == [sends[0], sends[3]]
    assert await shop.sends(since=NOW + 40) == [sends[5]]
    assert await shop.sends(until=NOW) == []
    assert await shop.sends(member="C-1", statuses=["planned", "held_out"], since=NOW + 5) == [
        sends[0], sends[4],
    ]  # fmt: skip
    assert await shop.sends(member="C-없음") == []


async def test_sends_show_a_member_their_campaign_history_for_the_caps(shop: SendStore) -> None:
    await shop.plan_sends(
        [planned("C-1", campaign=f"캠페인-{i}", at=NOW - i * DAY) for i in range(9)]
    )
    week = await shop.sends(member="C-1", statuses=["planned", "sent"], since=NOW - 7 * DAY)
    assert [s.campaign for s in week] == [f"캠페인-{i}" for i in range(7, -1, -1)]


# --- whom the bot may write to first --------------------------------------------------------


async def test_known_sessions_are_the_keys_the_bot_has_talked_with(shop: SendStore) -> None:
    from botkit.engine.session import Session

    for key, user, channel in (
        ("kakao:카페봇:민지", "카페봇:민지", "kakao"),
        ("web:v-1", "v-1", "web"),
    ):
        await shop.commit(Session(key=key, user=user, channel=channel), [], expected_version=0)
    asked = ["kakao:카페봇:민지", "web:v-1", "web:카페봇:민지", "kakao:nobody"]
    assert await shop.known_sessions(asked) == {"kakao:카페봇:민지", "web:v-1"}
    assert await shop.known_sessions([]) == set()


# --- cursors ---------------------------------------------------------------------------------


async def test_a_cursor_is_none_until_set_and_then_the_last_instant_set(shop: SendStore) -> None:
    assert await shop.cursor("환영_쿠폰:channel_added") is None
    await shop.set_cursor("환영_쿠폰:channel_added", NOW)
    await shop.set_cursor("장바구니", NOW - HOUR)
    assert await shop.cursor("환영_쿠폰:channel_added") == NOW
    await shop.set_cursor("환영_쿠폰:channel_added", NOW + 60.5)
    assert await shop.cursor("환영_쿠폰:channel_added") == NOW + 60.5
    assert await shop.cursor("장바구니") == NOW - HOUR
    with pytest.raises(StorageError):
        await shop.set_cursor("장바구니", float("nan"))
    with pytest.raises(StorageError):
        await shop.set_cursor("", NOW)
    assert await shop.cursor("장바구니") == NOW - HOUR


# --- lifecycle -------------------------------------------------------------------------------


async def test_sends_and_cursors_survive_close_and_reopen(backend: Backend) -> None:
    if not backend.persistent:
        pytest.skip(f"{backend.name} keeps nothing after close")
    store = backend.make()
    await store.open()
    assert isinstance(store, Sends)
    sends = [planned("C-1"), planned("C-2", due=NOW + HOUR)]
    await store.plan_sends(sends)
    (claimed,) = await store.claim_sends("worker-1", NOW, lease=60, limit=5)
    await store.set_cursor("환영", NOW)
    await store.close()  # the sender was killed holding its claim

    again = backend.make()
    await again.open()
    try:
        assert isinstance(again, Sends)
        assert await again.send_by_key(claimed.key) == claimed
        assert await again.cursor("환영") == NOW
        assert await again.plan_sends(sends) == 0
        assert await claim(again, "worker-2", NOW + 30) == []
        assert await claim(again, "worker-2", NOW + HOUR) == ["C-1", "C-2"]  # lease ran out
    finally:
        await again.close()


async def test_sends_before_open_and_after_close(backend: Backend) -> None:
    store = backend.make()
    assert isinstance(store, Sends)

    async def refused() -> None:
        assert isinstance(store, Sends)
        calls = [
            store.plan_sends([planned("C-1")]),
            store.decided(WELCOME, "", ["C-1"]),
            store.claim_sends("worker-1", NOW, lease=60, limit=1),
            store.finish_send(planned("C-1").key, "delivered", NOW),
            store.sends(),
            store.send_by_key(planned("C-1").key),
            store.cursor("환영"),
            store.set_cursor("환영", NOW),
        ]
        for call in calls:
            with pytest.raises(StorageError):
                await call

    await refused()
    await store.open()
    await store.plan_sends([planned("C-1")])
    await store.close()
    await refused()


# --- several workers on PostgreSQL -----------------------------------------------------------


@pytest.mark.postgres  # postgres_schema skips it without BOTKIT_TEST_POSTGRES_URL
async def test_two_postgres_workers_share_the_sends_and_never_hold_one_twice(
    postgres_schema: str,
) -> None:
    url = postgres_url(postgres_schema)
    workers = [PostgresStore(url), PostgresStore(url)]
    await asyncio.gather(*(w.open() for w in workers))
    try:
        members = [f"C-{i:04}" for i in range(1200)]
        await workers[0].plan_sends([planned(m, due=NOW + i % 50) for i, m in enumerate(members)])
        taken: dict[str, list[str]] = {}

        async def loop(store: PostgresStore, name: str) -> None:
            for tick in itertools.count():
                batch = await store.claim_sends(name, NOW + 60, lease=HOUR, limit=7)
                if not batch:
                    return
                taken[name] = taken.get(name, []) + [s.key for s in batch]
                if tick % 3 == 0:  # some sent at once, while the others claim
                    for send in batch:
                        assert await store.finish_send(send.key, "sent", NOW + 61, worker=name)

        # three claim loops on each worker's pool, six at once
        await asyncio.gather(
            *(loop(store, f"worker-{w}.{n}") for w, store in enumerate(workers) for n in range(3))
        )
        every = [key for keys in taken.values() for key in keys]
        assert len(every) == len(set(every)) == len(members)
        assert len({name.split(".")[0] for name in taken}) == 2  # both workers took some
        kept = await workers[1].sends()
        holder = {key: name for name, keys in taken.items() for key in keys}
        assert all(s.claimed_by == holder[s.key] for s in kept)
    finally:
        await asyncio.gather(*(w.close() for w in workers))


async def test_of_finishes_of_one_send_at_once_one_wins(shop: SendStore) -> None:
    send = planned("C-민지")
    await shop.plan_sends([send])
    await shop.claim_sends("worker-1", NOW, lease=60, limit=1)
    results = await asyncio.gather(
        shop.finish_send(send.key, "expired", NOW + 1, worker="worker-1", reason="만료"),
        shop.finish_send(send.key, "sent", NOW + 1, worker="worker-1", provider_id="task-1"),
        shop.finish_send(
            send.key, "failed", NOW + 1, worker="worker-1", reason="503", next_try=NOW + 60
        ),
    )
    assert sorted(results) == [False, False, True]
    winner = ["expired", "sent", "failed"][results.index(True)]
    kept = await shop.send_by_key(send.key)
    assert kept is not None
    assert kept.status == winner
    assert kept.attempts == (1 if winner == "failed" else 0)


async def test_one_taker_at_a_time_holds_a_turn_until_it_ends_or_is_given_back(
    shop: SendStore,
) -> None:
    assert await shop.take_turn("planner", NOW, NOW + 60)
    assert not await shop.take_turn("planner", NOW + 59, NOW + 120)  # held by the first
    assert await shop.take_turn("planner", NOW + 60, NOW + 120)  # its time ran out
    await shop.set_cursor("planner", NOW + 61)  # given back
    assert await shop.take_turn("planner", NOW + 61, NOW + 200)
    assert await shop.take_turn("another", NOW + 61, NOW + 200)  # turns are by name


async def test_of_takers_at_once_exactly_one_gets_the_turn(shop: SendStore) -> None:
    taken = await asyncio.gather(*(shop.take_turn("planner", NOW, NOW + 60) for _ in range(8)))
    assert sum(taken) == 1
