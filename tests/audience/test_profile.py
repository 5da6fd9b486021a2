"""A shop sends a customer's profile; bot.yaml's ``profile:`` says what each attribute is.

What is right is kept, what is not is refused attribute by attribute, and no refusal ever
repeats a value (a profile is personal data; a sensitive one above all)."""

from __future__ import annotations

from typing import Any

import pytest

from botkit.audience.profile import MAX_ITEMS, MAX_TEXT, ProfileError, check_profile
from botkit.flow.model import ProfileAttribute

SCHEMA = {
    a.name: a
    for a in (
        ProfileAttribute("grade", "enum", ("VIP", "GOLD", "SILVER"), "등급"),
        ProfileAttribute("age", "number"),
        ProfileAttribute("gender", "enum", ("F", "M")),
        ProfileAttribute("region", "text"),
        ProfileAttribute("joined", "date"),
        ProfileAttribute("interests", "list"),
        ProfileAttribute("is_member", "boolean"),
        ProfileAttribute("phone", "text", sensitive=True),
        ProfileAttribute("tier_secret", "enum", ("PLATINUM", "BLACK"), sensitive=True),
    )
}

GOOD = {
    "grade": "VIP",
    "age": 31,
    "gender": "F",
    "region": "서울",
    "joined": "2026-11-03",
    "interests": ["패딩", "운동화", 270],
    "is_member": True,
    "phone": "010-1234-5678",
}


def _errors(values: dict[str, Any], *, partial: bool = False) -> dict[str, str]:
    kept, errors = check_profile(SCHEMA, values, partial=partial)
    assert set(kept).isdisjoint(e.attribute for e in errors)
    return {e.attribute: e.message for e in errors}


def test_a_profile_of_the_declared_types_is_kept_as_sent() -> None:
    kept, errors = check_profile(SCHEMA, GOOD, partial=False)
    assert errors == []
    assert kept == GOOD
    assert kept["joined"] == "2026-11-03"  # a date stays the text it was sent as


