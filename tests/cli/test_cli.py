"""The `botkit` command line: exit codes, output formats, usage errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from botkit.cli.main import cli

BROKEN = """\
flow: demo
start: menu
states:
  menu:
    say: "무엇을 도와드릴까요?"
    on:
      - keywords: [배송]
        to: ask_ordr
  ask_order:
    say: "주문번호를 알려 주세요."
    end: resolved
"""

UNREACHABLE = """\
flow: demo
start: menu
states:
  menu:
    say: "안녕하세요"
    end: resolved
  orphan:
    say: "아무도 오지 않는 곳"
    end: resolved
"""


def _broken_flow(tmp_path: Path) -> Path:
    path = tmp_path / "demo.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    return path


def test_check_exits_0_on_the_reference_bot(repo: Path) -> None:
    result = CliRunner().invoke(cli, ["check", str(repo / "flows")])
    assert result.exit_code == 0, result.output
    assert "no problems" in result.output


def test_check_exits_1_and_points_at_the_typo(tmp_path: Path) -> None:
    path = _broken_flow(tmp_path)
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 1
    assert ":8:13: error[BK301]: 'ask_ordr' is not a state of this flow" in result.output
    assert "did you mean 'ask_order'?" in result.output
    assert "Traceback" not in result.output


def test_check_json_format_lists_problems(tmp_path: Path) -> None:
    path = _broken_flow(tmp_path)
    result = CliRunner().invoke(cli, ["check", "--format", "json", str(path)])
    assert result.exit_code == 1
    problems = json.loads(result.output)
    assert [(p["code"], p["line"], p["column"]) for p in problems] == [("BK301", 8, 13)]


def test_check_warnings_pass_unless_strict(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(UNREACHABLE, encoding="utf-8")
    relaxed = CliRunner().invoke(cli, ["check", str(path)])
    strict = CliRunner().invoke(cli, ["check", "--strict", str(path)])
    assert relaxed.exit_code == 0
    assert "warning[BK401]" in relaxed.output
    assert strict.exit_code == 1


def test_check_usage_errors_exit_2(tmp_path: Path) -> None:
    assert CliRunner().invoke(cli, ["check"]).exit_code == 2
    assert CliRunner().invoke(cli, ["check", str(tmp_path / "missing.yaml")]).exit_code == 2
    assert CliRunner().invoke(cli, ["check", str(tmp_path)]).exit_code == 2  # no yaml inside


def test_schema_prints_the_packaged_json_schema() -> None:
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0
    printed = json.loads(result.output)
    assert printed["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert {"flow", "bot", "state", "slot"} <= set(printed["$defs"])


def test_every_reference_flow_points_editors_at_the_schema(repo: Path) -> None:
    for path in sorted((repo / "flows").glob("*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../botkit/flow/schema/flow.schema.json"


def test_graph_prints_mermaid_for_every_reference_flow(repo: Path) -> None:
    for path in sorted((repo / "flows").glob("*.yaml")):
        if path.name == "bot.yaml":
            continue
        result = CliRunner().invoke(cli, ["graph", str(path)])
        assert result.exit_code == 0, result.output
        assert result.output.startswith("flowchart TD\n")


def test_graph_dot_and_unknown_flow(repo: Path) -> None:
    dot = CliRunner().invoke(
        cli, ["graph", str(repo / "flows"), "--flow", "refund", "--format", "dot"]
    )
    assert dot.exit_code == 0
    assert dot.output.startswith('digraph "refund"')
    missing = CliRunner().invoke(cli, ["graph", str(repo / "flows"), "--flow", "refnd"])
    assert missing.exit_code == 2
    assert "no flow 'refnd'" in missing.output


def test_graph_of_a_broken_bot_prints_problems_and_exits_1(tmp_path: Path) -> None:
    path = _broken_flow(tmp_path)
    result = CliRunner().invoke(cli, ["graph", str(path)])
    assert result.exit_code == 1
    assert "BK301" in result.output


def test_serve_refuses_several_workers_on_a_store_only_one_process_may_use(repo: Path) -> None:
    result = CliRunner().invoke(
        cli, ["serve", str(repo / "flows"), "--workers", "2", "--store", "sqlite:///bot.db"]
    )
    assert result.exit_code == 1
    assert result.output == (
        "2 workers need a store they all share, such as --store postgresql://user@host/db;"
        " the store is 'sqlite:///bot.db', which only one process may use\n"
    )


def test_serve_refuses_a_store_url_it_does_not_know(repo: Path) -> None:
    result = CliRunner().invoke(cli, ["serve", str(repo / "flows"), "--store", "mysql://db/bot"])
    assert result.exit_code == 1
    assert result.output.startswith("unsupported store URL 'mysql://db/bot'; supported: memory://")
    assert "Traceback" not in result.output


def test_a_store_url_it_does_not_know_is_repeated_without_its_password(repo: Path) -> None:
    url = "mysql://shop:비밀-s3cret@db.internal/bot"
    result = CliRunner().invoke(cli, ["serve", str(repo / "flows"), "--store", url])
    assert result.exit_code == 1
    assert result.output.startswith("unsupported store URL 'mysql://shop:***@db.internal/bot';")
    assert "s3cret" not in result.output


def test_report_refuses_a_sqlite_store_that_does_not_exist(repo: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    result = CliRunner().invoke(
        cli, ["report", "--store", f"sqlite:///{missing}", "--bot", str(repo / "flows")]
    )
    assert result.exit_code == 1
    assert result.output == (
        f"error: there is no SQLite store at '{missing}'; a command that only reads a store "
        "never creates one: check the path\n"
    )
    assert not missing.exists()


def test_report_refuses_a_sqlite_file_that_is_not_a_botkit_store(
    repo: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    result = CliRunner().invoke(
        cli, ["report", "--store", f"sqlite:///{empty}", "--bot", str(repo / "flows")]
    )
    assert result.exit_code == 1
    assert "is not a botkit store" in result.output
    assert empty.read_bytes() == b""


def _cafe(tmp_path: Path) -> Path:
    folder = tmp_path / "cafe"
    shutil.copytree(Path(__file__).parents[1] / "simulator" / "cafe", folder)
    return folder


def test_test_replays_a_recording_kept_outside_the_bot_folder_with_bot(tmp_path: Path) -> None:
    cafe = _cafe(tmp_path)
    outside = tmp_path / "elsewhere" / "new.test.yaml"
    outside.parent.mkdir()
    outside.write_text((cafe / "tests" / "cafe.test.yaml").read_text("utf-8"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["test", str(outside), "--bot", str(cafe)])
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("5 passed, 0 failed")


def test_test_without_a_bot_says_to_name_it_with_bot(tmp_path: Path) -> None:
    _cafe(tmp_path)
    outside = tmp_path / "elsewhere" / "new.test.yaml"
    outside.parent.mkdir()
    outside.write_text("conversations:\n  - steps:\n      - user: 안녕\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["test", str(outside)])
    assert result.exit_code == 2
    assert "name the bot with --bot PATH" in result.output


def test_test_bot_must_be_a_bot_folder(tmp_path: Path) -> None:
    cafe = _cafe(tmp_path)
    result = CliRunner().invoke(cli, ["test", str(cafe), "--bot", str(tmp_path)])
    assert result.exit_code == 2
    assert f"no bot.yaml in {tmp_path}" in result.output
