"""Running actions: registered Python functions and declared HTTP calls, each within its deadline.

The deadline is for the *whole* call. httpx's own timeouts are per phase (connect, each read),
so a server that drips one byte every half second would hold a call forever under them; here
the request, the body and the JSON decoding all run under one ``asyncio.timeout``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from botkit.events import ActionResult
from botkit.flow.model import Action
from botkit.flow.templates import Template

__all__ = ["HTTP_LIMITS", "ActionContext", "ActionFunction", "Outcome", "run_action"]

# The HTTP actions' connections to the shop's APIs: httpx keeps 20 alive by default, so with 64
# turns calling at once the rest were closed after each call and opened again (130 new
# connections for 1,000 lookups in bench.http_kakao --upstream http). Idle ones still expire
# after httpx's 5 s: many servers close an idle connection soon after, and a request written
# into one they just closed fails.
HTTP_LIMITS = httpx.Limits(max_connections=128, max_keepalive_connections=64)


@dataclass(frozen=True, slots=True)
class ActionContext:
    """What a registered function gets: the conversation's values, read-only by convention."""

    action: str
    slots: Mapping[str, Any]
    profile: Mapping[str, Any]
    user: str
    channel: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a function may return: a result name and data (saved into slots by ``save``)."""

    result: str = "ok"
    data: dict[str, Any] = field(default_factory=dict)


ActionFunction = Callable[[ActionContext], Any | Awaitable[Any]]
"""A registered action. It may return an :class:`Outcome`, a dict (result ``ok`` with that
data), a string (that result, no data) or None (``ok``). Raising means result ``error``."""


def _as_outcome(value: Any) -> Outcome:
    if isinstance(value, Outcome):
        return value
    if isinstance(value, dict):
        return Outcome("ok", value)
    if isinstance(value, str):
        return Outcome(value)
    if value is None:
        return Outcome("ok")
    raise TypeError(
        f"an action returned {type(value).__name__}; return a dict, a str or an Outcome"
    )


async def run_action(
    action: Action,
    ctx: ActionContext,
    *,
    functions: Mapping[str, ActionFunction],
    client: Callable[[], httpx.AsyncClient],
    env: Mapping[str, str],
    at: Callable[[], float],
    stubs: Mapping[str, ActionFunction] | None = None,
) -> ActionResult:
    """Run ``action`` within its deadline; every failure becomes a result, never an exception.

    ``stubs`` replace actions by name, HTTP calls included, with functions (conversation tests,
    the simulator and benchmarks use them; the deadline and the result handling stay the same).
    ``client`` gives the shared HTTP client; it is asked for only when an HTTP call is made
    (creating one loads the system's certificates, which takes tens of milliseconds).
    """
    started = time.perf_counter()
    stub = stubs.get(action.name) if stubs else None
    try:
        async with asyncio.timeout(action.deadline):
            if stub is not None:
                outcome = await _call(stub, ctx)
            elif action.http is not None:
                outcome = await _http(action, ctx, client(), env)
            else:
                outcome = await _call(functions[action.function or action.name], ctx)
        result, data, detail = outcome.result, outcome.data, ""
    except TimeoutError:
        result, data, detail = "timeout", {}, f"no answer within {action.deadline:g}s"
    except Exception as exc:  # an action's failure is a result, never a crash of the turn
        result, data, detail = "error", {}, f"{type(exc).__name__}: {exc}"[:300]
    latency = (time.perf_counter() - started) * 1000
    return ActionResult(action.name, result, at(), data, latency, detail)


async def _call(function: ActionFunction, ctx: ActionContext) -> Outcome:
    value = function(ctx)
    if inspect.isawaitable(value):
        value = await value
    return _as_outcome(value)


def _render(template: Template, ctx: ActionContext, env: Mapping[str, str]) -> str:
    return template.render(ctx.slots, ctx.profile, env)


def _body(value: Any, ctx: ActionContext, env: Mapping[str, str]) -> Any:
    if isinstance(value, Template):
        return _render(value, ctx, env)
    if isinstance(value, Mapping):
        return {k: _body(v, ctx, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_body(v, ctx, env) for v in value]
    return value


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value botkit keeps")


async def _http(
    action: Action, ctx: ActionContext, client: httpx.AsyncClient, env: Mapping[str, str]
) -> Outcome:
    call = action.http
    assert call is not None
    response = await client.request(
        call.method,
        _render(call.url, ctx, env),
        headers={k: _render(v, ctx, env).strip() for k, v in call.headers.items()},
        params={k: _render(v, ctx, env) for k, v in call.query.items()},
        json=_body(call.body, ctx, env) if call.body is not None else None,
    )
    if not 200 <= response.status_code < 300:
        named = action.on_status.get(response.status_code)
        return Outcome(named or "error", {"status": response.status_code})
    try:
        decoded = (
            json.loads(response.content, parse_constant=_no_constants) if response.content else {}
        )
    except ValueError:
        return Outcome("error", {"status": response.status_code})
    data = decoded if isinstance(decoded, dict) else {"items": decoded}
    return Outcome("ok", data)
