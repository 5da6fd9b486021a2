"""`botkit shell`: the real program in a pseudo-terminal, then its commands, previews and
recording driven directly (no terminal), on the reference bot in flows/."""

from __future__ import annotations

import asyncio
import io
import re
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pexpect
import pytest
from rich.console import Console

import botkit
from botkit.adapters.kakao import codec
from botkit.effects import Choice, Say
from botkit.simulator.console_render import Screen
from botkit.simulator.fixtures import SteppedClock, stubs_for
from botkit.simulator.recording import Recorder, read_fixtures
from botkit.simulator.runner import run_file
from botkit.simulator.shell import Shell, ShellOptions, run_shell
from botkit.simulator.testfile import Fixtures, load_test_file
from botkit.storage import MemoryStore
from tests.simulator.terminal import ANSI, run_piped, shown, spawn_botkit

REPO = Path(__file__).resolve().parents[2]
FLOWS = REPO / "flows"

FIXTURES = """\
fixtures:
  actions:
    lookup_order:
      data:
        status: 배송중
        delivery: {eta: "2026-11-27", courier: CJ대한통운}
"""


@pytest.fixture
def fixture_file(tmp_path: Path) -> Path:
    path = tmp_path / "order.test.yaml"
    path.write_text(FIXTURES, "utf-8")
    return path


# --- acceptance: the real program in a pseudo-terminal ---------------------------------------


def test_shell_in_a_terminal_numbers_quick_replies_and_fills_the_order_slot(
    tmp_path: Path, fixture_file: Path
) -> None:
    command = ["shell", "flows/", "--store", "memory://", "--fixtures", str(fixture_file)]
    child = spawn_botkit(command, home=tmp_path)
    try:
        child.expect(shown("1. 배송 조회"))  # the greeting's quick replies, numbered
        child.expect(shown("> "))
        child.send("1\r")
        child.expect(shown("주문번호 10자리를 알려 주세요"))
        child.expect(shown("> "))
        child.send("1234-567-890\r")
        child.expect(shown("'배송중' 상태예요"))
        child.expect(shown("> "))
        child.send("/slots\r")
        child.expect(shown("order_no") + r"\s+" + ANSI + shown("1234567890"))
        child.expect(shown("> "))
        child.send("/quit\r")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    assert "Traceback" not in (child.before or "")
    assert (tmp_path / "cache" / "botkit" / "shell_history").read_text("utf-8").count("+") >= 4


# --- the shell, driven directly ----------------------------------------------------------------


@dataclass
class Typist:
    """Types lines into a shell and returns what appeared since the last call."""

    shell: Shell
    output: io.StringIO
    read_up_to: int = 0

    async def type(self, *lines: str) -> str:
        for line in lines:
            assert await self.shell.enter(line)
        return self.fresh()

    def fresh(self) -> str:
        text = self.output.getvalue()[self.read_up_to :]
        self.read_up_to += len(text)
        return text


MakeShell = Callable[..., Awaitable[Typist]]


@pytest.fixture
async def make_shell(tmp_path: Path, fixture_file: Path) -> AsyncIterator[MakeShell]:
    app = botkit.load(FLOWS)
    fixtures = read_fixtures(fixture_file, app)
    closing: list[Callable[[], Awaitable[None]]] = []

    async def make(
        channel: str = "console", *, record: Path | None = None, debug: bool = False
    ) -> Typist:
        store = MemoryStore()
        await store.open()
        clock = SteppedClock(Fixtures().start_time("Asia/Seoul"))
        runtime = app.runtime(store, clock=clock, stubs=stubs_for(fixtures.fixtures.actions))
        closing.extend([runtime.aclose, store.close])
        output = io.StringIO()
        screen = Screen(Console(file=output, width=100, color_system=None), plain=True)
        recorder = None
        if record is not None:
            shared = {"user": "tester", "channel": channel, **fixtures.raw}
            recorder = Recorder(record, shared, {})
        shell = Shell(
            app,
            runtime,
            screen,
            channel=channel,
            fixtures=fixtures.fixtures,
            clock=clock,
            recorder=recorder,
            debug=debug,
        )
        await shell.open()
        return Typist(shell, output)

    yield make
    for close in closing:
        await close()


def one_problem(output: str) -> str:
    """The output is exactly one explanation: one line, marked, no traceback."""
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("✗ ")
    assert "Traceback" not in output
    return lines[0]


