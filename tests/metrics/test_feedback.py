"""Satisfaction scores and comments, from the survey's slot records, and the tokenizer that
counts Korean words without their particles."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import botkit
from botkit.cli.main import cli
from botkit.metrics.feedback import SentimentCounts, feedback, tokens
from botkit.records import Record, RecordKind

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
    assert result["sentiment"] == {
        **{"comments": 2, "positive": 0, "neutral": 0, "negative": 2},
        **{"positive_share": 0.0, "neutral_share": 0.0, "negative_share": 1.0},
    }
    assert result["sentiment_low_scorers"]["negative"] == 2
    assert result["sentiment_high_scorers"]["comments"] == 0
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
    rows = {line.split("│")[1].strip(): line for line in table.splitlines() if "│" in line}
    assert "만족도" in table
    assert rows["answers"].split("│")[2].strip() == "3"
    assert rows["average"].split("│")[2].strip() == "2.67"
    assert rows["keywords:배송"].split("│")[2].strip() == "2"


def survey(*answers: tuple[str, int | None, str | None]) -> list[Record]:
    """The slot records of a survey: per user, a score (``score``) and a comment (``why``)."""
    records: list[Record] = []
    for n, (user, score, comment) in enumerate(answers):
        for slot, value in (("score", score), ("why", comment)):
            if value is not None:
                records.append(
                    Record(
                        kind=RecordKind.SLOT_FILLED.value,
                        session=f"web:{user}",
                        conversation=1,
                        seq=len(records),
                        turn=1,
                        at=1_700_000_000.0 + n,  # a fixed clock, one second per user
                        bot="shop",
                        flow="promotion",
                        flow_version="v1",
                        variant="",
                        user=user,
                        channel="web",
                        data={"slot": slot, "value": value},
                    )
                )
    return records


@pytest.mark.defines("sentiment")
def test_sentiment_of_comments_is_counted_overall_and_by_score() -> None:
    result = feedback(
        survey(
            ("가", 5, "상담원분이 친절해서 좋았어요"),
            ("나", 4, "빠르긴 한데 좀 불친절했어요"),  # a high score, an unhappy comment
            ("다", 1, "환불해 주세요 ㅠㅠ"),
            ("라", 2, "답변이 안 와요"),
            ("마", 3, "그냥 그래요"),
            ("바", None, "Not helpful at all"),  # a comment without a score
            ("사", 5, None),
        ),
        score="score",
        comment="why",
    )
    assert result.comments == 6
    assert result.sentiment == SentimentCounts(
        *(6, 1, 1, 4),
        *(pytest.approx(1 / 6), pytest.approx(1 / 6), pytest.approx(4 / 6)),  # type: ignore[arg-type]
    )
    assert result.sentiment_high_scorers == SentimentCounts(2, 1, 0, 1, 0.5, 0.0, 0.5)
    assert result.sentiment_low_scorers == SentimentCounts(2, 0, 0, 2, 0.0, 0.0, 1.0)


def test_without_comments_sentiment_has_no_shares() -> None:
    result = feedback(survey(("가", 5, None)), score="score", comment="why")
    assert result.sentiment == SentimentCounts()
    assert result.sentiment.positive_share is None
    assert feedback([], score="score").sentiment_low_scorers.comments == 0


def test_the_report_shows_counts_never_the_comments_themselves() -> None:
    """A name or a number typed into one comment never reaches the report; words that several
    comments share still do."""
    result = feedback(
        survey(
            ("가", 1, "김철수 010-1234-5678 환불해 주세요"),
            ("나", 2, "주문번호 20261205-0042 환불 언제 되나요"),
            ("다", 5, "환불 빨리 해주셔서 감사합니다"),
        ),
        score="score",
        comment="why",
    )
    assert result.sentiment_low_scorers == SentimentCounts(2, 0, 1, 1, 0.0, 0.5, 0.5)
    shown = json.dumps(dataclasses.asdict(result), ensure_ascii=False)
    for private in ("김철수", "010", "1234", "5678", "20261205", "0042"):
        assert private not in shown
    assert result.keywords == [("환불", 2)]  # "환불해" and "환불" are not one word to tokens()
