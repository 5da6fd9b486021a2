"""`botkit check --against <store>`: before a deploy, the live conversations it would strand.

The reference bot is copied and changed the way a designer changes it: ``order_status``'s
``ask_order`` is renamed ``ask_order_number``. Conversations waiting at ``ask_order`` on the
running version would then start the flow again, unless bot.yaml's ``migrate:`` says where
they go; ``--strict`` fails the check until it does.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from botkit.cli.against import Stranded, check_against, read_against, render_against
from botkit.cli.main import cli
from botkit.engine.session import Session, Status
from botkit.flow import compile_bot, flow_files
from botkit.flow.model import Bot
from botkit.storage import open_store
from tests.postgres import POSTGRES_MARKS, postgres_url

REPO = Path(__file__).resolve().parents[2]
T0 = 1_795_568_400.0  # "now" of the tests that read the store directly
MINUTE = 60.0


def _renamed_bot(tmp_path: Path) -> Path:
    """The reference bot with ``order_status.ask_order`` renamed ``ask_order_number``."""
    folder = tmp_path / "flows"
    shutil.copytree(REPO / "flows", folder, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    _edit(folder / "order_status.yaml", r"\bask_order\b", "ask_order_number")
    for name in ("main.yaml", "faq.yaml", "bot.yaml"):  # bot.yaml: the existing migrate: target
        _edit(folder / name, r"\border_status\.ask_order\b", "order_status.ask_order_number")
    return folder


def _edit(path: Path, pattern: str, replacement: str) -> None:
    text = path.read_text(encoding="utf-8")
    changed, count = re.subn(pattern, replacement, text)
    assert count, f"{pattern!r} is not in {path.name}"
    path.write_text(changed, encoding="utf-8")


def _cover(folder: Path, old: str, new: str) -> None:
    """Add ``old: new`` to bot.yaml's ``migrate:``."""
    _edit(folder / "bot.yaml", r"(?m)^migrate:\n", f"migrate:\n  {old}: {new}\n")


def _bot(folder: Path) -> Bot:
    result = compile_bot(flow_files(folder))
    assert result.bot is not None, result.problems
    return result.bot


def _session(key: str, version: str, state: str, last_at: float, **fields: Any) -> Session:
    channel, _, user = key.partition(":")
    fields.setdefault("status", Status.BOT)
    fields.setdefault("conversation", 1)
    return Session(
        key=key, user=user, channel=channel, bot_version=version, state=state, last_at=last_at,
        **fields,
    )  # fmt: skip


def _live_and_not(now: float) -> list[Session]:
    """Sessions of the running bot, as of ``now`` (its inactivity timeout is 30 minutes)."""
    return [
        # at the renamed state, on two earlier versions: restart, unless migrate: covers them
        _session("kakao:가영", "v1", "order_status.ask_order", now - MINUTE),
        _session("kakao:나래", "v1", "order_status.ask_order", now - 29 * MINUTE),
        _session("web:다온", "v2", "order_status.ask_order", now),
        # a state removed in an earlier change: restart at refund's start
        _session("web:라희", "v2", "refund.old_reason", now - 5 * MINUTE),
        # bot.yaml's migrate: covers it already (the earlier rename)
        _session("kakao:마루", "v1", "order_status.ask_order_no", now - 2 * MINUTE),
        # states the new version still has: not stranded, but checked
        _session("kakao:바다", "v2", "main.start", now - MINUTE),
        _session("kakao:사랑", "v2", "support.agent", now - MINUTE, status=Status.WITH_AGENT),
        # not live: a closed conversation, one older than the timeout, none started yet
        _session("kakao:아라", "v1", "order_status.ask_order", now, status=Status.CLOSED),
        _session("kakao:자두", "v1", "order_status.ask_order", now - 31 * MINUTE),
        _session("kakao:차차", "v1", "refund.old_reason", now, conversation=0),
    ]


async def _fill(url: str, sessions: list[Session]) -> None:
    store = open_store(url)
    await store.open()
    try:
        for session in sessions:
            await store.commit(session, [], expected_version=0)
    finally:
        await store.close()


def _sqlite_store(tmp_path: Path, sessions: list[Session]) -> str:
    url = f"sqlite:///{tmp_path / 'botkit.db'}"
    asyncio.run(_fill(url, sessions))
    return url


def _check(*args: str) -> Any:
    return CliRunner().invoke(cli, ["check", *args])


