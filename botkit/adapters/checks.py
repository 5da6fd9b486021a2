"""What may come in at the edge: ids and user text, checked the same for every channel.

Every channel and the agent API check what they are sent here, before anything reaches the
runtime or the store, so that a bad request gets the same 4xx whatever the store (PostgreSQL
refuses a NUL in text and an index entry over about 2.7 KB; SQLite takes both):

* **Ids** (a Kakao ``user.id`` or ``bot.id``, an agent API path, a business event's ``id``,
  ``kind`` and ``user``): 1 to :data:`MAX_ID_CHARS` characters (:data:`MAX_USER_CHARS` for a
  user as the bot knows them, ``<bot id>:<user id>`` on Kakao), no control characters.
  Otherwise 400 ``bad_id``, with the ``path`` of the field.
* **User text** (a Kakao utterance, a widget message, an agent's words): control characters
  are removed (line breaks and tabs kept), the text is composed (NFC) and cut to the channel's
  limit. Text is what a person typed: it is cleaned, never refused.

The sizes of requests are the server's to cap (:mod:`botkit.server.guard`), before any channel
sees a byte.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from botkit.errors import BadId

__all__ = ["MAX_ID_CHARS", "MAX_USER_CHARS", "BadId", "check_id", "clean_text", "id_problem"]

# An id is a key, not a text: Kakao's botUserKey is about 70 characters, a widget sid at most 64.
# 256 characters are 1 KiB of UTF-8 at most, so a Kakao session key (channel, bot id and user
# id) stays well inside PostgreSQL's 2.7 KB index entries.
MAX_ID_CHARS = 256
# A user as the bot knows them, in the agent API, the helpdesk and business events: on Kakao
# "<bot id>:<user id>", two ids.
MAX_USER_CHARS = 2 * MAX_ID_CHARS + 1
# C0 and C1 control characters (Unicode category Cc) and lone surrogates (not UTF-8 at all).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# The same, less the line breaks and tabs a person may type in a message.
_CONTROL_IN_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def id_problem(value: str, limit: int = MAX_ID_CHARS) -> str | None:
    """What is wrong with ``value`` as an id, or None when it is a good one."""
    if not value.strip():
        return "is empty"
    if len(value) > limit:
        return f"is longer than {limit} characters"
    if _CONTROL.search(value):
        return "contains a control character (such as NUL)"
    return None


def check_id(path: str, value: Any, limit: int = MAX_ID_CHARS) -> str:
    """``value`` if it is a good id, else :class:`BadId` naming ``path``."""
    if not isinstance(value, str):
        raise BadId(path, "must be text")
    problem = id_problem(value, limit)
    if problem is not None:
        raise BadId(path, problem)
    return value


def clean_text(text: str, limit: int) -> str:
    """What a user sent, safe to match and to store: no NUL, escape or other control characters
    (line breaks and tabs kept), composed (NFC) and at most ``limit`` characters."""
    return unicodedata.normalize("NFC", _CONTROL_IN_TEXT.sub("", text))[:limit]
