"""The bundled cohort's per-patient times, exposure and episodes: the inputs of tests/reference/safety_bundled.R."""

from __future__ import annotations

from importlib import resources

from ipafstudy.analysis.plan import AnalysisPlan
from ipafstudy.cohort.build import build_cohort
from ipafstudy.cohort.time_to_event import exposure_rows, time_to_event_rows
from ipafstudy.data.loaders import load_study


def bundled_cohort():
    plan = AnalysisPlan()
    study = load_study(str(resources.files("ipafstudy") / "example_data"))
    return build_cohort(study, plan.settings, outcomes=list(plan.outcome_codes), primary_outcome=plan.primary_outcome,
                        exposure=plan.exposure_drug, concomitant=plan.concomitant_drugs,
                        lab_rules=plan.adverse_events.rules())


def bundled_inputs(cohort) -> dict[str, str]:
    """CSV texts: safety_bundled_tte.csv, safety_bundled_exposure.csv, safety_bundled_episodes.csv."""
    ids = list(cohort.analysed_ids)
    types = [str(t) for t in cohort.adverse_event_summary["event"]]
    tte, _ = time_to_event_rows(cohort.exposures, cohort.adverse_events, ids, types)
    tte = tte[["patient_id", "endpoint", "event_type", "time_days", "event"]]
    expo = exposure_rows(cohort.exposures, ids)[["patient_id", "exposure_days"]]
    ev = cohort.adverse_events
    episodes = ev[ev["patient_id"].isin(set(ids))][["patient_id", "event"]]
    return {name: frame.to_csv(index=False, lineterminator="\n") for name, frame in (
        ("safety_bundled_tte.csv", tte), ("safety_bundled_exposure.csv", expo),
        ("safety_bundled_episodes.csv", episodes))}


if __name__ == "__main__":
    import sys
    from pathlib import Path

    out = Path(sys.argv[1])
    for name, text in bundled_inputs(bundled_cohort()).items():
        (out / name).write_text(text, encoding="utf-8")
