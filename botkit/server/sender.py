"""The campaign sender: plans what is due, claims sends from the store, and hands them to the
channel each goes out on. It runs in every worker of ``botkit serve`` and alone as
``botkit campaigns run``; the store's claims (leases, ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL) make sure no send is held by two senders, and its keys that none is planned twice.

One tick (:meth:`Sender.tick`) is: plan at now (deciding each new candidate once), then claim
and send what may go, batch by batch, until nothing is due. Each claimed send is judged again
as it leaves, since time has passed since it was planned:

* past its ``expires``: ``expired`` (an unsent reminder after the sale is worse than none);
* advertising whose member withdrew consent since: ``withdrawn``;
* advertising in the quiet window without night-time consent (a retry that came late):
  ``failed``, tried again when the window ends;
* a campaign the live bot no longer has: ``parked``.

Then per channel: **Kakao** through the Event API (100 users a request; the message itself is
the skill's answer when Kakao calls back with the event, ``campaign_events.py``), the
**widget** by a turn on the visitor's session (the message said and the campaign's state
opened; pushed to their open tabs, and in the history the widget shows when it opens again),
the **dealers' webhook** with the rendered message. A provider's ``failed`` is retried with
exponential backoff; after :data:`MAX_ATTEMPTS` the send is parked with the last reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from botkit.adapters.outbound.port import Outcome, Outgoing, Provider
from botkit.audience import member_of
from botkit.campaigns.clock import in_quiet, quiet_end
from botkit.campaigns.model import Campaign
from botkit.campaigns.plan import fits_caps
from botkit.campaigns.port import ACTIVE, Send, SendStatus
from botkit.effects import Effect, say_to_data
from botkit.engine.render import render
from botkit.errors import StepRefused, StorageError
from botkit.events import OpenCampaign
from botkit.flow import Bot
from botkit.keys import SessionKey
from botkit.runtime import Runtime
from botkit.runtime.planning import PlanStore, plan_at
from botkit.segments.model import Segment

__all__ = ["MAX_ATTEMPTS", "Sender", "TickResult", "worker_name"]

log = logging.getLogger("botkit.campaigns")
_T = TypeVar("_T")

MAX_ATTEMPTS = 6  # then parked: about an hour of backoff (30 s doubling, at most 30 min)
BACKOFF_S = 30.0
MAX_BACKOFF_S = 1800.0
RETRY_WITH_AGENT_S = 900.0  # a user talking with a person is written to after, not during
RESULTS_AFTER_S = 60.0  # a provider's results are asked for this long after the send
RESULTS_FOR_S = 86400.0  # and no longer than this after it was planned
RESULTS_EVERY_S = 600.0  # at most this often for one send
PLANNER_TURN = "planner"  # the store's turn one planner holds at a time (Sends.take_turn)
PLAN_TURN_S = 120.0  # by the clock: a planner that died gives the turn up after this long
PLAN_WAIT_S = 20.0  # real seconds a worker waits for another's plan before sending anyway
HANDOFF_LOOKBACK_S = 30 * 86400.0  # a conversation with a person asked for in the last 30 days
CONSENT_FRESH_S = 5.0  # what was read this long ago still judges a send (Sender._fresh)


Deliver = Callable[[str, str, Sequence[Effect]], Awaitable[None]]
"""Words for a user outside any request of theirs: (channel, user, effects)."""


def worker_name() -> str:
    """This process's name in claims (host and pid): whose lease a send is under."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(slots=True)
