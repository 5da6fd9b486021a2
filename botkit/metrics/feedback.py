"""Feedback: a score slot (CSAT) and a free-text comment slot, read from the records.

``slot_filled`` records carry the value of every slot not marked ``sensitive``. Given the
score slot (``--csat score``) a report shows the average, the distribution, and the share of
positive (≥ 4 on a 1-5 scale, the top two) and negative (≤ 2, the bottom two) answers. Given a
comment slot (``--comments why_low``) it counts the words people used, with a tokenizer that
knows enough Korean to count "배송이", "배송은" and "배송을" as one word: it splits on anything
that is not a letter or digit, removes the particles and polite endings that stick to Korean
words, and leaves out words shorter than two characters and very common ones.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from botkit.records import Record, RecordKind, ReportRow

__all__ = ["Feedback", "feedback", "tokens"]

_WORD = re.compile(r"[0-9A-Za-z가-힣]+")
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
    happy: Counter[str] = Counter()
    unhappy: Counter[str] = Counter()
    for key, text in comments.items():
        words = tokens(text)
        everyone.update(words)
        given = scores.get(key)
        if given is not None and given >= 4:
            happy.update(words)
        elif given is not None and given <= 2:
            unhappy.update(words)
    out.keywords = everyone.most_common(20)
    out.keywords_positive = happy.most_common(10)
    out.keywords_negative = unhappy.most_common(10)
    return out
