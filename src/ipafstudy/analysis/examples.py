"""The analysis plans of the worked example studies (``ipafstudy plan --example NAME``).

Why in the analysis layer: an example's plan is an ``AnalysisPlan`` like any user's, validated by the same
model; the data of the example come from ``ipafstudy.data.synth`` (``ipafstudy synth --example NAME``), which
writes this plan beside the data so that the study runs in two commands.
"""

from __future__ import annotations

from typing import Any

from ipafstudy.analysis.plan import AnalysisPlan, plan_from_dict, plan_yaml
from ipafstudy.errors import InvalidOptionError

_HRCT = (
    ("hrct_total", "Total HRCT score"),
    ("hrct_ggo", "GGO"),
    ("hrct_fibrosis", "Fibrosis"),
    ("hrct_honeycombing", "HCs"),
    ("hrct_consolidation", "Consolidation"),
)

MMF_FVC_PLAN: dict[str, Any] = {
    "title": "Mycophenolate in interstitial pneumonia with autoimmune features (IPAF): lung function and HRCT",
    "exposure": {
        "drug": "mycophenolate",
        "label": "mycophenolate",
        "names": ["mycophenolate", "mycophenolate mofetil", "MMF", "CellCept", "Myfortic", "mycophenolic acid"],
    },
    "concomitant": [{"code": "prednisolone", "label": "prednisolone", "names": ["prednisolone", "prednisone"]}],
    "variables": [
        {"code": "ldh", "label": "LDH", "unit": "U/L", "units": {"ukat/L": 60}, "range": [0, 10000],
         "integer": False},
    ],
    "outcomes": [{"code": code, "label": label, "unit": None} for code, label in _HRCT],
    "primary_outcome": "hrct_total",
    "regression": {
        "outcome": "hrct_total_change",
        "predictors": ["hrct_total_baseline", "hrct_ggo_baseline", "concomitant_prednisolone", "age_at_start"],
    },
    "correlation": {"outcomes": [code for code, _ in _HRCT]},
    "figures": {"box_plot_outcomes": [code for code, _ in _HRCT]},
    "adverse_events": {"lab_rules": ["neutropenia", "alt_increase"], "neutrophils_lln": 2.0, "alt_uln": 40},
    "clinical": {"data_cutoff_date": "2025-09-30", "follow_up_rule": "latest_per_measure"},
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
