"""A signed webhook as a campaign provider: how SMS, e-mail and 알림톡 dealers are reached.

Each message is one ``POST {url}`` of one JSON object::

    {"key": "<send key>", "campaign": "cart_reminder", "variant": "A",
     "user": "<customer id or member>", "says": [{"text": "(광고) 장바구니에 ..."}],
     "advertising": true, "sent_at": "2026-03-02T01:00:00Z"}

with three headers:

* ``Idempotency-Key: <send key>``: the same for every try of one send. A dealer that has seen
  the key answers as before and sends nothing: botkit may resend after a crash, or after a
  timeout whose request did arrive.
* ``X-Botkit-Timestamp: <unix seconds>``
* ``X-Botkit-Signature: v1=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>``

The signature is Stripe's and Slack's scheme: the timestamp is signed with the exact body bytes,
so neither can be changed, and a receiver refuses a timestamp more than five minutes from its
own clock, so a captured request cannot be replayed later (within the window, the idempotency
key drops it). The ``v1`` names the scheme, so a later one can be added beside it; a receiver
accepts a header with several comma-separated signatures when any ``v1`` one matches (what a
sender rotating its secret sends). :func:`verify_signature` is the check, for dealers written in
Python and for botkit's own tests.

The answer: 2xx is sent (the provider id is the answer's JSON ``id``, when it has one); 408,
429, 5xx, a refused connection and a timeout are worth another try (after ``Retry-After``, when
given); any other answer is refused for good (parked).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from botkit.adapters.checks import id_problem
from botkit.adapters.outbound.port import FAILED, SENT, Outcome, Outgoing, status_outcome

__all__ = [
    "SCHEME",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "TOLERANCE_S",
    "WebhookProvider",
    "sign",
    "verify_signature",
]

log = logging.getLogger("botkit.outbound.webhook")
SIGNATURE_HEADER = "X-Botkit-Signature"
TIMESTAMP_HEADER = "X-Botkit-Timestamp"
SCHEME = "v1"
TOLERANCE_S = 300.0  # how far a signed request's timestamp may be from the receiver's clock
MAX_STAMP_DIGITS = 12  # unix seconds until the year 33658; a longer "timestamp" is not one


def _digest(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return mac.hexdigest()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Botkit-Signature`` value of ``body`` sent at ``timestamp`` (unix seconds)."""
    return f"{SCHEME}={_digest(secret, timestamp, body)}"


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    header: str,
    now: float,
    tolerance: float = TOLERANCE_S,
) -> bool:
    """Whether ``header`` (``X-Botkit-Signature``) signs ``body`` at ``timestamp``
    (``X-Botkit-Timestamp``) with ``secret``, and ``timestamp`` is within ``tolerance`` seconds
    of ``now``. Compared in constant time; any ``v1=`` entry of a comma-separated list may
    match."""
    if not secret or not timestamp.isascii() or not timestamp.isdigit():
        return False
    if len(timestamp) > MAX_STAMP_DIGITS or abs(now - int(timestamp)) > tolerance:
        return False
    expected = _digest(secret, timestamp, body).encode()
    matched = False
    for entry in header.split(","):
        scheme, _, given = entry.strip().partition("=")
        if scheme == SCHEME and given.isascii():
            # every entry is compared, so the time taken does not tell which one matched
            matched |= hmac.compare_digest(given.encode(), expected)
    return matched


class WebhookProvider:
    """Messages to a dealer's webhook, each signed with ``secret``.

    ``max_batch`` is how many messages the sender hands over at once; each is still its own
    request, ``concurrency`` of them at a time. ``clock`` gives the timestamp that is signed.
    """

    name = "webhook"

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        client: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        max_batch: int = 1,
        concurrency: int = 8,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.timeout = timeout  # for a whole request, answer included
        self.max_batch = max(1, max_batch)
        self._secret = secret
        self._clock = clock
        self._owned = client is None
        self._client = client if client is not None else httpx.AsyncClient(timeout=timeout)
        self._gate = asyncio.Semaphore(max(1, concurrency))

    def __repr__(self) -> str:  # never the secret
        return f"WebhookProvider({self.url!r})"

    async def aclose(self) -> None:
        if self._owned:
            await self._client.aclose()

    async def __aenter__(self) -> WebhookProvider:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def results(self, provider_ids: Collection[str]) -> dict[str, str]:
        """A dealer reports no delivery to botkit: nothing to read."""
        return {}

    async def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        return list(await asyncio.gather(*(self._post(message) for message in batch)))

    def body_of(self, message: Outgoing, at: float) -> bytes:
        sent_at = datetime.fromtimestamp(int(at), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body: dict[str, Any] = {
            "key": message.key,
            "campaign": message.campaign,
            "variant": message.variant,
            "user": message.user,
            "says": list(message.says),
            "advertising": message.advertising,
            "sent_at": sent_at,
        }
        return orjson.dumps(body)

    async def _post(self, message: Outgoing) -> Outcome:
        at = self._clock()
        timestamp = str(int(at))
        body = self.body_of(message, at)
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": message.key,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
        }
        async with self._gate:
            try:
                async with asyncio.timeout(self.timeout):
                    answer = await self._client.post(self.url, content=body, headers=headers)
            except (TimeoutError, httpx.TimeoutException):
                return Outcome(message.key, FAILED, reason="timeout")
            except httpx.ConnectError:
                return Outcome(message.key, FAILED, reason="connection refused")
            except httpx.HTTPError as exc:
                return Outcome(
                    message.key, FAILED, reason=f"transport error ({type(exc).__name__})"
                )
        if answer.is_success:
            return Outcome(message.key, SENT, provider_id=_id_of(answer))
        log.warning("webhook refused", extra={"status": answer.status_code})
        retry = answer.headers.get("retry-after")
        reason = f"webhook answered {answer.status_code}"
        return status_outcome(message.key, answer.status_code, retry, reason)


def _id_of(answer: httpx.Response) -> str | None:
    """The dealer's message id: the answer's JSON ``id``, when it is a good id."""
    try:
        body = orjson.loads(answer.content)
    except orjson.JSONDecodeError:
        return None
    found = body.get("id") if isinstance(body, dict) else None
    if isinstance(found, int) and not isinstance(found, bool):
        found = str(found)
    if isinstance(found, str) and id_problem(found) is None:
        return found
    return None
