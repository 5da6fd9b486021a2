"""The audience's values: a customer, their consent, and the log of what changed them.

A **member** of the audience is whom segments count and campaigns reach: a customer the shop
named (its own id, e.g. ``C-1042``), or a channel user no customer is linked to yet, named
``user:<user>`` (the user as records name them: the widget's visitor id, ``<bot>:<botUserKey>``
on Kakao). So a friend who added the channel yesterday and never logged in is a member too
(the welcome coupon is for them), and once they link, their behaviour is the customer's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ANONYMOUS", "AudienceEntry", "Consent", "ConsentChange", "Customer", "member_of"]

ANONYMOUS = "user:"  # the prefix of a member that is a channel user linked to no customer


def member_of(user: str, customer: str | None) -> str:
    """The member a channel ``user`` counts as: their ``customer`` when linked."""
    return customer if customer is not None else ANONYMOUS + user


@dataclass(frozen=True, slots=True)
class Consent:
    """What a member agreed to, each with when and how it was last said (None: never asked,
    which for advertising is the same as no)."""

    marketing: bool | None = None  # advertising messages at all
    marketing_at: float | None = None
    marketing_source: str | None = None  # "api", "opt_out_words", "import", "kakao_channel", ...
    night: bool | None = None  # advertising between 21:00 and 08:00 (separate consent by law)
    night_at: float | None = None
    night_source: str | None = None


@dataclass(frozen=True, slots=True)
class ConsentChange:
    """A change of consent: the fields given (not None) are set, with ``at`` and ``source``
    (unless the store keeps something newer: see :meth:`Audience.change_consent`)."""

    at: float
    source: str
    marketing: bool | None = None
    night: bool | None = None
    # False: nobody said when; ``at`` is only when the change arrived (an import row without
    # a time), which never outweighs a withdrawal the member typed themselves.
    dated: bool = True


@dataclass(frozen=True, slots=True)
class Customer:
    """A customer as the store keeps them: the profile the shop sent (attribute → value, typed
    by the bot's profile schema), their consent, and the channel users linked to them."""

    id: str
    profile: Mapping[str, Any] = field(default_factory=dict)
    consent: Consent = Consent()
    users: tuple[str, ...] = ()  # linked channel users, sorted
    updated_at: float | None = None


@dataclass(frozen=True, slots=True)
class AudienceEntry:
    """One line of the audience log: ``linked`` / ``unlinked`` (``user`` ↔ ``member``),
    ``consent`` (``data``: the fields changed). Never holds a profile value or a link code."""

    at: float
    kind: str
    member: str
    user: str | None = None
    source: str | None = None
    data: Mapping[str, Any] | None = None
