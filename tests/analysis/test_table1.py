"""Table 1 from the plan (issue 11 item 4): rows, Unknown rows, n of incomplete rows, follow-up, subgroup columns.

Expected numbers are worked by hand in the tests or recorded from R (tests/reference/table1.R).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ipafstudy.analysis.plan import AnalysisPlan, default_plan_yaml, plan_from_dict
from ipafstudy.analysis.results import Count
from ipafstudy.analysis.study import _Notes
from ipafstudy.analysis.table1 import MONTH_DAYS, _Row, baseline_table
from ipafstudy.cohort.baselines import baseline_values
from ipafstudy.cohort.exposure import Exposure
from ipafstudy.errors import InvalidOptionError
from ipafstudy.reporting.format import get_style
from ipafstudy.reporting.tables import table1
from ipafstudy.settings import ClinicalSettings

REF = Path(__file__).resolve().parents[1] / "reference"


def read_ref(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / name, comment="#", keep_default_na=False, na_values=["NA"])


def rows_of(table) -> dict[str, object]:
    return {r.key: r for r in table.rows}


def small(**columns: list) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    return pd.DataFrame({"patient_id": [f"P{i}" for i in range(n)], **columns})


def plan(table1: list, **more: object) -> AnalysisPlan:
    return plan_from_dict({"table1": table1, **more})


# --- plan ----------------------------------------------------------------------------------------------------------


def test_the_issue_list_syntax_is_a_plan():
    p = plan(["age_at_start", "sex", "smoking", "antibody_group", "hrct_pattern", "fvc_pct_pred_baseline",
              "concomitant_mmf"], concomitant=[{"code": "mmf", "label": "MMF", "names": ["mycophenolate"]}])
    kinds = {v.column: v.kind for v in p.table1_variables()}
    assert kinds == {"age_at_start": "continuous", "sex": "categorical", "smoking": "categorical",
                     "antibody_group": "categorical", "hrct_pattern": "categorical",
                     "fvc_pct_pred_baseline": "continuous", "concomitant_mmf": "binary"}
    labels = {v.column: v.label for v in p.table1_variables()}
    assert labels["concomitant_mmf"] == "MMF"
    assert labels["fvc_pct_pred_baseline"].startswith("FVC") and labels["fvc_pct_pred_baseline"].count("%") == 1
    assert p.table1_baseline_variables == ("fvc_pct_pred",)  # not an outcome: the cohort adds its baseline


def test_an_outcome_baseline_is_not_recomputed_by_the_cohort():
    assert plan(["esr_baseline", "hrct_total_baseline"]).table1_baseline_variables == ()


def test_unknown_rows_are_plan_errors_with_their_key_and_suggestions():
    with pytest.raises(InvalidOptionError) as exc:
        plan(["age_at_start", "sex", "smoker", "fvc_baseline", {"variable": "sex", "kind": "continuous"},
              {"variable": "age_at_start", "levels": ["40"]}, {"variable": "sex", "levels": []},
              "concomitant_mmf"])
    text = str(exc.value)
    assert "table1[2]: 'smoker' is not a Table 1 variable" in text and "smoking" in text.split("table1[3]")[0]
    assert "table1[3]: 'fvc_baseline'" in text and "fvc_ml_baseline" in text
    assert "table1[4].kind: sex is categorical and cannot be shown as continuous" in text
    assert "table1[5].levels: only a categorical row has levels" in text
    assert "table1[6].levels: give at least one level" in text
    assert "table1[7]: 'concomitant_mmf'" in text  # no such concomitant drug in the plan
    assert "table1[0]" not in text and "table1[1]" not in text


def test_default_plan_prints_table1_and_loads_back():
    text = default_plan_yaml()
    assert "table1:\n  - age_at_start\n  - sex\n  - ever_smoker\n" in text
    assert "  - {variable: antibody_group, levels: [MSA, MAA]}\n" in text
    assert "table1_by_subgroup: false\n" in text
    import yaml

    loaded = plan_from_dict(yaml.safe_load(text))
    assert loaded.table1 == AnalysisPlan().table1 and loaded.table1_by_subgroup is False


def test_default_table1_keeps_the_reference_rows(dataset):
    """The reference study's Table 1: 45 rows in 8 sections, in this order (the old TABLE1_ITEMS)."""
    data = dataset.assign(antibody_group=dataset["antibody_group"].fillna("neither"))  # as the cohort writes it
    res = baseline_table(data, AnalysisPlan(), _Notes())
    sections = list(dict.fromkeys(r.section for r in res.rows))
    assert sections == ["Demographics", "Clinical domain", "Serologic domain", "Morphologic domain",
                        "Diagnostic domains met", "Antibody groups", "Concomitant antifibrotics", "Tacrolimus"]
    per = {s: sum(r.section == s for r in res.rows) for s in sections}
    assert per == {"Demographics": 4, "Clinical domain": 7, "Serologic domain": 12, "Morphologic domain": 12,
                   "Diagnostic domains met": 4, "Antibody groups": 3, "Concomitant antifibrotics": 2, "Tacrolimus": 1}
    labels = [r.label for r in res.rows]
    assert labels[:4] == ["Age at tacrolimus start, years", "Male", "Female", "Smoking history (ever)"]
    assert labels[23:29] == ["HRCT pattern: NSIP", "HRCT pattern: OP", "HRCT pattern: NSIP with OP overlap",
                             "HRCT pattern: LIP", "HRCT pattern: UIP", "HRCT pattern: Other/indeterminate"]
    assert labels[35:45] == ["Clinical and serologic", "Clinical and morphologic", "Serologic and morphologic",
                             "All three", "Myositis-specific antibody (MSA) group",
                             "Myositis-associated antibody (MAA) group", "Both an MSA and an MAA", "Pirfenidone",
                             "Nintedanib", "Tacrolimus trough (patient median), ng/mL"]
    assert not any(r.kind == "unknown" for r in res.rows) and res.groups == ()
    with_blanks = rows_of(baseline_table(dataset, AnalysisPlan(), _Notes()))  # 'neither' is known, a blank is not
    assert with_blanks["antibody_group=unknown"].value.n == int(dataset["antibody_group"].isna().sum()) > 0


