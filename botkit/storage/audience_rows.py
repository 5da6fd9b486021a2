"""What the three stores share to keep the audience (:class:`~botkit.audience.Audience`): how a
profile is written as text, what a PATCH makes of one, which columns a consent change sets, and
the statements and rows of the audience log, written once for both SQL dialects.

A profile is stored as JSON with its attributes sorted, so the same profile is always the same
text: an import compares texts to tell a changed customer from one sent again unchanged.
Nothing here puts a profile value, a user or a code in an error message (they are personal
data, and messages get logged): errors name the field at fault, never its value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

import orjson

from botkit.audience.model import AudienceEntry, Consent, ConsentChange, Customer
from botkit.errors import StorageError
from botkit.storage.base import dump_json
from botkit.storage.sql import Mark

__all__ = [
    "CONSENTED",
    "CONSENT_COLUMN",
    "CONSENT_COLUMNS",
    "IMPORT",
    "KEPT_TWICE",
    "LINKED",
    "LINK_CODE",
    "LOG_COLUMNS",
    "NONCE",
    "OPT_OUT",
    "UNLINKED",
    "Statements",
    "changed_profiles",
    "consent_dict",
    "consent_fields",
    "consent_update",
    "log_query",
    "log_row",
    "merged",
    "need",
    "need_time",
    "profile_of",
    "profile_text",
    "to_consent",
    "to_customer",
    "to_entries",
]

# Each consent a plan may ask about (Audience.consenting), and its column: only these names
# ever reach an SQL statement.
CONSENT_COLUMN = {"marketing": "marketing", "night": "night"}

# audience_log kinds
LINKED = "linked"
UNLINKED = "unlinked"
CONSENTED = "consent"
# consent sources the rule of consent_update names
OPT_OUT = "opt_out_words"  # the member typed a designer-named opt-out word
IMPORT = "import"  # botkit customers import: a CRM file
# one_time purposes
LINK_CODE = "link"
NONCE = "nonce"

# Consent's fields in order: the consents table's columns after ``member``.
CONSENT_COLUMNS = (
    "marketing",
    "marketing_at",
    "marketing_source",
    "night",
    "night_at",
    "night_source",
)
_CONSENTS = ("marketing", "night")  # what a ConsentChange may set, each with _at and _source

# audience_log's columns after ``id``; "user" is quoted: PostgreSQL reserves the word.
LOG_COLUMNS = 'at, kind, member, "user", source, data'


KEPT_TWICE = "this link code is already kept"


def need(value: object, what: str) -> str:
    """``value`` when it is non-empty text; StorageError naming ``what`` (never the value)."""
    if not isinstance(value, str) or not value:
        raise StorageError(f"{what} must be non-empty text")
    return value


def need_time(value: object, what: str) -> float:
    """``value`` when it is a finite number (a time); StorageError naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise StorageError(f"{what} must be a finite number")
    return float(value)


def profile_text(profile: Mapping[str, Any]) -> str:
    """The stored text of a profile: JSON, attributes sorted (one profile, one text)."""
    if not isinstance(profile, Mapping):
        raise StorageError("a profile must be a mapping of attribute names to values")
    if not all(isinstance(name, str) and name for name in profile):
        raise StorageError("a profile's attribute names must be non-empty text")
    return dump_json(dict(sorted(profile.items())))


def profile_of(text: str) -> dict[str, Any]:
    out: dict[str, Any] = orjson.loads(text)
    return out


