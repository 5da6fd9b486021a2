"""Phone and order numbers masked in text meant for people who run the bot (log lines), however
the customer spelled them.

People write the same number many ways: ``010-1234-5678``, ``(010)1234-5678``, ``010 1234 5678``,
``010–1234–5678`` with an en dash (phones replace the hyphen on their own), ``010ㅡ1234ㅡ5678``
with the Hangul vowel a Korean keyboard offers, full-width ``０１０－１２３４－５６７８``,
``+82 10-1234-5678``, one digit at a time ``0 1 0 1 2 3 4 5 6 7 8``; order numbers as
``1234-567-890``, ``1234.567.890`` or ``1234567890``. All of them are masked to one spelling,
``010-****-5678`` and ``1234-***-***``; the text around them is left as it was.

Masking too much is harmless in a log line, masking too little is not: a run of ten digits
is taken for an order number even when it is something else.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

__all__ = ["hide_passwords", "mask"]

# The password in a URL (scheme://user:password@host): whatever it is, it is not shown.
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/:@]*:)[^\s/@]+@")

# Every dash people put between groups of digits: hyphen-minus, the Unicode hyphens and dashes,
# the minus sign, small and full-width forms, and the Hangul vowel ㅡ.
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d\u3161"
_DOTS = ".\u00b7\uff0e\u30fb"
_MARKS = re.escape(_DASHES + _DOTS)
_BLANK = r"[^\S\r\n]"  # a space of any width (U+3000 too), but not a line break
# Between two groups: nothing, a space or two, or a dash or a dot with spaces around it.
_SEP = rf"(?:{_BLANK}{{0,2}}[{_MARKS}]{_BLANK}{{0,2}}|{_BLANK}{{1,2}})?"

# The patterns run on a copy of the text whose digits are all ASCII (see _ascii_digits).
_PHONE = re.compile(
    rf"""(?<!\d)
    (?:
        # +82 10 …, (+82) 2 …, +82 (0)10 …: the area code loses its leading 0 abroad
        (?P<intl>\(\+?82\)|\+?{_BLANK}?82){_SEP}(?:\(0\)|0)?
        (?P<iarea>1[016789]|2|[3-6]\d|70)
      |
        \((?P<parea>0\d{{1,2}})\)   # (010)1234-5678, (02) 123-4567
      |
        (?P<area>0?1[016789]|0\d{{1,2}})\)?   # 010-…, 02-…, 010)1234-5678
    )
    {_SEP}(?P<middle>\d{{3,4}}){_SEP}(?P<last>\d{{4}})(?!\d)""",
    re.VERBOSE,
)
# Order numbers: 10 digits, maybe grouped 4-3-3 (flows/main.yaml's order_no).
_ORDER = re.compile(rf"(?<!\d)(?P<first>\d{{4}}){_SEP}\d{{3}}{_SEP}\d{{3}}(?!\d)")
# Digits written one at a time with something between each: 0 1 0 - 1 2 3 4 - 5 6 7 8.
_SPACED = re.compile(rf"(?<!\d)\d(?:[{_MARKS}\s()]{{1,3}}\d){{8,12}}(?!\d)")
_NON_ASCII_DIGIT = re.compile(r"(?![0-9])\d")


def mask(text: str) -> str:
    """``010-1234-5678`` → ``010-****-5678``; ``1234-567-890`` → ``1234-***-***``."""
    text = _substitute(_PHONE, text, _phone)
    text = _substitute(_ORDER, text, _order)
    return _substitute(_SPACED, text, _spaced)


def _phone(found: re.Match[str]) -> str:
    if found["intl"]:
        return f"+82-{found['iarea']}-****-{found['last']}"
    return f"{found['parea'] or found['area']}-****-{found['last']}"


def _order(found: re.Match[str]) -> str:
    return f"{found['first']}-***-***"


def _spaced(found: re.Match[str]) -> str:
    """The digits together, masked if they make a phone or an order number; else as found."""
    digits = "".join(c for c in found.group() if c.isdecimal())
    if whole := _PHONE.fullmatch(digits):
        return _phone(whole)
    if whole := _ORDER.fullmatch(digits):
        return _order(whole)
    return found.group()


def _substitute(
    pattern: re.Pattern[str], text: str, render: Callable[[re.Match[str]], str]
) -> str:
    """``pattern.sub(render, text)``, matched on ASCII digits but keeping the rest of ``text``
    (its full-width digits included) as it was."""
    plain = _ascii_digits(text)
    if plain is text:
        return pattern.sub(render, text)
    parts: list[str] = []
    at = 0
    for found in pattern.finditer(plain):
        parts += [text[at : found.start()], render(found)]
        at = found.end()
    parts.append(text[at:])
    return "".join(parts)


def _ascii_digits(text: str) -> str:
    """``text`` with every decimal digit (full-width ``５``, Arabic-Indic ``٥``, …) as its ASCII
    digit: one character for one, so that positions in the copy are positions in ``text``."""
    if text.isascii():
        return text
    return _NON_ASCII_DIGIT.sub(lambda m: str(unicodedata.decimal(m.group())), text)


def hide_passwords(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``."""
    return _URL_PASSWORD.sub(r"\g<1>***@", text)
