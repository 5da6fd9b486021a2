"""The flows' links, opened through botkit: a click is recorded, then the user goes on.

When a bubble is delivered, each link in it that the flows wrote (a ``url`` button on a bubble,
a card or a list; a list item's ``url``) is replaced by an address of this server::

    {public_url}/link/{id}?token={sealed}

``id`` names the URL: the first 12 hex digits of its SHA-256, the same in every version and on
every worker. ``GET /link/{id}`` answers 302 to the URL and records ``link_clicked`` in the
user's conversation (through the runtime's one door: :class:`~botkit.events.LinkClick`).

* **No open redirect.** Only a URL that a compiled version this process serves (the live one
  and the earlier ones still finishing their conversations: ``Runtime.bots``) shows as a link
  can be a target, and only http(s) ones; the address carries the id, never the URL. An
  unknown id is answered 404 in JSON, never redirected. A URL with a template in it
  (``{{...}}``) is not rewritten: what it opens is known only per user and cannot be checked
  against the flows, so it goes straight to where it points, and its clicks are not counted.
* **Nobody reads or records clicks for others.** ``sealed`` is the user's session key and the
  conversation's number encrypted and authenticated with ``link_secret`` (:class:`Signer`):
  a widget's session key opens its user's history, so it must not be readable in an address
  users copy and share. A missing, forged or another link's token still redirects (the user
  must get their page) but records nothing. The token is a ``token=`` parameter, which the
  logs hide (``server/redaction.py``).
* **No secret, no measuring.** Without ``link_secret`` links are left as the flows wrote them:
  users go straight to the shop, as before, and click-through is not measured (borrowing
  another secret, such as the admin token, would mix two purposes; a secret made up at start
  would differ per worker and per restart). Kakao needs absolute links: without
  ``public_url`` its links are left as they are too, while the widget's use a path relative to
  the server. Set both (``BOTKIT_LINK_SECRET``, ``BOTKIT_PUBLIC_URL``) to measure.
* **What is a click.** A GET from a browser. A HEAD, and a GET from a link-preview robot
  (KakaoTalk's scraper, Facebook's, Slack's, search engines'), redirects without recording.
  A click is recorded in the conversation that showed the link while it is still the user's
  current one, even ended; a click on an earlier conversation's link records nothing. It is not
  activity: the inactivity timeout does not restart.
* Not rewritten: the widget's history (``GET /web/history``) and bubbles pushed outside a
  request (the bot speaking after an agent's release): their links go straight to the shop.
* After a restart, an earlier version's links are known again once one of its conversations
  came back (the runtime compiles it then); until then a link that only that version shows
  answers 404.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import fields, is_dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from botkit.adapters.http import json_error
from botkit.effects import Button, Card, Effect, ListItem, Say
from botkit.errors import ConfigurationError, StepRefused
from botkit.events import LinkClick
from botkit.flow.model import Bot, ButtonSpec, ListItemSpec
from botkit.keys import SessionKey
from botkit.runtime import Reply, Runtime

__all__ = [
    "LINK_PATH",
    "MIN_SECRET_CHARS",
    "LinkTable",
    "Links",
    "Signer",
    "flow_links",
    "link_id",
    "rewrite_links",
]

log = logging.getLogger("botkit.server")

LINK_PATH = "/link/"
ID_CHARS = 12  # 48 bits: two of a bot's few hundred URLs sharing an id is a one-in-a-billion
MIN_SECRET_CHARS = 16
NONCE_BYTES = 12  # AES-GCM's nonce, random per token
CLICK_WAIT_S = 0.5  # the redirect waits this long for the click's record, then goes anyway
# Robots that fetch a link to preview it, not people opening it (User-Agent, lowercased).
_ROBOTS = (
    "kakaotalk-scrap", "facebookexternalhit", "slackbot", "twitterbot", "discordbot",
    "telegrambot", "whatsapp", "googlebot", "bingbot", "yeti/", "daumoa", "applebot",
)  # fmt: skip

Rewrite = Callable[[Reply], list[Effect]]


def link_id(url: str) -> str:
    """The id that stands for ``url`` in botkit's addresses: stable across versions."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:ID_CHARS]


def _linkable(url: str) -> bool:
    return url.lower().startswith(("https://", "http://")) and "{{" not in url


