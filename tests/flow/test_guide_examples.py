"""Every YAML example in the flow guide (flows/README.md) is loaded and checked.

Each ```yaml block of the guide is preceded by a marker, an HTML comment that a rendered page does
not show, saying what the block is (the guide's "About the examples" explains it to designers):

* ``<!-- check: file GROUP/NAME -->``: a whole file of a new bot; the blocks with the same GROUP
  are the files of one bot, compiled together (without the reference bot); no errors, no warnings.
* ``<!-- check: flow FLOW -->``: top-level keys of a flow file, put into flow FLOW of the
  reference bot (a state, slot, action, ... with an id the bot already has replaces it).
* ``<!-- check: states FLOW -->``: states, as written under ``states:``, put into flow FLOW.
* ``<!-- check: bot -->``: top-level keys of ``bot.yaml``, put into the reference bot's.
* ``<!-- check: test -->``: a conversation test file, read by the simulator's reader, checked
  against the reference bot (its states, actions and variants exist) and run: its conversations
  pass, as ``botkit test`` runs them; ``<!-- check: fixtures -->``
  the same for a file with only ``fixtures:`` (as ``--fixtures`` reads it).

The reference bot with a fragment in it must compile without errors. The guide's own numbers are
checked too: the README's count of the reference bot's conversations, and the files it names.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from botkit.app import load
from botkit.flow import compile_texts
from botkit.flow.source import Reporter, read_text
from botkit.problems import Problem, Severity, render_problem
from botkit.simulator.runner import format_failure, run_conversation
from botkit.simulator.testfile import find_test_files, load_test_file, load_test_text

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "flows" / "README.md"
BOT = ROOT / "flows"

# declarations shared by the whole bot: an id is declared in one file only
DECLARED = ("slots", "intents", "actions", "goals", "experiments", "promotions", "business_hours")
MARKER = re.compile(r"^<!--\s*check:\s*(?P<kind>[\w.-]+)(?:\s+(?P<arg>\S+))?\s*-->\s*$")
KINDS = ("file", "flow", "states", "bot", "test", "fixtures")


@dataclass(frozen=True)
class Example:
    line: int  # of the ```yaml fence, 1-based
    kind: str
    arg: str | None
    text: str

    @property
    def id(self) -> str:
        return f"line{self.line}-{self.kind}" + (f"-{self.arg}" if self.arg else "")


def examples(markdown: str) -> Iterator[Example]:
    """The ```yaml blocks of ``markdown`` with the marker before each (kind '?' if none)."""
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```yaml":
            fence = i
            indent = len(lines[i]) - len(lines[i].lstrip())
            body = []
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i][indent:])
                i += 1
            before = fence - 1
            while before >= 0 and not lines[before].strip():
                before -= 1
            found = MARKER.match(lines[before].strip()) if before >= 0 else None
            kind = found["kind"] if found else "?"
            arg = found["arg"] if found else None
            yield Example(fence + 1, kind, arg, "\n".join(body) + "\n")
        i += 1


def _read(text: str, name: str) -> Any:
    """Read YAML by botkit's rules (yes stays text, duplicate keys refused, ...)."""
    reporter = Reporter()
    doc = read_text(text, name, reporter)
    assert not reporter.problems, _shown(list(reporter.problems))
    return doc.data


def _shown(problems: list[Problem]) -> str:
    return "\n".join(render_problem(p) for p in problems)


def reference_bot() -> dict[str, dict[str, Any]]:
    """The reference bot's flow files as data, by file name."""
    return {
        p.name: _read(p.read_text(encoding="utf-8"), p.name)
        for p in sorted(BOT.glob("*.yaml"))
        if not p.name.endswith(".test.yaml")
    }


def _file_of_flow(files: dict[str, dict[str, Any]], flow: str) -> str:
    for name, data in files.items():
        if data.get("flow") == flow:
            return name
    raise AssertionError(f"the reference bot has no flow '{flow}' (the marker names it)")


def put(files: dict[str, dict[str, Any]], target: str, fragment: dict[str, Any]) -> None:
    """Put the top-level keys of ``fragment`` into the file ``target`` of the bot ``files``."""
    data = files[target]
    for key, value in fragment.items():
        if key in DECLARED and isinstance(value, dict):
            for ident, declaration in value.items():
                for other in files.values():
                    if isinstance(other.get(key), dict):
                        other[key].pop(ident, None)
                data.setdefault(key, {})[ident] = declaration
        elif key == "states" and isinstance(value, dict):
            data.setdefault("states", {}).update(value)
        else:
            data[key] = value


def compile_files(files: dict[str, Any]) -> list[Problem]:
    # JSON is YAML, and quotes every string: the data reads back exactly as it was read
    result = compile_texts(
        (name, json.dumps(data, ensure_ascii=False)) for name, data in files.items()
    )
    return result.problems


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity is Severity.ERROR]


GUIDE_TEXT = GUIDE.read_text(encoding="utf-8")
EXAMPLES = list(examples(GUIDE_TEXT))


