"""`botkit report` on PostgreSQL: the same conversations give the same report as on SQLite, in
every format and grouping, so operators can point reports at the database the workers share
(or at a read replica of it)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import botkit
from botkit.cli.main import cli
from tests.postgres import POSTGRES_MARKS, postgres_url

pytestmark = POSTGRES_MARKS

REPO = Path(__file__).resolve().parents[2]
APP = botkit.load(REPO / "flows")
LOOKUP = {"status": "배송중", "delivery": {"eta": "내일", "courier": "CJ"}}
FIRST = 1_795_568_400.0  # the first conversation; the others follow over the next days
CONVERSATIONS = {
    ("web", "가"): ["안녕하세요", "배송 조회", "1234-567-890", "고마워요"],
    ("web", "나"): ["안녕하세요", "배송 조회", "12-34", "1234-567-890", "처음으로"],
    ("kakao", "다"): ["안녕하세요", "상담원"],
    ("kakao", "라"): ["안녕하세요"],
    ("web", "마"): ["환불", "음", "음", "음"],
}


class Clock:
    at = FIRST

    def __call__(self) -> float:
        return self.at


async def _talk(store: str) -> None:
    clock = Clock()
    async with APP.run(store=store, clock=clock, stubs={"lookup_order": lambda c: LOOKUP}) as bot:
        for n, ((channel, user), texts) in enumerate(CONVERSATIONS.items()):
            for i, text in enumerate(texts):
                # a conversation's turns 30 s apart, one conversation every 9 hours: 2-3 days
                clock.at = FIRST + n * 32_400 + i * 30
                await bot.handle(channel, user, text)
        await bot.add_events(
            [botkit.BusinessEvent("order-1", "purchase", "가", FIRST + 86_400, 30_000.0)]
        )


@pytest.mark.parametrize(
    "options",
    [
        ["--format", "json"],
        ["--format", "json", "--by", "day"],
        ["--format", "csv", "--by", "channel"],
        ["--format", "json", "--from", "2026-11-25", "--to", "2026-11-25"],
        ["--format", "json", "--flow", "order_status", "--window", "0.5"],
    ],
    ids=["json", "by-day", "csv-by-channel", "one-day", "one-flow"],
)
def test_a_report_on_postgresql_equals_the_same_report_on_sqlite(
    tmp_path: Path, postgres_schema: str, options: list[str]
) -> None:
    sqlite = f"sqlite:///{tmp_path}/bot.db"
    postgres = postgres_url(postgres_schema)
    asyncio.run(_talk(sqlite))
    asyncio.run(_talk(postgres))
    runner = CliRunner()
    bot = ["--bot", str(REPO / "flows")]
    on_sqlite = runner.invoke(cli, ["report", "--store", sqlite, *bot, *options])
    on_postgres = runner.invoke(cli, ["report", "--store", postgres, *bot, *options])
    assert on_postgres.exit_code == 0, on_postgres.output
    assert on_postgres.output == on_sqlite.output
    if options[1] == "json" and "--from" not in options and "--flow" not in options:
        figures = json.loads(on_postgres.output)
        assert figures["conversations"] == len(CONVERSATIONS)


def test_a_report_on_a_database_that_does_not_answer_is_a_clear_error() -> None:
    result = CliRunner().invoke(
        cli,
        ["report", "--store", "postgresql://bot:secret@127.0.0.1:1/shop?connect_timeout=1"],
    )
    assert result.exit_code == 1
    assert result.output.startswith("error: cannot open PostgresStore(127.0.0.1:1/shop")
    assert "secret" not in result.output
    assert "Traceback" not in result.output


def test_a_report_refuses_a_schema_that_does_not_exist_and_creates_nothing(
    postgres_schema: str,
) -> None:
    import asyncpg

    from tests.postgres import POSTGRES_URL, run_apart

    result = CliRunner().invoke(
        cli, ["report", "--store", postgres_url(postgres_schema), "--bot", str(REPO / "flows")]
    )
    assert result.exit_code == 1
    assert f"there is no botkit schema '{postgres_schema}'" in result.output

    async def exists() -> bool:
        conn = await asyncpg.connect(POSTGRES_URL)
        try:
            query = "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)"
            return bool(await conn.fetchval(query, postgres_schema))
        finally:
            await conn.close()

    assert run_apart(exists()) is False
