"""The audience's ids at the edge: which customer ids the shop may use, and how a channel user
is shown to the shop.

**A customer id** is the shop's own (``C-1042``). Beyond what every id must be (1-256
characters, no control characters: :func:`botkit.adapters.checks.check_id`), it may not start
with ``user:``, which names the members no customer is linked to (:data:`.model.ANONYMOUS`), nor
hold a ``/``, which ``/customers/{id}`` could not address: a customer the API cannot reach could
be imported or named by a business event, but never read, changed or linked. The customers API,
``botkit customers import`` and ``POST /events`` all ask :func:`customer_id_problem`, so what
one of them takes the others can address.

**A web visitor's id is a credential**: whoever has it reads the visitor's conversation
(``GET /web/history``) and speaks as them. So the API never hands one out (:func:`shown_user`):
a web visitor is shown as ``web:`` and the first four characters of the id, enough to tell two
visitors of one customer apart. KakaoTalk users (``<bot id>:<botUserKey>``, ``kakao_app:…``)
are shown as they are: they open nothing on their own.
"""

from __future__ import annotations

from botkit.audience.model import ANONYMOUS

__all__ = ["SHOWN_WEB", "customer_id_problem", "is_web_user", "shown_user"]

SHOWN_WEB = "web:"  # how a web visitor shown to the shop begins
_SHOWN_CHARS = 4  # of the visitor's id (a widget's is 16-64 random characters)
_ELLIPSIS = "…"


def customer_id_problem(customer: str) -> str | None:
    """What is wrong with ``customer`` as the shop's customer id, said to follow "the customer
    id" (``may not contain '/' …``); None when it is a good one."""
    if customer.startswith(ANONYMOUS):
        return f"may not start with '{ANONYMOUS}' (channel users do)"
    if "/" in customer:
        return "may not contain '/' (/customers/{id} could not address it)"
    return None


def is_web_user(user: str) -> bool:
    """Whether ``user`` is a web visitor: the widget's ids have no ``:``, every KakaoTalk
    user's has one (``<bot id>:<botUserKey>``, ``kakao_app:<appUserId>``)."""
    return ":" not in user


def shown_user(user: str) -> str:
    """``user`` as the shop may see it: a web visitor masked (``web:ab12…``), others as is."""
    if not is_web_user(user):
        return user
    return f"{SHOWN_WEB}{user[:_SHOWN_CHARS]}{_ELLIPSIS}"