# --- what the store says, as of a given instant ----------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=POSTGRES_MARKS)])
async def test_stranded_states_are_counted_per_state_over_versions(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "postgres":
        url = postgres_url(request.getfixturevalue("postgres_schema"))
    else:
        url = f"sqlite:///{tmp_path / 'botkit.db'}"
    await _fill(url, _live_and_not(T0))
    bot = _bot(_renamed_bot(tmp_path))

    against = await read_against(bot, open_store(url, create=False), url, now=T0)

    assert (against.checked, against.since, against.window) == (7, T0 - 30 * MINUTE, 1800)
    assert list(against.stranded) == [
        Stranded(
            "order_status.ask_order", 3, {"v1": 2, "v2": 1}, "restart",
            "order_status.ask_order_number",
        ),
        Stranded(
            "order_status.ask_order_no", 1, {"v1": 1}, "migrate", "order_status.ask_order_number"
        ),
        Stranded("refund.old_reason", 1, {"v2": 1}, "restart", "refund.start"),
    ]  # fmt: skip
    assert [s.state for s in against.uncovered] == ["order_status.ask_order", "refund.old_reason"]


async def test_the_section_lists_each_state_with_where_its_sessions_go(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'botkit.db'}"
    await _fill(url, _live_and_not(T0))
    bot = _bot(_renamed_bot(tmp_path))

    against = await read_against(bot, open_store(url, create=False), url, now=T0)

    assert render_against(against, url) == (
        f"live conversations at states this version does not have ({url}, active in the "
        "last 30 minutes):\n"
        "  order_status.ask_order     3 sessions → order_status.ask_order_number: NOT COVERED, "
        "they start the flow again\n"
        "  order_status.ask_order_no  1 session → order_status.ask_order_number (migrate:)\n"
        "  refund.old_reason          1 session → refund.start: NOT COVERED, they start the flow "
        "again\n"
        "add the uncovered states to 'migrate:' in bot.yaml (old flow.state: new flow.state)"
    )


async def test_a_state_of_a_flow_that_is_gone_starts_the_bot_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'botkit.db'}"
    await _fill(
        url,
        [
            _session("kakao:가영", "v1", "이벤트.응모_확인", T0 - MINUTE),
            _session("kakao:나래", "v1", "이벤트.응모_확인", T0 - MINUTE),
            _session("kakao:다온", "v1", "refund.old_reason", T0 - MINUTE),
        ],
    )
    bot = _bot(_renamed_bot(tmp_path))

    against = await read_against(bot, open_store(url, create=False), url, now=T0)

    # Hangul takes two cells in a terminal: the counts still line up
    assert render_against(against, url).splitlines()[1:3] == [
        "  이벤트.응모_확인   2 sessions → main.start: NOT COVERED, they start the bot again",
        "  refund.old_reason  1 session → refund.start: NOT COVERED, they start the flow again",
    ]


async def test_the_store_is_shown_without_its_password(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'botkit.db'}"
    await _fill(url, [_session("kakao:가영", "v1", "main.start", T0)])
    shown = "postgresql://shop:비밀-s3cret@db.internal/bot"

    against = await read_against(_bot(REPO / "flows"), open_store(url), shown, now=T0)

    assert against.store == "postgresql://shop:***@db.internal/bot"
    assert "s3cret" not in render_against(against, shown)
    assert "s3cret" not in render_against(None, shown)


def test_a_bot_with_errors_leaves_the_store_unread(tmp_path: Path) -> None:
    url = _sqlite_store(tmp_path, [])
    assert check_against(None, url, now=T0) is None


# --- the command ------------------------------------------------------------------------------


def test_check_against_lists_stranded_sessions_and_counts_only_live_ones(tmp_path: Path) -> None:
    url = _sqlite_store(tmp_path, _live_and_not(time.time()))
    folder = _renamed_bot(tmp_path)

    result = _check(str(folder), "--against", url)

    assert result.exit_code == 0, result.output  # without --strict, a list to read
    lines = result.stdout.splitlines()
    assert lines[0] == "ok: 8 file(s), no problems"
    assert lines[1] == (
        f"live conversations at states this version does not have ({url}, active in the last "
        "30 minutes):"
    )
    assert re.match(r"  order_status\.ask_order +3 sessions → ", lines[2])  # closed, old: not
    assert "refund.old_reason" in lines[4]
    assert result.stderr == ""


def test_strict_fails_until_migrate_covers_the_state(tmp_path: Path) -> None:
    now = time.time()
    url = _sqlite_store(
        tmp_path,
        [
            _session("kakao:가영", "v1", "order_status.ask_order", now - MINUTE),
            _session("web:나래", "v2", "order_status.ask_order", now),
            _session("kakao:다온", "v1", "order_status.ask_order_no", now),  # covered already
        ],
    )
    folder = _renamed_bot(tmp_path)

    uncovered = _check(str(folder), "--against", url, "--strict")
    assert uncovered.exit_code == 1, uncovered.output
    assert (
        "  order_status.ask_order     2 sessions → order_status.ask_order_number: NOT COVERED"
        in (uncovered.stdout)
    )
    assert "add the uncovered states to 'migrate:' in bot.yaml" in uncovered.stdout

    _cover(folder, "order_status.ask_order", "order_status.ask_order_number")
    covered = _check(str(folder), "--against", url, "--strict")
    assert covered.exit_code == 0, covered.output
    assert covered.stdout.splitlines()[2:] == [
        "  order_status.ask_order     2 sessions → order_status.ask_order_number (migrate:)",
        "  order_status.ask_order_no  1 session → order_status.ask_order_number (migrate:)",
        "every one of them is covered by 'migrate:' in bot.yaml",
    ]


