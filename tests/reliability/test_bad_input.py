"""The bad-input table (``bad_input_rows.py``) against a real ``botkit serve``, on SQLite and
on PostgreSQL, with a Kakao secret, agent tokens, an events token and a helpdesk secret set.

For every row: the exact status, never a 5xx, a JSON error body (an ``error`` frame on the
WebSocket), nothing stored (the store's session, record and event counts are unchanged), and
the server still answers afterwards: ``GET /healthz`` and an ordinary Kakao turn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from tests.postgres import POSTGRES_MARKS, drop_schema, new_schema, postgres_url, run_apart
from tests.reliability import figures
from tests.reliability.bad_input_rows import BOT_USER, KAKAO_HEADERS, ROWS, SECRETS_ENV, Row
from tests.reliability.stores import Counts, PostgresCounts, sqlite_counts
from tests.reliability.wire import exchange, server_clock
from tests.server.processes import Served, kakao, serve

SECTION = figures.Section("bad-input table")
HELLO = '{"type": "hello", "sid": "reliability-socket-sid-01"}'


@dataclass(frozen=True)
class Target:
    """The server under attack, and how to count what its store holds."""

    store: str
    served: Served
    counts: Callable[[], Counts]
    client: httpx.Client  # one for the whole table: a client per request costs 30 ms

    @property
    def port(self) -> int:
        return int(self.served.url.rsplit(":", 1)[1])


@dataclass(frozen=True)
class Outcome:
    status: int
    body: bytes
    content_type: str
    frame: dict[str, Any] | None = None  # the WebSocket's answer to a bad frame
    close_code: int | None = None  # or how it closed the socket


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("SQLite", id="sqlite"),
        pytest.param("PostgreSQL", id="postgres", marks=POSTGRES_MARKS),
    ],
)
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    tmp = tmp_path_factory.mktemp("bad-input")
    schema = new_schema() if request.param == "PostgreSQL" else None
    db = tmp / "bad-input.db"
    store = f"sqlite:///{db}" if schema is None else postgres_url(schema)
    try:
        with (
            serve(tmp, store=store, env=SECRETS_ENV) as served,
            httpx.Client(base_url=served.url, timeout=30) as client,
        ):
            # The server made the schema: only now can it be counted.
            counts = (lambda: sqlite_counts(db)) if schema is None else PostgresCounts(schema)
            found = Target(request.param, served, counts, client)
            assert ordinary_turn(found, BOT_USER), "the conversation the bot holds did not start"
            try:
                yield found
            finally:
                if isinstance(counts, PostgresCounts):
                    counts.close()
    finally:
        if schema is not None:
            run_apart(drop_schema(schema))


def ordinary_turn(target: Target, user: str = "건강-확인") -> bool:
    """Whether a plain Kakao message is answered (200 and a SkillResponse)."""
    answer = target.client.post(
        "/kakao/skill", content=orjson.dumps(kakao("처음으로", user)), headers=KAKAO_HEADERS
    )
    return answer.status_code == 200 and "template" in answer.json()


def healthy(target: Target) -> bool:
    if target.served.process.poll() is not None:
        return False
    try:
        alive = target.client.get("/healthz").status_code == 200
        return alive and ordinary_turn(target)
    except (httpx.HTTPError, ValueError):  # no answer, or one that is not JSON
        return False


def send(row: Row, target: Target) -> Outcome:
    if row.raw is not None:
        raw = exchange(target.port, row.raw(target.port, server_clock(target.port)))
        return Outcome(raw.status, raw.body, raw.headers.get("content-type", ""))
    if row.socket:
        return talk(row, target)
    headers = row.signed_headers(server_clock(target.port)) if row.signed else dict(row.headers)
    answer = target.client.request(row.method, row.path, content=row.body, headers=headers)
    return Outcome(answer.status_code, answer.content, answer.headers.get("content-type", ""))


def talk(row: Row, target: Target) -> Outcome:
    """Open the widget's socket, say hello if the row does, send its frames, read the answer."""
    url = f"ws://127.0.0.1:{target.port}/web/ws"
    origin = Origin(row.origin) if row.origin else None
    try:
        with connect(url, origin=origin, compression=None, open_timeout=10, max_size=None) as ws:
            return _frames(row, ws)
    except InvalidStatus as refused:
        response = refused.response
        kind = response.headers.get("content-type", "")
        return Outcome(response.status_code, bytes(response.body or b""), kind)


