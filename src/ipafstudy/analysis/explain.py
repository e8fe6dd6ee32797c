"""Per-patient trace of one outcome from a finished run: the values and dates used, and who was left out.

Reads only what ``ipafstudy analyze`` wrote (``analysis_dataset.csv`` and ``results.json``), so the
trace shows exactly the numbers the tables were computed from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ipafstudy.analysis.dataset import read_dataset
from ipafstudy.errors import InvalidOptionError


@dataclass(frozen=True)
class OutcomeTrace:
    outcome: str
    label: str
    used: pd.DataFrame  # patient_id, baseline, baseline_date, follow_up, follow_up_date, change
    left_out: pd.DataFrame  # patient_id, stage, timepoint, reason
    n_analysed: int
    #: Landmark months of the run (empty: last follow-up); ``used`` then has a value, date and change per landmark.
    landmarks: tuple[int, ...] = ()

    def to_text(self) -> str:
        what = ("a last follow-up value" if not self.landmarks else
                f"a value at one of the landmarks ({', '.join(map(str, self.landmarks))} months)")
        lines = [
            f"{self.label} ({self.outcome}): {len(self.used)} of {self.n_analysed} analysed patients have both a "
            f"baseline and {what}",
            "",
        ]
        if len(self.used):
            shown = (self.used.astype(object).where(self.used.notna(), "") if self.landmarks  # blanks in float columns
                     else self.used.fillna(""))
            lines.append(shown.to_string(index=False))
        lines.append("")
        if len(self.left_out):
            lines.append(f"Left out ({self.left_out['patient_id'].nunique()} patients):")
            lines.append(self.left_out.fillna("").to_string(index=False))
        else:
            lines.append("Left out: none of the analysed patients.")
        return "\n".join(lines)


def trace_outcome(dataset: pd.DataFrame, results: dict[str, Any], outcome: str) -> OutcomeTrace:
    """Values used for ``outcome`` per analysed patient, and every patient left out with the reason."""
    plan_outcomes = {o["code"]: o["label"] for o in results["plan"]["outcomes"]}
    if outcome not in plan_outcomes:
        raise InvalidOptionError(
            f"explain: outcome {outcome!r} is not in this run's plan; outcomes are {sorted(plan_outcomes)}"
        )
    fu = (results.get("plan") or {}).get("timepoints", {}).get("follow_up", {})
    landmarks = tuple(fu.get("months") or ()) if fu.get("rule") == "landmarks" else ()
    follow = tuple(f"m{m}" for m in landmarks) or ("follow_up",)
    names = ("baseline", "baseline_date", *(s for tp in follow for s in (
        (tp, f"{tp}_date", "change") if tp == "follow_up" else (tp, f"{tp}_date", f"change_{tp}"))))
    cols = {s: f"{outcome}_{s}" for s in names}
    data = dataset.copy()
    data["patient_id"] = data["patient_id"].astype(str)
    both = data[cols["baseline"]].notna() & data[[cols[tp] for tp in follow]].notna().any(axis=1)
    used = data.loc[both, ["patient_id", *cols.values()]].rename(columns={v: k for k, v in cols.items()})
    used = used.sort_values("patient_id", kind="mergesort").reset_index(drop=True)

    table = results.get("exclusions") or {}
    records = table.get("records", []) if isinstance(table, dict) else table  # older runs: a plain list of records
    exclusions = pd.DataFrame(records, columns=["patient_id", "outcome", "timepoint", "reason"])
    left: list[dict[str, Any]] = []
    for rec in (data if landmarks else data.loc[~both]).to_dict("records"):  # landmarks: a miss at any landmark
        pid = rec["patient_id"]
        for tp in ("baseline", *follow):
            if pd.isna(rec[cols[tp]]):
                why = exclusions[(exclusions["patient_id"].astype(str) == pid) & (exclusions["outcome"] == outcome)
                                 & (exclusions["timepoint"] == tp)]["reason"].tolist()
                left.append({"patient_id": pid, "stage": "analysed, outcome missing", "timepoint": tp,
                             "reason": "; ".join(why) or "no value recorded"})
    for step in results.get("flow") or []:
        if not step.get("n_removed"):
            continue  # the first and last boxes list everyone screened / analysed, not removals
        ids = step.get("patient_ids") or []
        own = step.get("patient_reasons") or []  # each patient's reason, as screening.csv has it
        for i, pid in enumerate(ids):
            reason = own[i] if len(own) == len(ids) and own[i] else step.get("reason", "")
            left.append({"patient_id": str(pid), "stage": f"not analysed: {step.get('label', step.get('key'))}",
                         "timepoint": "", "reason": reason})
    left_out = pd.DataFrame(left, columns=["patient_id", "stage", "timepoint", "reason"])
    return OutcomeTrace(outcome=outcome, label=plan_outcomes[outcome], used=used, left_out=left_out,
                        n_analysed=len(data), landmarks=landmarks)


def trace_from_dir(out_dir: str | Path, outcome: str) -> OutcomeTrace:
    """Read a run's ``analysis_dataset.csv`` and ``results.json`` and trace ``outcome``."""
    d = Path(out_dir)
    for name in ("analysis_dataset.csv", "results.json"):
        if not (d / name).is_file():
            raise InvalidOptionError(f"explain: {d / name} not found; run `ipafstudy analyze DATA --out {d}` first")
    results = json.loads((d / "results.json").read_text(encoding="utf-8"))
    return trace_outcome(read_dataset(d / "analysis_dataset.csv"), results, outcome)
