"""Settings of ``botkit serve``: defaults, then a YAML file, then environment variables.

The channels' own settings (:class:`KakaoSettings`, :class:`WebSettings`) live with their
adapters; this module gathers them into :class:`ServerSettings` and reads them all.

Every setting has a safe default, so ``botkit serve flows/`` runs as is on loopback. A file
(``--config serve.yaml``) and ``BOTKIT_*`` environment variables override them; secrets belong in
the environment (``BOTKIT_KAKAO_SECRET``), never in a file in the repository.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from botkit.adapters.kakao.settings import KakaoSettings
from botkit.adapters.web.settings import WebSettings
from botkit.errors import ConfigurationError

__all__ = [
    "AgentSettings",
    "ConfigurationError",
    "HelpdeskSettings",
    "KakaoSettings",
    "ServerSettings",
    "WebSettings",
    "load_settings",
]


@dataclass(frozen=True, slots=True)
class AgentSettings:
    # "name:token" per agent (tokens of 16+ characters). None by default: the agent API answers
    # 503 until tokens are configured, e.g. BOTKIT_AGENT_TOKENS="하늘:…,바다:…". An entry that
    # is not so is a ConfigurationError: the server does not start with an agent locked out.
    tokens: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        seen: dict[str, int] = {}
        for number, entry in enumerate(self.tokens, 1):
            problem = _token_problem(entry, number, seen)
            if problem:  # never with the token in it: the message is printed
                raise ConfigurationError(f"'tokens' entry {number} {problem}")


MIN_TOKEN_CHARS = 16


def _token_problem(entry: str, number: int, seen: dict[str, int]) -> str | None:
    name, colon, token = entry.partition(":")
    name = name.strip()
    if not colon:
        return "is not 'name:token': it has no ':' between a name and a token"
    if not name:
        return "is not 'name:token': the name before ':' is empty"
    if len(token) < MIN_TOKEN_CHARS:
        return (
            f"({name}) has a token of {len(token)} characters; a token needs at least "
            f"{MIN_TOKEN_CHARS}"
        )
    if token in seen:
        return (
            f"({name}) has the same token as entry {seen[token]}; each agent needs a token "
            "of its own"
        )
    seen[token] = number
    return None


@dataclass(frozen=True, slots=True)
class HelpdeskSettings:
    url: str | None = None  # e.g. https://helpdesk.example.com/api/botkit; unset = no helpdesk
    api_token: str = ""  # sent as a bearer token with calls to the helpdesk
    webhook_secret: str = ""  # verifies the helpdesk's calls to POST /agent/webhook
    retries: int = 3
    timeout_s: float = 5.0


@dataclass(frozen=True, slots=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    store: str = "sqlite:///botkit.db"
    workers: int = 1  # processes; more than one needs a shared store (postgresql://…)
    fixtures: str | None = None  # a conversation-test file whose action fixtures replace actions
    log_level: str = "info"
    shutdown_grace_s: float = 10.0  # turns in flight get this long to finish and commit
    kakao: KakaoSettings = field(default_factory=KakaoSettings)
    web: WebSettings = field(default_factory=WebSettings)
    agent: AgentSettings = field(default_factory=AgentSettings)
    helpdesk: HelpdeskSettings = field(default_factory=HelpdeskSettings)
    sweep_s: float = 30.0  # how often handoffs nobody took are checked against wait_timeout
    events_token: str | None = None  # the shop's bearer token for POST /events; unset = off
    admin_token: str | None = None  # bearer token for POST /admin/reload; unset = off
    # The shop's bearer token for the customers API (/customers/...); unset = off.
    customers_token: str | None = None
    # Shared with the shop's server (16+ characters): it signs the widget's identity tokens, and
    # botkit signs the account-link codes with it (server/identities.py). Unset = no linking.
    identity_secret: str | None = None
    # The shop's login page an account-link button opens, with ?code=… added, e.g.
    # "https://shop.example.com/login/kakao"; unset = account-link buttons are left out.
    account_link_url: str | None = None
    # The Kakao app's admin key, which Kakao's channel add/block webhook sends
    # (POST /kakao/channel, server/channel_callback.py); unset = off.
    channel_token: str | None = None
    # Campaigns: how often this worker plans and sends what is due (botkit.server.sender);
    # 0 = never (a separate `botkit campaigns run` sends). Every worker may: the store's
    # claims keep each send with one of them.
    send_every_s: float = 30.0
    # The dealers' webhook (SMS, 알림톡, e-mail) campaign messages for the "webhook" channel
    # are POSTed to, and the secret each request is signed with (HMAC-SHA256). Unset = off.
    dealer_url: str | None = None
    dealer_secret: str | None = None
    # Signs the addresses that stand for the flows' links, so a click is recorded for the
    # user who was shown the link (server/links.py; 16+ characters, the same on every worker).
    # Unset = links go straight to the shop and clicks are not measured.
    link_secret: str | None = None
    # Where users reach this server, e.g. "https://bot.shop.example.com": KakaoTalk opens only
    # absolute links, so without it Kakao's links go straight to the shop (the widget's use a
    # path relative to the server).
    public_url: str | None = None
    # What a request may carry (botkit.server.guard): the request line and headers together
    # (431 past it; Node.js's default), a body without a cap of its own (the agent API, the
    # helpdesk webhook), the body of POST /events (up to 1,000 events) and each event in it
    # (413 past them). Kakao's body cap is kakao.max_body_bytes, the widget's
    # web.max_frame_bytes.
    max_header_bytes: int = 16 * 1024
    max_body_bytes: int = 64 * 1024
    max_events_body_bytes: int = 1024 * 1024
    max_event_bytes: int = 16 * 1024


_ENV_PREFIX = "BOTKIT_"
_GROUPS = ("kakao", "web", "agent", "helpdesk")  # BOTKIT_KAKAO_SECRET → kakao.secret


def load_settings(
    path: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> ServerSettings:
    """Defaults ← the file ← ``BOTKIT_*`` variables (``BOTKIT_KAKAO_SECRET``) ← ``overrides``
    (the command line's options)."""
    settings = ServerSettings()
    if path is not None:
        settings = _apply(settings, _read(path), str(path))
    env = os.environ if env is None else env
    from_env: dict[str, Any] = {}
    for name, value in env.items():
        if not name.startswith(_ENV_PREFIX):
            continue
        key = name[len(_ENV_PREFIX) :].lower()
        group, _, rest = key.partition("_")
        if group in _GROUPS and rest:
            from_env.setdefault(group, {})[rest] = value
        elif key in {f.name for f in fields(ServerSettings)}:
            from_env[key] = value
    settings = _apply(settings, from_env, "the environment")
    final: ServerSettings = _apply(settings, dict(overrides or {}), "the command line")
    return final


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"{path}: cannot be read: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path}: expected a mapping of settings")
    return data


def _apply(settings: Any, values: Mapping[str, Any], origin: str) -> Any:
    known = {f.name: f for f in fields(settings)}
    changes: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        if key not in known:
            raise ConfigurationError(
                f"{origin}: unknown setting '{key}' (known: {', '.join(sorted(known))})"
            )
        current = getattr(settings, key)
        if isinstance(current, KakaoSettings | WebSettings | AgentSettings | HelpdeskSettings):
            if not isinstance(value, Mapping):
                raise ConfigurationError(f"{origin}: '{key}' must be a mapping of settings")
            changes[key] = _apply(current, value, f"{origin}, {key}")
        else:
            changes[key] = _convert(key, value, known[key].type, origin)
    try:
        return replace(settings, **changes)
    except ConfigurationError as exc:  # a group's own check (AgentSettings.tokens)
        raise ConfigurationError(f"{origin}: {exc}") from exc


def _convert(key: str, value: Any, kind: Any, origin: str) -> Any:
    kind = str(kind)
    try:
        if kind.startswith("tuple"):
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(str(v).strip() for v in items if str(v).strip())
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(value)
            return text in ("true", "1", "yes")
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(
            f"{origin}: '{key}' cannot be {value!r} (expected {kind})"
        ) from exc
