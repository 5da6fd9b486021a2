"""Reading flow YAML safely, keeping the exact position of every key and value.

The text is read from libyaml's *event* stream and the tree is built here, iteratively, rather
than with ``yaml.safe_load``. That gives us, in one pass and without recursion:

* the line and column of every key and value, so that every later problem points at the
  exact spot the designer has to change;
* YAML-1.2 scalars: only ``true``/``false`` are booleans, so quick-reply labels such as
  ``yes``/``no``/``on``/``off`` stay text (YAML 1.1, PyYAML's default, turns them into
  booleans, and ``12:30`` into 750);
* duplicate keys as errors (PyYAML silently keeps the last one, silently dropping a state);
* anchors, aliases and tags refused before anything is expanded or constructed, so an alias
  bomb costs nothing and no Python object can be named;
* a depth cap checked as events arrive, and a size cap checked before the text is read.

The depth cap is botkit's, whatever libyaml is installed: libyaml 0.2.6 (bundled with PyYAML
6.0.4) stops nesting deeper than 1,000 levels by itself, and it looks ahead far enough to stop
before the 65th level reaches us. When it does, the rest of the events come from PyYAML's
pure-Python parser (same grammar, no such limit), so the designer still hears BK106 at the
spot where botkit's cap is exceeded rather than a syntax error ~1,000 brackets further on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from botkit.flow._report import Reporter, Where
from botkit.problems import SourceText

__all__ = ["MAX_BYTES", "MAX_DEPTH", "Document", "JSONPath", "read_file", "read_text"]

MAX_BYTES = 1024 * 1024  # a 1,000-state flow is about 150 KiB; 1 MiB leaves ample room
MAX_DEPTH = 64  # the deepest thing in the format (a button of a card of a carousel) is ~10

JSONPath = tuple[str | int, ...]

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_LIBYAML_NESTING = "exceeded maximum nesting depth"  # libyaml >= 0.2.6's own cap (1,000 levels)

# YAML 1.2 core schema resolution for plain (unquoted) scalars.
_NULL = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}
_INT = re.compile(r"[-+]?[0-9]+")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_OCT = re.compile(r"0o[0-7]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_STANDARD_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}


@dataclass(slots=True, eq=False)  # identity: two documents are never "equal"
class Document:
    """A YAML file turned into plain data, with the position of every key and value."""

    source: SourceText
    data: Any = None
    # (line, column, width), 1-based: plain tuples, because a big flow has tens of thousands
    keys: dict[JSONPath, tuple[int, int, int]] = field(default_factory=dict)
    values: dict[JSONPath, tuple[int, int, int]] = field(default_factory=dict)
    usable: bool = True
    text: str = field(default="", repr=False)
    positioned: bool = True  # False until positions are needed (see `where`)

    def where(self, path: JSONPath, *, key: bool = False) -> Where:
        """Where the value at ``path`` is (or its key, with ``key=True``).

        Falls back to the closest enclosing position that is known.
        """
        if not self.positioned:
            self._read_positions()
        probe = path
        while True:
            if key and probe in self.keys:
                return Where(self.source, *self.keys[probe])
            if probe in self.values:
                return Where(self.source, *self.values[probe])
            if not probe:
                return Where(self.source, 1, 1)
            probe = probe[:-1]
            key = True

    def _read_positions(self) -> None:
        """Read the text again, this time noting where every key and value is.

        A valid file is read once without positions (a 1,000-state flow has ~100,000 of them
        and needs none); the first problem to report pays for a second, positioned read.
        """
        self.positioned = True
        builder = _Builder(self, Reporter(), record=True)
        for event in _events(self.text):
            if not builder.feed(event):
                break


def read_file(path: Path, reporter: Reporter, *, display: str | None = None) -> Document:
    shown = display or str(path)
    empty = Document(SourceText(shown, ()), usable=False)
    size = path.stat().st_size
    if size > MAX_BYTES:
        reporter.add(
            "BK105",
            Where(empty.source, 1, 1),
            f"the file is {size / 1024 / 1024:.1f} MiB; a flow file may be at most "
            f"{MAX_BYTES // 1024} KiB",
            hint="split the bot into several flow files, one per topic",
        )
        return empty
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start].decode("utf-8", errors="replace")
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        source = SourceText.of(shown, before)
        reporter.add(
            "BK107",
            Where(source, line, column),
            f"byte 0x{raw[exc.start]:02x} is not UTF-8",
            hint="save the file as UTF-8 (most editors: 'Save with encoding' → UTF-8)",
        )
        return Document(source, usable=False)
    return read_text(text, shown, reporter)


def read_text(text: str, path: str, reporter: Reporter) -> Document:
    source = SourceText.of(path, text)
    doc = Document(source)
    if len(text.encode("utf-8")) > MAX_BYTES:
        reporter.add(
            "BK105",
            Where(source, 1, 1),
            f"the text is larger than {MAX_BYTES // 1024} KiB",
            hint="split the bot into several flow files, one per topic",
        )
        doc.usable = False
        return doc
    doc.text = text
    doc.positioned = False
    builder = _Builder(doc, reporter, record=False)
    try:
        for event in _events(text):
            if not builder.feed(event):
                doc.usable = False
                break
    except yaml.MarkedYAMLError as exc:
        _report_syntax(exc, source, reporter, text)
        doc.usable = False
    except yaml.YAMLError as exc:  # errors without a position (rare: reader errors)
        reporter.add("BK101", Where(source, 1, 1), f"the file cannot be read as YAML: {exc}")
        doc.usable = False
    if doc.usable and builder.documents == 0:
        reporter.add(
            "BK109",
            Where(source, 1, 1),
            "the file is empty",
            hint="start with 'flow: <id>' (or 'bot: <id>' for the bot settings file)",
        )
        doc.usable = False
    return doc


def _events(text: str) -> Iterator[Any]:
    """libyaml's events for ``text``; past libyaml's own nesting cap, the pure-Python parser's.

    The pure-Python parser reads the text again from the start (its events are the same, one
    for one) and the events already given are skipped. It is ~20 times slower, but it only
    runs for a file nested ~1,000 levels deep, and the caller stops at the depth cap.
    """
    given = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            yield event
            given += 1
        return
    except yaml.MarkedYAMLError as exc:
        if _Loader is yaml.SafeLoader or _LIBYAML_NESTING not in (exc.problem or ""):
            raise
    for index, event in enumerate(yaml.parse(text, Loader=yaml.SafeLoader)):
        if index >= given:
            yield event


def _unclosed_quote(text: str, mark: Any) -> tuple[Any, Any] | None:
    """The quoted text that ran on over several lines to end where the parser gave up.

    A quote left open on its line closes at the next quote, lines later, and libyaml reports
    the text after that quote; the mistake is where the run-on text opened. Returns the
    (start, end) marks of that text, or None when the error is something else.
    """
    last = None
    try:
        for token in yaml.scan(text, Loader=_Loader):
            if token.start_mark.index >= mark.index:
                break
            last = token
    except yaml.YAMLError:
        pass
    if not isinstance(last, yaml.ScalarToken) or last.style not in ('"', "'"):
        return None
    start, end = last.start_mark, last.end_mark
    if end.line != mark.line or start.line == end.line:
        return None
    return start, end


def _report_syntax(
    exc: yaml.MarkedYAMLError, source: SourceText, reporter: Reporter, text: str
) -> None:
    quoted = _unclosed_quote(text, exc.problem_mark) if exc.problem_mark is not None else None
    if quoted is not None:
        start, end = quoted
        reporter.add(
            "BK101",
            Where(source, start.line + 1, start.column + 1),
            "this quoted text is not closed on its line",
            hint="add the closing quote at the end of the text; without it the text runs on "
            f"to the next quote, on line {end.line + 1}",
        )
        return
    mark = exc.problem_mark or exc.context_mark
    if mark is not None and mark.line >= len(source.lines) and exc.context_mark is not None:
        mark = exc.context_mark  # "end of stream": point where the unclosed thing started
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    problem = (exc.problem or "syntax error").strip()
    hint = None
    if "end of stream" in problem and "quoted scalar" in (exc.context or ""):
        problem = "this quoted text is never closed"
        exc.context = None
        hint = "add the closing quote at the end of the text"
    if source.line(line)[column - 1 : column] == "\t" or "\\t" in problem:
        hint = "indent with spaces; YAML does not allow tabs for indentation"
    elif "mapping values are not allowed" in problem:
        hint = "put text that contains ': ' in quotes"
    elif "could not find expected ':'" in problem:
        hint = "every key needs ':' after it; check the indentation of the line above"
    message = problem
    if exc.context:
        message = f"{problem} ({exc.context.strip()})"
    reporter.add("BK101", Where(source, line, column), message, hint=hint)


def _scalar(value: str) -> Any:
    """Resolve a plain (unquoted) scalar the YAML 1.2 way."""
    first = value[:1]
    if first.isalpha() and first not in "tTfFnN":  # most text: not null, bool or number
        return value
    if value in _NULL:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if _INT.fullmatch(value):
        return int(value)
    if _HEX.fullmatch(value):
        return int(value, 16)
    if _OCT.fullmatch(value):
        return int(value[2:], 8)
    if _FLOAT.fullmatch(value):
        return float(value)
    return value


class _Frame:
    __slots__ = ("container", "key", "key_where", "path", "seen")

    def __init__(self, container: dict[str, Any] | list[Any], path: JSONPath) -> None:
        self.container = container
        self.path = path
        self.key: str | None = None  # pending mapping key, waiting for its value
        self.key_where: tuple[int, int, int] | None = None
        self.seen: dict[str, tuple[int, int, int]] = {}


class _Builder:
    """Turns a stream of YAML events into plain data plus positions, refusing what is unsafe."""

    def __init__(self, doc: Document, reporter: Reporter, *, record: bool) -> None:
        self.doc = doc
        self.reporter = reporter
        self.record = record  # note positions of everything (else only what problems need)
        self.assign = doc.data is None  # a second, positions-only read keeps the first data
        self.stack: list[_Frame] = []
        self.documents = 0
        self.anchors_reported: set[str] = set()

    def span(self, mark: Any, end: Any = None) -> tuple[int, int, int]:
        width = 1
        if end is not None and end.line == mark.line:
            width = max(1, end.column - mark.column)
        return (mark.line + 1, mark.column + 1, width)

    def where(self, mark: Any, end: Any = None) -> Where:
        return Where(self.doc.source, *self.span(mark, end))

    def feed(self, event: Any) -> bool:
        """Take one event; return False when the rest of the file must not be read."""
        kind = type(event)
        if kind is yaml.ScalarEvent:  # by far the most common event: checked first
            if event.anchor is not None:
                self._report_anchor(event, event.anchor, alias=False)
            tag = event.tag
            if tag is not None and tag != "!" and tag not in _STANDARD_TAGS:
                self._report_tag(event)
            value = _scalar(event.value) if event.implicit[0] and not event.style else event.value
            stack = self.stack
            if not stack:
                return self._value(value, event.start_mark, event.end_mark)
            # The common case, inlined: a big flow has tens of thousands of scalars.
            start, end = event.start_mark, event.end_mark
            width = end.column - start.column if end.line == start.line else 1
            span = (start.line + 1, start.column + 1, width if width > 0 else 1)
            frame = stack[-1]
            container = frame.container
            if type(container) is list:
                if self.record:
                    self.doc.values[(*frame.path, len(container))] = span
                container.append(value)
                return True
            if frame.key is None:  # this scalar is a key; keys are always text
                key = value if type(value) is str else _key_text(value, start, end, self)
                frame.key = key
                frame.key_where = span
                if self.record:
                    self.doc.keys[(*frame.path, key)] = span
                return True
            if self.record:
                self.doc.values.setdefault((*frame.path, frame.key), span)
            self._attach(value)
            return True
        if kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            return self._open(event, {} if kind is yaml.MappingStartEvent else [])
        if kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            frame = self.stack.pop()
            if not self.stack and self.assign:
                self.doc.data = frame.container
            return True
        if kind is yaml.AliasEvent:
            self._report_anchor(event, event.anchor, alias=True)
            return self._value(None, event.start_mark, event.end_mark)
        if kind is yaml.DocumentStartEvent:
            return self._document(event)
        return True  # stream start/end, document end

    # -- helpers ---------------------------------------------------------------------------

    def _open(self, event: Any, new: dict[str, Any] | list[Any]) -> bool:
        """A mapping or list starts: refuse what is unsafe or too deep, else descend into it."""
        if event.anchor is not None:
            self._report_anchor(event, event.anchor, alias=False)
        if event.tag is not None and not event.implicit and event.tag not in _STANDARD_TAGS:
            self._report_tag(event)
        if len(self.stack) >= MAX_DEPTH:
            self.reporter.add(
                "BK106",
                self.where(event.start_mark),
                f"lists and mappings are nested more than {MAX_DEPTH} levels deep here",
                hint="a flow never needs this depth; look for stray '[' or '-' characters",
            )
            return False
        path = self._child_path(event.start_mark, event.end_mark)
        if path is None:  # a list or mapping used as a key: the tree is not usable
            return False
        if self.record:
            self.doc.values[path] = self.span(event.start_mark)
        self._attach(new)
        self.stack.append(_Frame(new, path))
        return True

    def _document(self, event: Any) -> bool:
        """A document starts: a flow file holds one."""
        self.documents += 1
        if self.documents > 1:
            self.reporter.add(
                "BK108",
                self.where(event.start_mark, event.end_mark),
                "a second YAML document starts here",
                hint="put each flow in a file of its own",
            )
            return False
        return True

    def _child_path(self, start: Any, end: Any) -> JSONPath | None:
        """The path of the value that starts now, or None when it is a key being read."""
        if not self.stack:
            return ()
        frame = self.stack[-1]
        if isinstance(frame.container, list):
            return (*frame.path, len(frame.container))
        if frame.key is None:
            # A collection where a key should be: `? [a, b]: x` or `{a: 1}: x`.
            self.reporter.add(
                "BK110",
                self.where(start, end),
                "a key must be plain text, not a list or mapping",
                hint="write the key as text, e.g. 'state_id:'",
            )
            return None
        return (*frame.path, frame.key)

    def _attach(self, value: Any) -> None:
        if not self.stack:
            return
        frame = self.stack[-1]
        if isinstance(frame.container, list):
            frame.container.append(value)
            return
        assert frame.key is not None
        assert frame.key_where is not None
        if frame.key in frame.seen:
            first = frame.seen[frame.key]
            self.reporter.add(
                "BK102",
                Where(self.doc.source, *frame.key_where),
                f"key '{frame.key}' appears twice in this mapping",
                found=f"first at line {first[0]}, again at line {frame.key_where[0]}",
                hint="rename one of them or merge their contents; YAML would silently keep "
                "only the last one",
            )
        else:
            frame.seen[frame.key] = frame.key_where
            frame.container[frame.key] = value
        frame.key = None
        frame.key_where = None

    def _value(self, value: Any, start: Any, end: Any) -> bool:
        if not self.stack:
            if self.assign:
                self.doc.data = value
            if self.record:
                self.doc.values[()] = self.span(start, end)
            return True
        frame = self.stack[-1]
        if isinstance(frame.container, dict) and frame.key is None:
            # This scalar is a key. Keys are always text, whatever they look like.
            frame.key = value if isinstance(value, str) else _key_text(value, start, end, self)
            frame.key_where = self.span(start, end)
            if self.record:
                self.doc.keys[(*frame.path, frame.key)] = frame.key_where
            return True
        path = self._child_path(start, end)
        assert path is not None
        if self.record:
            self.doc.values.setdefault(path, self.span(start, end))
        self._attach(value)
        return True

    def _report_anchor(self, event: Any, anchor: str | None, *, alias: bool) -> None:
        name = anchor or "?"
        if name in self.anchors_reported:
            return
        self.anchors_reported.add(name)
        sign = "*" if alias else "&"
        start = event.start_mark
        self.reporter.add(
            "BK103",
            Where(self.doc.source, start.line + 1, start.column + 1, len(name) + 1),
            f"{'alias' if alias else 'anchor'} '{sign}{name}' is not allowed in flow files",
            hint="write the repeated part out in full; shared settings belong in bot.yaml",
        )

    def _report_tag(self, event: Any) -> None:
        tag = str(event.tag).replace("tag:yaml.org,2002:", "!!")
        start = event.start_mark
        self.reporter.add(
            "BK104",
            Where(self.doc.source, start.line + 1, start.column + 1, len(tag)),
            f"YAML tag '{tag}' is not allowed in flow files",
            hint="remove the tag; put the value in quotes if it must stay text",
        )


def _key_text(value: Any, start: Any, end: Any, builder: _Builder) -> str:
    """Keys are ids or labels: keep exactly what the designer typed."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    source_line = builder.doc.source.line(start.line + 1)
    if end.line == start.line:
        return source_line[start.column : end.column]
    return str(value)
