"""Eligibility and the ordered screening flow (clinical-rules.md s.5), the data of a STROBE diagram.

Each patient leaves the flow at the FIRST step they fail, in this order::

    screened -> not IPAF (indeterminate listed separately) -> no tacrolimus -> age < min_age
             -> exposure < min_exposure_days -> no baseline (primary outcome)
             -> no follow-up (primary outcome) -> analysed

A missing age is removed at the age step (it cannot be shown to be >= min_age); a patient
whose IPAF status is indeterminate is removed at the "not IPAF" step and counted in its own
breakdown row, because a classification that depends on unknown items cannot include them.

Each removal step records every patient's own reason (``patient_reasons``, the text
screening.csv has) and a breakdown by cause, computed from the classification and the time
points: "not IPAF" splits into entry requirement not met / features in fewer than two domains /
indeterminate; "no baseline" and "no follow-up" split by the cause code the time-point rule
recorded (e.g. every scan before the start).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from ipafstudy.cohort.exposure import Exposure
from ipafstudy.rules.ipaf import IpafClassification
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
    #: Removal steps: each removed patient's own reason, in the order of ``patient_ids``.
    patient_reasons: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["patient_ids"] = list(self.patient_ids)
        out["patient_reasons"] = list(self.patient_reasons)
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
    #: Not IPAF: "entry_not_met" or "fewer_domains" (from the classification); None otherwise.
    ipaf_failure: str | None = None
    #: Cause codes of the primary outcome's misses (``timepoints.MISS_CAUSES``).
    baseline_cause: str | None = None
    follow_up_cause: str | None = None


#: Not-IPAF breakdown: key -> label, in print order.
NOT_IPAF_REASONS: dict[str, str] = {
    "entry_not_met": "Entry requirement not met",
    "fewer_domains": "Features in fewer than two domains",
    "indeterminate": "IPAF status indeterminate",
}
#: Cause code -> label of the breakdown of the no-baseline / no-follow-up steps (templates: {drug} the study drug).
MISS_CAUSE_LABELS: dict[str, str] = {
    "no_values": "No value recorded",
    "only_before_window": "Values only before the baseline window",
    "none_before_start": "No value before the {drug} start",
    "only_before_start": "Values only on or before the {drug} start",
    "only_after_end": "Later values only after the end of treatment",
    "no_complete_visit": "No visit with every measured outcome",
    "scan_not_usable": "Scan in the window not usable (incomplete or open adjudication flags)",
    "outside_window": "No value within the landmark window",  # landmark follow-up (cohort.landmarks)
    "no_landmark_value": "No value at any landmark (causes differ between landmarks)",
    "": "Cause not recorded",
}


def ipaf_failure(c: IpafClassification) -> str | None:
    """Why a not-IPAF patient fails, from the classification: an entry requirement, or too few domains."""
    if c.status != "not_ipaf":
        return None
    return "entry_not_met" if any(e.met is False for e in c.entry) else "fewer_domains"


def _not_ipaf_key(p: PatientScreen) -> str:
    if p.ipaf_status == "indeterminate":
        return "indeterminate"
    return p.ipaf_failure or "not_ipaf"


def _breakdown(ids: Sequence[str], key_of: dict[str, str], labels: dict[str, str],
               all_keys: bool) -> tuple[FlowBreakdown, ...]:
    """Split ``ids`` by their key; every known key (``all_keys``) or only those met, in label order."""
    keys = [k for k in labels if all_keys or any(key_of[pid] == k for pid in ids)]
    keys += sorted({key_of[pid] for pid in ids} - set(keys))
    return tuple(
        FlowBreakdown(k, labels.get(k, "Not IPAF" if k == "not_ipaf" else k.replace("_", " ").capitalize()),
                      len(members), members)
        for k in keys for members in [tuple(pid for pid in ids if key_of[pid] == k)]
    )


def step_labels(
    settings: ClinicalSettings, primary_outcome: str, drug: str = "tacrolimus"
) -> dict[str, tuple[str, str]]:
    """(label, general reason) per step, with the settings' values and the study drug's label written in."""
    title = drug[:1].upper() + drug[1:]
    return {
        "screened": ("Screened", "all patients in the records"),
        "not_ipaf": (
            "Not IPAF",
            "does not meet the ERS/ATS 2015 IPAF classification, or the status is indeterminate "
            f"(missing_feature_means={settings.missing_feature_means!r})",
        ),
        "no_tacrolimus": (f"No {drug}", f"no {drug} course recorded up to the data cut-off"),
        "under_age": (
            f"Age < {settings.min_age:g} years",
            f"age at {drug} start below min_age={settings.min_age:g} years, or unknown",
        ),
        "short_exposure": (
            f"{title} < {settings.min_exposure_days} days",
            f"exposure below min_exposure_days={settings.min_exposure_days} (first and last day counted)",
        ),
        "no_baseline": (
            f"No baseline {primary_outcome}",
            f"no {primary_outcome} value within baseline_window_days={settings.baseline_window_days} "
            f"before {drug} start",
        ),
        "no_follow_up": (
            f"No follow-up {primary_outcome}",
            f"no {primary_outcome} value after start during treatment (follow_up_rule={settings.follow_up_rule!r})",
        ),
        "analysed": ("Analysed", "eligible, with baseline and follow-up of the primary outcome"),
    }


def exclusion(p: PatientScreen, settings: ClinicalSettings, drug: str = "tacrolimus") -> tuple[str | None, str]:
    """(step key, patient-specific reason) of the first failed step, or (None, '') if eligible."""
    if p.ipaf_status != "ipaf":
        what = "IPAF status indeterminate" if p.ipaf_status == "indeterminate" else "not IPAF"
        return "not_ipaf", f"{what}: {p.ipaf_reason}".rstrip(": ")
    exp = p.exposure
    if not exp.exposed:
        return "no_tacrolimus", exp.note or f"no {drug} course recorded"
    if p.age_at_start is None:
        return "under_age", f"age at {drug} start unknown (no birth_date or age_at_index)"
    if p.age_at_start < settings.min_age:
        return "under_age", f"age {p.age_at_start:g} at {drug} start < min_age {settings.min_age:g}"
    if exp.exposure_days is None or exp.exposure_days < settings.min_exposure_days:
        return "short_exposure", (
            f"{drug} {exp.start} to {exp.end}: {exp.exposure_days} days < "
            f"min_exposure_days {settings.min_exposure_days}"
        )
    if p.baseline_miss is not None:
        return "no_baseline", p.baseline_miss
    if p.follow_up_miss is not None:
        return "no_follow_up", p.follow_up_miss
    return None, ""


def build_flow(
    screens: Sequence[PatientScreen], settings: ClinicalSettings, primary_outcome: str, drug: str = "tacrolimus",
    follow_up_reason: str | None = None,
) -> tuple[tuple[FlowStep, ...], dict[str, tuple[str | None, str]]]:
    """The ordered flow and, per patient, (exclusion step, reason); ``drug`` is the study drug's label;
    ``follow_up_reason`` replaces the general reason of the no-follow-up step (landmark follow-up)."""
    decisions = {p.patient_id: exclusion(p, settings, drug) for p in screens}
    labels = step_labels(settings, primary_outcome, drug)
    if follow_up_reason is not None:
        labels["no_follow_up"] = (labels["no_follow_up"][0], follow_up_reason)
    by_id = {p.patient_id: p for p in screens}
    not_ipaf_key = {pid: _not_ipaf_key(p) for pid, p in by_id.items()}
    cause = {
        "no_baseline": {pid: p.baseline_cause or "" for pid, p in by_id.items()},
        "no_follow_up": {pid: p.follow_up_cause or "" for pid, p in by_id.items()},
    }
    remaining = sorted(decisions)
    label, reason = labels["screened"]
    steps = [FlowStep("screened", label, len(remaining), 0, len(remaining), reason, tuple(remaining))]
    for key in FLOW_KEYS[1:-1]:
        removed = tuple(pid for pid in remaining if decisions[pid][0] == key)
        breakdown: tuple[FlowBreakdown, ...] = ()
        if key == "not_ipaf":
            breakdown = _breakdown(removed, not_ipaf_key, NOT_IPAF_REASONS, all_keys=True)
        elif key in cause:
            words = {k: v.format(drug=drug) for k, v in MISS_CAUSE_LABELS.items()}
            breakdown = _breakdown(removed, cause[key], words, all_keys=False)
        before = len(remaining)
        gone = set(removed)
        remaining = [pid for pid in remaining if pid not in gone]
        label, reason = labels[key]
        steps.append(FlowStep(key, label, before, len(removed), len(remaining), reason, removed, breakdown,
                              tuple(decisions[pid][1] for pid in removed)))
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
