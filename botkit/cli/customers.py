"""``botkit customers import``: the shop's customer list, from its CRM into the store.

A file is CSV (a header row: ``id`` and the attributes of bot.yaml's ``profile:``) or JSON lines
(``{"id": "C-1042", "profile": {"grade": "VIP"}}``, or the attributes beside the id). Each line
replaces that customer's whole profile; a line that is wrong (an attribute the profile does not
declare, a value of the wrong type, no id) is refused with its line number and why, and the
rest is loaded. Importing the same file again changes nothing. Its imports are lazy, as
botkit/cli/main.py says why.

Profiles are personal data: nothing here prints or logs a value, only line numbers, attribute
names and what kind of value was expected.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click

if TYPE_CHECKING:
    from botkit.audience import Audience, ConsentChange
    from botkit.flow.model import ProfileAttribute

__all__ = ["customers"]

SOURCE = "import"  # the source of the consents an import records
CONSENTS = ("marketing", "night")  # consent columns, each with an optional <name>_at
RESERVED = frozenset({"id", *CONSENTS, *(f"{c}_at" for c in CONSENTS)})
LIST_SEPARATOR = ";"  # between the items of a list attribute in a CSV cell
MAX_SHOWN = 50  # refused lines printed one by one; the rest are counted
# A whole number's digits at most: a longer one is no count or amount a CRM means, and the
# stores' JSON and SQL would refuse or round it (so it is refused here, by its line).
MAX_DIGITS = 18

_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_INTEGER = re.compile(r"[-+]?[0-9]+")
_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0"})

Schema = Mapping[str, "ProfileAttribute"]

# When an import happens (what its consents without a time are dated, the customers' updated_at):
# the wall clock, read once per import; tests put a clock of their own here.
clock: Callable[[], float] = time.time


@dataclass(frozen=True, slots=True)
class Row:
    """A line that is right: the customer, their whole profile, and the consents it gives."""

    line: int
    customer: str
    profile: dict[str, Any]
    # each consent the line gives, and whether the line says when (else it is the import's)
    consents: tuple[tuple[ConsentChange, bool], ...]


@dataclass(frozen=True, slots=True)
class Refused:
    """A line that is not, and why (in words that hold none of its values)."""

    line: int
    reason: str


@click.group()
def customers() -> None:
    """The shop's customers: their profiles and consent."""


@customers.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--store",
    "store_url",
    required=True,
    help="sqlite:///botkit.db or postgresql://user@host/db: the store the bot runs on",
)
@click.option(
    "--bot",
    "bot_path",
    default="flows",
    show_default=True,
    type=click.Path(path_type=Path),
    help="the bot whose profile: (bot.yaml) types the attributes",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "csv", "jsonl"]),
    default="auto",
    show_default=True,
    help="auto: by the file's extension (.csv, else JSON lines)",
)
def import_(file: Path, store_url: str, bot_path: Path, fmt: str) -> None:
    """Load customer profiles from FILE, CSV or JSON lines, each line replacing that
    customer's whole profile.

    CSV: a header row with 'id' and the profile's attributes; an empty cell is no value; a list
    attribute's items are separated by ';'. JSON lines: {"id": ..., "profile": {...}}, or the
    attributes beside the id. Optional consent columns (keys): 'marketing' and 'night'
    (true/false), each with '<name>_at' (an ISO date or time; default: now), recorded with
    source 'import' when they change; one said before the stored one is not applied, nor an
    undated 'true' over an opt-out the customer typed ('수신거부'). Every line that is wrong
    is named with its number and why, and the others are loaded; importing the same file
    twice changes nothing.

    Exits 0 when every line was loaded, 1 when some lines were refused (the others are
    loaded) or the store failed, 2 on a usage error (no such bot, a column the profile does
    not declare, a store that cannot be opened).
    """
    import asyncio

    from botkit.errors import StorageError

    schema, zone = _schema(bot_path)
    if store_url.startswith("memory:"):
        raise click.UsageError("memory:// keeps nothing once the command ends: give a store URL")
    kind = fmt if fmt != "auto" else ("csv" if file.suffix.lower() == ".csv" else "jsonl")
    now = clock()
    text = _read(file)
    lines = (
        read_csv(text, schema, zone, now) if kind == "csv" else read_jsonl(text, schema, zone, now)
    )
    rows, refused = _split(lines)
    store = _open(store_url)

    async def run() -> tuple[int, int]:
        try:
            await store.open()
        except StorageError as exc:
            raise click.UsageError(f"the store cannot be opened: {exc}") from exc
        try:
            return await load(_audience(store), rows, now)
        finally:
            await store.close()

    try:
        changed, consents = asyncio.run(run())
    except StorageError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    for bad in refused[:MAX_SHOWN]:
        click.echo(f"{file.name}:{bad.line}: refused: {bad.reason}")
    if len(refused) > MAX_SHOWN:
        click.echo(f"… and {len(refused) - MAX_SHOWN} more refused lines")
    click.echo(_summary(len(rows), changed, consents, len(refused)))
    sys.exit(1 if refused else 0)


