"""botkit campaigns plan|run: bad input is a usage error (exit 2) with one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from botkit.cli.main import cli

FLOWS = str(Path(__file__).resolve().parents[2] / "flows")


@pytest.mark.parametrize("every", ["0", "-5", "nan", "soon"])
def test_run_refuses_a_tick_that_is_not_a_sensible_number_of_seconds(
    tmp_path: Path, every: str
) -> None:
    store = f"sqlite:///{tmp_path / 'shop.db'}"
    result = CliRunner().invoke(
        cli, ["campaigns", "run", FLOWS, "--store", store, "--every", every]
    )
    assert result.exit_code == 2
    assert "--every" in result.output
    assert "Traceback" not in result.output


def test_plan_refuses_an_instant_it_cannot_read(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'shop.db'}"
    result = CliRunner().invoke(
        cli, ["campaigns", "plan", FLOWS, "--store", store, "--at", "내일 아침"]
    )
    assert result.exit_code == 2
    assert "--at" in result.output
    assert "Traceback" not in result.output
