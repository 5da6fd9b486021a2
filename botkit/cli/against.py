"""``botkit check --against <store>``: who a deploy of these flows would move.

A conversation that started on an earlier version of the bot comes over to the new one when
its version is retired (botkit/engine/migrating.py). Where its state is gone, it moves where
bot.yaml's ``migrate:`` says, or else starts its flow again: that is what a designer wants to
know before the deploy, not after. This reads the live conversations of a store (in a
conversation, not closed, heard from within the bot's ``inactivity_timeout``), counts them per
state, and asks :func:`botkit.engine.migrating.destination` where each state goes.

The store is opened as read-only commands open it (``create=False``): a typo in the URL is an
error, never an empty store created on the spot. Store problems are usage problems here (exit
2, one line on stderr): the flows were not checked against anything.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

import click

from botkit.errors import StorageError
from botkit.masking import hide_passwords
from botkit.problems import cells

if TYPE_CHECKING:
    from botkit.flow.model import Bot
    from botkit.problems import Problem
    from botkit.storage import Store
    from botkit.storage.base import LiveState

__all__ = [
    "Against",
    "StoreUnusable",
    "Stranded",
    "against_json",
    "check_against",
    "open_against",
    "read_against",
    "render_against",
    "stranded",
]

_EMPTY = ("memory://", "sqlite://:memory:", "sqlite:///:memory:")  # new and empty every time


class StoreUnusable(click.ClickException):
    """The store ``--against`` names cannot be read: one line on stderr, exit 2."""

    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: --against: {self.format_message()}", err=True, file=file)


@dataclass(frozen=True, slots=True)
class Stranded:
    """Live sessions at a ``state`` the checked version does not keep: how many (in all, and
    per bot ``version`` they are on), ``how`` they come over (``migrate``: bot.yaml's
    ``migrate:`` covers them; ``restart``: not covered) and the state they go ``to``."""

    state: str
    sessions: int
    versions: dict[str, int]
    how: str
    to: str

    @property
    def covered(self) -> bool:
        return self.how == "migrate"

    def to_json(self) -> dict[str, object]:
        return {
            "state": self.state,
            "sessions": self.sessions,
            "versions": dict(self.versions),
            "how": self.how,
            "to": self.to,
            "covered": self.covered,
        }


@dataclass(frozen=True, slots=True)
class Against:
    """What a store says about a version: the ``store`` (its URL, password hidden), the
    ``window`` (seconds: the bot's inactivity timeout) and instant ``since`` which a session
    must have been heard from to count, how many live sessions were ``checked``, and the
    ``stranded`` ones, most sessions first."""

    store: str
    window: float
    since: float
    checked: int
    stranded: tuple[Stranded, ...] = field(default=())

    @property
    def uncovered(self) -> list[Stranded]:
        return [s for s in self.stranded if not s.covered]


def stranded(bot: Bot, live: Iterable[LiveState]) -> list[Stranded]:
    """The states of ``live`` that ``bot`` does not keep (counts summed over versions), most
    sessions first, then by state."""
    from botkit.engine.migrating import destination

    per_state: dict[str, dict[str, int]] = {}
    for row in live:
        versions = per_state.setdefault(row.state, {})
        versions[row.version] = versions.get(row.version, 0) + row.sessions
    out = []
    for state, versions in per_state.items():
        how, target = destination(bot, state)
        if how != "kept":
            to = f"{target[0]}.{target[1]}"
            out.append(Stranded(state, sum(versions.values()), versions, how, to))
    return sorted(out, key=lambda s: (-s.sessions, s.state))


def open_against(url: str) -> Store:
    """The store ``url`` names, for reading (not yet opened); StoreUnusable when the URL is
    not one botkit reads, or names a store that is always empty."""
    from botkit.storage import open_store

    if url in _EMPTY:
        raise StoreUnusable(f"{url} is empty every time it is opened: name the bot's store")
    try:
        return open_store(url, create=False)
    except ValueError as exc:
        raise StoreUnusable(hide_passwords(str(exc))) from exc


async def read_against(bot: Bot, store: Store, url: str, *, now: float) -> Against:
    """Open ``store`` (the one ``url`` names), read its live sessions as of ``now`` and close
    it; StoreUnusable when it cannot be opened or read."""
    since = now - bot.inactivity_timeout
    try:
        await store.open()
        try:
            live = await store.live_states(since=since)
        finally:
            await store.close()
    except StorageError as exc:
        raise StoreUnusable(hide_passwords(str(exc))) from exc
    return Against(
        store=hide_passwords(url),
        window=bot.inactivity_timeout,
        since=since,
        checked=sum(row.sessions for row in live),
        stranded=tuple(stranded(bot, live)),
    )


def check_against(bot: Bot | None, url: str, *, now: float) -> Against | None:
    """What the command does: :func:`open_against` (a URL it cannot read fails even when the
    bot has errors), then :func:`read_against` on an event loop of its own; None, the store
    left unread, when there is no ``bot`` (it has errors)."""
    store = open_against(url)
    if bot is None:
        return None
    return asyncio.run(read_against(bot, store, url, now=now))


# --- how it is shown -----------------------------------------------------------------------


def render_against(against: Against | None, url: str) -> str:
    """The section ``botkit check`` prints after the flows' problems (or its "ok" line)."""
    if against is None:
        return f"not checked against {hide_passwords(url)}: the bot has errors"
    where = f"{against.store}, active in the last {_span(against.window)}"
    if not against.stranded:
        return (
            f"no live conversation is at a state this version does not have: "
            f"{_count(against.checked)} checked ({where})"
        )
    lines = [f"live conversations at states this version does not have ({where}):"]
    width = max(cells(s.state) for s in against.stranded)
    digits = max(len(str(s.sessions)) for s in against.stranded)
    for s in against.stranded:
        pad = " " * (width - cells(s.state))
        head = f"  {s.state}{pad}  {s.sessions:>{digits}} {_noun(s.sessions)} → {s.to}"
        if s.covered:
            lines.append(f"{head} (migrate:)")
        else:
            # the flow's start when the flow is still there, else the bot's (another flow)
            same_flow = s.to.partition(".")[0] == s.state.partition(".")[0]
            again = "the flow" if same_flow else "the bot"
            lines.append(f"{head}: NOT COVERED, they start {again} again")
    if against.uncovered:
        lines.append(
            "add the uncovered states to 'migrate:' in bot.yaml (old flow.state: new flow.state)"
        )
    else:
        lines.append("every one of them is covered by 'migrate:' in bot.yaml")
    return "\n".join(lines)


def against_json(problems: Sequence[Problem], against: Against | None, url: str) -> str:
    """``--format json`` with ``--against``: one object, the problems as ``check`` lists them
    without it, and the stranded states (``null`` when the bot has errors: not checked)."""
    out: dict[str, object] = {
        "problems": [p.to_json() for p in problems],
        "store": hide_passwords(url),
        "active_since": None,
        "live_sessions": None,
        "stranded": None,
    }
    if against is not None:
        out["active_since"] = against.since
        out["live_sessions"] = against.checked
        out["stranded"] = [s.to_json() for s in against.stranded]
    return json.dumps(out, ensure_ascii=False, indent=2)


def _count(sessions: int) -> str:
    return f"{sessions} live {_noun(sessions)}"


def _span(seconds: float) -> str:
    """``1800`` → ``30 minutes``: the largest unit that divides it."""
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = int(seconds // size)
            return f"{n} {unit}" if n == 1 else f"{n} {unit}s"
    return f"{seconds:g} seconds"


def _noun(sessions: int) -> str:
    return "session" if sessions == 1 else "sessions"
