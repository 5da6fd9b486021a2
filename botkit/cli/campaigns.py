"""``botkit campaigns``: ``plan`` (a dry run: who each campaign would send to at an instant,
and who not and why) and ``run`` (a sender of its own, beside or instead of the servers').

Both plan with the function the servers' senders use (``botkit.runtime.planning.plan_at``), so
a dry run at an instant gives the counts a run at that instant sends. Member ids are printed
only with ``--members``, never logged. Its imports are lazy, as botkit/cli/main.py says why.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click

from botkit.cli.segments import instant
from botkit.errors import ConfigurationError, StorageError

if TYPE_CHECKING:
    from botkit.campaigns.plan import CampaignPlan
    from botkit.flow.model import Bot

__all__ = ["campaigns"]

_STORE_HELP = "sqlite:///botkit.db, postgresql://user@host/db, memory://"


@click.group()
def campaigns() -> None:
    """Campaigns: messages the bot sends first (campaigns.yaml beside the flows)."""


@campaigns.command("plan")
@click.argument("flows", type=click.Path(exists=True, path_type=Path))
@click.option("--store", "store_url", required=True, help=_STORE_HELP)
@click.option(
    "--at",
    "at_text",
    required=True,
    help="the instant: 2026-12-10T10:00 (the bot's time zone unless it says +09:00), or now",
)
@click.option("--members", is_flag=True, help="list each member decided about, and why")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help='json: [{"campaign", "eligible", "excluded": {rule: n}, "capped", "quiet", '
    '"held_out", "to_send", "later"}]',
)
def plan_command(flows: Path, store_url: str, at_text: str, members: bool, fmt: str) -> None:
    """Who each campaign of the bot in FLOWS would send to at --at, without sending anything
    or writing to the store: how many are eligible, excluded by each rule (and by the
    built-in ones: no marketing consent, unreachable), capped, put off by the quiet window,
    held out, and to be sent now (with those an earlier plan put off that are due now).
    Exits 2 on a usage error."""
    bot = _bot(flows)
    at = _instant(at_text, bot)
    store = _open(store_url, create=False)

    async def run() -> list[CampaignPlan]:
        from botkit.runtime.planning import plan_at

        await store.open()
        try:
            return await plan_at(store, bot.outreach, at, keep=False, members=members)
        finally:
            await store.close()

    plans = _run(run())
    shown = dt.datetime.fromtimestamp(at, ZoneInfo(bot.outreach.timezone)).isoformat()
    if fmt == "json":
        out: list[dict[str, Any]] = []
        for p in plans:
            entry = p.as_json()
            if members:
                entry["members"] = [_member_json(d) for d in p.decisions]
            out.append(entry)
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        click.echo(_table(plans, shown, members))


@campaigns.command("run")
@click.argument("flows", type=click.Path(exists=True, path_type=Path))
@click.option("--store", "store_url", required=True, help=_STORE_HELP)
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="a settings file as for serve (the Event API's URL and key, the dealers' webhook)",
)
@click.option("--once", is_flag=True, help="one tick: plan, send what is due, and stop")
@click.option(
    "--every",
    "every_s",
    type=click.FloatRange(min=1.0, max=3600.0),
    default=30.0,
    show_default=True,
    callback=lambda ctx, param, value: _finite(value, param),
    help="seconds between ticks (1 to 3600)",
)
@click.option(
    "--at",
    "at_text",
    default=None,
    help="plan and send as if it were this instant (a clock that stands still; for rehearsals)",
)
def run_command(
    flows: Path,
    store_url: str,
    config_file: Path | None,
    once: bool,
    every_s: float,
    at_text: str | None,
) -> None:
    """Send the campaigns of the bot in FLOWS from this process: plan what is due, claim it
    from the store (several senders share the work), and hand it to KakaoTalk's Event API,
    the widget (a visitor's session; their open tabs get it from the server) or the dealers'
    webhook. Settings as for serve (BOTKIT_KAKAO_EVENT_API_URL, BOTKIT_KAKAO_REST_API_KEY,
    BOTKIT_DEALER_URL, BOTKIT_DEALER_SECRET). Stops on Ctrl-C; a send it held when killed is
    taken again by the next sender once its lease runs out."""
    import time

    from botkit.server.config import load_settings

    try:
        settings = load_settings(config_file, overrides={"store": store_url})
    except ConfigurationError as exc:
        raise click.UsageError(str(exc)) from exc
    bot = _bot(flows)
    fixed = _instant(at_text, bot) if at_text is not None else None
    clock = (lambda: fixed) if fixed is not None else time.time
    store = _open(store_url, create=True)
    result = _run(_send(flows, store, settings, clock, once=once, every_s=every_s))
    click.echo(
        f"planned {result.planned:,} · sent {result.sent:,} · failed {result.failed:,} · "
        f"parked {result.parked:,} · expired {result.expired:,} · withdrawn {result.withdrawn:,}"
    )


async def _send(
    flows: Path,
    store: Any,
    settings: Any,
    clock: Any,
    *,
    once: bool,
    every_s: float,
) -> Any:
    import signal

    import httpx

    from botkit.app import load
    from botkit.server.outreach import providers, web_pushes
    from botkit.server.sender import Sender

    app = load(flows)
    await store.open()
    client = httpx.AsyncClient(timeout=httpx.Timeout(10.0), follow_redirects=False)
    runtime = app.runtime(store, clock=clock, http=client)
    sender = Sender(
        store,
        runtime,
        lambda: runtime.bot,
        providers=providers(settings, client),
        deliver=web_pushes(store),
        now=clock,
    )
    try:
        if once:
            return await sender.tick()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await sender.run(stop, every_s=every_s)
    finally:
        for provider in sender.providers.values():
            await provider.aclose()
        await runtime.aclose()
        await client.aclose()
        await store.close()


def _finite(value: float, param: click.Parameter) -> float:
    """FloatRange lets "nan" through (no comparison holds for it)."""
    if not math.isfinite(value):
        raise click.BadParameter("must be a number of seconds", param=param)
    return value


def _bot(flows: Path) -> Bot:
    from botkit.flow import compile_bot, flow_files
    from botkit.problems import render_problems

    compiled = compile_bot(flow_files(flows))
    if compiled.bot is None:
        raise click.UsageError("the bot has errors:\n" + render_problems(compiled.problems))
    if not compiled.bot.outreach.campaigns:
        raise click.UsageError("the bot has no campaigns (campaigns.yaml beside the flows)")
    return compiled.bot


def _instant(text: str, bot: Bot) -> float:
    try:
        return instant(text, bot.outreach.timezone)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--at") from exc


def _open(url: str, *, create: bool) -> Any:
    from botkit.storage import open_store

    try:
        return open_store(url, create=create)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc


def _run(work: Any) -> Any:
    try:
        return asyncio.run(work)
    except StorageError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


def _member_json(send: Any) -> dict[str, Any]:
    return {
        "member": send.member,
        "decision": send.status,
        "reason": send.reason,
        "variant": send.variant,
        "channel": send.channel,
        "run": send.run,
    }


def _table(plans: list[CampaignPlan], shown: str, members: bool) -> str:
    from botkit.problems import cells as width

    heads = ("campaign", "eligible", "excluded", "capped", "quiet", "held out", "to send")
    rows = [heads]
    for p in plans:
        excluded = sum(p.excluded.values())
        j = p.as_json()
        rows.append(
            (
                p.campaign,
                f"{p.eligible:,}",
                f"{excluded:,}",
                f"{p.capped:,}",
                f"{p.quiet:,}",
                f"{p.held_out:,}",
                f"{j['to_send']:,}",
            )
        )
    widths = [max(width(r[i]) for r in rows) for i in range(len(heads))]
    lines = [f"campaigns at {shown}", ""]
    for r in rows:
        cells = [r[0] + " " * (widths[0] - width(r[0]))]
        cells += [" " * (widths[i] - width(r[i])) + r[i] for i in range(1, len(r))]
        lines.append("  ".join(cells))
    for p in plans:
        if p.excluded:
            rules = ", ".join(f"{rule} {n:,}" for rule, n in sorted(p.excluded.items()))
            lines.append(f"  {p.campaign} excluded by: {rules}")
    if members:
        for p in plans:
            lines += ["", f"{p.campaign} ({len(p.decisions):,}):"]
            lines += [
                f"  {d.member}  {d.status}" + (f" ({d.reason})" if d.reason else "")
                for d in p.decisions
            ]
    return "\n".join(lines)
