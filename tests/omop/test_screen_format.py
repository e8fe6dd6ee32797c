"""omop.screen's formatting of an executed screen (candidates_table) and the compile option it scopes.

The executed screen is built here by hand (two persons, a few evidence rows), so each expected cell is written out
from the docs' formats ('ANA positive speckled 1:640', 'RF positive 45 (ULN 20)'), not taken from the code.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pyarrow as pa
import pytest

from ipafstudy.omop import ipaf_expr as X
from ipafstudy.omop.screen import _unfused_selects, candidates_table


def _result() -> pa.Table:
    """Person rows (e_criterion NULL) for persons 7 and 3 (unsorted), then evidence rows (person columns NULL)."""
    persons = [7, 3]
    evidence = [  # person, criterion, concept, date, text, number, number2
        (3, "serologic_ana", 11, dt.date(2020, 1, 2), "ANA positive speckled", 640.0, None),
        (7, "serologic_ana", 12, dt.date(2021, 5, 6), "ANA positive", None, None),
        (7, "serologic_rf", 21, dt.date(2021, 5, 7), "RF positive", 45.0, 20.0),
        (3, "serologic_rf", 22, dt.date(2020, 1, 3), "RF negative", 12.5, None),
        (3, "morphologic_hrct_pattern", 99, dt.date(2019, 12, 31), "nsip", None, None),
    ]
    n_p, n_e = len(persons), len(evidence)
    n = n_p + n_e

    def person_col(values: list, type_: pa.DataType) -> pa.Array:
        return pa.array([*values, *([None] * n_e)], type_)

    def evidence_col(i: int, type_: pa.DataType) -> pa.Array:
        return pa.array([*([None] * n_p), *(row[i] for row in evidence)], type_)

    columns: dict[str, pa.Array] = {
        "person_id": pa.array([*persons, *(row[0] for row in evidence)], pa.int64()),
        "status": person_col(["ipaf", "not_ipaf"], pa.string()),
        "step": person_col(["eligible", "not_ipaf"], pa.string()),
        "failure": person_col([None, "fewer_domains"], pa.string()),
        "combination": person_col(["serologic + morphologic", None], pa.string()),
        "reason": person_col(["all entry requirements met; domains met: serologic, morphologic", "r"], pa.string()),
        "deciding_items": person_col(["serologic.rf", ""], pa.string()),
        "ro52_isolated": person_col([False, None], pa.bool_()),
        "drug_exposed": person_col([True, False], pa.bool_()),
        "drug_start": person_col([dt.date(2022, 1, 1), None], pa.date32()),
        "drug_end": person_col([dt.date(2022, 6, 30), None], pa.date32()),
        "drug_ongoing": person_col([False, None], pa.bool_()),
        "drug_days": person_col([181, None], pa.int64()),
        "drug_courses": person_col([2, None], pa.int64()),
        "drug_courses_joined": person_col([1, None], pa.int64()),
        "age_at_start": person_col([54.0, None], pa.float64()),
    }
    for d in X.DOMAINS:
        columns[f"domain_{d}"] = person_col([True, None], pa.bool_())
    for criterion in X.criterion_columns():
        columns[criterion] = person_col([None, False], pa.bool_())
    columns["e_criterion"] = evidence_col(1, pa.string())
    columns["e_concept_id"] = evidence_col(2, pa.int64())
    columns["e_date"] = evidence_col(3, pa.date32())
    columns["e_text"] = evidence_col(4, pa.string())
    columns["e_number"] = evidence_col(5, pa.float64())
    columns["e_number2"] = evidence_col(6, pa.float64())
    assert all(len(c) == n for c in columns.values())
    return pa.table(columns)


def test_candidates_table_formats_each_criterion_evidence() -> None:
    rows = {r["person_id"]: r for r in candidates_table(_result()).to_pylist()}
    assert list(rows) == ["3", "7"]  # sorted by person_id
    p3, p7 = rows["3"], rows["7"]
    assert (p3["serologic_ana_concept_id"], p3["serologic_ana_date"], p3["serologic_ana_value"]) == (
        "11", "2020-01-02", "ANA positive speckled 1:640")
    assert p7["serologic_ana_value"] == "ANA positive"  # no titre: the text alone
    assert p7["serologic_rf_value"] == "RF positive 45 (ULN 20)"
    assert p3["serologic_rf_value"] == "RF negative 12.5"  # no ULN recorded
    assert (p3["morphologic_hrct_pattern_concept_id"], p3["morphologic_hrct_pattern_date"],
            p3["morphologic_hrct_pattern_value"]) == ("99", "2019-12-31", "nsip")
    # no evidence row: every evidence cell empty
    assert (p7["morphologic_hrct_pattern_concept_id"], p7["morphologic_hrct_pattern_date"],
            p7["morphologic_hrct_pattern_value"]) == ("", "", "")
    assert p3["clinical_raynaud_value"] == "" and p7["serologic_anti_ro_concept_id"] == ""
    # person cells
    assert (p7["drug_exposed"], p7["drug_ongoing"], p7["drug_days"], p7["age_at_start"]) == ("yes", "no", "181", "54")
    assert (p3["drug_exposed"], p3["drug_ongoing"], p3["drug_days"], p3["failure"]) == ("no", "", "", "fewer_domains")
    assert p3["clinical_raynaud"] == "no" and p7["clinical_raynaud"] == "unknown"


def test_candidates_table_without_any_evidence() -> None:
    result = _result()
    people = result.filter(pa.compute.is_null(result.column("e_criterion")))
    rows = candidates_table(people).to_pylist()
    assert [r["person_id"] for r in rows] == ["3", "7"]
    cells = [f"{c}_{a}" for c in X.criterion_columns() for a in ("concept_id", "date", "value")]
    assert all(r[cell] == "" for r in rows for cell in cells)


@pytest.mark.parametrize("before", [True, False])
def test_unfused_selects_restores_the_option(before: bool) -> None:
    old = ibis.options.sql.fuse_selects
    ibis.options.sql.fuse_selects = before
    try:
        with _unfused_selects():
            assert ibis.options.sql.fuse_selects is False
        assert ibis.options.sql.fuse_selects is before
        with pytest.raises(RuntimeError), _unfused_selects():
            raise RuntimeError("query failed")
        assert ibis.options.sql.fuse_selects is before
    finally:
        ibis.options.sql.fuse_selects = old
