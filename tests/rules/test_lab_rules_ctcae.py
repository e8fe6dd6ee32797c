"""Issue 11 item 7: CTCAE v5.0 neutrophil count decreased and ALT increased, boundaries worked by hand.

CTCAE v5.0 (NCI, 2017): Neutrophil count decreased grade 1 <LLN - 1500/mm3 (<LLN - 1.5 x 10e9/L), grade 2
<1500 - 1000/mm3, grade 3 <1000 - 500/mm3, grade 4 <500/mm3. Alanine aminotransferase increased (baseline
normal) grade 1 >ULN - 3.0 x ULN, grade 2 >3.0 - 5.0 x ULN, grade 3 >5.0 - 20.0 x ULN, grade 4 >20.0 x ULN.
"<a - b" = below a down to and including b; ">a - b" = above a up to and including b.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from ipafstudy.errors import InvalidOptionError
from ipafstudy.rules.adverse_events import (
    LabEvent,
    alt_increase_events,
    ctcae_alt_grade,
    ctcae_neutrophil_grade,
    neutropenia_events,
)
from ipafstudy.rules.common import RuleInputError
from ipafstudy.rules.lab_rules import DEFAULT_LAB_RULES, LabRules

D = dt.date


@pytest.mark.parametrize(
    ("count", "lln", "grade"),
    [
        (2.0, 2.0, 0),   # at the LLN: normal
        (1.99, 2.0, 1),  # just below the LLN
        (1.5, 2.0, 1),   # 1.5 belongs to grade 1 (lower bound included)
        (1.49, 2.0, 2),
        (1.0, 2.0, 2),
        (0.99, 2.0, 3),
        (0.5, 2.0, 3),
        (0.49, 2.0, 4),
        (0.0, 2.0, 4),
        (1.6, 1.8, 1),
        (1.6, 1.5, 0),   # LLN 1.5: 1.6 is normal
        (1.45, 1.5, 2),  # below an LLN of 1.5 grade 1 is empty
        (1500 / 1000, 2.0, 1),  # 1500 /uL converted
    ],
)
def test_neutrophil_grades(count, lln, grade):
    assert ctcae_neutrophil_grade(count, lln) == grade


@pytest.mark.parametrize(
    ("alt", "uln", "grade"),
    [
        (40, 40, 0),     # at the ULN: normal
        (40.1, 40, 1),
        (120, 40, 1),    # exactly 3 x ULN: grade 1 (upper bound included)
        (120.1, 40, 2),
        (200, 40, 2),    # exactly 5 x ULN
        (200.1, 40, 3),
        (800, 40, 3),    # exactly 20 x ULN
        (800.1, 40, 4),
        (35.1, 11.7, 1),  # 3 x 11.7 = 35.1 in decimal, but 35.1 / 11.7 = 3.0000000000000004 in binary: rounded, grade 1
        (99, 33, 1),
        (165, 33, 2),    # 5 x 33
        (660, 33, 3),    # 20 x 33
    ],
)
def test_alt_grades(alt, uln, grade):
    assert ctcae_alt_grade(alt, uln) == grade


def test_bad_inputs():
    with pytest.raises(RuleInputError, match="negative"):
        ctcae_neutrophil_grade(-0.1)
    with pytest.raises(RuleInputError, match="must be positive"):
        ctcae_alt_grade(50, 0)
    with pytest.raises(RuleInputError, match="not a number"):
        ctcae_alt_grade("high", 40)


def _values(*pairs):
    return pd.DataFrame({"date": [d for d, _ in pairs], "value": [v for _, v in pairs]})


def test_neutropenia_episodes_graded_at_the_nadir():
    vals = _values((D(2023, 1, 1), 1.2),    # before the start: ignored
                   (D(2023, 1, 10), 3.0),
                   (D(2023, 2, 1), 1.7),    # episode 1 opens (grade 1)
                   (D(2023, 2, 15), 0.8),   # nadir grade 3
                   (D(2023, 3, 1), 2.5),    # normal: closes it
                   (D(2023, 4, 1), 1.4),    # episode 2, grade 2
                   (D(2023, 7, 1), 0.3))    # after the end: ignored
    events = neutropenia_events(vals, D(2023, 1, 5), D(2023, 6, 30), 2.0)
    assert events == [LabEvent(D(2023, 2, 1), 0.8, 3), LabEvent(D(2023, 4, 1), 1.4, 2)]


def test_alt_episodes_graded_at_the_peak_and_normal_values_give_none():
    vals = _values((D(2023, 2, 1), 130.0), (D(2023, 2, 8), 900.0), (D(2023, 2, 20), 60.0), (D(2023, 3, 1), 40.0))
    assert alt_increase_events(vals, D(2023, 1, 1), None, 40.0) == [LabEvent(D(2023, 2, 1), 900.0, 4)]
    assert alt_increase_events(_values((D(2023, 2, 1), 40.0)), D(2023, 1, 1), None, 40.0) == []


def test_lab_rule_selection():
    assert DEFAULT_LAB_RULES == ("hypomagnesaemia", "aki")
    rules = LabRules(("neutropenia", "alt_increase"))
    assert rules.event_types == ("neutropenia", "alt_increased")
    with pytest.raises(InvalidOptionError, match="unknown lab rule"):
        LabRules(("ldh_increase",))
    with pytest.raises(InvalidOptionError, match="repeated"):
        LabRules(("aki", "aki"))
    with pytest.raises(InvalidOptionError, match="neutrophils_lln"):
        LabRules(neutrophils_lln=0)
