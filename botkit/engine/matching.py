"""Does what the user said trigger a transition?

Exact triggers (payload, keywords, regex, any) either match or not. Example phrases (``examples``
and an intent's ``examples``) match by similarity: the Dice coefficient of the character bigrams
of the two texts after normalization (NFKC, case folded, spaces removed), so "배송조회 할래요"
is close to "배송 조회하고 싶어요" whatever the spacing. A phrase that contains an example, or is
contained by it (with at least 2 characters), counts as a perfect match. A pluggable
:class:`Classifier` (a real NLU model) may score intents instead.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Protocol

from botkit.flow.model import Intent, Transition

__all__ = ["THRESHOLD", "Classifier", "bigrams", "exact", "similarity"]

THRESHOLD = 0.6  # the similarity an example phrase needs to count as a match


class Classifier(Protocol):
    """Scores intents for a text; plug in an NLU model to replace example matching."""

    def classify(self, text: str) -> Sequence[tuple[str, float]]:
        """(intent, score between 0 and 1) pairs, best first."""
        ...


@functools.lru_cache(maxsize=65536)
def bigrams(text: str) -> frozenset[str]:
    if len(text) < 2:
        return frozenset((text,)) if text else frozenset()
    return frozenset(text[i : i + 2] for i in range(len(text) - 1))


def similarity(said: str, example: str) -> float:
    if not said or not example:
        return 0.0
    if (example in said or said in example) and min(len(said), len(example)) >= 2:
        return 1.0
    a, b = bigrams(said), bigrams(example)
    return 2 * len(a & b) / (len(a) + len(b))


def exact(
    t: Transition,
    said: str,
    text: str,
    payload: str | None,
    intents: Mapping[str, Intent],
) -> dict[str, str] | None:
    """The regex groups ({} for other triggers) when ``t`` matches exactly, else None."""
    trigger = t.trigger
    if trigger == "payload":
        return {} if payload is not None and payload == t.payload else None
    if not said:
        return None
    if trigger == "keywords":
        return {} if any(k in said for k in t.keywords) else None
    if trigger == "regex":
        assert t.pattern is not None
        return t.pattern.search(text)
    if trigger == "any":
        return {}
    if trigger == "intent":
        intent = intents.get(t.intent or "")
        if intent is not None and any(k in said for k in intent.keywords):
            return {}
    return None


def fuzzy(
    t: Transition,
    said: str,
    intents: Mapping[str, Intent],
    scores: Mapping[str, float] | None,
) -> float:
    """How well ``said`` matches the example phrases of ``t`` (0 when it has none)."""
    if t.trigger == "examples":
        return max((similarity(said, e) for e in t.examples), default=0.0)
    if t.trigger == "intent":
        if scores is not None:
            return scores.get(t.intent or "", 0.0)
        intent = intents.get(t.intent or "")
        if intent is not None:
            return max((similarity(said, e) for e in intent.examples), default=0.0)
    return 0.0
