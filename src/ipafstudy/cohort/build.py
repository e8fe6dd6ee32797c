"""``build_cohort``: from a validated Study to the analysed cohort the analysis layer consumes.

One pass, in the order of the screening flow: data cut-off -> tacrolimus exposure -> IPAF
classification and antibody group -> HRCT consensus -> baseline / follow-up of every outcome
-> eligibility and flow -> covariates and adverse events of the analysed patients.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ipafstudy.cohort._common import as_date, by_patient, iso, outcome_cells, text_or_none
from ipafstudy.cohort.adverse_events import adverse_event_tables
from ipafstudy.cohort.agreement import hrct_agreement
from ipafstudy.cohort.baselines import baseline_values
from ipafstudy.cohort.comparator import ComparatorCohort, comparator_cohort
from ipafstudy.cohort.exposure import (
    TACROLIMUS,
    DrugMatcher,
    Exposure,
    age_at_start,
    concomitant_at_start,
    resolve_cutoff,
    tacrolimus_exposures,
)
from ipafstudy.cohort.hrct import HrctCohort, hrct_cohort
from ipafstudy.cohort.landmarks import LANDMARK_RULE, any_landmark_miss, landmark_code, patient_landmarks
from ipafstudy.cohort.screening import FlowStep, PatientScreen, build_flow, ipaf_failure
from ipafstudy.cohort.timepoints import (
    Observation,
    TimepointMiss,
    TimepointValue,
    check_outcomes,
    measurement_observations,
    patient_timepoints,
    scan_observations,
    timepoint_rules,
)
from ipafstudy.data.model import Study
from ipafstudy.rules.antibodies import AntibodyGroup, antibody_group
from ipafstudy.rules.codes import HRCT_OUTCOMES, OUTCOME_CODES
from ipafstudy.rules.common import as_tristate
from ipafstudy.rules.ipaf import DOMAINS, AntibodyTest, IpafClassification, IpafInput, classify_ipaf
from ipafstudy.rules.lab_rules import LabRules
from ipafstudy.rules.units import VariableCatalogue
from ipafstudy.settings import ClinicalSettings
from ipafstudy.values import jsonable

VALUE_COLUMNS = ("patient_id", "outcome", "timepoint", "value", "date", "days_from_start", "source", "rule")
MISS_COLUMNS = ("patient_id", "outcome", "timepoint", "reason", "rule", "cause")
WIDE_SUFFIXES = ("baseline", "baseline_date", "follow_up", "follow_up_date", "change")
SCREENING_COLUMNS = (
    "patient_id", "site", "ipaf_status", "tacrolimus_start", "tacrolimus_end", "ongoing", "exposure_days",
    "age_at_start", "age_source", "antibody_group", "antibody_both", "analysed", "exclusion_step", "exclusion_reason",
    "baseline_date", "follow_up_date",
)


OBSERVATION_COLUMNS = ["patient_id", "outcome", "date", "days_from_start", "value", "source"]


def observations_frame(observations: dict[str, dict[str, list[Observation]]], exposures: dict[str, Exposure],
                       analysed: Sequence[str]) -> pd.DataFrame:
    """The long table of every dated value per analysed patient and outcome, sorted (deterministic)."""
    rows = [
        (pid, o.outcome, o.date, (o.date - exposures[pid].start).days, o.value, o.source)
        for pid in analysed if exposures[pid].start is not None
        for per in (observations.get(pid, {}),) for outcome in sorted(per) for o in per[outcome]
    ]
    frame = pd.DataFrame(rows, columns=OBSERVATION_COLUMNS)
    return frame.sort_values(["patient_id", "outcome", "date", "value"], kind="mergesort").reset_index(drop=True)


@dataclass(frozen=True)
class Cohort:
    """The analysed cohort with every decision that produced it (frozen: analyses cannot alter it)."""

    settings: ClinicalSettings
    data_cutoff_date: dt.date | None
    outcomes: tuple[str, ...]
    primary_outcome: str
    screening: pd.DataFrame
    classification: pd.DataFrame
    classifications: dict[str, IpafClassification]
    flow: tuple[FlowStep, ...]
    analysed_ids: tuple[str, ...]
    values: pd.DataFrame
    outcome_exclusions: pd.DataFrame
    covariates: pd.DataFrame
    adverse_events: pd.DataFrame
    adverse_event_summary: pd.DataFrame
    adverse_events_outside: pd.DataFrame
    hrct: HrctCohort
    agreement: pd.DataFrame
    exposures: dict[str, Exposure] = field(repr=False)
    antibody_groups: dict[str, AntibodyGroup] = field(repr=False)
    timepoint_values: pd.DataFrame = field(repr=False)
    timepoint_misses: pd.DataFrame = field(repr=False)
    exposure_drug: DrugMatcher = field(default=TACROLIMUS, repr=False)
    exposure_warnings: tuple[str, ...] = ()
    #: outcome -> {"baseline": rule, "follow_up": rule}, the rules the time points were chosen by.
    timepoint_rules: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)
    #: Baselines of non-outcome variables asked for by Table 1 (cohort.baselines): patient_id, variable, value, ...
    baseline_values: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(), repr=False)
    #: Long format: every dated value of each outcome of the analysed patients (measurements and usable HRCT
    #: scans), one row per recorded value, with days from the drug start (OBSERVATION_COLUMNS).
    observations: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=OBSERVATION_COLUMNS), repr=False)
    #: Landmark months (plan timepoints.follow_up.rule: landmarks; empty = last on treatment) and the one whose
    #: values fill the ``follow_up`` columns.
    landmarks: tuple[int, ...] = ()
    analysis_landmark: int | None = None
    #: Untreated IPAF comparators of the target-trial emulation (cohort.comparator); None when not built.
    comparator: ComparatorCohort | None = field(default=None, repr=False)

    @property
    def follow_up_timepoints(self) -> tuple[str, ...]:
        """The follow-up time points recorded per outcome: ('follow_up',) or one per landmark ('m6', 'm12')."""
        return tuple(landmark_code(m) for m in self.landmarks) or ("follow_up",)

    def analysis_frame(self) -> pd.DataFrame:
        """One row per analysed patient: group, smoking and per outcome baseline/follow-up/change.

        ``<outcome>_change`` = follow-up minus baseline (missing when either is missing). With landmarks each has
        ``<outcome>_m6``, ``<outcome>_m6_date``, ``<outcome>_change_m6`` ..., and the follow-up columns repeat the
        analysis landmark.
        """
        fu_tp = landmark_code(self.analysis_landmark) if self.analysis_landmark is not None else "follow_up"
        cov = self.covariates.set_index("patient_id") if len(self.covariates) else None
        rows = []
        lookup = {(r["patient_id"], r["outcome"], r["timepoint"]): r for r in self.values.to_dict("records")}
        for pid in self.analysed_ids:
            row: dict[str, Any] = {
                "patient_id": pid,
                "antibody_group": cov.at[pid, "antibody_group"] if cov is not None else None,
                "ever_smoker": cov.at[pid, "ever_smoker"] if cov is not None else None,
            }
            for outcome in self.outcomes:
                row.update(outcome_cells(lookup, pid, outcome, fu_tp))
                base = lookup.get((pid, outcome, "baseline"))
                for tp in (landmark_code(m) for m in self.landmarks):
                    at = lookup.get((pid, outcome, tp))
                    row[f"{outcome}_{tp}"] = at["value"] if at else float("nan")
                    row[f"{outcome}_{tp}_date"] = at["date"] if at else None
                    row[f"{outcome}_change_{tp}"] = at["value"] - base["value"] if base and at else float("nan")
            rows.append(row)
        columns = ["patient_id", "antibody_group", "ever_smoker"]
        for outcome in self.outcomes:
            columns += [f"{outcome}_{suffix}" for suffix in WIDE_SUFFIXES]
            for tp in (landmark_code(m) for m in self.landmarks):
                columns += [f"{outcome}_{tp}", f"{outcome}_{tp}_date", f"{outcome}_change_{tp}"]
        frame = pd.DataFrame(rows, columns=columns)
        frame["ever_smoker"] = frame["ever_smoker"].astype("Int64")
        return frame.sort_values("patient_id", kind="mergesort").reset_index(drop=True)

    def missing_data(self) -> pd.DataFrame:
        """Per outcome and time point: analysed n, n with a value, n missing (from outcome_exclusions)."""
        n = len(self.analysed_ids)
        rows = []
        for outcome in self.outcomes:
            for tp in ("baseline", *self.follow_up_timepoints):
                miss = self.outcome_exclusions[
                    (self.outcome_exclusions["outcome"] == outcome) & (self.outcome_exclusions["timepoint"] == tp)
                ]
                rows.append({"outcome": outcome, "timepoint": tp, "n_analysed": n,
                             "n_available": n - len(miss), "n_missing": len(miss)})
        return pd.DataFrame(rows, columns=["outcome", "timepoint", "n_analysed", "n_available", "n_missing"])

    def flow_dict(self) -> dict[str, Any]:
        """The flow as flow.json holds it (STROBE diagram data)."""
        return {
            "primary_outcome": self.primary_outcome,
            "data_cutoff_date": iso(self.data_cutoff_date),
            "steps": [s.to_dict() for s in self.flow],
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary of everything (tables in the one JSON table shape, {"columns", "records"})."""
        return jsonable({
            "settings": self.settings.to_dict(),
            "data_cutoff_date": self.data_cutoff_date,
            "outcomes": list(self.outcomes),
            "primary_outcome": self.primary_outcome,
            "analysed_ids": list(self.analysed_ids),
            "flow": [s.to_dict() for s in self.flow],
            "screening": self.screening,
            "classification": self.classification,
            "values": self.values,
            "outcome_exclusions": self.outcome_exclusions,
            "covariates": self.covariates,
            "adverse_events": self.adverse_events,
            "adverse_event_summary": self.adverse_event_summary,
            "hrct_excluded_scans": self.hrct.excluded_scans,
            "hrct_open_flags": self.hrct.open_flags,
            "agreement": self.agreement,
        })


