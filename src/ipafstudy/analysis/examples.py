"""The analysis plans of the worked example studies (``ipafstudy plan --example NAME``).

Why in the analysis layer: an example's plan is an ``AnalysisPlan`` like any user's, validated by the same
model; the data of the example come from ``ipafstudy.data.synth`` (``ipafstudy synth --example NAME``), which
writes this plan beside the data so that the study runs in two commands.
"""

from __future__ import annotations

from typing import Any

from ipafstudy.analysis.plan import AnalysisPlan, plan_from_dict, plan_yaml
from ipafstudy.errors import InvalidOptionError

_OUTCOMES = ("fvc_ml", "fvc_pct_pred", "dlco_pct_pred", "six_mwd_m", "ldh", "hrct_total")

MMF_FVC_PLAN: dict[str, Any] = {
    "title": "Mycophenolate in interstitial pneumonia with autoimmune features (IPAF): lung function and HRCT",
    # Lung function first; label, unit and better come from the variable catalogue (FVC, DLCO, 6MWD: higher is
    # better; HRCT score and the declared LDH: lower).
    "outcomes": [{"code": code} for code in _OUTCOMES],
    "primary_outcome": "fvc_ml",
    "regression": {
        "outcome": "fvc_ml_change",
        "predictors": ["fvc_ml_baseline", "hrct_total_baseline", "concomitant_prednisolone", "age_at_start"],
    },
    "correlation": {"outcomes": list(_OUTCOMES)},
    "figures": {"box_plot_outcomes": list(_OUTCOMES)},
    # Three HRCT patterns in this cohort (no OP): Kruskal-Wallis / r x c tests and Holm-adjusted pairwise follow-ups.
    "subgroup": {"variable": "hrct_pattern", "groups": ["nsip", "nsip_op", "uip"],
                 "labels": {"nsip": "NSIP", "nsip_op": "NSIP with OP overlap", "uip": "UIP"}},
    "table1": [
        "age_at_start", "sex", "smoking", "antibody_group", "hrct_pattern", "domain_combination",
        "fvc_ml_baseline", "fvc_pct_pred_baseline", "dlco_pct_pred_baseline", "six_mwd_m_baseline", "ldh_baseline",
        "hrct_total_baseline", "neutrophils_baseline",
        {"variable": "concomitant_prednisolone", "label": "Prednisolone"}, "nintedanib",
    ],
    "table1_by_subgroup": True,
    "exposure": {
        "drug": "mycophenolate",
        "label": "mycophenolate",
        "names": ["mycophenolate", "mycophenolate mofetil", "MMF", "CellCept", "Myfortic", "mycophenolic acid"],
    },
    "concomitant": [{"code": "prednisolone", "label": "prednisolone", "names": ["prednisolone", "prednisone"]}],
    "adverse_events": {"lab_rules": ["neutropenia", "alt_increase"], "neutrophils_lln": 2.0, "alt_uln": 40},
    "variables": [
        {"code": "ldh", "label": "LDH", "unit": "U/L", "units": {"ukat/L": 60}, "range": [0, 10000],
         "integer": False, "better": "lower", "decimals": 0},
    ],
    # FVC is measured at every visit, DLCO and the walk test less often: each outcome's own latest value.
    "timepoints": {"baseline_window_days": 90,
                   "follow_up": {"rule": "landmarks", "months": [6, 12], "window_days": 45}},
    "clinical": {"data_cutoff_date": "2025-09-30"},
}
"""``mmf-fvc``: mycophenolate in IPAF (data: ``ipafstudy synth --example mmf-fvc``)."""

EXAMPLE_PLANS: dict[str, dict[str, Any]] = {"mmf-fvc": MMF_FVC_PLAN}


def example_plan(name: str) -> AnalysisPlan:
    """The validated plan of the example ``name``."""
    return plan_from_dict(_plan_data(name), source=f"(example {name})")


def example_plan_yaml(name: str) -> str:
    """The example's plan as commented YAML (every key, like ``plan --default``); loading it gives ``example_plan``."""
    header = [
        f"# ipafstudy analysis plan of the worked example {name!r} (data: ipafstudy synth --example {name} --out DIR).",
        "# Every key is listed with its description; run: ipafstudy analyze DIR --out OUT --plan this-file.yaml",
    ]
    return plan_yaml(example_plan(name), header)


def _plan_data(name: str) -> dict[str, Any]:
    if name not in EXAMPLE_PLANS:
        raise InvalidOptionError(f"unknown example {name!r}; examples are: {', '.join(EXAMPLE_PLANS)}")
    return EXAMPLE_PLANS[name]