@pytest.mark.parametrize(
    ("line", "explanation"),
    [
        ("/frobnicate", "unknown command '/frobnicate' (type /help for the list)"),
        ("/slot", "unknown command '/slot'; did you mean /slots?"),
        ("/goto", "/goto needs a state: /goto flow.state"),
        ("/goto nowhere", "there is no state 'nowhere' (write it as flow.state)"),
        ("/goto order_status.ask_ordr", "did you mean 'order_status.ask_order'?"),
        ("/agent say 안녕하세요", "the conversation is not handed off to an agent"),
        ("/agent release", "not handed off to an agent (reach one first, e.g. /goto support"),
        ("/agent close", "the conversation is not handed off to an agent"),
        ("/agent say", "/agent say needs the text to send"),
        ("/agent dance", "/agent takes say TEXT, release [STATE] or close"),
        ("/profile tier", "/profile takes key=value pairs, e.g. /profile tier=gold"),
        ("/profile", "/profile takes key=value pairs"),
        ('/profile name="김민지', "/profile: No closing quotation"),
        ("/variant", "/variant needs one variant name, e.g. /variant B"),
        ("/variant Z", "no experiment has a variant 'Z' (variants: A, B, C)"),
        ("/save", "/save needs a file name: /save transcript.txt"),
        ("/save /no/such/folder/t.txt", "cannot write /no/such/folder/t.txt"),
    ],
)
async def test_command_misuse_is_explained_in_one_line(
    make_shell: MakeShell, line: str, explanation: str
) -> None:
    typist = await make_shell()
    typist.fresh()
    assert explanation in one_problem(await typist.type(line))
    assert "반가워요" not in await typist.type("/state")  # nothing was sent to the bot


async def test_a_choice_is_pressed_by_number_or_by_its_label(make_shell: MakeShell) -> None:
    typist = await make_shell()
    assert "1. 배송 조회   2. 환불" in typist.fresh()
    assert "주문번호 10자리를 알려 주세요" in await typist.type("1")
    assert "state         order_status.ask_order" in await typist.type("/state")
    await typist.type("취소")  # the label of choice 2, typed in full
    assert "main.start" in await typist.type("/state")


async def test_slots_show_the_normalized_order_number(make_shell: MakeShell) -> None:
    typist = await make_shell()
    shown = await typist.type("1", "1234-567-890")
    assert "주문 1234567890은(는) 지금 '배송중' 상태예요." in shown
    assert "╭─ CJ대한통운 · 도착 예정 2026-11-27" in shown  # the card, drawn as a box
    assert re.search(r"order_no\s+1234567890", await typist.type("/slots"))


async def test_reset_starts_a_new_conversation_with_the_greeting(make_shell: MakeShell) -> None:
    typist = await make_shell()
    await typist.type("1", "1234-567-890")
    shown = await typist.type("/reset")
    assert "대화를 처음부터 다시 시작해요" in shown
    assert "반가워요! 주문, 배송, 환불 무엇이든 물어보세요." in shown
    assert "(no slots filled)" in await typist.type("/slots")
    assert "conversation  2, turn 1" in await typist.type("/state")


async def test_variant_and_profile_change_the_session(make_shell: MakeShell) -> None:
    typist = await make_shell()
    assert "variant B of greeting_title, refund_copy" in await typist.type("/variant B")
    assert "profile: tier=gold, age=31, 이름=김민지" in await typist.type(
        "/profile tier=gold age=31 이름=김민지"
    )
    state = await typist.type("/state")
    assert "greeting_title:B" in state
    assert "tier=gold, age=31, 이름=김민지" in state
    session = await typist.shell.runtime.session("console", "tester")
    assert session is not None
    assert session.profile == {"tier": "gold", "age": 31, "이름": "김민지"}
    assert "안녕하세요! 쇼핑몰 도우미예요." in await typist.type("/reset")  # B's greeting


async def test_playing_the_agent_during_a_handoff(make_shell: MakeShell) -> None:
    typist = await make_shell()
    assert "상담원 연결 요청 (queue cs)" in await typist.type("상담원")
    assert "상담원을 기다리고 있어요." in await typist.type("언제 연결되나요?")  # while_waiting
    assert "상담원 안녕하세요, 상담원 김민지입니다." in await typist.type(
        "/agent say 안녕하세요, 상담원 김민지입니다."
    )
    released = await typist.type("/agent release")
    assert "상담원이 봇에게 넘김: main.start" in released
    assert "1. 배송 조회" in released


