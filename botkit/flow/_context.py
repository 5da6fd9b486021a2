"""What the compiler knows while it works: every declared id, and where it was declared."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from botkit.flow._node import Node
from botkit.flow._report import Reporter, Where
from botkit.flow._words import did_you_mean
from botkit.flow._yaml import Document, JSONPath
from botkit.flow.model import Target
from botkit.flow.templates import Template, parse_template

__all__ = ["CHANNEL_FIELDS", "Context", "Declared", "Spot"]

# What a channel puts in the session's profile by itself (Kakao's user properties, under the
# names botkit.adapters.kakao.payload gives them): readable whatever bot.yaml's profile declares,
# which types the shop's own attributes.
CHANNEL_FIELDS = frozenset(
    {"plusfriendUserKey", "appUserId", "appUserStatus", "botUserKey", "isFriend"}
)


@dataclass(frozen=True, slots=True)
class Spot:
    """Where something is declared, worked out only if a problem has to point at it."""

    doc: Document
    path: JSONPath

    @property
    def where(self) -> Where:
        return self.doc.where(self.path, key=True)


@dataclass(slots=True)
class Declared:
    """Ids declared anywhere in the bot, by kind, with the place of each declaration."""

    flows: dict[str, Spot] = field(default_factory=dict)
    states: dict[str, dict[str, Spot]] = field(default_factory=dict)
    slots: dict[str, Spot] = field(default_factory=dict)
    intents: dict[str, Spot] = field(default_factory=dict)
    actions: dict[str, Spot] = field(default_factory=dict)
    goals: dict[str, Spot] = field(default_factory=dict)
    experiments: dict[str, Spot] = field(default_factory=dict)
    promotions: dict[str, Spot] = field(default_factory=dict)
    hours: dict[str, Spot] = field(default_factory=dict)
    segments: dict[str, Spot] = field(default_factory=dict)  # bot.yaml segments:


@dataclass(slots=True)
class Context:
    reporter: Reporter
    used: set[tuple[str, str]]
    declared: Declared = field(default_factory=Declared)
    locales: tuple[str, ...] = ("ko",)
    default_locale: str = "ko"
    slot_prompts: dict[str, bool] = field(default_factory=dict)
    experiment_variants: dict[str, tuple[str, ...]] = field(default_factory=dict)
    action_results: dict[str, frozenset[str]] = field(default_factory=dict)
    # (where, target) pairs that must be handoff states; checked once all states are known
    agent_targets: list[tuple[Where, Target]] = field(default_factory=list)
    # bot.yaml's ``profile:`` (attribute → its spot); None: no profile declared, so conditions
    # and templates may read any profile.<attribute>
    profile: dict[str, Spot] | None = None

    def target(self, node: Node, key: str, flow: str | None) -> Target | None:
        """Resolve the state reference under ``key``, written in ``flow`` (None: bot.yaml)."""
        value = node.get(key)
        if not isinstance(value, str):
            return None
        if "." not in value and flow is not None and value in self.declared.states.get(flow, ()):
            return (flow, value)  # the common case, with nothing to report
        return self.resolve(value, node.where(key), flow)

    def resolve(self, value: str, where: Where, flow: str | None) -> Target | None:
        """The state ``value`` names, written at ``where`` in ``flow`` (None: bot.yaml); a name
        that is not a state is reported there, and gives None."""
        if "." in value:
            flow_id, state = value.split(".", 1)
            if flow_id not in self.declared.flows:
                self.reporter.add(
                    "BK305",
                    where,
                    f"'{value}' names flow '{flow_id}', which is not part of this bot",
                    expected=_known("flow", self.declared.flows),
                    found=f"'{flow_id}'",
                    hint=did_you_mean(flow_id, self.declared.flows),
                )
                return None
        elif flow is None:
            self.reporter.add(
                "BK301",
                where,
                f"'{value}' must name its flow here, e.g. '<flow>.{value}'",
                expected="'flow_id.state_id'",
                found=f"'{value}'",
                hint="the bot file belongs to no flow, so its targets say which flow they mean",
            )
            return None
        else:
            flow_id, state = flow, value
        states = self.declared.states.get(flow_id, {})
        if state not in states:
            where_text = "this flow" if flow_id == flow else f"flow '{flow_id}'"
            self.reporter.add(
                "BK301",
                where,
                f"'{value}' is not a state of {where_text}",
                expected=_known("state", states),
                found=f"'{state}'",
                hint=did_you_mean(state, states),
            )
            return None
        return (flow_id, state)

    def reference(self, kind: str, name: object, where: Callable[[], Where], code: str) -> bool:
        """Check that ``name`` is a declared id of ``kind``; report ``code`` when not.

        ``where`` is called only when there is a problem to report (most references are fine,
        and a big flow has thousands of them).
        """
        table: dict[str, Spot] = getattr(self.declared, kind)
        if not isinstance(name, str):
            return False
        if name in table:
            return True
        noun = {"hours": "business hours", "slots": "slot"}.get(kind, kind.rstrip("s"))
        self.reporter.add(
            code,
            where(),
            f"{noun} '{name}' is not declared",
            expected=_known(noun, table),
            found=f"'{name}'",
            hint=did_you_mean(name, table) or _declare_hint(kind, name),
        )
        return False

    def template(
        self, node: Node, key: str | int, text: str, *more: str | int, allow_env: bool = False
    ) -> Template:
        template, errors = parse_template(text, allow_env=allow_env)
        for error, _ref in errors:
            self.reporter.add(
                error.code,
                node.where_in(key, error.offset, error.length, *more),
                error.message,
                hint=error.hint,
            )
        for ref in template.refs:
            if ref.scope == "slot" and ref.name not in self.declared.slots:
                named = re.search(r"\{\{\s*(" + re.escape(ref.name) + r")\s*\}\}", text)
                offset = named.start(1) if named else 0
                self.reporter.add(
                    "BK309",
                    node.where_in(key, max(offset, 0), len(ref.name), *more),
                    f"the template names '{ref.name}', which is not a slot",
                    expected=_known("slot", self.declared.slots),
                    found=f"'{ref.name}'",
                    hint=did_you_mean(ref.name, self.declared.slots)
                    or "declare the slot under 'slots:', or use {{ profile.<field> }}",
                )
            elif ref.scope == "profile" and self.profile is not None:

                def where(name: str = ref.name) -> Where:
                    pattern = r"\{\{\s*profile\s*\.\s*(" + re.escape(name) + r")\s*\}\}"
                    named = re.search(pattern, text)
                    return node.where_in(key, named.start(1) if named else 0, len(name), *more)

                self.read_profile(ref.name, where)
        return template

    def read_profile(self, name: str, where: Callable[[], Where]) -> None:
        """A condition or template reads ``profile.<name>``: once bot.yaml declares a profile,
        it must be one of its attributes or a field the channel sends (BK317 at ``where()``,
        called only then)."""
        declared = self.profile
        if declared is None or name in declared or name in CHANNEL_FIELDS:
            return
        names = sorted(declared)
        self.reporter.add(
            "BK317",
            where(),
            f"profile attribute '{name}' is not declared",
            expected=_known("profile attribute", declared),
            found=f"'{name}'",
            hint=did_you_mean(name, names)
            or f"declare it under 'profile:' in bot.yaml, e.g. {name}: {{type: text}}",
        )


def _declare_hint(kind: str, name: str) -> str:
    if kind == "flows":
        return f"add a flow file that starts with 'flow: {name}'"
    if kind == "hours":
        return "declare it under 'business_hours:' in bot.yaml"
    if kind == "segments":
        return "declare it under 'segments:' in bot.yaml"
    return f"declare it under '{kind}:' (in this file, or in bot.yaml to share it)"


def _known(noun: str, table: dict[str, Spot] | dict[str, dict[str, Spot]]) -> str:
    names = sorted(table)
    if not names:
        return f"a declared {noun} (none are declared)"
    if len(names) <= 8:
        return "one of " + ", ".join(f"'{n}'" for n in names)
    return f"one of the {len(names)} declared {noun}s"
