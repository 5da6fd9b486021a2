"""What each inbound event does to a session: the engine call it stands for.

:func:`step_for` turns an event of :data:`~botkit.events.Inbound` into a *step*, the function
the runtime runs on the loaded session under the session's lock. A step reads the clock when it
runs, not when the event arrived: a turn that waited for another turn of the same user is not
dated before it. Whatever an event can refuse before anything runs (a state that does not
exist) is refused here, when the step is made, so a refused step creates no session.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, assert_never

from botkit.effects import Say, say_from_data, say_to_data
from botkit.engine import Engine, Session, Turn
from botkit.events import (
    AgentMessage,
    AgentRelease,
    ChannelMessage,
    Claim,
    Expire,
    Goto,
    Inbound,
    Keep,
    LinkClick,
    Note,
    OpenCampaign,
    Release,
    Reset,
    Update,
    UserMessage,
)

__all__ = ["MAX_KEPT", "Step", "kept_bubbles", "merge_profile", "step_for"]

Step = Callable[[Engine, Session], Turn]
"""A turn's work on the loaded session, by the engine of the version the session runs on (the
runtime chooses it: runtime/versions.py); it may change the session and returns the Turn."""

MAX_KEPT = 10  # bubbles kept for a user's next message (Kakao shows 3 per answer anyway)
# The profile is stored with the session and read on every turn. Kakao sends about five
# properties; a shop sets a few more (grade, name). Past these caps a field is left out.
MAX_PROFILE_FIELDS = 50
MAX_PROFILE_NAME_CHARS = 64
MAX_PROFILE_TEXT_CHARS = 256


def merge_profile(profile: Mapping[str, Any] | None, fields: Mapping[str, Any]) -> dict[str, Any]:
    """``profile`` with ``fields`` set, the latest value of each winning, and bounded whatever
    is sent: a field whose name or text is too long is left out (cut, a key or an id would be a
    wrong one), and past :data:`MAX_PROFILE_FIELDS` the fields set first, and not sent again
    now, go first. A field set to ``None`` is removed, as a ``PATCH`` of the customer's profile
    removes it (server/profiles.py): a flow reads a missing field as ``null`` anyway, and the
    profile does not keep, nor the agent console show, a field nobody has."""
    gone = {name for name, value in fields.items() if value is None}
    fresh = {
        name: value
        for name, value in fields.items()
        if value is not None
        and len(name) <= MAX_PROFILE_NAME_CHARS
        and not (isinstance(value, str) and len(value) > MAX_PROFILE_TEXT_CHARS)
    }
    if len(fresh) > MAX_PROFILE_FIELDS:
        fresh = dict(list(fresh.items())[:MAX_PROFILE_FIELDS])
    kept = {name: value for name, value in (profile or {}).items() if name not in gone}
    merged = {**kept, **fresh}
    excess = len(merged) - MAX_PROFILE_FIELDS
    if excess > 0:
        for name in [name for name in merged if name not in fresh][:excess]:
            del merged[name]
    return merged


def kept_bubbles(event: Keep) -> list[dict[str, Any]]:
    """What a :class:`Keep` keeps: the bubbles its effects say (nothing else is kept)."""
    return [say_to_data(e) for e in event.effects if isinstance(e, Say)]


def step_for(live: Engine, event: Inbound, now: Callable[[], float]) -> Step:
    """The step ``event`` stands for. Raises :class:`~botkit.errors.StepRefused` for a
    :class:`Goto` or :class:`Release` to a state that the ``live`` version does not have."""
    match event:
        case ChannelMessage():
            return _said(event, now)
        case Keep():
            return _keep(kept_bubbles(event))
        case OpenCampaign(campaign=campaign, variant=variant, send=send):
            return lambda e, s: e.open_campaign(s, campaign, variant, send, now())
        case LinkClick(url=url, conversation=conversation):
            return lambda e, s: e.click(s, url, conversation, now())
        case Claim(agent=agent):
            return lambda e, s: e.claim(s, agent, now())
        case AgentMessage(text=text, agent=agent):
            return lambda e, s: e.agent_message(s, text, agent, now())
        case Note(text=text, agent=agent):
            return lambda e, s: e.note(s, text, agent, now())
        case Release(target=target, close=close):
            if target is not None:
                live.target(target)  # an unknown state is refused before anything runs
            return lambda e, s: e.handle(s, AgentRelease(now(), target, close))
        case Expire(keep=keep):
            return _expire(keep, now)
        case Reset():
            return lambda e, s: e.reset(s, now())
        case Goto(state=state):
            live.target(state)
            # named again by the session's own version, which refuses a state it lacks
            return lambda e, s: e.goto(s, e.target(state), now())
        case Update():
            return _update(event)
    assert_never(event)


def _said(message: ChannelMessage, now: Callable[[], float]) -> Step:
    def step(engine: Engine, session: Session) -> Turn:
        kept = None
        if message.with_kept:
            kept, session.outbox = session.outbox, None
        if message.profile:
            session.profile = merge_profile(session.profile, message.profile)
        said = UserMessage(message.text, now(), message.payload, message.locale)
        turn = engine.handle(session, said)  # the engine reads the locale and the profile's
        if kept:
            turn.effects[:0] = [say_from_data(data) for data in kept]
        return turn

    return step


def _expire(keep: bool, now: Callable[[], float]) -> Step:
    def step(engine: Engine, session: Session) -> Turn:
        turn = engine.expire(session, now())
        if keep:  # said with the answer to the user's next message (events.Expire)
            said = [say_to_data(e) for e in turn.effects if isinstance(e, Say)]
            if said:
                session.outbox = [*(session.outbox or ()), *said][-MAX_KEPT:]
        return turn

    return step


def _keep(said: list[dict[str, Any]]) -> Step:
    def step(engine: Engine, session: Session) -> Turn:
        session.outbox = [*(session.outbox or ()), *said][-MAX_KEPT:]
        return Turn()

    return step


def _update(update: Update) -> Step:
    def step(engine: Engine, session: Session) -> Turn:
        if update.variant is not None:
            engine.force_variant(session, update.variant)
        if update.profile:
            session.profile = merge_profile(session.profile, update.profile)
        return Turn()

    return step