def test_drug_label_reaches_the_age_row():
    p = plan(["age_at_start"], exposure={"drug": "mycophenolate", "names": ["mycophenolate"]})
    assert p.table1_variables()[0].label == "Age at mycophenolate start, years"


# --- counts, Unknown rows, continuous rows worked by hand -----------------------------------------------------------


def test_unknown_row_and_known_denominator():
    data = small(sex=["male", "female", None, "female"], ever_smoker=[1.0, np.nan, np.nan, 0.0])
    res = rows_of(baseline_table(data, plan(["sex", "ever_smoker"]), _Notes()))
    assert res["sex=male"].value == Count(n=1, denominator=3, n_missing=1)
    assert res["sex=female"].value == Count(n=2, denominator=3, n_missing=1)
    assert res["sex=unknown"].value == Count(n=1, denominator=4) and res["sex=unknown"].label == "Sex: unknown"
    assert res["ever_smoker"].value == Count(n=1, denominator=2, n_missing=2)
    assert res["ever_smoker=unknown"].value == Count(n=2, denominator=4)


def test_unknown_rows_render_with_their_denominators():
    data = small(sex=["male", "female", None, "female"])
    res = analyse_like(data, plan(["sex"]))
    spec = table1(res, get_style("default"))
    cells = {r.cells[0]: r.cells[1] for r in spec.rows if len(r.cells) > 1}
    assert cells["Male, n (%)"] == "1/3 (33.3%)"
    assert cells["Female, n (%)"] == "2/3 (66.7%)"
    assert cells["Sex: unknown, n (%)"] == "1 (25.0%)"
    assert any("Unknown row gives the patients without one" in f for f in spec.footnotes)


