"""Normalizing text for matching (never for display).

What users type varies in ways that do not change what they mean: full-width digits and letters
(１２３４, ＡＢＣ), compatibility and decomposed Hangul (NFD from some keyboards and macOS),
upper/lower case, and spacing, which Korean users apply loosely ("배송조회" vs "배송 조회").
Matching therefore compares NFKC-normalized, case-folded text with all whitespace removed.
"""

from __future__ import annotations

import unicodedata

__all__ = ["bare", "normalize", "squash"]


def normalize(text: str) -> str:
    """NFKC + casefold, whitespace collapsed to single spaces and trimmed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def squash(text: str) -> str:
    """:func:`normalize` with all whitespace removed: the form keywords are compared in."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def bare(text: str) -> str:
    """:func:`squash` without punctuation, symbols and emoji (Unicode categories P and S):
    "광고 그만!!" and "수신거부." say what "광고그만" and "수신거부" say."""
    return "".join(c for c in squash(text) if unicodedata.category(c)[0] not in "PS")
