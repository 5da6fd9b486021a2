"""The reference bot's Python side: the actions and validators its flows name.

``botkit shell``, ``botkit test`` and ``botkit serve`` import this file and call ``setup(app)``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from botkit import ActionContext, BotApp

# Order numbers start with the year digit of the shop's numbering (1xxx… to 9xxx…); a number
# starting with 0 was never issued.
ISSUED_PREFIXES = "123456789"


def known_order_prefix(value: Any, slots: Mapping[str, Any]) -> bool:
    return str(value)[:1] in ISSUED_PREFIXES


def issue_coupon(ctx: ActionContext) -> dict[str, str]:
    """A coupon code per user: the same user asking twice gets the same code."""
    digest = hashlib.sha256(f"winter-2026:{ctx.user}".encode()).hexdigest()[:6].upper()
    return {"code": f"WINTER-{digest}"}


def setup(app: BotApp) -> None:
    app.validator("known_order_prefix")(known_order_prefix)
    app.action("issue_coupon")(issue_coupon)