def analyse_like(data: pd.DataFrame, p: AnalysisPlan):
    """A StudyResults-shaped object with only what table1() reads."""
    from types import SimpleNamespace

    return SimpleNamespace(baseline=baseline_table(data, p, _Notes()), plan=p, settings=p.settings,
                           n_antibody_both=None)


def test_continuous_row_with_ties_and_a_missing_value_shows_its_n():
    # sorted 50, 50, 60, 70 (n = 4); SPSS type 6: Q1 at 1.25 -> 50, median 55, Q3 at 3.75 -> 60 + 0.75 x 10
    data = small(age_at_start=[60.0, 50.0, np.nan, 70.0, 50.0])
    res = analyse_like(data, plan(["age_at_start"]))
    q = res.baseline.rows[0].value.quantiles
    assert (q.n, q.q1, q.median, q.q3) == (4, 50.0, 55.0, 67.5)
    spec = table1(res, get_style("default"))
    assert spec.rows[1].cells[1] == "55.0 (50.0, 67.5) [n = 4]"


@pytest.mark.parametrize(("values", "expected"), [
    ([42.0], (42.0, 42.0, 42.0)),                 # one patient: every quartile is the value
    ([40.0, 50.0], (40.0, 45.0, 50.0)),           # n = 2: Q1 at 0.75 and Q3 at 2.25 clamp to the ends
])
def test_one_patient_and_two_patients(values, expected):
    q = baseline_table(small(age_at_start=values), plan(["age_at_start"]), _Notes()).rows[0].value.quantiles
    assert (q.q1, q.median, q.q3) == expected


def test_all_missing_continuous_and_binary_rows():
    data = small(age_at_start=[np.nan, np.nan, np.nan], ever_smoker=[np.nan, np.nan, np.nan])
    res = analyse_like(data, plan(["age_at_start", "ever_smoker"]))
    rows = rows_of(res.baseline)
    assert rows["age_at_start"].value is None
    assert rows["ever_smoker"].value == Count(n=0, denominator=0, n_missing=3)
    assert rows["ever_smoker=unknown"].value == Count(n=3, denominator=3)
    cells = {r.cells[0]: r.cells[1] for r in table1(res, get_style("default")).rows if len(r.cells) > 1}
    assert cells["Age at tacrolimus start, years, median (Q1, Q3)"] == get_style("default").missing
    assert cells["Smoking history (ever), n (%)"].startswith("0/0")
    assert cells["Smoking history (ever): unknown, n (%)"] == "3 (100.0%)"


def test_levels_catalogue_order_other_levels_after_and_a_listed_subset():
    data = small(hrct_pattern=["uip", "nsip", "weird", "nsip"], site=["B", "A", "B", None])
    rows = baseline_table(data, plan(["hrct_pattern", "site"]), _Notes()).rows
    assert [r.level for r in rows if r.variable == "hrct_pattern"] == [
        "nsip", "op", "nsip_op", "lip", "uip", "other", "weird"]  # catalogue levels always, even at 0
    assert [(r.key, r.value.n) for r in rows if r.variable == "site"] == [("site=A", 1), ("site=B", 2),
                                                                           ("site=unknown", 1)]
    only = baseline_table(data, plan([{"variable": "hrct_pattern", "levels": {"uip": "UIP pattern"}}]), _Notes())
    assert [(r.label, r.value.n, r.value.denominator) for r in only.rows] == [("UIP pattern", 1, 4)]


def test_a_numeric_variable_shown_level_by_level():
    data = small(mmrc_baseline=[0.0, 2.0, 2.0, np.nan, 4.0])
    rows = baseline_table(data, plan([{"variable": "mmrc_baseline", "kind": "categorical"}]), _Notes()).rows
    assert [(r.level, r.value.n) for r in rows if r.kind == "level"] == [("0", 1), ("2", 2), ("4", 1)]
    assert rows[-1].kind == "unknown" and rows[-1].value.n == 1


def test_a_row_missing_from_the_dataset_names_its_key():
    with pytest.raises(InvalidOptionError, match=r"table1\[1\]: 'sex' is not a column"):
        baseline_table(small(age_at_start=[1.0]), plan(["age_at_start", "sex"]), _Notes())


