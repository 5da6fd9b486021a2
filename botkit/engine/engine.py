"""The engine: a session and an event in, effects and records out. No I/O, no clock.

Theory of operation
-------------------
A :class:`Session` is a small snapshot; the compiled :class:`~botkit.flow.model.Bot` and its one
``transitions`` machine are shared by every session. ``Engine.handle(session, event)`` updates
the session it is given (the caller's working copy; the runtime commits it, or throws it away)
and returns a :class:`Turn`: what to say and do, and the records of what happened.

The engine is a facade over modules that import one way only::

    prepared      the per-bot tables, built once (Prepared)
    turn          the primitives of one call: record, say, draw, finish (Run, Turn)
    saving        what an action's answer and a set:/clear: leave in the slots
    experiments   which variant a user is in, and what of a state it changes
    handoff       to a person and back (decides and records; returns where to move)
    moving        start, take an edge, enter a state, follow next, ask a slot
    migrating     a conversation of another version of the bot comes over to this one
    asking        the answer to a slot, and to its confirmation
    hearing       what an inbound event means (matching order: see there)

A payload is a contract between what botkit drew and what comes back: the session keeps the
payloads of the choices, buttons, cards and list items on the user's current screen, and a press
is accepted only if it is one of them or a designed global entry (a global ``payload:``
transition). Anything else (a forged ``@flow.state``, a press replayed from another session or
from an earlier screen) is recorded as ``payload_rejected`` and the message is read as text.

The answer to a ``sensitive`` slot (a phone number, an e-mail) stays in the session, where the
bot needs it; records (``message_in``, and ``message_out`` where a message shows the value) and
everything read from them carry :data:`~botkit.records.MASK` instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botkit.effects import Say
from botkit.engine import handoff
from botkit.engine._machine import FlowMachine
from botkit.engine.experiments import force, variant_for
from botkit.engine.hearing import action_result, agent_release, user_message
from botkit.engine.matching import Classifier
from botkit.engine.migrating import adopt, stranded
from botkit.engine.moving import jump, place, start_conversation
from botkit.engine.prepared import Prepared, Validator, prepare
from botkit.engine.session import Session, Status, ended_by_silence
from botkit.engine.turn import Run, Turn
from botkit.errors import ConfigurationError, NotWithAgent, StepRefused
from botkit.events import ActionResult, Event, UserMessage
from botkit.flow.model import Bot, Message, State, Target
from botkit.records import RecordKind

KEPT_SENDS = 20  # the campaign sends a session remembers having said (Session.campaigns)

__all__ = [
    "ConfigurationError",
    "Engine",
    "NotWithAgent",
    "StepRefused",
    "Turn",
    "Validator",
    "variant_for",
]


class Engine:
    """Runs conversations of one compiled bot. Create once; share across sessions."""

    def __init__(
        self,
        bot: Bot,
        *,
        validators: Mapping[str, Validator] | None = None,
        classifier: Classifier | None = None,
    ) -> None:
        self.prepared: Prepared = prepare(bot, validators, classifier)
        self.bot = bot
        self.machine: FlowMachine = self.prepared.machine
        self.validators = self.prepared.validators
        self.classifier = classifier

    # -- sessions ------------------------------------------------------------------------

    def new_session(self, key: str, user: str, channel: str, *, locale: str = "") -> Session:
        return Session(
            key=key, user=user, channel=channel, locale=locale or self.bot.default_locale
        )

    def handle(self, session: Session, event: Event) -> Turn:
        if isinstance(event, UserMessage):
            run = Run(self.prepared, session, event.at)
            user_message(run, event)  # brings a session of another version over itself
        elif isinstance(event, ActionResult):
            run = Run(self.prepared, session, event.at)
            action_result(run, event)
        else:
            run = self._run(session, event.at)
            agent_release(run, event)
        return run.finish()

    def _run(self, session: Session, at: float) -> Run:
        """A Run for an operator's step: a session of another version is brought over
        first, quietly (no one is there to read a message; migrating.py)."""
        run = Run(self.prepared, session, at)
        if stranded(session, self.bot.version):
            adopt(run)
        return run

    def target(self, name: str) -> Target:
        """``flow.state`` (or a state of the start flow by its bare name) as a target."""
        found = self.prepared.target_named(name if "." in name else f"{self.bot.start}.{name}")
        if found is None:
            raise StepRefused(f"there is no state '{name}' (write it as flow.state)")
        return found

    # -- operator steps ------------------------------------------------------------------

    def goto(self, session: Session, target: Target, at: float) -> Turn:
        """Put the session at ``target`` (the simulator's /goto, an operator's decision)."""
        run = self._run(session, at)
        if session.conversation == 0 or session.status == Status.CLOSED:
            start_conversation(run)
        elif session.status in (Status.HANDOFF_REQUESTED, Status.WITH_AGENT):
            handoff.back_to_bot(run)
        session.last_at = at  # a jump is activity: the next message is not after a silence
        jump(run, target, "goto")
        return run.finish()

    def open_campaign(
        self, session: Session, campaign: str, variant: str, send: str, at: float
    ) -> Turn:
        """Say a campaign's message (``variant``'s) and put the user at the state it opens, so
        that their reply is read there, as if the state had asked (its own messages are not
        said: the campaign's take their place). A conversation starts for it when none is
        going on; a conversation with a person is left alone (StepRefused: the sender tries
        again later). A campaign or variant this version does not have is refused too."""
        found = self.bot.outreach.campaigns.get(campaign)
        chosen = next((v for v in found.variants if v.name == variant), None) if found else None
        if found is None or chosen is None:
            raise StepRefused(f"there is no campaign '{campaign}' with variant '{variant}'")
        if send in (session.campaigns or ()):
            return Turn()  # said already (a send taken again after a crash): nothing twice
        if session.status in (Status.HANDOFF_REQUESTED, Status.WITH_AGENT):
            raise StepRefused("the conversation is with a person")
        session.campaigns = [*(session.campaigns or ())[-(KEPT_SENDS - 1) :], send]
        run = self._run(session, at)
        if ended_by_silence(session, at, self.bot.inactivity_timeout):
            # ended at its last activity, as hearing.py dates it for a user's message
            run.record(RecordKind.CONVERSATION_END, {"outcome": "abandoned"})
            ended = max(session.last_at, session.started_at)
            run.records[-1] = run.records[-1]._replace(at=ended)
            session.status = Status.CLOSED
        if session.conversation == 0 or session.status == Status.CLOSED:
            start_conversation(run)
        target = found.opens or self.bot.start_target
        source = session.state
        self.machine.jump(session, target)
        run.record(
            RecordKind.TRANSITION,
            {"from": source or None, "to": session.state, "trigger": f"campaign:{campaign}"},
        )
        run.record(
            RecordKind.CAMPAIGN_MESSAGE, {"campaign": campaign, "variant": variant, "send": send}
        )
        run.begin_screen()
        session.misses = session.attempts = 0
        session.awaiting = session.pending = None
        run.say(chosen.messages)
        session.last_at = at  # the bot spoke: the reply continues this conversation
        return run.finish()

    def reset(self, session: Session, at: float) -> Turn:
        """End the conversation (outcome ``reset``); the next message starts a new one."""
        run = self._run(session, at)
        if session.conversation and session.status != Status.CLOSED:
            run.record(RecordKind.CONVERSATION_END, {"outcome": "reset"})
            session.status = Status.CLOSED
        return run.finish()

    def expire(self, session: Session, at: float) -> Turn:
        """Move on a handoff that no agent took within its wait_timeout (a sweeper calls this;
        a user's message checks it too). Nothing happens to any other session.

        Nobody is there to read it: the user is told nobody came (``messages.no_agent``; the
        caller delivers it, pushed or kept for their next message) and put at the handoff's
        ``on_timeout`` state without entering it. Their next message enters it, as a first
        message would: what it asks is asked then, and their words are never its answer."""
        run = self._run(session, at)
        if session.status == Status.HANDOFF_REQUESTED and handoff.waited_too_long(run):
            place(run, handoff.give_up_waiting(run), "no agent in time")
            session.last_at = at  # the bot spoke: the conversation's last activity
        return run.finish()

    def claim(self, session: Session, agent: str, at: float) -> Turn:
        """An agent takes a handed-off conversation. Only one can: a conversation already held
        by another agent is refused (StepRefused); claiming one's own again changes nothing."""
        if session.status == Status.WITH_AGENT:
            holder = session.agent or "another agent"
            if holder == agent:
                return Turn()
            raise StepRefused(f"the conversation is already with {holder}")
        if session.status != Status.HANDOFF_REQUESTED:
            raise NotWithAgent("the conversation is not handed off to an agent")
        run = self._run(session, at)
        handoff.claim(run, agent)
        return run.finish()

    def agent_message(self, session: Session, text: str, agent: str, at: float) -> Turn:
        """A person writes to the user during a handoff; the first message claims it."""
        run = self._run(session, at)
        handoff.say_as_agent(run, text, agent)
        return run.finish()

    def note(self, session: Session, text: str, agent: str, at: float) -> Turn:
        """An agent's note on the conversation: recorded, never shown to the user."""
        run = self._run(session, at)
        run.record(RecordKind.AGENT_NOTE, {"agent": agent, "text": text})
        return run.finish()

    def click(self, session: Session, url: str, conversation: int, at: float) -> Turn:
        """The user opened a link the bot showed in ``conversation`` (botkit's redirect):
        recorded as ``link_clicked`` while that conversation is the session's current one,
        ended or not; nothing is said, nobody moves, and the inactivity timeout does not
        restart (a look at a web page is not a word to the bot). A click on an earlier
        conversation's link is refused (StepRefused), so nothing is written."""
        if conversation <= 0 or session.conversation != conversation:
            raise StepRefused(f"conversation {conversation} is not the user's current one")
        run = self._run(session, at)
        run.record(RecordKind.LINK_CLICKED, {"url": url, "state": session.state})
        return run.finish()

    def force_variant(self, session: Session, variant: str) -> list[str]:
        """Put the session in ``variant`` of every experiment that has it (the simulator's
        /variant, a QA fixture); returns those experiments. Sticky like a drawn variant."""
        return force(self.bot, session, variant)

    # -- reading the bot -----------------------------------------------------------------

    def error_effects(self, locale: str | None = None) -> list[Say]:
        """The bot's error message (``messages.error``, or botkit's own), for a failed turn,
        in ``locale`` (the bot's default when the session is not known)."""
        return self.prepared.error_effects(locale or self.bot.default_locale)

    def shown(self, slots: Mapping[str, Any]) -> Mapping[str, Any]:
        """Slot values as users read them: an enum's label ("상품 불량"), not its key."""
        return self.prepared.shown(slots)

    def masked(self, slots: Mapping[str, Any]) -> Mapping[str, Any]:
        """Slot values as they may be shown outside the conversation (records, the agent
        console): the value of a ``sensitive`` slot is replaced by the mask."""
        return self.prepared.masked(slots)

    def masked_profile(self, profile: Mapping[str, Any]) -> Mapping[str, Any]:
        """The profile as it may be shown outside the conversation (the agent console): the
        value of an attribute bot.yaml's ``profile:`` marks ``sensitive`` is masked."""
        return self.prepared.masked_profile(profile)

    def shows_secret(self, message: Message) -> bool:
        """Whether a template of ``message`` names a sensitive slot."""
        return self.prepared.shows_secret(message)

    def state_of(self, session: Session) -> State:
        return self.prepared.state_of(session)
