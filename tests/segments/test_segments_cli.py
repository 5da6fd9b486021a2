"""`botkit segments flows/ --store URL --at ISO`: a marketer asks who is in each segment of the
reference bot at an instant, as a table, as JSON, with the members or without.

A small shop is written into a SQLite store through the store's own methods: a customer who
left a cart half an hour ago, one who bought since, a friend who added the channel three days
ago, a VIP who has not bought for two months.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from botkit.audience import ConsentChange
from botkit.cli.main import cli
from botkit.cli.segments import instant
from botkit.records import BusinessEvent
from botkit.storage import SQLiteStore

SEOUL = ZoneInfo("Asia/Seoul")
AT = "2026-11-09T10:00"  # the bot's time zone: Seoul
T = dt.datetime(2026, 11, 9, 10, tzinfo=SEOUL).timestamp()
H, D = 3600.0, 86400.0


async def _shop(path: Path) -> None:
    store = SQLiteStore(str(path))
    await store.open()
    try:
        await store.put_profiles(
            [
                ("C-1", {"grade": "SILVER", "region": "부산"}),
                ("C-2", {"grade": "GOLD"}),
                ("C-3", {"grade": "VIP", "region": "서울", "age": 27}),
            ],
            T - 90 * D,
        )
        await store.link("bot:kakao-1", "C-1", T - 90 * D, "kakao_sync")
        await store.change_consent("C-3", ConsentChange(T - 90 * D, "import", marketing=True))
        await store.add_events(
            [
                BusinessEvent("e1", "cart_added", "bot:kakao-1", T - 0.5 * H),  # C-1, linked
                BusinessEvent("e2", "cart_added", "", T - 0.5 * H, customer="C-2"),
                BusinessEvent("e3", "purchase", "", T - 0.2 * H, 39000.0, customer="C-2"),
                BusinessEvent("e4", "channel_added", "bot:kakao-9", T - 3 * D - H),
                BusinessEvent("e5", "purchase", "", T - 60 * D, 120000.0, customer="C-3"),
            ]
        )
    finally:
        await store.close()


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    path = tmp_path / "상점.db"
    asyncio.run(_shop(path))
    return f"sqlite:///{path}"


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["segments", *args])
    return result.exit_code, result.output


def test_the_sizes_of_every_segment_as_json(repo: Path, store_url: str) -> None:
    code, out = _run(str(repo / "flows"), "--store", store_url, "--at", AT, "--format", "json")
    assert code == 0, out
    listed = json.loads(out)
    assert listed["at"] == "2026-11-09T10:00:00+09:00"
    assert listed["instant"] == T
    sizes = {s["name"]: s["size"] for s in listed["segments"]}
    assert sizes == {
        "cart_abandoners": 1,  # C-1; C-2 bought since
        "padding_fans": 0,
        "new_friends": 1,  # the friend who added the channel three days ago
        "dormant": 3,  # C-1, C-3 and the new friend; C-2 bought today
        "vip": 1,
        "vip_dormant": 1,  # C-3 has not bought for 60 days, and said yes to advertising
        "checked_orders": 0,
        "greeting_b": 0,
        "seoul_young": 1,
    }
    assert "members" not in listed["segments"][0]
    titles = {s["name"]: s["title"] for s in listed["segments"]}
    assert titles["cart_abandoners"] == "장바구니 이탈 고객"


def test_members_are_listed_only_when_asked_for(repo: Path, store_url: str) -> None:
    code, out = _run(
        str(repo / "flows"), "--store", store_url, "--at", AT, "--format", "json",
        "--members", "--segment", "dormant", "--segment", "new_friends",
    )  # fmt: skip
    assert code == 0, out
    members = {s["name"]: s["members"] for s in json.loads(out)["segments"]}
    assert members == {
        "dormant": ["C-1", "C-3", "user:bot:kakao-9"],
        "new_friends": ["user:bot:kakao-9"],
    }


def test_the_table_shows_each_segment_with_its_title(repo: Path, store_url: str) -> None:
    code, out = _run(str(repo / "flows"), "--store", store_url, "--at", f"{AT}+09:00")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == "segments at 2026-11-09T10:00:00+09:00"
    row = next(line for line in lines if line.startswith("cart_abandoners"))
    assert row.split() == ["cart_abandoners", "장바구니", "이탈", "고객", "1"]
    assert "C-1" not in out  # members only with --members


def test_an_hour_later_the_cart_is_forgotten(repo: Path, store_url: str) -> None:
    code, out = _run(
        str(repo / "flows"), "--store", store_url, "--at", "2026-11-09T11:00",
        "--format", "json", "--segment", "cart_abandoners",
    )  # fmt: skip
    assert code == 0, out
    assert json.loads(out)["segments"][0]["size"] == 0


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--at", "어제"), "'어제' is not an instant"),
        (("--at", AT, "--segment", "vips"), "no segment 'vips'"),
        (("--at", AT, "--store", "mysql://shop"), "unsupported store URL"),
    ],
)
def test_a_usage_error_exits_2_and_says_why(
    repo: Path, store_url: str, args: tuple[str, ...], says: str
) -> None:
    chosen = list(args)
    if "--store" not in chosen:
        chosen += ["--store", store_url]
    code, out = _run(str(repo / "flows"), *chosen)
    assert code == 2
    assert says in out
    assert "Traceback" not in out


def test_a_store_that_does_not_exist_is_not_created(repo: Path, tmp_path: Path) -> None:
    missing = tmp_path / "없는.db"
    code, out = _run(str(repo / "flows"), "--store", f"sqlite:///{missing}", "--at", AT)
    assert code == 2
    assert "there is no SQLite store" in out
    assert not missing.exists()


def test_the_instant_is_read_in_the_bots_time_zone() -> None:
    assert instant("2026-11-09T10:00", "Asia/Seoul") == T
    assert instant("2026-11-09T01:00+00:00", "Asia/Seoul") == T
    assert instant("2026-11-09", "Asia/Seoul") == T - 10 * H
    with pytest.raises(ValueError, match="not an instant"):
        instant("next monday", "Asia/Seoul")