def test_nothing_stranded_says_how_many_live_sessions_were_checked(tmp_path: Path) -> None:
    now = time.time()
    url = _sqlite_store(
        tmp_path,
        [
            _session("kakao:가영", "v1", "main.start", now),
            _session("kakao:나래", "v1", "order_status.ask_order", now, status=Status.CLOSED),
            _session("kakao:다온", "v1", "order_status.ask_order", now - 2 * 3600),
        ],
    )
    result = _check(str(_renamed_bot(tmp_path)), "--against", url, "--strict")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1] == (
        "no live conversation is at a state this version does not have: 1 live session checked "
        f"({url}, active in the last 30 minutes)"
    )


def test_json_with_against_is_one_object_with_the_problems_and_the_stranded(
    tmp_path: Path,
) -> None:
    url = _sqlite_store(tmp_path, _live_and_not(time.time()))
    folder = _renamed_bot(tmp_path)

    result = _check(str(folder), "--against", url, "--format", "json", "--strict")

    assert result.exit_code == 1, result.output
    out = json.loads(result.stdout)
    assert (out["problems"], out["store"], out["live_sessions"]) == ([], url, 7)
    assert out["stranded"][0] == {
        "state": "order_status.ask_order",
        "sessions": 3,
        "versions": {"v1": 2, "v2": 1},
        "how": "restart",
        "to": "order_status.ask_order_number",
        "covered": False,
    }
    assert [s["covered"] for s in out["stranded"]] == [False, True, False]
    # without --against, the JSON is the list it always was
    assert json.loads(_check(str(folder), "--format", "json").stdout) == []


def test_a_bot_with_errors_is_not_checked_against_the_store(tmp_path: Path) -> None:
    url = _sqlite_store(tmp_path, _live_and_not(time.time()))
    folder = _renamed_bot(tmp_path)
    _edit(folder / "faq.yaml", r"order_status\.ask_order_number", "order_status.ask_ordr")

    text = _check(str(folder), "--against", url)
    data = _check(str(folder), "--against", url, "--format", "json")

    assert text.exit_code == data.exit_code == 1
    assert "error[BK" in text.stdout
    assert text.stdout.splitlines()[-1] == f"not checked against {url}: the bot has errors"
    assert json.loads(data.stdout)["stranded"] is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "mysql://shop:비밀-s3cret@db.internal/bot",
            "error: --against: unsupported store URL 'mysql://shop:***@db.internal/bot'; "
            "supported: memory://",
        ),
        ("memory://", "error: --against: memory:// is empty every time it is opened"),
        (
            "sqlite:///{tmp}/nope.db",
            "error: --against: there is no SQLite store at '{tmp}/nope.db'",
        ),
        (
            "sqlite:///{tmp}/empty.db",
            "error: --against: the SQLite file '{tmp}/empty.db' is not a",
        ),
        (
            "postgresql://shop:비밀-s3cret@127.0.0.1:1/bot?connect_timeout=1",
            "error: --against: cannot open PostgresStore(127.0.0.1:1/bot, schema='botkit'): ",
        ),
    ],
    ids=["unknown-scheme", "memory", "missing-file", "not-a-store", "unreachable"],
)
def test_a_store_it_cannot_read_is_one_line_on_stderr_and_exit_2(
    tmp_path: Path, url: str, message: str
) -> None:
    (tmp_path / "empty.db").write_bytes(b"")
    url, message = url.format(tmp=tmp_path), message.format(tmp=tmp_path)

    result = _check(str(REPO / "flows"), "--against", url)

    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith(message), result.stderr
    assert result.stderr.count("\n") == 1
    assert "s3cret" not in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "nope.db").exists()
    assert (tmp_path / "empty.db").read_bytes() == b""


def test_against_checks_exactly_one_bot(tmp_path: Path) -> None:
    url = _sqlite_store(tmp_path, [])
    result = _check(str(REPO / "flows"), str(REPO / "flows" / "main.yaml"), "--against", url)
    assert result.exit_code == 2
    assert "--against checks one bot, not 2: give one bot folder" in result.stderr
