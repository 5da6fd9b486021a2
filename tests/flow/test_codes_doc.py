"""flows/CODES.md documents every problem code under its slug, with a broken example and a fix."""

from __future__ import annotations

import re
from pathlib import Path

from botkit.flow.codes import CODES

CODES_MD = Path(__file__).resolve().parents[2] / "flows" / "CODES.md"
_HEADING = re.compile(r"^## (BK[0-9]{3}) (\S+)$", re.MULTILINE)


def _sections() -> dict[str, tuple[str, str]]:
    text = CODES_MD.read_text(encoding="utf-8")
    heads = list(_HEADING.finditer(text))
    ends = [h.start() for h in heads[1:]] + [len(text)]
    return {
        h.group(1): (h.group(2), text[h.end() : end]) for h, end in zip(heads, ends, strict=True)
    }


def test_every_code_has_a_section_under_its_slug() -> None:
    sections = _sections()
    assert sorted(sections) == sorted(CODES)
    assert {code: slug for code, (slug, _) in sections.items()} == {
        c.code: c.slug for c in CODES.values()
    }


def test_every_section_shows_the_broken_version_and_the_fix() -> None:
    for code, (_, body) in _sections().items():
        assert "# ✗" in body, f"{code}: no broken example"
        assert "# ✓" in body, f"{code}: no fix"


def test_sections_are_in_the_order_of_their_codes() -> None:
    codes = list(_sections())
    assert codes == sorted(codes)