async def test_debug_lists_the_states_a_turn_passed_through(make_shell: MakeShell) -> None:
    typist = await make_shell(debug=True)
    shown = await typist.type("1", "1234-567-890")
    path = "order_status.ask_order →[next]→ order_status.lookup →[result: ok]→"
    assert path in re.sub(r"\s*│\s*", " ", shown)
    assert "order_no=1234567890" in shown
    assert "action action=lookup_order, result=ok" in shown
    assert "(debug off)" in await typist.type("/debug")
    assert "debug" not in await typist.type("처음으로")


async def test_kakao_preview_shows_the_greeting_as_kakaotalk_does(make_shell: MakeShell) -> None:
    typist = await make_shell("kakao")
    await typist.type("/variant A")
    shown = await typist.type("/reset")
    assert "KakaoTalk\n│ 안녕하세요! 쇼핑몰 도우미예요. 무엇을 도와드릴까요?" in shown
    assert "( 배송 조회 ) ( 환불 ) ( 이벤트 ) ( 자주 묻는 질문 ) ( 상담원 연결 )" in shown
    assert "주문번호 10자리" in await typist.type("1")  # numbers still press quick replies


def test_kakao_preview_lists_what_kakao_limits_changed(tmp_path: Path) -> None:
    (tmp_path / "bot.yaml").write_text("bot: limits\ntitle: 한도 시험\nstart: main\n", "utf-8")
    (tmp_path / "main.yaml").write_text(
        textwrap.dedent(
            """\
            flow: main
            start: start
            states:
              start:
                say:
                  text: "무엇을 도와드릴까요?"
                  quick_replies:
                    - label: 배송 조회와 환불과 교환을 한 번에 하기
                      payload: all
                on:
                  - payload: all
                    to: done
              done:
                say: "끝났어요."
                end: resolved
            """
        ),
        "utf-8",
    )
    output = " ".join(_run_piped(["--channel", "kakao", str(tmp_path)], "1\n").split())
    # What the Kakao codec makes of the greeting is shown as it is, with its adjustments.
    label = "배송 조회와 환불과 교환을 한 번에 하기"
    kakao = codec.render([Say(text="무엇을 도와드릴까요?", choices=(Choice(label, "all"),))])
    assert kakao.adjustments
    assert " ".join(" ".join(codec.preview(kakao)).split()) in output
    for adjustment in kakao.adjustments:
        assert f"⚠ {adjustment}" in output
    assert f"사용자: [{label}]" in output  # its number pressed it, whole label and all
    assert "│ 끝났어요." in output


async def test_web_preview_draws_bubbles_buttons_and_cards(make_shell: MakeShell) -> None:
    typist = await make_shell("web")
    greeting = typist.fresh()
    assert "│ 반가워요! 주문, 배송, 환불 무엇이든 물어보세요. │" in greeting
    assert "1( 배송 조회 )  2( 환불 )" in greeting
    card = await typist.type("/goto order_status.where_is_order_no")
    assert "╭─ 주문번호는 여기에 있어요" in card
    assert "[이미지] 주문 내역 화면에서 주문번호 위치" in card
    assert "[주문 내역 열기] ↗ https://shop.example.com/my/orders" in card


async def test_save_writes_the_transcript_as_plain_text(
    make_shell: MakeShell, tmp_path: Path
) -> None:
    typist = await make_shell()
    await typist.type("1", "/slots", "1234-567-890")
    target = tmp_path / "대화.txt"
    assert "saved the transcript" in await typist.type(f"/save {target}")
    transcript = target.read_text("utf-8")
    assert transcript.splitlines()[:4] == [
        "봇 반가워요! 주문, 배송, 환불 무엇이든 물어보세요.",
        "   1. 배송 조회   2. 환불",
        "사용자: [배송 조회]",
        "봇 주문번호 10자리를 알려 주세요. (예: 1234-567-890)",
    ]
    assert "사용자: 1234-567-890" in transcript
    assert "order_no" not in transcript  # commands' views are not part of the conversation
    assert "\x1b" not in transcript


# --- recording ---------------------------------------------------------------------------------


def _run_piped(arguments: list[str], lines: str) -> str:
    """Run the program as a script would (input from a pipe) and return what it printed."""
    *flags, path = arguments
    return run_piped(_options(Path(path), flags), lines)


def _options(path: Path, flags: list[str]) -> ShellOptions:
    values = dict(zip(flags[::2], flags[1::2], strict=True))
    return ShellOptions(
        path,
        channel=values.get("--channel"),
        record=Path(values["--record"]) if "--record" in values else None,
        fixtures=Path(values["--fixtures"]) if "--fixtures" in values else None,
        store=values.get("--store"),
    )


