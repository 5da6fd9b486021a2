"""``python -m tests.reliability``: the reliability suite's full run, its figures printed.

    python -m tests.reliability [--fast] [pytest options]

Runs ``tests/reliability`` with ``BOTKIT_RELIABILITY=full`` (``--fast``: the subset ``make
test`` runs) and prints the figures as a table, then one JSON line. The PostgreSQL figures need
``BOTKIT_TEST_POSTGRES_URL``; without it those tests are skipped and say so. Exits with
pytest's status: non-zero when a figure breaks its promise.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    fast = "--fast" in argv
    # Read when the suite's modules are imported, which pytest does below.
    os.environ["BOTKIT_RELIABILITY"] = "fast" if fast else "full"
    if not os.environ.get("BOTKIT_TEST_POSTGRES_URL"):
        print("BOTKIT_TEST_POSTGRES_URL is not set: the PostgreSQL figures are skipped")
    os.chdir(HERE.parents[1])
    options = [arg for arg in argv if arg != "--fast"]
    return int(pytest.main([str(HERE), "-q", "-p", "no:cacheprovider", *options]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
