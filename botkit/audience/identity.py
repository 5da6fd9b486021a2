"""Proof of who a channel user is, without I/O: web identity tokens and account-link codes.

Both rest on one secret botkit shares with the shop's server (``identity_secret``,
``BOTKIT_IDENTITY_SECRET``, 16+ characters). The store's part (a nonce used once, a code taken
once) is the caller's: this module only makes and reads.

**Web identity token.** When the shop's server renders a page for a logged-in customer, it
makes (docs/identity.md has it in Python and in Node)::

    payload = base64url(f"{customer}|{issued_at}|{nonce}")     # UTF-8, no "=" padding
    token   = payload + "." + hex(HMAC-SHA256(secret, payload))

``issued_at`` is whole seconds since the epoch; ``nonce`` 16 to 64 random characters of
``[A-Za-z0-9_-]``. The page hands ``customer`` and ``token`` to the widget. A token is good when
botkit's secret made it, it names the customer the page gives, and it is less than
:data:`WEB_TOKEN_TTL_S` old (issued at most :data:`CLOCK_SKEW_S` in the future, the two
servers' clocks being apart); the server then spends it once (:attr:`WebIdentity.nonce_key`
through ``Audience.first_use``), so a token copied out of a page links nobody else.

**Account-link code.** On KakaoTalk the shop cannot put anything in the conversation, so botkit
sends the user to the shop's login page with a one-time code (:func:`new_link_code`)::

    code = f"{random}.{expires_at}.{tag}"     # tag = hex(HMAC-SHA256(secret, "botkit-link|"
                                              #   + random + "|" + expires_at))[:32]

The store keeps only the code's SHA-256 (:attr:`LinkCode.key`), with the user it was made for;
the shop, once the user has logged in, posts the code back with its customer id. Because the
expiry and botkit's signature are in the code itself, a refusal says why: a code botkit did not
make (``forged``), one past its ten minutes (``expired``), or, from the store, one taken before.

**The account-link button.** A flow's ``url: botkit:account-link`` button becomes an address of
botkit's that names the user sealed (:class:`AccountLinkSealer`: a widget's user id opens their
history, so it must not be readable in an address users copy); opening it mints the code. The
address holds a nonce of its own, which the server spends at the first press
(:attr:`SealedLink.nonce_key` through ``Audience.first_use``), and is good for
:data:`ACCOUNT_LINK_TTL_S`. That narrows, without closing, the one way to abuse a button: its
user sending it to someone else, who logs in and links the sender's KakaoTalk to their own
account. Only the shop's login page can close it, by saying what is being linked and asking
before it posts the code (docs/identity.md).

Nothing here puts a token, a code or a customer's data in an exception's message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from botkit.errors import BotkitError

__all__ = [
    "ACCOUNT_LINK",
    "ACCOUNT_LINK_TTL_S",
    "CLOCK_SKEW_S",
    "LINK_CODE_TTL_S",
    "MIN_SECRET_CHARS",
    "WEB_TOKEN_TTL_S",
    "AccountLinkSealer",
    "IdentityRefused",
    "LinkCode",
    "SealedLink",
    "WebIdentity",
    "account_link_url",
    "link_code_key",
    "new_link_code",
    "read_web_token",
    "web_token",
]

WEB_TOKEN_TTL_S = 600.0  # a token is made with the page: ten minutes is time to open the chat
CLOCK_SKEW_S = 60.0  # how far in the future a token may be issued (the shop's clock ahead)
LINK_CODE_TTL_S = 600.0  # the time to log in on the shop's page
# A button in the conversation, pressed once: the user presses it when they ask for it. Short,
# as a button sent to someone else is a way to link the sender to the receiver's account.
ACCOUNT_LINK_TTL_S = 600.0
MIN_SECRET_CHARS = 16
MAX_TOKEN_CHARS = 2048
ACCOUNT_LINK = "botkit:account-link"  # what a flow writes as a button's url

_NONCE = re.compile(r"[A-Za-z0-9_-]{16,64}")
_B64 = re.compile(r"[A-Za-z0-9_-]+")
_HEX = re.compile(r"[0-9a-f]{64}")
_CODE = re.compile(r"([A-Za-z0-9_-]{16,64})\.([0-9]{1,12})\.([0-9a-f]{32})")
_LINK_TAG = "botkit-link|"  # no base64url payload has a "|": a code's tag is never a token's
_NONCE_BYTES = 12


class IdentityRefused(BotkitError):
    """A token or a code that proves nothing. ``reason``: ``missing``, ``malformed``,
    ``forged`` (not made with the secret), ``mismatch`` (another customer's), ``expired``. The
    message says what, never the token or the code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class WebIdentity:
    """What a good web token proves: the visitor is ``customer``. ``nonce_key`` is what the
    server spends once (kept until ``expires_at``): a hash of the token, not the token."""

    customer: str
    nonce_key: str
    expires_at: float


def _sign(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def web_token(secret: str, customer: str, issued_at: int, nonce: str) -> str:
    """The token the shop's server makes for ``customer`` (here for tests and examples)."""
    payload = _b64(f"{customer}|{issued_at}|{nonce}".encode())
    return f"{payload}.{_sign(secret, payload)}"


def read_web_token(secret: str, customer: object, token: object, now: float) -> WebIdentity:
    """What ``token`` proves about the visitor the page says is ``customer``, at ``now``;
    :class:`IdentityRefused` when it proves nothing."""
    if not token or not customer:
        raise IdentityRefused("missing", "a customer and a token are both needed")
    if not isinstance(token, str) or not isinstance(customer, str):
        raise IdentityRefused("malformed", "the customer and the token are text")
    payload, dot, tag = token.partition(".")
    if not dot or len(token) > MAX_TOKEN_CHARS or not _B64.fullmatch(payload):
        raise IdentityRefused("malformed", "a token is base64url, a dot and 64 hex digits")
    if not _HEX.fullmatch(tag) or not hmac.compare_digest(tag, _sign(secret, payload)):
        raise IdentityRefused("forged", "the token was not made with the identity secret")
    try:
        named, issued, nonce = _unb64(payload).decode("utf-8").rsplit("|", 2)
        issued_at = int(issued)
    except (ValueError, binascii.Error):  # signed, yet not what the documented recipe makes
        raise IdentityRefused(
            "malformed", "the token's payload is not customer|time|nonce"
        ) from None
    if not _NONCE.fullmatch(nonce):
        raise IdentityRefused("malformed", "the nonce must be 16-64 letters, digits, _ or -")
    if not hmac.compare_digest(named.encode(), customer.encode()):
        raise IdentityRefused("mismatch", "the token names another customer")
    if not issued_at - CLOCK_SKEW_S <= now < issued_at + WEB_TOKEN_TTL_S:
        raise IdentityRefused("expired", "the token is older than ten minutes, or not yet valid")
    key = hashlib.sha256(f"web|{payload}".encode()).hexdigest()
    return WebIdentity(customer, key, issued_at + WEB_TOKEN_TTL_S)


@dataclass(frozen=True, slots=True)
class LinkCode:
    """A one-time account-link code: ``code`` goes to the shop's page, ``key`` (its SHA-256)
    to the store, with the user and ``expires_at``."""

    code: str
    key: str
    expires_at: float


def _code_key(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def new_link_code(secret: str, at: float) -> LinkCode:
    """A fresh code, good for :data:`LINK_CODE_TTL_S` from ``at``."""
    random = secrets.token_urlsafe(18)
    expires = int(at + LINK_CODE_TTL_S)
    tag = _sign(secret, f"{_LINK_TAG}{random}|{expires}")[:32]
    code = f"{random}.{expires}.{tag}"
    return LinkCode(code, _code_key(code), float(expires))


def link_code_key(secret: str, code: object, now: float) -> str:
    """The store's key for ``code`` if botkit made it and it has not expired at ``now``;
    :class:`IdentityRefused` (``malformed``, ``forged``, ``expired``) otherwise. Whether it
    was taken before only the store knows."""
    if not isinstance(code, str) or not code:
        raise IdentityRefused("malformed", "'code' must be the code botkit gave the shop's page")
    found = _CODE.fullmatch(code)
    if found is None:
        raise IdentityRefused("forged", "this is not a code botkit made")
    random, expires, tag = found.groups()
    if not hmac.compare_digest(tag, _sign(secret, f"{_LINK_TAG}{random}|{expires}")[:32]):
        raise IdentityRefused("forged", "this is not a code botkit made")
    if now >= int(expires):
        raise IdentityRefused("expired", "the code expired: the user must press the button again")
    return _code_key(code)


def account_link_url(base: str, code: str) -> str:
    """The shop's login page ``base`` with ``code=`` added to its query."""
    joiner = "&" if urlsplit(base).query else ("" if base.endswith("?") else "?")
    return f"{base}{joiner}{urlencode({'code': code})}"


@dataclass(frozen=True, slots=True)
class SealedLink:
    """What an account-link address names: the ``user``, and the ``nonce_key`` the server spends
    at the first press (kept until ``expires_at``): a hash of the nonce, not the nonce."""

    user: str
    nonce_key: str
    expires_at: float


class AccountLinkSealer:
    """The user an account-link button is for, sealed in its address: AES-GCM (as the link
    tokens of :mod:`botkit.server.links`) of "issued_at|nonce|user" under a key derived from
    the identity secret, so nobody reads the user in it, makes one, or uses one past
    :data:`ACCOUNT_LINK_TTL_S`; the nonce makes each address one of its own, pressed once."""

    def __init__(self, secret: str) -> None:
        key = hashlib.sha256(b"botkit account link\0" + secret.encode()).digest()
        self._aead = AESGCM(key)

    def seal(self, user: str, at: float) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        plain = f"{int(at)}|{secrets.token_urlsafe(16)}|{user}".encode()
        return _b64(nonce + self._aead.encrypt(nonce, plain, None))

    def open(self, sealed: str, now: float) -> SealedLink:
        """What ``sealed`` names; :class:`IdentityRefused` (``forged``, ``expired``)."""
        try:
            raw = _unb64(sealed)
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], None)
            issued, nonce, user = plain.decode("utf-8").split("|", 2)  # a user may hold "|"
            issued_at = int(issued)
        except (ValueError, binascii.Error, InvalidTag):
            raise IdentityRefused(
                "forged", "this account-link address was not made by botkit"
            ) from None
        if not issued_at - CLOCK_SKEW_S <= now < issued_at + ACCOUNT_LINK_TTL_S:
            raise IdentityRefused("expired", "this account-link button is too old")
        key = hashlib.sha256(f"account-link|{nonce}".encode()).hexdigest()
        return SealedLink(user, key, issued_at + ACCOUNT_LINK_TTL_S)
