"""`botkit customers import`: a shop loads its CRM's customer list into the bot's store.

A thousand customers with three bad lines: 997 are loaded, the three are named by line and
why, and importing the same file again changes nothing. CSV and JSON lines, on SQLite (and on
PostgreSQL when the tests have one). No profile value ever reaches a log line."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from botkit.audience import Audience, Consent, ConsentChange, Customer
from botkit.cli import customers as customers_command
from botkit.cli.main import cli
from botkit.storage import open_store
from tests.postgres import POSTGRES_MARKS, postgres_url

BOT = """\
bot: shop
start: main
profile:
  grade: { type: enum, values: [VIP, GOLD, SILVER], title: 등급 }
  age: { type: number }
  gender: { type: enum, values: [F, M] }
  region: { type: text }
  joined: { type: date }
  interests: { type: list }
  is_member: { type: boolean }
  phone: { type: text, sensitive: true }
"""

FLOW = """\
flow: main
start: hello
states:
  hello:
    say: "{{ profile.region }} 고객님, 안녕하세요!"
    end: resolved
"""

REGIONS = ["서울", "경기", "부산", "대구", "제주"]
BAD_CSV = {  # line → (what is wrong with it, what the report says)
    101: ("age", "서른하나", "attribute 'age': expected a number, found text"),
    502: ("grade", "BRONZE", "attribute 'grade': expected one of 'VIP', 'GOLD', 'SILVER'"),
    903: ("id", "", "the customer id is empty"),
}
IMPORTED_AT = 1772600000.0  # 2026-03-04 13:53:20 in Seoul: when the tests import


@pytest.fixture(autouse=True)
def import_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """The instant the next import happens at (IMPORTED_AT unless a test moves it)."""

    def set_to(at: float) -> None:
        monkeypatch.setattr(customers_command, "clock", lambda: at)

    set_to(IMPORTED_AT)
    return set_to


@pytest.fixture
def bot(tmp_path: Path) -> Path:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "bot.yaml").write_text(BOT, encoding="utf-8")
    (folder / "main.yaml").write_text(FLOW, encoding="utf-8")
    return folder


@pytest.fixture(
    params=[pytest.param("sqlite", id="sqlite"), pytest.param("postgres", marks=POSTGRES_MARKS)]
)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'botkit.db'}"
    return postgres_url(request.getfixturevalue("postgres_schema"))


def _customer(i: int) -> dict[str, Any]:
    """Customer ``i`` of the synthetic CRM (1-based), as its profile should be stored."""
    return {
        "grade": ("VIP", "GOLD", "SILVER")[i % 3],
        "age": 20 + i % 50,
        "gender": "FM"[i % 2],
        "region": REGIONS[i % len(REGIONS)],
        "joined": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}",
        "interests": ["패딩", "운동화"] if i % 4 == 0 else ["가방"],
        "is_member": i % 5 != 0,
        "phone": f"010-{1000 + i:04d}-{5000 + i:04d}",
    }


def _csv_cell(value: Any) -> str:
    if isinstance(value, list):
        return ";".join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _csv(n: int = 1000) -> str:
    """A header and ``n`` customers; the lines of BAD_CSV (file lines, the header is 1) bad."""
    columns = ["id", *_customer(1)]
    lines = [",".join(columns)]
    for i in range(1, n + 1):
        row = {"id": f"C-{i:04d}", **{k: _csv_cell(v) for k, v in _customer(i).items()}}
        bad = BAD_CSV.get(i + 1)
        if bad is not None:
            row[bad[0]] = bad[1]
        lines.append(",".join(row[c] for c in columns))
    return "\n".join(lines) + "\n"


def _import(path: Path, store_url: str, bot: Path, *more: str) -> Result:
    args = ["customers", "import", str(path), "--store", store_url, "--bot", str(bot), *more]
    return CliRunner().invoke(cli, args)


def _read(store_url: str, *ids: str) -> dict[str, Customer | None]:
    async def read() -> dict[str, Customer | None]:
        store = open_store(store_url)
        await store.open()
        try:
            assert isinstance(store, Audience)
            return {i: await store.customer(i) for i in ids}
        finally:
            await store.close()

    return asyncio.run(read())


def _profiles(store_url: str, *ids: str) -> dict[str, dict[str, Any] | None]:
    """Each customer's stored profile (None: no such customer)."""
    return {i: None if c is None else dict(c.profile) for i, c in _read(store_url, *ids).items()}


