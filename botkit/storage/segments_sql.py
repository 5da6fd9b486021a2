"""A segment as one set-based SQL query, for SQLite and for PostgreSQL.

:func:`compile_segment` turns a segment's tree into one ``SELECT`` of one column, the member
ids, evaluated at an instant ``t``. Each condition is a set of members; ``and`` / ``or`` are
``INTERSECT`` / ``UNION``, and ``a and not b`` is ``a EXCEPT b``, so the database does the work
in a few scans and nothing is looped over in Python. Only a negation with nothing beside it to
bound it (``not purchase within 30d``) reads the universe: every customer, and every member
with an event or a record. The meaning is the Python evaluator's (:mod:`botkit.segments.evaluate`,
whose docstring states it); the planted acceptance test holds both to one brute-force count.

* An event's member is ``COALESCE(events.customer, identities.customer, 'user:' || user)``; a
  record's ``COALESCE(identities.customer, 'user:' || user)``: links as they are now.
* A window is two bounds on ``at`` (``t - start < at <= t - end``), worked out here once: a
  short window reads the ``events_at`` index, a long one (SQLite) the table.
* JSON (profiles, event data) is compared kind with kind, as in Python: SQLite reads each value
  once through ``json_each`` and compares its ``type``; PostgreSQL compares ``jsonb`` values
  (the designer's value is sent as JSON too), which never casts a text to a number, so never
  fails on a row of the other kind, and compares numbers as numbers, every digit (a ``float8``
  would take 2**53 + 1 for 2**53); texts are ordered by code point (``COLLATE "C"``), as Python
  and SQLite order them.
* Each member is listed once, in code point order (the outermost ``SELECT DISTINCT … ORDER
  BY``): a behaviour's plain query has a row per event, and only the database should see those.

Parameters are numbered (``?1`` in SQLite, ``$1`` in PostgreSQL, asyncpg), so one value can be
used twice. What a designer wrote reaches the SQL only as a parameter; the words written into
it are the language's own (an operator, a consent's column), checked against fixed lists here:
a tree built by hand with another word is refused (ValueError), never pasted in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from botkit.audience.model import ANONYMOUS
from botkit.segments.model import (
    All,
    AnyOf,
    Attr,
    Behaviour,
    ConsentIs,
    Expr,
    GoalReached,
    Not,
    Scalar,
    Segment,
    SegmentRef,
    VariantOf,
    Window,
)
from botkit.storage.base import dump_json

__all__ = ["Dialect", "compile_segment"]

Dialect = Literal["sqlite", "postgres"]

_EVENT_MEMBER = 'COALESCE(e.customer, i.customer, {anon} || e."user")'
_RECORD_MEMBER = 'COALESCE(i.customer, {anon} || r."user")'
_EVENTS = 'events e LEFT JOIN identities i ON i."user" = e."user"'
_RECORDS = 'records r LEFT JOIN identities i ON i."user" = r."user"'
_INDEXED_WINDOW = 2 * 86400.0  # windows longer than this read the whole table (SQLite)
# The only words a tree puts into the SQL itself (everything else is a parameter).
_CONSENTS = ("marketing", "night")  # consents' columns
_ORDERINGS = ("<", "<=", ">", ">=")
_ATTR_OPS = ("=", "!=", "in", "set", *_ORDERINGS)


def compile_segment(
    segment: Segment, at: float, dialect: Dialect = "sqlite"
) -> tuple[str, list[Any]]:
    """The query listing ``segment``'s members at instant ``at`` (one column, each member once,
    sorted by code point as Python sorts texts) and its parameters. ValueError: the tree holds
    an operator or a consent the language does not have."""
    if dialect not in ("sqlite", "postgres"):
        raise ValueError(f"no SQL dialect {dialect!r}: sqlite or postgres")
    query = _Query(dialect, float(at))
    members = query.part(query.select(segment.expr))
    code_points = ' COLLATE "C"' if query.pg else ""  # SQLite's own order already is
    listed = f"SELECT DISTINCT m{code_points} AS m FROM {members} ORDER BY m"
    parts = [f"universe AS ({query.universe()})"] if query.needs_universe else []
    return f"WITH {', '.join([*parts, *query.parts])} {listed}", query.params


class _Query:
    def __init__(self, dialect: Dialect, t: float) -> None:
        self.dialect = dialect
        self.pg = dialect == "postgres"
        self.params: list[Any] = []
        self.now = t
        self._t: str | None = None
        self._anon: str | None = None
        self.needs_universe = False
        # The query's parts, "qN AS (SELECT …)", each naming those it reads: nested instead,
        # one inside another, a dozen levels overflow SQLite's parser stack.
        self.parts: list[str] = []
        # SQLite has no statistics to tell a short window from a long one: read through the
        # ``at`` index it would fetch each row of a long window from wherever it lies, ten times
        # slower than reading the table once. A unary '+' keeps it from using the index.
        self.scan = "" if self.pg else "+"

    @property
    def t(self) -> str:
        """The instant's parameter (PostgreSQL refuses a parameter the query does not use)."""
        if self._t is None:
            self._t = self.param(self.now)
        return self._t

    @property
    def anon(self) -> str:
        if self._anon is None:
            self._anon = self.param(ANONYMOUS)
        return self._anon

    def param(self, value: Any) -> str:
        self.params.append(value)
        return f"${len(self.params)}" if self.pg else f"?{len(self.params)}"

    # --- the universe: whom 'not' negates against ----------------------------------------

    def universe(self) -> str:
        """Every customer, and every member with an event or a record, whenever: the audience
        as the store knows it now (as links are read now). A linked user's member is their
        customer, whom linking created, so only unlinked users are looked for."""
        anon = self.anon
        unlinked = 'NOT EXISTS (SELECT 1 FROM identities i WHERE i."user" = {}."user")'
        return (
            "SELECT id AS m FROM customers"
            " UNION SELECT DISTINCT customer AS m FROM events WHERE customer IS NOT NULL"
            f' UNION SELECT DISTINCT {anon} || e."user" AS m FROM events e'
            f" WHERE {self.scan}e.customer IS NULL AND {unlinked.format('e')}"
            f' UNION SELECT {anon} || r."user" AS m'
            ' FROM (SELECT DISTINCT "user" FROM records) AS r'
            f" WHERE {unlinked.format('r')}"
        )

    def everyone(self) -> str:
        self.needs_universe = True
        return "SELECT m FROM universe"

    def but(self, excluded: str) -> str:
        return f"{self.everyone()} EXCEPT {self.wrap(excluded)}"

    # --- conditions ----------------------------------------------------------------------

    def select(self, expr: Expr, bounded: bool = False) -> str:
        """A SELECT of one column ``m``: the members for whom ``expr`` holds. ``bounded``: the
        caller intersects the result with members of the universe anyway, so it may hold
        others too (a consent need not look the universe up)."""
        if isinstance(expr, All):
            return self.all(expr.items, bounded)
        if isinstance(expr, AnyOf):
            parts = [self.wrap(self.select(e, bounded)) for e in expr.items]
            return " UNION ".join(parts)
        if isinstance(expr, SegmentRef):
            if expr.expr is None:  # the compiler resolves every reference; nobody, if not
                return "SELECT id AS m FROM customers WHERE 1 = 0"
            return self.select(expr.expr, bounded)
        if _is_complement(expr):
            return self.but(self.complement(expr))
        if isinstance(expr, Behaviour):
            return self.behaviour(expr)
        if isinstance(expr, GoalReached):
            return self.goal(expr)
        if isinstance(expr, VariantOf):
            return self.variant(expr)
        if isinstance(expr, ConsentIs):
            which = _word(expr.which, _CONSENTS, "consent")
            said = f"{which} IS TRUE" if self.pg else f"{which} = 1"
            chosen = f"SELECT member AS m FROM consents WHERE {said}"
            return chosen if bounded else f"{chosen} INTERSECT {self.everyone()}"
        assert isinstance(expr, Attr)
        return self.attr(expr)

    def all(self, items: tuple[Expr, ...], bounded: bool) -> str:
        """``a and b and not c``: (a ∩ b) − c. Only an ``and`` of nothing but negations reads
        the universe (``not purchase within 30d``); otherwise the others bound it."""
        positive = [e for e in items if not _is_complement(e)]
        if positive:
            anchor = next((e for e in positive if not isinstance(e, ConsentIs)), positive[0])
            parts = [self.select(e, bounded or e is not anchor) for e in positive]
            base = " INTERSECT ".join(self.wrap(p) for p in parts)
        else:
            base = self.everyone()
        for e in items:
            if _is_complement(e):
                base = f"{self.wrap(base)} EXCEPT {self.wrap(self.complement(e))}"
        return base

    def complement(self, expr: Expr) -> str:
        """For a condition that holds for everyone but some (:func:`_is_complement`): them."""
        if isinstance(expr, SegmentRef) and expr.expr is not None:
            return self.complement(expr.expr)
        if isinstance(expr, Not):
            return self.select(expr.inner)
        if isinstance(expr, Attr):  # '!=': whoever is '='
            return self.attr(Attr(expr.name, "=", expr.values))
        assert isinstance(expr, Behaviour)
        assert expr.at_most is not None
        return f"{self.events(expr)} GROUP BY 1 HAVING count(*) > {self.param(expr.at_most)}"

    def part(self, select: str) -> str:
        """The name of ``select`` made a part of the query of its own."""
        name = f"q{len(self.parts) + 1}"
        self.parts.append(f"{name} AS ({select})")
        return name

    def wrap(self, select: str) -> str:
        """``select`` as a term a compound SELECT can hold (reading a part of its own)."""
        return f"SELECT m FROM {self.part(select)}"

    def window(self, column: str, window: Window) -> str:
        if window.start is None or window.start - window.end > _INDEXED_WINDOW:
            column = self.scan + column
        high = f"{column} <= {self.param(self.t_minus(window.end))}"
        if window.start is None:
            return high
        return f"{column} > {self.param(self.t_minus(window.start))} AND {high}"

    def t_minus(self, seconds: float) -> float:
        return self.now - seconds

    def events(self, expr: Behaviour) -> str:
        """The members of each of the behaviour's events in its window, once per event."""
        where = [f"e.kind = {self.param(expr.kind)}", self.window("e.at", expr.window)]
        if expr.field is not None and expr.value is not None:
            data = "e.data::jsonb" if self.pg else "e.data"
            where.append(self.json_equal(data, expr.field, expr.value))
        member = _EVENT_MEMBER.format(anon=self.anon)
        return f"SELECT {member} AS m FROM {_EVENTS} WHERE {' AND '.join(where)}"

    def behaviour(self, expr: Behaviour) -> str:
        low = expr.at_least or 0
        if low <= 0:  # at least no event at all: everyone
            return self.everyone()
        found = self.events(expr)
        having = [f"count(*) >= {self.param(low)}"] if low > 1 else []
        if expr.at_most is not None:
            having.append(f"count(*) <= {self.param(expr.at_most)}")
        if not having:
            return found
        return f"{found} GROUP BY 1 HAVING {' AND '.join(having)}"

    def goal(self, expr: GoalReached) -> str:
        goal = self.param(expr.goal)
        if self.pg:
            named = f"(r.data::jsonb ->> 'goal') = {goal}"
        else:
            named = (
                f"json_type(r.data, '$.goal') = 'text' AND json_extract(r.data, '$.goal') = {goal}"
            )
        member = _RECORD_MEMBER.format(anon=self.anon)
        return (
            f"SELECT {member} AS m FROM {_RECORDS}"
            f" WHERE r.kind = 'goal' AND {self.window('r.at', expr.window)} AND {named}"
        )

    def variant(self, expr: VariantOf) -> str:
        pair = self.param(f",{expr.pair},")
        find = "strpos" if self.pg else "instr"
        member = _RECORD_MEMBER.format(anon=self.anon)
        return (
            f"SELECT {member} AS m FROM {_RECORDS}"
            f" WHERE {self.scan}r.at <= {self.t} AND {find}(',' || r.variant || ',', {pair}) > 0"
        )

    def attr(self, expr: Attr) -> str:
        column, name = "c.profile", expr.name
        _word(expr.op, _ATTR_OPS, "comparison")
        if expr.op == "set":
            holds = self.json_set(column, name)
        elif expr.op == "=":
            holds = self.json_equal(column, name, expr.values[0])
        elif expr.op == "in" and not self.pg:  # one parse of each profile for all the values
            matches = " OR ".join(f"({_sqlite_match(v, self.param)})" for v in expr.values)
            holds = self.sqlite_each(column, name, f"({matches})", scalar_only=False)
        elif expr.op == "in":
            holds = " OR ".join(f"({self.json_equal(column, name, v)})" for v in expr.values)
        else:
            holds = self.json_order(column, name, expr.op, expr.values[0])
        if self.pg:  # each profile parsed once, not once per use ('OFFSET 0' keeps it so)
            customers = "(SELECT id, profile::jsonb AS profile FROM customers OFFSET 0) AS c"
        else:
            customers = "customers AS c"
        return f"SELECT c.id AS m FROM {customers} WHERE {holds}"

    # --- JSON, kind with kind ------------------------------------------------------------

    def json_set(self, column: str, name: str) -> str:
        if self.pg:
            kind = f"jsonb_typeof({column} -> {self.param(name)}::text)"
            return f"COALESCE({kind}, 'null') <> 'null'"
        return f"COALESCE(json_type({column}, {self.param(_path(name))}), 'null') <> 'null'"

    def json_equal(self, column: str, name: str, value: Scalar) -> str:
        """The JSON value under ``name`` equals ``value`` (of the same kind), or is a list
        holding it."""
        if self.pg:
            v = f"({column} -> {self.param(name)}::text)"
            typed = self.jsonb(value)
            return (
                f"({v} = {typed}"
                f" OR (jsonb_typeof({v}) = 'array' AND {v} @> jsonb_build_array({typed})))"
            )
        return self.sqlite_each(column, name, _sqlite_match(value, self.param), scalar_only=False)

    def json_order(self, column: str, name: str, op: str, value: Scalar) -> str:
        """The JSON value under ``name`` compared with ``op`` to ``value``: numbers with
        numbers, texts with texts by code point; never true/false or a list."""
        op = _word(op, _ORDERINGS, "ordering")
        if isinstance(value, bool):
            return "1 = 0"
        if self.pg:
            key = f"{self.param(name)}::text"
            if isinstance(value, str):
                return (
                    f"jsonb_typeof({column} -> {key}) = 'string'"
                    f' AND ({column} ->> {key}) COLLATE "C" {op} {self.param(value)}::text'
                )
            return (
                f"jsonb_typeof({column} -> {key}) = 'number'"
                f" AND ({column} -> {key}) {op} {self.jsonb(value)}"
            )
        match = f"{_sqlite_match(value, self.param, with_value=False)} AND j.value {op}"
        return self.sqlite_each(column, name, f"{match} {self.param(value)}", scalar_only=True)

    def jsonb(self, value: Scalar) -> str:
        """PostgreSQL: ``value`` as a ``jsonb`` parameter (a number keeps every digit)."""
        return f"{self.param(dump_json(value))}::jsonb"

    def sqlite_each(self, column: str, name: str, match: str, *, scalar_only: bool) -> str:
        """SQLite: whether the JSON value under ``name`` (or, unless ``scalar_only``, an item
        of the list it is) satisfies ``match`` on ``j.type`` and ``j.value``. One parse per
        row: ``json_each`` over a scalar gives the scalar itself (key NULL), over a list its
        items (integer keys), over an object its members (text keys, never matched)."""
        keys = "j.key IS NULL" if scalar_only else "typeof(j.key) <> 'text'"
        return (
            f"EXISTS (SELECT 1 FROM json_each({column}, {self.param(_path(name))}) AS j"
            f" WHERE {keys} AND {match})"
        )


