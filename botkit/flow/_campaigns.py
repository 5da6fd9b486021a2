"""Compiling the campaigns files (a file whose top level is ``campaigns:``, beside the flows)
into the bot's :class:`~botkit.campaigns.model.Outreach`.

Each campaign is checked against the rest of the bot, every problem at the word to change:

* its trigger's language (BK430) and the event kind it waits for, which bot.yaml must declare
  under ``business_events:`` unless botkit records it itself (BK320: a trigger on a kind nobody
  sends would never fire); the segments it names (BK318), the state it opens (BK301/BK305);
* each exclusion rule, a condition in the segment language (BK418 and the rest, as bot.yaml's
  segments), compiled as a segment named ``<campaign>.<rule>``;
* its dates (BK436), its holdout (0% to 50%) and durations (BK207), one message or variants;
* the advertising rules (:mod:`._advertising`), and the quiet hours, which must cover the
  hours the law reserves for night-time consent (BK435).

Consent itself is not a setting: an advertising campaign goes only to members who agreed to
marketing, and at night only to those who agreed to that too, whatever a file says.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from botkit.campaigns import model as campaign  # the module: see botkit.flow._triggers
from botkit.flow._advertising import Written, check_advertising, check_informational
from botkit.flow._context import Context
from botkit.flow._messages import compile_messages
from botkit.flow._node import Node
from botkit.flow._report import Where
from botkit.flow._segments import compile_condition
from botkit.flow._triggers import EXAMPLES, ParsedTrigger, TriggerSyntaxError, parse_trigger
from botkit.flow._words import did_you_mean
from botkit.flow.durations import seconds
from botkit.flow.model import EventMeaning, ProfileAttribute, Target
from botkit.problems import Severity
from botkit.segments.model import CHANNEL_KINDS, Segment

__all__ = ["BotFacts", "compile_outreach", "is_campaigns_file"]

DEFAULT_CHANNELS = ("kakao", "web")
# 정보통신망법 §50: advertising between 21:00 and 08:00 needs its own consent.
LEGAL_NIGHT = (21 * 60, 8 * 60)
MAX_HOLDOUT = 50.0  # percent: a control group larger than the treated one measures little
_SETTINGS = ("timezone", "quiet_hours", "caps")
_DAY = 86400.0


@dataclass(frozen=True, slots=True)
class BotFacts:
    """What the campaigns read of the rest of the bot."""

    events: Mapping[str, EventMeaning]  # business_events:, over the defaults
    segments: Mapping[str, Segment]  # the compiled segments
    segment_names: frozenset[str]  # every segment bot.yaml declares, broken ones too
    profile: Mapping[str, ProfileAttribute]
    opt_out: frozenset[str]  # squashed, as compared
    opt_out_shown: tuple[str, ...]  # as written, for problems
    timezone: str  # the bot's


def is_campaigns_file(data: object) -> bool:
    """A campaigns file: ``campaigns:`` at the top, and neither ``bot:`` nor ``flow:``."""
    return isinstance(data, dict) and "campaigns" in data and not {"bot", "flow"} & set(data)


def compile_outreach(ctx: Context, files: list[Node], facts: BotFacts) -> campaign.Outreach:
    """Every campaign of ``files`` (campaigns files that passed the schema), and the settings
    they share; a campaign with a problem is left out (the problem is an error)."""
    settings = _settings(ctx, files)
    timezone = facts.timezone
    if "timezone" in settings:
        timezone = _timezone(ctx, settings["timezone"]) or timezone
    elif files and not _is_zone(timezone):  # business_hours' own, which nothing else checks
        ctx.reporter.add(
            "BK205",
            files[0].where("campaigns", at_key=True),
            f"the campaigns read their days and hours in the bot's time zone, '{timezone}', "
            "which is not a time zone",
            expected="a time zone of the tz database, e.g. Asia/Seoul",
            hint="fix the timezone of bot.yaml's business_hours, or set timezone: in this file",
        )
    if not _is_zone(timezone):  # reported: the campaigns are still checked, in Korea's
        timezone = campaign.Outreach().timezone
    quiet = campaign.DEFAULT_QUIET
    if "quiet_hours" in settings:
        quiet = _quiet_hours(ctx, settings["quiet_hours"], timezone)
    elif "timezone" in settings:  # the default window, read on another country's clock
        _quiet_hours(ctx, settings["timezone"], timezone, default=quiet)
    caps = _caps(settings["caps"].node("caps", "caps")) if "caps" in settings else campaign.Caps()
    out: dict[str, campaign.Campaign] = {}
    seen: dict[str, Node] = {}  # the file that declares each
    for file in files:
        for name, node in file.members("campaigns", "campaign"):
            if name in seen:
                first = seen[name].where_path("campaigns", name, at_key=True)
                ctx.reporter.add(
                    "BK308",
                    file.where_path("campaigns", name, at_key=True),
                    f"campaign '{name}' is declared twice",
                    found=f"also in {first.source.path}:{first.line}",
                    hint="give each campaign its own name",
                )
                continue
            seen[name] = file
            compiled = _campaign(ctx, name, node, facts, timezone)
            if compiled is not None:
                out[name] = compiled
    return campaign.Outreach(MappingProxyType(out), caps, quiet, timezone)


def _settings(ctx: Context, files: list[Node]) -> dict[str, Node]:
    """The file that sets each shared setting; a second file setting it is BK308."""
    owner: dict[str, Node] = {}
    for file in files:
        for key in _SETTINGS:
            if not file.has(key):
                continue
            if key in owner:
                first = owner[key].where(key, at_key=True)
                ctx.reporter.add(
                    "BK308",
                    file.where(key, at_key=True),
                    f"'{key}' is set in two campaigns files; the campaigns share one",
                    found=f"also in {first.source.path}:{first.line}",
                    hint="keep it in one of the files",
                )
                continue
            owner[key] = file
    return owner


def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _timezone(ctx: Context, node: Node) -> str | None:
    name = str(node.get("timezone"))
    if not _is_zone(name):
        ctx.reporter.add(
            "BK205",
            node.where("timezone"),
            f"'{name}' is not a time zone",
            expected="a time zone of the tz database, e.g. Asia/Seoul",
            found=f"'{name}'",
            hint=did_you_mean(name, available_timezones()),
        )
        return None
    return name


def _quiet_hours(
    ctx: Context, node: Node, timezone: str, *, default: tuple[int, int] | None = None
) -> tuple[int, int]:
    """``from-until`` in minutes after midnight (the schema has checked the form); a window
    that leaves part of the legal night open is BK435. The law's night is Korea's, so a
    window on another time zone's clock is held to 21:00-08:00 in Seoul (in summer and in
    winter, for a zone that moves its clocks)."""
    text = str(node.get("quiet_hours")) if default is None else _window_text(default)
    start, until = (_minutes(part) for part in text.split("-")) if default is None else default
    open_minutes = [
        m
        for shift in _shifts(timezone)
        for m in range(LEGAL_NIGHT[0], LEGAL_NIGHT[1] + 24 * 60)
        if not _inside((m + shift) % (24 * 60), start, until)
    ]
    if open_minutes:
        korea = "" if _shifts(timezone) == [0] else f" in {timezone} (Seoul's time)"
        ctx.reporter.add(
            "BK435",
            node.where("quiet_hours" if default is None else "timezone"),
            f"the quiet hours {text}{korea} leave advertising free to go out at "
            f"{_hhmm(open_minutes[0] % (24 * 60))}{' in Korea' if korea else ''}, which the "
            "law keeps for people who agreed to night-time advertising",
            expected="a window that covers 21:00-08:00 in Seoul, e.g. 20:50-08:00 in Asia/Seoul",
            found=f"'{text}'" + (f" in {timezone}" if korea else ""),
            hint="정보통신망법 §50 wants separate consent for advertising from 21:00 to 08:00; "
            "botkit sends it then only to those who gave it, and to nobody else in the quiet "
            "hours",
        )
    return start, until


def _shifts(timezone: str) -> list[int]:
    """Minutes to add to a time in Seoul for the same instant on ``timezone``'s clock, in
    winter and in summer (Seoul keeps one offset all year)."""
    found: list[int] = []
    for month in (1, 7):
        moment = dt.datetime(2026, month, 15, 12, tzinfo=dt.UTC)
        here = moment.astimezone(ZoneInfo(timezone)).utcoffset() or dt.timedelta()
        seoul = moment.astimezone(ZoneInfo("Asia/Seoul")).utcoffset() or dt.timedelta()
        shift = int((here - seoul).total_seconds() // 60)
        if shift not in found:
            found.append(shift)
    return found


def _window_text(window: tuple[int, int]) -> str:
    return f"{_hhmm(window[0])}-{_hhmm(window[1])}"


def _inside(minute: int, start: int, until: int) -> bool:
    if start <= until:
        return start <= minute < until
    return minute >= start or minute < until


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _caps(node: Node | None) -> campaign.Caps:
    if node is None:
        return campaign.Caps()
    day, week = node.get("per_day"), node.get("per_week")
    return campaign.Caps(
        int(day) if day is not None else None, int(week) if week is not None else None
    )


def _campaign(
    ctx: Context, name: str, node: Node, facts: BotFacts, timezone: str
) -> campaign.Campaign | None:
    before = len(ctx.reporter.problems)
    kind = str(node.get("kind"))
    trigger = _trigger(ctx, name, node, facts)
    audience = None
    if node.has("audience"):
        audience = _segment(ctx, str(node.get("audience")), lambda: node.where("audience"), facts)
    exclusions = _exclusions(ctx, name, node, facts)
    channels = tuple(dict.fromkeys(str(c) for c in node.get("channels") or DEFAULT_CHANNELS))
    opens: Target | None = None
    if node.has("opens"):
        opens = ctx.resolve(str(node.get("opens")), node.where("opens"), None)
    written = _messages(ctx, name, node)
    if kind == campaign.ADVERTISING:
        check_advertising(ctx, name, node, written, channels, facts.opt_out, facts.opt_out_shown)
    else:
        check_informational(ctx, name, node, written)
    holdout = _holdout(ctx, name, node)
    expires = _duration(ctx, name, node, "expires", _DAY)
    window = _duration(ctx, name, node, "window", 7 * _DAY)
    starts, ends = _dates(ctx, name, node, timezone, trigger)
    problems = ctx.reporter.problems[before:]
    if trigger is None or any(p.severity is Severity.ERROR for p in problems):
        return None
    title, cost = node.get("title"), node.get("cost")
    return campaign.Campaign(
        name=name,
        title=str(title) if title is not None else name,
        kind="advertising" if kind == campaign.ADVERTISING else "informational",
        trigger=trigger.trigger,
        variants=tuple(
            campaign.Variant(one.variant, _weight(one), one.messages) for one in written
        ),
        audience=audience,
        exclusions=exclusions,
        channels=channels,
        opens=opens,
        holdout=holdout,
        expires=expires,
        send_at="best_hour" if node.get("send_at") == "best_hour" else "due",
        caps=_caps(node.node("caps", "caps")),
        starts=starts,
        ends=ends,
        window=window,
        cost=float(cost) if cost is not None else 0.0,
        source=node.doc.source.path,
    )


def _weight(one: Written) -> float:
    """A variant's ``weight``; 1 when none is given (equal shares: :func:`_messages` refuses a
    campaign where only some variants have one)."""
    weight = one.node.get("weight") if one.node.kind == "campaign_variant" else None
    return float(weight) if weight is not None else 1.0


def _trigger(ctx: Context, name: str, node: Node, facts: BotFacts) -> ParsedTrigger | None:
    text = str(node.get("trigger"))
    try:
        parsed = parse_trigger(text)
    except TriggerSyntaxError as exc:
        ctx.reporter.add(
            "BK430",
            node.where_in("trigger", exc.offset, exc.length),
            f"the trigger of campaign '{name}' cannot be read: {exc.message}",
            expected=exc.expected,
            hint=EXAMPLES,
        )
        return None
    trigger = parsed.trigger

    def at(word: str) -> Callable[[], Where]:  # worked out only for a problem
        return lambda: node.where_in("trigger", parsed.name_offset, len(word))

    if trigger.event is not None:
        kinds = sorted({*facts.events, *CHANNEL_KINDS})
        if trigger.event not in kinds:
            ctx.reporter.add(
                "BK320",
                at(trigger.event)(),
                f"campaign '{name}' waits for business events of kind '{trigger.event}', which "
                "bot.yaml does not declare, so it would never be sent",
                expected=_listed(kinds, "kind"),
                found=f"'{trigger.event}'",
                hint=did_you_mean(trigger.event, kinds)
                or f"declare it under 'business_events:' in bot.yaml: {trigger.event}: {{}}",
            )
    if trigger.segment is not None:
        entered = _segment(ctx, trigger.segment, at(trigger.segment), facts)
        return replace(parsed, trigger=replace(trigger, entered=entered))
    return parsed


def _segment(
    ctx: Context, name: str, where: Callable[[], Where], facts: BotFacts
) -> Segment | None:
    """The compiled segment ``name`` (None when it is broken or not declared: BK318 at
    ``where()`` for that last one only, since a broken one is reported where it is written)."""
    if name in facts.segment_names:
        return facts.segments.get(name)
    names = sorted(facts.segment_names)
    ctx.reporter.add(
        "BK318",
        where(),
        f"segment '{name}' is not declared",
        expected=_listed(names, "segment"),
        found=f"'{name}'",
        hint=did_you_mean(name, names) or "declare it under 'segments:' in bot.yaml",
    )
    return None


def _listed(names: list[str], noun: str) -> str:
    if not names:
        return f"a declared {noun} (none are declared)"
    if len(names) <= 10:
        return "one of " + ", ".join(f"'{n}'" for n in names)
    return f"one of the {len(names)} declared {noun}s"


def _exclusions(
    ctx: Context, name: str, node: Node, facts: BotFacts
) -> tuple[campaign.Exclusion, ...]:
    rules = node.get("exclude")
    out = []
    for rule in rules if isinstance(rules, dict) else {}:
        segment = compile_condition(
            ctx,
            node,
            ("exclude", rule),
            f"{name}.{rule}",
            f"exclusion rule '{rule}' of campaign '{name}'",
            facts.events,
            facts.profile,
            facts.segments,
            set(facts.segment_names),
        )
        if segment is not None:
            out.append(campaign.Exclusion(rule, segment))
    return tuple(out)


def _messages(ctx: Context, name: str, node: Node) -> list[Written]:
    """``message:`` (one version) or ``variants:`` (each with its own): exactly one of them."""
    present = node.present(("message", "variants"))
    if len(present) == 2:
        ctx.reporter.add(
            "BK208",
            node.where("variants", at_key=True),
            f"campaign '{name}' has both 'message' and 'variants'",
            hint="send one message, or put each version of it under variants: (A: {weight: 50, "
            "message: ...})",
        )
        return []
    if not present:
        ctx.reporter.add(
            "BK203",
            node.where(),
            f"campaign '{name}' has nothing to send",
            expected="a 'message:' key, or 'variants:'",
            hint="add message: with the bubbles to send, as a state's say:",
        )
        return []
    if present == ["message"]:
        return [Written("default", node, compile_messages(ctx, node, "message", None))]
    variants = list(node.members("variants", "campaign_variant"))
    weighted = [v for _, v in variants if v.data.get("weight") is not None]
    out = []
    for variant, child in variants:
        if weighted and child.data.get("weight") is None:
            ctx.reporter.add(
                "BK203",
                child.where(),
                f"variant '{variant}' of campaign '{name}' has no weight, but the others do",
                expected="a 'weight:' key",
                hint="give every variant a weight, or none of them (then they share equally)",
            )
        out.append(Written(variant, child, compile_messages(ctx, child, "message", None)))
    return out


def _holdout(ctx: Context, name: str, node: Node) -> float:
    text = node.get("holdout")
    if text is None:
        return 0.0
    percent = float(str(text).rstrip("%"))
    if percent > MAX_HOLDOUT:
        ctx.reporter.add(
            "BK207",
            node.where("holdout"),
            f"'holdout' of campaign '{name}' is out of range",
            expected=f"from 0% to {MAX_HOLDOUT:.0f}%",
            found=f"'{text}'",
            hint="the holdout is the share sent nothing, to measure the campaign against; "
            "5% to 20% is usual",
        )
    return percent / 100


def _duration(ctx: Context, name: str, node: Node, key: str, default: float) -> float:
    text = node.get(key)
    if text is None:
        return default
    value = seconds(str(text))
    if value <= 0:
        ctx.reporter.add(
            "BK207",
            node.where(key),
            f"'{key}' of campaign '{name}' is out of range",
            expected="more than 0, e.g. 12h",
            found=f"'{text}'",
        )
    return value


def _dates(
    ctx: Context, name: str, node: Node, timezone: str, trigger: ParsedTrigger | None
) -> tuple[float | None, float | None]:
    """``starts`` and ``ends`` as instants: the first moment of ``starts`` and the end of
    ``ends`` (the whole day), in the campaigns' time zone; BK436 for days that are not days,
    that end first, or that leave out the one day an ``at`` trigger runs."""
    days: dict[str, dt.date] = {}
    for key in ("starts", "ends"):
        text = node.get(key)
        if text is None:
            continue
        try:
            days[key] = dt.date.fromisoformat(str(text))
        except ValueError:
            ctx.reporter.add(
                "BK436",
                node.where(key),
                f"'{key}' of campaign '{name}' is not a day of the calendar",
                expected="a day YYYY-MM-DD, e.g. 2026-12-01",
                found=f"'{text}'",
            )
    first, last = days.get("starts"), days.get("ends")
    if first is not None and last is not None and last < first:
        ctx.reporter.add(
            "BK436",
            node.where("ends"),
            f"campaign '{name}' ends before it starts",
            expected=f"a day from {first.isoformat()} on",
            found=f"'{last.isoformat()}'",
            hint="ends is the last day anyone becomes a candidate, included",
        )
    schedule = trigger.trigger.schedule if trigger is not None else None
    if schedule is not None and schedule.once is not None:
        once = dt.date.fromisoformat(schedule.once)
        if (first is not None and once < first) or (last is not None and once > last):
            ctx.reporter.add(
                "BK436",
                node.where("trigger"),
                f"campaign '{name}' runs once, on {schedule.once}, outside its days "
                f"({first.isoformat() if first else '…'} to {last.isoformat() if last else '…'})",
                hint="move the day into starts..ends, or change starts and ends",
            )
    zone = ZoneInfo(timezone)

    def midnight(day: dt.date) -> float:
        return dt.datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()

    start = midnight(first) if first is not None else None
    end = midnight(last + dt.timedelta(days=1)) if last is not None else None
    return start, end