def _audience_log(store_url: str) -> list[Any]:
    async def read() -> list[Any]:
        store = open_store(store_url)
        await store.open()
        try:
            assert isinstance(store, Audience)
            return await store.audience_log()
        finally:
            await store.close()

    return asyncio.run(read())


def _refused_lines(output: str) -> dict[int, str]:
    return {int(n): why for n, why in re.findall(r"^\S+?:(\d+): refused: (.*)$", output, re.M)}


# -- acceptance: 3 bad lines among 1,000 ----------------------------------------------------------


def test_a_csv_of_a_thousand_with_three_bad_lines_loads_997_and_names_the_three(
    tmp_path: Path, bot: Path, store_url: str, import_clock: Callable[[float], None]
) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(_csv(), encoding="utf-8")

    first = _import(path, store_url, bot)

    assert first.exit_code == 1, first.output
    refused = _refused_lines(first.stdout)
    assert sorted(refused) == sorted(BAD_CSV)
    for line, (_, _, why) in BAD_CSV.items():
        assert why in refused[line]
    assert first.stdout.splitlines()[-1] == "997 loaded (997 changed) · 3 refused"

    assert _profiles(store_url, "C-0001", "C-0100", "C-0501", "C-0902", "C-1000") == {
        "C-0001": _customer(1),
        "C-0100": None,  # line 101: its age was words
        "C-0501": None,  # line 502: a grade the profile does not have
        "C-0902": None,  # line 903: no id at all
        "C-1000": _customer(1000),
    }
    stored = _read(store_url, "C-0001", "C-1000")

    import_clock(IMPORTED_AT + 86_400)  # the next day, the same file again
    second = _import(path, store_url, bot)

    assert second.exit_code == 1
    assert _refused_lines(second.stdout) == refused
    assert second.stdout.splitlines()[-1] == "997 loaded (0 changed) · 3 refused"
    again = _read(store_url, "C-0001", "C-1000")
    assert again == stored  # updated_at too: nothing was written the second time
    assert again["C-0001"] is not None
    assert again["C-0001"].updated_at == IMPORTED_AT


def test_json_lines_of_a_thousand_with_three_bad_lines_load_997_and_name_the_three(
    tmp_path: Path, bot: Path, store_url: str
) -> None:
    lines = []
    for i in range(1, 1001):
        if i % 2:
            lines.append(json.dumps({"id": f"C-{i:04d}", "profile": _customer(i)}))
        else:  # the attributes beside the id work too
            lines.append(json.dumps({"id": f"C-{i:04d}", **_customer(i)}, ensure_ascii=False))
    lines[9] = json.dumps({"id": "C-0010", "profile": {**_customer(10), "grde": "VIP"}})
    lines[499] = '{"id": "C-0500", "profile": {"grade": "VIP"'  # cut off
    lines[799] = json.dumps({"id": "C-0800", **_customer(800), "joined": "2025-02-30"})
    path = tmp_path / "customers.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    first = _import(path, store_url, bot)

    assert first.exit_code == 1, first.output
    refused = _refused_lines(first.stdout)
    assert sorted(refused) == [10, 500, 800]
    assert "attribute 'grde': is not an attribute of the profile" in refused[10]
    assert "did you mean 'grade'?" in refused[10]
    assert refused[500] == "not a JSON object (JSON lines: one object per line)"
    assert refused[800].startswith("attribute 'joined'")
    assert "not in the calendar" in refused[800]
    assert first.stdout.splitlines()[-1] == "997 loaded (997 changed) · 3 refused"
    assert _profiles(store_url, "C-0001", "C-0002", "C-0010") == {
        "C-0001": _customer(1),
        "C-0002": _customer(2),
        "C-0010": None,
    }

    second = _import(path, store_url, bot)

    assert second.stdout.splitlines()[-1] == "997 loaded (0 changed) · 3 refused"


# -- the file's lines -----------------------------------------------------------------------------


def test_a_file_with_every_line_right_exits_0(tmp_path: Path, bot: Path, store_url: str) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(_csv(5).replace("서른하나", "31"), encoding="utf-8")

    result = _import(path, store_url, bot)

    assert result.exit_code == 0, result.output
    assert result.stdout == "5 loaded (5 changed) · none refused\n"


