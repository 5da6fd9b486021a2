"""Who the user is: customers the shop names, the channel identities linked to them, their
profiles and consent (:mod:`.model`), and the port a store keeps them behind (:mod:`.port`)."""

from __future__ import annotations

from botkit.audience.model import (
    ANONYMOUS,
    AudienceEntry,
    Consent,
    ConsentChange,
    Customer,
    member_of,
)
from botkit.audience.port import Audience

__all__ = [
    "ANONYMOUS",
    "Audience",
    "AudienceEntry",
    "Consent",
    "ConsentChange",
    "Customer",
    "member_of",
]
