"""Prints the reliability figures at the end of a run that asked for them
(``BOTKIT_RELIABILITY=fast|full``, as ``make reliability`` does)."""

from __future__ import annotations

import pytest

from tests.reliability import figures


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not figures.PRINTED:
        return
    terminalreporter.section("reliability figures")
    for line in figures.table():
        terminalreporter.write_line(line)
