"""Linking a channel user to the shop's customer: the widget's identity token, and the
account-link button on any channel (the proofs are :mod:`botkit.audience.identity`'s).

**The widget.** A page that knows its customer passes ``customer`` and ``token`` to the widget
(``data-customer``, ``data-token``), which sends them with its ``hello`` (and its first ``POST
/web/messages``). :meth:`WebIdentities.identify` links the visitor (source ``web_identity``)
when the token is good and unused. A missing, forged, expired, replayed or another customer's
token leaves the visitor anonymous and the conversation goes on: the visitor is told nothing,
the server counts the refusal by reason (:attr:`WebIdentities.refused`) and logs it at debug
level, without the token or the customer. A visitor already linked to that customer is left
as is, without spending the token and without a refusal even when the token has expired since:
the widget says who it is on every reconnection, and a tab stays open for hours.

**Logging out.** A page that names no customer (the ``hello`` of every connection, the first
``POST`` when it says ``"customer": null``) undoes the link its token made: a visitor linked by
``web_identity`` is unlinked (source ``web_logout``) and the customer's profile leaves their
sessions, so the next person at a shared computer is nobody's customer. Links the shop made (the
API, an account-link code) stay. The widget also starts a new visitor id when the page's
customer is missing or another (widget.js), so the next person does not see the chat either.

**Kakao Sync.** A KakaoTalk channel that uses Kakao Sync sends the user's Kakao Login id with
every message (``userRequest.user.properties.appUserId``). Once the shop has linked
``kakao_app:<appUserId>`` to its customer (``POST /customers/{id}/identities``), the Kakao user
(``<bot id>:<botUserKey>``, as records name them) is linked to that customer too, source
``kakao_sync`` (:class:`KakaoSync`), unless they are linked to a customer already (an account
link the user made stays). This runs before the message's turn, on the hot path, so a process
remembers whom it checked (a bounded memory): a user found linked costs one store read for the
process's lifetime, a user found unlinked one every :data:`UNLINKED_RECHECK_S` at most, and a
message without ``appUserId`` none. A user found unlinked before the shop linked their
``appUserId`` is linked at their next message when the link went through this process (the
API tells it), else at their first message five minutes after the look-up (with several
workers, the API reaches only one of them).

A user linked here gets the customer's profile in their sessions (:mod:`botkit.server.profiles`).

**The account-link button.** A flow writes a ``url`` button whose url is
``botkit:account-link``. When a reply is drawn, :meth:`AccountLinks.rewriter` turns it into an
address of this server that names the user sealed, ``{public_url}/account-link?token=…``
(relative to the server in the widget; KakaoTalk opens only absolute links, so Kakao needs
``public_url``). Opening it (``GET /account-link``) spends the address's nonce, makes a
one-time code, keeps its hash with the user for ten minutes, and answers 302 to the shop's
login page, ``account_link_url?code=…``. The shop, once the customer has logged in, posts the
code to ``POST /customers/{id}/links`` (:mod:`botkit.server.customers`). The code is made at the
click, not when the bubble is drawn: drawing is synchronous and stores nothing, and a bubble
nobody presses leaves no code behind. An address works once and for ten minutes: pressed
again it answers 409, older 410 (the user asks the bot again), because a button its user sends
to someone else links the sender's KakaoTalk to whoever logs in; the shop's login page must
also say what is being linked and ask before it posts the code (docs/identity.md). A
link-preview robot is sent to the login page without a code, spending nothing. Without
``identity_secret`` and
``account_link_url`` (or ``public_url`` on KakaoTalk) the url is left as the flow wrote it, and
the channels leave out a button that is not http(s).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from botkit.adapters.checks import id_problem
from botkit.adapters.http import json_error
from botkit.adapters.kakao.endpoint import CHANNEL as KAKAO
from botkit.adapters.web.endpoint import CHANNEL as WEB
from botkit.audience import Audience
from botkit.audience.identity import (
    ACCOUNT_LINK,
    MIN_SECRET_CHARS,
    AccountLinkSealer,
    IdentityRefused,
    account_link_url,
    new_link_code,
    read_web_token,
)
from botkit.audience.ids import customer_id_problem
from botkit.effects import Effect
from botkit.errors import ConfigurationError, StorageError
from botkit.runtime import Reply
from botkit.server.links import rewrite_links
from botkit.server.profiles import KAKAO_APP, ProfileSync

__all__ = [
    "ACCOUNT_LINK_PATH",
    "KAKAO_SYNC_SOURCE",
    "UNLINKED_RECHECK_S",
    "WEB_LOGOUT_SOURCE",
    "WEB_SOURCE",
    "AccountLinks",
    "KakaoSync",
    "WebIdentities",
    "chain",
    "check_identity_secret",
]

log = logging.getLogger("botkit.server")

ACCOUNT_LINK_PATH = "/account-link"
WEB_SOURCE = "web_identity"
WEB_LOGOUT_SOURCE = "web_logout"  # a page that named no customer undid its token's link
KAKAO_SYNC_SOURCE = "kakao_sync"
CHECKED_KAKAO_USERS = 100_000  # users a process remembers checking (some 30 MB at most)
UNLINKED_RECHECK_S = 300.0  # how long "not linked" is believed: another worker may have linked
_ROBOTS = ("kakaotalk-scrap", "facebookexternalhit", "slackbot", "twitterbot", "yeti/", "daumoa")

Rewrite = Callable[[Reply], list[Effect]]


def check_identity_secret(secret: str | None) -> str | None:
    """``secret`` (None when unset); a ConfigurationError when it is too short to trust."""
    if secret and len(secret) < MIN_SECRET_CHARS:
        raise ConfigurationError(
            f"'identity_secret' has {len(secret)} characters; it needs at least "
            f"{MIN_SECRET_CHARS} (whoever guesses it can link any visitor to any customer)"
        )
    return secret or None


class WebIdentities:
    """What the widget's endpoint calls with the ``customer`` and ``token`` a page gave."""

    def __init__(
        self,
        audience: Audience | None,
        secret: str | None,
        clock: Callable[[], float],
        profiles: ProfileSync | None = None,
    ) -> None:
        self.audience = audience
        self.secret = check_identity_secret(secret)
        self.clock = clock
        self.profiles = profiles  # puts the customer's profile into the visitor's session
        self.refused: Counter[str] = Counter()  # reason → how many tokens were refused

    async def identify(self, user: str, customer: Any, token: Any) -> bool:
        """Link ``user`` to ``customer`` if ``token`` proves it (neither: the page names no
        customer, see :meth:`signed_out`); whether the user is now linked to them. Never
        raises: the conversation goes on whatever happens here."""
        if not customer and not token:
            await self.signed_out(user)
            return False
        if self.audience is None or self.secret is None:
            return self._refuse("not_configured")
        now = self.clock()
        late: IdentityRefused | None = None  # made with the secret for this customer, but old
        try:
            identity = read_web_token(self.secret, customer, token, now)
            if id_problem(identity.customer) or customer_id_problem(identity.customer):
                raise IdentityRefused("malformed", "not a customer id")
        except IdentityRefused as refused:
            if refused.reason != "expired":
                return self._refuse(refused.reason)
            late = refused  # the signature and the customer are good: maybe a reconnection
        try:
            previous = await self.audience.customer_of(user)
            if previous == customer:  # a reconnection: nothing to do, nothing refused
                return True
            if late is not None:
                return self._refuse(late.reason)
            if not await self.audience.first_use(identity.nonce_key, identity.expires_at, now):
                return self._refuse("replayed")
            await self.audience.link(user, identity.customer, now, WEB_SOURCE)
            if self.profiles is not None:
                # The visitor is here: their first turn, coming next, sees the profile.
                await self.profiles.linked(user, identity.customer, previous=previous, present=WEB)
        except StorageError as exc:
            log.warning("web identity not linked: the store failed", extra={"error": str(exc)})
            return False
        return True

    async def signed_out(self, user: str) -> None:
        """The page names no customer: a visitor its token linked is unlinked, and the
        customer's profile leaves their sessions. One store read for a visitor not linked."""
        if self.audience is None:
            return
        try:
            customer = await self.audience.customer_of(user)
            if customer is None:
                return
            now = self.clock()
            if not await self.audience.unlink(user, now, WEB_LOGOUT_SOURCE, linked_by=WEB_SOURCE):
                return  # the shop linked them (the API, an account-link code): theirs to undo
            if self.profiles is not None:
                await self.profiles.unlinked(user, customer)
        except StorageError as exc:
            log.warning("web visitor not unlinked: the store failed", extra={"error": str(exc)})

    def _refuse(self, reason: str) -> bool:
        self.refused[reason] += 1
        log.debug("web identity refused; the visitor stays anonymous", extra={"reason": reason})
        return False