class TickResult:
    planned: int = 0
    sent: int = 0
    failed: int = 0
    parked: int = 0
    expired: int = 0
    withdrawn: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, other: TickResult) -> None:
        for name in ("planned", "sent", "failed", "parked", "expired", "withdrawn"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for status, n in other.counts.items():
            self.counts[status] = self.counts.get(status, 0) + n


class Sender:
    def __init__(
        self,
        store: PlanStore,
        runtime: Runtime,
        bot: Callable[[], Bot],
        *,
        providers: Mapping[str, Provider],
        deliver: Deliver | None = None,
        now: Callable[[], float],
        worker: str | None = None,
        lease_s: float = 120.0,
        batch: int = 500,
    ) -> None:
        self.store = store
        self.runtime = runtime
        self.bot = bot  # the live bot: its campaigns and their messages
        self.providers = providers
        self.deliver = deliver  # the server's Channels.deliver: words to the widget's tabs
        self.now = now
        self.worker = worker or worker_name()
        self.lease_s = lease_s
        self.batch = batch
        # what every send of a batch is judged by, read once per CONSENT_FRESH_S (_fresh)
        self._read: dict[object, tuple[float, Any]] = {}
        self._asked: dict[str, float] = {}  # send key → when its result was last asked for

    async def tick(self) -> TickResult:
        """Plan at now, then send everything due, batch by batch."""
        result = TickResult()
        result.planned = await self._plan()
        while True:
            at = self.now()
            claimed = await self.store.claim_sends(
                self.worker, at, lease=self.lease_s, limit=self.batch
            )
            if not claimed:
                return result
            await self._send(claimed, at, result)
            if len(claimed) < self.batch:
                return result

    async def _plan(self) -> int:
        """Plan at now, one planner at a time across workers (the store's turn): two plans
        at once would each read the caps' history before the other wrote, and both send to
        one member on one day. A worker that finds the turn taken waits for it (a little
        while, on the monotonic clock: a planner that died holds it until its lease ends)."""
        waited_until = time.monotonic() + PLAN_WAIT_S
        while True:
            at = self.now()
            if await self.store.take_turn(PLANNER_TURN, at, at + PLAN_TURN_S):
                try:
                    plans = await plan_at(self.store, self.bot().outreach, at, keep=True)
                finally:
                    await self.store.set_cursor(PLANNER_TURN, at)  # give the turn back
                return sum(len(p.decisions) for p in plans)
            if time.monotonic() >= waited_until:
                return 0  # another worker is planning: this one sends what is planned
            await asyncio.sleep(0.05)

    async def run(self, stop: asyncio.Event, *, every_s: float = 30.0) -> TickResult:
        """Tick until ``stop`` is set; a tick that fails (the store away, a fault of botkit's)
        is logged and the next one tries again: nothing is lost, every send is a row in the
        store, and a sender that stopped for good would stop every campaign. Returns what all
        the ticks did."""
        total = TickResult()
        while not stop.is_set():
            try:
                total.add(await self.tick())
                await self.check_results()
            except StorageError as exc:
                log.warning("campaign tick failed", extra={"error": str(exc)})
            except Exception:  # logged with its traceback; no member or user is in it
                log.exception("campaign tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every_s)
        return total

    async def check_results(self) -> int:
        """Ask each provider what became of the sends it accepted (Kakao's task API): marks
        ``delivered`` those it reached. Returns how many. Only sends handed over in the last
        day and at least a minute ago are asked about, each at most every
        :data:`RESULTS_EVERY_S`: a task's results settle within minutes, and asking about
        every send at every tick would grow with the history and flood the provider."""
        done = 0
        at = self.now()
        sent = await self.store.sends(statuses=(SendStatus.SENT,), since=at - RESULTS_FOR_S)
        self._asked = {k: t for k, t in self._asked.items() if at - t < RESULTS_EVERY_S}
        for name, provider in self.providers.items():
            mine = [
                s
                for s in sent
                if s.channel == name
                and s.provider_id
                and s.sent_at is not None
                and at - s.sent_at >= RESULTS_AFTER_S
                and s.key not in self._asked
            ]
            if not mine:
                continue
            found = await provider.results({s.provider_id for s in mine if s.provider_id})
            self._asked.update((s.key, at) for s in mine)
            reached = [s for s in mine if found.get(s.key) == "delivered"]
            finished = await asyncio.gather(
                *(self.store.finish_send(s.key, SendStatus.DELIVERED, at) for s in reached)
            )
            done += sum(finished)
        return done

    # -- one batch -----------------------------------------------------------------------

    async def _send(self, claimed: Sequence[Send], at: float, result: TickResult) -> None:
        """Judge each claimed send again, then hand them over by channel. The finishes of a
        batch run together, so the store commits them in one transaction, not one each."""
        bot = self.bot()
        outreach = bot.outreach
        by_channel: dict[str, list[tuple[Send, Campaign]]] = {}
        settled: list[Awaitable[object]] = []
        for send in claimed:
            campaign = outreach.campaigns.get(send.campaign)
            if at >= send.expires:
                settled.append(
                    self._finish(send, SendStatus.EXPIRED, at, result, reason="expired")
                )
                continue
            if (
                campaign is None
                or send.user is None
                or not any(v.name == send.variant for v in campaign.variants)
            ):  # a reload removed the campaign or the variant it was planned with
                settled.append(
                    self._finish(send, SendStatus.PARKED, at, result, reason="no_campaign")
                )
                continue
            rule = await self._excluded_since(send, campaign, at)
            if rule is not None:
                settled.append(self._finish(send, SendStatus.WITHDRAWN, at, result, reason=rule))
                continue
            if campaign.advertising:
                marketing, night, links = await self._consent(at)
                now_member = send.member
                if send.channel != "webhook" and send.user is not None:
                    # who they are now: a visitor who logged in since answers as the customer
                    now_member = member_of(send.user, links.get(send.user))
                if send.member not in marketing or now_member not in marketing:
                    settled.append(
                        self._finish(send, SendStatus.WITHDRAWN, at, result, reason="consent")
                    )
                    continue
                quiet = in_quiet(at, outreach.quiet, outreach.timezone)
                if quiet and (send.member not in night or now_member not in night):
                    settled.append(self._put_off(send, campaign, at, result))
                    continue
            if send.channel == "kakao" and f"kakao:{send.user}" in await self._with_person(at):
                # the Event API would call the skill mid-conversation with an agent, where
                # the message cannot be said: it waits until the person is done
                later = at + RETRY_WITH_AGENT_S
                settled.append(self._retry(send, at, result, "with_agent", later, count=False))
                continue
            by_channel.setdefault(send.channel or "", []).append((send, campaign))
        for channel, sends in sorted(by_channel.items()):
            if channel == "web":
                settled += [self._to_widget(send, at, result) for send, _ in sends]
            else:
                settled.append(self._to_provider(channel, sends, bot, at, result))
        await asyncio.gather(*settled)

    async def _put_off(
        self, send: Send, campaign: Campaign, at: float, result: TickResult
    ) -> None:
        """Advertising the quiet window stops as it leaves (night-time consent withdrawn since
        the plan, or a sender that came late) waits for the window's end if it still fits the
        caps then, counting the member's other sends (a message planned for tomorrow
        meanwhile); else it is withdrawn. Past its expiry by then, it expires."""
        outreach = self.bot().outreach
        later = quiet_end(at, outreach.quiet, outreach.timezone)
        others = await self.store.sends(
            member=send.member, statuses=ACTIVE, since=later - 8 * 86400.0
        )
        others = [s for s in others if s.key != send.key]
        if later >= send.expires:
            await self._finish(send, SendStatus.EXPIRED, at, result, reason="quiet_hours")
        elif fits_caps(outreach, campaign, send.member, later, others):
            await self._retry(send, at, result, "quiet_hours", later, count=False)
        else:
            await self._finish(send, SendStatus.WITHDRAWN, at, result, reason="caps")

    async def _fresh(self, what: object, at: float, read: Callable[[], Awaitable[_T]]) -> _T:
        """``read()``, or what it gave less than :data:`CONSENT_FRESH_S` ago for ``what``: the
        sender judges every send of a batch by the whole audience's consent, links, handoff
        queue and exclusion rules, reads too dear to repeat for each batch of a large send,
        and a withdrawal still stops what has not left within seconds."""
        kept = self._read.get(what)
        if kept is None or not 0 <= at - kept[0] < CONSENT_FRESH_S:
            kept = self._read[what] = (at, await read())
        value: _T = kept[1]
        return value

    async def _excluded_since(self, send: Send, campaign: Campaign, at: float) -> str | None:
        """The exclusion rule that holds the member now, for a send that waited after its plan
        (the quiet window, their best hour, a retry): the cart reminder planned for 08:00 is
        not sent to someone who bought at 23:00."""
        if send.due <= send.planned_at and send.attempts == 0:
            return None  # decided a moment ago, with these very rules
        for rule in campaign.exclusions:

            async def members(segment: Segment = rule.segment) -> frozenset[str]:
                return frozenset(await self.store.segment_members(segment, at))

            if send.member in await self._fresh((campaign.name, rule.name), at, members):
                return rule.name
        return None

    async def _with_person(self, at: float) -> frozenset[str]:
        """The session keys waiting for or talking with a person (the handoff queue)."""

        async def keys() -> frozenset[str]:
            queue = await self.store.handoffs(since=at - HANDOFF_LOOKBACK_S)
            return frozenset(h.session.key for h in queue)

        return await self._fresh("handoffs", at, keys)

    async def _consent(
        self, at: float
    ) -> tuple[frozenset[str], frozenset[str], Mapping[str, str]]:
        """Who consents to advertising, and at night, and which customer each channel user is
        linked to."""

        async def read() -> tuple[frozenset[str], frozenset[str], Mapping[str, str]]:
            marketing = frozenset(await self.store.consenting("marketing"))
            night = frozenset(await self.store.consenting("night"))
            return marketing, night, await self.store.links()

        return await self._fresh("consent", at, read)

    async def _to_widget(self, send: Send, at: float, result: TickResult) -> None:
        assert send.user is not None
        assert send.variant is not None
        step = OpenCampaign(send.campaign, send.variant, send.key)
        try:
            reply = await self.runtime.apply(SessionKey("web", send.user), step)
        except StepRefused as refused:
            await self._retry(send, at, result, "with_agent", at + RETRY_WITH_AGENT_S)
            log.info(
                "campaign send put off", extra={"campaign": send.campaign, "why": str(refused)}
            )
            return
        if reply.failure is not None:
            await self._retry(send, at, result, "turn_failed", None)
            return
        if self.deliver is not None:
            await self.deliver("web", send.user, reply.effects)
        if await self._finish(send, SendStatus.SENT, at, result):
            await self.store.finish_send(send.key, SendStatus.DELIVERED, at)

    async def _to_provider(
        self,
        channel: str,
        sends: Sequence[tuple[Send, Campaign]],
        bot: Bot,
        at: float,
        result: TickResult,
    ) -> None:
        provider = self.providers.get(channel)
        if provider is None:  # the server was started without this provider's settings
            await asyncio.gather(
                *(
                    self._retry(send, at, result, f"no {channel} provider", None)
                    for send, _ in sends
                )
            )
            return
        size = max(1, provider.max_batch)
        chunks = [sends[start : start + size] for start in range(0, len(sends), size)]
        # together: the provider limits how many requests it has open at once (a dealer's
        # webhook takes one message a request, and one after another they outlast the lease)
        await asyncio.gather(*(self._chunk(provider, c, bot, channel, at, result) for c in chunks))

    async def _chunk(
        self,
        provider: Provider,
        chunk: Sequence[tuple[Send, Campaign]],
        bot: Bot,
        channel: str,
        at: float,
        result: TickResult,
    ) -> None:
        outgoing = [_outgoing(send, campaign, bot, channel) for send, campaign in chunk]
        outcomes = await provider.send(outgoing)
        await asyncio.gather(
            *(
                self._settle(send, outcome, at, result)
                for (send, _), outcome in zip(chunk, outcomes, strict=True)
            )
        )

    async def _settle(self, send: Send, outcome: Outcome, at: float, result: TickResult) -> None:
        if outcome.status == "sent":
            await self._finish(
                send,
                SendStatus.SENT,
                at,
                result,
                provider_id=outcome.provider_id,
                cost=outcome.cost,
            )
        elif outcome.status == "parked":
            await self._finish(send, SendStatus.PARKED, at, result, reason=outcome.reason)
        else:
            wait = outcome.retry_after
            await self._retry(
                send, at, result, outcome.reason or "failed", None if wait is None else at + wait
            )

    async def _retry(
        self,
        send: Send,
        at: float,
        result: TickResult,
        reason: str,
        next_try: float | None,
        *,
        count: bool = True,
    ) -> None:
        """Try again later (backoff unless ``next_try`` is given); parked once it has failed
        :data:`MAX_ATTEMPTS` times. A deferral that is no failure (``count=False``: the quiet
        window) does not count toward that."""
        if count and send.attempts + 1 >= MAX_ATTEMPTS:
            await self._finish(send, SendStatus.PARKED, at, result, reason=reason)
            return
        if next_try is None:
            next_try = at + min(BACKOFF_S * 2**send.attempts, MAX_BACKOFF_S)
        await self._finish(send, SendStatus.FAILED, at, result, reason=reason, next_try=next_try)

    async def _finish(
        self,
        send: Send,
        status: SendStatus,
        at: float,
        result: TickResult,
        *,
        reason: str | None = None,
        provider_id: str | None = None,
        cost: float = 0.0,
        next_try: float | None = None,
    ) -> bool:
        done = await self.store.finish_send(
            send.key,
            status,
            at,
            worker=self.worker,
            reason=reason,
            provider_id=provider_id,
            cost=cost,
            next_try=next_try,
        )
        if done:
            result.counts[status] = result.counts.get(status, 0) + 1
            if status == SendStatus.SENT:
                result.sent += 1
            elif status == SendStatus.FAILED:
                result.failed += 1
            elif status == SendStatus.PARKED:
                result.parked += 1
            elif status == SendStatus.EXPIRED:
                result.expired += 1
            elif status == SendStatus.WITHDRAWN:
                result.withdrawn += 1
        return done


def _outgoing(send: Send, campaign: Campaign, bot: Bot, channel: str) -> Outgoing:
    """What a provider is handed: the key and who; for a dealer, the message rendered in the
    bot's language (a dealer has no session to render it in)."""
    assert send.user is not None
    assert send.variant is not None
    says: tuple[dict[str, Any], ...] = ()
    if channel != "kakao":
        variant = next(v for v in campaign.variants if v.name == send.variant)
        says = tuple(say_to_data(render(m, bot.default_locale, {}, {})) for m in variant.messages)
    return Outgoing(
        key=send.key,
        campaign=send.campaign,
        variant=send.variant,
        user=send.user,
        says=says,
        advertising=campaign.advertising,
    )