@pytest.mark.parametrize(
    ("attribute", "value", "expected"),
    [
        ("age", "31", "expected a number, found text"),
        ("age", True, "expected a number, found true/false"),  # a bool is no number
        ("age", float("nan"), "expected a number, found a number that is not finite"),
        ("age", float("inf"), "expected a number, found a number that is not finite"),
        ("region", 3, "expected text, found a number"),
        ("region", "가" * (MAX_TEXT + 1), f"expected text of at most {MAX_TEXT} characters"),
        ("joined", "2026/11/03", "expected a date as YYYY-MM-DD, found text"),
        ("joined", "2026-02-30", "found a day that is not in the calendar"),
        ("joined", 20261103, "expected a date as YYYY-MM-DD, found a number"),
        ("grade", "BRONZE", "expected one of 'VIP', 'GOLD', 'SILVER', found another text"),
        ("grade", 1, "expected one of 'VIP', 'GOLD', 'SILVER', found a number"),
        ("interests", "패딩", "expected a list of texts or numbers, found text"),
        ("interests", ["패딩", {"a": 1}], "item 2 is an object"),
        ("interests", ["패딩", True], "item 2 is true/false"),
        ("interests", ["x"] * (MAX_ITEMS + 1), f"at most {MAX_ITEMS} items"),
        ("is_member", "true", "expected true or false, found text"),
        ("phone", ["010"], "expected text, found a list"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_naming_what_was_expected(
    attribute: str, value: Any, expected: str
) -> None:
    kept, errors = check_profile(SCHEMA, {**GOOD, attribute: value}, partial=False)
    assert [e.attribute for e in errors] == [attribute]
    assert expected in errors[0].message
    assert attribute not in kept
    assert kept == {k: v for k, v in GOOD.items() if k != attribute}


def test_a_near_miss_of_an_enum_value_gets_a_hint() -> None:
    assert _errors({"grade": "VIPP"}) == {
        "grade": "expected one of 'VIP', 'GOLD', 'SILVER', found another text "
        "(did you mean 'VIP'?)"
    }


def test_an_unknown_attribute_is_named_with_the_closest_declared_one() -> None:
    message = _errors({"grde": "VIP"})["grde"]
    assert "is not an attribute of the profile bot.yaml declares" in message
    assert "did you mean 'grade'?" in message
    assert "declared: age, gender, grade, interests, is_member, joined, phone, region" in message


def test_an_unknown_attribute_with_nothing_close_lists_the_declared_ones() -> None:
    message = _errors({"favourite_colour": "blue"})["favourite_colour"]
    assert "did you mean" not in message
    assert "declared: age" in message


def test_a_refusal_of_a_sensitive_attribute_never_holds_its_value() -> None:
    secret = "PLATINUMM"  # one letter away from a declared value
    kept, errors = check_profile(
        SCHEMA, {"tier_secret": secret, "phone": 1012345678}, partial=False
    )
    assert kept == {}
    assert {e.attribute for e in errors} == {"tier_secret", "phone"}
    for error in errors:
        assert secret not in str(error)
        assert "1012345678" not in error.message
    assert "did you mean" not in {e.attribute: e.message for e in errors}["tier_secret"]


def test_no_refusal_holds_the_value_it_refuses() -> None:
    values = {
        "age": "서른하나",
        "region": 4242,
        "joined": "어제-오늘",
        "grade": "플래티넘",
        "interests": "등산과 낚시",
        "is_member": "네 회원이에요",
        "phone": ["010-9876-5432"],
    }
    _, errors = check_profile(SCHEMA, values, partial=False)
    assert len(errors) == len(values)
    text = "\n".join(str(e) for e in errors)
    for value in values.values():
        assert str(value) not in text
    assert "9876" not in text


def test_a_whole_profile_leaves_out_a_null_and_a_patch_keeps_it_to_remove_the_attribute() -> None:
    assert check_profile(SCHEMA, {"grade": "VIP", "region": None}, partial=False) == (
        {"grade": "VIP"},
        [],
    )
    assert check_profile(SCHEMA, {"grade": "VIP", "region": None}, partial=True) == (
        {"grade": "VIP", "region": None},
        [],
    )


def test_a_patch_refuses_unknown_attributes_and_wrong_types_as_a_put_does() -> None:
    assert _errors({"grde": None, "age": "x"}, partial=True).keys() == {"grde", "age"}


@pytest.mark.parametrize("schema", [None, {}])
def test_without_a_schema_any_json_scalar_or_list_of_scalars_is_kept(
    schema: dict[str, ProfileAttribute] | None,
) -> None:
    values = {
        "grade": "vip",
        "visits": 3,
        "score": 4.5,
        "is_member": False,
        "tags": ["a", 1, True],
    }
    assert check_profile(schema, values, partial=False) == (values, [])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"city": "서울"}, "found an object"),
        ([["nested"]], "item 1 is a list"),
        (float("nan"), "found a number that is not finite"),
    ],
)
def test_without_a_schema_objects_and_nested_lists_are_refused(value: Any, expected: str) -> None:
    kept, errors = check_profile(None, {"x": value}, partial=False)
    assert kept == {}
    assert [e.attribute for e in errors] == ["x"]
    assert expected in errors[0].message


def test_without_a_schema_an_attribute_name_must_be_one_flows_can_read() -> None:
    kept, errors = check_profile(
        None, {"주소": "서울", "_private": 1, "ok_name": 1}, partial=False
    )
    assert kept == {"ok_name": 1}
    assert [e.attribute for e in errors] == ["주소", "_private"]
    assert "a letter, then letters, digits or _" in errors[0].message


def test_an_error_reads_as_attribute_then_why() -> None:
    assert str(ProfileError("age", "expected a number, found text")) == (
        "age: expected a number, found text"
    )


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**40])
def test_a_whole_number_no_store_can_keep_is_refused(value: int) -> None:
    """PostgreSQL's and SQLite's JSON stop at 64 bits: a larger number would fail the write."""
    kept, errors = check_profile(SCHEMA, {**GOOD, "age": value}, partial=False)
    assert [e.attribute for e in errors] == ["age"]
    assert "age" not in kept


def test_the_largest_whole_number_a_store_keeps_is_kept() -> None:
    kept, errors = check_profile(SCHEMA, {**GOOD, "age": 2**63 - 1}, partial=False)
    assert errors == []
    assert kept["age"] == 2**63 - 1
