"""Compiling what the bot declares per language: keywords and example phrases per locale, the
``locale:`` switch of a transition, and the warnings about what is missing in a declared
language (BK417, an error with ``--strict``).

A list of words (``keywords: [환불, 반품]``) is the default locale's; a mapping gives each
locale its own (``keywords: {ko: [환불], en: [refund]}``). The engine matches the session's
locale's words and, always, the default locale's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from botkit.flow._context import Context
from botkit.flow._node import Node
from botkit.flow._report import Where
from botkit.flow._words import one_of
from botkit.flow.model import NO_WORDS, Intent
from botkit.text import squash

__all__ = ["compile_intent", "compile_phrases", "compile_switch", "warn_untranslated"]

Phrases = tuple[tuple[str, ...], Mapping[str, tuple[str, ...]]]
"""The default locale's words, and those of each other locale that has its own."""


def compile_phrases(ctx: Context, node: Node, key: str, subject: str, *, check: bool) -> Phrases:
    """``keywords``/``examples`` (a list, or one list per locale), normalized for matching.
    With ``check``, each declared locale without words of its own is reported (BK417)."""
    raw = node.get(key)
    if isinstance(raw, list):
        words = tuple(squash(str(w)) for w in raw)
        if check:
            _warn_words(ctx, node, key, subject, {ctx.default_locale})
        return words, NO_WORDS
    if not isinstance(raw, dict):
        return (), NO_WORDS
    by_locale: dict[str, tuple[str, ...]] = {}
    for locale, words in raw.items():
        if locale not in ctx.locales:
            _unknown_locale(ctx, node.where_path(key, locale, at_key=True), locale)
        elif isinstance(words, list):
            by_locale[locale] = tuple(squash(str(w)) for w in words)
    if check:
        _warn_words(ctx, node, key, subject, set(by_locale))
    default = by_locale.pop(ctx.default_locale, ())
    return default, MappingProxyType(by_locale) if by_locale else NO_WORDS


def compile_intent(ctx: Context, name: str, node: Node) -> Intent:
    """An intent, its examples and keywords per locale (each list missing a locale: BK417)."""
    subject = f" of intent '{name}'"
    examples, other_examples = compile_phrases(ctx, node, "examples", subject, check=True)
    keywords, other_keywords = compile_phrases(ctx, node, "keywords", subject, check=True)
    return Intent(
        name,
        str(node.get("title") or name),
        examples,
        keywords,
        examples_by_locale=other_examples,
        keywords_by_locale=other_keywords,
    )


def compile_switch(ctx: Context, t: Node) -> str | None:
    """A transition's ``locale:``, the language it switches the conversation to."""
    value = t.get("locale")
    if value is None:
        return None
    if value not in ctx.locales:
        _unknown_locale(ctx, t.where("locale"), str(value))
        return None
    return str(value)


def warn_untranslated(ctx: Context, where: Where, present: Iterable[str]) -> None:
    """A text (message, label, title) without a version in some declared locale: BK417."""
    have = set(present)
    for locale in ctx.locales:
        if locale not in have:
            ctx.reporter.add(
                "BK417",
                where,
                f"this text has no '{locale}' version",
                expected=f"a text for '{locale}'",
                found="only " + one_of(f"'{loc}'" for loc in sorted(have)),
                hint=f"write it per language, {_example(ctx, locale, '...')}; until then users "
                f"who speak '{locale}' read the '{ctx.default_locale}' text",
            )


def _warn_words(ctx: Context, node: Node, key: str, subject: str, present: set[str]) -> None:
    for locale in ctx.locales:
        if locale not in present:
            ctx.reporter.add(
                "BK417",
                node.where(key),
                f"the {key}{subject} have no '{locale}' words",
                expected=f"words for '{locale}'",
                found="only " + one_of(f"'{loc}'" for loc in sorted(present)) if present else None,
                hint=f"write them per language, {key}: {_example(ctx, locale, '[...]')}; until "
                f"then a user who speaks '{locale}' is matched on the "
                f"'{ctx.default_locale}' words only",
            )


def _example(ctx: Context, locale: str, value: str) -> str:
    if locale == ctx.default_locale:
        return f"{{{locale}: {value}}}"
    return f"{{{ctx.default_locale}: {value}, {locale}: {value}}}"


def _unknown_locale(ctx: Context, where: Where, locale: Any) -> None:
    ctx.reporter.add(
        "BK313",
        where,
        f"language '{locale}' is not one of the bot's languages",
        expected=one_of(f"'{loc}'" for loc in ctx.locales),
        found=f"'{locale}'",
        hint="add it to 'locales:' in bot.yaml, or remove it here",
    )