def test_an_edited_line_changes_that_customer_only(
    tmp_path: Path, bot: Path, store_url: str
) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(_csv(5), encoding="utf-8")
    _import(path, store_url, bot)

    assert "C-0002,SILVER," in _csv(5)
    path.write_text(_csv(5).replace("C-0002,SILVER,", "C-0002,VIP,"), encoding="utf-8")
    result = _import(path, store_url, bot)

    assert result.stdout == "5 loaded (1 changed) · none refused\n"
    assert _profiles(store_url, "C-0002") == {"C-0002": {**_customer(2), "grade": "VIP"}}


def test_csv_cells_are_read_as_their_attribute_s_type(
    tmp_path: Path, bot: Path, store_url: str
) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(
        "id,grade,age,interests,is_member,region,joined\n"
        'C-1,VIP,31.5," 패딩 ; 운동화 ;",true,,2026-11-03\n'
        'C-2,GOLD,,,FALSE,"서울, 강남구",\n',
        encoding="utf-8",
    )

    result = _import(path, store_url, bot)

    assert result.exit_code == 0, result.output
    assert _profiles(store_url, "C-1", "C-2") == {
        "C-1": {
            "grade": "VIP",
            "age": 31.5,
            "interests": ["패딩", "운동화"],
            "is_member": True,
            "joined": "2026-11-03",  # an empty cell (region) is no value
        },
        "C-2": {"grade": "GOLD", "is_member": False, "region": "서울, 강남구"},
    }


def test_a_customer_on_two_lines_is_loaded_from_the_first_and_the_second_refused(
    tmp_path: Path, bot: Path, store_url: str
) -> None:
    path = tmp_path / "customers.csv"
    path.write_text("id,grade\nC-1,VIP\nC-2,GOLD\nC-1,SILVER\n", encoding="utf-8")

    result = _import(path, store_url, bot)

    assert _refused_lines(result.stdout) == {4: "the same customer id as line 2"}
    assert _profiles(store_url, "C-1") == {"C-1": {"grade": "VIP"}}
    assert _import(path, store_url, bot).stdout.endswith("2 loaded (0 changed) · 1 refused\n")


def test_a_quoted_cell_over_two_lines_keeps_the_line_numbers_of_the_file(
    tmp_path: Path, bot: Path, store_url: str
) -> None:
    path = tmp_path / "customers.csv"
    path.write_text('id,region,age\nC-1,"서울\n강남구",30\nC-2,부산,마흔\n', encoding="utf-8")

    result = _import(path, store_url, bot)

    assert list(_refused_lines(result.stdout)) == [4]


def test_a_line_with_too_few_cells_is_refused(tmp_path: Path, bot: Path, store_url: str) -> None:
    path = tmp_path / "customers.csv"
    path.write_text("id,grade,age\nC-1,VIP\n", encoding="utf-8")

    result = _import(path, store_url, bot)

    assert _refused_lines(result.stdout) == {2: "2 cells where the header has 3"}


def test_a_refusal_never_shows_a_sensitive_value(
    tmp_path: Path, bot: Path, store_url: str
) -> None:
    path = tmp_path / "customers.jsonl"
    path.write_text('{"id": "C-1", "phone": 1055512345, "gender": "X"}\n', encoding="utf-8")

    result = _import(path, store_url, bot)

    assert _refused_lines(result.stdout) == {
        1: "attribute 'phone': expected text, found a number; "
        "attribute 'gender': expected one of 'F', 'M', found another text"
    }
    assert "1055512345" not in result.output


def test_a_cell_too_long_for_csv_is_refused_by_its_line_and_the_rest_loaded(
    tmp_path: Path, bot: Path, store_url: str
) -> None:
    path = tmp_path / "customers.csv"
    address = "서울특별시 강남구 " * 15_000  # a CRM's notes column pasted into the region
    path.write_text(
        f'id,region\nC-1,부산\nC-2,{address}\nC-3,"{address}"\nC-4,제주\n', encoding="utf-8"
    )

    result = _import(path, store_url, bot)

    assert result.exit_code == 1, result.output
    assert _refused_lines(result.stdout) == {
        3: "a cell longer than 131,072 characters",
        4: "a cell longer than 131,072 characters",
    }
    assert result.stdout.endswith("2 loaded (2 changed) · 2 refused\n")
    assert _profiles(store_url, "C-1", "C-2", "C-4") == {
        "C-1": {"region": "부산"},
        "C-2": None,
        "C-4": {"region": "제주"},
    }