class KakaoSync:
    """What the Kakao endpoint calls with a message's ``appUserId`` (see the module's
    docstring): links the Kakao user to the customer the shop linked ``kakao_app:<appUserId>``
    to, and remembers having checked them, whatever it found."""

    def __init__(
        self,
        audience: Audience | None,
        clock: Callable[[], float],
        profiles: ProfileSync | None = None,
        *,
        capacity: int = CHECKED_KAKAO_USERS,
    ) -> None:
        self.audience = audience
        self.clock = clock
        self.profiles = profiles
        self.capacity = capacity
        # Kakao user → (their appUserId, when to check again: None never), oldest first (dicts
        # keep their order): users checked.
        self._checked: dict[str, tuple[str, float | None]] = {}
        # appUserId → Kakao user, of those checked and found unlinked: whom to check again when
        # the shop links the appUserId through this process (forget).
        self._unlinked: dict[str, str] = {}

    async def identify(self, user: str, app_user_id: str) -> bool:
        """Link ``user`` if the customer linked to ``app_user_id`` is known; whether it is
        linked to them now. Never raises: the message's turn goes on whatever happens."""
        if self.audience is None:
            return False
        now = self.clock()
        checked = self._checked.get(user)
        if checked is not None and (checked[1] is None or now < checked[1]):
            return False
        app_user = KAKAO_APP + app_user_id
        if id_problem(app_user):
            return False
        self._remember(user, app_user_id, None)  # first: a second message meanwhile reads nothing
        try:
            customer = await self.audience.customer_of(app_user)
            if customer is None:  # believed for a while: another worker may link it
                self._remember(user, app_user_id, now + UNLINKED_RECHECK_S)
                self._unlinked[app_user_id] = user
                return False
            if self._unlinked.get(app_user_id) == user:
                del self._unlinked[app_user_id]  # linked since: nothing left to forget
            previous = await self.audience.customer_of(user)
            if previous is not None:  # linked already: by Kakao Sync, or by the user's choice
                return previous == customer
            await self.audience.link(user, customer, now, KAKAO_SYNC_SOURCE)
            if self.profiles is not None:
                await self.profiles.linked(user, customer, present=KAKAO)
        except StorageError as exc:
            self._checked.pop(user, None)  # not checked after all: the next message tries again
            log.warning("kakao sync link not made: the store failed", extra={"error": str(exc)})
            return False
        return True

    def forget(self, app_user_id: str) -> None:
        """The shop linked ``kakao_app:<app_user_id>``: a user found unlinked before is checked
        again at their next message."""
        user = self._unlinked.pop(app_user_id, None)
        if user is not None:
            self._checked.pop(user, None)

    def _remember(self, user: str, app_user_id: str, again_at: float | None) -> None:
        self._checked.pop(user, None)  # a user checked again is the newest
        while len(self._checked) >= self.capacity:
            oldest, (its_app_user, _) = next(iter(self._checked.items()))
            del self._checked[oldest]
            if self._unlinked.get(its_app_user) == oldest:
                del self._unlinked[its_app_user]
        self._checked[user] = (app_user_id, again_at)