def flow_links(bot: Bot) -> set[str]:
    """The links ``bot``'s messages show, as written: ``url`` buttons (on bubbles, cards and
    lists) and list items' ``url``, wherever a message is (states, transitions, variants,
    slots' prompts, fallbacks, handoffs, the bot's own messages). Only http(s) URLs without a
    template: those are the only ones that may become a redirect's target."""
    found: set[str] = set()
    seen: set[int] = set()
    stack: list[Any] = [bot]
    while stack:
        node = stack.pop()
        if node is None or isinstance(node, str | bytes | int | float) or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, ButtonSpec):
            if node.kind == "url" and _linkable(node.value):
                found.add(node.value)
        elif isinstance(node, ListItemSpec):
            if node.url and _linkable(node.url):
                found.add(node.url)
        elif is_dataclass(node) and not isinstance(node, type):
            stack.extend(getattr(node, f.name) for f in fields(node))
        elif isinstance(node, Mapping):
            stack.extend(node.values())
        elif isinstance(node, tuple | list | set | frozenset):
            stack.extend(node)
    return found


class LinkTable:
    """id ↔ URL for the links of the versions ``bots()`` gives (read again when a version is
    new to the table). A URL once known stays known: it was in the flows."""

    def __init__(self, bots: Callable[[], Iterable[Bot]]) -> None:
        self._bots = bots
        self._read: set[str] = set()  # versions whose links are in the table
        self._urls: dict[str, str] = {}  # id → URL
        self._ids: dict[str, str] = {}  # URL → id

    def url(self, link: str) -> str | None:
        """The URL ``link`` stands for, or None: never anything the flows do not show."""
        found = self._urls.get(link)
        if found is None and self._refresh():
            found = self._urls.get(link)
        return found

    def id_of(self, url: str) -> str | None:
        """The id of ``url`` if the flows show it as a link, else None (leave it alone)."""
        found = self._ids.get(url)
        if found is None and self._refresh():
            found = self._ids.get(url)
        return found

    def _refresh(self) -> bool:
        """Read the versions not read yet; whether there were any."""
        fresh = [bot for bot in self._bots() if bot.version not in self._read]
        for bot in fresh:
            self._read.add(bot.version)
            for url in sorted(flow_links(bot)):
                self._add(url)
        return bool(fresh)

    def _add(self, url: str) -> None:
        link = link_id(url)
        known = self._urls.get(link)
        if known is None:
            self._urls[link] = url
            self._ids[url] = link
        elif known != url:  # two URLs with one id: the second is not rewritten
            log.warning("two links share an id; the second is not tracked", extra={"id": link})


class Signer:
    """Tokens that name a user's conversation for one link, sealed with the server's secret.

    The token is AES-GCM (the ``cryptography`` package) of "conversation:session key" under a
    key derived from ``link_secret``, with the link's id as associated data: nobody can read
    the user in it (a widget's session key opens that user's history) or make one, and a token
    is good for its own link only. A fresh 96-bit nonce per token."""

    def __init__(self, secret: str) -> None:
        self._aead = AESGCM(hashlib.sha256(b"botkit link token\0" + secret.encode()).digest())

    def token(self, link: str, session: str, conversation: int) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, f"{conversation}:{session}".encode(), link.encode())
        return _b64(nonce + sealed)

    def read(self, link: str, token: str) -> tuple[str, int] | None:
        """The session and conversation ``token`` names for ``link``, if botkit sealed it."""
        try:
            raw = _unb64(token)
            plain = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], link.encode())
            number, colon, session = plain.decode("utf-8").partition(":")
            SessionKey.parse(session)  # the form every session key has
        except (ValueError, binascii.Error, InvalidTag):
            return None
        return (session, int(number)) if colon and number.isdigit() else None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def rewrite_links(effects: Sequence[Effect], address: Callable[[str], str | None]) -> list[Effect]:
    """``effects`` with each link ``address`` gives an address for replaced by it (the others
    as they are). New bubbles: the engine's own are shared between users and never changed."""
    out: list[Effect] = []
    for effect in effects:
        if isinstance(effect, Say) and (
            effect.buttons or effect.card or effect.cards or effect.items
        ):
            effect = replace(
                effect,
                buttons=_buttons(effect.buttons, address),
                card=None if effect.card is None else _card(effect.card, address),
                cards=tuple(_card(c, address) for c in effect.cards),
                items=tuple(_item(i, address) for i in effect.items),
            )
        out.append(effect)
    return out


