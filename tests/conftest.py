"""Shared fixtures: small inline flows, compiled the way `botkit check` compiles them."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
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
