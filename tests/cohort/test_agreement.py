"""Reader agreement wiring: ICC(2,1) and weighted kappa worked by hand on tiny reads."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from conftest import frame

from ipafstudy.cohort.agreement import hrct_agreement
from ipafstudy.data.schema import ZONES

D = dt.date


def reads(pid: str, day: dt.date, r1: list[int], r2: list[int]) -> list[dict[str, object]]:
    """ggo grades per zone for reader1 and reader2; every other pattern 0 for both."""
    rows = []
    for role, grades in (("reader1", r1), ("reader2", r2)):
        for zone, g in zip(ZONES, grades, strict=True):
            rows.append({"patient_id": pid, "scan_date": day, "reader": role.upper(), "reader_role": role,
                         "zone": zone, "ggo": g, "fibrosis": 0, "honeycombing": 0, "consolidation": 0})
    return rows


def test_weighted_kappa_by_hand():
    # pairs (0,0),(0,1),(1,1),(1,1),(2,2),(2,3); K = 5 categories (0-4).
    # linear: Po = 5.5/6, Pe = 0.75 -> kappa = (11/12 - 3/4) / (1/4) = 2/3
    # quadratic: Po = 5.875/6, Pe = 0.8958333 -> kappa = 0.8
    res = hrct_agreement(frame("hrct_reads", reads("P1", D(2023, 1, 1), [0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 3])))
    f = res.to_frame().set_index(["measure", "statistic"])
    assert f.at[("ggo", "kappa_linear"), "value"] == pytest.approx(2 / 3)
    assert f.at[("ggo", "kappa_quadratic"), "value"] == pytest.approx(0.8)
    assert f.at[("ggo", "kappa_linear"), "n"] == 6
    # all-zero patterns: chance agreement 1, kappa undefined, reported not crashed
    assert math.isnan(f.at[("fibrosis", "kappa_linear"), "value"])
    # one scan: ICC needs >= 2 subjects
    assert math.isnan(f.at[("total", "ICC(2,1)"), "value"]) and "at least 2" in f.at[("total", "ICC(2,1)"), "note"]


def test_icc_total_by_hand():
    # totals (reader1, reader2): (6, 7), (12, 12), (18, 19); n = 3 scans, k = 2 readers.
    # MSB = 433/6, MSC = 2/3, MSE = 1/6 -> ICC(2,1) = (MSB - MSE) / (MSB + MSE + 2 (MSC - MSE) / 3) = 108/109
    rows = (reads("P1", D(2023, 1, 1), [1] * 6, [2] + [1] * 5)
            + reads("P2", D(2023, 1, 1), [2] * 6, [2] * 6)
            + reads("P3", D(2023, 1, 1), [3] * 6, [4] + [3] * 5))
    f = hrct_agreement(frame("hrct_reads", rows)).to_frame().set_index(["measure", "statistic"])
    assert f.at[("total", "ICC(2,1)"), "value"] == pytest.approx(108 / 109)
    assert f.at[("ggo", "ICC(2,1)"), "value"] == pytest.approx(108 / 109)
    assert f.at[("total", "ICC(2,1)"), "n"] == 3
    assert f.at[("total", "ICC(2,1)"), "ci_low"] < 108 / 109 < f.at[("total", "ICC(2,1)"), "ci_high"]


def test_adjudicator_reads_are_not_a_rater():
    rows = reads("P1", D(2023, 1, 1), [0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 3])
    rows += [{"patient_id": "P1", "scan_date": D(2023, 1, 1), "reader": "R3", "reader_role": "adjudicator",
              "zone": "RU", "ggo": 4, "fibrosis": 0, "honeycombing": 0, "consolidation": 0}]
    f = hrct_agreement(frame("hrct_reads", rows)).to_frame().set_index(["measure", "statistic"])
    assert f.at[("ggo", "kappa_linear"), "value"] == pytest.approx(2 / 3)


def test_no_reads():
    assert hrct_agreement(frame("hrct_reads", [])).to_frame().empty