def test_a_whole_number_of_more_than_18_digits_is_refused_by_its_line(
    tmp_path: Path, bot: Path, store_url: str
) -> None:
    huge = "7" * 5_000  # more digits than Python reads into a number
    csv_path = tmp_path / "customers.csv"
    csv_path.write_text(
        f"id,age\nC-1,{huge}\nC-2,1234567890123456789\nC-3,000123456789012345678\n",
        encoding="utf-8",
    )
    lines = [
        f'{{"id": "C-4", "age": {huge}}}',
        '{"id": "C-5", "age": 12345678901234567890123}',
        '{"id": "C-6", "interests": ["패딩", 99999999999999999999]}',
        '{"id": "C-7", "age": 41}',
    ]
    jsonl_path = tmp_path / "customers.jsonl"
    jsonl_path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    from_csv = _import(csv_path, store_url, bot)
    from_jsonl = _import(jsonl_path, store_url, bot)

    too_long = "a whole number of more than 18 digits"
    assert _refused_lines(from_csv.stdout) == {
        2: f"attribute 'age': {too_long}",
        3: f"attribute 'age': {too_long}",  # 19 digits
    }
    assert _refused_lines(from_jsonl.stdout) == {
        1: too_long,
        2: f"attribute 'age': {too_long}",
        3: f"attribute 'interests': {too_long}",
    }
    assert _profiles(store_url, "C-3", "C-7") == {
        "C-3": {"age": 123456789012345678},  # 18 digits, leading zeros aside
        "C-7": {"age": 41},
    }
    assert "77777" not in from_csv.output + from_jsonl.output


def test_json_lines_end_at_line_feeds_only(tmp_path: Path, bot: Path, store_url: str) -> None:
    lines = [
        '{"id": "C-1", "region": "서울\u2028강남구"}',  # a line separator, unescaped in a string
        '{"id": "C-2", "region": "부산\x85해운대구"}',  # a next-line character (NEL)
        '{"id": "C-3", "region": "대구\x1c"}',  # a control character JSON must escape
        '{"id": "C-4", "age": "마흔"}',
        '{"id": "C-5", "region": "제주"}',
    ]
    path = tmp_path / "customers.jsonl"
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8", newline="")

    result = _import(path, store_url, bot)

    assert _refused_lines(result.stdout) == {
        3: "not a JSON object (JSON lines: one object per line)",
        4: "attribute 'age': expected a number, found text",
    }
    assert _profiles(store_url, "C-1", "C-2", "C-5") == {
        "C-1": {"region": "서울\u2028강남구"},
        "C-2": {"region": "부산\x85해운대구"},
        "C-5": {"region": "제주"},
    }


# -- consent --------------------------------------------------------------------------------------


def test_consent_columns_record_consent_with_source_import_once(
    tmp_path: Path, bot: Path, store_url: str, import_clock: Callable[[float], None]
) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(
        "id,grade,marketing,marketing_at,night\n"
        "C-1,VIP,true,2026-03-01T09:30:00+09:00,false\n"
        "C-2,GOLD,false,2026-03-02,\n"
        "C-3,SILVER,,,\n",
        encoding="utf-8",
    )

    first = _import(path, store_url, bot)

    assert first.exit_code == 0, first.output
    assert first.stdout == "3 loaded (3 changed, 3 consents changed) · none refused\n"
    consents = {
        i: c.consent if c else None for i, c in _read(store_url, "C-1", "C-2", "C-3").items()
    }
    assert consents == {
        "C-1": Consent(
            marketing=True,
            marketing_at=1772325000.0,  # 2026-03-01 09:30 in Seoul
            marketing_source="import",
            night=False,
            night_at=IMPORTED_AT,  # no time given: when the file was imported
            night_source="import",
        ),
        # a day without a time is its first moment in the bot's time zone (Seoul)
        "C-2": Consent(marketing=False, marketing_at=1772377200.0, marketing_source="import"),
        "C-3": Consent(),
    }
    log = _audience_log(store_url)

    import_clock(IMPORTED_AT + 3600)  # an hour later, the same file again
    second = _import(path, store_url, bot)

    assert second.stdout == "3 loaded (0 changed) · none refused\n"
    assert _audience_log(store_url) == log


