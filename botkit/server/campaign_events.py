"""KakaoTalk's half of a campaign send: the Event API's callback.

The Event API only names an event; Open Builder's event block then calls the skill, and the
skill's answer is what the user sees. So botkit sends the event with the send's key in its data
(``botkit.adapters.outbound.kakao_event``), and when the skill request comes back with that key
(in ``action.params``, where the event block passes its data, or ``action.clientExtra``), the
answer is the campaign's message, said in the user's session by the same step the widget's
sends take (:class:`~botkit.events.OpenCampaign`): the reply then continues at the state the
campaign opens.

One event goes to up to 100 users with the same data, so the data names the campaign (and a
map of user tags to keys, which Open Builder may not pass on as block parameters, whose values
are text): the send is found in the store as the user's own unsent-or-just-sent send of that
campaign. It must be a Kakao send to this very user, so a forged request cannot say another's
message or open a campaign nobody sent. A send is said once: a
second callback for it (the Event API called twice around a crash) finds its
``campaign_message`` record and says nothing again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from botkit.adapters.outbound.kakao_event import send_key_of
from botkit.audience import Audience, member_of
from botkit.campaigns.port import Send, Sends, SendStatus
from botkit.errors import StepRefused
from botkit.events import OpenCampaign
from botkit.keys import SessionKey
from botkit.records import RecordKind
from botkit.runtime import Reply, Runtime
from botkit.storage import Store

__all__ = ["CAMPAIGN_FIELD", "SEND_FIELD", "KakaoCampaignEvents"]

SEND_FIELD = "send"  # a field that carries the send's key, when the data names one send
CAMPAIGN_FIELD = "campaign"  # the event data's field that names the campaign
_KEY = re.compile(r"[0-9a-f]{32}")
_SAYABLE = frozenset(
    {SendStatus.CLAIMED, SendStatus.SENT, SendStatus.FAILED, SendStatus.DELIVERED}
)


class KakaoCampaignEvents:
    def __init__(self, store: Store, runtime: Runtime, now: Callable[[], float]) -> None:
        self.store = store
        self.runtime = runtime
        self.now = now

    async def answer(self, user: str, fields: Mapping[str, Any]) -> Reply | None:
        """The answer to a skill request that carries a send's key, for ``user``; None when
        it is no campaign's callback (then it is an ordinary message)."""
        store = self.store
        if not isinstance(store, Sends) or not isinstance(store, Audience):
            return None
        send = await self._find(store, user, fields)
        if send is None:
            return None
        key = send.key
        # Said before is read from the session's records, not from the send's status: the
        # sender's check of Kakao's task results may mark it delivered before Kakao's event
        # block calls back, and the message must still be said then.
        if await self._said(send):
            return Reply()  # said before: the event block shows its own words, if any
        if send.status not in _SAYABLE or send.variant is None:
            return None
        step = OpenCampaign(send.campaign, send.variant, send.key)
        try:
            reply = await self.runtime.apply(SessionKey("kakao", user), step)
        except StepRefused:  # with a person now, or a reload removed the campaign: not said
            return Reply()
        if reply.ok:
            # From sent; a send whose "sent" is not committed yet (the callback outran it)
            # is marked by the sender's check of Kakao's task results instead.
            await store.finish_send(key, SendStatus.DELIVERED, self.now())
        return reply

    async def _find(
        self, store: Sends | Audience, user: str, fields: Mapping[str, Any]
    ) -> Send | None:
        key = fields.get(SEND_FIELD)
        if key is None:  # the event's data as the Event API sent it: a key per user tag
            key = send_key_of(fields, user.partition(":")[2])
        campaign = fields.get(CAMPAIGN_FIELD)
        found: Send | None = None
        if isinstance(key, str) and _KEY.fullmatch(key):
            assert isinstance(store, Sends)
            found = await store.send_by_key(key)
        elif isinstance(campaign, str) and 0 < len(campaign) <= 200:
            assert isinstance(store, Sends)
            assert isinstance(store, Audience)
            member = member_of(user, await store.customer_of(user))
            mine = await store.sends(campaign=campaign, member=member, statuses=_SAYABLE)
            found = next((s for s in reversed(mine) if s.user == user), None)
        if found is None or found.channel != "kakao" or found.user != user:
            return None
        return found

    async def _said(self, send: Send) -> bool:
        assert send.user is not None
        records = await self.store.records(
            session=str(SessionKey("kakao", send.user)), kind=RecordKind.CAMPAIGN_MESSAGE
        )
        return any((r.data or {}).get("send") == send.key for r in records)