def _summary(loaded: int, changed: int, consents: int, refused: int) -> str:
    """``997 loaded (997 changed) · 3 refused``: what the import did, on one line."""
    what = f"{changed} changed"
    if consents:
        what += f", {consents} consent{'s' if consents != 1 else ''} changed"
    return f"{loaded} loaded ({what}) · {refused or 'none'} refused"


# -- what the import needs ---------------------------------------------------------------------


def _schema(bot_path: Path) -> tuple[Schema, ZoneInfo]:
    """The bot's profile schema (empty when it declares none) and its time zone; a bot that
    does not compile is a usage error."""
    from botkit.flow import compile_bot, flow_files
    from botkit.problems import render_problems

    if not bot_path.exists():
        raise click.BadParameter(f"no bot at {bot_path}", param_hint="--bot")
    files = flow_files(bot_path)
    result = compile_bot(files, display_root=Path.cwd()) if files else None
    if result is None or result.bot is None:
        if result is not None:
            click.echo(render_problems(result.problems), err=True)
        raise click.BadParameter(f"{bot_path} is not a bot that compiles", param_hint="--bot")
    return result.bot.profile, ZoneInfo(result.bot.timezone)


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8-sig")  # Excel's "CSV UTF-8" starts with a BOM
    except UnicodeDecodeError as exc:
        raise click.UsageError(
            f"{file.name} is not UTF-8 text (a CSV saved by Excel as 'CSV' is CP949): "
            "save it as 'CSV UTF-8'"
        ) from exc


def _open(store_url: str) -> Any:
    from botkit.storage import open_store

    try:
        return open_store(store_url)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc


def _audience(store: object) -> Audience:
    from botkit.audience import Audience

    if not isinstance(store, Audience):
        raise click.UsageError("this store keeps no customers")
    return store


def _split(lines: Iterable[Row | Refused]) -> tuple[list[Row], list[Refused]]:
    """The rows to load and the lines refused; a customer is on one line of a file only (a
    second line for them is refused, so that a second import finds nothing to change)."""
    rows: list[Row] = []
    refused: list[Refused] = []
    first: dict[str, int] = {}
    for item in lines:
        if isinstance(item, Refused):
            refused.append(item)
        elif item.customer in first:
            earlier = first[item.customer]
            refused.append(Refused(item.line, f"the same customer id as line {earlier}"))
        else:
            first[item.customer] = item.line
            rows.append(item)
    return rows, refused


async def load(audience: Audience, rows: list[Row], at: float) -> tuple[int, int]:
    """Store ``rows``: every profile in one transaction, then the consents that differ from
    what the store has and that it takes (a consent said before the stored one, or an undated
    "yes" over a member's "수신거부", is left as stored). Returns (profiles changed, consents
    changed)."""
    changed = await audience.put_profiles([(r.customer, r.profile) for r in rows], at)
    consents = 0
    for row in rows:
        for change, timed in row.consents:
            # the store may keep what it has (a newer word, the member's own opt-out): False
            differs = await _differs(audience, row.customer, change, timed)
            if differs and await audience.change_consent(row.customer, change):
                consents += 1
    return changed, consents