# --- follow-up and exposure ------------------------------------------------------------------------------------------


def test_follow_up_and_exposure_rows_in_months():
    start = dt.date(2023, 1, 1)
    data = small(
        exposure_start_date=[start.isoformat()] * 3,
        exposure_days=[100, 200, 300],
        hrct_total_follow_up_date=[(start + dt.timedelta(days=d)).isoformat() for d in (61, 91)] + [None],
        esr_follow_up_date=[(start + dt.timedelta(days=d)).isoformat() for d in (30, 30, 30)],
    )
    p = plan([], outcomes=[{"code": "hrct_total", "label": "Total HRCT score"}, {"code": "esr", "label": "ESR",
                                                                                 "unit": "mm/h"}],
             correlation={"outcomes": ["hrct_total", "esr"]}, figures={"box_plot_outcomes": ["hrct_total"]},
             regression={"outcome": "hrct_total_change", "predictors": ["esr_baseline"]})
    rows = rows_of(baseline_table(data, p, _Notes()))
    exposure = rows["exposure_months"].value.quantiles
    assert math.isclose(exposure.median, 200 / MONTH_DAYS) and MONTH_DAYS == 30.4375
    hrct = rows["follow_up_months_hrct_total"].value.quantiles
    assert hrct.n == 2 and math.isclose(hrct.median, (61 + 91) / 2 / 30.4375)
    esr = rows["follow_up_months_esr"].value.quantiles
    assert esr.n == 3 and math.isclose(esr.median, 30 / 30.4375)
    assert rows["follow_up_months_esr"].label == "Time from start to follow-up value (ESR), months"


def test_outcomes_followed_up_on_the_same_day_share_a_row():
    start = "2023-01-01"
    data = small(exposure_start_date=[start] * 2, exposure_days=[100, 120],
                 **{f"{c}_follow_up_date": ["2023-03-01", "2023-04-01"] for c in AnalysisPlan().outcome_codes})
    rows = [r for r in baseline_table(data, plan([]), _Notes()).rows if r.section == "Follow-up"]
    assert [r.key for r in rows] == ["exposure_months", "follow_up_months_hrct_total"]
    assert "total HRCT score, GGO, fibrosis, HCs, consolidation, mMRC grade, ESR, CRP, MPRED" in rows[1].label


# --- subgroup columns ------------------------------------------------------------------------------------------------


def test_subgroup_columns_one_group_empty_and_ungrouped_patients():
    data = small(antibody_group=["MSA", "MSA", "neither", None], age_at_start=[40.0, 50.0, 60.0, 70.0],
                 ever_smoker=[1.0, 0.0, 1.0, 0.0])
    notes = _Notes()
    res = baseline_table(data, plan(["age_at_start", "ever_smoker"], table1_by_subgroup=True), notes)
    assert res.groups == ("MSA", "MAA") and res.group_sizes == {"MSA": 2, "MAA": 0} and res.n_ungrouped == 2
    age, smoke = res.rows[0], res.rows[1]
    assert age.groups["MSA"].quantiles.median == 45.0 and age.groups["MAA"] is None
    assert age.test is None and smoke.test is None  # nothing to compare with an empty group
    assert smoke.groups["MAA"] == Count(0, 0)
    assert any("not computed" in n for n in notes.items)
    spec = table1(analyse_like(data, plan(["age_at_start"], table1_by_subgroup=True)), get_style("default"))
    assert [c.label for c in spec.columns] == ["Characteristic", "All patients (n = 4)", "MSAs (n = 2)",
                                               "MAAs (n = 0)", "p", "Test"]
    assert any(f.startswith("2 patients with no antibody_group among the compared groups") for f in spec.footnotes)


def _r_plan() -> AnalysisPlan:
    return plan(["age_at_start", "tacrolimus_trough_median", "sex", "ever_smoker", "hrct_pattern"],
                table1_by_subgroup=True)


