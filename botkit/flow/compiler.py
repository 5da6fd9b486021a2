"""From flow files to a compiled :class:`~botkit.flow.model.Bot`, reporting every problem.

The phases, each finding what the one before cannot:

1. read each file as YAML (positions kept; see ``_yaml``)       → BK1xx
2. validate each file against the JSON Schema                   → BK2xx
3. collect the ids every file declares (flows, states, slots, …) → BK308 duplicates
4. compile each file that passed 1–2: resolve references, parse
   templates, conditions and patterns                            → BK2xx/BK3xx/BK4xx
5. compile the campaigns files (``campaigns:`` at the top) against
   the bot: triggers, names, the advertising rules               → BK2xx/BK3xx/BK43x
6. check the conversation graph of the whole bot                  → BK4xx (``checks``)

A file with reading or schema errors still contributes its ids to phase 3, so one broken file
does not make every reference to it look broken too.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import orjson

from botkit._gc import no_cyclic_gc
from botkit.flow import _schema, _yaml, checks
from botkit.flow._campaigns import BotFacts, compile_outreach, is_campaigns_file
from botkit.flow._context import Context, Spot
from botkit.flow._declarations import compile_declarations
from botkit.flow._messages import compile_messages
from botkit.flow._node import Node
from botkit.flow._report import Reporter, Where
from botkit.flow._segments import compile_segments
from botkit.flow._states import compile_fallback, compile_flow_states, compile_transitions
from botkit.flow.durations import seconds
from botkit.flow.model import (
    DEFAULT_EVENT_MEANINGS,
    DEFAULT_OPT_OUT,
    DEFAULT_TIMEZONE,
    Bot,
    EventMeaning,
    Fallback,
    Flow,
    Message,
    Target,
    Transition,
)
from botkit.problems import Problem, Severity, SourceText
from botkit.segments.model import Segment
from botkit.text import bare

if TYPE_CHECKING:  # botkit.campaigns.model imports botkit.flow: see botkit.flow._triggers
    from botkit.campaigns.model import Outreach

__all__ = ["MAX_BOT_BYTES", "CompileResult", "compile_bot", "compile_texts", "flow_files"]

# The flow files of one bot, in all. A 1,000-state flow is about 150 KiB, so this is some 25 of
# them; reading and compiling it takes about two seconds. Files over the cap of one file
# (BK105) are not read, so they do not count.
MAX_BOT_BYTES = 4 * 1024 * 1024
_MIB = 1024 * 1024

_DEFAULT_FALLBACK = Fallback(messages=(), max_misses=3, escalate_to=None)
_DEFAULT_OPT_OUT_SHOWN = ("수신거부", "광고 그만", "unsubscribe")  # DEFAULT_OPT_OUT, as written


@dataclass(slots=True)
class CompileResult:
    """The bot (when there were no errors) and every problem found, sorted."""

    bot: Bot | None
    problems: list[Problem]
    keys_read: set[tuple[str, str]] = field(default_factory=set)
    # What was compiled, file name → YAML text: the store keeps it with each version of the
    # bot, and compile_texts() over it gives the same bot (the same version) back.
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.WARNING]


def flow_files(path: Path) -> list[Path]:
    """The flow files of a bot folder: its ``*.yaml``/``*.yml`` files, not sub-folders, and not
    conversation test files (``*.test.yaml``), which ``botkit test`` reads wherever they are."""
    if path.is_dir():
        return sorted(
            p
            for p in path.iterdir()
            if p.suffix in (".yaml", ".yml") and p.is_file() and not _is_test_name(p)
        )
    return [path]


def _is_test_name(path: Path) -> bool:
    return path.name.endswith((".test.yaml", ".test.yml"))


def compile_bot(paths: Sequence[Path], *, display_root: Path | None = None) -> CompileResult:
    """Compile the bot made of ``paths`` (files; see :func:`flow_files` for folders)."""
    with no_cyclic_gc():
        reporter = Reporter()
        if _too_large(paths, reporter, display_root):
            return CompileResult(None, reporter.sorted())
        docs = []
        for path in paths:
            shown = _display(path, display_root)
            docs.append(_yaml.read_file(path, reporter, display=shown))
        return _compile(docs, reporter)


def compile_texts(texts: Iterable[tuple[str, str]]) -> CompileResult:
    """Compile a bot from ``(name, yaml text)`` pairs; for tests and embedding."""
    with no_cyclic_gc():
        reporter = Reporter()
        docs = [_yaml.read_text(text, name, reporter) for name, text in texts]
        return _compile(docs, reporter)


def _too_large(paths: Sequence[Path], reporter: Reporter, root: Path | None) -> bool:
    """Report BK111 when the files together are over the cap, before any of them is read."""
    sizes = [(path, path.stat().st_size) for path in paths]
    total = sum(size for _, size in sizes if size <= _yaml.MAX_BYTES)
    if total <= MAX_BOT_BYTES:
        return False
    largest, size = max(sizes, key=lambda s: s[1])
    try:
        folder = Path(os.path.commonpath([p.parent for p in paths]))
    except ValueError:  # relative and absolute paths mixed: name the largest file's folder
        folder = largest.parent
    reporter.add(
        "BK111",
        Where(SourceText(_display(largest, root), ()), 1, 1),
        f"the bot folder {_display(folder, root)} holds {_amount(total)} of flow files; "
        f"a bot may be at most {_amount(MAX_BOT_BYTES)} in all, so none of them was read",
        found=f"{len(paths)} files; the largest is {largest.name} ({_amount(size)})",
        hint="keep only this bot's flow files in its folder, and split a bot this large into "
        "several bots",
    )
    return True


def _amount(size: int) -> str:
    if size >= _MIB:
        return f"{size / _MIB:.1f} MiB".replace(".0 MiB", " MiB")
    return f"{size / 1024:,.0f} KiB"


def _display(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            pass
    return str(path)


def _compile(docs: list[_yaml.Document], reporter: Reporter) -> CompileResult:
    used: set[tuple[str, str]] = set()
    clean: list[_yaml.Document] = []
    for doc in docs:
        if doc.usable and _is_conversation_test(doc):
            _not_a_flow(doc, reporter)
        if not doc.usable:
            continue
        before = len(reporter.problems)
        _schema.validate(doc, reporter)
        if len(reporter.problems) == before:
            clean.append(doc)
    usable = [d for d in docs if d.usable and isinstance(d.data, dict)]
    bot_docs = [d for d in usable if "bot" in d.data]
    campaign_docs = [d for d in usable if is_campaigns_file(d.data)]
    flow_docs = [d for d in usable if "bot" not in d.data and not is_campaigns_file(d.data)]
    ctx = Context(reporter, used)
    bot_doc = bot_docs[0] if bot_docs else None
    bot_node = _settings(ctx, bot_docs, clean)
    flow_nodes = [Node(d, (), "flow", reporter, used) for d in flow_docs]
    _declare_flows(ctx, flow_nodes)
    declared = compile_declarations(
        ctx,
        bot_node if bot_doc in clean else None,
        [n for n in flow_nodes if n.doc in clean],
        [d for d in usable if d not in clean and not is_campaigns_file(d.data)],
    )
    segments = (  # after the declarations: segments name goals, experiments, attributes
        compile_segments(ctx, bot_node, _business_events(bot_node), declared.profile or {})
        if bot_node is not None and bot_doc in clean
        else {}
    )
    if bot_node is not None:  # what flows may read as segment.<name>
        for name in segments:
            ctx.declared.segments[name] = Spot(bot_node.doc, ("segments", name))
    flows = _flows(ctx, [n for n in flow_nodes if n.doc in clean], bot_doc)
    clean_bot = bot_node if bot_doc in clean else None
    outreach = compile_outreach(
        ctx,
        [Node(d, (), "campaigns", reporter, used) for d in campaign_docs if d in clean],
        _facts(clean_bot, segments, declared),
    )
    if not flow_docs and usable:
        reporter.add(
            "BK305",
            usable[0].where(()),
            "this bot has no flows",
            hint="add a file that starts with 'flow: <id>' next to bot.yaml",
        )
    bot = None
    if bot_node is not None and bot_doc in clean:
        start = bot_node.get("start")
        ctx.reference("flows", start, lambda: bot_node.where("start"), "BK305")
    if not reporter.has_errors and flows:
        # The graph checks need every reference resolved, so they run on a bot without errors.
        campaigns = [d.data for d in campaign_docs]
        bot = _assemble(ctx, bot_node, flows, declared, segments, outreach, campaigns)
        checks.check_bot(bot, ctx)
        if reporter.has_errors:
            bot = None
    sources = {Path(d.source.path).name: d.text for d in docs}
    return CompileResult(bot, _without_follow_ons(reporter, docs), used, sources)


def _without_follow_ons(reporter: Reporter, docs: list[_yaml.Document]) -> list[Problem]:
    """The problems, less the references (BK3xx) from other files once a file could not be
    read: what it declares is unknown, so the flows, slots and states it would have declared
    would all be reported missing, and fixing the one file makes them go away."""
    problems = reporter.sorted()
    unread = {d.source.path for d in docs if not d.usable}
    if not unread:
        return problems
    return [p for p in problems if not p.code.startswith("BK3") or p.path in unread]


def _is_conversation_test(doc: _yaml.Document) -> bool:
    data = doc.data
    return isinstance(data, dict) and "conversations" in data and not {"flow", "bot"} & set(data)


def _not_a_flow(doc: _yaml.Document, reporter: Reporter) -> None:
    """A conversation test among the flow files gets one problem that says what it is, instead
    of one per key the flow format lacks; it is not read any further."""
    doc.usable = False
    reporter.add(
        "BK201",
        doc.where(("conversations",), key=True),
        "this is a conversation test file, not a flow file",
        hint="name it <name>.test.yaml and put it in the bot's tests/ folder; "
        "'botkit test' runs it",
    )


def _settings(
    ctx: Context, bot_docs: list[_yaml.Document], clean: list[_yaml.Document]
) -> Node | None:
    """The bot's settings file (the first one; any other is BK308), with its languages read
    into ``ctx`` when the file passed the schema."""
    for extra in bot_docs[1:]:
        ctx.reporter.add(
            "BK308",
            extra.where(("bot",), key=True),
            "a bot has one settings file, but this is a second one",
            found=f"also in {bot_docs[0].source.path}",
            hint="merge the two files, or move this one to a folder of its own",
        )
    if not bot_docs:
        return None
    bot_node = Node(bot_docs[0], (), "bot", ctx.reporter, ctx.used)
    if bot_docs[0] in clean:
        locales = bot_node.get("locales") or [bot_node.get("default_locale") or "ko"]
        ctx.locales = tuple(str(x) for x in locales)
        ctx.default_locale = str(bot_node.get("default_locale") or ctx.locales[0])
        if ctx.default_locale not in ctx.locales:
            ctx.reporter.add(
                "BK205",
                bot_node.where("default_locale"),
                f"default language '{ctx.default_locale}' is not in 'locales'",
                expected=", ".join(f"'{loc}'" for loc in ctx.locales),
                hint=f"add '{ctx.default_locale}' to 'locales'",
            )
    return bot_node


def _flows(ctx: Context, nodes: list[Node], bot_doc: _yaml.Document | None) -> dict[str, Flow]:
    """Each flow file that passed the schema, compiled; its version hashes the bot's settings
    too, since they change what the flow does."""
    flows: dict[str, Flow] = {}
    for node in nodes:
        flow_id = str(node.get("flow"))
        states = compile_flow_states(ctx, node, flow_id)
        fallback_node = node.node("fallback", "fallback")
        flows[flow_id] = Flow(
            id=flow_id,
            version=_hash(bot_doc.data if bot_doc else None, node.doc.data),
            title=str(node.get("title") or flow_id),
            description=str(node.get("description") or ""),
            start=str(node.get("start")),
            source=node.doc.source.path,
            states=MappingProxyType(states),
            global_on=compile_transitions(ctx, node, "global", flow_id, in_call=None),
            fallback=compile_fallback(ctx, fallback_node, flow_id),
        )
    return flows


def _declare_flows(ctx: Context, flow_nodes: list[Node]) -> None:
    for node in flow_nodes:
        flow_id = node.data.get("flow")
        if not isinstance(flow_id, str):
            continue
        if flow_id in ctx.declared.flows:
            first = ctx.declared.flows[flow_id].where
            ctx.reporter.add(
                "BK308",
                node.where("flow"),
                f"flow '{flow_id}' is declared twice",
                found=f"also in {first.source.path}:{first.line}",
                hint="give each flow its own id",
            )
            continue
        ctx.declared.flows[flow_id] = Spot(node.doc, ("flow",))
        states = node.data.get("states")
        ctx.declared.states[flow_id] = {
            name: Spot(node.doc, ("states", name))
            for name in (states if isinstance(states, dict) else {})
            if isinstance(name, str)
        }


def _assemble(
    ctx: Context,
    bot_node: Node | None,
    flows: dict[str, Flow],
    declared: Any,
    segments: dict[str, Segment],
    outreach: Outreach,
    campaigns: list[Any],
) -> Bot:
    start = str(bot_node.get("start")) if bot_node else sorted(flows)[0]
    fallback = _DEFAULT_FALLBACK
    messages: dict[str, tuple[Message, ...]] = {}
    global_on: tuple[Transition, ...] = ()
    timeout = 30 * 60.0
    keep = 7 * 86400.0
    migrate: dict[str, Target] = {}
    meanings = dict(DEFAULT_EVENT_MEANINGS)
    opt_out = DEFAULT_OPT_OUT
    if bot_node is not None:
        fb = bot_node.node("fallback", "fallback")
        if fb is not None:
            fallback = compile_fallback(ctx, fb, None) or fallback
        sysmsg = bot_node.node("messages", "system_messages")
        if sysmsg is not None:
            for key in ("error", "please_wait", "try_again", "migrated", "no_agent", "opt_out"):
                messages[key] = compile_messages(ctx, sysmsg, key, None)
        global_on = compile_transitions(ctx, bot_node, "global", None, in_call=None)
        if bot_node.has("inactivity_timeout"):
            timeout = seconds(str(bot_node.get("inactivity_timeout")))
        if bot_node.has("keep_versions"):
            keep = seconds(str(bot_node.get("keep_versions")))
        migrate = _migrate(ctx, bot_node)
        meanings = _business_events(bot_node)
        opt_out = _opt_out(bot_node)[0]
    bot_data = bot_node.doc.data if bot_node else None
    versions = sorted(f.version for f in flows.values())
    # The campaigns are part of the version (a changed campaign goes live as a new version,
    # kept with its sources); a bot without campaigns keeps the version it had before them.
    content = (bot_data, versions, campaigns) if campaigns else (bot_data, versions)
    return Bot(
        id=str(bot_node.get("bot")) if bot_node else start,
        version=_hash(*content),
        title=str(bot_node.get("title") or start) if bot_node else start,
        start=start,
        locales=ctx.locales,
        default_locale=ctx.default_locale,
        inactivity_timeout=timeout,
        fallback=fallback,
        messages=MappingProxyType(messages),
        global_on=global_on,
        slots=MappingProxyType(declared.slots),
        intents=MappingProxyType(declared.intents),
        actions=MappingProxyType(declared.actions),
        goals=MappingProxyType(declared.goals),
        experiments=MappingProxyType(declared.experiments),
        promotions=MappingProxyType(declared.promotions),
        hours=MappingProxyType(declared.hours),
        flows=MappingProxyType(flows),
        migrate=MappingProxyType(migrate),
        keep_versions=keep,
        business_events=MappingProxyType(meanings),
        segments=MappingProxyType(segments),
        opt_out=opt_out,
        profile=MappingProxyType(declared.profile or {}),
        outreach=outreach,
    )


def _opt_out(bot_node: Node | None) -> tuple[frozenset[str], tuple[str, ...]]:
    """bot.yaml's ``opt_out:`` words, squashed as the user's words are compared, and as
    written (for problems): the defaults when it names none, none at all for ``opt_out: []``
    (then the bot may send no advertising, BK433)."""
    words = bot_node.get("opt_out") if bot_node is not None else None
    if not isinstance(words, list):
        return DEFAULT_OPT_OUT, _DEFAULT_OPT_OUT_SHOWN
    shown = tuple(str(w) for w in words)
    return frozenset(filter(None, (bare(w) for w in shown))), shown


def _facts(bot_node: Node | None, segments: dict[str, Segment], declared: Any) -> BotFacts:
    """What the campaigns read of the bot settings (``bot_node``: None when there are none,
    or they did not pass the schema)."""
    opt_out, shown = _opt_out(bot_node)
    named = bot_node.data.get("segments") if bot_node is not None else None
    hours = declared.hours.values()
    return BotFacts(
        events=_business_events(bot_node) if bot_node is not None else DEFAULT_EVENT_MEANINGS,
        segments=segments,
        segment_names=frozenset(named if isinstance(named, dict) else ()),
        profile=declared.profile or {},
        opt_out=opt_out,
        opt_out_shown=shown,
        timezone=next((h.timezone for h in hours), DEFAULT_TIMEZONE),
    )


def _migrate(ctx: Context, bot_node: Node) -> dict[str, Target]:
    """``migrate:``: each earlier version's state (any name: it need not exist any more) and
    the state of this version its conversations move to, which must exist."""
    moves = bot_node.get("migrate")
    out: dict[str, Target] = {}
    if not isinstance(moves, dict):
        return out
    for old, new in moves.items():
        where = bot_node.where_path("migrate", old)
        target = ctx.resolve(str(new), where, None)
        if target is not None:
            out[str(old)] = target
    return out


def _business_events(bot_node: Node) -> dict[str, EventMeaning]:
    """``business_events:`` over the defaults: what each kind's amount does to revenue, and
    whether it is a conversion (the schema has checked the words)."""
    out = dict(DEFAULT_EVENT_MEANINGS)
    for kind, node in bot_node.members("business_events", "business_event"):
        default = out.get(kind)
        revenue = node.get("revenue")
        conversion = node.get("conversion")
        out[kind] = EventMeaning(
            kind,
            str(revenue) if revenue is not None else (default.revenue if default else "none"),
            bool(conversion) if conversion is not None else bool(default and default.conversion),
        )
    return out


def _hash(*parts: object) -> str:
    """Content hash: the same content gives the same version, whatever the comments or layout."""
    canonical = orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()[:16]
