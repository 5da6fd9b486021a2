"""The shop's profile of a customer, in the conversations of the channel users linked to them.

Flows read ``profile.<attribute>`` from the user's session, in conditions and templates, where
a channel's own properties (Kakao's ``plusfriendUserKey``, ...) land too. The customer's profile
is put there at the edge, by :class:`ProfileSync`, whenever it or a link changes:

* a user is linked to a customer (the widget's identity token, an account-link code, ``POST
  /customers/{id}/identities``, Kakao Sync's ``appUserId``): the customer's profile is merged
  into the user's sessions. When the link moved from another customer, that customer's
  attributes the new one lacks are removed: the next shopper at a shared computer does not
  inherit the last one's grade, nor their phone number;
* a user is unlinked: the customer's attributes are removed;
* ``PUT`` or ``PATCH /customers/{id}`` changes the profile: it is merged into the sessions of
  every user linked to the customer, the attributes it no longer has removed.

Removing is merging ``None`` (:func:`~botkit.runtime.steps.merge_profile` drops such a field),
through :meth:`~botkit.runtime.Runtime.update`, so under the session's lock like any turn.

**Which sessions.** A user string does not say its channel, and sessions are keyed
``<channel>:<user>``: each of the server's channels is asked for a session of the user, and
only those that exist change. A profile change does not start a conversation for a user who
never talked, and ``kakao_app:``/``kakao_open:`` users (Kakao's ids for the channel webhook and
Kakao Sync) have none to look for. The exception is the channel on which the user is linking
right now (the widget's hello, a Kakao message): there the session is made if it is new, so
that the user's first turn already sees the profile.

Sensitive attributes go into the session like the others (a flow may need the phone number to
fill a form); the engine keeps their values out of records and the agent console masks them.
``botkit customers import`` writes the store only: its profiles reach the sessions at the
user's next link or the customer's next change through the API.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from botkit.audience import Audience
from botkit.runtime import Runtime
from botkit.server.channel_callback import USER_PREFIX

__all__ = ["KAKAO_APP", "ProfileSync", "replacing"]

log = logging.getLogger("botkit.server")

KAKAO_APP = USER_PREFIX["app_user_id"]  # kakao_app:<appUserId>: Kakao Sync's user, as linked
_SESSIONLESS = tuple(USER_PREFIX.values())  # kakao_app:, kakao_open: name no conversation


def replacing(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The fields that turn a session holding ``old`` into one holding ``new``: ``new``, and
    ``None`` (remove) for each attribute of ``old`` that ``new`` lacks."""
    return {**dict.fromkeys(name for name in old if name not in new), **new}


class ProfileSync:
    """Puts customers' profiles into their users' sessions (see the module's docstring).

    ``channels`` are the names of the server's channels, set once the server has made them.
    Every method may raise :class:`~botkit.errors.StorageError` (the store is down)."""

    def __init__(self, runtime: Runtime, audience: Audience | None) -> None:
        self.runtime = runtime
        self.audience = audience
        self.channels: tuple[str, ...] = ()

    async def linked(
        self, user: str, customer: str, *, previous: str | None = None, present: str | None = None
    ) -> None:
        """``user`` was just linked to ``customer`` (from ``previous``, the customer they were
        linked to before, if any); ``present``: the channel they are on right now."""
        fields = dict(await self._profile(customer))
        if previous is not None and previous != customer:
            fields = replacing(await self._profile(previous), fields)
        await self._merge((user,), fields, present=present)

    async def unlinked(self, user: str, customer: str) -> None:
        """``user`` was just unlinked from ``customer``: their attributes leave the sessions."""
        await self._merge((user,), dict.fromkeys(await self._profile(customer)))

    async def changed(self, customer: str, before: Mapping[str, Any]) -> None:
        """``customer``'s profile was just stored; it was ``before``. The users are read after
        the change: one linked meanwhile has the new profile either way."""
        if self.audience is None:
            return
        found = await self.audience.customer(customer)
        if found is not None:
            await self._merge(found.users, replacing(before, found.profile))

    async def _profile(self, customer: str) -> Mapping[str, Any]:
        found = await self.audience.customer(customer) if self.audience is not None else None
        return found.profile if found is not None else {}

    async def _merge(
        self, users: Iterable[str], fields: Mapping[str, Any], *, present: str | None = None
    ) -> None:
        if not fields:
            return
        for user in users:
            if user.startswith(_SESSIONLESS):
                continue
            for channel in self.channels:
                if channel != present and await self.runtime.session(channel, user) is None:
                    continue
                reply = await self.runtime.update(channel, user, profile=fields)
                if not reply.ok:  # the runtime logged why; the next change or link retries
                    log.warning(
                        "a customer's profile did not reach a session", extra={"channel": channel}
                    )
