"""Broken flow files: every problem code, at the exact line and column, with the exact output.

Each fixture in ``tests/flow/broken/`` is one small flow file with one deliberate mistake; each
folder in ``tests/flow/broken_bots/`` is one small bot (bot.yaml and flows) for the problems that
need more than one file. The first line of the fixture (of one file of a folder) says what must be
found::

    # expect: BK301 at 9:13

Next to each fixture, ``<name>.txt`` holds exactly what ``botkit check`` prints for it. To
rewrite those golden files after an intended change of wording, run::

    BOTKIT_UPDATE_GOLDEN=1 .venv/bin/pytest tests/flow/test_broken_fixtures.py

and review the diff. Two fixtures are too large to commit and are generated here: a 5 MiB flow
file (BK105) and a bot folder of 4.5 MiB (BK111). Timings of hostile files are measured by the
bench script, never here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from botkit.flow import CompileResult, _yaml, compile_bot, flow_files
from botkit.flow.codes import CODES
from botkit.flow.compiler import MAX_BOT_BYTES
from botkit.problems import Severity, render_problems

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]  # the repository: display root of every path, and the CLI's cwd
BROKEN = HERE / "broken"
BROKEN_BOTS = HERE / "broken_bots"
UPDATE_GOLDEN = os.environ.get("BOTKIT_UPDATE_GOLDEN") == "1"

GENERATED = "bk105_file_too_large.yaml"  # 5 MiB: generated into a temporary copy of the tree
GENERATED_SIZE = 5 * 1024 * 1024
GENERATED_BOT = "bk111_bot_too_large"  # five flow files under the cap of one, over that of a bot
GENERATED_BOT_FILES = 5

# Codes in the catalogue that botkit does not report yet, so no fixture can expect them. Each
# entry must go (and a fixture come) as soon as the code is reported; see test_every_code.
NOT_REPORTED_YET: dict[str, str] = {}
# Codes no flow file alone can show: the program's (BK5xx, when the bot starts; see
# tests/test_startup_codes.py) and conversation test files' (BK6xx; tests/simulator).
AT_STARTUP = frozenset({"BK501", "BK502", "BK503", "BK601", "BK602"})

_EXPECT = re.compile(rb"# expect: (BK[0-9]{3}) at ([0-9]+):([0-9]+)")


@dataclass(frozen=True)
class Expectation:
    code: str
    line: int
    column: int
    file: Path  # the file (of a bot folder: the one) whose first line says what is expected


@dataclass(frozen=True)
class Case:
    name: str  # a file name, or a bot folder's name
    target: Path  # what is checked: a flow file, or a bot folder
    root: Path  # the display root and the CLI's working directory
    golden: Path

    @property
    def files(self) -> list[Path]:
        return flow_files(self.target)

    @property
    def expectation(self) -> Expectation:
        return _expectation(self.target)

    @property
    def shown(self) -> str:
        """The expected file as problems name it: relative to the root, like the CLI does."""
        return str(self.expectation.file.relative_to(self.root))

    @property
    def is_error(self) -> bool:
        return CODES[self.expectation.code].severity is Severity.ERROR


def _first_line(path: Path) -> bytes:
    # Bytes, not text: one fixture is deliberately not UTF-8.
    with path.open("rb") as f:
        return f.readline()


@cache
def _expectation(target: Path) -> Expectation:
    found: list[Expectation] = []
    for file in flow_files(target):
        match = _EXPECT.match(_first_line(file))
        if match:
            code, line, column = match.groups()
            found.append(Expectation(code.decode(), int(line), int(column), file))
    assert len(found) == 1, f"{target}: exactly one file must start with '# expect: BKnnn at L:C'"
    return found[0]


def _file_names() -> list[str]:
    return sorted([*(p.name for p in BROKEN.glob("*.yaml")), GENERATED])


def _bot_names() -> list[str]:
    return sorted([*(p.name for p in BROKEN_BOTS.iterdir() if p.is_dir()), GENERATED_BOT])


NAMES = _file_names() + _bot_names()


def _generate_large_file(root: Path) -> Path:
    """A flow that is too large, written where the committed fixtures live (under ``root``)."""
    path = root / BROKEN.relative_to(ROOT) / GENERATED
    path.parent.mkdir(parents=True, exist_ok=True)
    head = "# expect: BK105 at 1:1\nflow: huge\ntitle: 아주 큰 흐름\nstart: s0\nstates:\n"
    state = '  s{i}:\n    say: "{i}번째 안내예요. 다음으로 넘어갈게요."\n    next: s{j}\n'
    parts = [head]
    size = len(head.encode())
    i = 0
    while size <= GENERATED_SIZE:
        part = state.format(i=i, j=i + 1)
        parts.append(part)
        size += len(part.encode())
        i += 1
    parts.append(f'  s{i}:\n    say: "끝이에요."\n    end: resolved\n')
    path.write_text("".join(parts), encoding="utf-8")
    return path


def _generate_large_bot(root: Path) -> Path:
    """A bot folder whose files are each under the cap of one file (1 MiB), but not together.
    The first file is the largest, so it is the one the problem points at."""
    folder = root / BROKEN_BOTS.relative_to(ROOT) / GENERATED_BOT
    folder.mkdir(parents=True, exist_ok=True)
    state = '  s{i}:\n    say: "{i}번째 안내예요. 다음으로 넘어갈게요."\n    next: s{j}\n'
    for n in range(GENERATED_BOT_FILES):
        expect = "# expect: BK111 at 1:1\n" if n == 0 else ""
        parts = [f"{expect}flow: part{n}\ntitle: {n}번째 안내\nstart: s0\nstates:\n"]
        size = len(parts[0].encode())
        limit = (1000 if n == 0 else 900) * 1024 - 200
        i = 0
        while size < limit:
            parts.append(state.format(i=i, j=i + 1))
            size += len(parts[-1].encode())
            i += 1
        parts.append(f'  s{i}:\n    say: "끝이에요."\n    end: resolved\n')
        (folder / f"part{n}.yaml").write_text("".join(parts), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def generated_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("generated")
    _generate_large_file(root)
    _generate_large_bot(root)
    return root


def _case(name: str, generated_root: Path) -> Case:
    if name == GENERATED:
        target = generated_root / BROKEN.relative_to(ROOT) / name
        return Case(name, target, generated_root, BROKEN / f"{Path(name).stem}.txt")
    if name == GENERATED_BOT:
        target = generated_root / BROKEN_BOTS.relative_to(ROOT) / name
        return Case(name, target, generated_root, BROKEN_BOTS / f"{name}.txt")
    if name.endswith(".yaml"):
        return Case(name, BROKEN / name, ROOT, BROKEN / f"{Path(name).stem}.txt")
    return Case(name, BROKEN_BOTS / name, ROOT, BROKEN_BOTS / f"{name}.txt")


@pytest.fixture
def case(request: pytest.FixtureRequest, generated_root: Path) -> Case:
    name: str = request.param
    return _case(name, generated_root)


def _read_golden(case: Case) -> str:
    with case.golden.open(encoding="utf-8", newline="") as f:
        return f.read()


@cache
def _compile(target: Path, root: Path) -> CompileResult:
    return compile_bot(flow_files(target), display_root=root)


def _result(case: Case) -> CompileResult:
    return _compile(case.target, case.root)


# -- the compiler, fixture by fixture ---------------------------------------------------------


@pytest.mark.parametrize("case", NAMES, indirect=True)
def test_compiles_without_exception(case: Case) -> None:
    result = compile_bot(case.files, display_root=case.root)
    assert result.problems, "a broken fixture must produce at least one problem"


@pytest.mark.parametrize("case", NAMES, indirect=True)
def test_expected_problem_is_found_where_expected(case: Case) -> None:
    expected = case.expectation
    problems = _result(case).problems
    at = [(p.code, p.path, p.line, p.column) for p in problems]
    assert (expected.code, case.shown, expected.line, expected.column) in at, (
        f"expected {expected.code} at {case.shown}:{expected.line}:{expected.column}, got:\n"
        + render_problems(problems)
    )


@pytest.mark.parametrize("case", NAMES, indirect=True)
def test_output_matches_golden_file(case: Case) -> None:
    text = render_problems(_result(case).problems)
    if UPDATE_GOLDEN:
        case.golden.write_text(text, encoding="utf-8", newline="")
    assert case.golden.exists(), "no golden file; run with BOTKIT_UPDATE_GOLDEN=1 to write it"
    assert text == _read_golden(case)


@pytest.mark.parametrize("case", NAMES, indirect=True)
def test_errors_stop_the_bot(case: Case) -> None:
    result = _result(case)
    if case.is_error:
        assert result.bot is None
    else:
        # A warning fixture has no error, or the graph checks that find warnings would not run.
        assert result.errors == []
        assert result.bot is not None


# -- the real command line --------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str


def _run_cli(root: Path, *args: str) -> Run:
    done = subprocess.run(
        [sys.executable, "-m", "botkit.cli.main", "check", *args],
        cwd=root,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def _cli_args(case: Case) -> list[tuple[str, ...]]:
    path = str(case.target.relative_to(case.root))
    return [(path,), (path, "--strict")] if not case.is_error else [(path,)]


@pytest.fixture(scope="session")
def cli_runs(generated_root: Path) -> dict[tuple[str, tuple[str, ...]], Run]:
    """Every CLI run the tests need, started together: each is a fresh Python process."""
    jobs = [(c, args) for c in (_case(n, generated_root) for n in NAMES) for args in _cli_args(c)]
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        runs = list(pool.map(lambda job: _run_cli(job[0].root, *job[1]), jobs))
    return {(c.name, args): run for (c, args), run in zip(jobs, runs, strict=True)}


@pytest.mark.parametrize("case", NAMES, indirect=True)
def test_cli_check(case: Case, cli_runs: dict[tuple[str, tuple[str, ...]], Run]) -> None:
    for args in _cli_args(case):
        run = cli_runs[(case.name, args)]
        assert "Traceback" not in run.stdout
        assert "Traceback" not in run.stderr
        strict = "--strict" in args
        assert run.returncode == (1 if case.is_error or strict else 0), run.stdout + run.stderr
        # The CLI shows paths relative to where it runs, so its output is the golden text.
        assert run.stdout == _read_golden(case) + "\n"


@pytest.mark.parametrize(
    "name",
    [
        "bk301_unknown_target.yaml",
        "bk107_not_utf8.yaml",
        "bk401_unreachable_state.yaml",
        "bk308_duplicate_slot",
    ],
)
def test_cli_json_output(name: str, generated_root: Path) -> None:
    case = _case(name, generated_root)
    expected = case.expectation
    run = _run_cli(case.root, str(case.target.relative_to(case.root)), "--format", "json")
    assert "Traceback" not in run.stdout + run.stderr
    assert run.returncode == (1 if case.is_error else 0)
    problems = json.loads(run.stdout)
    assert isinstance(problems, list)
    assert {
        "code": expected.code,
        "path": case.shown,
        "line": expected.line,
        "column": expected.column,
        "severity": str(CODES[expected.code].severity),
    }.items() <= next(p for p in problems if p["code"] == expected.code).items()


# -- the fixtures themselves ------------------------------------------------------------------


def _all_cases(generated_root: Path) -> Iterator[Case]:
    for name in NAMES:
        yield _case(name, generated_root)


def test_every_code_has_a_fixture(generated_root: Path) -> None:
    covered = {c.expectation.code for c in _all_cases(generated_root)}
    missing = set(CODES) - covered - set(NOT_REPORTED_YET) - AT_STARTUP
    assert not missing, f"codes without a fixture in tests/flow/broken*/: {sorted(missing)}"
    assert not covered & set(NOT_REPORTED_YET), "reported now: remove it from NOT_REPORTED_YET"
    assert set(NOT_REPORTED_YET) <= set(CODES)


def test_fixture_names_match_their_codes(generated_root: Path) -> None:
    for c in _all_cases(generated_root):
        code = c.expectation.code
        assert code in CODES, f"{c.name}: {code} is not in the catalogue"
        assert c.name.startswith(f"{code.lower()}_"), f"{c.name} should be named {code.lower()}_…"


def test_every_golden_file_has_a_fixture() -> None:
    stems = {Path(n).stem for n in NAMES}
    goldens = [*BROKEN.glob("*.txt"), *BROKEN_BOTS.glob("*.txt")]
    assert sorted(g.name for g in goldens if g.stem not in stems) == []


def test_generated_file_is_too_large(generated_root: Path) -> None:
    path = _case(GENERATED, generated_root).target
    assert path.stat().st_size > GENERATED_SIZE


def test_generated_bot_is_too_large_only_together(generated_root: Path) -> None:
    sizes = [p.stat().st_size for p in _case(GENERATED_BOT, generated_root).files]
    assert len(sizes) == GENERATED_BOT_FILES
    assert max(sizes) <= _yaml.MAX_BYTES
    assert sum(sizes) > MAX_BOT_BYTES


# -- deep nesting, whatever libyaml is installed ----------------------------------------------


class _LibyamlWithACap(yaml.SafeLoader):
    """Stands in for libyaml 0.2.6 (PyYAML 6.0.4): it refuses deep nesting by itself, after
    looking ahead, so it fails before botkit's own cap (64 levels) has seen the 65th level."""

    events_before_refusing = 8

    def get_event(self) -> Any:
        if self.events_before_refusing == 0:
            raise yaml.scanner.ScannerError(
                "while increasing flow level", None, "exceeded maximum nesting depth", None
            )
        self.events_before_refusing -= 1
        return super().get_event()  # type: ignore[no-untyped-call]  # untyped in the stubs


@pytest.mark.parametrize(
    "parser",
    [_LibyamlWithACap, yaml.SafeLoader],
    ids=["libyaml_refuses_deep_nesting_itself", "parser_without_a_cap"],
)
def test_deep_nesting_is_bk106_at_the_65th_level_with_any_parser(
    parser: type[yaml.SafeLoader], monkeypatch: pytest.MonkeyPatch, generated_root: Path
) -> None:
    monkeypatch.setattr(_yaml, "_Loader", parser)
    case = _case("bk106_deep_nesting.yaml", generated_root)
    result = compile_bot(case.files, display_root=case.root)
    assert [(p.code, p.line, p.column) for p in result.problems] == [("BK106", 6, 71)]
