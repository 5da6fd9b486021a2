"""Acceptance (issue 20, item 1): three campaigns over 10,000 synthetic customers and a
simulated week, sent by the real sender ticking on an injected clock (every two hours, and at
07:50 and 20:50), on SQLite (the week) and PostgreSQL (its first half):

* a cart reminder an hour after ``cart_added``, excluding whoever bought within 24 hours;
* a welcome coupon three days after ``channel_added``, excluding whoever blocked the channel;
* a daily padding promotion to ``padding_fans`` at each one's most active hour, excluding
  recent buyers and refunds, with a 10% holdout and a cap of its own.

All three are advertising (scenarios.campaigns.yaml), under shared caps (1 a day, 3 a week),
the quiet window 20:50–08:00 and consent that changes during the week. Each tick hands messages
to in-process providers (Kakao, the dealers' webhook) that note the clock at each one, and to
the widget (its ``campaign_message`` records). Then:

(a) every send row, and who was handed which message when, equals the brute-force recount of
    tests/campaigns/recount.py, worked out from the raw planted data;
(b) no key, and no member's copy of a campaign run, is handed over twice;
(c) nobody is handed advertising without marketing consent at that moment, or in the quiet
    window without night-time consent; the caps hold for the times the sends were due, and
    (not yet: the test is marked) for the times they were handed over;
(d) at a dozen ticks, the dry run (``plan_at(..., keep=False)``, what ``botkit campaigns plan``
    prints) says what the recount says and what the tick then does: its ``to_send`` is what the
    tick hands over, its other counts the rows the tick writes; ``botkit campaigns plan
    --format json`` prints the same.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from botkit.adapters.outbound.port import Outcome, Outgoing
from botkit.app import load
from botkit.campaigns.plan import CampaignPlan
from botkit.campaigns.port import Send
from botkit.cli.main import cli
from botkit.records import RecordKind
from botkit.runtime.planning import plan_at
from botkit.server.sender import Sender
from botkit.storage import SQLiteStore
from botkit.storage.postgres import PostgresStore
from tests.campaigns.planted import (
    DAY,
    HOUR,
    T0,
    WEEK_END,
    Feeder,
    Planted,
    local,
    plant,
    ticks,
)
from tests.campaigns.recount import SPECS, WEEK, Recount, in_quiet, wall
from tests.postgres import POSTGRES_MARKS, drop_schema, new_schema, postgres_url

REPO = Path(__file__).resolve().parents[2]
CAMPAIGNS = Path(__file__).with_name("scenarios.campaigns.yaml")

# The ticks the dry run is held to: the backlog at the start, the quiet window's edges, the
# promotion's runs and the hours its best-hour sends go out, midnight, the end of the week.
CHECKED = (
    T0,
    local(1, 8),
    local(1, 10),
    local(2, 7, 50),
    local(2, 8),
    local(2, 20, 50),
    local(2, 22),
    local(3, 10),
    local(4, 0),
    local(4, 18),
    local(5, 8),
    local(6, 12),
    WEEK_END,
)
CLI_AT = local(3, 10)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class Handed:
    at: float
    channel: str
    campaign: str
    key: str
    user: str
    variant: str


class StandIn:
    """An in-process provider that accepts everything and notes when each message came."""

    max_batch = 100

    def __init__(self, name: str, clock: Clock) -> None:
        self.name = name
        self.clock = clock
        self.handed: list[Handed] = []

    async def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        for m in batch:
            assert m.advertising
            self.handed.append(
                Handed(self.clock(), self.name, m.campaign, m.key, m.user, m.variant)
            )
        return [Outcome(m.key, "sent", provider_id=f"task-{m.key}", cost=15.0) for m in batch]

    async def results(self, provider_ids: object) -> dict[str, str]:
        return {}

    async def aclose(self) -> None:
        return None


# --- the week, once per store -------------------------------------------------------------------


@dataclass
class Checked:
    """What a dry run said at a tick, and what the tick then did."""

    dry: list[CampaignPlan]
    written: list[Send]  # the rows the tick wrote
    handed: Counter[str]  # campaign -> messages handed over at the tick


@dataclass
class Week:
    rows: dict[tuple[str, str, str], Send]  # (campaign, run, member) -> the send
    handed: list[Handed]
    checked: dict[float, Checked]
    cli: list[dict[str, Any]]
    truth: Recount  # over the same ticks


@pytest.fixture(scope="module")
def planted() -> Planted:
    return plant()


@pytest.fixture(scope="module")
def truth(planted: Planted) -> Recount:
    return recounted(planted, ticks())


def recounted(planted: Planted, at: list[float]) -> Recount:
    recount = Recount(planted, SPECS)
    recount.run(at)
    return recount


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=POSTGRES_MARKS),
    ],
)
def week(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    planted: Planted,
    truth: Recount,
) -> Iterator[Week]:
    """The week, sent by the sender ticking on the store (one run, shared by the tests). On
    PostgreSQL, its first half: each tick takes it longer (80 s for the week), and what it
    does differently from SQLite (the segments' SQL, the sends' table) shows in half."""
    folder = tmp_path_factory.mktemp("bot")
    flows = folder / "flows"
    shutil.copytree(REPO / "flows", flows)
    shutil.copyfile(CAMPAIGNS, flows / "campaigns.yaml")
    if request.param == "sqlite":
        url = f"sqlite:///{folder / '캠페인.db'}"
        store = SQLiteStore(str(folder / "캠페인.db"), synchronous="OFF")
        yield asyncio.run(simulate(store, url, flows, planted, truth))
        return
    half = recounted(planted, [t for t in ticks() if t <= T0 + 3.5 * DAY])
    schema = new_schema()
    try:
        url = postgres_url(schema)
        yield asyncio.run(simulate(PostgresStore(url), url, flows, planted, half))
    finally:
        asyncio.run(drop_schema(schema))


async def simulate(store: Any, url: str, flows: Path, planted: Planted, truth: Recount) -> Week:
    """Tick at each instant ``truth`` was recounted at."""
    await store.open()
    try:
        return await _simulate(store, url, flows, planted, truth)
    finally:
        await store.close()


async def _simulate(store: Any, url: str, flows: Path, planted: Planted, truth: Recount) -> Week:
    clock = Clock(T0)
    feeder = Feeder(store, planted)
    await feeder.start()
    runtime = load(flows).runtime(store, clock=clock)
    kakao, dealer = StandIn("kakao", clock), StandIn("webhook", clock)
    sender = Sender(
        store,
        runtime,
        lambda: runtime.bot,
        providers={"kakao": kakao, "webhook": dealer},
        now=clock,
        worker="sender-1",
    )
    outreach = runtime.bot.outreach
    checked: dict[float, Checked] = {}
    cli: list[dict[str, Any]] = []
    for t in truth.counts:
        clock.now = t
        await feeder.until(t)
        dry = None
        if t in CHECKED:
            dry = await plan_at(store, outreach, t, keep=False)
            if t == CLI_AT:
                cli = await asyncio.to_thread(plan_by_cli, flows, url, t)
        await sender.tick()
        if dry is not None:
            handed = [h for h in [*kakao.handed, *dealer.handed] if h.at == t]
            handed += await web_handed(store, t)
            written = await store.sends(since=t, until=t + 1e-6)
            checked[t] = Checked(dry, written, Counter(h.campaign for h in handed))
    await runtime.aclose()
    rows = {(s.campaign, s.run, s.member): s for s in await store.sends()}
    handed = [*kakao.handed, *dealer.handed, *await web_handed(store)]
    return Week(rows, handed, checked, cli, truth)


def plan_by_cli(flows: Path, url: str, at: float) -> list[dict[str, Any]]:
    """``botkit campaigns plan FLOWS --store URL --at ISO --format json`` (in a thread: the
    command runs an event loop of its own)."""
    iso = wall(at).isoformat()
    result = CliRunner().invoke(
        cli, ["campaigns", "plan", str(flows), "--store", url, "--at", iso, "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    found: list[dict[str, Any]] = json.loads(result.output)
    return found


async def web_handed(store: Any, at: float | None = None) -> list[Handed]:
    """What the widget was handed (at ``at``): the ``campaign_message`` records its turns
    wrote, on the injected clock."""
    until = None if at is None else at + 1e-6
    said = await store.records(kind=RecordKind.CAMPAIGN_MESSAGE, since=at, until=until)
    return [
        Handed(r.at, "web", r.data["campaign"], r.data["send"], r.user, r.data["variant"])
        for r in said
    ]


# --- (a) every decision, and who was handed what, equals the recount ----------------------------


def test_every_decision_equals_the_recount(week: Week) -> None:
    truth = week.truth
    found = {
        k: (s.status, s.reason, s.due, s.channel, s.user, s.variant, s.sent_at)
        for k, s in week.rows.items()
    }
    expected = {
        k: (r.status, r.reason, r.due, r.channel, r.user, r.variant, r.sent_at)
        for k, r in truth.rows.items()
    }
    wrong = sorted(k for k in found.keys() | expected.keys() if found.get(k) != expected.get(k))
    shown_wrong = [(k, found.get(k), expected.get(k)) for k in wrong[:8]]
    assert not wrong, f"{len(wrong)} rows differ from the recount, e.g. {shown_wrong}"


def test_each_campaign_was_handed_to_the_members_the_recount_finds(week: Week) -> None:
    truth = week.truth
    by_key = {s.key: s for s in week.rows.values()}
    assert all(h.at in truth.handed for h in week.handed)  # at a tick, on the injected clock
    for campaign in ("cart_reminder", "welcome", "winter_padding"):
        handed = sorted(
            (by_key[h.key].member, by_key[h.key].run, h.at, h.channel, h.user, h.variant)
            for h in week.handed
            if by_key[h.key].campaign == campaign
        )
        recounted = sorted(
            (r.member, r.run, r.sent_at, r.channel, r.user, r.variant)
            for r in truth.rows.values()
            if r.campaign == campaign and r.sent_at is not None
        )
        assert handed == recounted, campaign


# --- (b) once ----------------------------------------------------------------------------------


def test_nobody_was_handed_a_second_copy(week: Week) -> None:
    by_key = {s.key: s for s in week.rows.values()}
    keys = Counter(h.key for h in week.handed)
    assert [k for k, n in keys.items() if n > 1] == []
    sent = [by_key[h.key] for h in week.handed]
    copies = Counter((s.campaign, s.run, s.member) for s in sent)
    assert [c for c, n in copies.items() if n > 1] == []
    once = Counter((s.campaign, s.member) for s in sent if s.campaign != "winter_padding")
    assert [c for c, n in once.items() if n > 1] == []  # an event's campaign: once a member


# --- (c) consent, the quiet window, the caps ----------------------------------------------------


def test_nobody_was_handed_advertising_without_consent_or_in_the_quiet_window(
    week: Week,
) -> None:
    truth = week.truth
    by_key = {s.key: s for s in week.rows.values()}
    for h in week.handed:
        member = by_key[h.key].member
        marketing, night = truth.people[member].said(h.at)  # as planted, at that moment
        assert marketing, (member, wall(h.at))
        assert night or not in_quiet(h.at), (member, wall(h.at))


def test_the_caps_held_for_the_times_sends_were_due(week: Week) -> None:
    """What the planner holds to the caps: the time each send was planned to go."""
    sent = [s for s in week.rows.values() if s.sent_at is not None]
    assert caps_broken(sent, lambda s: s.due) == []


def test_the_caps_held_for_the_times_messages_were_handed_over(week: Week) -> None:
    """What the customer sees: at most 1 message a Seoul calendar day, 3 in any 7 days, 2 of
    the promotion in any 7 days, counted by when each was handed over."""
    by_key = {s.key: s for s in week.rows.values()}
    sent = [replace(by_key[h.key], sent_at=h.at) for h in week.handed]
    assert caps_broken(sent, lambda s: s.sent_at or 0.0) == []


def caps_broken(sent: Sequence[Send], when: Callable[[Send], float]) -> list[str]:
    found: dict[str, list[Send]] = {}
    for send in sent:
        found.setdefault(send.member, []).append(send)
    broken = []
    for member, sends in found.items():
        days = Counter(wall(when(s)).date() for s in sends)
        promoted = [when(s) for s in sends if s.campaign == "winter_padding"]
        across = max(days.values()) > 1 or most_in_a_week([when(s) for s in sends]) > 3
        own = bool(promoted) and most_in_a_week(promoted) > 2  # the promotion's own cap
        if across or own:
            broken.append(member)
    return broken


def most_in_a_week(ats: list[float]) -> int:
    """The most of ``ats`` any 7 days hold."""
    ats = sorted(ats)
    return max(sum(1 for b in ats if a <= b < a + WEEK) for a in ats)


# --- (d) the dry run ----------------------------------------------------------------------------


def test_the_dry_run_said_what_each_tick_then_did(week: Week) -> None:
    truth = week.truth
    assert set(week.checked) == set(CHECKED) & set(truth.counts)
    for t, seen in week.checked.items():
        when = wall(t).isoformat()
        for plan in seen.dry:
            name = plan.campaign
            mine = [s for s in seen.written if s.campaign == name]
            recounted = truth.counts[t][name]
            assert (
                plan.eligible, plan.excluded, plan.capped, plan.quiet, plan.held_out,
                plan.to_send, plan.later,
            ) == (
                recounted.eligible, dict(recounted.excluded), recounted.capped, recounted.quiet,
                recounted.held_out, recounted.to_send, recounted.later,
            ), (when, name)  # fmt: skip
            # to_send: planned now and due now, with those planned before that go now
            assert plan.as_json()["to_send"] == seen.handed[name] == truth.handed[t][name], (
                when, name,
            )  # fmt: skip
            assert plan.eligible == len(mine), (when, name)
            reasons = Counter(
                s.reason for s in mine if s.status in ("excluded", "no_consent", "unreachable")
            )
            assert plan.excluded == dict(reasons), (when, name)
            assert plan.capped == sum(s.status == "capped" for s in mine), (when, name)
            assert plan.held_out == sum(s.status == "held_out" for s in mine), (when, name)
            put_off = sum(s.status == "planned" and s.due > t for s in mine)
            dropped = sum(s.status == "expired" and s.reason == "quiet_hours" for s in mine)
            assert plan.quiet + plan.later == put_off + dropped, (when, name)
            assert plan.to_send == sum(s.sent_at == t for s in mine), (when, name)
    busy = [t for t, seen in week.checked.items() if sum(seen.handed.values()) > 0]
    assert len(busy) >= len(week.checked) // 2  # held to ticks that sent something


def test_the_cli_prints_the_dry_run(week: Week) -> None:
    assert week.cli == [p.as_json() for p in week.checked[CLI_AT].dry]
    assert sum(int(str(p["to_send"])) for p in week.cli) > 0


# --- the data ------------------------------------------------------------------------------------


def test_the_scenarios_are_not_trivial(truth: Recount) -> None:
    """Each rule takes someone out, each cap binds, each channel is used and each campaign
    sends: a recount where a rule never bites would agree with a planner that ignores it."""
    rows = list(truth.rows.values())
    statuses = Counter((r.campaign, r.status, r.reason) for r in rows)
    for campaign, status, reason in (
        ("cart_reminder", "excluded", "recent_buyers"),
        ("cart_reminder", "no_consent", "no_marketing_consent"),
        ("cart_reminder", "unreachable", "unreachable"),
        ("cart_reminder", "expired", "quiet_hours"),
        ("cart_reminder", "withdrawn", "consent"),
        ("welcome", "excluded", "blocked"),
        ("welcome", "no_consent", "no_marketing_consent"),
        ("welcome", "unreachable", "unreachable"),
        ("winter_padding", "excluded", "recent_buyers"),
        ("winter_padding", "excluded", "refunded"),
        ("winter_padding", "held_out", None),
    ):
        assert statuses[(campaign, status, reason)] > 0, (campaign, status, reason)
    caps = Counter(r.cap for r in rows if r.cap is not None)
    assert {"day", "week", "own week"} <= set(caps), caps
    sent = [r for r in rows if r.sent_at is not None]
    for campaign in ("cart_reminder", "welcome", "winter_padding"):
        assert sum(r.campaign == campaign for r in sent) > 100, campaign
        assert any(r.quieted and r.campaign == campaign for r in sent), campaign
    assert {(r.campaign, r.channel) for r in sent} >= {
        ("cart_reminder", "kakao"), ("cart_reminder", "web"), ("welcome", "kakao"),
        ("winter_padding", "kakao"), ("winter_padding", "web"), ("winter_padding", "webhook"),
    }  # fmt: skip
    assert {r.variant for r in sent if r.campaign == "winter_padding"} == {"A", "B"}
    assert any(in_quiet(r.sent_at) for r in sent if r.sent_at is not None)  # night consent


def test_the_edges_are_planted(planted: Planted) -> None:
    """Events exactly on the rules' edges exist (their only purpose is to make an off-by-one
    show), and no member's consent changes twice at one instant (the store would keep
    whichever change came last, in no set order)."""
    ats = {(e.kind, e.at) for e in planted.events}
    sender_ticks = set(ticks())
    for day in range(7):
        for t in (local(day, 0), local(day, 7, 50), local(day, 8), local(day, 20, 50)):
            assert t in sender_ticks
            assert {("cart_added", t - HOUR), ("cart_added", t - HOUR + 1)} <= ats
            assert {("purchase", t - DAY), ("purchase", t - DAY + 1), ("purchase", t)} <= ats
    added = {at for kind, at in ats if kind == "channel_added"}
    assert any(local(d, 0) in added for d in range(-4, 7))
    assert any(local(d, 23, 59, 59) in added for d in range(-4, 7))
    viewed = {at for kind, at in ats if kind == "product_viewed"}
    runs = [local(d, 10) for d in range(1, 7)]
    assert all(any(run - back in viewed for run in runs) for back in (DAY, DAY - 1, 0.0))
    changed = [c.at for _, c in planted.consents]
    assert any(at in sender_ticks for at in changed)
    assert any(at - 1 in sender_ticks for at in changed)
    assert len({(m, c.at) for m, c in planted.consents}) == len(planted.consents)