def _buttons(
    buttons: tuple[Button, ...], address: Callable[[str], str | None]
) -> tuple[Button, ...]:
    out = []
    for button in buttons:
        new = address(button.value) if button.kind == "url" else None
        out.append(button if new is None else replace(button, value=new))
    return tuple(out)


def _card(card: Card, address: Callable[[str], str | None]) -> Card:
    return replace(card, buttons=_buttons(card.buttons, address)) if card.buttons else card


def _item(item: ListItem, address: Callable[[str], str | None]) -> ListItem:
    new = address(item.url) if item.url else None
    return item if new is None else replace(item, url=new)


class Links:
    """The redirect endpoint (``GET /link/{id}``) and the rewriting the channels apply to
    what they deliver. ``track``: the server waits for tracked tasks before it stops."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        secret: str | None,
        public_url: str | None,
        track: Callable[[asyncio.Task[Any]], None] | None = None,
    ) -> None:
        if secret is not None and len(secret) < MIN_SECRET_CHARS:
            raise ConfigurationError(
                f"'link_secret' has {len(secret)} characters; it needs at least "
                f"{MIN_SECRET_CHARS} (a click must not be recorded by someone who guessed it)"
            )
        self.runtime = runtime
        self.table = LinkTable(lambda: runtime.bots)
        self.signer = Signer(secret) if secret else None
        self.public_url = _public_url(public_url)
        self.track = track

    def routes(self) -> list[BaseRoute]:
        return [Route(LINK_PATH + "{link}", self.follow, methods=["GET"])]  # HEAD as well

    def rewriter(self, *, absolute: bool) -> Rewrite | None:
        """What a channel applies to a reply before drawing it: its links as this server's
        addresses (``absolute``: full URLs, as KakaoTalk needs); None when links are left
        alone (no secret, or no public URL for absolute ones)."""
        signer = self.signer
        if signer is None or (absolute and self.public_url is None):
            return None
        base = f"{self.public_url}{LINK_PATH}" if self.public_url else LINK_PATH.lstrip("/")
        table = self.table

        def rewrite(reply: Reply) -> list[Effect]:
            if not reply.records or not reply.ok:
                return list(reply.effects)
            last = reply.records[-1]  # the conversation the reply's bubbles are said in
            session, conversation = last.session, last.conversation

            def address(url: str) -> str | None:
                link = table.id_of(url)
                if link is None or not conversation:
                    return None
                return f"{base}{link}?token={signer.token(link, session, conversation)}"

            return rewrite_links(reply.effects, address)

        return rewrite

    async def follow(self, request: Request) -> Response:
        link = request.path_params["link"]
        url = self.table.url(link) if len(link) == ID_CHARS else None
        if url is None:
            return json_error(404, "unknown_link", "no link of the bot's flows has this id")
        token = request.query_params.get("token", "")
        clicked = self.signer.read(link, token) if self.signer and token else None
        if clicked is not None and request.method == "GET" and not _robot(request):
            await self._record(clicked[0], url, clicked[1])
        # Never cached: every click comes here to be counted.
        return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})

    async def _record(self, session: str, url: str, conversation: int) -> None:
        """Record the click, waiting at most CLICK_WAIT_S (the user's turn may hold the lock);
        the record is still written after the user has gone on."""
        task = asyncio.ensure_future(self._apply(session, url, conversation))
        if self.track is not None:
            self.track(task)
        await asyncio.wait({task}, timeout=CLICK_WAIT_S)

    async def _apply(self, session: str, url: str, conversation: int) -> None:
        try:
            reply = await self.runtime.apply(
                SessionKey.parse(session), LinkClick(url, conversation)
            )
        except StepRefused:
            return  # the link was shown in an earlier conversation: nothing to record
        if not reply.ok:
            log.warning("a link click was not recorded", extra={"failure": str(reply.failure)})


def _robot(request: Request) -> bool:
    agent = request.headers.get("user-agent", "").lower()
    return any(robot in agent for robot in _ROBOTS)


def _public_url(url: str | None) -> str | None:
    """``public_url`` without a trailing slash; a ConfigurationError unless it is http(s)."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigurationError(
            f"'public_url' must be where users reach this server, such as "
            f"'https://bot.shop.example.com', not {url!r}"
        )
    return url.rstrip("/")
