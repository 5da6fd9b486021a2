"""Shared fixtures: small inline flows, compiled the way `botkit check` compiles them."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from botkit.flow import CompileResult, compile_texts

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def compile_flow() -> Callable[..., CompileResult]:
    """Compile one or more inline YAML texts (dedented) as one bot."""

    def run(*texts: str, names: tuple[str, ...] = ()) -> CompileResult:
        named = [
            (names[i] if i < len(names) else f"flow{i}.yaml", textwrap.dedent(t).lstrip("\n"))
            for i, t in enumerate(texts)
        ]
        return compile_texts(named)

    return run


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def postgres_schema() -> Iterator[str]:
    """A schema of this test's own on the test PostgreSQL server, dropped afterwards."""
    from tests.postgres import POSTGRES_URL, drop_schema, new_schema, run_apart

    if not POSTGRES_URL:
        pytest.skip("BOTKIT_TEST_POSTGRES_URL is not set")
    schema = new_schema()
    yield schema
    run_apart(drop_schema(schema))
