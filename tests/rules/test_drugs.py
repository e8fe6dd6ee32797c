"""Drug names matched case-insensitively as whole words (issue 11 item 1)."""

from __future__ import annotations

import math

import pytest

from ipafstudy.rules.drugs import DEFAULT_EXPOSURE_NAMES, DrugMatcher

TAC = DrugMatcher("tacrolimus", DEFAULT_EXPOSURE_NAMES)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("tacrolimus", True),
        ("  TACROLIMUS ", True),
        ("tacrolimus (FK506)", True),
        ("FK506", True),
        ("fk-506", True),
        ("Prograf 1 mg", True),
        ("Advagraf XL", True),
        ("envarsus", True),
        ("pretacrolimus", False),  # inside another word: not a whole word
        ("tacrolimus2", False),
        ("FK5060", False),
        ("methylprednisolone", False),
        ("", False),
        (None, False),
        (math.nan, False),
    ],
)
def test_whole_word_case_insensitive(written, expected):
    assert TAC.matches(written) is expected


def test_a_plan_drug_with_its_own_names():
    mmf = DrugMatcher("mmf", ("mycophenolate", "MMF", "CellCept"), "MMF")
    assert mmf.matches("Mycophenolate mofetil") and mmf.matches("cellcept 500") and mmf.matches("MMF")
    assert not mmf.matches("mycophenolic acid")  # a different word: add it to the names when it is meant
    assert mmf.display == "MMF" and DrugMatcher("mmf", ("mmf",)).display == "mmf"


def test_a_drug_needs_a_name():
    with pytest.raises(ValueError, match="at least one name"):
        DrugMatcher("x", ("  ",))
