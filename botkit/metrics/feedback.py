"""Feedback: a score slot (CSAT) and a free-text comment slot, read from the records.

``slot_filled`` records carry the value of every slot not marked ``sensitive``. Given the
score slot (``--csat score``) a report shows the average, the distribution, and the share of
positive (≥ 4 on a 1-5 scale, the top two) and negative (≤ 2, the bottom two) answers. Given a
comment slot (``--comments why_low``) it counts the words people used, with a tokenizer that
knows enough Korean to count "배송이", "배송은" and "배송을" as one word: it splits on anything
that is not a letter or digit, removes the particles and polite endings that stick to Korean
words, and leaves out words shorter than two characters and very common ones.

A word becomes a keyword only when at least two comments use it, and never when it holds a
digit: a name, a phone number or an order number typed into one comment stays out of the report.

Each comment is also read for its sentiment (positive, neutral or negative; see
:mod:`botkit.metrics.sentiment` for the method and its accuracy). The report counts them, among
all comments and among the comments of low (≤ 2) and high (≥ 4) scorers, and never quotes one:
a comment is free text and may hold a name, a phone number or an address.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from botkit.metrics.sentiment import SentimentLabel, sentiment
from botkit.records import Record, RecordKind, ReportRow

__all__ = ["Feedback", "SentimentCounts", "feedback", "tokens"]

_WORD = re.compile(r"[0-9A-Za-z가-힣]+")
_DIGIT = re.compile(r"[0-9]")
# Longest first, so "에서는" goes before "는". Particles (조사) and common polite endings.
_SUFFIXES = sorted(
    (
        *("이에요", "예요", "했어요", "해요", "었어요", "았어요", "어요", "아요", "네요"),
        *("합니다", "습니다", "니다", "에서는", "에서", "에게", "한테", "으로", "이랑"),
        *("로", "랑", "과", "와", "은", "는", "이", "가", "을", "를", "의", "에", "도"),
        *("만", "요", "고"),
    ),
    key=len,
    reverse=True,
)
_STOPWORDS = frozenset(
    (
        *("그리고", "그런데", "하지만", "그냥", "너무", "정말", "진짜", "조금", "많이"),
        *("the", "and", "to", "is"),
    )
)


def tokens(text: str) -> list[str]:
    """The words of ``text`` for counting: particles and endings removed, lowercase."""
    out = []
    for word in _WORD.findall(text.lower()):
        if re.fullmatch(r"[가-힣]+", word):
            for suffix in _SUFFIXES:
                if len(word) > len(suffix) + 1 and word.endswith(suffix):
                    word = word[: -len(suffix)]
                    break
        if len(word) >= 2 and word not in _STOPWORDS:
            out.append(word)
    return out


@dataclass(slots=True)
class SentimentCounts:
    """How many comments read positive, neutral and negative, and their shares of ``comments``
    (None when there are no comments)."""

    comments: int = 0
    positive: int = 0
    neutral: int = 0
    negative: int = 0
    positive_share: float | None = None
    neutral_share: float | None = None
    negative_share: float | None = None

    @classmethod
    def of(cls, labels: Iterable[SentimentLabel]) -> SentimentCounts:
        counted = Counter(labels)
        out = cls(
            comments=sum(counted.values()),
            positive=counted[SentimentLabel.POSITIVE],
            neutral=counted[SentimentLabel.NEUTRAL],
            negative=counted[SentimentLabel.NEGATIVE],
        )
        if out.comments:
            out.positive_share = out.positive / out.comments
            out.neutral_share = out.neutral / out.comments
            out.negative_share = out.negative / out.comments
        return out


@dataclass(slots=True)
class Feedback:
    answers: int = 0
    average: float | None = None
    distribution: dict[str, int] = field(default_factory=dict)  # score → answers
    positive_share: float | None = None
    negative_share: float | None = None
    comments: int = 0
    keywords: list[tuple[str, int]] = field(default_factory=list)  # most frequent first
    keywords_positive: list[tuple[str, int]] = field(default_factory=list)
    keywords_negative: list[tuple[str, int]] = field(default_factory=list)
    sentiment: SentimentCounts = field(default_factory=SentimentCounts)  # of every comment
    sentiment_low_scorers: SentimentCounts = field(default_factory=SentimentCounts)  # score ≤ 2
    sentiment_high_scorers: SentimentCounts = field(default_factory=SentimentCounts)  # ≥ 4


def feedback(
    records: Iterable[Record | ReportRow], *, score: str | None, comment: str | None = None
) -> Feedback:
    """Scores of slot ``score`` and words of slot ``comment`` (None: not measured)."""
    scores: dict[tuple[str, int], float] = {}
    comments: dict[tuple[str, int], str] = {}
    filled = RecordKind.SLOT_FILLED.value  # a plain str, read once: the loop sees every record
    for r in records:
        if r.kind != filled or not r.data or "value" not in r.data:
            continue
        key = (r.session, r.conversation)
        if r.data.get("slot") == score and isinstance(r.data["value"], int | float):
            scores[key] = float(r.data["value"])
        elif r.data.get("slot") == comment and isinstance(r.data["value"], str):
            comments[key] = r.data["value"]
    out = Feedback(answers=len(scores), comments=len(comments))
    if scores:
        values = list(scores.values())
        out.average = sum(values) / len(values)
        out.distribution = {f"{v:g}": n for v, n in sorted(Counter(values).items())}
        out.positive_share = sum(1 for v in values if v >= 4) / len(values)
        out.negative_share = sum(1 for v in values if v <= 2) / len(values)
    everyone: Counter[str] = Counter()
    used_by: Counter[str] = Counter()  # word → comments that use it
    happy: Counter[str] = Counter()
    unhappy: Counter[str] = Counter()
    moods: list[SentimentLabel] = []
    moods_high: list[SentimentLabel] = []
    moods_low: list[SentimentLabel] = []
    for key, text in comments.items():
        words = tokens(text)
        mood = sentiment(text).label
        everyone.update(words)
        used_by.update(set(words))
        moods.append(mood)
        given = scores.get(key)
        if given is not None and given >= 4:
            happy.update(words)
            moods_high.append(mood)
        elif given is not None and given <= 2:
            unhappy.update(words)
            moods_low.append(mood)

    def shown(counted: Counter[str], top: int) -> list[tuple[str, int]]:
        common = counted.most_common()
        return [(w, n) for w, n in common if used_by[w] >= 2 and not _DIGIT.search(w)][:top]

    out.keywords = shown(everyone, 20)
    out.keywords_positive = shown(happy, 10)
    out.keywords_negative = shown(unhappy, 10)
    out.sentiment = SentimentCounts.of(moods)
    out.sentiment_low_scorers = SentimentCounts.of(moods_low)
    out.sentiment_high_scorers = SentimentCounts.of(moods_high)
    return out
