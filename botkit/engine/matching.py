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
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from botkit.flow.model import Intent, Transition

__all__ = ["THRESHOLD", "Classifier", "ExactPool", "bigrams", "exact", "similarity"]

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


_PAYLOAD, _SEARCH, _PATTERN, _ANY = range(4)


def _any_of(words: tuple[str, ...]) -> Callable[[str], object]:
    """``said`` contains one of ``words``: one C-level search instead of a generator per word.

    The words are literals (escaped), so the alternation has no repetition to backtrack on.
    """
    if not words:
        return lambda said: None
    return re.compile("|".join(re.escape(w) for w in sorted(words, key=len))).search


class ExactPool:
    """Transitions with exact triggers, in precedence order, prepared once for matching.

    ``first`` gives the same answer as calling :func:`exact` on each transition in turn, but
    each probe is ready (keyword lists compiled into one search, intents resolved), so a turn
    walks a tuple instead of re-deciding how to match every transition.
    """

    __slots__ = ("_by_locale", "_probes", "transitions")

    def __init__(self, transitions: tuple[Transition, ...], intents: Mapping[str, Intent]):
        self.transitions = transitions
        self._probes = _probes(transitions, intents, "")
        # A locale with words of its own matches them besides the default locale's; the
        # others share the default locale's probes.
        others = {
            locale
            for t in transitions
            for words in (t.keywords_by_locale, _intent_words(t, intents))
            for locale in words
        }
        self._by_locale = {loc: _probes(transitions, intents, loc) for loc in sorted(others)}

    def first(
        self,
        said: str,
        text: str,
        payload: str | None,
        holds: Callable[[Transition], bool],
        locale: str = "",
    ) -> tuple[Transition, dict[str, str]] | None:
        """The first transition that matches (and whose condition holds), with regex groups;
        keywords in ``locale`` (the session's) match besides the default locale's."""
        probes = self._by_locale.get(locale, self._probes) if self._by_locale else self._probes
        for kind, probe, t in probes:
            if kind == _PAYLOAD:
                if payload is None or payload != probe:
                    continue
                groups: dict[str, str] | None = {}
            elif not said:
                continue
            elif kind == _SEARCH:
                groups = {} if probe(said) is not None else None  # type: ignore[operator]
            elif kind == _PATTERN:
                groups = probe(text)  # type: ignore[operator]
            else:
                groups = {}
            if groups is not None and (t.condition is None or holds(t)):
                return t, groups
        return None


def fuzzy(
    t: Transition,
    said: str,
    intents: Mapping[str, Intent],
    scores: Mapping[str, float] | None,
    locale: str = "",
) -> float:
    """How well ``said`` matches the example phrases of ``t`` (0 when it has none): those of
    the default locale, and those of ``locale`` (the session's) if it has its own."""
    if t.trigger == "examples":
        return _best(said, t.examples, t.examples_by_locale.get(locale))
    if t.trigger == "intent":
        if scores is not None:
            return scores.get(t.intent or "", 0.0)
        intent = intents.get(t.intent or "")
        if intent is not None:
            return _best(said, intent.examples, intent.examples_by_locale.get(locale))
    return 0.0


def _best(said: str, examples: tuple[str, ...], more: tuple[str, ...] | None) -> float:
    best = max((similarity(said, e) for e in examples), default=0.0)
    if more:
        best = max(best, max(similarity(said, e) for e in more))
    return best


def _intent_words(t: Transition, intents: Mapping[str, Intent]) -> Mapping[str, object]:
    intent = intents.get(t.intent or "") if t.trigger == "intent" else None
    return intent.keywords_by_locale if intent is not None else {}


def _probes(
    transitions: tuple[Transition, ...], intents: Mapping[str, Intent], locale: str
) -> tuple[tuple[int, object, Transition], ...]:
    """How to match each transition, with the words of ``locale`` besides the default's."""
    probes: list[tuple[int, object, Transition]] = []
    for t in transitions:
        if t.trigger == "payload":
            probes.append((_PAYLOAD, t.payload, t))
        elif t.trigger == "keywords":
            words = t.keywords + t.keywords_by_locale.get(locale, ())
            probes.append((_SEARCH, _any_of(words), t))
        elif t.trigger == "intent":
            intent = intents.get(t.intent or "")
            words = intent.keywords + intent.keywords_by_locale.get(locale, ()) if intent else ()
            probes.append((_SEARCH, _any_of(words), t))
        elif t.trigger == "regex" and t.pattern is not None:
            probes.append((_PATTERN, t.pattern.search, t))
        elif t.trigger == "any":
            probes.append((_ANY, None, t))
    return tuple(probes)
