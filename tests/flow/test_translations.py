"""The reference bot speaks Korean and English completely: `botkit check --strict flows/` is
clean, and one English text taken out makes it fail, naming the place and the language."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from click.testing import CliRunner

from botkit.cli.main import cli

FLOWS = Path(__file__).resolve().parents[2] / "flows"


def test_the_reference_bot_has_no_missing_translation() -> None:
    result = CliRunner().invoke(cli, ["check", "--strict", str(FLOWS)])
    assert result.exit_code == 0, result.output
    assert "BK417" not in result.output


def test_one_english_text_taken_out_fails_the_strict_check(tmp_path: Path) -> None:
    bot = tmp_path / "flows"
    shutil.copytree(FLOWS, bot)
    main = bot / "main.yaml"
    source = main.read_text(encoding="utf-8")
    english = re.search(r"\n *en: \"[^\"\n]*\"\n", source)
    assert english is not None
    line = source[: english.start()].count("\n") + 1  # the 'ko:' line just above
    main.write_text(source[: english.start()] + "\n" + source[english.end() :], encoding="utf-8")
    lenient = CliRunner().invoke(cli, ["check", str(bot)])
    assert lenient.exit_code == 0
    strict = CliRunner().invoke(cli, ["check", "--strict", str(bot)])
    assert strict.exit_code == 1
    assert re.search(
        rf"main\.yaml:{line}:\d+: warning\[BK417\]: this text has no 'en' version", strict.output
    )
