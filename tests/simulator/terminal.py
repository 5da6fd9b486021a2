"""`botkit shell` as a user meets it: the real program in a pseudo-terminal, or on piped input
as a script runs it."""

from __future__ import annotations

import io
import os
import re
import sys
from pathlib import Path

import pexpect

from botkit.simulator.shell import ShellOptions, run_shell

REPO = Path(__file__).resolve().parents[2]
ANSI = r"(?:\x1b\[[0-9;?]*[A-Za-z])*"  # colours and cursor moves may sit between characters


def shown(text: str) -> str:
    """A pattern for ``text`` as a terminal receives it."""
    return ANSI.join(re.escape(char) for char in text)


def spawn_botkit(arguments: list[str], home: Path) -> pexpect.spawn[str]:
    """``botkit <arguments>`` run from the repository in a 40×100 xterm without colours, with
    ``home`` as its home (the shell's history file goes there, not into the real home)."""
    env = {
        **os.environ,
        "TERM": "xterm",
        "COLUMNS": "100",
        "LINES": "40",
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / "cache"),
        "NO_COLOR": "1",
        "PROMPT_TOOLKIT_NO_CPR": "1",  # pexpect does not answer cursor-position requests
    }
    return pexpect.spawn(
        sys.executable,
        ["-m", "botkit.cli.main", *arguments],
        cwd=str(REPO),
        env=env,
        encoding="utf-8",
        timeout=20,
        dimensions=(40, 100),
    )


def run_piped(options: ShellOptions, lines: str) -> str:
    """What the shell prints for ``lines`` on piped input; the test fails unless it exits 0."""
    stdin, stdout = sys.stdin, sys.stdout
    sys.stdin, sys.stdout = io.StringIO(lines), io.StringIO()
    try:
        status = run_shell(options, interactive=False)
        printed = sys.stdout.getvalue()
    finally:
        sys.stdin, sys.stdout = stdin, stdout
    assert status == 0, printed
    return printed
