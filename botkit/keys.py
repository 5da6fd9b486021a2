"""Which conversation: a session key names one user on one channel.

The stores keep it as the text ``"<channel>:<user>"`` (``str(key)``), the form every existing
database holds. A channel's name never has a colon, while a user id may (Kakao's are
``<bot id>:<user id>``), so the text is read back by splitting at its FIRST colon.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SessionKey"]


@dataclass(frozen=True, slots=True)
class SessionKey:
    """One user on one channel: the unit that has a session, a lock and a conversation."""

    channel: str
    user: str

    def __str__(self) -> str:
        return f"{self.channel}:{self.user}"

    @classmethod
    def parse(cls, text: str) -> SessionKey:
        """The key a stored ``"<channel>:<user>"`` names. ValueError for text without a colon,
        which no store holds (every key was written by ``str``)."""
        channel, colon, user = text.partition(":")
        if not colon:
            raise ValueError(f"a session key is '<channel>:<user>', not {text!r}")
        return cls(channel, user)
