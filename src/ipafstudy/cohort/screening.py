"""Eligibility and the ordered screening flow (clinical-rules.md s.5), the data of a STROBE diagram.

Each patient leaves the flow at the FIRST step they fail, in this order::

    screened -> not IPAF (indeterminate listed separately) -> no tacrolimus -> age < min_age
             -> exposure < min_exposure_days -> no baseline (primary outcome)
             -> no follow-up (primary outcome) -> analysed

A missing age is removed at the age step (it cannot be shown to be >= min_age); a patient
whose IPAF status is indeterminate is removed at the "not IPAF" step and counted in its own
breakdown row, because a classification that depends on unknown items cannot include them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from ipafstudy.cohort.exposure import Exposure
from ipafstudy.settings import ClinicalSettings

FLOW_KEYS: tuple[str, ...] = (
    "screened",
    "not_ipaf",
    "no_tacrolimus",
    "under_age",
    "short_exposure",
    "no_baseline",
    "no_follow_up",
    "analysed",
)


@dataclass(frozen=True)
class FlowBreakdown:
    """A named subset of one step's removals (e.g. indeterminate IPAF status)."""

    key: str
    label: str
    n: int
    patient_ids: tuple[str, ...]


@dataclass(frozen=True)
class FlowStep:
    """One box of the flow diagram: who was there, who left, why."""

    key: str
    label: str
    n_before: int
    n_removed: int
    n_after: int
    reason: str
    patient_ids: tuple[str, ...]
    breakdown: tuple[FlowBreakdown, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["patient_ids"] = list(self.patient_ids)
        out["breakdown"] = [dict(asdict(b), patient_ids=list(b.patient_ids)) for b in self.breakdown]
        return out


@dataclass(frozen=True)
class PatientScreen:
    """What the flow needs to know about one patient.

    ``baseline_miss`` / ``follow_up_miss`` hold the reason the PRIMARY outcome has no value at
    that time point, or None when it has one (ignored for patients removed earlier).
    """

    patient_id: str
    ipaf_status: str
    ipaf_reason: str
    exposure: Exposure
    age_at_start: float | None
    baseline_miss: str | None = None
    follow_up_miss: str | None = None


def step_labels(settings: ClinicalSettings, primary_outcome: str) -> dict[str, tuple[str, str]]:
    """(label, general reason) per step, with the settings' values written in."""
    return {
        "screened": ("Screened", "all patients in the records"),
        "not_ipaf": (
            "Not IPAF",
            "does not meet the ERS/ATS 2015 IPAF classification, or the status is indeterminate "
            f"(missing_feature_means={settings.missing_feature_means!r})",
        ),
        "no_tacrolimus": ("No tacrolimus", "no tacrolimus course recorded up to the data cut-off"),
        "under_age": (
            f"Age < {settings.min_age:g} years",
            f"age at tacrolimus start below min_age={settings.min_age:g} years, or unknown",
        ),
        "short_exposure": (
            f"Tacrolimus < {settings.min_exposure_days} days",
            f"exposure below min_exposure_days={settings.min_exposure_days} (first and last day counted)",
        ),
        "no_baseline": (
            f"No baseline {primary_outcome}",
            f"no {primary_outcome} value within baseline_window_days={settings.baseline_window_days} "
            "before tacrolimus start",
        ),
        "no_follow_up": (
            f"No follow-up {primary_outcome}",
            f"no {primary_outcome} value after start during treatment (follow_up_rule={settings.follow_up_rule!r})",
        ),
        "analysed": ("Analysed", "eligible, with baseline and follow-up of the primary outcome"),
    }


def exclusion(p: PatientScreen, settings: ClinicalSettings) -> tuple[str | None, str]:
    """(step key, patient-specific reason) of the first failed step, or (None, '') if eligible."""
    if p.ipaf_status != "ipaf":
        what = "IPAF status indeterminate" if p.ipaf_status == "indeterminate" else "not IPAF"
        return "not_ipaf", f"{what}: {p.ipaf_reason}".rstrip(": ")
    exp = p.exposure
    if not exp.exposed:
        return "no_tacrolimus", exp.note or "no tacrolimus course recorded"
    if p.age_at_start is None:
        return "under_age", "age at tacrolimus start unknown (no birth_date or age_at_index)"
    if p.age_at_start < settings.min_age:
        return "under_age", f"age {p.age_at_start:g} at tacrolimus start < min_age {settings.min_age:g}"
    if exp.exposure_days is None or exp.exposure_days < settings.min_exposure_days:
        return "short_exposure", (
            f"tacrolimus {exp.start} to {exp.end}: {exp.exposure_days} days < "
            f"min_exposure_days {settings.min_exposure_days}"
        )
    if p.baseline_miss is not None:
        return "no_baseline", p.baseline_miss
    if p.follow_up_miss is not None:
        return "no_follow_up", p.follow_up_miss
    return None, ""


def build_flow(
    screens: Sequence[PatientScreen], settings: ClinicalSettings, primary_outcome: str
) -> tuple[tuple[FlowStep, ...], dict[str, tuple[str | None, str]]]:
    """The ordered flow and, per patient, (exclusion step, reason)."""
    decisions = {p.patient_id: exclusion(p, settings) for p in screens}
    labels = step_labels(settings, primary_outcome)
    status = {p.patient_id: p.ipaf_status for p in screens}
    remaining = sorted(decisions)
    label, reason = labels["screened"]
    steps = [FlowStep("screened", label, len(remaining), 0, len(remaining), reason, tuple(remaining))]
    for key in FLOW_KEYS[1:-1]:
        removed = tuple(pid for pid in remaining if decisions[pid][0] == key)
        breakdown: tuple[FlowBreakdown, ...] = ()
        if key == "not_ipaf":
            indeterminate = tuple(pid for pid in removed if status[pid] == "indeterminate")
            not_ipaf = tuple(pid for pid in removed if status[pid] != "indeterminate")
            breakdown = (
                FlowBreakdown("not_ipaf", "Not IPAF", len(not_ipaf), not_ipaf),
                FlowBreakdown("indeterminate", "IPAF status indeterminate", len(indeterminate), indeterminate),
            )
        before = len(remaining)
        gone = set(removed)
        remaining = [pid for pid in remaining if pid not in gone]
        label, reason = labels[key]
        steps.append(FlowStep(key, label, before, len(removed), len(remaining), reason, removed, breakdown))
    label, reason = labels["analysed"]
    steps.append(FlowStep("analysed", label, len(remaining), 0, len(remaining), reason, tuple(remaining)))
    return tuple(steps), decisions


def render_flow(flow: Sequence[FlowStep]) -> str:
    """Plain-text flow for the terminal."""
    lines = []
    for step in flow:
        if step.key in ("screened", "analysed"):
            lines.append(f"{step.label}: n = {step.n_after}")
            continue
        lines.append(f"  - {step.label}: {step.n_removed} removed ({step.n_before} -> {step.n_after})")
        for b in step.breakdown:
            lines.append(f"      {b.label}: {b.n}")
    return "\n".join(lines)