def merged(stored: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """``stored`` with ``patch`` applied key by key, a ``None`` value removing the key."""
    if not isinstance(patch, Mapping):
        raise StorageError("a profile must be a mapping of attribute names to values")
    out = dict(stored)
    for name, value in patch.items():
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
    return out


def changed_profiles(
    texts: Sequence[tuple[str, str]], stored: Mapping[str, str]
) -> dict[str, str]:
    """What an import changes: of its ``(customer, profile text)`` rows, customer -> the text
    to store, for each row unlike what is stored (``stored``: customer -> their text now; a
    customer named twice, the later row counted over the earlier one)."""
    now = dict(stored)
    changed: dict[str, str] = {}
    for customer, text in texts:
        if now.get(customer) != text:
            changed[customer] = now[customer] = text
    return changed


def to_consent(row: Sequence[Any] | None) -> Consent:
    """A Consent from the consents columns (:data:`CONSENT_COLUMNS`); ``None``: never asked."""
    if row is None:
        return Consent()
    marketing, marketing_at, marketing_source, night, night_at, night_source = row
    return Consent(
        None if marketing is None else bool(marketing), marketing_at, marketing_source,
        None if night is None else bool(night), night_at, night_source,
    )  # fmt: skip


def consent_dict(consent: Consent) -> dict[str, Any]:
    return asdict(consent)


def consent_fields(change: ConsentChange) -> dict[str, bool]:
    """The consent fields ``change`` gives (name -> value): none, when it gives no field. A
    StorageError when it is no ConsentChange or a field is not true or false."""
    if not isinstance(change, ConsentChange):
        raise StorageError("a consent change must be a ConsentChange")
    need(change.source, "a consent change's source")
    need_time(change.at, "a consent change's time")
    given: dict[str, bool] = {}
    for name in _CONSENTS:
        value = getattr(change, name)
        if value is None:
            continue
        if not isinstance(value, bool):
            raise StorageError(f"consent {name} must be true or false")
        given[name] = value
    return given


def consent_update(
    change: ConsentChange, stored: Consent
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What ``change`` sets over the ``stored`` consent: ``(column -> value, the fields set
    as the log keeps them)``, both empty when it sets none. The newer word wins, field by
    field (:meth:`~botkit.audience.Audience.change_consent` says the rule): so a CRM file
    sent after a member typed "수신거부" cannot turn their advertising back on."""
    columns: dict[str, Any] = {}
    changed: dict[str, Any] = {}
    for name, value in consent_fields(change).items():
        if _kept(name, value, change, stored):
            continue
        columns.update({name: value, f"{name}_at": change.at, f"{name}_source": change.source})
        changed[name] = value
    return columns, changed


def _kept(name: str, value: bool, change: ConsentChange, stored: Consent) -> bool:
    """Whether the stored ``name`` outweighs ``change``: it was said later, or it is a
    withdrawal by the opt-out words that an import does not say came after."""
    said_at: float | None = getattr(stored, f"{name}_at")
    if said_at is None:
        return False
    if change.at < said_at:
        return True
    withdrawn = getattr(stored, name) is False and getattr(stored, f"{name}_source") == OPT_OUT
    return (
        withdrawn
        and value
        and change.source == IMPORT
        and not (change.dated and change.at > said_at)
    )


def log_row(
    at: float,
    kind: str,
    member: str,
    user: str | None = None,
    source: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> tuple[Any, ...]:
    """A row of :data:`LOG_COLUMNS` (data as JSON text)."""
    return (at, kind, member, user, source, None if data is None else dump_json(data))


def log_query(
    mark: Mark, *, member: str | None, since: float | None, until: float | None
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for column, op, value in (("member", "=", member), ("at", ">=", since), ("at", "<", until)):
        if value is not None:
            params.append(value)
            clauses.append(f"{column} {op} {mark(len(params))}")
    where = " WHERE " + " AND ".join(clauses) if clauses else ""
    return f"SELECT {LOG_COLUMNS} FROM audience_log{where} ORDER BY at, id", params


def to_entries(rows: Iterable[Sequence[Any]]) -> list[AudienceEntry]:
    return [
        AudienceEntry(r[0], r[1], r[2], r[3], r[4], None if r[5] is None else orjson.loads(r[5]))
        for r in rows
    ]


# --- the statements both SQL stores run, in either placeholder style ---------------------------


class Statements:
    """The audience's SQL for one dialect (``mark``: its n-th placeholder; SQLite's must be
    numbered, ``?1``, as statements here use a parameter twice)."""

    def __init__(self, mark: Mark) -> None:
        m = mark
        self.upsert_customer = (
            f"INSERT INTO customers (id, profile, updated_at) VALUES ({m(1)}, {m(2)}, {m(3)})"
            " ON CONFLICT (id) DO UPDATE SET"
            " profile = excluded.profile, updated_at = excluded.updated_at"
        )
        # a customer a link names, unknown until now: kept with an empty profile
        self.add_customer = (
            f"INSERT INTO customers (id, profile, updated_at) VALUES ({m(1)}, '{{}}', {m(2)})"
            " ON CONFLICT (id) DO NOTHING"
        )
        self.profile = f"SELECT profile FROM customers WHERE id = {m(1)}"
        # One statement, so one snapshot: a row per linked user (one with NULL: none linked).
        self.customer = (
            'SELECT c.profile, c.updated_at, i."user", '
            + ", ".join(f"s.{column}" for column in CONSENT_COLUMNS)
            + " FROM customers AS c"
            " LEFT JOIN identities AS i ON i.customer = c.id"
            " LEFT JOIN consents AS s ON s.member = c.id"
            f" WHERE c.id = {m(1)}"
        )
        self.customer_of = f'SELECT customer FROM identities WHERE "user" = {m(1)}'
        self.links = 'SELECT "user", customer FROM identities'
        self.upsert_identity = (
            f'INSERT INTO identities ("user", customer, linked_at, source)'
            f' VALUES ({m(1)}, {m(2)}, {m(3)}, {m(4)}) ON CONFLICT ("user") DO UPDATE SET'
            " customer = excluded.customer, linked_at = excluded.linked_at,"
            " source = excluded.source"
        )
        # {m(2)}: the source the link must have been made by (NULL: any)
        self.unlink = (
            f'DELETE FROM identities WHERE "user" = {m(1)}'
            f" AND (CAST({m(2)} AS TEXT) IS NULL OR source = {m(2)}) RETURNING customer"
        )
        self.consent = f"SELECT {', '.join(CONSENT_COLUMNS)} FROM consents WHERE member = {m(1)}"
        self.insert_log = (
            f"INSERT INTO audience_log ({LOG_COLUMNS})"
            f" VALUES ({', '.join(m(n) for n in range(1, 7))})"
        )
        self.put_code = (
            f'INSERT INTO one_time (code, purpose, "user", expires_at, used_at)'
            f" VALUES ({m(1)}, '{LINK_CODE}', {m(2)}, {m(3)}, NULL)"
            " ON CONFLICT (code) DO NOTHING RETURNING 1"  # a clash is ours to say: no value
        )
        # One statement: of two takes at once, the second finds ``used_at`` set.
        self.take_code = (
            f"UPDATE one_time SET used_at = {m(2)} WHERE code = {m(1)}"
            f" AND purpose = '{LINK_CODE}' AND used_at IS NULL AND expires_at > {m(2)}"
            ' RETURNING "user"'
        )
        self.forget = f"DELETE FROM one_time WHERE expires_at < {m(1)}"
        self.add_nonce = (
            f'INSERT INTO one_time (code, purpose, "user", expires_at, used_at)'
            f" VALUES ({m(1)}, '{NONCE}', NULL, {m(2)}, {m(3)})"
            " ON CONFLICT (code) DO NOTHING RETURNING 1"
        )
        self._mark = mark

    def upsert_consent(self, member: str, columns: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """Set ``columns`` (names from :data:`CONSENT_COLUMNS`) of ``member``'s consent."""
        names = [name for name in columns if name in CONSENT_COLUMNS]  # never another name
        marks = ", ".join(self._mark(n) for n in range(1, len(names) + 2))
        sql = (
            f"INSERT INTO consents (member, {', '.join(names)}) VALUES ({marks})"
            " ON CONFLICT (member) DO UPDATE SET "
            + ", ".join(f"{name} = excluded.{name}" for name in names)
        )
        return sql, [member, *(columns[name] for name in names)]


def to_customer(customer: str, rows: Sequence[Sequence[Any]]) -> Customer | None:
    """A Customer from the rows of :attr:`Statements.customer` (none: unknown customer)."""
    if not rows:
        return None
    first = rows[0]
    users = sorted(r[2] for r in rows if r[2] is not None)  # in Python: one order everywhere
    return Customer(customer, profile_of(first[0]), to_consent(first[3:]), tuple(users), first[1])
