"""Reading slot values out of what users type, one small function per slot type.

Each extractor takes the user's text (and the payload, when a choice was pressed) and returns
the normalized value, or ``None`` when the answer is not a valid value of the slot. Values are
normalized for storage: an order number is its digits, a phone number ``010-1234-5678``, a date
``YYYY-MM-DD``, a number an ``int`` or ``float``, an enum its canonical value.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from botkit.flow.model import Slot
from botkit.text import squash

__all__ = ["extract"]

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―.()/]+")
_ISO_DATE = re.compile(r"(\d{4})[-./년]\s*(\d{1,2})[-./월]\s*(\d{1,2})일?")
_MONTH_DAY = re.compile(r"(\d{1,2})\s*(?:월|/|\.)\s*(\d{1,2})\s*일?")
_RELATIVE_DAYS = {"오늘": 0, "today": 0, "내일": 1, "tomorrow": 1, "모레": 2, "글피": 3}
_KST = dt.timezone(dt.timedelta(hours=9))  # dates are read in Korean time


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _length_ok(slot: Slot, value: str) -> bool:
    if slot.min_length is not None and len(value) < slot.min_length:
        return False
    return slot.max_length is None or len(value) <= slot.max_length


def _text(slot: Slot, text: str, payload: str | None, now: float) -> Any:
    value = text.strip()
    return value if value and _length_ok(slot, value) else None


def _number(slot: Slot, text: str, payload: str | None, now: float) -> Any:
    source = _nfkc(text).replace(",", "")
    if payload and not _NUMBER.search(source):
        source = payload
    found = _NUMBER.findall(source)
    if len(found) != 1:  # none, or ambiguous ("3 or 4")
        return None
    number = float(found[0])
    if not math.isfinite(number):  # 400 digits is not a number anyone means
        return None
    if slot.min is not None and number < slot.min:
        return None
    if slot.max is not None and number > slot.max:
        return None
    return int(number) if number.is_integer() else number


def _enum(slot: Slot, text: str, payload: str | None, now: float) -> Any:
    if payload is not None and payload in slot.values:
        return payload
    said = squash(text)
    if not said:
        return None
    for value, synonyms in slot.values.items():
        if said in synonyms:
            return value
    hits = [v for v, synonyms in slot.values.items() if any(s and s in said for s in synonyms)]
    return hits[0] if len(hits) == 1 else None


def _date(slot: Slot, text: str, payload: str | None, now: float) -> Any:
    said = _nfkc(text).casefold()
    today = dt.datetime.fromtimestamp(now, _KST).date()
    for word, days in _RELATIVE_DAYS.items():
        if word in said:
            return (today + dt.timedelta(days=days)).isoformat()
    try:
        if match := _ISO_DATE.search(said):
            return dt.date(*(int(g) for g in match.groups())).isoformat()
        if match := _MONTH_DAY.search(said):
            month, day = (int(g) for g in match.groups())
            candidate = dt.date(today.year, month, day)
            if candidate < today - dt.timedelta(days=180):  # "1월 3일" said in December
                candidate = dt.date(today.year + 1, month, day)
            return candidate.isoformat()
    except ValueError:  # 2월 30일
        return None
    return None


def _phone(slot: Slot, text: str, payload: str | None, now: float) -> Any:
    digits = _SEPARATORS.sub("", _nfkc(text)).removeprefix("+82")
    if digits.startswith("10") and len(digits) == 10:
        digits = "0" + digits
    if not digits.isdigit():
        return None
    if re.fullmatch(r"01[016789]\d{7,8}", digits):
        return f"{digits[:3]}-{digits[3:-4]}-{digits[-4:]}"
    if re.fullmatch(r"02\d{7,8}", digits):
        return f"02-{digits[2:-4]}-{digits[-4:]}"
    if re.fullmatch(r"0[3-6]\d\d{7,8}", digits):
        return f"{digits[:3]}-{digits[3:-4]}-{digits[-4:]}"
    if re.fullmatch(r"1[5-9]\d{6}", digits):  # 1588-1255
        return f"{digits[:4]}-{digits[4:]}"
    return None


def _email(slot: Slot, text: str, payload: str | None, now: float) -> Any:
    value = _nfkc(text)
    return value.lower() if _EMAIL.fullmatch(value) else None


def _regex(slot: Slot, text: str, payload: str | None, now: float) -> Any:
    value = _nfkc(text)
    if slot.pattern is None or not slot.pattern.fullmatch(value):
        return None
    return value if _length_ok(slot, value) else None


def _order_number(slot: Slot, text: str, payload: str | None, now: float) -> Any:
    digits = _SEPARATORS.sub("", _nfkc(text))
    if not digits.isdigit() or not digits.isascii():
        return None
    return digits if _length_ok(slot, digits) else None


_EXTRACTORS: dict[str, Callable[[Slot, str, str | None, float], Any]] = {
    "text": _text,
    "number": _number,
    "enum": _enum,
    "date": _date,
    "phone": _phone,
    "email": _email,
    "regex": _regex,
    "order_number": _order_number,
}


def extract(slot: Slot, text: str, payload: str | None, now: float) -> Any:
    """The value of ``slot`` in the user's answer, or None."""
    return _EXTRACTORS[slot.type](slot, text, payload, now)
