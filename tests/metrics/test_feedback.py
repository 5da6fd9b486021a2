"""Satisfaction scores and comments, from the survey's slot records, and the tokenizer that
counts Korean words without their particles."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import botkit
from botkit.cli.main import cli
from botkit.metrics.feedback import tokens

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("배송이 너무 늦었어요", ["배송", "늦었"]),
        ("배송은 빨랐고 포장을 꼼꼼히 해 주셨어요", ["배송", "빨랐", "포장", "꼼꼼히", "주셨"]),
        ("상담원이 친절했어요. 감사합니다!", ["상담원", "친절", "감사"]),
        ("App crashed, 화면이 멈춰요", ["app", "crashed", "화면", "멈춰"]),
        ("아이가 좋아해요", ["아이", "좋아"]),  # a word of two syllables keeps its last one
    ],
)
def test_words_are_counted_without_particles_and_endings(text: str, words: list[str]) -> None:
    assert tokens(text) == words


def test_scores_distribution_and_the_words_of_unhappy_users(tmp_path: Path) -> None:
    app = botkit.load(REPO / "flows")
    answers = [
        ("가", "2", "배송이 너무 늦었어요"),
        ("나", "1", "배송 조회가 안 돼요"),
        ("다", "5", None),
    ]

    async def talk() -> None:
        async with app.run(store=f"sqlite:///{tmp_path}/bot.db") as bot:
            for user, score, comment in answers:
                await bot.goto("web", user, "promotion.survey")
                await bot.handle("web", user, score)
                if comment:
                    await bot.handle("web", user, comment)

    asyncio.run(talk())
    report = CliRunner().invoke(
        cli,
        [
            *("report", "--store", f"sqlite:///{tmp_path}/bot.db", "--bot", str(REPO / "flows")),
            *("--csat", "score", "--comments", "why_low", "--format", "json"),
        ],
    )
    result = json.loads(report.output)["feedback"]
    assert result["answers"] == 3
    assert result["average"] == pytest.approx(8 / 3)
    assert result["distribution"] == {"1": 1, "2": 1, "5": 1}
    assert result["positive_share"] == pytest.approx(1 / 3)
    assert result["negative_share"] == pytest.approx(2 / 3)
    assert result["comments"] == 2
    assert result["keywords"][0] == ["배송", 2]
    assert result["keywords_negative"][0] == ["배송", 2]
    assert result["keywords_positive"] == []
    table = (
        CliRunner()
        .invoke(
            cli,
            [
                *(
                    "report",
                    "--store",
                    f"sqlite:///{tmp_path}/bot.db",
                    "--bot",
                    str(REPO / "flows"),
                ),
                *("--csat", "score", "--comments", "why_low"),
            ],
        )
        .output
    )
    assert "feedback: 3 scores, average 2.67" in " ".join(table.split())
    assert "comments: 배송 (2)" in table