def _antibody_tests(rows: Sequence[dict[str, Any]]) -> tuple[AntibodyTest, ...]:
    return tuple(
        AntibodyTest(
            name=str(r["antibody"]),
            result=str(r["result"]),
            titre=r.get("titre"),
            pattern=text_or_none(r.get("pattern")),
            value=r.get("value"),
            upper_limit_normal=r.get("upper_limit_normal"),
        )
        for r in rows
    )


def classify_patients(
    study: Study, settings: ClinicalSettings, tests: dict[str, list[dict[str, Any]]]
) -> dict[str, IpafClassification]:
    """IPAF classification of every screened patient (every antibody test on record is used)."""
    out = {}
    for row in study.patients.to_dict("records"):
        pid = str(row["patient_id"])
        inp = IpafInput.from_mapping({**row, "patient_id": pid}, _antibody_tests(tests.get(pid, [])))
        out[pid] = classify_ipaf(inp, settings)
    return out


def group_patients(
    study: Study, settings: ClinicalSettings, tests: dict[str, list[dict[str, Any]]]
) -> dict[str, AntibodyGroup]:
    """MSA / MAA group from POSITIVE results only (borderline is not positive)."""
    return {
        pid: antibody_group(
            sorted({str(r["antibody"]) for r in tests.get(pid, []) if str(r.get("result")) == "positive"}), settings
        )
        for pid in study.patient_ids
    }