async def _differs(audience: Audience, customer: str, change: ConsentChange, timed: bool) -> bool:
    """Whether ``change`` would change the stored consent: a value that differs, or the same
    value said at another time the file gives (``timed``; without a time, the consent the
    store has already says it)."""
    stored = await audience.consent(customer)
    for name in CONSENTS:
        value = getattr(change, name)
        if value is None:
            continue
        if stored.get(name) != value:
            return True
        if timed and stored.get(f"{name}_at") != change.at:
            return True
    return False


# -- reading the file --------------------------------------------------------------------------


def read_csv(text: str, schema: Schema, zone: ZoneInfo, now: float) -> Iterator[Row | Refused]:
    """The lines of a CSV text; its header is checked first (a usage error when wrong)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise click.UsageError(f"the header line is not CSV: {_unreadable(exc)}") from None
    if not header:
        raise click.UsageError("the file is empty: the first line names the columns (id, ...)")
    columns = [name.strip() for name in header]
    _check_header(columns, schema)
    line = reader.line_num + 1
    for cells in _records(reader):
        start, line = line, reader.line_num + 1  # a quoted cell may span lines
        if isinstance(cells, csv.Error):
            yield Refused(start, _unreadable(cells))
            continue
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(columns):
            yield Refused(start, f"{len(cells)} cells where the header has {len(columns)}")
            continue
        fields = {name: cell.strip() for name, cell in zip(columns, cells, strict=True)}
        values = {
            name: _cell(cell, schema.get(name))
            for name, cell in fields.items()
            if name not in RESERVED and cell
        }
        consents = {k: v for k, v in fields.items() if k in RESERVED and k != "id" and v}
        yield _row(start, fields["id"], values, consents, schema, zone, now)


def _records(reader: Iterator[list[str]]) -> Iterator[list[str] | csv.Error]:
    """The reader's records, one it cannot read as its error: the reader then reads on from
    the next line, so the rest of the file is loaded."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield exc


def _unreadable(error: csv.Error) -> str:
    """Why the csv module could not read a line (its messages hold no cell's text)."""
    if "field limit" in str(error):
        return f"a cell longer than {csv.field_size_limit():,} characters"
    return f"not a CSV line ({error})"