def _frames(row: Row, ws: ClientConnection) -> Outcome:
    try:
        if row.hello:
            ws.send(HELLO)
            ws.recv(timeout=10)  # welcome
        for one in row.frames:
            ws.send(one)
        text = ws.recv(timeout=10)
    except ConnectionClosed as closed:
        return Outcome(101, b"", "", close_code=closed.rcvd.code if closed.rcvd else None)
    raw = text.encode() if isinstance(text, str) else text
    try:
        frame = orjson.loads(raw)
    except orjson.JSONDecodeError:
        frame = {}
    return Outcome(101, raw, "application/json", frame=frame if isinstance(frame, dict) else {})


def json_error(outcome: Outcome) -> bool:
    """Whether the answer says why in JSON: ``{"error": {"code", "message"}}`` (an ``error``
    frame with a code on the socket; a socket closed with a code says it in the code)."""
    if outcome.frame is not None:
        return outcome.frame.get("type") == "error" and isinstance(outcome.frame.get("code"), str)
    if outcome.close_code is not None:
        return True
    if not outcome.content_type.startswith("application/json"):
        return False
    try:
        body = orjson.loads(outcome.body)
    except orjson.JSONDecodeError:
        return False
    error = body.get("error") if isinstance(body, dict) else None
    return isinstance(error, dict) and {"code", "message"} <= error.keys()


def _tally(row: Row, target: Target, outcome: Outcome, stored: bool, still_up: bool) -> None:
    store = target.store
    SECTION.add(f"{store}: rows")
    expected = outcome.status == row.status
    if row.frames:
        expected = expected and (
            (outcome.frame or {}).get("code") == row.frame_error
            and outcome.close_code == row.close_code
        )
    problems = {
        "5xx answers": outcome.status >= 500,
        "4xx without a JSON body": outcome.status >= 400 and not json_error(outcome),
        "rows that stored something": stored,
        "rows after which the server did not answer": not still_up,
        "rows answered otherwise than the table says": not expected,
    }
    for name, happened in problems.items():
        SECTION.add(f"{store}: {name}", int(happened))
    if any(problems.values()):
        got = " ".join(str(x) for x in (outcome.status, _code(outcome)) if x)
        wanted = " ".join(str(x) for x in (row.status, row.frame_error or row.close_code) if x)
        flags = ", ".join(name for name, happened in problems.items() if happened)
        SECTION.note(f"{store}: {row.name}: {got} (table: {wanted}); {flags}")


def _code(outcome: Outcome) -> str | int | None:
    """The error code a refusal named (``error.code``, the frame's code, the close code)."""
    if outcome.frame is not None:
        return str(outcome.frame.get("code"))
    if outcome.close_code is not None:
        return outcome.close_code
    if outcome.status < 400:
        return None
    try:
        body = orjson.loads(outcome.body)
        return str(body["error"]["code"])
    except (orjson.JSONDecodeError, TypeError, KeyError):
        return "(no JSON)"


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_bad_input_row(row: Row, target: Target) -> None:
    before = target.counts()
    outcome = send(row, target)
    stored = target.counts() != before
    still_up = healthy(target)
    _tally(row, target, outcome, stored, still_up)

    assert outcome.status < 500, outcome.body[:300]
    assert outcome.status == row.status, outcome.body[:300]
    if row.frame_error is not None:
        assert outcome.frame is not None, f"closed with {outcome.close_code}"
        assert outcome.frame.get("code") == row.frame_error, outcome.frame
    if row.close_code is not None:
        assert outcome.close_code == row.close_code, outcome.frame
    if outcome.status >= 400 or row.frames:
        assert json_error(outcome), outcome.body[:300]
    assert not stored, f"{before} → {target.counts()}"
    assert still_up, target.served.log[-2000:]


def test_the_table_has_sixty_rows_across_every_endpoint() -> None:
    assert len(ROWS) >= 60
    assert len({row.name for row in ROWS}) == len(ROWS)
    reached = {row.path.split("?")[0].split("/")[1] for row in ROWS if not row.frames}
    assert {"kakao", "web", "events", "agent", "dashboard", "metrics", "healthz"} <= reached
    assert any(row.frames for row in ROWS)  # the WebSocket
