"""The untreated comparator of the target-trial emulation (issue 12 item 4): selection, index date, time points.

Observational: the comparator is not a randomised control arm. The rules (docs/cohort.md, "Comparator"):

* **Candidates**: screened patients classified IPAF (status ``ipaf``) with NO exposure to the study drug up to the
  data cut-off (``Exposure.exposed`` is False). Patients exposed before the cut-off are never comparators, also when
  they started the drug long after they met the IPAF criteria ("exposed later"): they belong to the treated flow
  (analysed or excluded there), so no patient is in both arms and the arms stay disjoint. A course that starts after
  the cut-off is invisible by the exposure rule (``cohort.exposure``): such a patient is a candidate, followed up
  to the cut-off.
* **IPAF date** (the day the records show the classification): the patient's FIRST dated antibody test. The
  clinical and morphological items of the patients table carry no date; serology is part of every IPAF work-up,
  so the first test is the earliest day the records can show the classification. A patient without a dated
  test is dated from their first value of the primary outcome (``ipaf_date_source`` says which).
* **Index date**: the first date ON or AFTER the IPAF date (and on or before the cut-off) with a value of the
  primary outcome (a measurement, or a usable consensus HRCT scan for HRCT scores). The treated arm's index date
  is the drug start, as in the main analysis.
* **Inclusion**, mirroring the treated flow: age at the index date >= ``min_age`` (from birth_date, else
  age_at_index); observed for at least ``min_exposure_days`` from the index date to the cut-off (both days counted;
  the counterpart of the minimum exposure); a follow-up value of the primary outcome.
* **Time points**: the treated arm's rules with the index date in place of the drug start and the data cut-off in
  place of the end of exposure. Baseline: the closest value in ``[index - baseline_window_days, index]`` (the
  index day always included: it is the baseline visit), so the primary outcome's baseline is the index-day value.
  Follow-up: the same rule as the treated arm (``follow_up_rule`` last value after the index up to the cut-off, or
  the landmarks measured from the index date).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ipafstudy.cohort._common import as_date, outcome_cells, text_or_none
from ipafstudy.cohort.exposure import Exposure, age_at_start
from ipafstudy.cohort.landmarks import any_landmark_miss, landmark_code, patient_landmarks
from ipafstudy.cohort.timepoints import Observation, TimepointMiss, TimepointValue, patient_timepoints
from ipafstudy.rules.codes import HRCT_OUTCOMES
from ipafstudy.rules.ipaf import IpafClassification
from ipafstudy.settings import ClinicalSettings

#: Comparator flow: candidates, then each removal step in order, then the comparator arm.
COMPARATOR_STEPS: tuple[str, ...] = (
    "candidates", "no_index_visit", "under_age", "short_follow_up", "no_follow_up", "comparator",
)
PATIENT_COLUMNS = (
    "patient_id", "ipaf_date", "ipaf_date_source", "index_date", "age_at_index", "follow_up_end", "follow_up_days",
    "included", "exclusion_step", "exclusion_reason", "note",
)
COVARIATE_COLUMNS = ("patient_id", "site", "sex", "age_at_index", "smoking", "ever_smoker", "antibody_group",
                     "hrct_pattern")
VALUE_COLUMNS = ("patient_id", "outcome", "timepoint", "value", "date", "days_from_start", "source", "rule")
MISS_COLUMNS = ("patient_id", "outcome", "timepoint", "reason", "rule", "cause")
INDEX_RULE = ("index date = the first date on or after the IPAF date (the first dated antibody test) with a value "
              "of the primary outcome; untreated patients are followed to the data cut-off")


@dataclass(frozen=True)
class ComparatorStep:
    """One box of the comparator flow."""

    key: str
    label: str
    n_removed: int
    n_after: int
    patient_ids: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {"key": self.key, "label": self.label, "n_removed": self.n_removed, "n_after": self.n_after,
                "patient_ids": list(self.patient_ids)}


@dataclass(frozen=True)
class ComparatorCohort:
    """Untreated IPAF patients selected as comparators, with their index dates and time-point values."""

    primary_outcome: str
    outcomes: tuple[str, ...]
    data_cutoff_date: dt.date | None
    patients: pd.DataFrame  # PATIENT_COLUMNS, one row per candidate
    covariates: pd.DataFrame  # COVARIATE_COLUMNS (+ concomitant_<drug>), comparators only
    values: pd.DataFrame  # VALUE_COLUMNS of the comparators (days_from_start = days from the index date)
    misses: pd.DataFrame  # MISS_COLUMNS of the comparators
    flow: tuple[ComparatorStep, ...]
    ids: tuple[str, ...]
    landmarks: tuple[int, ...] = ()
    analysis_landmark: int | None = None
    rule: str = INDEX_RULE

    def analysis_frame(self) -> pd.DataFrame:
        """One row per comparator, in the shape of ``Cohort.analysis_frame`` (index date in place of the start)."""
        fu_tp = landmark_code(self.analysis_landmark) if self.analysis_landmark is not None else "follow_up"
        lookup = {(r["patient_id"], r["outcome"], r["timepoint"]): r for r in self.values.to_dict("records")}
        index = dict(zip(self.patients["patient_id"], self.patients["index_date"], strict=True))
        cov = self.covariates.set_index("patient_id") if len(self.covariates) else None
        rows = []
        for pid in self.ids:
            row: dict[str, Any] = {"patient_id": pid, "index_date": index[pid],
                                   "antibody_group": cov.at[pid, "antibody_group"] if cov is not None else None,
                                   "ever_smoker": cov.at[pid, "ever_smoker"] if cov is not None else None}
            for outcome in self.outcomes:
                row.update(outcome_cells(lookup, pid, outcome, fu_tp))
            rows.append(row)
        columns = ["patient_id", "index_date", "antibody_group", "ever_smoker"]
        for outcome in self.outcomes:
            columns += [f"{outcome}_{s}" for s in ("baseline", "baseline_date", "follow_up", "follow_up_date",
                                                    "change")]
        frame = pd.DataFrame(rows, columns=columns)
        frame["ever_smoker"] = frame["ever_smoker"].astype("Int64")
        return frame

    def flow_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "steps": [s.to_dict() for s in self.flow]}


def ipaf_date(tests: Sequence[Mapping[str, Any]]) -> dt.date | None:
    """The first dated antibody test (the date the IPAF classification is dated from), else None."""
    dates = [d for r in tests if (d := as_date(r.get("test_date"))) is not None]
    return min(dates) if dates else None


def index_date(observations: Sequence[Observation], since: dt.date | None,
               cutoff: dt.date | None) -> dt.date | None:
    """The first date on or after ``since`` (any date when None) and up to ``cutoff`` with a value."""
    days = [o.date for o in observations
            if (since is None or o.date >= since) and (cutoff is None or o.date <= cutoff)]
    return min(days) if days else None


def _ever_smoker(value: object) -> int | None:
    return {"never": 0, "former": 1, "current": 1}.get((text_or_none(value) or "").lower())


def _step_labels(primary_outcome: str, settings: ClinicalSettings, drug: str) -> dict[str, str]:
    return {
        "candidates": f"IPAF, never exposed to {drug} up to the data cut-off",
        "no_index_visit": f"No {primary_outcome} value on or after the IPAF date",
        "under_age": f"Age < {settings.min_age:g} years at the index date, or unknown",
        "short_follow_up": f"Observed < {settings.min_exposure_days} days after the index date",
        "no_follow_up": f"No follow-up {primary_outcome}",
        "comparator": "Comparator arm",
    }


def comparator_cohort(
    *,
    patient_ids: Sequence[str],
    patients: Mapping[str, Mapping[str, Any]],
    classes: Mapping[str, IpafClassification],
    exposures: Mapping[str, Exposure],
    tests: Mapping[str, Sequence[Mapping[str, Any]]],
    observations: Mapping[str, dict[str, list[Observation]]],
    antibody_groups: Mapping[str, Any],
    cutoff: dt.date | None,
    outcomes: Sequence[str],
    primary_outcome: str,
    settings: ClinicalSettings,
    catalogue: Any = None,
    hrct_notes: Mapping[str, str] | None = None,
    unusable_scan_dates: Mapping[str, Sequence[dt.date]] | None = None,
    landmarks: Sequence[int] = (),
    landmark_window_days: int = 0,
    analysis_landmark: int | None = None,
    drug: str = "tacrolimus",
) -> ComparatorCohort:
    """Select the comparators and choose their index dates and time points (rules: module docstring)."""
    hrct_notes = hrct_notes or {}
    unusable_scan_dates = unusable_scan_dates or {}
    fu_settings = dataclasses.replace(settings, baseline_includes_start_day=True)
    decisions: dict[str, tuple[str | None, str]] = {}
    rows: list[dict[str, Any]] = []
    values: list[TimepointValue] = []
    misses: list[TimepointMiss] = []
    candidates = [pid for pid in patient_ids
                  if classes[pid].status == "ipaf" and not exposures[pid].exposed]
    for pid in candidates:
        obs = observations.get(pid, {})
        primary_obs = obs.get(primary_outcome, [])
        first_test = ipaf_date(tests.get(pid, ()))
        source = "first antibody test" if first_test is not None else f"no dated antibody test: first {primary_outcome}"
        index = index_date(primary_obs, first_test, cutoff)
        note = exposures[pid].note if "after the data cut-off" in (exposures[pid].note or "") else ""
        row: dict[str, Any] = {"patient_id": pid, "ipaf_date": first_test if first_test else index,
                               "ipaf_date_source": source, "index_date": index, "age_at_index": None,
                               "follow_up_end": cutoff, "follow_up_days": None, "note": note}
        step: str | None = None
        reason = ""
        if index is None:
            step = "no_index_visit"
            reason = (f"no {primary_outcome} value on or after the IPAF date {first_test.isoformat()}"
                      if first_test is not None else f"no {primary_outcome} value")
            if cutoff is not None:
                reason += f" up to the data cut-off {cutoff.isoformat()}"
        else:
            age, _ = age_at_start(dict(patients[pid]), index)
            row["age_at_index"] = age
            days = (cutoff - index).days + 1 if cutoff is not None else None
            row["follow_up_days"] = days
            if age is None:
                step, reason = "under_age", "age at the index date unknown (no birth_date or age_at_index)"
            elif age < settings.min_age:
                step, reason = "under_age", f"age {age:g} at the index date < min_age {settings.min_age:g}"
            elif days is not None and days < settings.min_exposure_days:
                step, reason = "short_follow_up", (f"index date {index.isoformat()} to the data cut-off: {days} days "
                                                   f"< min_exposure_days {settings.min_exposure_days}")
            else:
                vals, miss = patient_timepoints(pid, obs, index, cutoff, outcomes, fu_settings,
                                                hrct_note=hrct_notes.get(pid, ""),
                                                unusable_scan_dates=unusable_scan_dates.get(pid, ()),
                                                catalogue=catalogue)
                fu_reason: str | None = None
                if landmarks:
                    vals = [v for v in vals if v.timepoint == "baseline"]
                    miss = [m for m in miss if m.timepoint == "baseline"]
                    lm_vals, lm_miss = patient_landmarks(
                        pid, obs, index, cutoff, outcomes, landmarks, landmark_window_days,
                        scan_outcomes=tuple(HRCT_OUTCOMES), hrct_note=hrct_notes.get(pid, ""),
                        unusable_scan_dates=unusable_scan_dates.get(pid, ()))
                    vals, miss = vals + lm_vals, miss + lm_miss
                    none_at_all = any_landmark_miss(lm_miss, lm_vals, primary_outcome, landmarks)
                    fu_reason = none_at_all[0] if none_at_all else None
                else:
                    fu_reason = next((m.reason for m in miss
                                      if m.outcome == primary_outcome and m.timepoint == "follow_up"), None)
                if fu_reason is not None:
                    step, reason = "no_follow_up", fu_reason
                else:
                    values += vals
                    misses += miss
        decisions[pid] = (step, reason)
        rows.append({**row, "included": step is None, "exclusion_step": step, "exclusion_reason": reason or None})

    labels = _step_labels(primary_outcome, settings, drug)
    remaining = list(candidates)
    flow = [ComparatorStep("candidates", labels["candidates"], 0, len(remaining), tuple(remaining))]
    for key in COMPARATOR_STEPS[1:-1]:
        removed = tuple(pid for pid in remaining if decisions[pid][0] == key)
        remaining = [pid for pid in remaining if decisions[pid][0] != key]
        flow.append(ComparatorStep(key, labels[key], len(removed), len(remaining), removed))
    ids = tuple(sorted(remaining))
    flow.append(ComparatorStep("comparator", labels["comparator"], 0, len(ids), ids))

    cov_rows = []
    for pid in ids:
        p = patients[pid]
        age = next(r["age_at_index"] for r in rows if r["patient_id"] == pid)
        group = antibody_groups.get(pid)
        cov_rows.append({
            "patient_id": pid, "site": text_or_none(p.get("site")), "sex": text_or_none(p.get("sex")),
            "age_at_index": age, "smoking": text_or_none(p.get("smoking")),
            "ever_smoker": _ever_smoker(p.get("smoking")), "antibody_group": getattr(group, "group", None),
            "hrct_pattern": text_or_none(p.get("hrct_pattern")),
        })
    covariates = pd.DataFrame(cov_rows, columns=list(COVARIATE_COLUMNS))
    if len(covariates):
        covariates["ever_smoker"] = covariates["ever_smoker"].astype("Int64")
    kept = set(ids)
    return ComparatorCohort(
        primary_outcome=primary_outcome,
        outcomes=tuple(outcomes),
        data_cutoff_date=cutoff,
        patients=pd.DataFrame(rows, columns=list(PATIENT_COLUMNS)),
        covariates=covariates,
        values=pd.DataFrame([{c: getattr(v, c) for c in VALUE_COLUMNS} for v in values if v.patient_id in kept],
                            columns=list(VALUE_COLUMNS)),
        misses=pd.DataFrame([{c: getattr(m, c) for c in MISS_COLUMNS} for m in misses if m.patient_id in kept],
                            columns=list(MISS_COLUMNS)),
        flow=tuple(flow),
        ids=ids,
        landmarks=tuple(landmarks),
        analysis_landmark=(analysis_landmark or landmarks[-1]) if landmarks else None,
    )


def empty_comparator(primary_outcome: str, outcomes: Sequence[str]) -> ComparatorCohort:
    """No candidates (e.g. a hand-built cohort): every table empty."""
    return ComparatorCohort(primary_outcome, tuple(outcomes), None, pd.DataFrame(columns=list(PATIENT_COLUMNS)),
                            pd.DataFrame(columns=list(COVARIATE_COLUMNS)), pd.DataFrame(columns=list(VALUE_COLUMNS)),
                            pd.DataFrame(columns=list(MISS_COLUMNS)), (), ())


__all__ = ["COMPARATOR_STEPS", "ComparatorCohort", "ComparatorStep", "comparator_cohort", "empty_comparator",
           "index_date", "ipaf_date"]