def test_the_guide_has_checked_examples() -> None:
    kinds = {e.kind for e in EXAMPLES}
    assert len(EXAMPLES) >= 15, "the guide teaches by example"
    assert {"file", "states", "flow", "bot", "test"} <= kinds


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.id)
def test_every_yaml_example_of_the_guide_loads(example: Example) -> None:
    where = f"flows/README.md:{example.line}"
    assert example.kind in KINDS, (
        f"{where}: a ```yaml block needs a marker on the line before it, one of "
        "<!-- check: file GROUP/NAME | flow FLOW | states FLOW | bot | test | fixtures --> "
        f"(found {example.kind!r})"
    )
    if example.kind == "file":
        # the whole group: every file of this new bot, as the guide writes them
        assert example.arg, f"{where}: 'file' needs GROUP/NAME"
        assert "/" in example.arg, f"{where}: 'file' needs GROUP/NAME"
        group = example.arg.split("/")[0]
        files = {
            e.arg.split("/", 1)[1]: _read(e.text, e.arg)
            for e in EXAMPLES
            if e.kind == "file" and e.arg and e.arg.split("/")[0] == group
        }
        problems = compile_files(files)
        assert not problems, (
            f"{where}: the example bot '{group}' has problems:\n{_shown(problems)}"
        )
        return
    if example.kind in ("test", "fixtures"):
        text = example.text
        if example.kind == "fixtures":  # as --fixtures reads a file without conversations
            text += "conversations: [{name: fixtures only, steps: [{user: ''}]}]\n"
        bot = compile_texts(
            (name, json.dumps(data, ensure_ascii=False)) for name, data in reference_bot().items()
        ).bot
        assert bot is not None, "the reference bot does not compile"
        test = load_test_text(text, where, bot)
        assert not test.problems, f"{where}:\n{_shown(test.problems)}"
        assert test.conversations
        if example.kind == "test":  # and it passes, as `botkit test` would run it
            app = load(BOT)
            for conversation in test.conversations:
                result = asyncio.run(run_conversation(app, conversation))
                assert result.passed, f"{where}:\n{format_failure(result)}"
        return
    fragment = _read(example.text, where)
    assert isinstance(fragment, dict), f"{where}: the example is not a mapping"
    files = reference_bot()
    if example.kind == "bot":
        put(files, "bot.yaml", fragment)
    else:
        assert example.arg, f"{where}: '{example.kind}' needs the flow it goes in"
        target = _file_of_flow(files, example.arg)
        put(files, target, {"states": fragment} if example.kind == "states" else fragment)
    problems = errors(compile_files(files))
    assert not problems, f"{where}: in the reference bot, the example gives:\n{_shown(problems)}"


def test_the_reference_bot_compiles_as_the_examples_see_it() -> None:
    """The baseline the fragments are put into: if this fails, fix flows/ first."""
    assert not errors(compile_files(reference_bot()))


def test_a_broken_example_is_caught() -> None:
    """The checker itself: a state that leads nowhere, and a block without a marker."""
    broken = (
        "<!-- check: states order_status -->\n\n```yaml\nlost:\n  say: hi\n  next: nowhere\n```"
    )
    (example,) = examples(broken)
    with pytest.raises(AssertionError, match="BK30"):
        test_every_yaml_example_of_the_guide_loads(example)
    (unmarked,) = examples("text\n\n```yaml\nsay: hi\n```\n")
    with pytest.raises(AssertionError, match="needs a marker"):
        test_every_yaml_example_of_the_guide_loads(unmarked)


# --- the numbers and paths the docs give --------------------------------------------------------


def conversation_count() -> int:
    total = 0
    for path in find_test_files(BOT / "tests"):
        test = load_test_file(path)
        assert not test.problems, _shown(test.problems)
        total += len(test.conversations)
    return total


def test_the_readme_counts_the_reference_conversations() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    said = re.search(r"(\d+) conversations in `flows/tests/`", readme)
    assert said, "README.md should say how many conversations the reference bot's tests hold"
    assert int(said[1]) == conversation_count(), (
        f"README.md says {said[1]} conversations; flows/tests/ holds {conversation_count()} "
        "(`botkit test flows/` prints the same number)"
    )


DOCS = ("README.md", "flows/README.md", "botkit/simulator/README.md", "docs/architecture.md")
WRITTEN = ("--record", "--out", "/save", ">")
PATH = re.compile(r"(?<![\w/.])((?:flows|botkit|docs|tests|bench)/[\w./-]*[\w/])")


@pytest.mark.parametrize("doc", DOCS)
def test_the_files_the_docs_name_exist(doc: str) -> None:
    text = (ROOT / doc).read_text(encoding="utf-8")
    base = (ROOT / doc).parent
    missing = []
    for found in PATH.finditer(text):
        path = found[1]
        before = text[max(0, found.start() - 10) : found.start()]
        if "*" in path or before.rstrip().endswith(WRITTEN):
            continue  # a pattern, or a file a command writes
        if not ((ROOT / path).exists() or (base / path).exists()):
            missing.append(path)
    assert not missing, f"{doc} names files that do not exist: {sorted(set(missing))}"


def test_the_simulator_guide_example_is_a_test_file_the_reader_accepts() -> None:
    """botkit/simulator/README.md shows the whole test format in one block: it must read."""
    text = (ROOT / "botkit" / "simulator" / "README.md").read_text(encoding="utf-8")
    blocks = [e for e in examples(text)]
    assert blocks, "the simulator's README shows a conversation test"
    bot = compile_texts(
        (name, json.dumps(data, ensure_ascii=False)) for name, data in reference_bot().items()
    ).bot
    assert bot is not None
    for block in blocks:
        test = load_test_text(block.text, f"botkit/simulator/README.md:{block.line}", bot)
        assert not test.problems, _shown(test.problems)
