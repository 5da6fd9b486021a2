"""The catalogue of problem codes.

Codes are stable and never reused. Each one is documented for designers, with a broken example
and the fix, in ``flows/CODES.md``; a test keeps the table, the fixtures and the documentation in
step. Ranges follow the phase that finds the problem:

* BK1xx reading the YAML text
* BK2xx the schema (shape and types)
* BK3xx references between ids (states, slots, actions, intents, flows, ...)
* BK4xx checks of the conversation graph and of patterns, templates and conditions
* BK5xx the program and the flows disagree: found when the bot starts, not by ``botkit check``
  (the flows name a validator, a function or a stub that the program does not register)
* BK6xx conversation test files (``*.test.yaml``), read by ``botkit test`` and pytest
"""

from __future__ import annotations

from dataclasses import dataclass

from botkit.problems import Severity

__all__ = ["CODES", "Code"]


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    slug: str
    severity: Severity
    summary: str


_E, _W = Severity.ERROR, Severity.WARNING

CODES: dict[str, Code] = {
    c.code: c
    for c in (
        Code("BK101", "yaml-syntax", _E, "the file is not valid YAML"),
        Code("BK102", "duplicate-key", _E, "the same key appears twice in one mapping"),
        Code("BK103", "anchor-or-alias", _E, "YAML anchors (&) and aliases (*) are not allowed"),
        Code("BK104", "yaml-tag", _E, "YAML tags (!!python/..., !custom) are not allowed"),
        Code("BK105", "file-too-large", _E, "the file is larger than a flow file may be"),
        Code("BK106", "nesting-too-deep", _E, "mappings and lists are nested too deeply"),
        Code("BK107", "not-utf8", _E, "the file is not UTF-8 text"),
        Code("BK108", "several-documents", _E, "one file holds one flow; '---' starts another"),
        Code("BK109", "empty-file", _E, "the file has no content"),
        Code("BK110", "complex-key", _E, "a key must be plain text, not a list or mapping"),
        Code("BK111", "bot-too-large", _E, "the bot's files are larger in all than a bot may be"),
        Code("BK201", "unknown-key", _E, "a key that the flow format does not have"),
        Code("BK202", "wrong-type", _E, "a value of the wrong kind (text, number, list, ...)"),
        Code("BK203", "missing-key", _E, "a required key is missing"),
        Code("BK204", "invalid-id", _E, "an id that is not lowercase snake_case"),
        Code("BK205", "not-allowed-value", _E, "a value outside the allowed choices"),
        Code(
            "BK206",
            "yes-no-boolean",
            _E,
            "'yes'/'no'/'on'/'off' written where true/false is meant",
        ),
        Code("BK207", "out-of-range", _E, "a number, text or list that is too small or too large"),
        Code("BK208", "conflicting-keys", _E, "keys that cannot be used together"),
        Code("BK209", "invalid-format", _E, "text that does not have the required form"),
        Code("BK210", "missing-trigger", _E, "a transition that says neither when nor where"),
        Code(
            "BK301",
            "unknown-state",
            _E,
            "a transition or route goes to a state that does not exist",
        ),
        Code("BK302", "unknown-slot", _E, "a slot that is not declared"),
        Code("BK303", "unknown-action", _E, "an action that is not declared"),
        Code("BK304", "unknown-intent", _E, "an intent that is not declared"),
        Code("BK305", "unknown-flow", _E, "a flow that is not part of the bot"),
        Code("BK306", "unknown-variant", _E, "an experiment or variant that is not declared"),
        Code("BK307", "unknown-goal", _E, "a goal that is not declared"),
        Code("BK308", "duplicate-id", _E, "the same id is declared twice"),
        Code("BK309", "template-unknown-name", _E, "a template names a slot that is not declared"),
        Code(
            "BK310",
            "template-forbidden",
            _E,
            "a template reaches for something other than a value",
        ),
        Code("BK311", "unknown-promotion", _E, "a promotion that is not declared"),
        Code("BK312", "unknown-hours", _E, "business hours that are not declared"),
        Code("BK313", "unknown-locale", _E, "a text in a language the bot does not declare"),
        Code("BK314", "unknown-result", _E, "a route for a result the action never returns"),
        Code("BK315", "require-unsaved", _E, "a required slot that 'save:' does not fill"),
        Code("BK316", "promotion-dates", _E, "a promotion whose dates are not days or end first"),
        Code(
            "BK317",
            "unknown-profile-attribute",
            _E,
            "a profile attribute that bot.yaml's 'profile:' does not declare",
        ),
        Code("BK318", "unknown-segment", _E, "a segment that is not declared"),
        Code(
            "BK319",
            "unknown-event-kind",
            _W,
            "a segment counts a kind of business event the bot does not know",
        ),
        Code(
            "BK320",
            "unknown-trigger-event",
            _E,
            "a campaign waits for a kind of business event the bot does not declare",
        ),
        Code("BK401", "unreachable-state", _W, "no path leads to this state"),
        Code("BK402", "dead-end-state", _E, "a state that is not an end but has no way out"),
        Code("BK403", "handoff-no-way-back", _E, "a handoff state that never returns to the bot"),
        Code("BK404", "slot-without-prompt", _E, "a slot is collected but has no prompt"),
        Code(
            "BK405", "experiment-weights", _E, "the weights of an experiment do not add up to 100"
        ),
        Code("BK406", "regex-invalid", _E, "a regular expression that does not compile"),
        Code("BK407", "regex-catastrophic", _E, "a regular expression with nested repetition"),
        Code("BK408", "condition-invalid", _E, "a condition that cannot be read"),
        Code("BK409", "template-invalid", _E, "a template with unbalanced {{ }}"),
        Code("BK410", "no-error-route", _W, "an action call with no route for errors"),
        Code("BK411", "unhandled-choice", _W, "a quick reply whose payload no transition handles"),
        Code("BK412", "missing-default-locale", _E, "a text without the bot's default language"),
        Code(
            "BK413", "not-a-handoff-state", _E, "an agent button that does not lead to a handoff"
        ),
        Code(
            "BK414",
            "regex-nested-repetition",
            _W,
            "a regular expression that repeats a repetition and may backtrack elsewhere",
        ),
        Code("BK415", "next-loop", _E, "'next:' steps that go round without waiting for the user"),
        Code(
            "BK416", "too-many-bubbles", _E, "one message would be answered with too many bubbles"
        ),
        Code("BK417", "missing-translation", _W, "a text or words missing in a declared language"),
        Code("BK418", "segment-invalid", _E, "a segment's condition that cannot be read"),
        Code("BK419", "segment-cycle", _E, "segments defined through each other, or too large"),
        Code(
            "BK420",
            "segment-type-mismatch",
            _E,
            "a segment compares a profile attribute with a value of another type",
        ),
        Code("BK421", "segment-duration", _E, "a segment's time window that is not a duration"),
        Code("BK430", "trigger-invalid", _E, "a campaign's trigger that cannot be read"),
        Code("BK431", "ad-label", _E, "an advertising message that does not begin with (광고)"),
        Code(
            "BK432",
            "ad-opt-out-text",
            _E,
            "an advertising message that does not say how to opt out",
        ),
        Code(
            "BK433",
            "ad-no-opt-out",
            _E,
            "an advertising campaign in a bot whose users have no opt-out words",
        ),
        Code(
            "BK434", "ad-kakao-bubbles", _E, "an advertising message for Kakao of several bubbles"
        ),
        Code(
            "BK435",
            "quiet-hours-too-short",
            _E,
            "quiet hours that leave part of the legal night (21:00-08:00) open to advertising",
        ),
        Code("BK436", "campaign-dates", _E, "a campaign whose days are not days, or end first"),
        Code(
            "BK437",
            "informational-labelled-ad",
            _E,
            "an informational campaign whose message is labelled advertising",
        ),
        Code("BK501", "validator-not-registered", _E, "a slot's validator the program lacks"),
        Code("BK502", "function-not-registered", _E, "an action's function the program lacks"),
        Code("BK503", "stub-for-unknown-action", _E, "a stub for an action no flow declares"),
        Code("BK601", "test-file-shape", _E, "a conversation test file not in the test format"),
        Code(
            "BK602",
            "test-names-unknown",
            _E,
            "a test names a state, action or variant the bot lacks",
        ),
    )
}