@pytest.fixture(scope="module")
def r_table():
    data = pd.read_csv(REF / "table1_data.csv", dtype={"patient_id": str, "ever_smoker": float})
    return data, baseline_table(data, _r_plan(), _Notes())


def test_summaries_equal_r(r_table):
    _, res = r_table
    ref = read_ref("table1_r_summary.csv")
    rows = rows_of(res)
    names = {"age_at_start": "age_at_start", "tacrolimus_trough_median": "tacrolimus_trough_median",
             "exposure_months": "exposure_months", "follow_up_months": "follow_up_months_hrct_total"}
    assert len(ref) == 12
    for rec in ref.to_dict("records"):
        row = rows[names[rec["variable"]]]
        value = row.value if rec["column"] == "all" else row.groups[rec["column"]]
        q = value.quantiles
        assert q.n == rec["n"]
        for k in ("q1", "median", "q3"):
            assert math.isclose(getattr(q, k), rec[k], rel_tol=1e-12, abs_tol=1e-12), (rec, k)


def test_counts_equal_r(r_table):
    _, res = r_table
    ref = read_ref("table1_r_counts.csv")
    rows = rows_of(res)
    for rec in ref.to_dict("records"):
        key = "ever_smoker" if (rec["variable"], rec["level"]) == ("ever_smoker", "1") else (
            f"{rec['variable']}={rec['level']}")
        row = rows[key]
        value = row.value if rec["column"] == "all" else row.groups[rec["column"]]
        assert (value.n, value.denominator) == (rec["n"], rec["denominator"]), rec


def test_tests_equal_r(r_table):
    _data, res = r_table
    ref = read_ref("table1_r_tests.csv").set_index("variable")
    rows = rows_of(res)
    pairs = {"age_at_start": "age_at_start", "tacrolimus_trough_median": "tacrolimus_trough_median",
             "exposure_months": "exposure_months", "follow_up_months": "follow_up_months_hrct_total",
             "sex": "sex=male", "ever_smoker": "ever_smoker", "hrct_pattern": "hrct_pattern=nsip"}
    for name, key in pairs.items():
        row, want = rows[key], ref.loc[name]
        assert row.test is not None, name
        assert math.isclose(row.test.p, want["p"], rel_tol=1e-9), (name, row.test.p, want["p"])
        if want["test"] == "mann_whitney":
            assert row.test_name == "Mann-Whitney U" and math.isclose(row.test.u1, want["statistic"])
        else:
            assert row.test_name == want["test"] and row.test.n == want["n"]
    # the test sits on the first level row only
    assert rows["sex=female"].test is None and rows["hrct_pattern=op"].test is None


def test_three_groups_use_kruskal_wallis_as_r():
    data = pd.read_csv(REF / "table1_data.csv", dtype={"patient_id": str})
    ref = read_ref("table1_r_tests.csv").set_index("variable").loc["age_at_start_3_groups"]
    group = data["antibody_group"].astype(object)
    parts = {g: data[group.eq(g).fillna(False).astype(bool)] for g in ("MSA", "MAA", "neither")}
    row = _Row(data, parts, _Notes(), AnalysisPlan()).continuous(
        "age_at_start", "Age", "Demographics", data["age_at_start"].astype(float), "age_at_start")
    assert row.test_name == "Kruskal-Wallis"
    assert math.isclose(row.test.h, ref["statistic"], rel_tol=1e-10) and math.isclose(row.test.p, ref["p"],
                                                                                        rel_tol=1e-9)


# --- baseline of a variable that is not an outcome -------------------------------------------------------------------


def _exposure(pid: str, start: dt.date | None) -> Exposure:
    return Exposure(pid, start, None, True, None, 1, 1, 0, (), "")