def _frame(items: Sequence[TimepointValue | TimepointMiss], columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame([{c: getattr(i, c) for c in columns} for i in items], columns=list(columns))


def _ever_smoker(value: object) -> int | None:
    text = (text_or_none(value) or "").lower()
    return {"never": 0, "former": 1, "current": 1}.get(text)


def _trough_median(rows: Sequence[dict[str, Any]], exp: Exposure) -> float:
    vals = [
        float(r["value"]) for r in rows
        if r.get("variable") == "tacrolimus_trough"
        and (d := as_date(r.get("date"))) is not None
        and exp.start is not None and exp.start <= d and (exp.end is None or d <= exp.end)
    ]
    return statistics.median(vals) if vals else float("nan")


def _covariates(
    patients: dict[str, dict[str, Any]],
    analysed: Sequence[str],
    ages: dict[str, float | None],
    groups: dict[str, AntibodyGroup],
    classes: dict[str, IpafClassification],
    exposures: dict[str, Exposure],
    meas: dict[str, list[dict[str, Any]]],
) -> pd.DataFrame:
    rows = []
    for pid in analysed:
        p = patients[pid]
        c = classes[pid]
        row: dict[str, Any] = {
            "patient_id": pid,
            "site": text_or_none(p.get("site")),
            "sex": text_or_none(p.get("sex")),
            "age_at_start": ages[pid],
            "smoking": text_or_none(p.get("smoking")),
            "ever_smoker": _ever_smoker(p.get("smoking")),
            "antibody_group": groups[pid].group,
            "antibody_both": groups[pid].both,
            "domain_combination": c.combination,
        }
        for dom in DOMAINS:
            row[f"domain_{dom}"] = c.domains[dom].met is True
            for item in c.domains[dom].items:
                row[f"{dom}_{item.item}"] = item.met is True
        row["hrct_pattern"] = text_or_none(p.get("hrct_pattern"))
        for drug in ("pirfenidone", "nintedanib"):
            row[drug] = as_tristate(p.get(drug), field=drug, owner=f"patient {pid!r}")
        row["tacrolimus_trough_median"] = _trough_median(meas.get(pid, []), exposures[pid])
        # Table 1 follow-up rows: start, and days to end of exposure or data cut-off (both days counted)
        row["exposure_start_date"] = exposures[pid].start
        row["exposure_days"] = exposures[pid].exposure_days
        rows.append(row)
    frame = pd.DataFrame(rows)
    if len(frame):
        frame["ever_smoker"] = frame["ever_smoker"].astype("Int64")
    return frame


def _agreement(reads: pd.DataFrame, analysed: set[str]) -> pd.DataFrame:
    """Reader agreement on every scan of the analysed patients (all their reads, not only the scans used)."""
    if reads is not None and len(reads):
        reads = reads[reads["patient_id"].astype(str).isin(analysed)]
    return hrct_agreement(reads).to_frame()


def build_cohort(
    study: Study,
    settings: ClinicalSettings | None = None,
    *,
    outcomes: Sequence[str] = OUTCOME_CODES,
    primary_outcome: str = "hrct_total",
    exposure: DrugMatcher | None = None,
    concomitant: Sequence[DrugMatcher] = (),
    lab_rules: LabRules | None = None,
    variables: VariableCatalogue | None = None,
    baseline_variables: Sequence[str] = (),
    landmarks: Sequence[int] = (),
    landmark_window_days: int = 0,
    analysis_landmark: int | None = None,
) -> Cohort:
    """Screen every patient and assemble the analysed cohort.

    ``exposure`` is the study drug (default tacrolimus); each ``concomitant`` drug becomes a 0/1 covariate
    ``concomitant_<drug>``: a non-topical course covering the exposure start day. ``outcomes`` are HRCT scores
    or codes of ``variables`` (the plan's catalogue, default built-in), which also gives each measure's panel.
    ``landmarks`` (months) replace the
    last follow-up by one value per landmark (``cohort.landmarks``); a patient then needs a primary-outcome value at
    one landmark or more, and the follow-up columns hold ``analysis_landmark`` (default the last).

    >>> cohort = build_cohort(study)                       # doctest: +SKIP
    >>> cohort.analysis_frame().to_csv("analysis_dataset.csv", index=False)  # doctest: +SKIP
    """
    settings = settings if settings is not None else ClinicalSettings()
    outcome_list = check_outcomes(outcomes, primary_outcome, variables)
    cutoff = resolve_cutoff(study, settings)
    drug = exposure if exposure is not None else TACROLIMUS
    exposures = tacrolimus_exposures(study, settings, cutoff, drug)
    tests = by_patient(study.antibodies)
    meas = by_patient(study.measurements)
    classes = classify_patients(study, settings, tests)
    groups = group_patients(study, settings, tests)
    hrct = hrct_cohort(study.hrct_reads, settings)

    observations: dict[str, dict[str, list[Observation]]] = measurement_observations(meas, outcome_list)
    for pid, per in scan_observations(hrct.usable_scans, outcome_list).items():
        observations.setdefault(pid, {}).update(per)

    patients = {str(r["patient_id"]): r for r in study.patients.to_dict("records")}
    unusable: dict[str, list[dt.date]] = {}
    for r in hrct.excluded_scans.to_dict("records"):
        if r["scan_date"] is not None:
            unusable.setdefault(str(r["patient_id"]), []).append(r["scan_date"])
    all_values: list[TimepointValue] = []
    all_misses: list[TimepointMiss] = []
    screens = []
    ages: dict[str, float | None] = {}
    age_sources: dict[str, str] = {}
    for pid in study.patient_ids:
        exp = exposures[pid]
        age, age_sources[pid] = age_at_start(patients[pid], exp.start)
        ages[pid] = age
        base_miss = fu_miss = base_cause = fu_cause = None
        if exp.start is not None:
            vals, misses = patient_timepoints(
                pid, observations.get(pid, {}), exp.start, exp.end, outcome_list, settings,
                hrct_note=hrct.note_for(pid), unusable_scan_dates=unusable.get(pid, ()), catalogue=variables,
            )
            if landmarks:  # keep the baseline, replace the last follow-up by the landmarks
                vals = [v for v in vals if v.timepoint == "baseline"]
                misses = [m for m in misses if m.timepoint == "baseline"]
                lm_vals, lm_misses = patient_landmarks(
                    pid, observations.get(pid, {}), exp.start, exp.end, outcome_list, landmarks, landmark_window_days,
                    scan_outcomes=tuple(HRCT_OUTCOMES), hrct_note=hrct.note_for(pid),
                    unusable_scan_dates=unusable.get(pid, ()),
                )
                vals, misses = vals + lm_vals, misses + lm_misses
                no_landmark = any_landmark_miss(lm_misses, lm_vals, primary_outcome, landmarks)
                if no_landmark is not None:
                    fu_miss, fu_cause = no_landmark
            all_values += vals
            all_misses += misses
            for m in misses:
                if m.outcome == primary_outcome:
                    if m.timepoint == "baseline":
                        base_miss, base_cause = m.reason, m.cause
                    elif not landmarks:
                        fu_miss, fu_cause = m.reason, m.cause
        c = classes[pid]
        screens.append(PatientScreen(pid, c.status, c.reason, exp, age, base_miss, fu_miss,
                                     ipaf_failure=ipaf_failure(c), baseline_cause=base_cause,
                                     follow_up_cause=fu_cause))

    lm_reason = (f"no {primary_outcome} value within {landmark_window_days} days of any landmark "
                 f"({', '.join(map(str, landmarks))} months after start) during treatment") if landmarks else None
    flow, decisions = build_flow(screens, settings, primary_outcome, drug.display, lm_reason)
    analysed = tuple(sorted(pid for pid, (step, _) in decisions.items() if step is None))
    analysed_set = set(analysed)

    values_all = _frame(all_values, VALUE_COLUMNS)
    misses_all = _frame(all_misses, MISS_COLUMNS)
    analysis_landmark = (analysis_landmark or landmarks[-1]) if landmarks else None
    fu_tp = landmark_code(analysis_landmark) if analysis_landmark is not None else "follow_up"
    primary_dates = {
        (v.patient_id, "follow_up" if v.timepoint == fu_tp else v.timepoint): v.date
        for v in all_values if v.outcome == primary_outcome
    }
    screening_rows = []
    for pid in study.patient_ids:
        exp = exposures[pid]
        step, reason = decisions[pid]
        screening_rows.append({
            "patient_id": pid,
            "site": text_or_none(patients[pid].get("site")),
            "ipaf_status": classes[pid].status,
            "tacrolimus_start": exp.start,
            "tacrolimus_end": exp.end,
            "ongoing": exp.ongoing,
            "exposure_days": exp.exposure_days,
            "age_at_start": ages[pid],
            "age_source": age_sources[pid],
            "antibody_group": groups[pid].group,
            "antibody_both": groups[pid].both,  # an MSA and an MAA: shown whatever antibody_group_precedence did
            "analysed": step is None,  # passed every screening step (was 'eligible', which read as a step)
            "exclusion_step": step,
            "exclusion_reason": reason,
            "baseline_date": primary_dates.get((pid, "baseline")),
            "follow_up_date": primary_dates.get((pid, "follow_up")),
        })
    screening = pd.DataFrame(screening_rows, columns=list(SCREENING_COLUMNS))
    screening["exposure_days"] = screening["exposure_days"].astype("Int64")

    classification = pd.DataFrame([classes[pid].to_row() for pid in study.patient_ids])
    comparator = _comparator(study, settings, cutoff, exposures, classes, groups, tests, observations, patients,
                             outcome_list, primary_outcome, variables, hrct, unusable, landmarks, landmark_window_days,
                             analysis_landmark, drug, concomitant)
    ae, ae_summary, ae_outside = adverse_event_tables(
        by_patient(study.adverse_events), meas, exposures, analysed, settings, lab_rules
    )
    return Cohort(
        settings=settings,
        data_cutoff_date=cutoff,
        outcomes=outcome_list,
        primary_outcome=primary_outcome,
        screening=screening,
        classification=classification,
        classifications=classes,
        flow=flow,
        analysed_ids=analysed,
        values=values_all[values_all["patient_id"].isin(analysed_set)].reset_index(drop=True),
        outcome_exclusions=misses_all[misses_all["patient_id"].isin(analysed_set)].reset_index(drop=True),
        covariates=_with_concomitant(
            _covariates(patients, analysed, ages, groups, classes, exposures, meas), study, exposures, concomitant
        ),
        adverse_events=ae,
        adverse_event_summary=ae_summary,
        adverse_events_outside=ae_outside,
        hrct=hrct,
        agreement=_agreement(study.hrct_reads, analysed_set),
        exposures=exposures,
        antibody_groups=groups,
        timepoint_values=values_all,
        timepoint_misses=misses_all,
        exposure_drug=drug,
        exposure_warnings=tuple(exposures[pid].warning for pid in study.patient_ids if exposures[pid].warning),
        baseline_values=baseline_values(meas, exposures, analysed, tuple(baseline_variables), settings),
        observations=observations_frame(observations, exposures, analysed),
        timepoint_rules=_landmark_rules(timepoint_rules(outcome_list, settings, variables), landmarks),
        landmarks=tuple(landmarks),
        analysis_landmark=analysis_landmark,
        comparator=comparator,
    )


def _comparator(
    study: Study, settings: ClinicalSettings, cutoff: dt.date | None, exposures: dict[str, Exposure],
    classes: dict[str, IpafClassification], groups: dict[str, AntibodyGroup], tests: dict[str, list[dict[str, Any]]],
    observations: dict[str, dict[str, list[Observation]]], patients: dict[str, dict[str, Any]],
    outcomes: tuple[str, ...], primary_outcome: str, variables: VariableCatalogue | None, hrct: HrctCohort,
    unusable: dict[str, list[dt.date]], landmarks: Sequence[int], window: int, analysis_landmark: int | None,
    drug: DrugMatcher, concomitant: Sequence[DrugMatcher],
) -> ComparatorCohort:
    """The untreated IPAF comparators (cohort.comparator), with concomitant drugs at their index dates."""
    comp = comparator_cohort(
        patient_ids=study.patient_ids, patients=patients, classes=classes, exposures=exposures, tests=tests,
        observations=observations, antibody_groups=groups, cutoff=cutoff, outcomes=outcomes,
        primary_outcome=primary_outcome, settings=settings, catalogue=variables,
        hrct_notes={pid: hrct.note_for(pid) for pid in study.patient_ids}, unusable_scan_dates=unusable,
        landmarks=landmarks, landmark_window_days=window, analysis_landmark=analysis_landmark, drug=drug.display,
    )
    if not concomitant or not comp.ids:
        return comp
    rows = by_patient(study.treatments)
    index = dict(zip(comp.patients["patient_id"], comp.patients["index_date"], strict=True))
    cov = comp.covariates.copy()
    for d in concomitant:
        cov[f"concomitant_{d.drug}"] = pd.array(
            [concomitant_at_start(rows.get(pid, []), index[pid], (d,))[d.drug] for pid in cov["patient_id"]],
            dtype="Int64")
    return dataclasses.replace(comp, covariates=cov)


def _landmark_rules(rules: dict[str, dict[str, str]], landmarks: Sequence[int]) -> dict[str, dict[str, str]]:
    """With landmarks, every follow-up time point (and the follow-up columns) is chosen by the landmark rule."""
    if not landmarks:
        return rules
    return {o: {"baseline": r["baseline"], "follow_up": LANDMARK_RULE,
                **{landmark_code(m): LANDMARK_RULE for m in landmarks}} for o, r in rules.items()}


def _with_concomitant(
    cov: pd.DataFrame, study: Study, exposures: dict[str, Exposure], drugs: Sequence[DrugMatcher]
) -> pd.DataFrame:
    """Add a 0/1 ``concomitant_<drug>`` column per plan drug (on a non-topical course at the exposure start)."""
    if not drugs or not len(cov):
        return cov
    rows = by_patient(study.treatments)
    flags = {
        pid: concomitant_at_start(rows.get(pid, []), exposures[pid].start, tuple(drugs)) for pid in cov["patient_id"]
    }
    cov = cov.copy()
    for d in drugs:
        cov[f"concomitant_{d.drug}"] = pd.array([flags[pid][d.drug] for pid in cov["patient_id"]], dtype="Int64")
    return cov
