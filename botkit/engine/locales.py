"""Which language a conversation is in, and where that came from.

The session's ``locale`` is one of the bot's ``locales``; ``locale_source`` says who chose it:

* ``channel``: the channel's hint (Kakao's ``userRequest.lang``, the widget's page or browser
  language), read with every message;
* ``profile``: the user's profile field ``locale``, which beats the channel's hint;
* ``user``: a transition with ``locale:`` the user took (a "English" / "한국어" switch). It
  sticks: neither the channel's hint nor the profile switches the conversation back.

Each change in a conversation is recorded as ``locale_changed``; the language a conversation
starts in is in its ``conversation_start``.
"""

from __future__ import annotations

from botkit.engine.turn import Run
from botkit.records import RecordKind

__all__ = ["USER", "changed", "hear", "switch"]

CHANNEL, PROFILE, USER = "channel", "profile", "user"

_LOCALE_CHANGED = RecordKind.LOCALE_CHANGED


def hear(run: Run, hint: str | None) -> str | None:
    """Apply the profile's ``locale`` or the channel's ``hint``, unless the user chose a
    language. Returns the locale the session was in if this changed it, else None (the caller
    records the change once the turn's conversation is known)."""
    s = run.session
    if s.locale_source == USER:
        return None
    profile = s.profile.get("locale") if s.profile else None
    wanted = _known(run, profile) if isinstance(profile, str) else None
    source = PROFILE
    if wanted is None:
        if not hint:
            return None
        wanted, source = _known(run, hint), CHANNEL
        if wanted is None:
            return None
    s.locale_source = source
    if wanted == s.locale:
        return None
    before, s.locale = s.locale, wanted
    return before


def changed(run: Run, before: str, source: str) -> None:
    """Record that the conversation's language changed from ``before`` to the session's."""
    run.record(_LOCALE_CHANGED, {"from": before, "locale": run.session.locale, "source": source})


def switch(run: Run, locale: str) -> None:
    """A transition's ``locale:``: the user chose the language; it sticks."""
    s = run.session
    s.locale_source = USER
    if locale != s.locale:
        before, s.locale = s.locale, locale
        changed(run, before, USER)


def _known(run: Run, locale: str) -> str | None:
    """``locale`` as one of the bot's locales ("en-US" and "en_us" are "en"), or None."""
    locales = run.bot.locales
    if locale in locales:
        return locale
    language = locale.replace("_", "-").split("-", 1)[0].lower()
    return language if language in locales else None