def _is_complement(expr: Expr) -> bool:
    """Whether ``expr`` holds for everyone but some: ``not x``, ``profile.a != v`` (not
    ``=``), ``x at most 2 times`` (everyone less who did it more often)."""
    if isinstance(expr, SegmentRef):
        return expr.expr is not None and _is_complement(expr.expr)
    if isinstance(expr, Attr):
        return expr.op == "!="
    if isinstance(expr, Behaviour):
        return (expr.at_least or 0) <= 0 and expr.at_most is not None
    return isinstance(expr, Not)


def _word(word: str, allowed: tuple[str, ...], what: str) -> str:
    """``word`` if it is one of ``allowed``: what goes into the SQL as written."""
    if word not in allowed:
        raise ValueError(f"no {what} {word!r} in the segment language: one of {allowed}")
    return word


def _path(name: str) -> str:
    """SQLite's JSON path to a top-level key, quoted (a key may be Korean; the language's
    names are letters, digits and '_', so there is nothing to escape)."""
    return f'$."{name}"'


def _sqlite_match(value: Scalar, param: Callable[[Any], str], *, with_value: bool = True) -> str:
    """SQLite: a ``json_each`` row ``j`` holds a value of ``value``'s kind (equal to it)."""
    if isinstance(value, bool):
        return "j.type = 'true'" if value else "j.type = 'false'"
    kinds = "j.type = 'text'" if isinstance(value, str) else "j.type IN ('integer', 'real')"
    return f"{kinds} AND j.value = {param(value)}" if with_value else kinds