def _type_opt_out_words(store_url: str, at: float, *customers: str) -> None:
    """Each customer typed "수신거부" at ``at`` (what botkit.runtime.consent records)."""

    async def write() -> None:
        store = open_store(store_url)
        await store.open()
        try:
            assert isinstance(store, Audience)
            for customer in customers:
                said = ConsentChange(at, "opt_out_words", marketing=False, night=False)
                await store.change_consent(customer, said)
        finally:
            await store.close()

    asyncio.run(write())


def test_a_crm_file_never_turns_back_on_what_the_customer_withdrew(
    tmp_path: Path, bot: Path, store_url: str
) -> None:
    withdrawn = IMPORTED_AT - 3600  # 2026-03-04 12:53:20 in Seoul
    _type_opt_out_words(store_url, withdrawn, "C-1", "C-2", "C-3")
    path = tmp_path / "customers.csv"
    path.write_text(
        "id,grade,marketing,marketing_at,night\n"
        "C-1,VIP,true,,true\n"  # the CRM's flag, undated: stale
        "C-2,GOLD,true,2026-03-04T12:00:00+09:00,\n"  # agreed before typing 수신거부
        "C-3,SILVER,true,2026-03-04T13:30:00+09:00,\n",  # agreed again, after
        encoding="utf-8",
    )

    first = _import(path, store_url, bot)

    assert first.exit_code == 0, first.output
    assert first.stdout == "3 loaded (3 changed, 1 consent changed) · none refused\n"
    stored = {
        i: c.consent if c else None for i, c in _read(store_url, "C-1", "C-2", "C-3").items()
    }
    opted_out = Consent(False, withdrawn, "opt_out_words", False, withdrawn, "opt_out_words")
    assert stored == {
        "C-1": opted_out,
        "C-2": opted_out,
        "C-3": Consent(True, 1772598600.0, "import", False, withdrawn, "opt_out_words"),
    }
    log = _audience_log(store_url)
    assert [(e.member, e.source) for e in log if e.at > withdrawn] == [("C-3", "import")]

    second = _import(path, store_url, bot)  # the same file again: still nothing turned on

    assert second.stdout == "3 loaded (0 changed) · none refused\n"
    assert _audience_log(store_url) == log


def test_a_consent_that_is_not_true_or_false_refuses_the_line(
    tmp_path: Path, bot: Path, store_url: str
) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(
        "id,marketing,night_at\nC-1,maybe,\nC-2,,2026-03-01\nC-3,true,\n", encoding="utf-8"
    )

    result = _import(path, store_url, bot)

    assert _refused_lines(result.stdout) == {
        2: "consent 'marketing' must be true or false",
        3: "'night_at' without 'night'",
    }
    assert result.stdout.endswith("1 loaded (1 changed, 1 consent changed) · 2 refused\n")


# -- usage ----------------------------------------------------------------------------------------


def test_a_column_the_profile_does_not_declare_stops_the_import_before_any_line(
    tmp_path: Path, bot: Path, store_url: str
) -> None:
    path = tmp_path / "customers.csv"
    path.write_text("id,grde\nC-1,VIP\n", encoding="utf-8")

    result = _import(path, store_url, bot)

    assert result.exit_code == 2
    assert "column 'grde' is not an attribute of the profile" in result.output
    assert "did you mean 'grade'?" in result.output
    assert _read(store_url, "C-1")["C-1"] is None


def test_a_header_without_id_is_a_usage_error(tmp_path: Path, bot: Path, store_url: str) -> None:
    path = tmp_path / "customers.csv"
    path.write_text("customer,grade\nC-1,VIP\n", encoding="utf-8")

    result = _import(path, store_url, bot)

    assert result.exit_code == 2
    assert "the header has no 'id' column" in result.output