def test_baseline_values_use_the_outcome_baseline_rule():
    start = dt.date(2023, 6, 1)
    meas = {
        "A": [  # two values on the closest day are averaged; the older one and the one after start are not used
            {"variable": "fvc_pct_pred", "date": dt.date(2023, 5, 20), "value": 70.0},
            {"variable": "fvc_pct_pred", "date": dt.date(2023, 5, 20), "value": 74.0},
            {"variable": "fvc_pct_pred", "date": dt.date(2023, 4, 1), "value": 50.0},
            {"variable": "fvc_pct_pred", "date": dt.date(2023, 6, 2), "value": 99.0},
            {"variable": "esr", "date": dt.date(2023, 5, 30), "value": 12.0},
        ],
        "B": [{"variable": "fvc_pct_pred", "date": dt.date(2023, 1, 1), "value": 60.0}],  # before the 90-day window
        "C": [{"variable": "fvc_pct_pred", "date": start, "value": 81.0}],  # the start day is included
    }
    exposures = {p: _exposure(p, start) for p in "ABC"}
    out = baseline_values(meas, exposures, ["A", "B", "C"], ["fvc_pct_pred"], ClinicalSettings())
    got = {r["patient_id"]: r for r in out.to_dict("records")}
    assert got["A"]["value"] == 72.0 and got["A"]["date"] == dt.date(2023, 5, 20)
    assert math.isnan(got["B"]["value"]) and "no fvc_pct_pred value in the baseline window" in got["B"]["reason"]
    assert got["C"]["value"] == 81.0
    assert list(out["variable"].unique()) == ["fvc_pct_pred"]


def test_baseline_values_nobody_and_nothing():
    empty = baseline_values({}, {}, [], ["fvc_pct_pred"], ClinicalSettings())
    assert len(empty) == 0 and list(empty.columns) == ["patient_id", "variable", "value", "date", "reason"]
    none = baseline_values({"A": []}, {"A": _exposure("A", dt.date(2023, 1, 1))}, ["A"], (), ClinicalSettings())
    assert len(none) == 0


def test_bundled_study_with_a_non_outcome_baseline(tmp_path):
    """End to end: FVC % predicted rows added to the bundled data reach Table 1 by the baseline rule."""
    import shutil
    from importlib import resources

    from ipafstudy.analysis.study import run_study
    from ipafstudy.data.loaders import load_study

    shutil.copytree(Path(str(resources.files("ipafstudy") / "example_data")), tmp_path / "d")
    exposures = pd.read_csv(tmp_path / "d" / "treatments.csv", dtype=str)
    starts = exposures[exposures["drug"].str.lower() == "tacrolimus"].groupby("patient_id")["start_date"].min()
    meas = pd.read_csv(tmp_path / "d" / "measurements.csv", dtype=str)
    ids = sorted(starts.index)[:40]
    extra = []
    for i, pid in enumerate(ids):
        start = dt.date.fromisoformat(starts[pid])
        extra.append({"patient_id": pid, "date": (start - dt.timedelta(days=5)).isoformat(),
                      "variable": "fvc_pct_pred", "value": str(60 + i), "unit": "%"})
        extra.append({"patient_id": pid, "date": (start + dt.timedelta(days=30)).isoformat(),  # after start: not
                      "variable": "fvc_pct_pred", "value": "150", "unit": "%"})            # a baseline
    pd.concat([meas, pd.DataFrame(extra)]).to_csv(tmp_path / "d" / "measurements.csv", index=False)
    p = plan(["age_at_start", "fvc_pct_pred_baseline"], statistics={"bootstrap_resamples": 200})
    res = run_study(load_study(str(tmp_path / "d")), p)
    data = res.dataset.set_index("patient_id")
    want = {pid: 60.0 + i for i, pid in enumerate(ids) if pid in data.index}
    assert len(want) > 10
    got = data["fvc_pct_pred_baseline"]
    assert all(got[pid] == v for pid, v in want.items())
    assert got.drop(list(want)).isna().all()
    row = rows_of(res.baseline)["fvc_pct_pred_baseline"]
    assert row.value.quantiles.n == len(want)
    assert row.value.quantiles.median == float(np.median(list(want.values())))  # the median needs no quartile rule
    assert next(r.key for r in res.baseline.rows if r.section == "Follow-up") == "exposure_months"


