"""`botkit report --by locale`: conversations counted by the language they ended in (their
``conversation_start`` names the first, ``locale_changed`` each switch)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from click.testing import CliRunner

import botkit
from botkit.cli.main import cli

BOT_DIR = Path(__file__).resolve().parents[1] / "bots" / "multilingual"
WEDNESDAY_10AM = 1_795_568_400.0  # 2026-11-25 10:00 KST


def test_report_by_locale(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/bot.db"

    async def talk() -> None:
        ticks = iter(WEDNESDAY_10AM + i * 5 for i in range(1000))
        async with botkit.load(BOT_DIR).run(store=store, clock=ticks.__next__) as bot:
            await bot.handle("kakao", "민지", "안녕하세요", locale="ko")
            await bot.handle("kakao", "민지", "환불", locale="ko")
            await bot.handle("kakao", "jane", "hello", locale="en")
            await bot.handle("kakao", "jane", "I want a refund", locale="en")
            await bot.handle("web", "서준", "안녕하세요", locale="ko")
            await bot.handle("web", "서준", "English", locale="ko")  # switched: an English one

    asyncio.run(talk())
    runner = CliRunner()
    base = ["report", "--store", store, "--bot", str(BOT_DIR)]
    result = runner.invoke(cli, [*base, "--by", "locale", "--format", "json"])
    assert result.exit_code == 0, result.output
    groups = json.loads(result.output)["groups"]
    assert {name: g["conversations"] for name, g in groups.items()} == {"en": 2, "ko": 1}
    assert groups["ko"]["completion_rate"] == 1.0
    table = runner.invoke(cli, [*base, "--by", "locale"]).output
    assert "en" in table
    assert "ko" in table
