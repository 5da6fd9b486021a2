"""The customers API: the shop's server keeps botkit's picture of its customers up to date.

Every route needs ``Authorization: Bearer <customers token>`` (``BOTKIT_CUSTOMERS_TOKEN``;
unset, they answer 503). ``{id}`` is the shop's own customer id (1-256 characters, no control
characters, not starting with ``user:``, which names channel users no customer is linked to,
and without ``/``: :func:`botkit.audience.ids.customer_id_problem`, which ``botkit customers
import`` and ``POST /events`` ask too).

* ``PUT /customers/{id}``: the body is the customer's whole profile, ``{"grade": "VIP",
  "region": "서울"}``: it replaces what botkit had (the customer is created if new).
* ``PATCH /customers/{id}``: the attributes given change, ``null`` removes one.
* ``GET /customers/{id}``: ``{"id", "profile", "consent", "users", "updated_at"}``, the
  attributes the profile schema declares ``sensitive`` reading ``***``; 404 for an unknown id.
* ``PUT /customers/{id}/consent``: ``{"marketing"?: bool, "night"?: bool, "source"?: id}``
  (at least one of the two; ``source`` defaults to ``api``).
* ``POST /customers/{id}/links``: ``{"code"}``, the code botkit put on the shop's login page
  (:mod:`botkit.audience.identity`): the user it was made for is linked to the customer, once.
  A code botkit did not make is refused 400 ``link_code_forged``, an expired one 410
  ``link_code_expired``, one used before 409 ``link_code_used``.
* ``POST /customers/{id}/identities``: ``{"user"}`` links a channel user the shop knows
  directly, as records name them: a web visitor's id, ``<bot id>:<botUserKey>`` on KakaoTalk,
  or ``kakao_app:<appUserId>`` for a channel with Kakao Sync (the Kakao Login user id, which
  the channel callback of :mod:`botkit.server.channel_callback` names too).
* ``DELETE /customers/{id}/links/{user}``: the user is unlinked (404 ``not_linked`` when the
  user is not linked to this customer). ``{user}`` may be a web visitor as ``GET`` shows it.

**A web visitor's id is never in an answer** (``users``, the ``user`` a link names): it opens
the visitor's conversation (``GET /web/history``), so it is shown as ``web:`` and its first four
characters (``web:ab12…``, :func:`botkit.audience.ids.shown_user`), which ``DELETE`` takes too;
KakaoTalk users are shown as they are.

Whatever changes a profile or a link puts the customer's profile into the sessions of their
users (:mod:`botkit.server.profiles`), so that flows read it as ``profile.<attribute>``.

A profile is checked against bot.yaml's ``profile:`` (:func:`botkit.audience.profile.
check_profile`): an unknown attribute or a value of the wrong type is refused 400
``bad_profile``, each error naming the attribute and the type expected, never the value. No
profile value or code is ever logged.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from botkit.adapters.checks import MAX_USER_CHARS, check_id
from botkit.adapters.http import bad_id_response, bearer_refusal, json_error, json_response
from botkit.audience import Audience, ConsentChange, Customer
from botkit.audience.identity import IdentityRefused, link_code_key
from botkit.audience.ids import SHOWN_WEB, customer_id_problem, shown_user
from botkit.audience.profile import check_profile
from botkit.errors import BadId, BadPayload
from botkit.flow.model import ProfileAttribute
from botkit.server.profiles import KAKAO_APP, ProfileSync

__all__ = ["CustomersApi", "masked_profile"]

HIDDEN = "***"
SOURCE = "api"  # the source of what the shop's server does through this API
ACCOUNT_LINK_SOURCE = "account_link"
_CODE_REFUSALS = {  # IdentityRefused.reason → status, code
    "malformed": (400, "bad_link_code"),
    "forged": (400, "link_code_forged"),
    "expired": (410, "link_code_expired"),
}

PROFILE_LOCKS = 64  # profile writes of one customer take turns in a process (striped locks)

Handler = Callable[[Request, str], Awaitable[Response]]


class _Bad(BadPayload):
    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.extra = extra


def masked_profile(
    profile: Mapping[str, Any], schema: Mapping[str, ProfileAttribute]
) -> dict[str, Any]:
    """``profile`` with the values of sensitive attributes replaced by ``***``."""
    return {
        name: HIDDEN if (a := schema.get(name)) is not None and a.sensitive else value
        for name, value in profile.items()
    }


class CustomersApi:
    """The routes above, over ``audience`` (None: the store keeps none, every route 503).
    ``schema`` and ``clock`` are read at each request (a reload changes the schema, a test
    moves the clock); ``identity_secret`` checks account-link codes (None: 503 for them);
    ``profiles`` puts profiles into sessions; ``linked_app_user`` is told of each
    ``kakao_app:<appUserId>`` the shop links (``KakaoSync.forget``, server/identities.py)."""

    def __init__(
        self,
        audience: Audience | None,
        token: str | None,
        *,
        schema: Callable[[], Mapping[str, ProfileAttribute]],
        clock: Callable[[], float],
        identity_secret: str | None = None,
        profiles: ProfileSync | None = None,
        linked_app_user: Callable[[str], None] | None = None,
    ) -> None:
        self.audience = audience
        self.token = token
        self.schema = schema
        self.clock = clock
        self.identity_secret = identity_secret
        self.profiles = profiles
        self.linked_app_user = linked_app_user
        # What a write removed reaches the sessions only if the profile read before it is the
        # one it changed: two writes of one customer at once take turns (within a process).
        self._profile_locks = [asyncio.Lock() for _ in range(PROFILE_LOCKS)]

    def routes(self) -> list[BaseRoute]:
        one = "/customers/{customer}"
        return [
            Route(one, self._guard(self.get), methods=["GET"]),
            Route(one, self._guard(self.put), methods=["PUT"]),
            Route(one, self._guard(self.patch), methods=["PATCH"]),
            Route(one + "/consent", self._guard(self.consent), methods=["PUT"]),
            Route(one + "/links", self._guard(self.link_code), methods=["POST"]),
            Route(one + "/identities", self._guard(self.link_user), methods=["POST"]),
            Route(one + "/links/{user:path}", self._guard(self.unlink), methods=["DELETE"]),
        ]

    def _guard(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """The checks every route makes first: the token, the store, the customer id."""

        async def guarded(request: Request) -> Response:
            refused = bearer_refusal(
                request,
                self.token,
                "no_customers_token",
                "set a customers token (BOTKIT_CUSTOMERS_TOKEN)",
            )
            if refused is not None:
                return refused
            if self.audience is None:
                return json_error(503, "no_audience", "this store keeps no customers")
            customer = request.path_params["customer"]
            try:
                check_id("id", customer)
                problem = customer_id_problem(customer)
                if problem is not None:
                    raise BadId("id", problem)
                return await handler(request, customer)
            except BadId as bad:
                return bad_id_response(bad)
            except _Bad as bad:
                return json_error(400, bad.code, str(bad), **bad.extra)

        return guarded

    @property
    def _audience(self) -> Audience:
        assert self.audience is not None  # _guard answered 503 otherwise
        return self.audience

    # -- profiles ----------------------------------------------------------------------------

    async def get(self, request: Request, customer: str) -> Response:
        found = await self._audience.customer(customer)
        if found is None:
            return json_error(404, "unknown_customer", "no customer has this id")
        return json_response(self._shown(found))

    async def put(self, request: Request, customer: str) -> Response:
        return await self._store_profile(request, customer, merge=False)

    async def patch(self, request: Request, customer: str) -> Response:
        return await self._store_profile(request, customer, merge=True)

    async def _store_profile(self, request: Request, customer: str, *, merge: bool) -> Response:
        body = await _object(request, "bad_profile", "the body is a JSON object of attributes")
        schema = self.schema()
        profile, errors = check_profile(schema, body, partial=merge)
        if errors:
            listed = [{"attribute": e.attribute, "message": e.message} for e in errors]
            first = listed[0]
            raise _Bad(
                "bad_profile",
                f"attribute '{first['attribute']}': {first['message']}",
                errors=listed,
            )
        lock = self._profile_locks[zlib.crc32(customer.encode("utf-8")) % PROFILE_LOCKS]
        async with lock:  # else a write between ``before`` and ours leaves what it removed
            profiles = self.profiles
            before = await self._audience.customer(customer) if profiles is not None else None
            stored = await self._audience.put_profile(customer, profile, self.clock(), merge=merge)
            if profiles is not None:
                await profiles.changed(customer, before.profile if before is not None else {})
        return json_response({"id": customer, "profile": masked_profile(stored, schema)})

    def _shown(self, customer: Customer) -> dict[str, Any]:
        return {
            "id": customer.id,
            "profile": masked_profile(customer.profile, self.schema()),
            "consent": asdict(customer.consent),
            "users": [shown_user(user) for user in customer.users],
            "updated_at": customer.updated_at,
        }

    # -- consent -----------------------------------------------------------------------------

    async def consent(self, request: Request, customer: str) -> Response:
        body = await _object(request, "bad_consent", "the body is a JSON object")
        for key, value in body.items():
            if key in ("marketing", "night"):
                if value is not None and not isinstance(value, bool):
                    raise _Bad("bad_consent", f"'{key}' must be true or false", path=key)
            elif key != "source":
                known = "'marketing', 'night' and 'source'"
                raise _Bad("bad_consent", f"unknown field '{key}' (known: {known})", path=key)
        marketing, night = body.get("marketing"), body.get("night")
        if marketing is None and night is None:
            raise _Bad("bad_consent", "give 'marketing', 'night' or both: true or false")
        source = check_id("source", body.get("source", SOURCE))
        change = ConsentChange(self.clock(), source, marketing=marketing, night=night)
        await self._audience.change_consent(customer, change)
        return json_response({"id": customer, "consent": await self._audience.consent(customer)})

    # -- links -------------------------------------------------------------------------------

    async def link_code(self, request: Request, customer: str) -> Response:
        if not self.identity_secret:
            message = "set an identity secret (BOTKIT_IDENTITY_SECRET) to link accounts"
            return json_error(503, "no_identity_secret", message)
        body = await _object(request, "bad_link_code", 'the body is {"code": ...}')
        now = self.clock()
        try:
            key = link_code_key(self.identity_secret, body.get("code"), now)
        except IdentityRefused as refused:
            status, code = _CODE_REFUSALS[refused.reason]
            return json_error(status, code, str(refused))
        user = await self._audience.take_code(key, now)
        if user is None:
            return json_error(409, "link_code_used", "this code was used already")
        linked = await self._link(user, customer, now, ACCOUNT_LINK_SOURCE)
        return json_response({"id": customer, "user": shown_user(user), "linked": linked})

    async def link_user(self, request: Request, customer: str) -> Response:
        body = await _object(request, "bad_link", 'the body is {"user": ...}')
        user = check_id("user", body.get("user"), MAX_USER_CHARS)
        linked = await self._link(user, customer, self.clock(), SOURCE)
        if self.linked_app_user is not None and user.startswith(KAKAO_APP):
            self.linked_app_user(user[len(KAKAO_APP) :])
        return json_response({"id": customer, "user": shown_user(user), "linked": linked})

    async def _link(self, user: str, customer: str, at: float, source: str) -> bool:
        """Link, and put the customer's profile into the user's sessions."""
        if self.profiles is None:
            return await self._audience.link(user, customer, at, source)
        previous = await self._audience.customer_of(user)
        linked = await self._audience.link(user, customer, at, source)
        if linked:
            await self.profiles.linked(user, customer, previous=previous)
        return linked

    async def unlink(self, request: Request, customer: str) -> Response:
        given = check_id("user", request.path_params["user"], MAX_USER_CHARS)
        user: str | None = given
        if await self._audience.customer_of(given) != customer:
            user = await self._shown_as(customer, given) if given.startswith(SHOWN_WEB) else None
        if user is None:
            return json_error(404, "not_linked", "this user is not linked to this customer")
        unlinked = await self._audience.unlink(user, self.clock(), SOURCE)
        if unlinked and self.profiles is not None:
            await self.profiles.unlinked(user, customer)
        return json_response({"id": customer, "user": shown_user(user), "unlinked": unlinked})

    async def _shown_as(self, customer: str, shown: str) -> str | None:
        """The one user of ``customer`` the API shows as ``shown`` (a masked web visitor);
        None when none is, or several are (the shop then needs the visitor's id)."""
        found = await self._audience.customer(customer)
        users = [u for u in (found.users if found else ()) if shown_user(u) == shown]
        return users[0] if len(users) == 1 else None


async def _object(request: Request, code: str, message: str) -> dict[str, Any]:
    """The body as a JSON object; 400 ``bad_json`` or ``code`` otherwise."""
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise _Bad("bad_json", "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _Bad(code, message)
    return body