class AccountLinks:
    """The account-link button's rewriting and its door, ``GET /account-link``."""

    def __init__(
        self,
        audience: Audience | None,
        *,
        secret: str | None,
        login_url: str | None,
        public_url: str | None,
        clock: Callable[[], float],
    ) -> None:
        self.audience = audience
        secret = check_identity_secret(secret)
        self.sealer = AccountLinkSealer(secret) if secret else None
        self.secret = secret
        self.login_url = _login_url(login_url)
        self.public_url = public_url.rstrip("/") if public_url else None
        self.clock = clock

    @property
    def on(self) -> bool:
        return self._parts() is not None

    def _parts(self) -> tuple[Audience, AccountLinkSealer, str, str] | None:
        """The audience, sealer, secret and login page, when all are there (else: off)."""
        if self.audience is None or self.sealer is None or not self.secret:
            return None
        if not self.login_url:
            return None
        return self.audience, self.sealer, self.secret, self.login_url

    def routes(self) -> list[BaseRoute]:
        return [Route(ACCOUNT_LINK_PATH, self.follow, methods=["GET"])]

    def rewriter(self, *, absolute: bool) -> Rewrite | None:
        """What a channel applies to a reply: its account-link buttons as addresses for the
        reply's user (``absolute``: full URLs, as KakaoTalk needs); None when off."""
        parts = self._parts()
        if parts is None or (absolute and self.public_url is None):
            return None
        sealer = parts[1]
        base = f"{self.public_url}{ACCOUNT_LINK_PATH}" if absolute else ACCOUNT_LINK_PATH[1:]

        def rewrite(reply: Reply) -> list[Effect]:
            if not reply.records or not reply.ok:
                return list(reply.effects)
            user, at = reply.records[-1].user, self.clock()

            def address(url: str) -> str | None:
                if url != ACCOUNT_LINK:
                    return None
                return f"{base}?{urlencode({'token': sealer.seal(user, at)})}"

            return rewrite_links(reply.effects, address)

        return rewrite

    async def follow(self, request: Request) -> Response:
        parts = self._parts()
        if parts is None:
            return json_error(404, "no_account_link", "account linking is not set up here")
        audience, sealer, secret, login_url = parts
        now = self.clock()
        try:
            sealed = sealer.open(request.query_params.get("token", ""), now)
        except IdentityRefused as refused:
            if refused.reason == "expired":
                message = "this account-link button is too old: ask the bot for a new one"
                return json_error(410, "account_link_expired", message)
            return json_error(400, "account_link_forged", "botkit did not make this address")
        target = login_url
        if request.method == "GET" and not _robot(request):
            # Spent first, which also forgets the one-time rows that expired (put_code does not).
            if not await audience.first_use(sealed.nonce_key, sealed.expires_at, now):
                message = "this account-link button was used already: ask the bot for a new one"
                return json_error(409, "account_link_used", message)
            code = new_link_code(secret, now)
            await audience.put_code(code.key, sealed.user, code.expires_at)
            target = account_link_url(login_url, code.code)
        # Never cached, never passed on as a referrer: the code is for this press alone.
        headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
        return RedirectResponse(target, status_code=302, headers=headers)


def chain(first: Rewrite | None, then: Rewrite | None) -> Rewrite | None:
    """Two rewritings one after the other (either may be None: off)."""
    if first is None or then is None:
        return first or then
    second = then
    primary = first

    def both(reply: Reply) -> list[Effect]:
        return second(replace(reply, effects=primary(reply)))

    return both


def _robot(request: Request) -> bool:
    agent = request.headers.get("user-agent", "").lower()
    return any(robot in agent for robot in _ROBOTS)


def _login_url(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        raise ConfigurationError(
            "'account_link_url' must be the shop's login page, such as "
            f"'https://shop.example.com/login/kakao', not {url!r}"
        )
    return url
