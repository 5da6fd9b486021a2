"""Hearing: what an inbound event means, and which rule it sets off.

A user message is matched in this order, first match wins:

1. a pressed choice (payload), or text equal to the label of a choice on screen;
2. the slot being asked for (its answer, or a yes/no to its confirmation);
3. the state's own transitions (payload, keywords, regex, intent keywords, any);
4. global transitions (the flow's, then the bot's);
5. example phrases (``examples`` and intents) in the state, then globally, by similarity;
6. the fallback, which escalates after ``max_misses`` misses in a row.

A slot answer that is not valid falls through 3–5 (so "처음으로" still works while a number is
being asked for); only if nothing else matches does it count as an invalid attempt.

A payload is accepted only if the bot drew it on the user's current screen or it is a designed
global entry (see :func:`offered`); anything else is recorded as ``payload_rejected`` and the
message is read as text.

While the user waits for an agent, only the ways out of the queue are tried (the handoff's
``leave:``, a choice leading elsewhere, then the global transitions that do not lead back to
the handoff); anything else is kept for the agent and answered with ``while_waiting``. With an
agent, every message is the agent's.

A message that comes after a silence longer than ``inactivity_timeout`` (none ends a conversation
an agent holds) closes the conversation at its last activity and starts the next one. A first
message, and the first message at a state botkit put the user in while they were away (another
version's place, a handoff nobody took in time: ``Awaiting("arrive")``), enters that state and is
acted on only if it clearly asks for something (an exact trigger), never as an answer to the
question the state asks.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from botkit.engine import asking, handoff
from botkit.engine._machine import name_of
from botkit.engine.experiments import on_screen, pools, transitions_of
from botkit.engine.locales import changed, hear, switch
from botkit.engine.matching import THRESHOLD, fuzzy
from botkit.engine.migrating import adopt, stranded
from botkit.engine.moving import enter, go, jump, start_conversation
from botkit.engine.prepared import Pools
from botkit.engine.render import render
from botkit.engine.saving import change_slots, save_answer
from botkit.engine.session import Status
from botkit.engine.slots import extract
from botkit.engine.turn import MAX_PAYLOAD, MAX_TEXT, Run
from botkit.events import ActionResult, AgentRelease, UserMessage
from botkit.flow.model import Fallback, Slot, State, Target, Transition
from botkit.records import MASK, RecordKind
from botkit.text import bare, normalize

__all__ = ["action_result", "agent_release", "offered", "user_message"]

# Bound once, as turn.py explains: a RecordKind member is slow to read on Python 3.11.
_MESSAGE_IN = RecordKind.MESSAGE_IN
_TRANSITION = RecordKind.TRANSITION
_ACTION = RecordKind.ACTION
_FALLBACK = RecordKind.FALLBACK


def user_message(run: Run, event: UserMessage) -> None:
    s = run.session
    # session.ended_by_silence, inline: this runs for every message, and nearly every time the
    # first comparison settles it
    expired = (
        run.at - s.last_at > run.bot.inactivity_timeout
        and s.conversation > 0
        and s.status != Status.WITH_AGENT
    )
    # The answer to a sensitive question is masked, even one that comes after the silence
    # that ends the conversation, or after a deploy that removed the question: it is still
    # the phone number the user was asked for.
    secret = _secret_asked(run)
    # A conversation of another version (retired, or unknown here) comes over first: nothing
    # below may read a state this version does not have. One that this message ends anyway
    # (the silence was too long) is only put somewhere this version knows, to be closed.
    arrival = adopt(run, record=not expired) if stranded(s, run.bot.version) else None
    before = hear(run, event.locale)  # the profile's or the channel's language, if not chosen
    if expired and s.status != Status.CLOSED:
        # It ended at its last activity, not now that botkit learns it ended: its length,
        # and the days a purchase is credited to it, are measured from there.
        # (never before it started: a clock that went back between workers)
        run.record(RecordKind.CONVERSATION_END, {"outcome": "abandoned"})
        ended = max(s.last_at, s.started_at)
        run.records[-1] = run.records[-1]._replace(at=ended)
        s.status = Status.CLOSED
    starting = s.conversation == 0 or s.status == Status.CLOSED
    if starting:
        start_conversation(run)
    s.turn += 1
    s.last_at = run.at
    payload = event.payload
    heard: dict[str, Any] = {
        "text": event.text,
        "payload": payload if payload is None else payload[:MAX_PAYLOAD],
    }
    if secret is not None and event.text:
        heard["text"] = MASK
        heard["masked"] = secret
    run.inbound = len(run.records)
    run.record(_MESSAGE_IN, heard)
    if before is not None and not starting:  # a new conversation's start names its language
        changed(run, before, s.locale_source)
    if payload is not None and not offered(run, payload):
        # Not drawn on this user's screen: forged, or replayed from another session or an
        # earlier screen. It takes nothing; what the message says is read as text.
        run.record(RecordKind.PAYLOAD_REJECTED, {"payload": payload[:MAX_PAYLOAD]})
        payload = None
    text = event.text
    # The opt-out words work from anywhere, even mid-question or with an agent: the law wants
    # withdrawing as easy as agreeing. Told at once; then the turn goes on where it was.
    opted_out = payload is None and opts_out(text, run.bot.opt_out)
    if opted_out:
        run.record(RecordKind.CONSENT_WITHDRAWN, {"marketing": False, "night": False})
        run.say_system("opt_out")
    entered = "" if opted_out else text  # a state entered now greets; the words are not read
    if s.status == Status.HANDOFF_REQUESTED and handoff.waited_too_long(run):
        # The user is here: told that nobody came, then taken on at once.
        go(run, handoff.give_up_waiting(run), "no agent in time", cause="flow")
        return
    if s.status in (Status.HANDOFF_REQUESTED, Status.WITH_AGENT):
        _while_handed_off(run, text, payload, heard["text"])
        return
    if starting:
        # The first message opens the conversation (the greeting is said); it is acted
        # on only if it clearly asks for something the start state offers.
        target = run.bot.start_target
        run.record(_TRANSITION, {"from": None, "to": name_of(target), "trigger": "start"})
        _first_message(run, entered, payload, target, placed=False)
        return
    if arrival is not None and arrival.enter:
        # What the user answers was asked by a state this version does not have (or asks
        # differently): they are greeted where they arrived, as a first message would be.
        if arrival.how == "restart":
            run.say_system("migrated")
        transition = {"from": arrival.source, "to": name_of(arrival.target)}
        run.record(_TRANSITION, {**transition, "trigger": "version_migrated"})
        _first_message(run, entered, payload, arrival.target, placed=True)
        return
    if s.awaiting is not None and s.awaiting.kind == "arrive":
        # Botkit put the user here while they were away (nobody took their handoff): they
        # have not seen this state, so their words are a first message here, not an answer.
        _first_message(run, entered, payload, run.prepared.state_of(s).target, placed=True)
        return
    if opted_out:
        return  # the question they were asked still stands: their next words answer it
    _input(run, text, payload)


# What may follow the opt-out words and still be them: "수신거부요", "광고 그만할게요".
_POLITE = frozenset({"", "요", "해요", "할게요", "합니다", "해주세요", "하겠습니다", "please"})


def opts_out(text: str, words: frozenset[str]) -> bool:
    """Whether ``text`` says one of the opt-out ``words`` (squashed): the words alone, give or
    take punctuation, emoji and a polite ending; a sentence that merely holds them ("수신거부
    하면 쿠폰도 못 받나요?") is not."""
    if not text or len(text) > 60:  # every message passes here: the cheap test first
        return False
    said = bare(text)
    return any(said.startswith(w) and said[len(w) :] in _POLITE for w in words)


def offered(run: Run, payload: str) -> bool:
    """Whether a press of ``payload`` is one the bot drew on this session's screen, or a
    designed global entry of the flow the session is in."""
    s = run.session
    if payload in run.prepared.entries[run.flow_of[s.state][0]]:
        return True
    if s.status == Status.HANDOFF_REQUESTED and payload in run.prepared.leaving.get(s.state, ()):
        return True  # a declared way out of the queue, drawn or not
    if s.offered is None:  # stored before screens were kept: what this place draws
        return payload in run.prepared.legacy_screen(s.state, s.awaiting)
    return payload in s.offered


def action_result(run: Run, event: ActionResult) -> None:
    s = run.session
    s.last_at = max(s.last_at, run.at)  # the bot's answer is the conversation's activity
    awaiting = s.awaiting
    if awaiting is None or awaiting.kind != "result" or awaiting.name != event.action:
        run.record(
            RecordKind.ERROR, {"reason": "unexpected action result", "action": event.action}
        )
        return
    event, missing = save_answer(run, run.bot.actions.get(event.action), event)
    done: dict[str, Any] = {
        "action": event.action,
        "result": event.result,
        "latency_ms": round(event.latency_ms, 3),
        "detail": event.detail or None,
    }
    if missing:
        done["missing"] = missing
    run.record(_ACTION, done)
    # What happened is the action's result: a handoff it leads to names it as its cause.
    run.first = ("action_result", f"{event.action}: {event.result}", s.state)
    routes = transitions_of(run, run.prepared.state_of(s))
    for wanted in (event.result, "error" if event.result == "timeout" else None):
        if wanted is None:
            continue
        for t in routes:
            if t.result == wanted and run.holds(t):
                _take(run, t, {})
                return
    run.record(RecordKind.ERROR, {"reason": "no route for action result", "result": event.result})
    run.say_error()
    jump(run, run.bot.start_target, "error")


def agent_release(run: Run, event: AgentRelease) -> None:
    target = handoff.release(run, event)
    if target is not None:
        jump(run, target, "agent released")


def _secret_asked(run: Run) -> str | None:
    """The sensitive slot whose answer (or confirmation) the session is waiting for."""
    awaiting = run.session.awaiting
    if awaiting is None or awaiting.name not in run.prepared.sensitive:
        return None
    return awaiting.name if awaiting.kind in ("slot", "confirm") else None


def _mask_inbound(run: Run, slot: str) -> None:
    """Mask this turn's message_in: it held the value of a sensitive slot after all."""
    if run.inbound < 0:
        return
    record = run.records[run.inbound]
    data = dict(record.data or {})
    if data.get("text"):
        data["text"] = MASK
        data["masked"] = slot
        run.records[run.inbound] = record._replace(data=data)


def _while_handed_off(run: Run, raw: str, payload: str | None, kept: str) -> None:
    """A message while a person is needed. Waiting for one, a way out takes the user out of
    the queue (the handoff's ``leave:``, a choice that leads elsewhere, a global transition
    such as "처음으로" that does not lead back here); anything else is kept for the agent and
    answered with the handoff's ``while_waiting``. With an agent, it is the agent's to answer."""
    s = run.session
    waiting = s.status == Status.HANDOFF_REQUESTED
    if waiting:
        text = normalize(raw[:MAX_TEXT])
        said = text.replace(" ", "")
        if payload is None and said:
            payload = _typed_choice(run, said)
        here = run.prepared.state_of(s).target
        pressed = _pressed_target(run, payload)
        if pressed is not None and pressed != here:
            handoff.leave(run, pressed, f"choice: {name_of(pressed)}")
            go(run, pressed, f"choice: {name_of(pressed)}")
            return
        ways_out = run.prepared.waiting.get(s.state)
        hit = ways_out.first(said, text, payload, run.holds, s.locale) if ways_out else None
        if hit is not None:
            handoff.leave(run, hit[0].target, hit[0].label)
            _take(run, *hit)
            return
    s.held = [*(s.held or ()), kept]
    if waiting:
        handoff.say_waiting(run)


def _first_message(
    run: Run, raw: str, payload: str | None, target: Target, *, placed: bool
) -> None:
    """The user's first words at ``target``, a state they have not seen: the start of a
    conversation, or one botkit ``placed`` them at (another version's place, a handoff nobody
    took). The state is entered (the caller recorded how they came); the words are acted on
    only if they clearly ask for something (an exact trigger), never read as the answer to a
    question the state asks. Placed, a user who asks for somewhere else goes straight there."""
    state = run.bot.state(target)
    text = normalize(raw[:MAX_TEXT])
    hit = pools(run, state).exact.first(
        text.replace(" ", ""), text, payload, run.holds, run.session.locale
    )
    if hit is not None and hit[0].locale is not None:  # "English" first: greeted in English
        switch(run, hit[0].locale)
    if placed and hit is not None and hit[0].target != target:
        _take(run, *hit)
        return
    enter(run, target)
    # A first message that asks for the greeting itself ("처음으로", 취소) has just had it:
    # taking its transition would say the greeting a second time.
    if hit is not None and hit[0].target != target and run.session.state == name_of(target):
        _take(run, hit[0], hit[1])


def _input(run: Run, raw: str, payload: str | None) -> None:
    s = run.session
    text = normalize(raw[:MAX_TEXT])
    said = text.replace(" ", "")
    state = run.prepared.state_of(s)
    awaiting = s.awaiting
    # 1. a choice: pressed (checked on arrival), or its label typed while it is on screen
    if payload is None and said:
        payload = _typed_choice(run, said)
    pressed = _pressed_target(run, payload)
    if pressed is not None:
        go(run, pressed, f"choice: {name_of(pressed)}")
        return
    # 2. the slot being asked for
    rejected: Slot | None = None
    if awaiting is not None and awaiting.kind == "confirm":
        if asking.confirm(run, awaiting.name, said, payload):
            return
    elif awaiting is not None and awaiting.kind == "slot":
        slot = run.bot.slots[awaiting.name]
        if asking.answer(run, slot, raw, payload):
            return
        rejected = slot
    # 3–4. exact triggers, in the state and then globally
    found = pools(run, state)
    hit = found.exact.first(said, text, payload, run.holds, s.locale)
    if hit is not None:
        _take(run, *hit)
        return
    # 5. example phrases
    if said:
        similar = _fuzzy_match(run, found, said, text)
        if similar is not None:
            _take(run, similar, {})
            return
    # 6. an invalid answer, or nothing matched
    if rejected is not None:
        asking.reject(run, rejected)
    else:
        _fallback(run, state)


def _pressed_target(run: Run, payload: str | None) -> Target | None:
    """The state a press of ``@flow.state`` (a choice with ``to:``) leads to, if it is one."""
    if payload is None or not payload.startswith("@"):
        return None
    return run.prepared.target_named(payload[1:])


def _typed_choice(run: Run, said: str) -> str | None:
    """The payload of a choice on screen whose label the user typed, if they did."""
    s = run.session
    awaiting = s.awaiting
    labels = (
        run.prepared.slot_labels.get(awaiting.name)
        if awaiting is not None and awaiting.kind == "slot"
        else None
    )
    typed = (labels or {}).get(said) or run.prepared.labels[s.state].get(said)
    if typed is not None and offered(run, typed):
        return typed
    return None


def _fuzzy_match(run: Run, found: Pools, said: str, text: str) -> Transition | None:
    """The transition whose example phrases ``said`` is most like (the state's first, then
    the globals'), if one is like enough."""
    if not found.own_examples and not found.global_examples:
        return None
    scores = None
    classifier = run.prepared.classifier
    if classifier is not None:
        scores = dict(classifier.classify(text))
    locale = run.session.locale
    for pool in (found.own_examples, found.global_examples):
        best: tuple[float, Transition] | None = None
        for t in pool:
            score = fuzzy(t, said, run.bot.intents, scores, locale)
            if score >= THRESHOLD and (best is None or score > best[0]) and run.holds(t):
                best = (score, t)
        if best is not None:
            return best[1]
    return None


def _take(run: Run, t: Transition, groups: dict[str, str]) -> None:
    """Take a matched transition: its named regex groups fill slots, its messages are said."""
    for name, value in groups.items():
        if name in run.bot.slots:
            slot = run.bot.slots[name]
            extracted = extract(slot, value, None, run.at)
            if extracted is not None:
                run.session.slots[name] = extracted
                run.fresh.add(name)
                if slot.sensitive:
                    _mask_inbound(run, name)
    if t.locale is not None:  # a language switch: what it says is in the new language
        switch(run, t.locale)
    change_slots(run, t.update)
    run.say(t.say)
    go(run, t.target, t.label)


def _fallback(run: Run, state: State) -> None:
    s = run.session
    flow = run.bot.flows[state.flow]
    fb: Fallback = state.fallback or flow.fallback or run.bot.fallback
    s.misses += 1
    run.record(_FALLBACK, {"miss": s.misses})
    if fb.escalate_to is not None and s.misses >= fb.max_misses:
        go(run, fb.escalate_to, "fallback escalation", reason="repeated_fallback")
        return
    # The choices on screen are offered again with the fallback.
    profile = s.profile or {}
    choices = next(
        (
            render(m, s.locale, s.slots, profile, parts=run.prepared.parts).choices
            for m in reversed(on_screen(run, state))
            if m.quick_replies
        ),
        (),
    )
    if fb.messages:
        message = fb.messages[min(s.misses, len(fb.messages)) - 1]
        rendered = render(message, s.locale, s.slots, profile)
        recorded = run.recorded_text(message, rendered, s.slots)
        if choices and not rendered.choices:
            rendered = dataclasses.replace(rendered, choices=choices)
        run.draw(rendered, recorded)
    else:
        run.say_text(run.prepared.wording_of(s.locale).fallback, choices=choices)