TYPED = [
    "1",
    "1234-567-890",
    "처음으로",
    "/slots",
    "/goto refund.start",
    "/reset",
    "상담원",
    "/agent say 안녕하세요, 상담원입니다.",
    "/agent release order_status.ask_order",
    "/quit",
]


def test_record_saves_a_test_that_loads_and_replays_green(
    tmp_path: Path, fixture_file: Path
) -> None:
    recording = tmp_path / "recorded.test.yaml"
    flags = ["--record", str(recording), "--fixtures", str(fixture_file), str(FLOWS)]
    printed = _run_piped(flags, "\n".join(TYPED) + "\n")
    assert "recorded 9 step(s)" in printed

    app = botkit.load(FLOWS)
    test = load_test_file(recording, app.bot)
    assert test.problems == []
    first, second = test.conversations
    assert [(s.kind, s.value) for s in first.steps] == [
        ("user", ""),  # the shell opens the conversation, so the bot greets first
        ("choose", "배송 조회"),
        ("user", "1234-567-890"),
        ("choose", "처음으로"),  # typed in full, the label of a quick reply presses it
        ("goto", "refund.start"),
    ]
    assert [(s.kind, s.value) for s in second.steps] == [
        ("user", ""),
        ("user", "상담원"),
        ("agent", {"say": "안녕하세요, 상담원입니다."}),
        ("agent", {"release": "order_status.ask_order"}),
    ]
    assert first.steps[2].expect.state == "order_status.in_transit"
    assert first.fixtures.actions["lookup_order"].data["status"] == "배송중"
    results = asyncio.run(run_file(app, test))
    assert [r.failure for r in results] == [None, None]


def test_a_variant_chosen_before_reset_is_recorded_as_a_fixture(
    tmp_path: Path, fixture_file: Path
) -> None:
    recording = tmp_path / "variant.test.yaml"
    flags = ["--record", str(recording), "--fixtures", str(fixture_file), str(FLOWS)]
    _run_piped(flags, "/variant B\n/profile tier=gold\n/reset\n환불\n")

    app = botkit.load(FLOWS)
    test = load_test_file(recording, app.bot)
    (only,) = test.conversations  # the greeting said before /variant is left out
    assert only.fixtures.variant == "B"
    assert only.fixtures.profile == {"tier": "gold"}
    assert [(s.kind, s.value) for s in only.steps] == [("user", ""), ("choose", "환불")]
    assert only.steps[0].expect.bot == "안녕하세요! 쇼핑몰 도우미예요. 무엇을 도와드릴까요?"
    assert [r.failure for r in asyncio.run(run_file(app, test))] == [None]


def test_piped_output_is_plain_text(fixture_file: Path) -> None:
    printed = _run_piped(["--fixtures", str(fixture_file), str(FLOWS)], "1\n/help\n")
    assert "\x1b" not in printed
    assert "사용자: [배송 조회]" in printed  # piped input is echoed as the transcript shows it
    assert "/agent release [STATE]" in printed
    assert not any(line != line.rstrip() for line in printed.splitlines())


def test_flow_errors_are_printed_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bot.yaml").write_text("bot: broken\nstart: main\n", "utf-8")
    (tmp_path / "main.yaml").write_text("flow: main\nstart: nowhere\nstates: {}\n", "utf-8")
    assert run_shell(ShellOptions(tmp_path), interactive=False) == 1
    err = capsys.readouterr().err
    assert "error[" in err
    assert "Traceback" not in err


def test_fixtures_naming_an_unknown_action_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.test.yaml"
    bad.write_text("fixtures:\n  actions:\n    lookup_ordr: {result: ok}\n", "utf-8")
    assert run_shell(ShellOptions(FLOWS, fixtures=bad), interactive=False) == 1
    err = capsys.readouterr().err
    assert "bad.test.yaml:3:5: error[BK602]: the bot declares no action 'lookup_ordr'" in err


def test_an_unknown_flow_or_store_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_shell(ShellOptions(FLOWS, flow="nope"), interactive=False) == 2
    assert run_shell(ShellOptions(FLOWS, store="bogus://"), interactive=False) == 2
    err = capsys.readouterr().err
    assert "--flow: no flow 'nope'; the flows are: faq, main, order_status" in err
    assert "--store: unsupported store URL 'bogus://'" in err