def _check_header(columns: list[str], schema: Schema) -> None:
    import difflib

    if "id" not in columns:
        raise click.UsageError("the header has no 'id' column (the customer id)")
    for i, name in enumerate(columns, start=1):
        if not name:
            raise click.UsageError(f"column {i} of the header has no name")
        if columns.index(name) != i - 1:
            raise click.UsageError(f"the header names column '{name}' twice")
        if schema and name not in schema and name not in RESERVED:
            close = difflib.get_close_matches(name, list(schema), n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise click.UsageError(
                f"column '{name}' is not an attribute of the profile bot.yaml declares; "
                f"{hint}declared: {', '.join(sorted(schema))}"
            )


def _cell(cell: str, attribute: ProfileAttribute | None) -> Any:
    """A CSV cell as its attribute's type reads it; a cell that does not read as one is
    passed on as text, for check_profile to refuse with what was expected."""
    kind = attribute.type if attribute is not None else "text"
    if kind == "number" and _NUMBER.fullmatch(cell):
        if _INTEGER.fullmatch(cell):
            # int() of a text of thousands of digits raises: count them first
            return int(cell) if _digits(cell) <= MAX_DIGITS else TooLong()
        number = float(cell)
        if math.isfinite(number):  # 1e999 is no number a CRM means: refused as text
            return number
    if kind == "boolean":
        word = cell.lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
    if kind == "list":
        return [item.strip() for item in cell.split(LIST_SEPARATOR) if item.strip()]
    return cell


@dataclass(frozen=True, slots=True)
class TooLong:
    """A CSV cell that is a whole number of more than MAX_DIGITS digits (never its text)."""


def _digits(integer: str) -> int:
    """How many digits a whole number written as ``integer`` has (leading zeros aside)."""
    return len(integer.lstrip("+-").lstrip("0"))


def _too_long(value: Any) -> bool:
    """Whether ``value``, or an item of it, is a whole number of more than MAX_DIGITS digits."""
    if isinstance(value, list):
        return any(_too_long(item) for item in value)
    if isinstance(value, TooLong):
        return True
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**MAX_DIGITS


def read_jsonl(text: str, schema: Schema, zone: ZoneInfo, now: float) -> Iterator[Row | Refused]:
    """The lines of a JSON lines text: each one object, ``{"id", "profile": {...}}`` or the
    attributes beside the id, with the consent keys beside the id either way."""
    # Lines end at "\n" only: splitlines() would also split at U+2028, U+0085 or 0x1C, which
    # JSON allows unescaped inside a string, and number the lines after them wrong.
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            yield Refused(number, "not a JSON object (JSON lines: one object per line)")
            continue
        except ValueError:  # a whole number of thousands of digits, which int() refuses
            yield Refused(number, f"a whole number of more than {MAX_DIGITS} digits")
            continue
        if not isinstance(data, dict):
            yield Refused(number, "not a JSON object (JSON lines: one object per line)")
            continue
        consents = {k: v for k, v in data.items() if k in RESERVED and k != "id" and v is not None}
        rest = {k: v for k, v in data.items() if k not in RESERVED}
        if "profile" in rest and not (schema and "profile" in schema):
            values = rest.pop("profile")
            if rest:
                others = ", ".join(sorted(rest)[:5])
                yield Refused(
                    number, f"keys beside 'profile' that are not id or consent: {others}"
                )
                continue
            if not isinstance(values, dict):
                yield Refused(number, "'profile' is not an object of attributes")
                continue
        else:
            values = rest
        customer = data.get("id")
        if isinstance(customer, int) and not isinstance(customer, bool):
            customer = str(customer)
        yield _row(number, customer, values, consents, schema, zone, now)


def _row(
    line: int,
    customer: Any,
    values: Mapping[str, Any],
    consents: Mapping[str, Any],
    schema: Schema,
    zone: ZoneInfo,
    now: float,
) -> Row | Refused:
    from botkit.adapters.checks import id_problem
    from botkit.audience.ids import customer_id_problem
    from botkit.audience.profile import check_profile

    if not isinstance(customer, str):
        return Refused(line, "no customer id ('id')")
    problem = id_problem(customer)
    if problem is not None:
        return Refused(line, f"the customer id {problem}")
    if (problem := customer_id_problem(customer)) is not None:  # as the API and /events ask
        return Refused(line, f"the customer id {problem}")
    long = sorted(name for name, value in values.items() if _too_long(value))
    reasons = [
        f"attribute '{name}': a whole number of more than {MAX_DIGITS} digits" for name in long
    ]
    profile, errors = check_profile(
        schema, {k: v for k, v in values.items() if k not in long}, partial=False
    )
    reasons += [f"attribute '{e.attribute}': {e.message}" for e in errors]
    changes, problem = _consents(consents, zone, now)
    if problem is not None:
        reasons.append(problem)
    if reasons:
        return Refused(line, "; ".join(reasons))
    return Row(line, customer, profile, changes)


def _consents(
    fields: Mapping[str, Any], zone: ZoneInfo, now: float
) -> tuple[tuple[tuple[ConsentChange, bool], ...], str | None]:
    """The consents a line gives, one change each (each may have its own time; without one,
    it is ``now``), with whether the line gave the time; or why they cannot be read."""
    from botkit.audience import ConsentChange

    changes: list[tuple[ConsentChange, bool]] = []
    for name in CONSENTS:
        value, said = fields.get(name), fields.get(f"{name}_at")
        if value is None:
            if said is not None:
                return (), f"'{name}_at' without '{name}'"
            continue
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            value = value.strip().lower() in _TRUE
        if not isinstance(value, bool):
            return (), f"consent '{name}' must be true or false"
        at = _instant(said, zone) if said is not None else now
        if at is None:
            return (), f"'{name}_at' must be an ISO date or time, e.g. 2026-03-01T09:30:00+09:00"
        dated = said is not None
        change = ConsentChange(at=at, source=SOURCE, dated=dated, **{name: value})
        changes.append((change, dated))
    return tuple(changes), None


def _instant(value: Any, zone: ZoneInfo) -> float | None:
    """An ISO date or time as a timestamp; one without an offset is read in the bot's zone."""
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.timestamp()
