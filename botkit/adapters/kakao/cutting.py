"""Cutting text to a Kakao limit without breaking what shows as one letter.

A cut ends in "…" at a line break or a space near the limit when there is one; it never splits
a decomposed Hangul syllable, a combining mark or an emoji sequence.
"""

from __future__ import annotations

import unicodedata

__all__ = ["ELLIPSIS", "cut", "split_tail"]

ELLIPSIS = "…"


def cut(text: str, limit: int) -> str:
    """``text`` if it has at most ``limit`` characters, else its start ending in "…",
    cut at a line break or a space near the end when there is one."""
    if len(text) <= limit:
        return text
    end = _boundary(text, limit - len(ELLIPSIS))
    near = max(end - limit // 4, 1)
    for separator in ("\n", " "):
        at = text.rfind(separator, near, end + 1)
        if at != -1 and text[:at].strip():
            end = at
            break
    return text[:end].rstrip() + ELLIPSIS


def split_tail(text: str, limit: int) -> tuple[str, str]:
    """Split ``text``, longer than ``limit``, into a head and a tail of at most ``limit``
    characters, at the earliest line break (else space) that leaves the tail short enough."""
    start = len(text) - limit
    for separator in ("\n", " "):
        at = text.find(separator, start - 1)
        if at != -1 and text[at + 1 :].strip():
            return text[:at].rstrip(), text[at + 1 :].strip()
    start = _boundary(text, start, forward=True)
    return text[:start], text[start:]


def _boundary(text: str, index: int, *, forward: bool = False) -> int:
    """The nearest index (backward by default) that does not split what shows as one letter."""
    while 0 < index < len(text) and _continues(text, index):
        index += 1 if forward else -1
    return index


def _continues(text: str, index: int) -> bool:
    """Whether ``text[index]`` belongs with the character before it: a combining mark, the
    vowel or final of a decomposed Hangul syllable (NFD, as macOS and some keyboards send), an
    emoji modifier or variation selector, or either side of a zero-width joiner."""
    ch = text[index]
    return (
        unicodedata.combining(ch) != 0
        or "\u1160" <= ch <= "\u11ff"
        or "\ud7b0" <= ch <= "\ud7ff"
        or "\ufe00" <= ch <= "\ufe0f"
        or "\U0001f3fb" <= ch <= "\U0001f3ff"
        or "\u200d" in (ch, text[index - 1])
    )
