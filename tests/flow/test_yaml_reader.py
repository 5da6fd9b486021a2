"""The YAML reader: YAML-1.2 scalars, positions, and what it refuses."""

from __future__ import annotations

from botkit.flow._report import Reporter
from botkit.flow._yaml import read_text


def read(text: str) -> tuple[object, list[str], Reporter]:
    reporter = Reporter()
    doc = read_text(text, "t.yaml", reporter)
    return doc.data, [p.code for p in reporter.problems], reporter


def test_reader_keeps_yes_no_on_off_as_text() -> None:
    data, codes, _ = read("a: yes\nb: no\nc: on\nd: off\ne: true\nf: false\n")
    assert data == {"a": "yes", "b": "no", "c": "on", "d": "off", "e": True, "f": False}
    assert codes == []


def test_reader_keeps_times_and_dates_as_text() -> None:
    data, _, _ = read("opens: 09:30\nday: 2026-12-25\nversion: 1.10\ncount: 10\n")
    assert data == {"opens": "09:30", "day": "2026-12-25", "version": 1.1, "count": 10}


def test_reader_keeps_korean_exactly_as_written() -> None:
    data, _, _ = read("say: \"안녕하세요!  배송 조회는 '1'을 눌러 주세요.\"\n")
    assert data == {"say": "안녕하세요!  배송 조회는 '1'을 눌러 주세요."}


def test_reader_positions_count_hangul_as_one_column() -> None:
    reporter = Reporter()
    doc = read_text("인사말: 안녕\n배송: [조회, 취소]\n", "t.yaml", reporter)
    first = doc.where(("배송",), key=True)  # positions are read on first use
    assert (first.line, first.column) == (2, 1)
    assert doc.values[("배송", 1)][:2] == (2, 10)
    assert doc.values[("인사말",)][:2] == (1, 6)


def test_reader_reports_duplicate_key_at_the_second_one() -> None:
    _, codes, reporter = read("states:\n  menu: {}\n  menu: {}\n")
    assert codes == ["BK102"]
    assert (reporter.problems[0].line, reporter.problems[0].column) == (3, 3)


def test_reader_refuses_aliases_without_expanding_them() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    )
    data, codes, _ = read(bomb)
    assert set(codes) == {"BK103"}
    assert isinstance(data, dict)


def test_reader_refuses_python_tags() -> None:
    _, codes, _ = read("x: !!python/object/apply:os.system ['true']\n")
    assert "BK104" in codes


def test_reader_stops_at_the_depth_cap() -> None:
    _, codes, _ = read("x: " + "[" * 10_000 + "]" * 10_000 + "\n")
    assert codes == ["BK106"]


def test_reader_refuses_a_second_document() -> None:
    _, codes, _ = read("flow: a\n---\nflow: b\n")
    assert codes == ["BK108"]