def test_table1_problems_are_collected_with_the_other_plan_problems():
    from ipafstudy.analysis.plancheck import check_plan_mapping

    checked = check_plan_mapping({"table1": ["age_at_start", "smoker"], "statistics": {"zero_method": "x"}})
    keys = [p.key for p in checked.problems]
    assert "table1[1]" in keys and "statistics.zero_method" in keys and "table1[0]" not in keys


def test_landmark_columns_give_a_row_per_landmark():
    """With landmarks (timepoints stream: <code>_m6_date, ...) each landmark gets its own start-to-value row."""
    start = dt.date(2023, 1, 1)

    def day(d: int | None) -> str | None:
        return None if d is None else (start + dt.timedelta(days=d)).isoformat()

    data = small(exposure_start_date=[start.isoformat()] * 3, exposure_days=[400, 400, 400],
                 esr_m6_date=[day(170), day(190), None], esr_m12_date=[day(360), None, day(380)],
                 esr_follow_up_date=[day(360), day(190), day(380)])
    p = plan([], outcomes=[{"code": "esr", "label": "ESR", "unit": "mm/h"}, {"code": "crp", "label": "CRP"}],
             primary_outcome="esr",
             correlation={"outcomes": ["esr", "crp"]}, figures={"box_plot_outcomes": ["esr"]},
             regression={"outcome": "esr_change", "predictors": ["crp_baseline"]})
    rows = rows_of(baseline_table(data, p, _Notes()))
    assert [k for k in rows if k.startswith("follow_up_months")] == ["follow_up_months_esr_m6",
                                                                     "follow_up_months_esr_m12"]
    m6, m12 = rows["follow_up_months_esr_m6"], rows["follow_up_months_esr_m12"]
    assert m6.label == "Time from start to month-6 value (ESR), months"
    assert m6.value.quantiles.n == 2 and math.isclose(m6.value.quantiles.median, 180 / 30.4375)
    assert m12.value.quantiles.n == 2 and math.isclose(m12.value.quantiles.median, 370 / 30.4375)


def test_a_baseline_row_of_a_variable_never_measured_is_a_data_problem():
    from importlib import resources

    from ipafstudy.analysis.plancheck import PlanProblemsError
    from ipafstudy.analysis.study import run_study
    from ipafstudy.data.loaders import load_study

    p = plan(["age_at_start", "dlco_pct_pred_baseline", "esr_baseline"], statistics={"bootstrap_resamples": 200})
    with pytest.raises(PlanProblemsError) as exc:
        run_study(load_study(str(resources.files("ipafstudy") / "example_data")), p)
    assert [(q.key, q.message.split(",")[0]) for q in exc.value.problems] == [
        ("table1[1]", "the measurements table has no 'dlco_pct_pred' value")]


def test_three_subgroups_through_the_plan_equal_r():
    """subgroup with three groups (subgroups stream): Kruskal-Wallis per continuous row, r x c for categorical."""
    data = pd.read_csv(REF / "table1_data.csv", dtype={"patient_id": str, "ever_smoker": float})
    p = plan(["age_at_start", "sex"], table1_by_subgroup=True,
             subgroup={"variable": "antibody_group", "groups": ["MSA", "MAA", "neither"]})
    res = baseline_table(data, p, _Notes())
    assert res.groups == ("MSA", "MAA", "neither") and res.n_ungrouped == 2
    ref = read_ref("table1_r_tests.csv").set_index("variable").loc["age_at_start_3_groups"]
    age = rows_of(res)["age_at_start"]
    assert age.test_name == "Kruskal-Wallis"
    assert math.isclose(age.test.h, ref["statistic"], rel_tol=1e-10) and math.isclose(age.test.p, ref["p"],
                                                                                       rel_tol=1e-9)
    sex = rows_of(res)["sex=male"]
    assert len(sex.test.table) == 3  # groups x levels of the known values
    spec = table1(analyse_like(data, p), get_style("default"))
    assert any(f.startswith("Kruskal-Wallis test") for f in spec.footnotes)
    assert [c.label for c in spec.columns][2:5] == ["MSAs (n = 10)", "MAAs (n = 9)", "neither (n = 3)"]
