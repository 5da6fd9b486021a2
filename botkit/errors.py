"""Every exception botkit raises, under one root.

A program that embeds botkit catches :class:`BotkitError` to catch all of them, or one branch
for one kind of trouble. ``str()`` of each is a sentence for the person who can fix it (a flow
designer, whoever runs the server, the developer calling the API), never a Python repr.

::

    BotkitError
    ├── FlowError              the flow files have problems (``problems`` lists them, BK1xx-4xx)
    ├── ExpressionError        one pattern or condition in a flow cannot be read
    │   ├── PatternError           a ``pattern:`` RE2 cannot compile
    │   └── ConditionError         a ``when:`` that does not parse
    ├── ConfigurationError     the program or the settings lack what the bot needs: an action,
    │                          a validator or a classifier the flows name (BK5xx), a setting,
    │                          ``actions.py``, a fixtures file
    ├── StorageError           the store could not do what was asked; nothing was written
    │   └── ConflictError          another writer committed the session first
    ├── StepRefused            an operator's step that does not apply to this conversation
    │   ├── NotWithAgent           an agent's step for a conversation not handed off
    │   └── NoConversation         a step for a conversation the store does not have
    └── BadPayload             a request a channel cannot read (answered with a 4xx, never a 500)
        ├── BadId                  an id that is too long or holds control characters
        └── BodyTooLarge           a body over the edge's cap

Stdlib bases are kept where callers already relied on them (``StepRefused`` is a
``ValueError``, ``NoConversation`` a ``LookupError``), so ``except ValueError`` still works.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botkit.problems import Problem, render_problems

__all__ = [
    "BadId",
    "BadPayload",
    "BodyTooLarge",
    "BotkitError",
    "ConditionError",
    "ConfigurationError",
    "ConflictError",
    "ExpressionError",
    "FlowError",
    "NoConversation",
    "NotWithAgent",
    "PatternError",
    "StepRefused",
    "StorageError",
]


class BotkitError(Exception):
    """The root: anything botkit raises on purpose."""


class FlowError(BotkitError):
    """The flow files have errors; ``problems`` lists them, ``str()`` shows them."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(render_problems(self.problems))

    def __reduce__(self) -> tuple[Any, ...]:  # picklable with its problems, as ConflictError
        return (type(self), (self.problems,))


class ExpressionError(BotkitError):
    """One expression of a flow file (a pattern, a condition) cannot be read; the compiler turns
    it into a problem with the expression's position."""


@dataclass(frozen=True, slots=True)
class PatternError(ExpressionError):
    """A ``pattern:`` that RE2 cannot compile, or that uses what RE2 lacks."""

    code: str  # BK406 or BK407 (errors), BK414 (a warning: kept as SafePattern.doubt)
    message: str
    hint: str | None = None


@dataclass(frozen=True, slots=True)
class ConditionError(ExpressionError):
    """A ``when:`` condition that does not parse, ``offset`` characters into it."""

    message: str
    offset: int
    length: int = 1


class ConfigurationError(BotkitError, ValueError):
    """The program or the settings lack what the bot needs: an action, validator or classifier
    the flows name and the program did not register (BK5xx), a missing or malformed setting,
    an ``actions.py`` that cannot be imported, a fixtures file that cannot be read."""


class StorageError(BotkitError):
    """The store could not do what was asked; nothing of the failed operation was written."""


class ConflictError(StorageError):
    """``commit`` found another version than expected: someone else wrote the session first.

    Nothing was written. ``actual`` is the stored version when the conflict was detected
    (0 when the session does not exist).
    """

    def __init__(self, key: str, expected: int, actual: int) -> None:
        super().__init__(
            f"session {key!r} is at version {actual}, not the expected version {expected}"
        )
        self.key = key
        self.expected = expected
        self.actual = actual

    def __reduce__(self) -> tuple[Any, ...]:  # keep it picklable despite the custom __init__
        return (type(self), (self.key, self.expected, self.actual))


class StepRefused(BotkitError, ValueError):
    """An operator's step that does not apply to this conversation (an agent's reply when no
    agent is involved, a jump to a state that does not exist, a variant no experiment has)."""


class NotWithAgent(StepRefused):
    """An agent's step for a conversation that is not handed off."""


class NoConversation(StepRefused, LookupError):
    """A step for a conversation the store does not have."""


class BadPayload(BotkitError, ValueError):
    """A request a channel cannot read: the edge answers it with a 4xx and a JSON body."""


class BadId(BadPayload):
    """An id that is empty, too long or holds a control character; ``path`` names the field."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path} {problem}")
        self.path = path
        self.problem = problem

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, self.problem))


class BodyTooLarge(BadPayload):
    """Raised by a body's ``receive`` once the body passes its route's cap; answered 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the body is larger than {limit} bytes")
        self.limit = limit

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.limit,))
