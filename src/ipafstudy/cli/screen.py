"""``ipafstudy screen DATA --out DIR``: classify, screen and build the analysed cohort; write its tables."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml

from ipafstudy.cohort.build import Cohort, build_cohort
from ipafstudy.cohort.explain import explain_patient
from ipafstudy.cohort.screening import render_flow
from ipafstudy.data.loaders import load_study
from ipafstudy.errors import InvalidOptionError
from ipafstudy.fileio import atomic_write_text, csv_text, prepare_output_dir
from ipafstudy.settings import ClinicalSettings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "screen",
        help="classify IPAF, apply eligibility and time point rules, write the screening flow",
        description=(
            "Load and validate DATA, classify every patient (IPAF), apply the eligibility rules and the "
            "baseline/follow-up rules, and write classification.csv, screening.csv, timepoints.csv, flow.json, "
            "adverse_events.csv and settings.json into --out. Prints the flow."
        ),
    )
    parser.add_argument("data", help="folder of CSV files or .xlsx workbook")
    parser.add_argument("--out", required=True, help="output folder (must be new or empty unless --force)")
    parser.add_argument(
        "--settings", metavar="SETTINGS.yaml",
        help="clinical settings (YAML mapping, or an analysis plan: its 'clinical:' section, outcomes and "
        "primary_outcome are used)",
    )
    parser.add_argument("--patient", metavar="ID", help="also print why this patient is in or out")
    parser.add_argument("--force", action="store_true", help="write into a non-empty --out (same names replaced)")
    parser.set_defaults(handler=run)


def _read_yaml(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    if not isinstance(data, dict):
        raise InvalidOptionError(f"{path}: expected a mapping of clinical settings, got {type(data).__name__}")
    return data


def load_settings(path: str | None) -> ClinicalSettings:
    """ClinicalSettings from a YAML file: the mapping itself or its 'clinical' section (an analysis plan)."""
    if not path:
        return ClinicalSettings()
    data = _read_yaml(path)
    section = data["clinical"] if isinstance(data.get("clinical"), dict) else data
    if section is data:
        section = {k: v for k, v in data.items() if k not in ("outcomes", "primary_outcome")}
    return ClinicalSettings.from_dict(section)


def load_outcomes(path: str | None) -> dict[str, Any]:
    """``outcomes``/``primary_outcome`` from the same YAML (plan style: items with ``code``), when given."""
    if not path:
        return {}
    data = _read_yaml(path)
    out: dict[str, Any] = {}
    if isinstance(data.get("outcomes"), list):
        out["outcomes"] = [o["code"] if isinstance(o, dict) else str(o) for o in data["outcomes"]]
    if data.get("primary_outcome"):
        out["primary_outcome"] = str(data["primary_outcome"])
    return out


def write_cohort(cohort: Cohort, out: Path) -> list[Path]:
    """Write every screening output atomically; returns the paths written."""
    outputs: dict[str, str] = {
        "classification.csv": csv_text(cohort.classification),
        "screening.csv": csv_text(cohort.screening),
        "timepoints.csv": csv_text(cohort.values),
        "outcome_exclusions.csv": csv_text(cohort.outcome_exclusions),
        "missing_data.csv": csv_text(cohort.missing_data()),
        "adverse_events.csv": csv_text(cohort.adverse_events),
        "adverse_event_summary.csv": csv_text(cohort.adverse_event_summary),
        "hrct_excluded_scans.csv": csv_text(cohort.hrct.excluded_scans),
        "flow.json": json.dumps(cohort.flow_dict(), indent=2) + "\n",
        "settings.json": json.dumps(_settings_record(cohort), indent=2) + "\n",
    }
    return [atomic_write_text(out / name, text) for name, text in outputs.items()]


def _settings_record(cohort: Cohort) -> dict[str, Any]:
    record = cohort.settings.to_dict()
    record["data_cutoff_date_used"] = cohort.data_cutoff_date.isoformat() if cohort.data_cutoff_date else None
    record["outcomes"] = list(cohort.outcomes)
    record["primary_outcome"] = cohort.primary_outcome
    return record


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.settings)
    if Path(args.out).exists():
        prepare_output_dir(args.out, force=args.force)  # refuse a non-empty --out before the work
    study = load_study(args.data)
    cohort = build_cohort(study, settings, **load_outcomes(args.settings))
    if args.patient:
        explain_patient(cohort, args.patient)  # fail on an unknown id before writing anything
    out = prepare_output_dir(args.out, force=args.force)  # created only once there is something to write
    write_cohort(cohort, out)
    print(render_flow(cohort.flow))
    print(f"data cut-off used: {cohort.data_cutoff_date}; outputs written to {out}")
    if args.patient:
        print()
        print(explain_patient(cohort, args.patient))
    return 0
