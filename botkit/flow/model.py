"""The compiled bot: immutable, content-hashed, shared by every session.

Everything the engine needs is resolved here once: targets are ``(flow, state)`` pairs, texts
are parsed templates, patterns are compiled, keywords and examples are normalized for matching,
durations are seconds. Nothing in this module refers back to YAML; nothing in it changes after
compilation, so one instance serves every conversation, and its hash (``version``) is what a
running conversation keeps to stay on the flow it started with.

What a flow file declares for a message (a button, a card, an image, a list item) or a handoff
is a ``...Spec``: texts still per locale and templated, targets unresolved to payloads. The
engine renders it into the effect of the same short name (:class:`botkit.effects.Button`,
:class:`botkit.effects.HandOff`, ...), which holds what one user is shown.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from botkit.flow.conditions import Condition
from botkit.flow.defaults import KOREAN, Wording
from botkit.flow.patterns import SafePattern
from botkit.flow.templates import Template
from botkit.segments.model import Segment

if TYPE_CHECKING:  # botkit.campaigns.model reads this module's Message and Target
    from botkit.campaigns.model import Outreach

__all__ = [
    "DEFAULT_EVENT_MEANINGS",
    "DEFAULT_OPT_OUT",
    "NO_WORDS",
    "PROFILE_TYPES",
    "Action",
    "Bot",
    "Branch",
    "ButtonSpec",
    "CardSpec",
    "EventMeaning",
    "Experiment",
    "Fallback",
    "Flow",
    "Goal",
    "HandoffSpec",
    "Hours",
    "HttpCall",
    "ImageSpec",
    "Intent",
    "ListItemSpec",
    "ListView",
    "Message",
    "ProfileAttribute",
    "Promotion",
    "QuickReply",
    "Slot",
    "SlotUpdate",
    "State",
    "StateKind",
    "Target",
    "Text",
    "Transition",
    "Variant",
]

DEFAULT_TIMEZONE = "Asia/Seoul"  # the bots botkit is made for answer Korean customers

Target = tuple[str, str]
"""A state anywhere in the bot: ``(flow id, state id)``."""

NO_WORDS: Mapping[str, tuple[str, ...]] = MappingProxyType({})
"""No words in any other locale (the default of the ``..._by_locale`` fields)."""


def _no_words() -> Mapping[str, tuple[str, ...]]:
    return NO_WORDS


class StateKind(enum.StrEnum):
    MESSAGE = "message"  # says something; waits for the user (on) or moves on (next)
    COLLECT = "collect"  # fills slots, then moves on
    CALL = "call"  # runs an action, routes on its result
    HANDOFF = "handoff"  # hands the conversation to a person
    END = "end"  # ends the conversation with an outcome


@dataclass(frozen=True, slots=True)
class Text:
    """One text in every language it is written in (locale → template)."""

    by_locale: Mapping[str, Template]
    default_locale: str

    def template(self, locale: str) -> Template:
        return self.by_locale.get(locale) or self.by_locale[self.default_locale]


@dataclass(frozen=True, slots=True)
class QuickReply:
    label: Text
    payload: str
    target: Target | None  # set when the quick reply goes straight to a state


@dataclass(frozen=True, slots=True)
class ButtonSpec:
    label: Text
    kind: str  # url | phone | payload | to | agent
    value: str
    target: Target | None = None


@dataclass(frozen=True, slots=True)
class ImageSpec:
    url: str
    alt: Text | None


@dataclass(frozen=True, slots=True)
class CardSpec:
    title: Text
    description: Text | None
    image: ImageSpec | None
    buttons: tuple[ButtonSpec, ...]


@dataclass(frozen=True, slots=True)
class ListItemSpec:
    title: Text
    description: Text | None
    image: ImageSpec | None
    url: str | None
    payload: str | None
    target: Target | None


@dataclass(frozen=True, slots=True)
class ListView:
    header: Text
    items: tuple[ListItemSpec, ...]
    buttons: tuple[ButtonSpec, ...]


@dataclass(frozen=True, slots=True)
class Message:
    """One bubble. Exactly one of text, card, cards, image or list is set."""

    text: Text | None = None
    card: CardSpec | None = None
    cards: tuple[CardSpec, ...] = ()
    image: ImageSpec | None = None
    list: ListView | None = None
    quick_replies: tuple[QuickReply, ...] = ()
    buttons: tuple[ButtonSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class SlotUpdate:
    """``set:`` and ``clear:`` of a transition or a next step, done when it is taken: the slots
    given a value, and the slots emptied (so that ``collect`` asks again and conditions read
    them as ``null``)."""

    values: Mapping[str, str | int | float | bool]
    cleared: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Transition:
    """``on:`` entry. ``trigger`` says which of the matching fields is set."""

    trigger: str  # payload | keywords | regex | intent | examples | result | any
    target: Target
    payload: str | None = None
    keywords: tuple[str, ...] = ()  # normalized for matching
    pattern: SafePattern | None = None
    intent: str | None = None
    examples: tuple[str, ...] = ()  # normalized for matching
    result: str | None = None
    condition: Condition | None = None
    condition_source: str | None = None
    say: tuple[Message, ...] = ()
    label: str = ""  # how the transition is named in records and diagrams
    update: SlotUpdate | None = None
    # Words of the other locales (``keywords: {en: [...]}``): matched, besides ``keywords`` /
    # ``examples`` (the default locale's), when the session speaks that locale.
    keywords_by_locale: Mapping[str, tuple[str, ...]] = field(default_factory=_no_words)
    examples_by_locale: Mapping[str, tuple[str, ...]] = field(default_factory=_no_words)
    locale: str | None = None  # ``locale:``: taking it switches the conversation's language


@dataclass(frozen=True, slots=True)
class Branch:
    """``next:`` entry: taken right after the state, the first whose condition holds."""

    target: Target
    condition: Condition | None = None
    condition_source: str | None = None
    say: tuple[Message, ...] = ()
    update: SlotUpdate | None = None


@dataclass(frozen=True, slots=True)
class Fallback:
    messages: tuple[Message, ...]
    max_misses: int
    escalate_to: Target | None


@dataclass(frozen=True, slots=True)
class Slot:
    name: str
    title: str
    type: str
    prompt: tuple[Message, ...]
    reprompts: tuple[Message, ...]
    max_attempts: int
    on_exhausted: Target | None
    confirm: Text | None
    validator: str | None
    values: Mapping[str, tuple[str, ...]]  # enum value → normalized synonyms (value included)
    pattern: SafePattern | None
    min: float | None
    max: float | None
    min_length: int | None
    max_length: int | None
    sensitive: bool


@dataclass(frozen=True, slots=True)
class Intent:
    name: str
    title: str
    examples: tuple[str, ...]  # normalized, the default locale's
    keywords: tuple[str, ...]  # normalized, the default locale's
    examples_by_locale: Mapping[str, tuple[str, ...]] = field(default_factory=_no_words)  # others'
    keywords_by_locale: Mapping[str, tuple[str, ...]] = field(default_factory=_no_words)


@dataclass(frozen=True, slots=True)
class HttpCall:
    method: str
    url: Template
    headers: Mapping[str, Template]
    query: Mapping[str, Template]
    body: Mapping[str, object] | None  # JSON with Template leaves


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    title: str
    function: str | None
    http: HttpCall | None
    deadline: float  # seconds, for the whole call
    save: Mapping[str, tuple[str, ...]]  # slot → path into the result
    results: frozenset[str]
    on_status: Mapping[int, str]
    require: tuple[str, ...] = ()  # saved slots an ``ok`` answer must have: else ``error``


@dataclass(frozen=True, slots=True)
class HandoffSpec:
    reason: str
    message: tuple[Message, ...]
    queue: str | None
    wait_timeout: float | None
    on_timeout: Target | None
    hours: str | None
    outside_hours: Target | None
    resume: Target
    # Said to each message that arrives while the user waits for an agent (kept for the agent).
    while_waiting: tuple[Message, ...] = ()
    # Ways out of the queue before an agent comes (payload, keywords, regex or intent).
    leave: tuple[Transition, ...] = ()


@dataclass(frozen=True, slots=True)
class Variant:
    say: tuple[Message, ...] | None
    on: tuple[Transition, ...] | None
    next: tuple[Branch, ...] | None


@dataclass(frozen=True, slots=True)
class State:
    flow: str
    id: str
    kind: StateKind
    title: str = ""
    description: str = ""
    say: tuple[Message, ...] = ()
    collect: tuple[str, ...] = ()
    call: str | None = None
    handoff: HandoffSpec | None = None
    end: str | None = None
    goals: tuple[str, ...] = ()
    promotion: str | None = None
    experiment: str | None = None
    variants: Mapping[str, Variant] | None = None
    on: tuple[Transition, ...] = ()
    next: tuple[Branch, ...] = ()
    fallback: Fallback | None = None

    @property
    def target(self) -> Target:
        return (self.flow, self.id)


@dataclass(frozen=True, slots=True)
class Experiment:
    name: str
    title: str
    variants: tuple[tuple[str, float], ...]  # (name, weight), weights add up to 100
    goal: str | None
    min_effect: float | None


@dataclass(frozen=True, slots=True)
class Goal:
    name: str
    title: str
    value: float | None


@dataclass(frozen=True, slots=True)
class Promotion:
    name: str
    title: str
    cost: float | None
    starts: str | None  # "YYYY-MM-DD" in the bot's time zone: shown and counted from then on
    ends: str | None  # inclusive: through the whole of that day
    # What taking the offer is: payloads ("get_coupon") and states ("promotion.book_visit") whose
    # press on the promotion's state counts as a click. Empty: clicks (and the conversions that
    # follow one) are not measured, because any other press there (a menu choice, "다음에요")
    # is not the offer.
    offer: tuple[str, ...] = ()

    def window(self, timezone: str) -> tuple[float, float]:
        """When it runs, as [start, end) timestamps: from the first moment of its ``starts``
        day to the end of its ``ends`` day (the whole day), read in ``timezone`` (the bot's);
        a missing date leaves that side open (-inf, inf). The engine records it as shown, and
        reports count it and charge its cost, within this window only."""
        zone = ZoneInfo(timezone)

        def midnight(day: dt.date) -> float:
            return dt.datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()

        start = midnight(dt.date.fromisoformat(self.starts)) if self.starts else -math.inf
        last = dt.date.fromisoformat(self.ends) if self.ends else None
        end = midnight(last + dt.timedelta(days=1)) if last is not None else math.inf
        return start, end


@dataclass(frozen=True, slots=True)
class EventMeaning:
    """What a kind of business event means for the reports (bot.yaml ``business_events:``)."""

    kind: str
    revenue: str  # "add": its amount is revenue; "subtract": refunded money; "none"
    conversion: bool  # whether it counts as a conversion (a purchase does, a refund does not)


DEFAULT_OPT_OUT = frozenset({"수신거부", "광고그만", "unsubscribe"})
"""The opt-out words when bot.yaml names none: "수신거부" and "광고 그만" (the words Korean
advertising messages print), squashed; "unsubscribe" for English speakers."""

DEFAULT_EVENT_MEANINGS: Mapping[str, EventMeaning] = MappingProxyType(
    {
        "purchase": EventMeaning("purchase", "add", True),
        "refund": EventMeaning("refund", "subtract", False),
    }
)
"""What ``purchase`` and ``refund`` mean when bot.yaml does not say; any other kind is counted
but adds no money and is no conversion until ``business_events:`` says otherwise."""


PROFILE_TYPES = ("text", "number", "date", "enum", "list", "boolean")
"""The types of a profile attribute: text, a number, a day (``"2026-11-03"``), one of
``values``, a list of texts or numbers, and yes/no (a CRM's flags: ``is_member``)."""


@dataclass(frozen=True, slots=True)
class ProfileAttribute:
    """One attribute of the customer profile bot.yaml declares under ``profile:``: what the
    shop's CRM sends (``PUT /customers``, ``botkit customers import``) is checked against it,
    and flows may read only declared attributes once there is a schema."""

    name: str
    type: str  # one of PROFILE_TYPES
    values: tuple[str, ...] = ()  # an enum's allowed values
    title: str = ""
    sensitive: bool = False  # never shown in records, reports or the agent console


@dataclass(frozen=True, slots=True)
class Hours:
    name: str
    timezone: str
    days: Mapping[int, tuple[tuple[int, int], ...]]  # weekday (0=Mon) → (from, to) minutes
    holidays: frozenset[str]


@dataclass(frozen=True, slots=True)
class Flow:
    id: str
    version: str
    title: str
    description: str
    start: str
    source: str
    states: Mapping[str, State]
    global_on: tuple[Transition, ...]  # this flow's own global transitions
    fallback: Fallback | None


@dataclass(frozen=True, slots=True)
class Bot:
    """A whole bot: its flows and everything they share."""

    id: str
    version: str
    title: str
    start: str  # flow id
    locales: tuple[str, ...]
    default_locale: str
    inactivity_timeout: float
    fallback: Fallback
    messages: Mapping[str, tuple[Message, ...]]
    global_on: tuple[Transition, ...]
    slots: Mapping[str, Slot]
    intents: Mapping[str, Intent]
    actions: Mapping[str, Action]
    goals: Mapping[str, Goal]
    experiments: Mapping[str, Experiment]
    promotions: Mapping[str, Promotion]
    hours: Mapping[str, Hours]
    flows: Mapping[str, Flow]
    # The words botkit supplies where the flows say nothing (botkit.flow.defaults); not part
    # of the version hash, which is the flows' content.
    wording: Wording = KOREAN
    # Where a conversation goes when a new version no longer has its state: an earlier
    # version's "flow.state" → a state of this one (bot.yaml's ``migrate:``).
    migrate: Mapping[str, Target] = field(default_factory=lambda: MappingProxyType({}))
    # How long an earlier version keeps serving conversations that started on it, in seconds.
    keep_versions: float = 7 * 86400.0
    # What each kind of business event means (bot.yaml ``business_events:``, over the defaults).
    business_events: Mapping[str, EventMeaning] = field(
        default_factory=lambda: DEFAULT_EVENT_MEANINGS
    )
    # bot.yaml's ``segments:``, each with the segments it uses resolved into it.
    segments: Mapping[str, Segment] = field(default_factory=lambda: MappingProxyType({}))
    # The customer profile's schema (bot.yaml ``profile:``); empty: none declared, and any
    # attribute is accepted.
    profile: Mapping[str, ProfileAttribute] = field(default_factory=lambda: MappingProxyType({}))
    # The words that withdraw a user's consent to advertising from any state (bot.yaml
    # ``opt_out:``), squashed (botkit.text.squash) as the user's words are compared.
    opt_out: frozenset[str] = DEFAULT_OPT_OUT
    # The campaigns written beside the flows (campaigns.yaml) and what they share.
    outreach: Outreach = field(default_factory=lambda: _no_outreach())

    def meaning(self, kind: str) -> EventMeaning:
        """What a business event of ``kind`` means: declared, a default, or nothing."""
        found = self.business_events.get(kind)
        return found if found is not None else EventMeaning(kind, "none", False)

    def state(self, target: Target) -> State:
        return self.flows[target[0]].states[target[1]]

    @property
    def start_target(self) -> Target:
        return (self.start, self.flows[self.start].start)

    @property
    def timezone(self) -> str:
        """The bot's time zone: that of its business hours, else Korea's. Clock fixtures,
        report days and the dashboard's "today" are read in it."""
        return next((h.timezone for h in self.hours.values()), DEFAULT_TIMEZONE)


def _no_outreach() -> Outreach:
    """A bot without campaigns (imported here: botkit.campaigns.model imports this module)."""
    from botkit.campaigns.model import Outreach

    return Outreach()
