"""Secrets taken out of log lines: the ones botkit was given, and anything shaped like one.

A secret reaches a log line by many roads: the path of a refused Kakao call
(``/kakao/skill/<secret>``, the README's set-up), a query string (``/dashboard?token=…``), a
header a library echoes at debug level, an exception's text. Rather than trusting every call
site (ours, uvicorn's, the libraries'), the log formatter passes every string it writes through
:class:`Redactor`, which replaces with ``***``:

- every configured secret: the Kakao secret, the agent tokens, the events, admin, customers
  and channel tokens, the link and identity secrets, the helpdesk's token and webhook secret,
  the store's password; also
  percent-encoded, JSON-escaped or as the repr of its bytes, the ways a secret is spelled on
  its way through HTTP and Python;
- whatever comes after the Kakao skill path (a wrong secret is often a near miss of the right
  one, or last month's), bearer and basic credentials, the value of a secret header, token-like
  query parameters (the widget's ``sid`` opens a user's history, so it counts) and the password
  in a URL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, urlsplit

from botkit.masking import hide_passwords
from botkit.server.config import ServerSettings

__all__ = ["HIDDEN", "Redactor"]

HIDDEN = "***"

# Headers whose value is a credential, in every spelling a log shows headers in:
# "Authorization: Bearer …", "'authorization': '…'", "(b'authorization', b'…')".
_SECRET_HEADERS = ("authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key")
# Query and form parameters that carry a credential: ?token= (the dashboard), ?sid= (the widget),
# ?code= (an account-link code, on its way to the shop's login page).
_SECRET_PARAMS = (
    "token", "access_token", "api_token", "secret", "sid", "key", "api_key", "apikey",
    "password", "passwd", "signature", "sig", "code",
)  # fmt: skip
# Names of fields (a log call's extras, a logged mapping) whose value is a secret whatever it is.
_SECRET_FIELDS = frozenset(
    {
        *_SECRET_HEADERS, "token", "tokens", "access_token", "api_token", "api_key", "secret",
        "password", "passwd", "events_token", "webhook_secret",
    }
)  # fmt: skip
# "Bearer <anything>"; "Basic <base64>" (not "a basic check").
_CREDENTIAL = re.compile(r"(?i)\b(?:(bearer\s+)[^\s\"',;)}\]]+|(basic\s+)[a-z0-9+/]{8,}=*)")
_PARAM = re.compile(rf"(?i)(?<![\w-])((?:{'|'.join(_SECRET_PARAMS)})=)[^&\s#\"']+")


class Redactor:
    """Replaces secrets in text; :meth:`of` knows the ones a server was configured with."""

    def __init__(
        self,
        secrets: Iterable[str] = (),
        *,
        skill_path: str = "/kakao/skill",
        secret_header: str = "X-Botkit-Secret",
    ) -> None:
        spellings = {form for secret in secrets if secret for form in _spellings(secret)}
        # Longest first: a secret that contains another is hidden whole, not around the other.
        ordered = sorted(spellings, key=len, reverse=True)
        self._known = (
            re.compile("|".join(map(re.escape, ordered)), re.IGNORECASE) if ordered else None
        )
        path = "/" + skill_path.strip("/")
        self._skill_path = re.compile(rf"({re.escape(path)}/+)[^\s/?#\"'<>]+")
        headers = "|".join(re.escape(h) for h in {*_SECRET_HEADERS, secret_header.lower()})
        self._header = re.compile(
            rf"(?i)(\b(?:{headers})[\"']?\s*[:=,]\s*(?-i:b)?[\"']?)[^\"'\r\n]+"
        )
        self._fields = _SECRET_FIELDS | {secret_header.lower()}

    @classmethod
    def of(cls, settings: ServerSettings) -> Redactor:
        """A redactor for the secrets in ``settings``."""
        secrets = [
            settings.kakao.secret or "",
            settings.events_token or "",
            settings.admin_token or "",
            settings.link_secret or "",
            settings.customers_token or "",
            settings.identity_secret or "",
            settings.channel_token or "",
            settings.helpdesk.api_token,
            settings.helpdesk.webhook_secret,
            _password(settings.store),
        ]
        for entry in settings.agent.tokens:  # "name:token"
            secrets += [entry, entry.partition(":")[2]]
        return cls(
            secrets,
            skill_path=settings.kakao.path,
            secret_header=settings.kakao.secret_header,
        )

    def redact(self, text: str) -> str:
        if self._known is not None:
            text = self._known.sub(HIDDEN, text)
        text = self._skill_path.sub(rf"\g<1>{HIDDEN}", text)
        text = self._header.sub(rf"\g<1>{HIDDEN}", text)
        text = _CREDENTIAL.sub(lambda found: (found[1] or found[2]) + HIDDEN, text)
        text = _PARAM.sub(rf"\g<1>{HIDDEN}", text)
        return hide_passwords(text)

    def is_secret_field(self, name: str) -> bool:
        """Whether a field of this name holds a secret (its value is hidden whatever it is)."""
        return name.lower() in self._fields


def _password(url: str) -> str:
    try:
        return urlsplit(url).password or ""
    except ValueError:  # not a URL one can read a password from: there is none to hide
        return ""


def _spellings(secret: str) -> set[str]:
    """``secret`` as it may appear in a log: as is, percent-encoded (a path in uvicorn's
    lines), JSON-escaped, in a str's or a bytes' repr."""
    return {
        secret,
        quote(secret),
        quote(secret, safe=""),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        repr(secret)[1:-1],
        repr(secret.encode())[2:-1],
    } - {""}
