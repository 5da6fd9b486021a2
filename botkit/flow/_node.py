"""Reading a validated document through the compiler's own key vocabulary.

Every key the compiler reads goes through :meth:`Node.get`, which insists that the key is in
:data:`VOCABULARY` for that kind of object and records that it was read. Two tests rest on this:
the schema's properties equal the vocabulary (the schema and the compiler agree on every key),
and compiling the example flows reads every key of the vocabulary (the examples use every
feature of the format).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botkit.flow._report import Reporter, Where
from botkit.flow._yaml import Document, JSONPath

__all__ = ["VOCABULARY", "Node"]

VOCABULARY: dict[str, frozenset[str]] = {
    kind: frozenset(keys.split())
    for kind, keys in {
        "bot": "bot title start locales default_locale inactivity_timeout keep_versions "
        "migrate business_events profile opt_out fallback messages global slots intents actions "
        "goals experiments promotions business_hours segments",
        "flow": "flow title description start slots intents actions goals experiments "
        "promotions global fallback states",
        "state": "title description say collect call handoff end goal promotion experiment "
        "variants on next fallback",
        "message": "text card cards image list quick_replies buttons",
        "quick_reply": "label payload to",
        "button": "label url phone payload to agent",
        "card": "title description image buttons",
        "image": "url alt",
        "list": "header items buttons",
        "list_item": "title description image url payload to",
        "transition": "payload keywords regex intent examples result any if set clear say locale "
        "to",
        "branch": "if set clear say to",
        "fallback": "messages max_misses escalate_to",
        "slot": "type title prompt reprompt max_attempts on_exhausted confirm validator values "
        "pattern min max min_length max_length sensitive",
        "intent": "title examples keywords",
        "action": "title function http deadline save require results on_status",
        "http": "method url headers query body",
        "handoff": "reason message queue wait_timeout on_timeout hours outside_hours resume "
        "while_waiting leave",
        "variant": "say on next",
        "experiment": "title variants goal min_effect",
        "goal": "title value",
        "promotion": "title cost starts ends offer",
        "business_event": "revenue conversion",
        "segment": "title when",
        "profile_attribute": "type values title sensitive",
        "hours": "timezone days holidays",
        "system_messages": "error please_wait try_again migrated no_agent opt_out",
        "campaigns": "timezone quiet_hours caps campaigns",
        "campaign": "title kind trigger audience exclude caps channels opens holdout expires "
        "send_at starts ends window cost message variants",
        "campaign_variant": "weight message",
        "caps": "per_day per_week",
    }.items()
}


class Node:
    """A mapping in a document, read key by key in the compiler's vocabulary."""

    __slots__ = ("data", "doc", "kind", "path", "reporter", "used")

    def __init__(
        self,
        doc: Document,
        path: JSONPath,
        kind: str,
        reporter: Reporter,
        used: set[tuple[str, str]],
        data: Any = None,
    ) -> None:
        self.doc = doc
        self.path = path
        self.kind = kind
        self.reporter = reporter
        self.used = used
        value = data
        if value is None:
            value = doc.data
            for step in path:
                value = value[step]
        self.data: dict[str, Any] = value if isinstance(value, dict) else {}

    def get(self, key: str, default: Any = None) -> Any:
        if key not in VOCABULARY[self.kind]:  # pragma: no cover - a compiler bug, caught by tests
            raise KeyError(f"'{key}' is not in the vocabulary of {self.kind}")
        if key in self.data:
            self.used.add((self.kind, key))
            return self.data[key]
        return default

    def has(self, key: str) -> bool:
        return self.get(key) is not None

    def present(self, keys: tuple[str, ...]) -> list[str]:
        """Which of ``keys`` have a value (one pass, for "exactly one of" checks)."""
        data = self.data
        found = [k for k in keys if data.get(k) is not None]
        for key in found:
            self.get(key)  # the vocabulary check, and the record that the key was read
        return found

    def node(self, key: str, kind: str) -> Node | None:
        value = self.get(key)
        if isinstance(value, dict):
            return Node(self.doc, (*self.path, key), kind, self.reporter, self.used, value)
        return None

    def nodes(self, key: str, kind: str) -> Iterator[Node]:
        """The mappings in the list under ``key``."""
        value = self.get(key)
        if isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    yield Node(
                        self.doc, (*self.path, key, i), kind, self.reporter, self.used, item
                    )

    def members(self, key: str, kind: str) -> Iterator[tuple[str, Node]]:
        """The named mappings under ``key`` (states, slots, ...)."""
        value = self.get(key)
        if isinstance(value, dict):
            for name, item in value.items():
                if isinstance(item, dict):
                    path = (*self.path, key, name)
                    yield name, Node(self.doc, path, kind, self.reporter, self.used, item)

    def child(self, *steps: str | int, kind: str) -> Node:
        return Node(self.doc, (*self.path, *steps), kind, self.reporter, self.used)

    def where(self, key: str | None = None, *, at_key: bool = False) -> Where:
        if key is None:
            return self.doc.where(self.path, key=True)
        return self.doc.where((*self.path, key), key=at_key)

    def where_path(self, *steps: str | int, at_key: bool = False) -> Where:
        return self.doc.where((*self.path, *steps), key=at_key)

    def where_in(self, key: str | int, offset: int, length: int, *more: str | int) -> Where:
        """The position of characters ``offset..offset+length`` inside a text value."""
        path = (*self.path, key, *more)
        base = self.doc.where(path)
        value: Any = self.doc.data
        try:
            for step in path:
                value = value[step]
        except (KeyError, IndexError, TypeError):  # pragma: no cover - defensive
            return base
        if not isinstance(value, str):
            return base
        # Find the characters in the source text itself: quotes, escapes, folded and
        # multi-line text all shift them from where they sit in the value.
        needle = value[offset : offset + length]
        if not needle:
            if value and offset >= len(value):  # just past the end ("ends where ')' ...")
                end = self.where_in(key, len(value) - 1, 1, *more)
                return Where(end.source, end.line, end.column + 1, 1)
            return base
        nth = value.count(needle, 0, offset)
        source = base.source
        line_no, start = base.line, base.column - 1
        last = min(len(source.lines), base.line + value.count("\n") + 200)
        while line_no <= last:
            found = source.line(line_no).find(needle, start)
            if found == -1:
                line_no, start = line_no + 1, 0
                continue
            if nth == 0:
                return Where(source, line_no, found + 1, length)
            nth -= 1
            start = found + 1
        return base
