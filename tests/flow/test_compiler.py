"""Compiling flows: versions, immutability, references across files, one pass for all problems."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from botkit.flow import CompileResult, StateKind, compile_bot, compiler, flow_files

ORDER = """
flow: order
start: ask
slots:
  order_no:
    type: order_number
    prompt: "주문번호를 알려 주세요."
states:
  ask:
    collect: order_no
    next: done
  done:
    say: "주문 {{order_no}} 확인했어요."
    end: resolved
"""

Compile = Callable[..., CompileResult]


def test_flow_version_is_a_content_hash(compile_flow: Compile) -> None:
    first = compile_flow(ORDER).bot
    commented = compile_flow(
        "# 설명 주석\n" + ORDER.replace("next: done", "next: done  # 다음")
    ).bot
    changed = compile_flow(ORDER.replace("확인했어요", "확인했습니다")).bot
    assert first is not None
    assert commented is not None
    assert changed is not None
    assert first.flows["order"].version == commented.flows["order"].version
    assert first.flows["order"].version != changed.flows["order"].version
    assert len(first.flows["order"].version) == 16


def test_compiled_bot_is_immutable(compile_flow: Compile) -> None:
    bot = compile_flow(ORDER).bot
    assert bot is not None
    state = bot.flows["order"].states["ask"]
    assert state.kind is StateKind.COLLECT
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.id = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        bot.flows["order"].states["new"] = state  # type: ignore[index]


def test_all_problems_are_reported_in_one_pass_sorted(compile_flow: Compile) -> None:
    text = ORDER.replace("next: done", "next: dne").replace("{{order_no}}", "{{ordr_no}}")
    text = text.replace("collect: order_no", "collect: ordr_no")
    result = compile_flow(text)
    assert [(p.code, p.line) for p in result.problems] == [
        ("BK302", 9),
        ("BK301", 10),
        ("BK309", 12),
    ]
    assert result.bot is None


def test_targets_in_another_flow_name_the_flow(compile_flow: Compile) -> None:
    menu = """
    flow: menu
    start: start
    states:
      start:
        say:
          text: "무엇을 도와드릴까요?"
          quick_replies:
            - label: 주문 확인
              to: order.ask
            - label: 없는 흐름
              to: refnd.start
    """
    result = compile_flow(menu, ORDER)
    assert [(p.code, p.message) for p in result.problems] == [
        ("BK305", "'refnd.start' names flow 'refnd', which is not part of this bot")
    ]


def test_ids_are_bot_wide_and_declared_once(compile_flow: Compile) -> None:
    other = ORDER.replace("flow: order", "flow: order2")
    result = compile_flow(ORDER, other)
    assert [p.code for p in result.problems] == ["BK308"]
    assert "slot 'order_no' is declared twice" in result.problems[0].message


def test_a_broken_file_does_not_make_references_to_it_look_broken(compile_flow: Compile) -> None:
    broken = ORDER.replace("type: order_number", "type: order_numbr")
    menu = """
    flow: menu
    start: start
    states:
      start:
        say: "주문 확인으로 갈게요."
        next: order.ask
    """
    result = compile_flow(menu, broken)
    assert [p.code for p in result.problems] == ["BK205"]


def test_bot_settings_targets_must_name_their_flow(compile_flow: Compile) -> None:
    bot = """
    bot: shop
    start: order
    global:
      - keywords: [처음으로]
        to: ask
    """
    result = compile_flow(bot, ORDER)
    assert [p.code for p in result.problems] == ["BK301"]
    assert "must name its flow" in result.problems[0].message


def test_reference_bot_compiles_to_one_shared_model(repo: Path) -> None:
    result = compile_bot(flow_files(repo / "flows"))
    bot = result.bot
    assert bot is not None
    assert bot.start_target == ("main", "start")
    assert bot.locales == ("ko", "en")
    lookup = bot.actions["lookup_order"]
    assert lookup.deadline == 2.0
    assert lookup.on_status == {404: "not_found"}
    assert lookup.save["eta"] == ("delivery", "eta")
    assert bot.experiments["refund_copy"].variants == (("A", 50.0), ("B", 50.0))
    assert bot.hours["cs_team"].days[0] == ((540, 1080),)
    assert bot.hours["cs_team"].days[6] == ()
    assert bot.slots["order_no"].reprompts[1].text is not None


def _flow_of_size(path: Path, flow: str, size: int) -> None:
    state = '  hello:\n    say: "안녕하세요!"\n    end: resolved\n'
    text = f"flow: {flow}\nstart: hello\nstates:\n{state}"
    path.write_text(text + "#" * (size - len(text.encode())) + "\n", encoding="utf-8")


def test_a_bot_folder_over_the_cap_is_refused_before_any_file_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "shop_bot"
    folder.mkdir()
    for n, size in enumerate([900, 1200, 1000]):
        _flow_of_size(folder / f"part{n}.yaml", f"part{n}", size)
    monkeypatch.setattr(compiler, "MAX_BOT_BYTES", 3000)

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("a file was read")

    monkeypatch.setattr("botkit.flow._yaml.read_file", never)
    result = compile_bot(flow_files(folder), display_root=tmp_path)
    assert [(p.code, p.path, p.line) for p in result.problems] == [
        ("BK111", "shop_bot/part1.yaml", 1)  # the largest file
    ]
    problem = result.problems[0]
    assert problem.message == (
        "the bot folder shop_bot holds 3 KiB of flow files; a bot may be at most 3 KiB in all, "
        "so none of them was read"
    )
    assert problem.found == "3 files; the largest is part1.yaml (1 KiB)"
    assert result.bot is None


def test_a_file_over_its_own_cap_does_not_count_towards_the_bots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _flow_of_size(tmp_path / "huge.yaml", "huge", 1024 * 1024 + 1)  # BK105: never read
    _flow_of_size(tmp_path / "main.yaml", "main", 1000)
    monkeypatch.setattr(compiler, "MAX_BOT_BYTES", 3000)
    result = compile_bot(flow_files(tmp_path), display_root=tmp_path)
    assert [(p.code, p.path) for p in result.problems] == [("BK105", "huge.yaml")]


CAFE = Path(__file__).parents[1] / "simulator" / "cafe"


def test_a_test_file_next_to_bot_yaml_is_not_read_as_a_flow(tmp_path: Path) -> None:
    folder = tmp_path / "cafe"
    shutil.copytree(CAFE, folder)
    shutil.copy(folder / "tests" / "cafe.test.yaml", folder / "cafe.test.yaml")
    assert folder / "cafe.test.yaml" not in flow_files(folder)
    result = compile_bot(flow_files(folder), display_root=tmp_path)
    assert result.problems == [], [p.message for p in result.problems]


def test_a_conversation_test_under_a_flow_name_gets_one_problem_that_says_so() -> None:
    bot = "bot: cafe\nstart: order\n"
    flow = "flow: order\nstart: hi\nstates:\n  hi:\n    say: 안녕\n    end: resolved\n"
    test = (
        "fixtures:\n  user: u1\nconversations:\n  - name: 인사\n    steps:\n      - user: 안녕\n"
    )
    result = compiler.compile_texts([("bot.yaml", bot), ("order.yaml", flow), ("mine.yaml", test)])
    shown = [(p.code, p.line, p.column, p.message, p.hint) for p in result.problems]
    assert shown == [
        (
            "BK201",
            3,
            1,
            "this is a conversation test file, not a flow file",
            "name it <name>.test.yaml and put it in the bot's tests/ folder; "
            "'botkit test' runs it",
        )
    ]