def test_a_file_excel_saved_as_cp949_is_a_usage_error_that_says_what_to_do(
    tmp_path: Path, bot: Path, store_url: str
) -> None:
    path = tmp_path / "customers.csv"
    path.write_bytes("id,region\nC-1,서울\n".encode("cp949"))

    result = _import(path, store_url, bot)

    assert result.exit_code == 2
    assert "save it as 'CSV UTF-8'" in result.output


def test_memory_store_is_refused_since_it_would_keep_nothing(tmp_path: Path, bot: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text("id,grade\nC-1,VIP\n", encoding="utf-8")

    result = _import(path, "memory://", bot)

    assert result.exit_code == 2
    assert "memory:// keeps nothing" in result.output


def test_a_bot_that_does_not_compile_is_a_usage_error(tmp_path: Path, bot: Path) -> None:
    (bot / "bot.yaml").write_text(BOT.replace("values: [F, M]", "values: []"), encoding="utf-8")
    path = tmp_path / "customers.csv"
    path.write_text("id,grade\nC-1,VIP\n", encoding="utf-8")

    result = _import(path, f"sqlite:///{tmp_path / 'botkit.db'}", bot)

    assert result.exit_code == 2
    assert "is not a bot that compiles" in result.output


def test_the_help_says_what_each_exit_code_means() -> None:
    result = CliRunner().invoke(cli, ["customers", "import", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "Exits 0 when every line was loaded, 1 when some lines were refused" in text
    assert "2 on a usage error" in text


# -- personal data --------------------------------------------------------------------------------


@pytest.fixture
def every_log_line() -> Iterator[list[logging.LogRecord]]:
    """Every log record of every logger at every level, while the test runs."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    root = logging.getLogger()
    handler, level = Keep(logging.DEBUG), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_no_profile_value_reaches_a_log_line_at_any_level(
    tmp_path: Path, bot: Path, store_url: str, every_log_line: list[logging.LogRecord]
) -> None:
    values = {
        "C-1": {"region": "비밀동네7가", "phone": "010-5555-0142", "age": 41.25},
        "C-2": {"region": "숨은마을3리", "joined": "2019-07-23", "interests": ["홍대맛집탐방"]},
    }
    refused = {"id": "C-3", "phone": 1066660199, "age": "예순일곱"}  # wrong: still personal
    lines = [json.dumps({"id": k, "profile": v}, ensure_ascii=False) for k, v in values.items()]
    lines.append(json.dumps(refused, ensure_ascii=False))
    path = tmp_path / "customers.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    _import(path, store_url, bot)
    result = _import(path, store_url, bot)

    assert result.stdout.endswith("2 loaded (0 changed) · 1 refused\n")
    assert every_log_line  # the store's driver logs at DEBUG: the lines are there to read
    written = _logged(every_log_line)
    secrets = [
        "비밀동네7가",
        "010-5555-0142",
        "41.25",
        "숨은마을3리",
        "2019-07-23",
        "홍대맛집탐방",
    ]
    secrets += ["1066660199", "예순일곱"]
    for secret in secrets:
        assert secret not in written


def test_no_csv_cell_reaches_a_log_line_at_any_level(
    tmp_path: Path, bot: Path, store_url: str, every_log_line: list[logging.LogRecord]
) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(
        "id,region,phone,age,joined,interests,marketing\n"
        "C-1,비밀동네7가,010-5555-0142,41.25,2019-07-23,홍대맛집탐방;성수동빵지순례,true\n"
        "C-2,숨은마을3리,010-6666-0199,예순일곱,작년봄쯤,,maybe\n",  # refused, still hers
        encoding="utf-8",
    )

    _import(path, store_url, bot)
    result = _import(path, store_url, bot)

    assert result.stdout.endswith("1 loaded (0 changed) · 1 refused\n")
    assert every_log_line
    written = _logged(every_log_line)
    cells = [
        "비밀동네7가",
        "010-5555-0142",
        "41.25",
        "2019-07-23",
        "홍대맛집탐방",
        "성수동빵지순례",
    ]
    cells += ["숨은마을3리", "010-6666-0199", "예순일곱", "작년봄쯤"]
    assert [cell for cell in cells if cell in written] == []


def _logged(records: list[logging.LogRecord]) -> str:
    """Everything the records hold: message, exception, every field (arguments included)."""
    return "\n".join(f"{r.getMessage()} {r.exc_text or ''} {r.__dict__}" for r in records)
