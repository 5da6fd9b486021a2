"""Campaigns: messages the bot sends first (a welcome coupon three days after someone adds the
channel, a reminder to whoever left a cart), who gets them, when, and how each send is kept.

The package is pure (layer 1): the campaign model the compiler builds from ``campaigns.yaml``,
the planner that decides, at an instant, who is sent what (a function of data, no I/O), and the
port a store keeps the sends behind. Sending lives at the edges: the providers in
``botkit.adapters.outbound`` and the sender loop in ``botkit.server.sender``.
"""

from botkit.campaigns.model import (
    ADVERTISING,
    INFORMATIONAL,
    Campaign,
    Caps,
    Exclusion,
    Outreach,
    Schedule,
    Trigger,
    Variant,
)
from botkit.campaigns.port import Send, Sends, SendStatus

__all__ = [
    "ADVERTISING",
    "INFORMATIONAL",
    "Campaign",
    "Caps",
    "Exclusion",
    "Outreach",
    "Schedule",
    "Send",
    "SendStatus",
    "Sends",
    "Trigger",
    "Variant",
]
